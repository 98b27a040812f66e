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
	rOne, rWin     evidence // reports against their own history and their mentions
	rateExpect     float64  // reports the bucket's mentions predict
	rateDisp       float64
	termRate       float64 // reports per mention learnt from history (shrunk)
	reportBaseline float64 // reports the report history predicts
}

// mentionParams configures the mention baseline every mention detector of a Set
// shares, so one fit serves them all.
type mentionParams struct {
	base    BaselineConfig
	window  int
	history int
}

type reportParams struct {
	base BaselineConfig // MinExpected replaced by the report floor
	cfg  ReportRateConfig
	hist int
}

func newMentionParams(c Config) mentionParams {
	return mentionParams{base: c.Baseline, window: c.Surge.Window, history: c.Surge.History}
}

func newReportParams(c Config) reportParams {
	b := c.Baseline
	b.MinExpected = c.ReportRate.MinExpected
	return reportParams{base: b, cfg: c.ReportRate, hist: c.Surge.History}
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
// support being the current bucket's mentions.
func (a *analysis) mentionStrength(minZ, minGrowth, minSupport float64) (float64, evidence) {
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
// weaker verdict: against its own report history (a term always reported a lot
// is not news) and against the reports its mentions predict at its usual rate (a
// term reported more because it is mentioned more is not a report wave). A wave
// on flat mentions fails neither.
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
	split := n - (w - 1)

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

	// Against mentions.
	eOne := math.Max(rate*o.Mentions, p.cfg.MinExpected)
	obsWin, mWin := o.Reports, o.Mentions
	for i := split; i < n; i++ {
		obsWin += rh[i]
		mWin += mh[i]
	}
	eWin := math.Max(rate*mWin, p.cfg.MinExpected*float64(w))
	a.rateExpect = eOne
	rateOne := newEvidence(o.Reports, eOne, disp, 1)
	rateWin := newEvidence(obsWin, eWin, disp, w)

	// Against its own history.
	b := fitBaseline(rh, o.Reports, w, &p.base)
	a.reportBaseline = b.next
	histOne := newEvidence(o.Reports, b.next, b.disp, 1)
	histWin := newEvidence(b.winObs, b.winExpect, b.winDisp, b.w)

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
