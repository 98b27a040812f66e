package detectors

import (
	"math"
	"time"
)

// analysis holds what several detectors learn from one observation, computed at
// most once per observation however many detectors ask.
type analysis struct {
	o  *Observation
	mp *mentionParams
	rp *reportParams

	mentionsDone bool
	// fit is the pass over the mention history (tail(o.MentionHistory,
	// mp.history)) the mention tests share, once fitted.
	fitted   bool
	fit      historyFit
	m        baseline
	one, win evidence // the mention tests: current bucket, short window
	shift    evidence // and the level-shift window; window 0 when not made
	hold     evidence // and the sustained test
	// trend are the same tests with lone outliers counted at the clip
	// limit (see holt.step): what the surge judges, as a lone spike is
	// no trend. The other detectors judge a lone bucket whole: a burst by
	// a few accounts, or a watched term's jump, is news in one bucket.
	trend    [mentionTests]evidence
	tailDone bool
	tail     Tail // the term's tail before this bucket: Observation.Tail, or learnt from the history

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
	inflate    []float64 // forecastInflation of base for every window up to the longest
	tail       tailParams
	window     int
	shift      int
	hold       int
	history    int
	minHistory int
	// The surge's thresholds: a bucket that passes them is part of a surge
	// and teaches the term's tail nothing. minZ 0: pageZ decides.
	minZ, minGrowth, minSupport float64
	falsePages                  float64
	// loneBar is the early bar (Set.EarlyZ) with early.first_bucket, nil
	// without: the lone spikes that learnTail remembers in Tail.Lone.
	loneBar func(w time.Duration, watched bool) float64
}

// pageZ is the surge's significance bar for buckets of width w: surge.min_z
// when set, else PageZ of detectors.false_pages.
func (p *mentionParams) pageZ(w time.Duration) float64 {
	if p.minZ > 0 {
		return p.minZ
	}
	return PageZ(p.falsePages, w)
}

type reportParams struct {
	base BaselineConfig
	cfg  ReportRateConfig
	hist int
}

func newMentionParams(c Config) mentionParams {
	return mentionParams{base: c.Baseline, tail: newTailParams(c.Baseline), window: c.Surge.Window,
		inflate: forecastInflation(c.Baseline.Alpha, c.Baseline.Beta, max(c.Surge.Window, c.Surge.ShiftWindow)),
		shift:   c.Surge.ShiftWindow, hold: c.Surge.HoldWindow, history: c.Surge.History, minHistory: c.Surge.MinHistory,
		minZ: c.Surge.MinZ, minGrowth: c.Surge.MinGrowth, minSupport: c.Surge.MinSupport, falsePages: c.FalsePages}
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

// mentions fits the mention baseline and runs the mention tests, each
// significance calibrated by the term's own tail (see Tail).
func (a *analysis) mentions() {
	if a.mentionsDone {
		return
	}
	a.mentionsDone = true
	o := a.o
	f := a.historyFit()
	a.m, a.trend = a.mp.testsOf(f, o.Mentions, o.DayAgo, false)
	a.one, a.win, a.shift, a.hold = a.trend[0], a.trend[1], a.trend[2], a.trend[3]
	if a.m.clipped {
		var ev [mentionTests]evidence
		_, ev = a.mp.testsOf(f, o.Mentions, o.DayAgo, true)
		a.one, a.win, a.shift, a.hold = ev[0], ev[1], ev[2], ev[3]
	}
	// Calibration only ever lowers a significance above tailLevel, so below it
	// the term's tail need not be known.
	for _, e := range [...]*evidence{&a.one, &a.win, &a.shift, &a.hold, &a.trend[0], &a.trend[1], &a.trend[2], &a.trend[3]} {
		if e.z > tailLevel {
			e.z = a.termTail().calibrate(e.test, e.z, &a.mp.tail)
		}
	}
}

// historyFit is the fit of the observation's mention history, made once.
func (a *analysis) historyFit() *historyFit {
	if !a.fitted {
		a.fitted = true
		a.fit = a.mp.fit(tail(a.o.MentionHistory, a.mp.history))
	}
	return &a.fit
}

// tests fits the baseline to history h and runs the mention tests of count x:
// the bucket alone, the short window, the level-shift window (window 0 when
// the history is too short for it) and the sustained test. Where the same time yesterday is known
// (day) it is a second expectation, and the tests use the larger of the two, so
// a term that peaks every evening is judged against its evening.
func (p *mentionParams) tests(h []float64, x, day float64, whole bool) (b baseline, ev [mentionTests]evidence) {
	f := p.fit(h)
	return p.testsOf(&f, x, day, whole)
}

// fit is the pass over history h that tests makes, for testsOf.
func (p *mentionParams) fit(h []float64) historyFit {
	return fitHistory(h, p.window, p.shift, p.hold, p.minHistory, &p.base)
}

// testsOf is tests of the history f was fitted to (fit).
func (p *mentionParams) testsOf(f *historyFit, x, day float64, whole bool) (b baseline, ev [mentionTests]evidence) {
	b = f.baseline(x, &p.base, p.inflate, whole)
	if math.IsNaN(day) || day < 0 {
		day = 0
	}
	// A lone outlier counts at the clip limit (b.obs; see holt.step).
	x = b.obs
	one := newEvidence(x, math.Max(b.next, day), b.disp, 1)
	// A window is evidence about now only while the current bucket is still
	// more than a spread above the term's normal level (the one-bucket
	// forecast, which a surge does not teach): a surge a few buckets back
	// that the term has left is history, not a surge to page for now, even
	// while the window still holds it.
	running := x > one.expected+math.Sqrt(b.disp*one.expected)
	test := func(f windowForecast, i int) evidence {
		e := newEvidence(f.obs, math.Max(f.expect, day*float64(f.w)), f.disp, f.w)
		e.test = i
		if !running || x*float64(f.w) <= e.expected {
			e.z, e.raw = math.Min(e.z, 0), math.Min(e.raw, 0)
		}
		return e
	}
	ev[testBucket] = one
	ev[testWindow] = test(b.win, testWindow)
	if b.shift.w > 0 {
		ev[testShift] = test(b.shift, testShift)
	}
	if b.hold.w > 1 {
		hz := b.hold.zScore()
		e := evidence{observed: b.hold.obs, expected: b.hold.exp, z: hz, raw: hz, growth: b.hold.obs / b.hold.exp, window: b.hold.w, test: testHold}
		// The clipped errors know nothing of yesterday: where it expects more,
		// the sum must stand out from yesterday's level too.
		if dw := day * float64(b.hold.w); dw > e.expected {
			e.expected, e.growth = dw, e.observed/dw
			d := significance(e.observed, dw, b.disp)
			e.z, e.raw = math.Min(e.z, d), math.Min(e.raw, d)
		}
		// Sustained evidence is about now only while the current bucket is
		// itself an outlier: a run that ended buckets ago still fills the sums.
		if !running || !b.outlier {
			e.z, e.raw = math.Min(e.z, 0), math.Min(e.raw, 0)
		}
		ev[testHold] = e
	}
	return b, ev
}

// The Tail an Observation carries covers the term's buckets up to
// surge.shift_window before the current one, so that none of the buckets its
// tests judge has taught it anything: a surge's first buckets do not make the
// term look spikier while the surge is being judged.

// termTail is the term's Tail before this bucket: the one the pipeline kept, or,
// when it has none, one learnt from the history up to surge.shift_window buckets
// before this one.
func (a *analysis) termTail() Tail {
	if !a.tailDone {
		a.tailDone = true
		a.tail = a.o.Tail
		if !a.tail.known() {
			h := tail(a.o.MentionHistory, a.mp.history)
			h = h[:max(0, len(h)-(a.mp.shift-1))]
			a.tail = historyTail(h, a.mp.minHistory, a.mp, a.o.Width, a.o.Watch != nil)
		}
	}
	return a.tail
}

// learnTail is the term's Tail for its next bucket: this bucket's Tail with the
// bucket surge.shift_window - 1 before this one learnt, its tests made as they
// were when it was current, against its own day-ago level
// (Observation.LearnDayAgo). A bucket judged on less than surge.min_history of
// history teaches nothing, as its baseline is not trusted.
func (a *analysis) learnTail() Tail {
	o := a.o
	t := a.termTail()
	j := len(o.MentionHistory) - (a.mp.shift - 1) // the bucket to learn, in history followed by the current bucket
	if j < a.mp.minHistory {
		return t
	}
	x := o.Mentions
	if j < len(o.MentionHistory) {
		x = o.MentionHistory[j]
	}
	h := tail(o.MentionHistory[:j], a.mp.history)
	if quiet, z := a.mp.quietTests(h, x, o.LearnDayAgo); quiet {
		return t.learn(z, &a.mp.tail)
	}
	b, ev := a.mp.tests(h, x, o.LearnDayAgo, true)
	one, win, shift, hold := ev[testBucket], ev[testWindow], ev[testShift], ev[testHold]
	z := [mentionTests]float64{testBucket: one.raw, testWindow: win.raw, testShift: math.NaN(), testHold: hold.raw}
	g := [mentionTests]float64{testBucket: one.growth, testWindow: win.growth, testHold: hold.growth}
	if shift.window > 0 {
		z[testShift], g[testShift] = shift.raw, shift.growth
	}
	if math.IsNaN(o.LearnDayAgo) {
		// The sustained test learns only against a yesterday (see Tail).
		z[testHold] = math.NaN()
	}
	if b.inSurge && a.mp.surging(t, z, g, x, o.Width, o.Watch != nil) {
		return t
	}
	t = t.learn(z, &a.mp.tail)
	// A lone spike beyond the early bar: the term came straight back from
	// it if no outlier followed within surgeGap buckets, which history
	// holds by now (the bucket learnt is shift-1 buckets back).
	if a.mp.loneBar == nil || b.inSurge {
		return t
	}
	if bar := a.mp.loneBar(o.Width, o.Watch != nil); one.raw >= bar {
		h := o.MentionHistory[:min(len(o.MentionHistory), j+2+surgeGap)]
		if spikedBefore(tail(h, a.mp.history), bar, &a.mp.base) {
			t.Lone = 1
		}
	}
	return t
}

// quietTests reports whether count x, judged whole after history h, is at
// or below the expectation of the bucket test whatever the smoother makes of
// h: at or below the floor of the forecast (baseline.min_expected) or the
// day-ago level, both of which the bucket's expectation is at least. Then
// every test is at most 0 (the bucket's own, and the windows and the
// sustained test, which count only while the bucket runs above its
// expectation), and z is what tests would give learnTail up to values at or
// below tailLevel, which a Tail learns alike: 0 where a test judges, NaN
// where it does not (no level-shift window on a short history, no sustained
// test without a yesterday). At every bucket close every tracked term
// learns, most of them quiet ones, and this spares them the smoother's pass
// over their history, which has nothing to teach their tails.
func (p *mentionParams) quietTests(h []float64, x, day float64) (bool, [mentionTests]float64) {
	var z [mentionTests]float64
	if math.IsNaN(day) {
		z[testHold] = math.NaN()
	}
	if shiftFrom(len(h), p.shift, p.minHistory) < 0 {
		z[testShift] = math.NaN()
	}
	expect := p.base.MinExpected
	if day > expect {
		expect = day
	}
	return len(h) > 0 && x <= expect, z
}

// spiky reports whether a lone outlier in this bucket's tests is, for this
// term, ordinary: the term spiked to significance bar or more before, within
// its history or its tail's memory of lone spikes (Tail.Lone), and came
// straight back. Such a term's lone bucket is judged as the surge judges it,
// at the clip limit until a second outlier confirms it.
func (a *analysis) spiky(bar float64) bool {
	if len(a.o.MentionHistory) < a.mp.minHistory {
		return false
	}
	a.mentions()
	if !a.m.clipped {
		return false
	}
	return a.termTail().Lone >= a.mp.tail.loneFor ||
		spikedBefore(tail(a.o.MentionHistory, a.mp.history), bar, &a.mp.base)
}

// surging reports whether a bucket whose mention tests scored z (raw) with
// growths g, on support x, passes the surge's thresholds once the term's tail t
// has calibrated it, at the bar a term as young as t pages at (Tail.youngBar;
// a watched term's is the bar itself). Such a bucket is part of a surge, and, as in SPOT (Siffer
// et al., KDD 2017), where a value beyond the alarm threshold is not added to
// the tail's peaks, it teaches the tail nothing: the term's memory of how spiky
// it normally is stays what it was before the surge, so a second wave is judged
// as the first was. What is learnt is the term's ordinary spikes, those below
// the bar.
func (p *mentionParams) surging(t Tail, z, g [mentionTests]float64, x float64, w time.Duration, watched bool) bool {
	if x < p.minSupport {
		return false
	}
	minZ := p.pageZ(w)
	if !watched {
		minZ = t.youngBar(minZ)
	}
	for i := range z {
		if z[i] > 0 && g[i] >= p.minGrowth && t.calibrate(i, z[i], &p.tail) >= minZ {
			return true
		}
	}
	return false
}

// pageBar is the significance a surge must reach to page this term, where bar
// is its strength's: higher while the term's tail is young (Tail.youngBar),
// unless the term is watched, which the team asked to hear of early.
func (a *analysis) pageBar(bar float64) float64 {
	if a.o.Watch != nil {
		return bar
	}
	return a.termTail().youngBar(bar)
}

// young reports whether the surge holds this term's tests to the range its
// history has shown (see leaves): an unwatched term whose tail has learnt
// fewer of its own buckets (the one-bucket test's TailTest.Buckets) than the
// count model's buckets it is shrunk towards (baseline.tail_prior).
//
// Until then what calibrates the term's significance is mostly the count
// model, which knows nothing of the term's bursts, and Tail.youngBar only
// widens the count model's tail. The history's range is evidence that needs
// no model: of n exchangeable runs of buckets, a new one is above all of them
// with chance 1/(n+1) whatever their distribution, while a run below the
// term's own recent best is something it has just done. A trend's onset
// leaves its series' range; a burst of the kind the series has had does not.
// Measured (docs/detection.md, "A young term must leave its range"): real
// tweet counts judged from their first row paged on 33.5 → 30.5 % of quiet
// days, synthetic topics on their first day on 7.1 → 5.3 % of those that
// never trend, the trending ones as often as before. Only the page decision
// uses it: the strength, and so the anomaly score, stay the point estimate,
// and the tail learns as before.
func (a *analysis) young() bool {
	return a.o.Watch == nil && a.termTail().Tests[testBucket].Buckets < a.mp.tail.prior
}

// leaves reports whether test e's count (its window's sum) is above every run
// of as many ordinary buckets in the term's history (baseline.ordinary): a
// lone spike the term came straight back from bounds the one-bucket test,
// while a window's sum holding it is held to the windows of the history, so
// that a rise that lasts can leave the range a lone spike set.
func (a *analysis) leaves(e evidence) bool {
	h := tail(a.o.MentionHistory, a.mp.history)
	return e.observed > a.m.ordinary.rangeOf(h, max(e.window, 1))
}

// mentionStrength is the strongest of the mention tests under thresholds,
// support being the current bucket's mentions, lone outliers clipped where
// trend (see analysis.trend); 0 while the history is too short
// (surge.min_history) for a baseline to mean anything.
func (a *analysis) mentionStrength(minZ, minGrowth, minSupport float64, trend bool) (float64, evidence) {
	if len(a.o.MentionHistory) < a.mp.minHistory {
		return 0, evidence{}
	}
	// A bucket at or below its expectation's floors has every test at 0 or
	// below, and so strength 0 under any thresholds: most of a term's
	// buckets once it has a yesterday, spared the smoother's pass over the
	// history. (A caller reads the evidence only where strength reaches 1.)
	if quiet, _ := a.mp.quietTests(tail(a.o.MentionHistory, a.mp.history), a.o.Mentions, a.o.DayAgo); quiet {
		return 0, evidence{}
	}
	a.mentions()
	one, win, shift, hold := a.one, a.win, a.shift, a.hold
	if trend {
		one, win, shift, hold = a.trend[0], a.trend[1], a.trend[2], a.trend[3]
	}
	best, e := one.strength(minZ, minGrowth, a.o.Mentions, minSupport), one
	for _, w := range [...]evidence{win, shift, hold} {
		if w.window > 1 {
			if s := w.strength(minZ, minGrowth, a.o.Mentions, minSupport); s > best {
				best, e = s, w
			}
		}
	}
	return best, e
}

// pageStrength is mentionStrength of the surge's tests (lone outliers
// clipped) at the term's page bar for bar (pageBar), counting only the tests
// that leave their range while the term is young (see young): 1 where the
// surge pages.
func (a *analysis) pageStrength(bar, minGrowth, minSupport float64) float64 {
	r, e := a.mentionStrength(a.pageBar(bar), minGrowth, minSupport, true)
	if r < 1 || !a.young() || a.leaves(e) {
		return r
	}
	best := 0.0
	for i, t := range a.trend {
		if (i == testBucket || t.window > 1) && a.leaves(t) {
			best = max(best, t.strength(a.pageBar(bar), minGrowth, a.o.Mentions, minSupport))
		}
	}
	return best
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
