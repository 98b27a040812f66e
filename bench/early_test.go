package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline"
	"github.com/trendwatch/trendwatch/sketches"
)

// firstPage notes the event time the engine had reached when term first paged.
type firstPage struct {
	e    *pipeline.Engine
	term string
	at   time.Time
}

func (f *firstPage) Bucket(*pipeline.BucketReport) {}
func (f *firstPage) Alert(ev alert.Event) {
	if f.at.IsZero() && ev.To == alert.StatusOpen && ev.Alert.Term == f.term {
		f.at = f.e.Watermark()
	}
}

// surgeRecords is a term at base mentions a minute from start amid a post a
// second of background, then factor times base for six minutes from onset
// (long enough for the final judgement of its first full bucket), every post
// by a new creator, its times a Poisson process.
func surgeRecords(rng *rand.Rand, start, onset time.Time, base, factor float64) []ingest.Record {
	end := onset.Add(6 * time.Minute)
	type post struct {
		ts  time.Time
		tag string
	}
	var posts []post
	for ts := start; ts.Before(end); ts = ts.Add(time.Second) {
		posts = append(posts, post{ts, fmt.Sprintf("bg%d", rng.IntN(20))})
	}
	for ts := start; ; {
		rate := base
		if !ts.Before(onset) {
			rate *= factor
		}
		next := ts.Add(time.Duration(rng.ExpFloat64() / rate * float64(time.Minute)))
		if ts.Before(onset) && !next.Before(onset) {
			ts = onset
			continue
		}
		if !next.Before(end) {
			break
		}
		ts = next
		posts = append(posts, post{ts, "surging"})
	}
	slices.SortStableFunc(posts, func(a, b post) int { return a.ts.Compare(b.ts) })
	recs := make([]ingest.Record, len(posts))
	for i, p := range posts {
		id := fmt.Sprint(i)
		recs[i] = ingest.Record{Source: ingest.Source{Topic: "content", Offset: int64(i)}, Kind: ingest.KindContent,
			Content: event.Content{EventID: id, TS: p.ts, ContentID: id, CreatorID: fmt.Sprint("u", i), Hashtags: []string{p.tag}}}
	}
	return recs
}

// BenchmarkEarlyPageLatency measures how long after a surge's onset it pages,
// at the default configuration (1-minute buckets, 2 minutes of allowed
// lateness, early firing every 10 s): 30 surges of each size on terms at 20 to
// 60 mentions a minute with 40 minutes of history, onsets anywhere in a
// bucket.
// The latency is event time, from the first surging post to the event time
// the engine had reached when it paged: what a live pipeline adds to it is its
// consumer lag and the page's delivery (under a second in
// cmd/trendwatch.TestEarlyPageLive). Reported as p50 and p99 seconds per
// surge size, with early firing and without, and with early firing on a
// watched term (the watchlist judges a surge's first bucket whole, where the
// surge detector waits for a second to confirm it), with early firing and
// detectors.early.first_bucket (the surge judges its first bucket whole
// against the early bar), and the latest page
// measured from the end of the surge's first complete bucket; one op is all
// 240 runs.
func BenchmarkEarlyPageLatency(b *testing.B) {
	const runs = 30
	ctx := context.Background()
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	modes := []struct {
		name                  string
		early, watched, first bool
	}{{"early", true, false, false}, {"final", false, false, false}, {"early_watched", true, true, false}, {"early_first_bucket", true, false, true}}
	for range b.N {
		for _, m := range modes {
			early := m.early
			for _, factor := range []float64{10, 3} {
				rng := rand.New(rand.NewPCG(uint64(factor), 1))
				var lat []float64
				// How long after the end of the surge's first complete
				// bucket it paged, at worst.
				worst := math.Inf(-1)
				for range runs {
					dcfg := detectors.DefaultConfig()
					dcfg.Early.Enabled = early
					dcfg.Early.FirstBucket = m.first
					if m.watched {
						dcfg.Watchlist.Terms = []string{"hashtag:surging"}
					}
					e, err := pipeline.New(pipeline.DefaultConfig(), sketches.DefaultWindowConfig(), dcfg, nil, nil, nil)
					if err != nil {
						b.Fatal(err)
					}
					onset := start.Add(40*time.Minute + time.Duration(rng.Float64()*float64(time.Minute)))
					page := &firstPage{e: e, term: "hashtag:surging"}
					e.AddObserver(page)
					for _, r := range surgeRecords(rng, start, onset, 20+40*rng.Float64(), factor) {
						if err := e.Process(ctx, r); err != nil {
							b.Fatal(err)
						}
					}
					if err := e.Drain(ctx); err != nil {
						b.Fatal(err)
					}
					if page.at.IsZero() {
						b.Fatalf("%gx surge at %s never paged", factor, onset)
					}
					lat = append(lat, page.at.Sub(onset).Seconds())
					full := onset.Truncate(time.Minute)
					if !full.Equal(onset) {
						full = full.Add(time.Minute)
					}
					worst = max(worst, page.at.Sub(full.Add(time.Minute)).Seconds())
				}
				slices.Sort(lat)
				mode := m.name
				b.ReportMetric(lat[len(lat)/2], fmt.Sprintf("p50_%gx_%s_s", factor, mode))
				b.ReportMetric(lat[min(len(lat)-1, len(lat)*99/100)], fmt.Sprintf("p99_%gx_%s_s", factor, mode))
				b.ReportMetric(worst, fmt.Sprintf("max_after_bucket_%gx_%s_s", factor, mode))
			}
		}
	}
}
