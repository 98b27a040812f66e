package detectors

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/event"
)

// step is one thing that happens to a Lifecycle: an early judgement of bucket
// b, a final one, or the end of bucket b (after its final judgement).
type step struct {
	op  byte // 'e' early, 'l' early on a lone outlier (Finding.Lone), 'f' final, 'x' end of bucket
	b   int
	sev alert.Severity // 0: no finding
}

func playSteps(l *Lifecycle, steps []step) []alert.Event {
	var evs []alert.Event
	for _, s := range steps {
		var fs []Finding
		if s.sev > 0 {
			fs = []Finding{finding(NameSurge, s.sev)}
		}
		switch s.op {
		case 'e', 'l':
			for i := range fs {
				fs[i].Lone = s.op == 'l'
			}
			evs = append(evs, l.ObserveEarly(obsAt("hashtag:x", s.b), fs)...)
		case 'f':
			evs = append(evs, l.Observe(obsAt("hashtag:x", s.b), fs)...)
		case 'x':
			evs = append(evs, l.EndBucket(at(s.b))...)
		}
	}
	return evs
}

type earlyTransition struct {
	bucket int
	to     alert.Status
	sev    alert.Severity
	early  bool
	reason string
}

func earlyTransitions(evs []alert.Event) []earlyTransition {
	var out []earlyTransition
	for _, e := range evs {
		out = append(out, earlyTransition{int(e.At.Sub(simStart) / time.Minute), e.To, e.Alert.Severity, e.Alert.Early, e.Reason})
	}
	return out
}

// TestLifecycleEarly: an early alert is confirmed by a final finding (no
// second page), escalated by a more severe one, and retracted when the final
// judgement of every bucket it rested on found nothing; a retraction leaves
// the key as the final judgements alone would have.
func TestLifecycleEarly(t *testing.T) {
	const low, med, high, crit = alert.SeverityLow, alert.SeverityMedium, alert.SeverityHigh, alert.SeverityCritical
	cfg := LifecycleConfig{QuietBuckets: 3, CooldownBuckets: 10, EscalateSteps: 1, EscalateMinSeverity: "medium", MaxSamples: 5, MaxRegions: 3}
	cases := []struct {
		name  string
		steps []step
		want  []earlyTransition
	}{{
		name:  "confirmed",
		steps: []step{{'e', 0, med}, {'e', 0, med}, {'f', 0, med}, {'x', 0, 0}, {'x', 1, 0}, {'x', 2, 0}, {'x', 3, 0}},
		want:  []earlyTransition{{0, alert.StatusOpen, med, true, ""}, {3, alert.StatusResolved, med, false, ""}},
	}, {
		name:  "retracted, then paged by a final finding as if never early",
		steps: []step{{'e', 0, med}, {'f', 0, 0}, {'x', 0, 0}, {'f', 1, med}, {'x', 1, 0}},
		want:  []earlyTransition{{0, alert.StatusOpen, med, true, ""}, {0, alert.StatusResolved, med, true, alert.ReasonRetracted}, {1, alert.StatusOpen, med, false, ""}},
	}, {
		name: "early again in the next bucket: retraction waits for that bucket",
		steps: []step{{'e', 0, med}, {'e', 1, med}, {'f', 0, 0}, {'x', 0, 0}, {'f', 1, med}, {'x', 1, 0},
			{'x', 2, 0}, {'x', 3, 0}, {'x', 4, 0}},
		want: []earlyTransition{{0, alert.StatusOpen, med, true, ""}, {4, alert.StatusResolved, med, false, ""}},
	}, {
		name:  "confirmed by the bucket before",
		steps: []step{{'e', 1, med}, {'f', 0, med}, {'x', 0, 0}, {'f', 1, 0}, {'x', 1, 0}},
		want:  []earlyTransition{{1, alert.StatusOpen, med, true, ""}},
	}, {
		// A lone first bucket judged whole: its own final judgement
		// counts it at the clip limit and cannot bear it out; the next
		// bucket's can (a second outlier), and only that bucket's end
		// retracts it.
		name: "lone: confirmed by the next bucket",
		steps: []step{{'l', 0, med}, {'f', 0, 0}, {'x', 0, 0}, {'f', 1, med}, {'x', 1, 0},
			{'x', 2, 0}, {'x', 3, 0}, {'x', 4, 0}},
		want: []earlyTransition{{0, alert.StatusOpen, med, true, ""}, {4, alert.StatusResolved, med, false, ""}},
	}, {
		name:  "lone: retracted at the end of the next bucket",
		steps: []step{{'l', 0, med}, {'f', 0, 0}, {'x', 0, 0}, {'f', 1, 0}, {'x', 1, 0}},
		want:  []earlyTransition{{0, alert.StatusOpen, med, true, ""}, {1, alert.StatusResolved, med, true, alert.ReasonRetracted}},
	}, {
		name:  "escalated by the final judgement",
		steps: []step{{'e', 0, low}, {'f', 0, high}, {'x', 0, 0}},
		want:  []earlyTransition{{0, alert.StatusOpen, low, true, ""}, {0, alert.StatusEscalated, high, false, ""}},
	}, {
		name:  "escalated by the bucket before",
		steps: []step{{'e', 1, low}, {'f', 0, high}, {'x', 0, 0}, {'f', 1, low}, {'x', 1, 0}},
		want:  []earlyTransition{{1, alert.StatusOpen, low, true, ""}, {0, alert.StatusEscalated, high, false, ""}},
	}, {
		name:  "early findings do not escalate",
		steps: []step{{'f', 0, low}, {'x', 0, 0}, {'e', 1, crit}, {'f', 1, low}, {'x', 1, 0}},
		want:  []earlyTransition{{0, alert.StatusOpen, low, false, ""}},
	}, {
		// The alert resolved at bucket 3 cools until 13 at high; an early
		// critical finding pages through the cooldown and is retracted; a
		// final high finding is then held back as it would have been.
		name: "retraction puts the cooldown back",
		steps: []step{{'f', 0, high}, {'x', 0, 0}, {'x', 1, 0}, {'x', 2, 0}, {'x', 3, 0},
			{'e', 5, crit}, {'f', 5, 0}, {'x', 5, 0}, {'f', 6, high}, {'x', 6, 0}},
		want: []earlyTransition{{0, alert.StatusOpen, high, false, ""}, {3, alert.StatusResolved, high, false, ""},
			{5, alert.StatusOpen, crit, true, ""}, {5, alert.StatusResolved, crit, true, alert.ReasonRetracted}},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			evs := playSteps(NewLifecycle(cfg), tc.steps)
			if got := earlyTransitions(evs); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("transitions\n got %+v\nwant %+v", got, tc.want)
			}
			for i := 1; i < len(evs); i++ {
				if evs[i].Seq <= evs[i-1].Seq {
					t.Errorf("Seq %d after %d", evs[i].Seq, evs[i-1].Seq)
				}
			}
		})
	}
}

// TestLifecycleEarlyCheckpoint: an early alert survives a checkpoint as
// early, with the cooldown its retraction puts back, so a restarted engine
// neither pages it again nor forgets to confirm or retract it.
func TestLifecycleEarlyCheckpoint(t *testing.T) {
	cfg := LifecycleConfig{QuietBuckets: 3, CooldownBuckets: 10, EscalateSteps: 1, EscalateMinSeverity: "medium", MaxSamples: 5, MaxRegions: 3}
	before := []step{{'f', 0, alert.SeverityHigh}, {'x', 0, 0}, {'x', 1, 0}, {'x', 2, 0}, {'x', 3, 0}, {'e', 5, alert.SeverityCritical}}
	after := []step{{'e', 5, alert.SeverityCritical}, {'f', 5, 0}, {'x', 5, 0}, {'f', 6, alert.SeverityHigh}, {'x', 6, 0}}
	a := NewLifecycle(cfg)
	playSteps(a, before)
	cp, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if cp[len(envelope.Magic)] != envelope.Version {
		t.Fatalf("version %d, want %d", cp[len(envelope.Magic)], envelope.Version)
	}
	b := NewLifecycle(cfg)
	if err := b.UnmarshalBinary(cp); err != nil {
		t.Fatal(err)
	}
	if open := b.Open(); len(open) != 1 || !open[0].Early {
		t.Fatalf("restored alerts %+v, want one early", open)
	}
	ea, eb := playSteps(a, after), playSteps(b, after)
	if !reflect.DeepEqual(ea, eb) {
		t.Fatalf("restored Lifecycle emits\n%+v\noriginal\n%+v", eb, ea)
	}
	if len(eb) != 1 || eb[0].Reason != alert.ReasonRetracted {
		t.Errorf("after restore: %+v, want only the retraction", earlyTransitions(eb))
	}
}

// steadyHistory is n buckets of a Poisson count of mean mu.
func steadyHistory(mu float64, n int, seed uint64) []float64 {
	return counts(rand.New(rand.NewPCG(seed, 1)), n, func(int) float64 { return mu })
}

// TestEvaluateEarly checks the early bar against the count model on a term at
// 30 a minute: the partial count must stand out from its share of the
// expectation at the stricter early bar, and the final bucket must pass with
// the least the rest of it plausibly brings. A surge's first bucket is a lone
// outlier the final surge judgement clips (see holt.step), so the surge fires
// early from its second bucket (second: the bucket before held 300), unless
// early.first_bucket lets the first page when, judged whole, it passes the
// early bar; the watchlist judges a lone bucket whole.
func TestEvaluateEarly(t *testing.T) {
	hist := steadyHistory(30, 120, 3)
	surged := append(slices.Clone(hist[1:]), 300)
	watched := &WatchMatch{Pattern: "x", Risk: alert.SeverityHigh, Category: "c"}
	cases := []struct {
		name     string
		mentions float64
		elapsed  float64
		watch    *WatchMatch
		trusted  bool
		disabled bool
		first    bool   // detectors.early.first_bucket
		second   bool   // the surge's second bucket
		want     string // detector of the finding, "" for none
	}{
		{"steady so far", 16, 0.5, nil, false, false, false, false, ""},
		{"ten times so far, the surge's first bucket", 150, 0.5, nil, false, false, false, false, ""},
		{"first_bucket: ten times so far, the surge's first bucket", 150, 0.5, nil, false, false, true, false, NameSurge},
		{"first_bucket: three times so far, the surge's first bucket", 45, 0.5, nil, false, false, true, false, ""},
		{"first_bucket: complete first bucket, three times", 90, 1, nil, false, false, true, false, NameSurge},
		{"first_bucket: complete first bucket, twice", 60, 1, nil, false, false, true, false, ""},
		{"ten times so far, its second bucket", 150, 0.5, nil, false, false, false, true, NameSurge},
		{"disabled", 150, 0.5, nil, false, true, false, true, ""},
		// 40 in the first fifth (8 times the rate): significant, but the
		// final bucket would pass only if the rest came in at twice the
		// term's level.
		{"strong start, final not sure", 40, 0.2, nil, false, false, false, true, ""},
		{"complete bucket, three times", 90, 1, nil, false, false, false, true, NameSurge},
		{"3.5 times so far", 52, 0.5, nil, false, false, false, true, ""},
		{"4 times so far, watched, the surge's first bucket", 62, 0.5, watched, false, false, false, false, NameWatchlist},
		{"high-trust report", 2, 0.1, nil, true, false, false, false, NameTrustedReport},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Early.Enabled = !tc.disabled
			cfg.Early.FirstBucket = tc.first
			if tc.watch != nil {
				cfg.Watchlist.Entries = []WatchEntry{{Term: "hashtag:x", Category: "c"}}
			}
			s, err := NewSet(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if tc.watch != nil {
				tc.watch = s.Watch("hashtag:x")
			}
			h := hist
			if tc.second {
				h = surged
			}
			o := &Observation{Term: "hashtag:x", Bucket: simStart, Width: time.Minute, Mentions: tc.mentions,
				UniqueCreators: uint64(tc.mentions), MentionHistory: h, ReportHistory: make([]float64, len(hist)),
				DayAgo: math.NaN(), Watch: tc.watch}
			if tc.trusted {
				o.Reports = 1
				o.ReportsByChannel[event.ChannelRegulator] = 1
			}
			fs := s.EvaluateEarly(o, tc.elapsed)
			var got string
			for _, f := range fs {
				if got == "" || f.Detector == tc.want {
					got = f.Detector
				}
				if !strings.HasPrefix(f.Summary, "[early] ") || !strings.Contains(f.Explanation, "early=1") {
					t.Errorf("%s finding not marked early: %q / %q", f.Detector, f.Summary, f.Explanation)
				}
				// A surge's count is counted so far plus the least the rest
				// brings: the summary says what was counted, in how long.
				if f.Detector == NameSurge && tc.elapsed < 1 {
					counted := fmt.Sprintf(" %s in the bucket's first %s", fmtCount(tc.mentions), time.Duration(tc.elapsed*float64(time.Minute)))
					if !strings.Contains(f.Summary, counted) || f.Observed != tc.mentions {
						t.Errorf("early summary %q (observed %v), want it to say %q", f.Summary, f.Observed, counted)
					}
					// Its growth is of the count, and the explanation says it
					// beside the projection (2.61× stood beside 150 counted
					// against 62.6 until 7 December).
					if f.Growth != f.Observed/f.Expected || alert.Fields(f.Explanation)["counted"] != fmtCount(tc.mentions) {
						t.Errorf("early growth %v, observed %v over expected %v; explanation %q", f.Growth, f.Observed, f.Expected, f.Explanation)
					}
				}
				// An open bucket has no platform norm of posts per account
				// (its creators are partial): none is stated.
				if strings.Contains(f.Explanation, "platform_mentions_per_creator") {
					t.Errorf("%s early finding states a platform norm it does not have: %q", f.Detector, f.Explanation)
				}
			}
			if got != tc.want {
				t.Errorf("findings %v, want %q", fs, tc.want)
			}
		})
	}
}

// TestEarlyWindowSoFar: in the second bucket of a threefold surge on a term
// at 20 a minute, the bucket's count so far never stands out at the early
// bar alone (4.3 two thirds in, the bar 6.2), but the short window's sum so
// far, the closed first bucket in it, does: the surge pages two thirds into
// its second bucket rather than at its end. The same count after an ordinary
// bucket is a first outlier, which waits for a second.
func TestEarlyWindowSoFar(t *testing.T) {
	const base = 20
	hist := steadyHistory(base, 120, 3)
	surged := append(slices.Clone(hist[1:]), 3*base)
	s, err := NewSet(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		history  []float64
		elapsed  float64
		mentions float64
		want     bool
	}{
		{"second bucket, half in", surged, 0.5, 30, false},
		{"second bucket, two thirds in", surged, 2.0 / 3, 40, true},
		{"second bucket, five sixths in", surged, 5.0 / 6, 50, true},
		{"first bucket, two thirds in", hist, 2.0 / 3, 40, false},
	} {
		o := &Observation{Term: "hashtag:x", Bucket: simStart, Width: time.Minute, Mentions: tc.mentions,
			UniqueCreators: uint64(tc.mentions), MentionHistory: tc.history, ReportHistory: make([]float64, len(tc.history)), DayAgo: math.NaN()}
		mp := s.mentionParams(o)
		b, ev := mp.tests(tail(o.MentionHistory, mp.history), o.Mentions, o.DayAgo, true)
		if z := partialZ(o.Mentions, tc.elapsed, ev[testBucket].expected, b.disp); z >= s.EarlyZ(time.Minute, false) {
			t.Fatalf("%s: the count so far alone is %.2f, at the early bar %.2f: the case does not test the window", tc.name, z, s.EarlyZ(time.Minute, false))
		}
		fs := s.EvaluateEarly(o, tc.elapsed)
		if got := slices.ContainsFunc(fs, func(f Finding) bool { return f.Detector == NameSurge }); got != tc.want {
			t.Errorf("%s: surge early %v, want %v (%v)", tc.name, got, tc.want, fs)
		}
	}
}

// TestEarlyZStricter: the early bar is above the final one, and the
// watchlist's below the early bar of other terms.
func TestEarlyZStricter(t *testing.T) {
	s, err := NewSet(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	final := PageZ(DefaultConfig().FalsePages, time.Minute)
	early, watch := s.EarlyZ(time.Minute, false), s.EarlyZ(time.Minute, true)
	if !(early > final) || !(watch < early) {
		t.Errorf("early bar %.2f, watched %.2f, final %.2f: want early > final and watched < early", early, watch, final)
	}
	t.Logf("bars at 1-minute buckets: final %.2f, early %.2f, watched early %.2f", final, early, watch)
}

func TestEarlyConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		mod  func(c *EarlyConfig)
		bad  string
	}{
		{"defaults", func(*EarlyConfig) {}, ""},
		{"interval", func(c *EarlyConfig) { c.Interval = 0 }, "early.interval"},
		{"watch interval", func(c *EarlyConfig) { c.WatchInterval = 500 * time.Millisecond }, "early.watch_interval"},
		{"watch interval longer than interval", func(c *EarlyConfig) { c.WatchInterval = time.Minute }, ""},
		{"bar looser than final", func(c *EarlyConfig) { c.FalsePages = 5 }, "early.false_pages"},
		{"retract", func(c *EarlyConfig) { c.Retract = 1 }, "early.retract"},
		{"watch", func(c *EarlyConfig) { c.WatchFalsePages = 0 }, "early.watch_false_pages"},
		{"disabled ignores the rest", func(c *EarlyConfig) { *c = EarlyConfig{} }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(&c.Early)
			err := c.Validate()
			switch {
			case tc.bad == "" && err != nil:
				t.Errorf("Validate = %v", err)
			case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), "detectors."+tc.bad)):
				t.Errorf("Validate = %v, want an error on %s", err, tc.bad)
			}
		})
	}
}

// TestLifecycleReadsVersion2: a checkpoint written before early firing
// (version 2: no early flag on open alerts) is read, its alerts not early.
func TestLifecycleReadsVersion2(t *testing.T) {
	cfg := LifecycleConfig{QuietBuckets: 3, CooldownBuckets: 10, EscalateSteps: 1, EscalateMinSeverity: "medium", MaxSamples: 5, MaxRegions: 3}
	a := NewLifecycle(cfg)
	a.Observe(obsAt("hashtag:x", 0), []Finding{finding(NameSurge, alert.SeverityMedium)})
	v4, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// One open alert, no cooled keys: version 4 ends the alert with its
	// early, prior-cooldown and of-reports flags (three zero bytes), then a
	// zero count.
	body := v4[:len(v4)-4]
	if !bytes.HasSuffix(body, []byte{0, 0, 0, 0}) {
		t.Fatalf("unexpected encoding ending %v", body[len(body)-4:])
	}
	v2 := append(bytes.Clone(body[:len(body)-4]), 0)
	v2[len(envelope.Magic)] = 2
	v2 = envelope.Seal(v2, 0)
	b := NewLifecycle(cfg)
	if err := b.UnmarshalBinary(v2); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Open(), b.Open()) {
		t.Fatalf("version 2 read as %+v, want %+v", b.Open(), a.Open())
	}
}

// TestSpikedBefore: a history holds a lone spike when a bucket stood out by
// the bar and the term came straight back; a surge of several buckets, a
// weaker outlier, or a spike too recent to know are not.
func TestSpikedBefore(t *testing.T) {
	c := DefaultConfig().Baseline
	with := func(at []int, v float64) []float64 {
		h := steadyHistory(30, 120, 5)
		for _, i := range at {
			h[i] = v
		}
		return h
	}
	cases := []struct {
		name string
		h    []float64
		want bool
	}{
		{"steady", with(nil, 0), false},
		{"a tenfold spike an hour ago", with([]int{60}, 300), true},
		{"a tenfold surge of three buckets", with([]int{60, 61, 62}, 300), false},
		{"two spikes two buckets apart: a surge's start", with([]int{60, 62}, 300), false},
		{"a spike under the bar", with([]int{60}, 60), false},
		{"a spike two buckets ago: not yet known to be lone", with([]int{118}, 300), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := spikedBefore(tc.h, 6.2, &c); got != tc.want {
				t.Errorf("spikedBefore = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestFirstBucketWaits: with early.first_bucket, a term's first outlying
// bucket pages early unless the term has spiked as hard before and come
// straight back (spikedBefore), or is forecast at the floor
// (baseline.min_expected), with no rate for its first bucket to be a
// multiple of (replayed live, NAB's series that came back from zeros paged on
// their first bucket and were retracted when the next came in at their
// level); then it waits for the second bucket.
func TestFirstBucketWaits(t *testing.T) {
	s, _ := firstBucketSet(t)
	spiky := steadyHistory(30, 120, 3)
	spiky[60] = 300
	quiet := make([]float64, 120)
	for i := range quiet {
		if i%40 == 0 {
			quiet[i] = 1
		}
	}
	for _, tc := range []struct {
		name string
		h    []float64
		want bool
	}{
		{"steady history", steadyHistory(30, 120, 3), true},
		{"a lone spike an hour ago", spiky, false},
		{"at the floor", quiet, false},
	} {
		o := &Observation{Term: "hashtag:x", Bucket: simStart, Width: time.Minute, Mentions: 150, UniqueCreators: 150,
			MentionHistory: tc.h, ReportHistory: make([]float64, len(tc.h)), DayAgo: math.NaN()}
		if got := surgePagedEarly(s, o); got != tc.want {
			t.Errorf("%s: surge paged early %v, want %v", tc.name, got, tc.want)
		}
	}
}

// firstBucketSet is the default detectors with early.first_bucket.
func firstBucketSet(t *testing.T) (*Set, Config) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Early.FirstBucket = true
	s, err := NewSet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, cfg
}

// surgePagedEarly reports whether the surge pages o early, half its bucket
// counted.
func surgePagedEarly(s *Set, o *Observation) bool {
	for _, f := range s.EvaluateEarly(o, 0.5) {
		if f.Detector == NameSurge {
			return true
		}
	}
	return false
}

// TestFirstBucketAfterADaysSpike: a lone spike beyond the early bar older than
// the history the observation holds is remembered in the term's Tail
// (Tail.Lone) for two of its memories (baseline.tail_memory buckets each), so
// a term that spikes daily still waits for its second bucket; one forgotten
// that long does not hold it back.
func TestFirstBucketAfterADaysSpike(t *testing.T) {
	s, cfg := firstBucketSet(t)
	memory := cfg.Baseline.TailMemory
	for _, tc := range []struct {
		name  string
		spike int // buckets before the judged one; 0 for none
		want  bool
	}{
		{"steady for two days", 0, true},
		{"a lone spike a day ago", memory, false},
		{"a lone spike nearly two memories ago", 2*memory - 200, false},
		{"a lone spike three memories ago", 3 * memory, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 3*memory + 200
			h := steadyHistory(30, n, 3)
			if tc.spike > 0 {
				h[n-tc.spike] = 300
			}
			var tl Tail
			for i := range h {
				o := Observation{Term: "hashtag:x", Bucket: simStart.Add(time.Duration(i) * time.Minute), Width: time.Minute,
					Mentions: h[i], MentionHistory: h[max(0, i-cfg.Surge.History):i], DayAgo: math.NaN(), Tail: tl}
				tl = s.Learn(&o)
			}
			o := &Observation{Term: "hashtag:x", Bucket: simStart.Add(time.Duration(n) * time.Minute), Width: time.Minute,
				Mentions: 150, UniqueCreators: 150, MentionHistory: h[n-cfg.Surge.History:], DayAgo: math.NaN(), Tail: tl}
			if got := surgePagedEarly(s, o); got != tc.want {
				t.Errorf("surge paged early %v, want %v (Tail.Lone %.3f)", got, tc.want, tl.Lone)
			}
		})
	}
}

// TestEarlyConfirmedTakesFinalEvidence: early looks at buckets 5, 6 and 7
// open an alert and rest it on 7; the final judgements of 5 and 6 find the
// surge, 7's finds nothing. The alert then carries 6's final evidence, not
// early, and resolves QuietBuckets after 6, not after 7.
func TestEarlyConfirmedTakesFinalEvidence(t *testing.T) {
	cfg := LifecycleConfig{QuietBuckets: 3, CooldownBuckets: 10, EscalateSteps: 1, EscalateMinSeverity: "critical", MaxSamples: 5, MaxRegions: 3}
	l := NewLifecycle(cfg)
	early := func(b int, observed float64) {
		f := finding(NameSurge, alert.SeverityHigh)
		f.Observed, f.Explanation = observed, "early=1"
		l.ObserveEarly(obsAt("hashtag:x", b), []Finding{f})
	}
	final := func(b int, observed float64) []alert.Event {
		var fs []Finding
		if observed > 0 {
			f := finding(NameSurge, alert.SeverityHigh)
			f.Observed = observed
			fs = []Finding{f}
		}
		evs := l.Observe(obsAt("hashtag:x", b), fs)
		return append(evs, l.EndBucket(at(b))...)
	}
	early(5, 40)
	early(6, 45)
	early(7, 12)
	var evs []alert.Event
	evs = append(evs, final(5, 100)...)
	// The confirmation is no transition, but whoever keeps the early
	// alert's copy learns of it, once.
	if c := l.TakeConfirmed(); len(c) != 1 || c[0].Early || c[0].Observed != 100 || !c[0].Bucket.Equal(at(5)) {
		t.Errorf("confirmed after bucket 5's final judgement: %+v, want the alert with its final evidence (100), not early", c)
	}
	if c := l.TakeConfirmed(); len(c) != 0 {
		t.Errorf("confirmed again: %+v", c)
	}
	evs = append(evs, final(6, 110)...)
	if c := l.TakeConfirmed(); len(c) != 0 {
		t.Errorf("an alert confirmed already confirmed again: %+v", c)
	}
	for b := 7; b <= 12; b++ {
		evs = append(evs, final(b, 0)...)
	}
	var resolved *alert.Event
	for i := range evs {
		if evs[i].To == alert.StatusResolved {
			resolved = &evs[i]
		}
	}
	if resolved == nil {
		t.Fatalf("never resolved: %+v", earlyTransitions(evs))
	}
	a := resolved.Alert
	if a.Early || a.Observed != 110 || !a.Bucket.Equal(at(6)) || a.Explanation == "early=1" {
		t.Errorf("resolved with early %v, observed %v in bucket %v (%q), want bucket 6's final evidence (110)", a.Early, a.Observed, a.Bucket, a.Explanation)
	}
	if got, want := resolved.At, at(6+cfg.QuietBuckets); !got.Equal(want) {
		t.Errorf("resolved at %v, want %v: %d quiet buckets after the last final finding", got, want, cfg.QuietBuckets)
	}
}

// TestEarlyConfirmedAtFinalSeverity: the final judgement's severity is the
// alert's. An early alert opened at low (the early look's part of the
// bucket) and confirmed at medium stayed low, held to escalation's steps and
// bar (escalate_min_severity high): below incident.min_severity it never
// paged, and a surge that came back went unheard. A final judgement no
// more severe confirms without a transition, as before.
func TestEarlyConfirmedAtFinalSeverity(t *testing.T) {
	for _, tt := range []struct {
		name         string
		early, final alert.Severity
		want         []alert.Status // transitions of the final judgement
		sev          alert.Severity
	}{
		{"low, confirmed medium", alert.SeverityLow, alert.SeverityMedium, []alert.Status{alert.StatusEscalated}, alert.SeverityMedium},
		{"medium, confirmed medium", alert.SeverityMedium, alert.SeverityMedium, nil, alert.SeverityMedium},
		{"high, confirmed medium", alert.SeverityHigh, alert.SeverityMedium, nil, alert.SeverityHigh},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLifecycle(DefaultConfig().Lifecycle)
			o := obsAt("hashtag:x", 0)
			if evs := l.ObserveEarly(o, []Finding{finding(NameSurge, tt.early)}); len(evs) != 1 {
				t.Fatalf("early look: %d transitions, want the open", len(evs))
			}
			var got []alert.Status
			for _, ev := range l.Observe(o, []Finding{finding(NameSurge, tt.final)}) {
				got = append(got, ev.To)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("final judgement: transitions %v, want %v", got, tt.want)
			}
			if a := l.Open()[0]; a.Severity != tt.sev || a.Early {
				t.Errorf("alert stands at %v (early %v), want %v, confirmed", a.Severity, a.Early, tt.sev)
			}
		})
	}
}

// TestSeqGrowsAfterEarlyConfirmedBack: an early alert opened on a later
// bucket takes that bucket's time as its Seq; confirmed by an earlier
// bucket, resolved at once (quiet_buckets 1, no cooldown) and opened again
// on that later bucket, it took the first open's Seq again, and its row
// lost to the older one's (found by a review on 7 December).
func TestSeqGrowsAfterEarlyConfirmedBack(t *testing.T) {
	l := NewLifecycle(LifecycleConfig{QuietBuckets: 1, CooldownBuckets: 0, EscalateSteps: 1, EscalateMinSeverity: "high", MaxSamples: 5, MaxRegions: 3})
	fs := []Finding{finding(NameSurge, alert.SeverityMedium)}
	var evs []alert.Event
	evs = append(evs, l.ObserveEarly(obsAt("hashtag:x", 2), fs)...)
	evs = append(evs, l.Observe(obsAt("hashtag:x", 0), fs)...)
	evs = append(evs, l.EndBucket(at(0))...)
	evs = append(evs, l.EndBucket(at(1))...)
	evs = append(evs, l.ObserveEarly(obsAt("hashtag:x", 2), fs)...)
	if len(evs) < 3 {
		t.Fatalf("%d transitions, want an open, a resolve and an open again", len(evs))
	}
	var last uint64
	for _, ev := range evs {
		if ev.Seq <= last {
			t.Errorf("%s: seq %d after %d", ev.To, ev.Seq, last)
		}
		last = ev.Seq
	}
}
