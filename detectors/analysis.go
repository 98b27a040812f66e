package detectors

import "math"

// analysis holds what several detectors learn from one observation, computed at
// most once per observation however many detectors ask.
type analysis struct {
	o  *Observation
	mp *mentionParams
	rp *reportParams

	mentionsDone bool
	m            baseline
	one, win     evidence // the mention tests: current bucket, short window

	reportsDone    bool
	rOne, rWin     evidence // the report tests: current bucket, short window
	rateExpect     float64  // reports the bucket's mentions predict
	rateDisp       float64
	termRate       float64 // reports per mention learnt from history (shrunk)
	reportBaseline float64 // mean reports per bucket in the history
}

// mentionParams configures the mention baseline every mention detector of a Set
// shares, so one fit serves them all.
type mentionParams struct {
	base       BaselineConfig
	window     int
	history    int
	minHistory int
}

type reportParams struct {
	base BaselineConfig
	cfg  ReportRateConfig
	hist int
}

func newMentionParams(c Config) mentionParams {
	return mentionParams{base: c.Baseline, window: c.Surge.Window, history: c.Surge.History, minHistory: c.Surge.MinHistory}
}

func newReportParams(c Config) reportParams {
	return reportParams{base: c.Baseline, cfg: c.ReportRate, hist: c.Surge.History}
}

func tail(h []float64, n int) []float64 {
	if len(h) > n {
		return h[len(h)-n:]
	}
	return h
}

// mentions fits the mention baseline and runs both mention tests. Where the
// same time yesterday is known it is a second expectation, and the test uses the
// larger of the two, so a term that peaks every evening is judged against its
// evening.
func (a *analysis) mentions() {
	if a.mentionsDone {
		return
	}
	a.mentionsDone = true
	o := a.o
	h := tail(o.MentionHistory, a.mp.history)
	a.m = fitBaseline(h, o.Mentions, a.mp.window, &a.mp.base)
	mu, muWin := a.m.next, a.m.winExpect
	if day := o.DayAgo; !math.IsNaN(day) && day > 0 {
		mu = math.Max(mu, day)
		muWin = math.Max(muWin, day*float64(a.m.w))
	}
	a.one = newEvidence(o.Mentions, mu, a.m.disp, 1)
	a.win = newEvidence(a.m.winObs, muWin, a.m.winDisp, a.m.w)
}

// mentionStrength is the stronger of the two mention tests under thresholds,
// support being the current bucket's mentions; 0 while the history is too short
// (surge.min_history) for a baseline to mean anything.
func (a *analysis) mentionStrength(minZ, minGrowth, minSupport float64) (float64, evidence) {
	if len(a.o.MentionHistory) < a.mp.minHistory {
		return 0, evidence{}
	}
	a.mentions()
	s1 := a.one.strength(minZ, minGrowth, a.o.Mentions, minSupport)
	if a.win.window > 1 {
		if sw := a.win.strength(minZ, minGrowth, a.o.Mentions, minSupport); sw > s1 {
			return sw, a.win
		}
	}
	return s1, a.one
}

// reports judges the term's reports two ways and keeps, for each test, the
// weaker verdict: against the reports its mentions predict at its own report
// rate (a term reported more because it is mentioned more is not a report wave),
// and against its own mean reports per bucket (a term whose mentions collapse
// while its reports stay as they were is not one either). A wave on flat mentions
// fails neither. Reports are sparse, so the baseline is a shrunk rate and a mean,
// not a trend that a few reports in a row would teach.
func (a *analysis) reports() {
	if a.reportsDone {
		return
	}
	a.reportsDone = true
	o, p := a.o, a.rp
	mh := tail(o.MentionHistory, p.hist)
	rh := tail(o.ReportHistory, p.hist)
	n := min(len(mh), len(rh))
	mh, rh = mh[len(mh)-n:], rh[len(rh)-n:]
	w := min(p.cfg.Window, n+1)
	split := n - (w - 1) // buckets before the window

	prior := o.Platform.ReportRate
	if !(prior > 0) {
		prior = p.cfg.PriorRate
	}
	var sumR, sumM float64
	for i := range split {
		sumR += rh[i]
		sumM += mh[i]
	}
	rate := (sumR + p.cfg.PriorMentions*prior) / (sumM + p.cfg.PriorMentions)
	a.termRate = rate

	// Pearson dispersion of reports around rate × mentions, each bucket's share
	// clipped so that one past wave does not excuse the next, and shrunk towards
	// Poisson by ten imaginary buckets.
	const pseudo = 10
	chi := float64(pseudo)
	clip := p.base.Clip * p.base.Clip
	for i := range split {
		e := math.Max(rate*mh[i], p.cfg.MinExpected)
		d := rh[i] - e
		chi += math.Min(d*d/e, clip)
	}
	disp := math.Max(chi/float64(split+pseudo), 1)
	a.rateDisp = disp

	obsWin, mWin := o.Reports, o.Mentions
	for i := split; i < n; i++ {
		obsWin += rh[i]
		mWin += mh[i]
	}
	floor, fw := p.cfg.MinExpected, float64(w)

	a.rateExpect = math.Max(rate*o.Mentions, floor)
	rateOne := newEvidence(o.Reports, a.rateExpect, disp, 1)
	rateWin := newEvidence(obsWin, math.Max(rate*mWin, fw*floor), disp, w)

	mean := rate * o.Mentions // no history: the rate test decides alone
	if split > 0 {
		mean = sumR / float64(split)
	}
	a.reportBaseline = math.Max(mean, floor)
	histOne := newEvidence(o.Reports, a.reportBaseline, disp, 1)
	histWin := newEvidence(obsWin, math.Max(fw*mean, fw*floor), disp, w)

	a.rOne = weaker(rateOne, histOne)
	a.rWin = weaker(rateWin, histWin)
}

// weaker is the verdict of two tests of the same count that must both pass.
func weaker(x, y evidence) evidence {
	w := x
	if y.z < x.z {
		w = y
	}
	w.growth = math.Min(x.growth, y.growth)
	return w
}

func (a *analysis) reportStrength(minZ, minGrowth, minReports float64) (float64, evidence) {
	a.reports()
	s1 := a.rOne.strength(minZ, minGrowth, a.o.Reports, minReports)
	if a.rWin.window > 1 {
		if sw := a.rWin.strength(minZ, minGrowth, a.o.Reports, minReports); sw > s1 {
			return sw, a.rWin
		}
	}
	return s1, a.rOne
}
