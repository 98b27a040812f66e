package detect

import (
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/pipeline/tracked"
	"github.com/trendwatch/trendwatch/sketches"
)

var t0 = time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)

// memberBucket is an open bucket of mentions posts, with the spellings (or
// a challenge's hashtags) members on that many of them.
func memberBucket(kind event.Kind, mentions uint64, members map[string]int) (*tracked.Term, *tracked.Bucket) {
	var pool tracked.Pool
	st := tracked.NewTerm(kind.String()+":x", kind, 1, 10)
	tb := st.Bucket(t0, &pool)
	tb.Mentions = mentions
	for m, n := range members {
		for range n {
			tb.Members.Add(m)
		}
	}
	return st, tb
}

// TestSpread: a family is judged when its bucket came by several spellings,
// none of them on 90 % of its posts or more.
func TestSpread(t *testing.T) {
	for _, tt := range []struct {
		name     string
		mentions uint64
		members  map[string]int
		want     bool
	}{
		{"no spellings", 10, nil, false},
		{"one spelling", 10, map[string]int{"a": 10}, false},
		{"two, evenly", 10, map[string]int{"a": 5, "b": 5}, true},
		{"one on nine in ten", 10, map[string]int{"a": 9, "b": 1}, false},
		{"one on eight in ten", 10, map[string]int{"a": 8, "b": 2}, true},
		{"tagged together on every post", 10, map[string]int{"a": 10, "b": 10}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, tb := memberBucket(event.KindFamily, tt.mentions, tt.members)
			if got := spread(tb); got != tt.want {
				t.Errorf("spread = %v, want %v", got, tt.want)
			}
		})
	}
	if spread(nil) {
		t.Error("spread(nil) = true")
	}
}

// TestSameAs: a challenge is the hashtag on nine in ten of its posts or
// more, unless that hashtag is as common elsewhere (#fyp on everything).
func TestSameAs(t *testing.T) {
	for _, tt := range []struct {
		name      string
		kind      event.Kind
		members   map[string]int // hashtags on the challenge's 20 posts
		elsewhere int            // posts with the top hashtag beside them
		want      string
	}{
		{"its hashtag", event.KindChallenge, map[string]int{"blackoutchallenge": 20, "fyp": 5}, 0, "hashtag:blackoutchallenge"},
		{"on nine in ten", event.KindChallenge, map[string]int{"blackoutchallenge": 18}, 1, "hashtag:blackoutchallenge"},
		{"on under nine in ten", event.KindChallenge, map[string]int{"blackoutchallenge": 17}, 0, ""},
		{"a hashtag common elsewhere", event.KindChallenge, map[string]int{"fyp": 20}, 200, ""},
		{"not a challenge", event.KindHashtag, map[string]int{"blackoutchallenge": 20}, 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, tb := memberBucket(tt.kind, 20, tt.members)
			w, err := sketches.NewWindow(sketches.DefaultWindowConfig())
			if err != nil {
				t.Fatal(err)
			}
			top := tb.Members.Top(1)[0]
			key := "hashtag:" + top.Label
			if err := w.Mention(t0, key, sketches.Hash(key), uint32(int(top.N)+tt.elsewhere)); err != nil {
				t.Fatal(err)
			}
			if got := sameAs(st, tb, w.Open(t0)); got != tt.want {
				t.Errorf("sameAs = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestWithMembers: a family's alert names its spellings and the share of
// its posts each came on, the most first.
func TestWithMembers(t *testing.T) {
	_, tb := memberBucket(event.KindFamily, 10, map[string]int{"blackoutchallenge": 6, "bl4ckoutchallenge": 3, "ब्लैकआउटचैलेंज": 2, "blackout_challenge": 1})
	evs := []alert.Event{{Alert: alert.Alert{Summary: "surge", Explanation: "z=9"}}}
	withMembers(evs, tb, 3)
	a := evs[0].Alert
	if want := "surge; spellings: #blackoutchallenge 60%, #bl4ckoutchallenge 30%, #ब्लैकआउटचैलेंज 20% and 1 more"; a.Summary != want {
		t.Errorf("summary %q, want %q", a.Summary, want)
	}
	if want := " members=blackoutchallenge:60%,bl4ckoutchallenge:30%,ब्लैकआउटचैलेंज:20%"; !strings.HasSuffix(a.Explanation, want) {
		t.Errorf("explanation %q, want it to end %q", a.Explanation, want)
	}
}
