package backtest_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/pipeline"
	"github.com/trendwatch/trendwatch/review"
	"github.com/trendwatch/trendwatch/sim/backtest"
	"github.com/trendwatch/trendwatch/sim/gen"
	"github.com/trendwatch/trendwatch/sketches"
)

// TestReviewReadsEveryExplanation: the post-incident review reads every
// number of an alert's explanation in plain words, for readers who are not
// engineers, and flags a key it has no reading for. Every key the engine's
// alerts write on the generator's stream (every detector, early firing,
// watched terms, a term family) has one.
func TestReviewReadsEveryExplanation(t *testing.T) {
	g := shortGenerator(t, 3)
	// Five spellings of a challenge, each under every detector's support,
	// surging together: a family's alert, which names its spellings.
	spellings := []string{"skullbreakerchallenge", "skull_breaker_challenge", "sku11breakerchallenge", "skullbreakerchalenge", "skullbreaker_challenge"}
	type post struct {
		ts   time.Time
		line string
	}
	var split []post
	at := g.Start().Add(90 * time.Minute)
	for m := range 8 {
		for i := range 8 {
			for j, s := range spellings {
				ts := at.Add(time.Duration(m)*time.Minute + time.Duration(i*len(spellings)+j)*time.Second)
				id := "split-" + ts.Format("150405") + "-" + s
				split = append(split, post{ts, `{"event_id":"` + id + `","ts":"` + ts.Format(time.RFC3339Nano) +
					`","content_id":"` + id + `","creator_id":"` + id + `","region":"IN","lang":"hi","hashtags":["` + s + `"]}`})
			}
		}
	}
	var stream bytes.Buffer
	for m, ok := g.Next(); ok; m, ok = g.Next() {
		for len(split) > 0 && !split[0].ts.After(m.TS) {
			stream.WriteString(split[0].line + "\n")
			split = split[1:]
		}
		stream.Write(m.Value)
		stream.WriteByte('\n')
	}
	dcfg := detectors.DefaultConfig()
	dcfg.Watchlist.Terms = gen.DefaultWatchlist()
	limits := event.DefaultLimits()
	limits.MaxAge, limits.MaxFuture = 0, 0
	res, err := backtest.Run(context.Background(), backtest.Config{
		Pipeline: pipeline.DefaultConfig(), Window: sketches.DefaultWindowConfig(), Detectors: dcfg, Limits: limits,
	}, bytes.NewReader(stream.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if res.Invalid > 0 {
		t.Fatalf("%d events refused: %v", res.Invalid, res.Invalids)
	}
	seen := map[string]bool{}
	detectorsSeen := map[string]bool{}
	var early, family bool
	for _, ev := range res.Alerts {
		detectorsSeen[ev.Alert.Detector] = true
		early = early || ev.Alert.Early
		family = family || strings.HasPrefix(ev.Alert.Term, "family:")
		for _, p := range review.Explain(ev.Alert.Explanation) {
			if seen[p.Key] {
				continue
			}
			seen[p.Key] = true
			if strings.Contains(p.Meaning, "no plain-words reading") {
				t.Errorf("no plain-words reading for %q (%s=%s) in %s", p.Key, p.Key, p.Value, ev.Alert.Summary)
			}
		}
	}
	if len(detectorsSeen) < 5 || !early || !family {
		t.Errorf("the stream's alerts came from %v, early %v, family %v: want most detectors, early pages and a family's", detectorsSeen, early, family)
	}
}
