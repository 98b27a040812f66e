package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline"
	"github.com/trendwatch/trendwatch/sketches"
)

// bucketWatch keeps the report of every closed bucket.
type bucketWatch struct{ reports []pipeline.BucketReport }

func (w *bucketWatch) Bucket(r *pipeline.BucketReport) { w.reports = append(w.reports, *r) }
func (w *bucketWatch) Alert(alert.Event)               {}

// TestHashtagFlood puts a million random hashtags into one minute of event
// time, as a spam run or a client bug would: 100,000 posts of ten tags, most
// seen once, a fifth drawn from 30,000 tags that each cross the tracking
// threshold. The sketch window must stay within window.memory_budget, tracked
// terms within pipeline.max_tracked, and the heap bounded.
func TestHashtagFlood(t *testing.T) {
	const (
		posts   = 100_000
		perPost = 10
		popular = 30_000
	)
	pcfg := pipeline.DefaultConfig()
	wcfg := sketches.DefaultWindowConfig()
	// The bound: the window's worst case and as much again for tracked terms,
	// the report join cache and the Go runtime.
	heapBound := uint64(2 * wcfg.MemoryBudget)
	watch := &bucketWatch{}
	reg := prometheus.NewRegistry()
	e, err := pipeline.New(pcfg, wcfg, detectors.DefaultConfig(), nil, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	e.AddObserver(watch)

	rng := rand.New(rand.NewPCG(11, 12))
	word := func() string { return fmt.Sprintf("#spam%016x", rng.Uint64()) }
	pool := make([]string, popular)
	for i := range pool {
		pool[i] = word()
	}
	minute := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	ctx := context.Background()
	var peak uint64
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	began := time.Now()
	for i := 0; i < posts; i++ {
		tags := make([]string, perPost)
		for k := range tags {
			if k < perPost/5 {
				tags[k] = pool[rng.IntN(popular)]
			} else {
				tags[k] = word()
			}
		}
		c := event.Content{EventID: fmt.Sprint("e", i), ContentID: fmt.Sprint("c", i), CreatorID: fmt.Sprint("u", rng.IntN(50_000)),
			TS: minute.Add(time.Duration(i) * time.Minute / posts), Region: "NP", Lang: "ne", Hashtags: tags}
		// Normalised as the decoder would: the engine counts what it is given.
		for k, h := range c.Hashtags {
			if c.Hashtags[k], err = event.NormaliseHashtag(h, 100); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Process(ctx, ingest.Record{Kind: ingest.KindContent, Content: c, Lag: -1}); err != nil {
			t.Fatal(err)
		}
		if i%10_000 == 0 {
			sample()
		}
	}
	// A quiet minute after, so the flooded one closes.
	if err := e.Process(ctx, ingest.Record{Kind: ingest.KindContent, Lag: -1, Content: event.Content{
		EventID: "after", ContentID: "after", CreatorID: "u", TS: minute.Add(5 * time.Minute), Hashtags: []string{"quiet"}}}); err != nil {
		t.Fatal(err)
	}
	sample()
	took := time.Since(began)
	runtime.GC()
	var live runtime.MemStats
	runtime.ReadMemStats(&live)
	runtime.KeepAlive(e)

	var flooded *pipeline.BucketReport
	for i := range watch.reports {
		if watch.reports[i].Start.Equal(minute) {
			flooded = &watch.reports[i]
		}
	}
	if flooded == nil {
		t.Fatal("the flooded minute never closed")
	}
	windowBytes := uint64(flooded.WindowMiB * (1 << 20))
	t.Logf("%d hashtags in one minute (%d posts) in %v: %d mentions counted, %d terms tracked (max %d), window %.1f MiB (budget %d MiB), heap in use %d MiB at peak (bound %d MiB), %d MiB live after",
		posts*perPost, posts, took.Round(time.Millisecond), flooded.Mentions, flooded.Tracked, pcfg.MaxTracked,
		flooded.WindowMiB, wcfg.MemoryBudget>>20, peak>>20, heapBound>>20, live.HeapAlloc>>20)
	if flooded.Mentions != posts*perPost {
		t.Errorf("the flooded minute counted %d mentions, want %d", flooded.Mentions, posts*perPost)
	}
	if windowBytes > uint64(wcfg.MemoryBudget) {
		t.Errorf("sketch window %d bytes, above window.memory_budget %d", windowBytes, wcfg.MemoryBudget)
	}
	if flooded.Tracked > pcfg.MaxTracked {
		t.Errorf("%d terms tracked, above pipeline.max_tracked %d", flooded.Tracked, pcfg.MaxTracked)
	}
	// Full, the close lets the quietest tenth go to make room (the report
	// counts after it): the bound was reached if terms were refused.
	if refused := counterValue(t, reg, "trendwatch_pipeline_track_refused_total"); refused == 0 {
		t.Errorf("%d terms tracked and none refused: the flood did not reach pipeline.max_tracked %d, so the bound is untested", flooded.Tracked, pcfg.MaxTracked)
	}
	if peak > heapBound {
		t.Errorf("heap in use peaked at %d MiB, above %d MiB", peak>>20, heapBound>>20)
	}
}

// counterValue is the value of the counter name in reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no counter %s", name)
	return 0
}
