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
		// Another spelling of a watched hashtag, in the stand-in's family.
		{"hashtag:blackout_challenge", true},
		{"hashtag:skull_breaker", true},
		{"hashtag:other", false},
		{"challenge:12_3", false},
	}
	for _, tt := range tests {
		if got := s.Watch(tt.term) != nil; got != tt.watch {
			t.Errorf("Watch(%q) = %v, want %v", tt.term, got, tt.watch)
		}
	}
	for _, tc := range []struct {
		term     string
		spelling bool
	}{{"family:blackoutchallenge~", false}, {"hashtag:blackout_challenge", true}, {"hashtag:blackoutchallenge", false}} {
		if m := s.Watch(tc.term); m == nil || m.Risk != alert.SeverityHigh || m.Pattern != "hashtag:BlackoutChallenge" || m.Spelling != tc.spelling {
			t.Errorf("%s: match %+v, want the entry's, of high risk, spelling %v", tc.term, m, tc.spelling)
		}
	}
	terms := strings.Join(s.WatchTerms(), " ")
	if !strings.Contains(terms, "family:blackoutchallenge~") {
		t.Errorf("WatchTerms %q lacks the family", terms)
	}
}

// TestWatchFolded: a glob of hashtags meets a hashtag whose fold fits it,
// once the fold is set; IDs are opaque and never folded.
func TestWatchFolded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Watchlist.Enabled = true
	cfg.Watchlist.Entries = []WatchEntry{{Term: "*blackout*", Risk: "high"}, {Term: "sound:*skull*"}}
	s, err := NewSet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A stand-in for family.Fold: digits read as letters.
	fold := strings.NewReplacer("4", "a", "0", "o", "1", "l").Replace
	if s.Watch("hashtag:bl4ckoutchallenge") != nil {
		t.Fatal("folded spelling watched before WatchFolded")
	}
	s.WatchFolded(fold, nil)
	for _, tt := range []struct {
		term  string
		watch bool
	}{
		{"hashtag:blackoutchallenge", true},
		{"hashtag:bl4ckoutchallenge", true},
		{"hashtag:challengebl4ck0ut", true},
		{"hashtag:whiteoutchallenge", false},
		// Sound IDs are opaque: not folded, whatever the glob.
		{"sound:sku11", false},
		{"sound:myskullsound", true},
	} {
		m := s.Watch(tt.term)
		if (m != nil) != tt.watch {
			t.Errorf("Watch(%q) = %v, want watched %v", tt.term, m, tt.watch)
			continue
		}
		if m != nil && !m.Glob {
			t.Errorf("Watch(%q): %+v, want a glob's match", tt.term, m)
		}
	}
	if m := s.Watch("hashtag:bl4ckoutchallenge"); m == nil || m.Risk != alert.SeverityHigh {
		t.Errorf("folded match %+v, want the entry's risk high", m)
	}
}
