package pipeline

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/ingest"
)

// TestChallengeJoinsItsHashtag: a challenge whose posts are its hashtag's
// (nearly all its posts carry the hashtag, nearly all the hashtag's carry the
// challenge) alerts with same_as naming the hashtag, on every transition of
// each alert, so that incident.OfAlert puts both in one incident; a
// challenge whose posts carry a hashtag many other posts carry too, or no
// hashtag most of the time, stays its own incident.
func TestChallengeJoinsItsHashtag(t *testing.T) {
	cases := []struct {
		name string
		// tags are the hashtags of the challenge's i-th post in minute m; background
		// the extra tag every background post carries ("" for none).
		tags       func(m, i int) []string
		background string
		want       string
	}{
		{"its hashtag", func(_, _ int) []string { return []string{"stairstepdance"} }, "", "hashtag:stairstepdance"},
		{"its hashtag among others", func(_, i int) []string { return []string{fmt.Sprint("steady", i%12), "stairstepdance"} }, "", "hashtag:stairstepdance"},
		// An alert keeps the incident it opened in, which its resolve says
		// too, though the surge's last buckets came without the hashtag.
		{"its hashtag, then none", func(m, _ int) []string {
			if m >= 62 {
				return nil
			}
			return []string{"stairstepdance"}
		}, "", "hashtag:stairstepdance"},
		{"a hashtag on every post", func(_, _ int) []string { return []string{"fyp"} }, "fyp", ""},
		{"tags that take turns", func(_, i int) []string { return []string{fmt.Sprint("turn", i%3)} }, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var recs []ingest.Record
			add := func(ts time.Time, challenge string, tags ...string) {
				id := len(recs)
				recs = append(recs, ingest.Record{
					Source: ingest.Source{Topic: "content-events", Offset: int64(id)}, Kind: ingest.KindContent,
					Content: event.Content{EventID: fmt.Sprint("e", id), TS: ts, ContentID: fmt.Sprint("c", id),
						CreatorID: fmt.Sprint("u", id), Region: "IN", Lang: "hi", Hashtags: tags, ChallengeID: challenge},
				})
			}
			start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
			for m := range 70 {
				base := start.Add(time.Duration(m) * time.Minute)
				for i := range 120 {
					tags := []string{fmt.Sprint("steady", i%12)}
					if c.background != "" {
						tags = append(tags, c.background)
					}
					add(base.Add(time.Duration(i)*500*time.Millisecond), "", tags...)
				}
				n := 2
				if m >= 60 && m < 66 {
					n = 40
				}
				for i := range n {
					add(base.Add(time.Duration(i)*time.Second+300*time.Millisecond), "ch1", c.tags(m, i)...)
				}
			}
			sink := &memSink{}
			run(t, newTestEngine(t, sink), recs, true)
			var transitions int
			for _, ev := range sink.alerts {
				a := ev.Alert
				if a.Term != "challenge:ch1" {
					continue
				}
				transitions++
				got := alert.Fields(a.Explanation)[alert.SameAs]
				if got != c.want {
					t.Errorf("%s %s → %s: same_as %q, want %q (%s)", a.Detector, ev.From, ev.To, got, c.want, a.Explanation)
				}
				if c.want != "" && !strings.Contains(a.Summary, "the posts of #stairstepdance") {
					t.Errorf("%s %s: summary %q does not name the hashtag", a.Detector, ev.To, a.Summary)
				}
			}
			if transitions < 2 {
				t.Fatalf("%d alert transitions on the challenge, want it to alert and resolve", transitions)
			}
		})
	}
}
