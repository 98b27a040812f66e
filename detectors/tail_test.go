package detectors

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/sim/dist"
)

// TestForecastInflation checks the forecast's error variance two ways: without
// a trend (beta 0) it is simple exponential smoothing's, 1 + w·α/(2-α), in
// closed form; with one, it is what white noise through the smoother measures.
func TestForecastInflation(t *testing.T) {
	ses := forecastInflation(0.1, 0, 10)
	for w := 1; w <= 10; w++ {
		if want := 1 + float64(w)*0.1/1.9; math.Abs(ses[w-1]-want) > 1e-9 {
			t.Errorf("beta 0, w %d: %v, want %v", w, ses[w-1], want)
		}
	}

	c := DefaultConfig().Baseline
	c.Clip = 1e9 // no clipping: the smoother is linear, as the formula assumes
	inflate := forecastInflation(c.Alpha, c.Beta, 10)
	r := rand.New(rand.NewPCG(11, 11))
	const n = 200000
	y := make([]float64, n)
	for i := range y {
		y[i] = 1000 + r.NormFloat64()
	}
	for _, w := range []int{1, 3, 10} {
		s := holt{level: 1000, disp: 1}
		var sum2 float64
		var k int
		for i := 0; i+w <= n; i++ {
			if i >= 1000 && i%w == 0 {
				expect, _ := s.window(w, &c, inflate)
				e := sum(y[i:i+w]) - expect
				sum2 += e * e
				k++
			}
			s.step(y[i], &c)
		}
		got := sum2 / float64(k) / float64(w)
		if want := inflate[w-1]; math.Abs(got-want) > 0.05*want {
			t.Errorf("w %d: measured %.3f, formula %.3f", w, got, want)
		}
	}
}

// TestCountModelMatchesReference checks what the tail calibration takes for
// granted: on counts that follow the count model (Poisson, negative binomial)
// the one-bucket test's significance has about the standard normal's tail above
// 2 (2.3 % of buckets, mean excess 0.37), so calibrating by the term's own tail
// leaves a well-modelled term's evidence as it is. The window tests count only
// while the current bucket stands a spread above normal (a surge that has
// ended is not evidence now), and the sustained test only on an outlying
// bucket, which removes exceedances: their tail must not be heavier than the
// reference's, so calibration leaves them as they are too.
func TestCountModelMatchesReference(t *testing.T) {
	mp := newMentionParams(DefaultConfig())
	for _, tc := range []struct {
		k, level float64
	}{{0, 3}, {0, 60}, {20, 15}, {20, 300}} {
		r := rand.New(rand.NewPCG(uint64(tc.level), uint64(tc.k)))
		const n = 10000
		values := make([]float64, n)
		for i := range values {
			values[i] = dist.NegBinomial(r, tc.level*diurnal(float64(i), 0, 0.5), tc.k)
		}
		var buckets, over, excess [mentionTests]float64
		for i := 200; i < n; i++ {
			_, ev := mp.tests(values[i-unitHistory:i], values[i], math.NaN(), true)
			for j, e := range ev {
				buckets[j]++
				if e.raw > tailLevel {
					over[j]++
					excess[j] += e.raw - tailLevel
				}
			}
		}
		for j := range mentionTests {
			rate, scale := over[j]/buckets[j], excess[j]/over[j]
			// Within sampling error and the model's approximations; a term with
			// ordinary spikes is several times off (TestTailLearnsSpikiness).
			bad := rate < 0.5*refOver || rate > 1.5*refOver || scale < 0.65*refScale || scale > 1.45*refScale
			if j != testBucket {
				// No heavier at the page level than the one-bucket test may be.
				const bar = 5
				bad = rate*math.Exp(-(bar-tailLevel)/scale) > 1.5*refOver*math.Exp(-(bar-tailLevel)/(1.45*refScale))
			}
			if bad {
				t.Errorf("k %v level %v, test %d: P(z > 2) = %.4f (reference %.4f), mean excess %.3f (reference %.3f)",
					tc.k, tc.level, j, rate, refOver, scale, refScale)
			}
		}
	}
}

func TestTailCalibrate(t *testing.T) {
	p := newTailParams(DefaultConfig().Baseline)
	var reference Tail // nothing learnt: the prior, the count model's tail
	spiky := Tail{}
	for i := range TailTests {
		// A day of buckets, 5 % above 2 with a mean excess of 3.
		*spiky.Test(i) = TailTest{Buckets: 1440, Over: 72, Excess: 72 * 3 * p.bias, Far: 72 * (1 - p.bias)}
	}
	calm := Tail{}
	for i := range TailTests {
		*calm.Test(i) = TailTest{Buckets: 1440}
	}
	for _, tc := range []struct {
		name string
		t    Tail
	}{{"reference", reference}, {"spiky", spiky}, {"calm", calm}} {
		prev := math.Inf(-1)
		for z := -3.0; z <= 40; z += 0.25 {
			c := tc.t.calibrate(testBucket, z, &p)
			switch {
			case c > z+1e-12:
				t.Fatalf("%s: calibrate(%v) = %v raises the evidence", tc.name, z, c)
			case c < prev:
				t.Fatalf("%s: calibrate(%v) = %v below calibrate of a smaller z, %v", tc.name, z, c, prev)
			case z <= tailLevel && c != z:
				t.Fatalf("%s: calibrate(%v) = %v, want z itself up to %v", tc.name, z, c, tailLevel)
			case tc.name != "spiky" && math.Abs(c-z) > 1e-9:
				t.Fatalf("%s: calibrate(%v) = %v, want z: the term is no spikier than the count model", tc.name, z, c)
			}
			prev = c
		}
	}
	// Shrunk by the prior's 360 buckets, the spiky term's tail is 4.5 % above 2
	// with a mean excess of 2.7, where a z of 20 is as rare as 4.2 is for the
	// count model.
	if c := spiky.calibrate(testBucket, 20, &p); c < 4 || c > 4.4 {
		t.Errorf("spiky: calibrate(20) = %v, want about 4.2", c)
	}
}

func TestStudentBar(t *testing.T) {
	// One-sided 0.999 quantiles of Student's t, each as rare as the
	// normal's 3.090.
	for _, tc := range []struct{ nu, t float64 }{{5, 5.893}, {10, 4.144}, {30, 3.385}, {100, 3.174}} {
		if got := studentBar(3.090, tc.nu); math.Abs(got-tc.t) > 0.05*tc.t {
			t.Errorf("studentBar(3.090, %v) = %.3f, want %.3f", tc.nu, got, tc.t)
		}
	}
	if got := studentBar(3.090, 0); !math.IsInf(got, 1) {
		t.Errorf("studentBar(3.090, 0) = %v, want +Inf: nothing learnt", got)
	}
}

// TestTailYoungTerm checks the bar a young term's surge pages at: higher while
// its tail has learnt few buckets, the bar itself once it has learnt a full
// memory, and the bar for a watched term.
func TestTailYoungTerm(t *testing.T) {
	cfg := DefaultConfig()
	p := newTailParams(cfg.Baseline)
	bar := PageZ(cfg.FalsePages, time.Minute)
	young := func(b float64) Tail {
		var tl Tail
		for i := range TailTests {
			// A term following the count model: 2.3 % of buckets above 2.
			*tl.Test(i) = TailTest{Buckets: b, Over: b * refOver, Excess: b * refOver * refScale * p.bias, Far: b * refOver * (1 - p.bias)}
		}
		return tl
	}
	if b := (Tail{}).youngBar(bar); !math.IsInf(b, 1) {
		t.Errorf("nothing learnt: bar %v, want +Inf", b)
	}
	mp := newMentionParams(cfg)
	for _, tc := range []struct {
		buckets float64
		lo, hi  float64 // bounds of the page bar over the bar
	}{{20, 1.5, 2.5}, {50, 0.4, 0.9}, {300, 0.05, 0.2}, {1440, 0, 0.04}} {
		tl := young(tc.buckets)
		a := analysis{o: &Observation{Tail: tl}, mp: &mp}
		if d := a.pageBar(bar) - bar; d < tc.lo || d > tc.hi {
			t.Errorf("%v buckets learnt: page bar %.3f over %.3f, want %v to %v over", tc.buckets, a.pageBar(bar), bar, tc.lo, tc.hi)
		}
		a = analysis{o: &Observation{Tail: tl, Watch: &WatchMatch{}}, mp: &mp}
		if got := a.pageBar(bar); got != bar {
			t.Errorf("%v buckets learnt, watched: page bar %v, want the bar %v", tc.buckets, got, bar)
		}
	}
}

// TestTailLearnsSpikiness runs a week of five-minute counts through Set.Learn,
// as the pipeline would: a term that spikes several times a day learns a heavy
// tail, one that follows the count model stays near the reference.
func TestTailLearnsSpikiness(t *testing.T) {
	s := mustSet(t, DefaultConfig())
	const n = 7 * 288
	for _, tc := range []struct {
		name   string
		spikes float64 // per bucket
		lo, hi float64 // bounds of the one-bucket scale over the reference's
		pages  bool    // a 7-sigma bucket still passes surge.min_z
	}{
		{"count model", 0, 0.7, 1.6, true},
		// Spikes past the bar are surges and teach the tail nothing (SPOT's
		// rule), so the scale is that of the ordinary spikes below it.
		{"ordinary spikes", 6.0 / 288, 1.5, 20, false},
	} {
		r := rand.New(rand.NewPCG(5, 5))
		values := make([]float64, n)
		for i := range values {
			mu := 40 * diurnal(float64(i)*5, 0, 0.5)
			if r.Float64() < tc.spikes {
				mu *= 1 + math.Pow(1-r.Float64(), -1/1.5) // Pareto sizes, one bucket long
			}
			values[i] = dist.NegBinomial(r, mu, 10)
		}
		var tl Tail
		for i := range values {
			o := &Observation{Mentions: values[i], MentionHistory: values[max(0, i-unitHistory):i], DayAgo: math.NaN(), Tail: tl}
			tl = s.Learn(o)
		}
		m := tl.Tests[testBucket].pot(&s.mp.tail)
		if ratio := m.scale / refScale; ratio < tc.lo || ratio > tc.hi {
			t.Errorf("%s: learnt scale %.3f, %.2f times the reference's, want %v to %v", tc.name, m.scale, ratio, tc.lo, tc.hi)
		}
		if c := tl.calibrate(testBucket, 7, &s.mp.tail); (c >= 5) != tc.pages {
			t.Errorf("%s: a 7-sigma bucket calibrates to %.2f", tc.name, c)
		}
	}
}

// TestTailExcludesJudgedBuckets checks that the Tail an observation is judged
// with has learnt nothing from the buckets its tests judge, whether kept by the
// pipeline or learnt from the history: a surge's first buckets must not make
// the term look spikier while the surge is being judged.
func TestTailExcludesJudgedBuckets(t *testing.T) {
	cfg := DefaultConfig()
	s := mustSet(t, cfg)
	r := rand.New(rand.NewPCG(9, 9))
	calm := counts(r, unitHistory, func(int) float64 { return 20 })
	surging := slices.Clone(calm)
	for i := unitHistory - (cfg.Surge.ShiftWindow - 1); i < unitHistory; i++ {
		surging[i] = 200
	}
	learnt := func(h []float64, x float64, kept Tail) Tail {
		a := analysis{o: &Observation{Mentions: x, MentionHistory: h, DayAgo: math.NaN(), Tail: kept}, mp: &s.mp}
		return a.termTail()
	}
	if a, b := learnt(calm, 20, Tail{}), learnt(surging, 200, Tail{}); a != b {
		t.Errorf("learnt from the history: %+v with the last %d buckets calm, %+v with them surging",
			a, cfg.Surge.ShiftWindow-1, b)
	}
	// Learn folds in the bucket shift_window-1 before the current one; the
	// current bucket and those after that one do not count yet.
	o := &Observation{Mentions: 20, MentionHistory: calm, DayAgo: math.NaN()}
	base := s.Learn(o)
	o.Mentions = 2000
	if got := s.Learn(o); got != base {
		t.Errorf("Learn depends on the current bucket: %+v, %+v", got, base)
	}
	o.Tail = base
	if got := s.Learn(o); got == base || !got.known() {
		t.Errorf("Learn with a kept Tail learnt nothing: %+v", got)
	}
	// With too little history nothing is learnt, and nothing is known.
	if got := s.Learn(&Observation{Mentions: 5, MentionHistory: calm[:cfg.Surge.MinHistory], DayAgo: math.NaN()}); got.known() {
		t.Errorf("Learn with %d buckets of history: %+v, want nothing learnt", cfg.Surge.MinHistory, got)
	}
}

// TestTailScaleCensored: the scale is the censored exponential's estimate.
// Learnt from exponential excesses it finds their scale, as the moment
// estimate did; learnt from heavier-tailed excesses of the same mean, more
// of which reach the clip, it is larger than the moment estimate, which
// took them for an exponential's.
func TestTailScaleCensored(t *testing.T) {
	p := newTailParams(DefaultConfig().Baseline)
	// The moment estimate, shrunk towards the reference as pot shrinks.
	moment := func(tt TailTest) float64 {
		pseudo := p.prior * refOver
		return (tt.Excess/p.bias + pseudo*refScale) / (tt.Over + pseudo)
	}
	for _, tc := range []struct {
		name   string
		excess func(r *rand.Rand) float64
		heavy  bool
	}{
		{"exponential", func(r *rand.Rand) float64 { return r.ExpFloat64() }, false},
		// Pareto of shape 2 and mean 1: a tail far heavier than an exponential's.
		{"pareto", func(r *rand.Rand) float64 { return math.Pow(1-r.Float64(), -1/2.0) - 1 }, true},
	} {
		r := rand.New(rand.NewPCG(1, 2))
		var tl Tail
		for range 20000 {
			z := [mentionTests]float64{0, 0, math.NaN()}
			if r.Float64() < 0.05 {
				z[testBucket] = tailLevel + tc.excess(r)
			}
			tl = tl.learn(z, &p)
		}
		tt := tl.Tests[testBucket]
		got, mom := tt.pot(&p).scale, moment(tt)
		t.Logf("%s: scale %.3f, moment estimate %.3f, clipped %.1f of %.1f", tc.name, got, mom, tt.Far, tt.Over)
		if !tc.heavy && math.Abs(got/mom-1) > 0.03 {
			t.Errorf("%s: scale %.3f, want the moment estimate %.3f", tc.name, got, mom)
		}
		if tc.heavy && got < 1.04*mom {
			t.Errorf("%s: scale %.3f, not above the moment estimate %.3f", tc.name, got, mom)
		}
	}
}

// TestTailDeclusters: the sustained test's tail counts runs of exceedances,
// not buckets: a run of buckets above tailLevel is one exceedance whose excess
// is the run's peak, and a run the clip cut short counts once among Far,
// however many of its buckets are beyond the clip. The other tests count
// every bucket above tailLevel (see Tail).
func TestTailDeclusters(t *testing.T) {
	p := newTailParams(DefaultConfig().Baseline)
	p.keep = 1 // no forgetting: the sums are plain counts
	unclipped := p
	unclipped.clip, unclipped.bias = math.Inf(1), 1
	nan := math.NaN()
	type want struct {
		over, far float64
		excess    float64 // NaN: not checked (clipped)
		peak      float64 // the run under way; -1: a clipped one
	}
	for _, tc := range []struct {
		name          string
		p             tailParams
		z             []float64
		buckets       float64
		hold, buckety want
	}{
		{"one bucket", unclipped, []float64{0, 5, 0}, 3, want{1, 0, 3, 0}, want{1, 0, 3, 0}},
		{"a run is one exceedance at its peak", unclipped, []float64{0, 3, 7, 4, 1}, 5, want{1, 0, 5, 0}, want{3, 0, 8, 0}},
		{"two runs", unclipped, []float64{5, 0, 2.5, 0}, 4, want{2, 0, 3.5, 0}, want{2, 0, 3.5, 0}},
		{"a run under way", unclipped, []float64{0, 3, 6}, 3, want{1, 0, 4, 4}, want{2, 0, 5, 0}},
		{"a test not made leaves the run as it was", unclipped, []float64{3, nan, 6, 0}, 3, want{1, 0, 4, 0}, want{2, 0, 5, 0}},
		{"clipped once per run", p, []float64{0, 30, 40, 30, 0, 30, 0}, 7, want{2, 2, nan, 0}, want{4, 4, nan, 0}},
		{"a clipped run under way", p, []float64{0, 30, 40}, 3, want{1, 1, nan, -1}, want{2, 2, nan, 0}},
	} {
		var tl Tail
		for _, z := range tc.z {
			tl = tl.learn([mentionTests]float64{z, z, z, z}, &tc.p)
		}
		for i := range TailTests {
			w := tc.buckety
			if i == testHold {
				w = tc.hold
			}
			tt := tl.Test(i)
			peakOK := tt.Peak == w.peak || w.peak == -1 && tt.Peak < 0
			if tt.Buckets != tc.buckets || tt.Over != w.over || tt.Far != w.far || !peakOK ||
				!math.IsNaN(w.excess) && tt.Excess != w.excess {
				t.Errorf("%s, test %d: %+v; want buckets %v, %+v", tc.name, i, *tt, tc.buckets, w)
			}
		}
	}
}

// TestHoldTellsTrendFromBurst: the sustained test sums forecast errors each
// clipped at baseline.clip spreads, so a burst counts a few clipped buckets
// however tall it is, and a change that holds counts every bucket it holds.
func TestHoldTellsTrendFromBurst(t *testing.T) {
	mp := newMentionParams(DefaultConfig())
	r := rand.New(rand.NewPCG(3, 4))
	calm := make([]float64, 120)
	for i := range calm {
		calm[i] = dist.NegBinomial(r, 50, 20)
	}
	hold := func(after []float64) evidence {
		h := append(slices.Clone(calm), after[:len(after)-1]...)
		_, ev := mp.tests(h, after[len(after)-1], math.NaN(), false)
		return ev[testHold]
	}
	// A burst: ten times the level, then its aftermath halving each bucket.
	burst := []float64{500, 250, 125, 90, 70, 60}
	for n := 1; n <= len(burst); n++ {
		if e := hold(burst[:n]); e.raw >= 3 {
			t.Errorf("burst, bucket %d: hold z %.2f, want < 3", n, e.raw)
		}
	}
	// A trend: three times the level, held.
	trend := make([]float64, 15)
	for i := range trend {
		trend[i] = dist.NegBinomial(r, 150, 20)
	}
	if e := hold(trend); e.raw < 5 || e.window != DefaultConfig().Surge.HoldWindow {
		t.Errorf("trend held 15 buckets: hold z %.2f over %d buckets, want ≥ 5 over %d", e.raw, e.window, DefaultConfig().Surge.HoldWindow)
	}
}

func TestHoldSums(t *testing.T) {
	c := DefaultConfig().Baseline
	for _, tc := range []struct {
		name       string
		y, f, disp float64
		z          float64
	}{
		{"on the forecast", 100, 100, 1, 0},
		{"one spread above", 110, 100, 1, 1},
		{"far above: clipped", 1000, 100, 1, c.Clip},
		{"far below: clipped", 0, 100, 1, -c.Clip},
		{"dispersion below 1 is Poisson", 110, 100, 0.5, 1},
		{"forecast under the floor", 3, 0, 1, 2},
	} {
		var h holdSums
		h.add(tc.y, tc.f, tc.disp, &c)
		if math.Abs(h.z-tc.z) > 1e-9 || h.w != 1 {
			t.Errorf("%s: z %v over %d, want %v over 1", tc.name, h.z, h.w, tc.z)
		}
	}
	var h holdSums
	for range 4 {
		h.add(1000, 100, 1, &c)
	}
	if got, want := h.zScore(), 4*c.Clip/2; math.Abs(got-want) > 1e-9 {
		t.Errorf("four clipped buckets: zScore %v, want %v", got, want)
	}
}

// TestTailLearnsAgainstDayAgo: the tests judge a bucket against the larger of
// its forecast and the term's level at that time yesterday, so the tail that
// calibrates them must learn each bucket against its own yesterday too
// (Observation.LearnDayAgo, Set.LearnLag buckets back). On a term whose
// afternoons are four times its nights, learnt without it, each day's rise
// was a run of buckets above a lagging forecast: the windows' tails learnt
// two to ten times the exceedances, and a real shift was discounted as the
// term's habit (AMZN's tweets tripled for 90 minutes one night, unpaged).
// The sustained test, whose sum runs high through all of such a rise, learns
// nothing at all without a yesterday.
func TestTailLearnsAgainstDayAgo(t *testing.T) {
	const perDay = 288 // five-minute buckets, as NAB's tweets
	s, err := NewSet(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for seed := range uint64(5) {
		r := rand.New(rand.NewPCG(seed, 11))
		start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
		var ts []time.Time
		var vals []float64
		for i := range 5 * perDay {
			// 20 a bucket at 04:00, 80 at 16:00, smoothly.
			mu := 50 - 30*math.Cos(2*math.Pi*float64(i%perDay-48)/perDay)
			ts = append(ts, start.Add(time.Duration(i)*5*time.Minute))
			vals = append(vals, dist.NegBinomial(r, mu, 20))
		}
		day := newDayAgo(ts, vals, medianStep(ts))
		learn := func(withDayAgo bool) Tail {
			var tail Tail
			for i, v := range vals {
				o := Observation{Term: "t", Bucket: ts[i], Width: 5 * time.Minute, Mentions: v,
					MentionHistory: vals[max(0, i-DefaultConfig().Surge.History):i],
					DayAgo:         day.at(ts[i], nil), LearnDayAgo: math.NaN(), Tail: tail}
				if j := i - s.LearnLag(); withDayAgo && j >= 0 {
					o.LearnDayAgo = day.at(ts[j], nil)
				}
				tail = s.Learn(&o)
			}
			return tail
		}
		with, without := learn(true), learn(false)
		// The sustained test learns only against a yesterday: without one
		// it learns nothing, with one every bucket whose yesterday is known.
		if h := without.Test(testHold); *h != (TailTest{}) {
			t.Errorf("seed %d: the sustained test learnt %+v with no yesterday", seed, *h)
		}
		if h := with.Test(testHold); h.Buckets < 0.5*float64(3*perDay) {
			t.Errorf("seed %d: the sustained test learnt %.0f buckets (weighted) against yesterday, want most of the last three days'", seed, h.Buckets)
		}
		if h := historyTail(vals[:2*perDay], s.mp.minHistory, &s.mp, 5*time.Minute, false).Hold; h != (TailTest{}) {
			t.Errorf("seed %d: a history alone taught the sustained test %+v", seed, h)
		}
		for _, c := range []struct {
			test int
			max  float64 // exceedances learnt with yesterday over those without, at most
		}{{testWindow, 0.7}, {testShift, 0.5}} {
			w, wo := with.Test(c.test).Over, without.Test(c.test).Over
			if !(w <= c.max*wo) {
				t.Errorf("seed %d, %s test: %.2f exceedances learnt against yesterday's level, %.2f without; want at most %.0f %%",
					seed, testName(c.test), w, wo, 100*c.max)
			}
		}
	}
}

// TestQuietTestsLearnAsTheTests: a bucket quietTests lets learnTail skip the
// smoother for teaches the tail what the tests themselves would: every test at
// or below tailLevel, NaN exactly where a test does not judge; and no test
// there is above 0, so that the strength mentionStrength then does not
// compute is 0 at any bar, growth and support. Series of every
// kind a tracked term has (silent, sparse, steady, a daily rhythm, spiky, a
// surge and after it), every history length, with yesterday's level unknown,
// low, and high.
func TestQuietTestsLearnAsTheTests(t *testing.T) {
	mp := newMentionParams(DefaultConfig())
	r := rand.New(rand.NewPCG(7, 11))
	series := map[string]func(i int) float64{
		"silent":  func(int) float64 { return 0 },
		"sparse":  func(int) float64 { return dist.Poisson(r, 0.3) },
		"steady":  func(int) float64 { return dist.Poisson(r, 20) },
		"daily":   func(i int) float64 { return dist.NegBinomial(r, 40*diurnal(float64(i), 0, 0.5), 10) },
		"spiky":   func(i int) float64 { return dist.Poisson(r, 5) * float64(1+9*(i%37/36)) },
		"surge":   func(i int) float64 { return dist.Poisson(r, 8*float64(1+9*((i/40)%2))) },
		"falling": func(i int) float64 { return dist.Poisson(r, math.Max(1, 60-float64(i)/4)) },
	}
	var quiet, judged int
	for name, gen := range series {
		values := make([]float64, 300)
		for i := range values {
			values[i] = gen(i)
		}
		for _, day := range []float64{math.NaN(), 0, 3, 25, 200} {
			for end := 1; end < len(values); end++ {
				h := tail(values[:end], mp.history)
				x := values[end]
				ok, z := mp.quietTests(h, x, day)
				if !ok {
					continue
				}
				quiet++
				_, ev := mp.tests(h, x, day, true)
				for i, e := range ev {
					want := e.raw
					switch {
					case i == testShift && e.window == 0, i == testHold && math.IsNaN(day):
						want = math.NaN()
					}
					if math.IsNaN(want) != math.IsNaN(z[i]) || want > tailLevel {
						t.Fatalf("%s, day %v, bucket %d (x %v after %d buckets): test %d is %v by the tests, %v by quietTests",
							name, day, end, x, len(h), i, want, z[i])
					}
					if !math.IsNaN(want) {
						judged++
					}
				}
				// Nor can any detector find strength in its mention tests
				// there (mentionStrength): each is at 0 or below, as
				// judged and as calibrated, lone outliers clipped or not.
				o := Observation{Term: "t", Width: time.Minute, Mentions: x, MentionHistory: values[:end], DayAgo: day}
				a := analysis{o: &o, mp: &mp}
				a.mentions()
				for i, e := range [...]evidence{a.one, a.win, a.shift, a.hold, a.trend[0], a.trend[1], a.trend[2], a.trend[3]} {
					if e.z > 0 || e.strength(0.01, 1.0001, x, 0.01) != 0 {
						t.Fatalf("%s, day %v, bucket %d (x %v): mention test %d at %v, want 0 or below", name, day, end, x, i, e.z)
					}
				}
			}
		}
	}
	if quiet < 1000 || judged < 3*quiet {
		t.Fatalf("only %d quiet buckets (%d tests judged): the test no longer exercises quietTests", quiet, judged)
	}
	t.Logf("%d quiet buckets", quiet)
}
