package detectors

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/family"
)

// BenchmarkEvaluate is the per-term cost at every bucket close: one observation
// with 120 buckets of history through every detector, with the term's Tail as
// the pipeline keeps it (Set.Learn), and without one ("no_tail": learnt from
// the history, as for a term just tracked).
func BenchmarkEvaluate(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Watchlist.Terms = []string{"hashtag:blackoutchallenge", "*tidepod*"}
	s := mustSet(b, cfg)
	r := rand.New(rand.NewPCG(1, 1))
	mk := func(term string, mu, x, reports float64, kept bool) *Observation {
		h := counts(r, unitHistory, func(int) float64 { return mu })
		rh := counts(r, unitHistory, func(int) float64 { return mu * 0.002 })
		o := &Observation{Term: term, Mentions: x, Reports: reports, UniqueCreators: uint64(x * 0.9),
			Regions:        []Count{{"IN", uint64(x / 2)}, {"NP", uint64(x / 3)}, {"US", uint64(x / 6)}},
			MentionHistory: h, ReportHistory: rh, DayAgo: math.NaN(),
			Platform: Platform{MentionsPerCreator: 1.1, ReportRate: 0.002}}
		o.Watch = s.Watch(term)
		if kept {
			o.Tail = s.Learn(o)
		}
		return o
	}
	for _, bc := range []struct {
		name string
		o    *Observation
	}{
		{"tail", mk("hashtag:rare", 1, 2, 0, true)},
		{"steady", mk("hashtag:fyp", 300, 310, 1, true)},
		{"steady_no_tail", mk("hashtag:fyp", 300, 310, 1, false)},
		{"surging", mk("hashtag:dance", 30, 300, 2, true)},
		{"surging_no_tail", mk("hashtag:dance", 30, 300, 2, false)},
		{"watched_report_wave", mk("hashtag:blackoutchallenge", 30, 60, 12, true)},
		// A bucket under yesterday's level at this hour (made last, so the
		// cases above draw the histories they always did): no test of the
		// surge can pass, and it fits nothing (mentionStrength).
		{"steady_below_yesterday", func() *Observation { o := mk("hashtag:fyp", 300, 290, 1, true); o.DayAgo = 320; return o }()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.Evaluate(bc.o)
			}
		})
	}
}

// BenchmarkLearn is the other per-term cost at every bucket close: the term's
// Tail for its next bucket, from a kept Tail ("kept") or, for a term just
// tracked, from its history.
func BenchmarkLearn(b *testing.B) {
	s := mustSet(b, DefaultConfig())
	r := rand.New(rand.NewPCG(2, 2))
	o := &Observation{Term: "hashtag:fyp", Mentions: 310, DayAgo: math.NaN(),
		MentionHistory: counts(r, unitHistory, func(int) float64 { return 300 })}
	kept := s.Learn(o)
	for _, bc := range []struct {
		name string
		tail Tail
		day  float64 // the learnt bucket's yesterday (Observation.LearnDayAgo)
	}{
		{"kept", kept, 0},
		{"from_history", Tail{}, 0},
		// The learnt bucket under yesterday's level at its hour, as about
		// half a term's buckets are once it has a yesterday: learnt
		// without the smoother's pass (quietTests).
		{"kept_below_yesterday", kept, 400},
	} {
		b.Run(bc.name, func(b *testing.B) {
			o.Tail = bc.tail
			o.LearnDayAgo = bc.day
			b.ReportAllocs()
			for b.Loop() {
				s.Learn(o)
			}
		})
	}
}

func BenchmarkWatch(b *testing.B) {
	cfg := DefaultConfig()
	for i := range 200 {
		cfg.Watchlist.Terms = append(cfg.Watchlist.Terms, fmt.Sprintf("hashtag:risky%d", i))
	}
	cfg.Watchlist.Terms = append(cfg.Watchlist.Terms, "*challenge*", "*tidepod*", "चुनौती")
	s := mustSet(b, cfg)
	for _, term := range []string{"hashtag:risky150", "hashtag:ordinarytag", "sound:12345678"} {
		b.Run(term, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.Watch(term)
			}
		})
	}
	// As the engine has it: the globs also under the strict fold, and the
	// loose one across scripts (family's), or the strict fold alone.
	for _, loose := range []bool{false, true} {
		f := mustSet(b, cfg)
		if loose {
			f.WatchFolded(family.Fold, family.Loose)
		} else {
			f.WatchFolded(family.Fold, nil)
		}
		for _, term := range []string{"hashtag:ordinarytag", "hashtag:नयाँगीत"} {
			b.Run(fmt.Sprintf("%s/folded/loose=%v", term, loose), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					f.Watch(term)
				}
			})
		}
	}
}

// BenchmarkLifecycle: a finding on an open alert, then the end of the bucket,
// with 1000 alerts open.
func BenchmarkLifecycle(b *testing.B) {
	l := NewLifecycle(DefaultConfig().Lifecycle)
	fs := []Finding{finding(NameSurge, alert.SeverityLow)}
	for i := range 1000 {
		l.Observe(obsAt(fmt.Sprintf("hashtag:t%d", i), 0), fs)
	}
	o := obsAt("hashtag:t1", 0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		o.Bucket = at(i / 1000)
		l.Observe(o, fs)
		if i%1000 == 999 {
			l.EndBucket(o.Bucket)
		}
		i++
	}
}
