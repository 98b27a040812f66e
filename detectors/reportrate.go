package detectors

import "strconv"

// ReportRate finds a report wave: reports on a term's content (through the
// content→terms join) far above both its own report history and what its mention
// volume predicts at its usual report rate, in the current bucket or the short
// window ending with it. A wave alerts even when mentions are flat; a term that
// is reported more only because it is mentioned more does not.
type ReportRate struct {
	cfg ReportRateConfig
	rp  reportParams
}

func newReportRate(c Config) *ReportRate {
	return &ReportRate{cfg: c.ReportRate, rp: newReportParams(c)}
}

func (d *ReportRate) Name() string { return NameReportRate }

func (d *ReportRate) Detect(o *Observation) (Finding, bool) {
	return d.judge(&analysis{o: o, rp: &d.rp})
}

func (d *ReportRate) judge(a *analysis) (Finding, bool) {
	if a.o.Reports < d.cfg.MinReports || tooFewReporters(a.o, d.cfg.MinReporters) {
		return Finding{}, false
	}
	r, e := a.reportStrength(d.cfg.MinZ, d.cfg.MinGrowth, d.cfg.MinReports)
	if r < 1 {
		return Finding{}, false
	}
	return reportFinding(NameReportRate, "REPORTS", a, r, e), true
}

// tooFewReporters reports whether the bucket's reports come from fewer than
// min unique reporters, when the reporters are known (UniqueReporters > 0).
func tooFewReporters(o *Observation, min uint64) bool {
	return o.UniqueReporters > 0 && o.UniqueReporters < min
}

func reportFinding(name, tag string, a *analysis, strength float64, e evidence) Finding {
	o := a.o
	var x explanation
	x.str("detector", name).num("strength", strength)
	x.test("", e)
	if e.window > 1 {
		x.test("bucket_", a.rOne)
	}
	x.num("expected_by_mentions", a.rateExpect).num("expected_by_history", a.reportBaseline)
	x.num("term_report_rate", a.termRate).num("dispersion", a.rateDisp)
	x.context(o)
	exp := a.rOne.expected
	extra := fmtCount(o.Mentions) + " mentions, " + strconv.FormatUint(o.UniqueReporters, 10) + " reporters"
	if len(o.ReportReasons) > 0 {
		extra += ", " + o.ReportReasons[0].Label
	}
	return Finding{
		Detector:    name,
		Severity:    severityOf(name, strength, o.Watch),
		Score:       e.z,
		Observed:    o.Reports,
		Expected:    exp,
		Growth:      o.Reports / exp,
		OnReports:   true,
		Summary:     summary(tag, o, o.Reports, exp, e.z, "reports", extra),
		Explanation: x.String(),
	}
}
