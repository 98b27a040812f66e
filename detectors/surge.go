package detectors

import "strconv"

// Surge finds a tracked term whose count in the current bucket, or in the short
// window ending with it, is far above what its own history predicts: significant
// (min_z), large (min_growth) and big enough to matter (min_support). A term that
// is always big, grows slowly or peaks every evening is forecast by its baseline
// and does not alert; see baseline for the model.
type Surge struct {
	cfg SurgeConfig
	mp  mentionParams
}

func newSurge(c Config) *Surge { return &Surge{cfg: c.Surge, mp: newMentionParams(c)} }

func (d *Surge) Name() string { return NameSurge }

func (d *Surge) Detect(o *Observation) (Finding, bool) {
	return d.judge(&analysis{o: o, mp: &d.mp})
}

// strength is the surge's decision statistic (1 at the thresholds) and the test
// behind it; 0 when the term has too little history to judge.
func (d *Surge) strength(a *analysis) (float64, evidence) {
	return a.mentionStrength(d.mp.pageZ(a.o.Width), d.cfg.MinGrowth, d.cfg.MinSupport, true)
}

func (d *Surge) judge(a *analysis) (Finding, bool) {
	o := a.o
	if o.Mentions < d.cfg.MinSupport || tooFewCreators(o, d.cfg.MinCreators) {
		return Finding{}, false
	}
	r, e := d.strength(a)
	// The decision is made at the term's page bar, which a young tail raises;
	// the finding's strength, and the anomaly score, stay the point estimate.
	if r < 1 || d.pages(a) < 1 {
		return Finding{}, false
	}
	return mentionFinding(NameSurge, "SURGE", a, r, e, ""), true
}

// pages is the surge's strength at the term's page bar (analysis.pageStrength):
// 1 where it pages.
func (d *Surge) pages(a *analysis) float64 {
	return a.pageStrength(d.mp.pageZ(a.o.Width), d.cfg.MinGrowth, d.cfg.MinSupport)
}

// judgeLone judges a bucket the surge counts at the clip limit, a lone
// outlier with no other outlier before it (see holt.step), on its whole
// count, for an early page: without it a surge on a term with history pages
// in its second bucket at the earliest, a minute or more after its onset.
// The lone-outlier rule is there because a term's ordinary spikes are not
// surges; the term's tail has learnt those spikes judged whole (learnTail),
// so a whole bucket whose calibrated significance passes the early bar, at
// which the term's own spikes page about early.false_pages times per 1,000
// term-days, is beyond them. If the surge stops within the bucket the final
// judgement retracts the page; if it goes on, the next bucket's early look
// confirms it as a surge (a second outlier) and the alert rests on that
// bucket. Severity is that of the final bar, so the confirmation does not
// page again as an escalation.
func (d *Surge) judgeLone(a *analysis, earlyZ float64) (Finding, bool) {
	o := a.o
	if o.Mentions < d.cfg.MinSupport || tooFewCreators(o, d.cfg.MinCreators) || len(o.MentionHistory) < a.mp.minHistory {
		return Finding{}, false
	}
	a.mentions()
	// Only the bucket itself is judged whole: a window holding an earlier
	// lone outlier is that outlier's evidence, not this bucket's.
	if !(a.m.obs < o.Mentions) || a.one.strength(a.pageBar(earlyZ), d.cfg.MinGrowth, o.Mentions, d.cfg.MinSupport) < 1 || a.young() && !a.leaves(a.one) {
		return Finding{}, false
	}
	// A term forecast at the floor has no rate for its first bucket to be
	// a multiple of: the floor stands in for nothing. Its burst waits for a
	// second bucket, as a new term's does.
	if !(a.one.expected > a.mp.base.MinExpected) {
		return Finding{}, false
	}
	// A term that has spiked this hard before and come straight back is
	// likely doing it again: its first bucket waits for the second, as at
	// the close.
	if spikedBefore(tail(o.MentionHistory, a.mp.history), earlyZ, &a.mp.base) || a.termTail().Lone >= a.mp.tail.loneFor {
		return Finding{}, false
	}
	r := a.one.strength(d.mp.pageZ(o.Width), d.cfg.MinGrowth, o.Mentions, d.cfg.MinSupport)
	f := mentionFinding(NameSurge, "SURGE", a, r, a.one, "first bucket, judged whole")
	f.Explanation = "lone=1 " + f.Explanation
	f.Lone = true
	return f, true
}

// mentionFinding reports a finding about mentions: observed and expected of the
// current bucket, significance of the test that decided.
func mentionFinding(name, tag string, a *analysis, strength float64, e evidence, extra string) Finding {
	o := a.o
	var x explanation
	x.str("detector", name).num("strength", strength)
	if e.window > 1 {
		x.str("test", testName(e.test))
	}
	x.test("", e)
	if a.tailDone {
		// The term's own tail calibrated the significance: what it was, and
		// the tail that discounted it.
		m := a.tail.Test(e.test).pot(&a.mp.tail)
		x.num("raw_z", e.raw).num("tail_over", m.over).num("tail_scale", m.scale)
	}
	z := e.z
	if e.window > 1 {
		x.test("bucket_", a.one)
		// The summary's counts are the bucket's, and so is the z beside
		// them; say what the window saw, with its own z, the one that
		// decided: beside the bucket's counts it read as theirs (z=14.2
		// next to a bucket at 9.6).
		z = a.one.z
		w := fmtCount(e.observed) + " in " + strconv.Itoa(e.window) + " buckets vs " + fmtCount(e.expected) +
			" (z=" + strconv.FormatFloat(e.z, 'f', 1, 64) + ")"
		if extra == "" {
			extra = w
		} else {
			extra = w + ", " + extra
		}
	}
	x.num("dispersion", a.m.disp)
	x.context(o)
	exp := a.one.expected
	return Finding{
		Detector:    name,
		Severity:    severityOf(name, strength, o.Watch),
		Score:       e.z,
		Observed:    o.Mentions,
		Expected:    exp,
		Growth:      o.Mentions / exp,
		Summary:     summary(tag, o, o.Mentions, exp, z, "", extra),
		Explanation: x.String(),
	}
}

// tooFewCreators reports whether the bucket's mentions come from fewer than
// min unique creators, when the creators are known (UniqueCreators > 0).
func tooFewCreators(o *Observation, min uint64) bool {
	return o.UniqueCreators > 0 && o.UniqueCreators < min
}
