package detectors

import "math"

// Tail is a term's memory of how heavy the upper tail of its significance is,
// beyond what the count model allows for.
//
// The baseline's negative binomial takes care of a term's ordinary noise, but
// real series also have spikes that no count model of their body predicts: a
// ticker's tweets jump tenfold for five minutes several times a day. Judged by
// the count model alone, every one of those spikes is a 10-sigma event and a
// page. Tail learns, from the term's own buckets, the distribution of each
// mention test's significance above tailLevel as a peaks-over-threshold model
// (Pickands 1975; as in Siffer et al., "Anomaly detection in streams with
// extreme value theory", KDD 2017): the rate of exceedances and the scale of
// an exponential tail of their excess. A significance z is then re-expressed
// as the significance a term following the count model would need to be as
// rare (see calibrate), so "z = 5" means the same rarity on every term. The
// model is fitted to z rather than to the deviance z²/2 because on real count
// series the excess of z is close to exponential out to a few times its mean
// (measured on the NAB tweet series, unlabelled: the share of exceedances
// beyond 2 and 3 times the mean excess is near e^-2 and e^-3), while the
// deviance's mean excess is set by a few extremes. Beyond five means even z's
// tail is heavier than exponential, so the rarest spikes of a spiky term are
// still underestimated; the exponential (a generalised Pareto of shape 0) is
// kept because a day's few dozen exceedances cannot estimate a shape.
//
// The sustained test's exceedances are counted as runs (declustered, as
// peaks over a threshold are in dependent series: Coles, "An Introduction to
// Statistical Modeling of Extreme Values", 2001, §5.3). Its sum spans
// surge.hold_window buckets and stays above tailLevel bucket after bucket
// while a stretch above normal lasts, so each of a spiky term's stretches
// taught its tail as many exceedances as the stretch had buckets, where it
// pages at most once: the tail came out several times too heavy and held the
// term's real surges under the bar. A run of consecutive exceedances is one,
// its excess the run's peak. The other tests' runs are shorter (means of 1.9
// to 3 buckets on NAB's tweets, against 4 for the sustained test) and they
// are counted per bucket: declustered too, the tweets' false pages went
// 17 → 31, as beyond a few scales the exponential is lighter than real tails
// and per-bucket counting made up for it (see docs/detection.md).
//
// The sustained test learns only buckets it would judge against a yesterday
// (Observation.LearnDayAgo known). Its sum of the smoother's errors runs high
// through the whole of a daily rise, which, once yesterday's level is known,
// the test holds back: learnt without one, a term's first day taught its tail
// the rhythm as exceedances, and for the tail's memory after it (five days of
// NAB's five-minute rows) its real sustained surges were discounted. The
// other tests learn on the first day as on any other: their evidence is
// about the last few buckets, which a daily rhythm barely moves, and a term
// whose first-day tail knew nothing of its spikes paged on them (measured;
// see docs/detection.md).
//
// The sums are exponentially weighted with memory baseline.tail_memory
// buckets: twenty-one numbers per term. The pipeline keeps the Tail that Set.Learn
// returns for a term and hands it back in the term's next Observation; the zero
// Tail means nothing is known, and the detectors then learn one from the
// Observation's history.
type Tail struct {
	// Tests are the one-bucket test's, the short window's and the level-shift
	// window's, in that order. Each test has its own tail: a spike that lasts a
	// bucket or two and is ordinary for the term is diluted in a window's sum,
	// while a change that holds is not, so a term that spikes every day can
	// still be caught shifting.
	Tests [testHold]TailTest
	// Hold is the sustained test's (testHold), kept apart from Tests because
	// the checkpoints written with encoding/gob hold three tests, and gob reads
	// an array into an array of the same length only. Test(i) is either.
	Hold TailTest
	// Lone is how recently the term had a lone spike beyond the early bar
	// that it came straight back from: 1 when one is learnt, times the
	// tail's weight of the past with every bucket learnt since, 0 for none.
	// Only kept with early.first_bucket, where such a term's first
	// outlying bucket waits for its second (see Surge.judgeLone).
	Lone float64
}

// TailTest is one test's exceedances: exponentially weighted counts of the
// buckets judged and of those whose significance exceeded tailLevel, the
// sum of their significance above it, each clipped (see Tail.learn), and the
// count of those the clip cut short. A checkpoint from before Far was kept
// decodes with it 0: the scale then reads a little low (by 1 - e^-clip, 5 %)
// until the exceedances learnt since outweigh the old ones.
//
// Peak is the excess of the run of exceedances under way, negative once the
// clip cut it short, 0 when the last bucket was not above tailLevel. Only the
// sustained test counts runs (see Tail); the others' Peak stays 0.
type TailTest struct {
	Buckets, Over, Excess float64
	Far                   float64
	Peak                  float64
}

// The mention tests, indices of Tail.Test.
const (
	testBucket = iota
	testWindow
	testShift
	testHold
	mentionTests
)

// tailLevel is the threshold of the peaks-over-threshold model: 2, exceeded by
// 2.3 % of a well-modelled term's buckets, so a day of one-minute buckets holds
// a few dozen exceedances to estimate their scale from, while the normal
// approximation of the deviance still holds for the body below it.
const tailLevel = 2

// The count model's own tail, the reference every term is mapped to: the
// standard normal's P(Z > 2) and its mean excess φ(2)/P(Z > 2) - 2 above 2.
const (
	refOver  = 0.022750131948179195
	refScale = 0.37321553267718656
)

// tailParams configures the tail model.
type tailParams struct {
	keep float64 // weight of the past per bucket: 1 - 1/tail_memory
	// loneFor is Tail.Lone after two memories, 2·tail_memory buckets, with no
	// lone spike: about e^-2. A term with a spike as recent waits. One
	// memory would forget a daily spike at one-minute buckets minutes
	// before it came back.
	loneFor float64
	prior   float64 // pseudo-buckets of the reference model
	clip    float64 // excess clipped at clip scales (baseline.clip)
	bias    float64 // 1 - e^-clip, the mean of an exponential clipped at clip scales over its scale
}

func newTailParams(c BaselineConfig) tailParams {
	keep := 1 - 1/float64(c.TailMemory)
	return tailParams{keep: keep, loneFor: math.Pow(keep, 2*float64(c.TailMemory)), prior: c.TailPrior, clip: c.Clip, bias: -math.Expm1(-c.Clip)}
}

// pot is one test's peaks-over-threshold model: the share of buckets above
// tailLevel and the scale of their exponential excess, both shrunk towards the
// reference by p.prior pseudo-buckets, so a term with little history is judged
// by the count model.
//
// The excesses are right-censored: learn clips each at p.clip scales. The
// scale is the censored exponential's maximum-likelihood estimate, the sum
// of the clipped excesses over the number the clip did not cut (Far are
// those it did). For an exponential tail that is the moment estimate it
// replaced (sum over bias times the count, a share bias of excesses staying
// under the clip); for a heavier tail, where more excesses reach the clip,
// it is larger, as the tail is. The moment estimate took every term's tail
// for an exponential's and read a heavy one as light, so such a term's
// ordinary big bursts paged: on NAB's 53 series it made 122 false pages
// where this makes 79. The reference's pseudo-exceedances count as an
// exponential's: bias of them uncensored, refScale·bias of excess each.
type pot struct{ over, scale float64 }

func (t *TailTest) pot(p *tailParams) pot {
	pseudo := p.prior * refOver
	return pot{
		over:  (t.Over + pseudo) / (t.Buckets + p.prior),
		scale: (t.Excess + pseudo*refScale*p.bias) / (max(t.Over-t.Far, 0) + pseudo*p.bias),
	}
}

// learn folds one bucket's significance of each test into the model; a NaN is
// a test not made. Each excess is clipped at p.clip scales, as the baseline
// clips its errors, so one giant surge does not teach the term that giant
// surges are ordinary; the clipping's bias is undone in pot. The sustained
// test learns a run of exceedances as one (see Tail).
func (t Tail) learn(z [mentionTests]float64, p *tailParams) Tail {
	for i := range mentionTests {
		if math.IsNaN(z[i]) {
			continue
		}
		e := t.Test(i)
		e.Far *= p.keep
		limit := p.clip * e.pot(p).scale
		e.Over *= p.keep
		e.Excess *= p.keep
		e.Buckets = p.keep*e.Buckets + 1
		if !(z[i] > tailLevel) {
			e.Peak = 0
			continue
		}
		ex := math.Min(z[i]-tailLevel, limit)
		clipped := z[i]-tailLevel > limit
		switch {
		case i != testHold || e.Peak == 0: // an exceedance, or a run of them, begins
			e.Over++
			e.Excess += ex
			if i == testHold {
				e.Peak = ex
			}
		case e.Peak > 0: // a run goes on: its excess is its peak
			if ex > e.Peak {
				e.Excess += ex - e.Peak
				e.Peak = ex
			}
		default: // a run the clip cut short goes on, censored: nothing to learn
			clipped = false
		}
		if clipped {
			e.Far++
			e.Peak = -e.Peak
		}
	}
	t.Lone *= p.keep
	return t
}

// testName names mention test i in explanations: the short window, the
// level-shift window and the sustained test can span as many buckets.
func testName(i int) string {
	switch i {
	case testWindow:
		return "window"
	case testShift:
		return "shift"
	case testHold:
		return "hold"
	}
	return "bucket"
}

// Test is the tail of mention test i, 0 ≤ i < TailTests.
func (t *Tail) Test(i int) *TailTest {
	if i == testHold {
		return &t.Hold
	}
	return &t.Tests[i]
}

// TailTests is how many tests a Tail holds a tail of.
const TailTests = mentionTests

// known reports whether anything has been learnt.
func (t Tail) known() bool { return t.Tests[testBucket].Buckets > 0 }

// calibrate re-expresses significance z of test i as the significance a term
// following the count model would need to be as rare: the z' whose reference
// tail probability refOver·exp(-(z'-2)/refScale) equals the term's
// over·exp(-(z-2)/scale). Both tails are the same exponential approximation,
// so for a term that behaves as the count model says, z' = z whatever the
// approximation's error. It never raises z: a term calmer than the count model
// is not judged by less than the count model's evidence. It is monotone in z,
// and z itself up to tailLevel.
func (t Tail) calibrate(i int, z float64, p *tailParams) float64 {
	if !(z > tailLevel) {
		return z
	}
	m := t.Test(i).pot(p)
	c := tailLevel + refScale*((z-tailLevel)/m.scale+math.Log(refOver/m.over))
	return math.Min(z, math.Max(c, tailLevel))
}

// youngBar is the significance a surge needs to page, bar for a term whose
// tail knows it well, when the term's tail has learnt only buckets of it
// (the one-bucket test's TailTest.Buckets, which learns every bucket): the
// calibrated significance is read as Student's t with that many degrees of
// freedom, and must be as rare as the normal's bar. Until a term's tail has
// learnt from its own buckets, what calibrates its significance is the count
// model, fitted to a short history, and the prior's light tail; and a
// forecast error standardised by a scale estimated from n observations is
// Student's t with about n degrees of freedom, heavier-tailed than the
// normal for small n. Real counts judged from their first row paged on 37.7 %
// of quiet days, against 7.1 % of the same days with the series run whole.
// At the one-minute bar (4.96) a term needs 2.2 more at 20 buckets learnt,
// 0.7 at 50, 0.3 at 100, 0.1 at 300 and 0.02 at a full memory
// (baseline.tail_memory); +Inf with nothing learnt. It raises the bar of the page decision only: the
// surge's strength, and so a series' anomaly score, stays the point estimate
// of how surprising the bucket is, so that ranking buckets by it is not
// skewed against a series' first hours (measured: docs/detection.md).
func (t Tail) youngBar(bar float64) float64 {
	return studentBar(bar, t.Tests[testBucket].Buckets)
}

// studentBar is the value of Student's t with nu degrees of freedom as far
// out in its tail as the normal deviate z is in the normal's: Wallace's
// approximation (D. L. Wallace, "Bounds on normal approximations to Student's
// and the chi-square distributions", Ann. Math. Statist. 30, 1959), z =
// (8nu+1)/(8nu+3)·√(nu·ln(1+t²/nu)), solved for t; within a few hundredths of
// the exact quantile from nu = 3 on. It is above z, approaches it as nu
// grows, and is +Inf for nu ≤ 0, where nothing has been learnt.
func studentBar(z, nu float64) float64 {
	if !(nu > 0) {
		return math.Inf(1)
	}
	u := z * (8*nu + 3) / (8*nu + 1)
	return math.Sqrt(nu * math.Expm1(u*u/nu))
}
