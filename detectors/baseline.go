package detectors

import (
	"math"
	"time"
)

// baseline is what a term's own history predicts for the bucket being judged.
//
// The model is Holt's linear smoothing (a level and a trend), made robust in the
// way of Gelper, Fried and Croux (2010): each bucket's forecast error is clipped at
// Clip spreads before it updates the level and trend, so one surge in the history
// barely moves the baseline. Because the trend is learnt, a term that grows slowly
// or follows a smooth daily bump is forecast where it is going, not where it was;
// a plain lagging mean would call every ramp a surge.
//
// The spread is a dispersion index: an exponentially weighted mean of squared
// (clipped) forecast errors divided by the forecast, i.e. variance per unit of
// mean. Count series are over-dispersed, so this is typically well above 1; it is
// never taken below 1, the Poisson floor, because no count is less noisy than
// Poisson. Keeping the ratio rather than the variance lets the spread follow the
// level through a diurnal cycle.
type baseline struct {
	next float64 // expected count of the current bucket, floored at MinExpected
	disp float64 // dispersion index for next, >= 1, inflated for the forecast's own error

	// The window tests judge the sum of the last w buckets (w-1 of history and
	// the current one) against the forecast made before them: the short window
	// (surge.window) and the level-shift window (surge.shift_window).
	win, shift windowForecast
	// inSurge: the current bucket is part of a run of outliers on one side
	// of the forecast (see holt.step), not a lone one.
	inSurge bool
	// obs is the current bucket as the tests count it: its count, or, for
	// an outlier above the forecast that no other outlier within surgeGap
	// buckets before it joins, the clip limit (see holt.step).
	obs float64
	// clipped: a lone outlier counts at the clip limit in a test.
	clipped bool
	// hold is the sustained test's sums over the last surge.hold_window
	// buckets (fewer while the history is short), the current one included.
	hold holdSums
	// outlier: the current bucket is beyond Clip spreads above its forecast.
	outlier bool
	// ordinary marks the buckets of the history that were no part of a
	// surge or drop (lone spikes the term came straight back from are
	// ordinary): the ranges a young term's tests must leave to page (see
	// analysis.leaves), worked out only when one is asked for.
	ordinary ordinary
}

// rangeSpan is how many of the history's last buckets the ranges look at: a
// fixed set on the stack, more than surge.history's default.
const rangeSpan = 256

// ordinary marks the buckets of the last rangeSpan of a history that were no
// part of a surge or drop.
type ordinary struct {
	off  int // index in the history of the first bucket marked
	bits [rangeSpan / 64]uint64
}

func (o *ordinary) set(i int) {
	if i -= o.off; i >= 0 {
		o.bits[i/64] |= 1 << (i % 64)
	}
}

func (o *ordinary) has(i int) bool {
	i -= o.off
	return i >= 0 && o.bits[i/64]&(1<<(i%64)) != 0
}

// rangeOf is the range of a test spanning l buckets in history h (the one
// the marks were made on): the largest sum of l consecutive buckets of h that
// are all ordinary. Where no run of ordinary buckets is that long (a short history,
// or one cut by surges), it is the longest runs' largest sum scaled to l
// buckets: their mean level; 0 with no ordinary bucket at all.
func (o *ordinary) rangeOf(h []float64, l int) float64 {
	longest, run := 0, 0
	for i := o.off; i < len(h); i++ {
		if run++; !o.has(i) {
			run = 0
		}
		longest = max(longest, run)
	}
	m := min(l, longest)
	if m == 0 {
		return 0
	}
	best, sum := 0.0, 0.0
	run = 0
	for i := o.off; i < len(h); i++ {
		if !o.has(i) {
			sum, run = 0, 0
			continue
		}
		sum += h[i]
		if run++; run > m {
			sum -= h[i-m]
			run = m
		}
		if run == m {
			best = max(best, sum)
		}
	}
	return best * float64(l) / float64(m)
}

// zScore is the sustained test's significance: the clipped errors' sum over
// the square root of their number, a standard normal for a term that follows
// its forecast, whatever its count model.
func (h holdSums) zScore() float64 {
	if h.w == 0 {
		return 0
	}
	return h.z / math.Sqrt(float64(h.w))
}

// holdSums are the sustained test's sums: of each bucket's standardised
// forecast error clipped at Clip spreads, as the smoother clips it, of the
// counts and of their forecasts, over w buckets.
type holdSums struct {
	w           int
	z, obs, exp float64
}

// add folds bucket y, forecast f with dispersion disp, into the sums.
func (h *holdSums) add(y, f, disp float64, c *BaselineConfig) {
	f = max(f, c.MinExpected)
	h.w++
	h.z += max(-c.Clip, min(c.Clip, (y-f)/math.Sqrt(max(disp, 1)*f)))
	h.obs += y
	h.exp += f
}

// lone is a bucket of a window that was an outlier above its forecast with no
// other outlier within surgeGap buckets of it (so far): the tests count it at
// the clip limit, excess below its count.
type lone struct {
	i      int
	excess float64
}

// loneExcess is the excess of the lone outliers at index from or later.
func loneExcess(l []lone, from int) float64 {
	e := 0.0
	for _, o := range l {
		if o.i >= from {
			e += o.excess
		}
	}
	return e
}

// confirm drops the outliers within surgeGap buckets before bucket i from l: a
// surge began at i, and they are its first buckets, not lone ones.
func confirm(l []lone, i int) []lone {
	k := 0
	for _, o := range l {
		if o.i < i-surgeGap {
			l[k] = o
			k++
		}
	}
	return l[:k]
}

// windowForecast is the forecast of the sum of the last w buckets, made before
// the first of them.
type windowForecast struct {
	w      int // 0: not enough history before the window to forecast it
	obs    float64
	expect float64
	disp   float64
}

// holt is the running state of the robust smoother.
type holt struct {
	level, trend, disp float64
	// surge is +1 or -1 while a surge (or a drop) is running: buckets on its
	// side of the forecast teach the smoother nothing. run counts them, and
	// since counts the buckets since the latest outlier, up whether that
	// outlier was above the forecast.
	surge      float64
	run, since int
	up         bool
}

// surgeGap is how close two outliers must be to start a surge: at Clip = 3
// spreads each is about a 1-in-300 bucket of the count model, so two within
// three buckets are no coincidence.
const surgeGap = 3

// fitBaseline reads history h (oldest first) and returns the forecast for the
// bucket after it, whose count is x, and for the windows of the last w and
// shift buckets ending with it, and sums the sustained test's clipped one-step
// errors over the last hold. The short window and the sustained test shrink to
// the history there is; the shift window needs minBefore buckets of history
// before it.
func fitBaseline(h []float64, x float64, w, shift, hold, minBefore int, c *BaselineConfig, inflate []float64, whole bool) baseline {
	f := fitHistory(h, w, shift, hold, minBefore, c)
	return f.baseline(x, c, inflate, whole)
}

// historyFit is fitBaseline's pass over the history, which the count judged
// after it does not enter: the tests of one history against several counts
// (lone outliers clipped and whole, an early look's count and its
// projection) share it, where each made the pass again.
type historyFit struct {
	n                      int // len(h)
	w, shift               int
	winSplit, shiftSplit   int
	winSum, shiftSum       float64 // of h[winSplit:], h[shiftSplit:]
	s, winSnap, shiftSnap  holt
	hold                   holdSums
	ordinary               ordinary
	exFrom, exWin, exShift [2]float64 // loneExcess from the first window bucket, winSplit, shiftSplit
}

// fitHistory makes the pass of fitBaseline over h. The lone outliers'
// excesses are summed as loneExcess sums them, in the list's order, both as
// the list stands at the end of h ([0]) and as confirm would leave it should
// the count after h confirm a surge ([1]): the finish then picks one
// rather than editing a list it shares.
func fitHistory(h []float64, w, shift, hold, minBefore int, c *BaselineConfig) historyFit {
	f := historyFit{n: len(h)}
	if len(h) == 0 {
		return f
	}
	w = min(w, len(h)+1)
	winSplit := len(h) - (w - 1) // buckets before the window
	shiftSplit := shiftFrom(len(h), shift, minBefore)
	s := initHolt(h, c.MinExpected)
	var winSnap, shiftSnap holt
	from := winSplit // the first bucket a window holds
	if shiftSplit >= 0 {
		from = min(from, shiftSplit)
	}
	var buf [8]lone
	lones := buf[:0]
	holdFrom := len(h) - (hold - 1)
	// An outlier still pending at the end may be the first bucket of the
	// surge the current one joins: it stays out of the ordinary buckets.
	pending := -1 // an outlier not yet known to be lone
	ord := &f.ordinary
	ord.off = max(0, len(h)-rangeSpan)
	for i, y := range h {
		if i >= holdFrom {
			f.hold.add(y, s.level+s.trend, s.disp, c)
		}
		if i == winSplit {
			winSnap = s
		}
		if i == shiftSplit {
			shiftSnap = s
		}
		cy := s.step(y, c)
		if cy < y && i >= from {
			lones = append(lones, lone{i, y - cy})
		}
		if s.confirms(y, cy) {
			lones = confirm(lones, i)
		}
		switch {
		case s.surge != 0:
			pending = -1 // a surge began with the outlier pending, or goes on
		case s.since == 0:
			if pending >= 0 {
				ord.set(pending) // lone: no outlier within surgeGap after it
			}
			pending = i
		default:
			if pending >= 0 && i-pending > surgeGap {
				ord.set(pending)
				pending = -1
			}
			ord.set(i)
		}
	}
	if winSplit == len(h) {
		winSnap = s
	}
	if shiftSplit == len(h) {
		shiftSnap = s
	}
	f.w, f.shift, f.winSplit, f.shiftSplit = w, shift, winSplit, shiftSplit
	f.s, f.winSnap, f.shiftSnap = s, winSnap, shiftSnap
	f.winSum = sum(h[winSplit:])
	if shiftSplit >= 0 {
		f.shiftSum = sum(h[shiftSplit:])
	}
	f.exFrom[0], f.exWin[0], f.exShift[0] = loneExcess(lones, from), loneExcess(lones, winSplit), loneExcess(lones, shiftSplit)
	lones = confirm(lones, len(h))
	f.exFrom[1], f.exWin[1], f.exShift[1] = loneExcess(lones, from), loneExcess(lones, winSplit), loneExcess(lones, shiftSplit)
	return f
}

// baseline is fitBaseline's forecast from f for the count x after the
// history: lone outliers counted at the clip limit, or whole.
func (f *historyFit) baseline(x float64, c *BaselineConfig, inflate []float64, whole bool) baseline {
	b := baseline{next: c.MinExpected, disp: 1, win: windowForecast{w: 1, obs: x, expect: c.MinExpected, disp: 1}}
	if f.n == 0 {
		return b
	}
	s := f.s
	b.hold, b.ordinary = f.hold, f.ordinary
	b.next, b.disp = s.window(1, c, inflate)
	b.hold.add(x, s.level+s.trend, s.disp, c)
	after := s
	cx := after.step(x, c)
	b.obs = cx
	if whole {
		b.obs = x
	}
	b.inSurge = after.surge != 0
	b.outlier = after.since == 0 && x > s.level+s.trend
	// Judged whole, no outlier is lone: nothing is taken off.
	var exFrom, exWin, exShift float64
	if !whole {
		k := 0
		if after.confirms(x, cx) {
			k = 1
		}
		exFrom, exWin, exShift = f.exFrom[k], f.exWin[k], f.exShift[k]
	}
	b.clipped = b.obs < x || exFrom > 0
	b.win = windowForecast{w: f.w, obs: b.obs + f.winSum - exWin}
	b.win.expect, b.win.disp = f.winSnap.window(f.w, c, inflate)
	if f.shiftSplit >= 0 {
		b.shift = windowForecast{w: f.shift, obs: b.obs + f.shiftSum - exShift}
		b.shift.expect, b.shift.disp = f.shiftSnap.window(f.shift, c, inflate)
	}
	return b
}

// shiftFrom is the first of n history buckets the level-shift window of
// shift buckets holds (the current bucket its last), or -1 where fewer than
// minBefore buckets would stand before it to fit the baseline on: then there
// is no level-shift test.
func shiftFrom(n, shift, minBefore int) int {
	if from := n - (shift - 1); from >= minBefore {
		return from
	}
	return -1
}

func sum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

// window is the forecast, from this state, of the sum of the next w buckets and
// its dispersion index, inflated (inflate[w-1]) for the forecast's own error.
// The smoother's dispersion is learnt from one-step errors, which hold the
// one-step forecast's error as well as the noise, so the noise's is that over
// inflate[0], floored at Poisson.
func (s holt) window(w int, c *BaselineConfig, inflate []float64) (expect, disp float64) {
	disp = math.Max(s.disp/inflate[0], 1) * inflate[w-1]
	fw := float64(w)
	if s.level+s.trend >= c.MinExpected && s.level+fw*s.trend >= c.MinExpected {
		// A line above the floor at both ends is above it throughout.
		return fw*s.level + fw*(fw+1)/2*s.trend, disp
	}
	for j := 1; j <= w; j++ {
		expect += math.Max(s.level+float64(j)*s.trend, c.MinExpected)
	}
	return expect, disp
}

// forecastInflation returns, for w = 1 … maxW, the variance of the error of the
// smoother's forecast of a w-bucket sum over the variance of the sum's own
// noise, for white noise: 1 + Σ_k c_k²/w, where c_k is the weight of the
// bucket k before the window in the forecast w·level + w(w+1)/2·trend.
//
// Without clipping, Holt's smoother is linear: its state (level, trend) after a
// bucket y is A·state + B·y with A = [[1-α, 1-α], [-αβ, 1-αβ]], B = [α, αβ], so
// the weights are (w, w(w+1)/2)·A^k·B. The trend's share grows as w³: over ten
// buckets at α = β = 0.1 the forecast's error is 1.7 times the noise's
// variance, where the level's alone, α/(2-α) per bucket, would say 0.5, and a
// window's significance would be overstated by a third.
func forecastInflation(alpha, beta float64, maxW int) []float64 {
	out := make([]float64, maxW)
	for w := 1; w <= maxW; w++ {
		wl, wt := float64(w), float64(w*(w+1))/2
		l, t := alpha, alpha*beta // A^0·B
		start := l*l + t*t
		sum := 0.0
		// det A = 1-α, so the weights decay geometrically (as √(1-α)^k where
		// the eigenvalues are complex, as at the defaults). A single weight may
		// pass through zero as they turn; the state vector (l, t) does not, so
		// stop when it is negligible.
		for k := 0; k < 1_000_000 && l*l+t*t > 1e-18*start; k++ {
			c := wl*l + wt*t
			sum += c * c
			l, t = (1-alpha)*(l+t), -alpha*beta*l+(1-alpha*beta)*t
		}
		out[w-1] = 1 + sum/wl
	}
	return out
}

// initHolt starts the smoother on the first few buckets: the median for the level
// (one early spike must not set it), no trend, and a dispersion from the mean
// absolute successive difference, which a slow level change hardly affects.
func initHolt(h []float64, minExpected float64) holt {
	var buf [9]float64
	k := copy(buf[:], h)
	level := median(buf[:k])
	m := min(len(h), 16)
	disp := 1.0
	if m >= 3 {
		sum := 0.0
		for i := 1; i < m; i++ {
			sum += math.Abs(h[i] - h[i-1])
		}
		// For Gaussian noise E|X_i - X_(i-1)| = 2σ/√π.
		sigma := sum / float64(m-1) * math.Sqrt(math.Pi) / 2
		disp = sigma * sigma / math.Max(level, minExpected)
	}
	return holt{level: level, disp: math.Max(disp, 1), since: surgeGap + 1}
}

// historyTail learns a Tail from a history alone, for a term whose Tail is not
// known (just tracked, or the pipeline restarted): each bucket's tests but the
// sustained one, which a history without yesterday's levels cannot teach (see
// Tail), as fitBaseline would have made them then, from the skip-th bucket on,
// before which the smoother has not settled.
func historyTail(h []float64, skip int, mp *mentionParams, width time.Duration, watched bool) Tail {
	w, shift, c, inflate, p := mp.window, mp.shift, &mp.base, mp.inflate, &mp.tail
	var t Tail
	if len(h) <= skip {
		return t
	}
	s := initHolt(h, c.MinExpected)
	// states[i%n] is the state before bucket i, kept for the windows starting at i.
	n := max(w, shift)
	states := make([]holt, n)
	var winSum, shiftSum float64 // of the last w and shift buckets
	for i, y := range h {
		states[i%n] = s
		winSum += y
		if i >= w {
			winSum -= h[i-w]
		}
		shiftSum += y
		if i >= shift {
			shiftSum -= h[i-shift]
		}
		if i >= skip {
			var z, g [mentionTests]float64
			mu, disp := s.window(1, c, inflate)
			z[testBucket], g[testBucket] = exceedance(y, mu, disp), y/mu
			if mu, disp := states[(i-w+1)%n].window(w, c, inflate); y*float64(w) > mu {
				z[testWindow], g[testWindow] = exceedance(winSum, mu, disp), winSum/mu
			}
			z[testShift] = math.NaN()
			if i-shift+1 >= skip {
				z[testShift] = 0
				if mu, disp := states[(i-shift+1)%n].window(shift, c, inflate); y*float64(shift) > mu {
					z[testShift], g[testShift] = exceedance(shiftSum, mu, disp), shiftSum/mu
				}
			}
			// A history has no yesterday, against which alone the
			// sustained test learns (see Tail).
			z[testHold] = math.NaN()
			next := s
			next.step(y, c)
			if !(next.surge != 0 && mp.surging(t, z, g, y, width, watched)) {
				t = t.learn(z, p)
			}
		}
		s.step(y, c)
	}
	return t
}

// step folds bucket y into the smoother and returns y as the tests count it:
// y itself, or, for an outlier above the forecast that is not part of a
// rising surge (a lone one, so far), the clip limit. A lone outlier is the
// term's own noise until a second one within surgeGap buckets confirms a
// surge: NAB's tweets and real topics spike tenfold for a bucket several
// times a day, and judged whole each such spike would be a page.
func (s *holt) step(y float64, c *BaselineConfig) float64 {
	f := s.level + s.trend
	fp := max(f, c.MinExpected)
	e := y - f
	// Compared squared, so the square root is only taken for the rare outlier.
	limit2 := c.Clip * c.Clip * max(s.disp, 1) * fp
	outlier := e*e > limit2
	s.since++
	gap := s.since // buckets since the outlier before this one
	if outlier {
		// Two outliers on one side start a surge (or a drop): a drop
		// followed by a jump is no more a surge than one jump is (a bucket
		// of a data outage, then the catch-up, or a quiet hour's dip before
		// an ordinary spike).
		if s.surge == 0 && s.since <= surgeGap && (e > 0) == s.up {
			s.surge = math.Copysign(1, e)
		}
		s.since = 0
		s.up = e > 0
	}
	if s.surge != 0 && e*s.surge > 0 {
		// A surge (or a drop) is not what is normal for the term: while the
		// term stays on its side of the forecast it moves neither the level,
		// nor the trend, nor the dispersion, so the term's memory of normal is
		// the same after a surge as before it and a second wave is judged as
		// the first was. Clipped instead, a twenty-bucket surge raised the
		// level by six spreads and the dispersion sixfold. A surge longer than
		// baseline.max_surge is the term's new level.
		s.run++
		if s.run <= c.MaxSurge {
			s.level = f
			if outlier && e > 0 && gap > surgeGap {
				// The run's outliers ended more than surgeGap buckets ago,
				// and the term has stayed a little above the forecast the
				// run holds since: this outlier has none within surgeGap
				// before it, a lone one by the rule's own terms, and counts
				// at the clip limit until a second one joins it. Counted
				// whole, a one-bucket spike hours after a surge paged as if
				// the surge went on (NAB's AMZN tweets, 2015-03-21 00:17:
				// 421 where 69 was expected, after a run ten buckets back).
				// The run itself goes on: its buckets still teach nothing.
				return f + math.Sqrt(limit2)
			}
			return y
		}
		s.level, s.trend = y, 0
		s.surge, s.run = 0, 0
		return y
	}
	// Back at (or past) the forecast: the surge is over.
	s.surge, s.run = 0, 0
	counted := y
	if outlier {
		// A lone outlier is the term's own noise, heavier-tailed than any
		// count model: clipped at Clip spreads (Gelper et al.), it moves the
		// baseline a little and keeps the dispersion honest.
		e = math.Copysign(math.Sqrt(limit2), e)
		if e > 0 {
			counted = f + e
		}
	}
	level := f + c.Alpha*e
	s.trend = c.Beta*(level-s.level) + (1-c.Beta)*s.trend
	s.level = level
	s.disp = (1-c.Gamma)*s.disp + c.Gamma*e*e/fp
	return counted
}

// confirms reports whether bucket y, which the step just folded in and
// counted as cy, is an outlier of a rising surge counted whole: it confirms
// the lone outliers within surgeGap buckets before it as the surge's first
// buckets, whether it began the surge or joined one already running.
func (s *holt) confirms(y, cy float64) bool {
	return s.surge > 0 && s.since == 0 && cy == y
}

// spikedBefore reports whether history h (oldest first) holds a lone spike of
// significance z or more: a bucket above its forecast, by z against the
// smoother's dispersion then, that no other outlier within surgeGap buckets
// before or after joined, so the term came straight back from it. Such a
// term's next outlying first bucket is more likely a spike than a surge.
func spikedBefore(h []float64, z float64, c *BaselineConfig) bool {
	s := initHolt(h, c.MinExpected)
	pending := -1 // a strong outlier not yet known to be lone
	for i, y := range h {
		if pending >= 0 && i-pending > surgeGap {
			return true
		}
		f := math.Max(s.level+s.trend, c.MinExpected)
		strong := significance(y, f, math.Max(s.disp, 1)) >= z
		cy := s.step(y, c)
		if cy < y && strong && pending < 0 {
			pending = i
			continue
		}
		if s.confirms(y, cy) {
			pending = -1 // a second outlier: the first began a surge
		}
	}
	return false
}

// significance is the signed square root of the deviance of observing x when mu
// is expected with variance disp·mu: a z-like number (≈ (x-mu)/sqrt(disp·mu) for
// large counts near mu) that is honest about small counts and heavy tails.
//
// The count is taken as negative binomial with that mean and variance (shape
// k = mu/(disp-1)), Poisson when disp is 1. For the same variance the negative
// binomial's right tail is much heavier than a scaled Poisson's, which is what
// over-dispersed counts look like: a quiet term that sometimes jumps is not
// surprising every time it jumps. At disp 1 this is the Poisson deviance: 5 where
// 0.5 is expected scores 3.7 (about a one-sided Poisson p of 1e-4), not the 6.4
// a z-score would claim.
func significance(x, mu, disp float64) float64 {
	if !(mu > 0) {
		return 0
	}
	var d float64
	if kappa := (disp - 1) / mu; kappa > 1e-9 {
		k := 1 / kappa
		if x > 0 {
			d = x*math.Log(x/mu) - (x+k)*math.Log((x+k)/(mu+k))
		} else {
			d = k * math.Log1p(mu/k)
		}
	} else if x > 0 {
		d = x*math.Log(x/mu) - (x - mu)
	} else {
		d = mu
	}
	z := math.Sqrt(math.Max(2*d, 0))
	if x < mu {
		z = -z
	}
	return z
}

// exceedance is significance(x, mu, disp) where it may exceed tailLevel, and 0
// where it cannot: for a count above its mean the deviance is at most the
// Pearson statistic (x-mu)²/(disp·mu), as the variance grows with the mean, so
// most buckets need no logarithm.
func exceedance(x, mu, disp float64) float64 {
	if d := x - mu; d <= 0 || d*d <= tailLevel*tailLevel*disp*mu {
		return 0
	}
	return significance(x, mu, disp)
}

// evidence is one test of a count against what was expected.
type evidence struct {
	observed, expected float64
	z, growth          float64
	raw                float64 // z before the term's tail calibrated it
	window             int     // buckets the test spans
	test               int     // which mention test (index of Tail.Tests); 0 for others
}

func newEvidence(x, mu, disp float64, window int) evidence {
	z := significance(x, mu, disp)
	return evidence{observed: x, expected: mu, z: z, raw: z, growth: x / mu, window: window}
}

// strength folds a test and its thresholds into one number that is 1 exactly
// where all of them are met: significance, growth and support. Below 1 it says
// how far the weakest of them falls short; above 1, how far the weakest is
// exceeded. Everything downstream (severity, anomaly scores) is a function of it.
func (e evidence) strength(minZ, minGrowth, support, minSupport float64) float64 {
	if !(e.z > 0) || !(e.growth > 1) {
		return 0
	}
	r := e.z / minZ
	if g := math.Log(e.growth) / math.Log(minGrowth); g < r {
		r = g
	}
	if s := support / minSupport; s < r {
		r = s
	}
	return r
}

// median sorts a small slice in place and returns its median.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
