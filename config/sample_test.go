package config

import (
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/sim/gen"
)

// TestSampleConfig loads the repository's trendwatch.yaml, the one the
// README's recipe runs with, through the real loader, and checks that its
// watchlist catches every term the generator labels as watchlisted — and
// not the organic challenges, which must surge on their own merit.
func TestSampleConfig(t *testing.T) {
	cfg, err := NewLoader().Load("../trendwatch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	set, err := detectors.NewSet(cfg.Detectors)
	if err != nil {
		t.Fatalf("watchlist of trendwatch.yaml: %v", err)
	}

	gc := gen.DefaultConfig()
	gc.Duration, gc.Rate = time.Hour, 5
	g, err := gen.New(gc)
	if err != nil {
		t.Fatal(err)
	}
	watched, unwatched := gen.DefaultWatchlist(), []string{}
	for _, l := range g.Labels() {
		if l.Watchlist {
			watched = append(watched, l.Term)
		} else {
			unwatched = append(unwatched, l.Term)
		}
	}
	if len(watched) <= len(gen.DefaultWatchlist()) || len(unwatched) == 0 {
		t.Fatalf("generator labels: %d watched, %d not; want both", len(watched), len(unwatched))
	}
	for _, term := range append(watched, "challenge:blackoutchallenge") {
		m := set.Watch(term)
		switch {
		case m == nil:
			t.Errorf("%s: not on the watchlist", term)
		case m.Risk < alert.SeverityHigh:
			t.Errorf("%s: risk %s, want at least high", term, m.Risk)
		case m.Category != "dangerous_challenge":
			t.Errorf("%s: category %q, want dangerous_challenge", term, m.Category)
		}
	}
	for _, term := range unwatched {
		if m := set.Watch(term); m != nil {
			t.Errorf("%s: matched watchlist entry %q; only dangerous terms belong there", term, m.Pattern)
		}
	}
}
