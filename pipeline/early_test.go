package pipeline

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/sketches"
)

// surgeFeed is one term posted as a Poisson process at base mentions a minute,
// factor times that from onset until stop (zero: to the end), and 0 after
// stop, amid a steady background of twenty other hashtags at 2 posts a second.
type surgeFeed struct {
	start       time.Time
	minutes     int
	base        float64
	factor      float64
	onset, stop time.Time
	seed        uint64
}

const surgeTerm = "risingtag"

func (f surgeFeed) records() []ingest.Record {
	rng := rand.New(rand.NewPCG(f.seed, 7))
	end := f.start.Add(time.Duration(f.minutes) * time.Minute)
	type post struct {
		ts  time.Time
		tag string
	}
	var posts []post
	for ts := f.start; ts.Before(end); ts = ts.Add(500 * time.Millisecond) {
		posts = append(posts, post{ts, fmt.Sprintf("bg%d", rng.IntN(20))})
	}
	for ts := f.start; ; {
		rate := f.base
		if !ts.Before(f.onset) {
			rate *= f.factor
			if !f.stop.IsZero() && !ts.Before(f.stop) {
				break
			}
		}
		next := ts.Add(time.Duration(rng.ExpFloat64() / rate * float64(time.Minute)))
		if ts.Before(f.onset) && !next.Before(f.onset) {
			// The rate changes at onset: the process restarts there.
			ts = f.onset
			continue
		}
		if !next.Before(end) {
			break
		}
		ts = next
		posts = append(posts, post{ts, surgeTerm})
	}
	slices.SortStableFunc(posts, func(a, b post) int { return a.ts.Compare(b.ts) })
	recs := make([]ingest.Record, len(posts))
	for i, p := range posts {
		id := fmt.Sprint("e", i)
		recs[i] = ingest.Record{
			Source: ingest.Source{Topic: "content-events", Offset: int64(i)},
			Kind:   ingest.KindContent,
			Content: event.Content{EventID: id, TS: p.ts, ContentID: id, CreatorID: fmt.Sprint("u", rng.IntN(1_000_000)),
				Region: "NP", Lang: "ne", Hashtags: []string{p.tag}},
		}
	}
	return recs
}

// pageLog records each alert transition with the engine's event time then.
type pageLog struct {
	e   *Engine
	evs []alert.Event
	at  []time.Time
}

func (p *pageLog) Bucket(*BucketReport) {}
func (p *pageLog) Alert(ev alert.Event) {
	p.evs = append(p.evs, ev)
	p.at = append(p.at, p.e.Watermark())
}

// of returns the transitions of term's alerts.
func (p *pageLog) of(term string) (evs []alert.Event, at []time.Time) {
	for i, ev := range p.evs {
		if ev.Alert.Term == term {
			evs, at = append(evs, ev), append(at, p.at[i])
		}
	}
	return evs, at
}

func newEarlyEngine(t testing.TB, dcfg detectors.Config, reg prometheus.Registerer) (*Engine, *pageLog) {
	t.Helper()
	e, err := New(DefaultConfig(), sketches.DefaultWindowConfig(), dcfg, nil, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	log := &pageLog{e: e}
	e.AddObserver(log)
	return e, log
}

// TestEarlyFiring drives the engine in event time over a term with an hour of
// history that then surges, and checks when it pages, measured in the event
// time the slowest partition has reached (what a live pipeline's clock shows,
// less its processing delay), marked early and confirmed by the final
// judgement without a second page; a term that does not surge never pages.
// The surge's first bucket is a lone outlier to the surge detector until the
// second confirms it (see detectors' holt.step), so a known term's surge
// pages early in its second bucket: a 10x surge within 30 s of the end of the
// bucket it began in, a 3x surge within a bucket and 15 s of the end of the
// first bucket it fills. A watched term's watchlist detector judges the first
// bucket whole: a 10x surge on it pages within 30 s of its onset, and so
// does one on any term with early.first_bucket.
func TestEarlyFiring(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	hour := start.Add(time.Hour)
	cases := []struct {
		name    string
		base    float64
		factor  float64
		onset   time.Time
		watched bool
		first   bool      // detectors.early.first_bucket
		by      time.Time // the page's deadline; zero: must not page
	}{
		{"10x mid-bucket", 30, 10, hour.Add(37 * time.Second), false, false, hour.Add(90 * time.Second)},
		{"10x at bucket start", 30, 10, hour, false, false, hour.Add(90 * time.Second)},
		{"10x mid-bucket, watched", 30, 10, hour.Add(37 * time.Second), true, false, hour.Add(67 * time.Second)},
		{"10x mid-bucket, first_bucket", 30, 10, hour.Add(17 * time.Second), false, true, hour.Add(47 * time.Second)},
		{"3x at bucket start, first_bucket", 60, 3, hour, false, true, hour.Add(75 * time.Second)},
		// The live measurement: 5.7 a minute, then 40% of 10 posts a
		// second.
		{"40x on a small term", 5.7, 236 / 5.7, hour.Add(12 * time.Second), false, false, hour.Add(90 * time.Second)},
		{"3x at bucket start", 60, 3, hour, false, false, hour.Add(135 * time.Second)},
		{"3x late in the bucket", 60, 3, hour.Add(45 * time.Second), false, false, hour.Add(195 * time.Second)},
		{"steady", 30, 1, hour, false, false, time.Time{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dcfg := detectors.DefaultConfig()
			dcfg.Early.FirstBucket = tc.first
			if tc.watched {
				dcfg.Watchlist.Entries = []detectors.WatchEntry{{Term: "hashtag:" + surgeTerm, Category: "dangerous_challenge"}}
			}
			for seed := range uint64(3) {
				e, log := newEarlyEngine(t, dcfg, nil)
				box := &confirmBox{}
				e.SetNotifier(box)
				f := surgeFeed{start: start, minutes: 68, base: tc.base, factor: tc.factor, onset: tc.onset, seed: seed}
				run(t, e, f.records(), true)
				evs, at := log.of("hashtag:" + surgeTerm)
				if tc.by.IsZero() {
					if len(evs) > 0 {
						t.Errorf("seed %d: steady term paged: %s", seed, evs[0].Alert.Summary)
					}
					continue
				}
				if len(evs) == 0 {
					t.Fatalf("seed %d: no page", seed)
				}
				first := evs[0]
				lat := at[0].Sub(tc.onset)
				t.Logf("seed %d: %s paged %s after onset, early=%v: %s", seed, first.Alert.Detector, lat, first.Alert.Early, first.Alert.Summary)
				if at[0].After(tc.by) {
					t.Errorf("seed %d: paged %s after onset, at %s, want by %s", seed, lat, at[0].Format("15:04:05"), tc.by.Format("15:04:05"))
				}
				if !first.Alert.Early || first.To != alert.StatusOpen {
					t.Errorf("seed %d: first page %s early=%v, want an early open", seed, first.To, first.Alert.Early)
				}
				// Its final judgement bore it out: the notifier, which
				// re-sends it, learns so once, with the alert no longer
				// early, by an escalation or, without one, a confirmation.
				var told []alert.Alert
				for _, a := range box.confirmed {
					if a.Key == first.Alert.Key {
						told = append(told, a)
					}
				}
				for _, ev := range evs[1:] {
					if ev.Alert.Key == first.Alert.Key && ev.To == alert.StatusEscalated && len(told) == 0 {
						told = append(told, ev.Alert)
					}
				}
				if len(told) != 1 || told[0].Early {
					t.Errorf("seed %d: %s confirmed to the notifier as %+v, want once, not early", seed, first.Alert.Key, told)
				}
				for _, ev := range evs {
					if ev.Reason == alert.ReasonRetracted {
						t.Errorf("seed %d: %s retracted at %s", seed, ev.Alert.Key, ev.At)
					}
				}
				opened := map[string]int{}
				for _, ev := range evs {
					if ev.To == alert.StatusOpen {
						opened[ev.Alert.Key]++
					}
				}
				for k, n := range opened {
					if n > 1 {
						t.Errorf("seed %d: %s opened %d times", seed, k, n)
					}
				}
			}
		})
	}
}

// TestUrgentLooks: watched terms, terms a high-trust channel reports, and a
// term's bucket after one that jumped are looked at every
// early.watch_interval (2 s by default) rather than every early.interval
// (10 s): a regulator's report pages within that of its event time, a
// watched term's tenfold surge within 12 s of its onset (the bar's evidence
// takes some seconds of posts to gather), and an unwatched one, whose first
// bucket jumped, as soon as its second bucket's counts confirm it (within
// 36 s of an onset 37 s into a bucket). With watch_interval at the
// interval, the report waits for the next ten-second look, the watched
// surge too (13 s), and the unwatched one up to 43 s.
func TestUrgentLooks(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	hour := start.Add(time.Hour)
	report := ingest.Record{Kind: ingest.KindReport, Report: event.Report{EventID: "reg1", TS: hour.Add(31 * time.Second), ContentID: "c-none",
		ReporterID: "regulator-1", Reason: "dangerous_act", Hashtags: []string{"quietterm"}, Channel: "regulator"}}
	for _, tc := range []struct {
		name             string
		watch            time.Duration // 0: the default
		reportAfter      time.Duration // the report pages this long after it, at most
		reportAtLeast    time.Duration // and at least
		surgeWithin      time.Duration // a watched term's 10x surge pages within this of onset
		unwatchedAtLeast time.Duration // an unwatched one not before this
		unwatchedWithin  time.Duration // and within this
	}{
		{"default", 0, 2 * time.Second, 0, 12 * time.Second, 20 * time.Second, 36 * time.Second},
		{"watch_interval at the interval", 10 * time.Second, 10 * time.Second, 5 * time.Second, 30 * time.Second, 20 * time.Second, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for seed := range uint64(3) {
				onset := hour.Add(37 * time.Second)
				f := surgeFeed{start: start, minutes: 63, base: 30, factor: 10, onset: onset, seed: seed}
				recs := f.records()
				i := slices.IndexFunc(recs, func(r ingest.Record) bool { return r.Content.TS.After(report.Report.TS) })
				recs = slices.Insert(recs, i, report)
				for _, watched := range []bool{true, false} {
					dcfg := detectors.DefaultConfig()
					if tc.watch > 0 {
						dcfg.Early.WatchInterval = tc.watch
					}
					if watched {
						dcfg.Watchlist.Entries = []detectors.WatchEntry{{Term: "hashtag:" + surgeTerm, Category: "dangerous_challenge"}}
					}
					e, log := newEarlyEngine(t, dcfg, nil)
					run(t, e, recs, true)
					evs, at := log.of("hashtag:" + surgeTerm)
					if len(evs) == 0 {
						t.Fatalf("seed %d, watched %v: the surge never paged", seed, watched)
					}
					lat := at[0].Sub(onset)
					switch {
					case watched && lat > tc.surgeWithin:
						t.Errorf("seed %d: watched surge paged %s after onset, want within %s", seed, lat, tc.surgeWithin)
					case !watched && lat < tc.unwatchedAtLeast:
						t.Errorf("seed %d: unwatched surge paged %s after onset, want its second bucket's look, %s at least", seed, lat, tc.unwatchedAtLeast)
					case !watched && lat > tc.unwatchedWithin:
						t.Errorf("seed %d: unwatched surge paged %s after onset, want within %s", seed, lat, tc.unwatchedWithin)
					}
					t.Logf("seed %d, watched %v: %s paged %s after onset", seed, watched, evs[0].Alert.Detector, lat)
					if watched {
						continue
					}
					evs, at = log.of("hashtag:quietterm")
					if len(evs) == 0 || evs[0].Alert.Detector != detectors.NameTrustedReport {
						t.Fatalf("seed %d: the regulator's report did not page: %v", seed, evs)
					}
					d := at[0].Sub(report.Report.TS)
					t.Logf("seed %d: the report paged %s after it", seed, d)
					if d > tc.reportAfter || d < tc.reportAtLeast {
						t.Errorf("seed %d: the report paged %s after it, want %s to %s", seed, d, tc.reportAtLeast, tc.reportAfter)
					}
				}
			}
		})
	}
}

// TestEarlyRetracted makes an early page the final judgement does not bear
// out: a burst of a few seconds, then silence, judged with early.retract so
// loose that the rest of the bucket is taken to bring its expectation. The
// alert resolves with reason retracted, counted in the metric, and the key is
// left as if it had never paged: the final judgement pages it again later only
// as it would have without early firing.
func TestEarlyRetracted(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	// A bucket at ten times the level, a lone outlier until the next one
	// confirms it; the next starts the same for ten seconds and then falls
	// silent: at its first early look the surge seems confirmed, at its
	// close it is not.
	onset := start.Add(time.Hour)
	dcfg := detectors.DefaultConfig()
	dcfg.Early.Retract = 0.5 // the rest of the bucket is taken to bring its expectation
	dcfg.Early.FalsePages = dcfg.FalsePages
	reg := prometheus.NewPedanticRegistry()
	e, log := newEarlyEngine(t, dcfg, reg)
	f := surgeFeed{start: start, minutes: 66, base: 30, factor: 10, onset: onset, stop: onset.Add(70 * time.Second)}
	run(t, e, f.records(), true)
	evs, _ := log.of("hashtag:" + surgeTerm)
	if len(evs) != 2 {
		t.Fatalf("%d transitions, want an early open and its retraction: %v", len(evs), evs)
	}
	op, re := evs[0], evs[1]
	if op.To != alert.StatusOpen || !op.Alert.Early {
		t.Errorf("first transition %s early=%v, want an early open", op.To, op.Alert.Early)
	}
	if re.To != alert.StatusResolved || re.Reason != alert.ReasonRetracted || re.Seq <= op.Seq || re.Alert.Key != op.Alert.Key {
		t.Errorf("second transition %s reason %q seq %d (open %d), want the same key resolved, retracted", re.To, re.Reason, re.Seq, op.Seq)
	}
	if got := testutil.ToFloat64(e.m.retracted.WithLabelValues(op.Alert.Detector)); got != 1 {
		t.Errorf("trendwatch_alerts_retracted_total = %v, want 1", got)
	}
	if got := testutil.ToFloat64(e.m.early.WithLabelValues(op.Alert.Detector)); got != 1 {
		t.Errorf("trendwatch_early_alerts_total = %v, want 1", got)
	}
	if len(e.OpenAlerts()) != 0 {
		t.Errorf("alerts still open: %v", e.OpenAlerts())
	}
}

// TestEarlyFirstBucketSpike is what early.first_bucket costs: a term spikes
// tenfold for 25 s within one bucket and falls silent. Its first bucket,
// judged whole, pages early; the final judgement counts a lone outlier at the
// clip limit and retracts it. Without first_bucket nothing pages.
func TestEarlyFirstBucketSpike(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	onset := start.Add(time.Hour + 15*time.Second)
	for _, first := range []bool{false, true} {
		dcfg := detectors.DefaultConfig()
		dcfg.Early.FirstBucket = first
		e, log := newEarlyEngine(t, dcfg, nil)
		f := surgeFeed{start: start, minutes: 66, base: 30, factor: 10, onset: onset, stop: onset.Add(25 * time.Second)}
		run(t, e, f.records(), true)
		evs, _ := log.of("hashtag:" + surgeTerm)
		if !first {
			if len(evs) != 0 {
				t.Errorf("first_bucket off: %d transitions, want none: %v", len(evs), evs)
			}
			continue
		}
		if len(evs) != 2 || !evs[0].Alert.Early || evs[0].To != alert.StatusOpen || evs[1].Reason != alert.ReasonRetracted {
			t.Fatalf("first_bucket on: %v, want an early open and its retraction", evs)
		}
	}
}

// TestEarlyRestart checks that an early page is not sent again when the
// engine restarts from a checkpoint taken after it, with the records after
// the checkpoint delivered again: the lifecycle in the checkpoint holds the
// early alert, and the final judgement confirms it as in an unbroken run.
func TestEarlyRestart(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	onset := start.Add(time.Hour + 5*time.Second)
	f := surgeFeed{start: start, minutes: 66, base: 30, factor: 10, onset: onset}
	recs := f.records()
	ctx := context.Background()

	whole, wlog := newEarlyEngine(t, detectors.DefaultConfig(), nil)
	run(t, whole, recs, true)
	want, _ := wlog.of("hashtag:" + surgeTerm)
	if len(want) == 0 || !want[0].Alert.Early {
		t.Fatalf("unbroken run: %v, want an early page", want)
	}

	// Told the one partition to expect, as the consumer tells it: without
	// it the start-up hold kept every record for pipeline.partition_idle of
	// wall-clock time, no page came before the cut, and the snapshot was of
	// an engine that had applied nothing (found by a review on 7 December).
	part := []ingest.Partition{{Topic: "content-events", Partition: 0}}
	a, alog := newEarlyEngine(t, detectors.DefaultConfig(), nil)
	a.Expect(part)
	// Stop right after the early page, while its bucket is still open.
	cut := len(recs)
	for i, r := range recs {
		if err := a.Process(ctx, r); err != nil {
			t.Fatal(err)
		}
		if evs, _ := alog.of("hashtag:" + surgeTerm); len(evs) > 0 {
			cut = i + 1
			break
		}
	}
	if cut == len(recs) {
		t.Fatal("no page before the cut: the restart tests nothing")
	}
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b, blog := newEarlyEngine(t, detectors.DefaultConfig(), nil)
	b.Expect(part)
	if err := b.Restore(snap); err != nil {
		t.Fatal(err)
	}
	run(t, b, recs[max(0, cut-500):], true)
	before, _ := alog.of("hashtag:" + surgeTerm)
	after, _ := blog.of("hashtag:" + surgeTerm)
	got := append(before, after...)
	key := func(evs []alert.Event) []string {
		var out []string
		for _, ev := range evs {
			out = append(out, fmt.Sprintf("%s %s %d %s", ev.Alert.Key, ev.To, ev.Seq, ev.Reason))
		}
		return out
	}
	if !slices.Equal(key(got), key(want)) {
		t.Errorf("transitions across the restart:\n%v\nunbroken:\n%v", key(got), key(want))
	}
}

// TestEarlyFollowsSlowestPartition delivers a surge over two partitions, one
// of them 30 s of event time behind the other: the records of the faster one
// wait for the slower (order.go), so the share of the bucket the early
// judgement assumes counted is the slower partition's, and a steady term read
// this way does not look like a surge. The surge still pages early, and no
// early page is retracted.
func TestEarlyFollowsSlowestPartition(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	onset := start.Add(time.Hour + 20*time.Second)
	for _, factor := range []float64{1, 10} {
		recs := surgeFeed{start: start, minutes: 66, base: 30, factor: factor, onset: onset, seed: 4}.records()
		var fast, slow []ingest.Record
		for i, r := range recs {
			r.Source = ingest.Source{Topic: "content-events", Partition: i % 2, Offset: int64(i / 2)}
			if i%2 == 0 {
				fast = append(fast, r)
			} else {
				slow = append(slow, r)
			}
		}
		skewed := behind(fast, slow, 30*time.Second)
		e, log := newEarlyEngine(t, detectors.DefaultConfig(), nil)
		run(t, e, skewed, true)
		evs, at := log.of("hashtag:" + surgeTerm)
		if factor == 1 {
			if len(evs) > 0 {
				t.Errorf("steady term paged: %s", evs[0].Alert.Summary)
			}
			continue
		}
		if len(evs) == 0 || !evs[0].Alert.Early {
			t.Fatalf("%gx surge: %v, want an early page", factor, evs)
		}
		// The surge's second bucket confirms it (see TestEarlyFiring).
		end := onset.Truncate(time.Minute).Add(time.Minute)
		t.Logf("%gx surge paged %s after onset (event time of the slower partition)", factor, at[0].Sub(onset))
		if lat := at[0].Sub(end); lat > 30*time.Second {
			t.Errorf("paged %s after the end of the onset's bucket, want within 30 s", lat)
		}
		for _, ev := range evs {
			if ev.Reason == alert.ReasonRetracted {
				t.Errorf("retracted: %s", ev.Alert.Explanation)
			}
		}
	}
}

// TestEarlyLookAfterForce: a steady watched term at 30 a minute, all its
// posts on a partition 90 s ahead of the other, with room for 5 records
// held: the full holding area applies the ahead partition's posts past the
// watermark (force). The early looks judged those counts as the
// watermark's share of the bucket, twice the term's rate: it paged early
// and was retracted at the close. They are judged at the latest applied.
func TestEarlyLookAfterForce(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	recs := surgeFeed{start: start, minutes: 66, base: 30, factor: 1, onset: start.Add(time.Hour), seed: 2}.records()
	var fast, slow []ingest.Record // the term's posts on partition 0; partition 1 lags 90 s
	for i, r := range recs {
		if r.Content.Hashtags[0] == surgeTerm || i%2 == 0 {
			r.Source = ingest.Source{Topic: "content-events", Partition: 0, Offset: int64(len(fast))}
			fast = append(fast, r)
		} else {
			r.Source = ingest.Source{Topic: "content-events", Partition: 1, Offset: int64(len(slow))}
			slow = append(slow, r)
		}
	}
	skewed := behind(fast, slow, 90*time.Second)
	cfg := DefaultConfig()
	cfg.MaxParked = 5
	dcfg := detectors.DefaultConfig()
	dcfg.Watchlist.Entries = []detectors.WatchEntry{{Term: "hashtag:" + surgeTerm, Category: "dangerous_challenge"}}
	e, err := New(cfg, sketches.DefaultWindowConfig(), dcfg, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	log := &pageLog{e: e}
	e.AddObserver(log)
	run(t, e, skewed, true)
	for i, ev := range log.evs {
		t.Logf("%s %s %s wm=%s %s", ev.Alert.Key, ev.To, ev.Reason, log.at[i].Format("15:04:05"), ev.Alert.Summary)
		if ev.Reason == alert.ReasonRetracted {
			t.Errorf("steady term paged early and retracted")
		}
	}
}

// behind interleaves two partitions' records as a consumer reads them when
// slow's partition runs lag behind fast's in event time.
func behind(fast, slow []ingest.Record, lag time.Duration) []ingest.Record {
	var out []ingest.Record
	j := 0
	for _, r := range fast {
		out = append(out, r)
		for j < len(slow) && !slow[j].Content.TS.After(r.Content.TS.Add(-lag)) {
			out = append(out, slow[j])
			j++
		}
	}
	return append(out, slow[j:]...)
}
