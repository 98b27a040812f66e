package detectors

import (
	"strings"
	"testing"

	"github.com/trendwatch/trendwatch/alert"
)

func TestWatchFamilies(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Watchlist.Enabled = true
	cfg.Watchlist.Entries = []WatchEntry{
		{Term: "hashtag:BlackoutChallenge", Risk: "high"},
		{Term: "skullbreaker"},
		{Term: "challenge:123"},
	}
	s, err := NewSet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A stand-in for family.Key: the hook is all the detectors know of it.
	key := func(v string) string { return strings.ReplaceAll(v, "_", "") + "~" }
	if s.Watch("family:blackoutchallenge~") != nil {
		t.Fatal("family watched before WatchFamilies")
	}
	s.WatchFamilies("family:", key)
	tests := []struct {
		term  string
		watch bool
	}{
		{"family:blackoutchallenge~", true},
		{"family:skullbreaker~", true},
		{"family:123~", false},
		{"family:other~", false},
		{"hashtag:blackoutchallenge", true},
	}
	for _, tt := range tests {
		if got := s.Watch(tt.term) != nil; got != tt.watch {
			t.Errorf("Watch(%q) = %v, want %v", tt.term, got, tt.watch)
		}
	}
	if m := s.Watch("family:blackoutchallenge~"); m == nil || m.Risk != alert.SeverityHigh {
		t.Errorf("family match %+v, want the entry's high risk", m)
	}
	terms := strings.Join(s.WatchTerms(), " ")
	if !strings.Contains(terms, "family:blackoutchallenge~") {
		t.Errorf("WatchTerms %q lacks the family", terms)
	}
}
