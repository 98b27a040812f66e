package bench

import (
	"context"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline"
	"github.com/trendwatch/trendwatch/pipeline/eventtime"
	"github.com/trendwatch/trendwatch/sketches"
)

// steadyStream is the generator's default platform, decoded, split in two:
// the first half warms an engine, the second is timed.
var steadyStream = sync.OnceValues(func() ([2][]ingest.Record, error) {
	recs, err := generatedRecords(600_000)
	if err != nil {
		return [2][]ingest.Record{}, err
	}
	half := len(recs) / 2
	return [2][]ingest.Record{recs[:half], recs[half:]}, nil
})

// BenchmarkEngineSteady is the engine's cost per event once it runs: an
// engine at its defaults is warmed on 300 k of the generator's messages
// (the start-up hold, the join cache and the dedup sets filled, terms
// tracked, an hour and a half of buckets closed), untimed, and timed on the
// next 300 k. One op is those 300 k; ns/event and allocs per op are the
// figures. BenchmarkFamilies times a fresh engine, start-up included.
//
// gc-cpu-ns/event is the CPU the garbage collector spent while the timed
// events ran, per event: on a machine whose spare cores run it, it costs
// little wall-clock time, but it is CPU the decoders or another process
// would have had, and on one core it is the engine's own time.
func BenchmarkEngineSteady(b *testing.B) { benchmarkWarmed(b, steadyStream) }

// benchmarkWarmed times a fresh engine at its defaults on stream[1], after
// it ran untimed on stream[0].
func benchmarkWarmed(b *testing.B, streamOf func() ([2][]ingest.Record, error)) {
	stream, err := streamOf()
	if err != nil {
		b.Fatal(err)
	}
	// Generating and decoding the stream (seconds, once a process) is not
	// the engine's: timed, it more than doubled ns/event at -benchtime 1x.
	b.ResetTimer()
	ctx := context.Background()
	b.ReportAllocs()
	var gc float64
	for range b.N {
		b.StopTimer()
		e, err := pipeline.New(pipeline.DefaultConfig(), sketches.DefaultWindowConfig(), detectors.DefaultConfig(), nil, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.ProcessBatch(ctx, stream[0]); err != nil {
			b.Fatal(err)
		}
		before := gcCPU()
		b.StartTimer()
		if err := e.ProcessBatch(ctx, stream[1]); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		gc += gcCPU() - before
		b.StartTimer()
	}
	n := float64(b.N * len(stream[1]))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/event")
	b.ReportMetric(gc*1e9/n, "gc-cpu-ns/event")
}

// dayOldStream is the generator's default platform at a fifth of its rate
// for 31 hours of event time, decoded: the first 25 hours, then the last 6,
// whose terms have a yesterday.
var dayOldStream = sync.OnceValues(func() ([2][]ingest.Record, error) {
	const rate = 10
	recs, err := generatedRecordsAt(31*3600*rate, rate)
	if err != nil {
		return [2][]ingest.Record{}, err
	}
	// The generator's records run in event time but for a few late ones:
	// the split is at the first record 25 hours in.
	split := eventtime.TS(&recs[0]).Add(25 * time.Hour)
	i := 0
	for i < len(recs) && eventtime.TS(&recs[i]).Before(split) {
		i++
	}
	return [2][]ingest.Record{recs[:i], recs[i:]}, nil
})

// BenchmarkEngineDayOld is BenchmarkEngineSteady on an engine that has run
// for a day: warmed, untimed, on 25 hours of the generator's platform (at 10
// posts a second, so that the day fits a benchmark), and timed on the 6
// hours after. Its tracked terms have a yesterday, as a production engine's
// have after its first day: the day-ago levels are looked up at every close,
// and the buckets under them are judged and learnt without fitting
// (detectors' quietTests). BenchmarkEngineSteady's stream is 3 hours long.
func BenchmarkEngineDayOld(b *testing.B) { benchmarkWarmed(b, dayOldStream) }

// gcCPU is the CPU seconds the garbage collector has spent in this process
// (an estimate the runtime updates at each collection).
func gcCPU() float64 {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(s)
	return s[0].Value.Float64()
}
