package bench

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline"
	"github.com/trendwatch/trendwatch/sketches"
)

// BenchmarkDistinctTerms measures the engine's live heap after an hour of
// posts as the number of distinct hashtags in that hour grows from 10 k to
// 10 M, against an exact count of the same hashtags (a map from tag to
// count, what a naive trend counter keeps). Every post carries one hashtag
// and comes from its own creator; an hour holds max(distinct, 1 M) posts, so
// the smaller vocabularies repeat and the largest is all one-offs. The
// engine's memory is bounded by its configuration (the sketch window's
// memory budget, the tracked-term cap, the join cache, the deduplication
// filter, the tracking door), not by the vocabulary; the exact map grows
// with it. Reported per size: heap_MiB_engine_N and heap_MiB_exact_N, the
// live heap after a garbage collection. One op is all sizes.
func BenchmarkDistinctTerms(b *testing.B) {
	sizes := []int{10_000, 100_000, 1_000_000, 10_000_000}
	if testing.Short() {
		sizes = []int{10_000, 100_000}
	}
	ctx := context.Background()
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for range b.N {
		for _, n := range sizes {
			posts := max(n, 1_000_000)
			if testing.Short() {
				posts = n
			}
			step := time.Hour / time.Duration(posts)
			tag := func(i int) string { return "t" + strconv.Itoa(i%n) }

			e, err := pipeline.New(pipeline.DefaultConfig(), sketches.DefaultWindowConfig(), detectors.DefaultConfig(), nil, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			for i := range posts {
				id := strconv.Itoa(i)
				r := ingest.Record{Source: ingest.Source{Topic: "content", Offset: int64(i)}, Kind: ingest.KindContent,
					Content: event.Content{EventID: id, TS: start.Add(time.Duration(i) * step), ContentID: id,
						CreatorID: id, Hashtags: []string{tag(i)}}}
				if err := e.Process(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
			engine := liveHeapMiB()
			runtime.KeepAlive(e)

			exact := make(map[string]uint32)
			for i := range posts {
				exact[tag(i)]++
			}
			m := liveHeapMiB()
			runtime.KeepAlive(exact)

			b.ReportMetric(engine, fmt.Sprintf("heap_MiB_engine_%d", n))
			b.ReportMetric(m, fmt.Sprintf("heap_MiB_exact_%d", n))
		}
	}
}

// liveHeapMiB is the heap in use after a full collection.
func liveHeapMiB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapInuse) / (1 << 20)
}
