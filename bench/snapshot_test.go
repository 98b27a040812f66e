package bench

import (
	"context"
	"sync"
	"testing"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/pipeline"
	"github.com/trendwatch/trendwatch/sketches"
)

// snapshotEngine is an engine at its defaults after 300 k of the generator's
// messages: the state a checkpoint of a running process holds.
var snapshotEngine = sync.OnceValues(func() (*pipeline.Engine, error) {
	recs, err := generatedRecords(300_000)
	if err != nil {
		return nil, err
	}
	e, err := newDefaultEngine()
	if err != nil {
		return nil, err
	}
	return e, e.ProcessBatch(context.Background(), recs)
})

func newDefaultEngine() (*pipeline.Engine, error) {
	return pipeline.New(pipeline.DefaultConfig(), sketches.DefaultWindowConfig(), detectors.DefaultConfig(), nil, nil, nil)
}

// countWriter counts what is written to it and keeps none of it.
type countWriter struct{ n int }

func (w *countWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return len(p), nil
}

// BenchmarkSnapshot is a checkpoint's cost to the engine: write streams the
// state of snapshotEngine to a writer that discards it (what Stage hands
// the compressor), restore reads it back into a new engine (made untimed).
// bytes is the snapshot's size before compression.
func BenchmarkSnapshot(b *testing.B) {
	e, err := snapshotEngine()
	if err != nil {
		b.Fatal(err)
	}
	snap, err := e.Snapshot()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("write", func(b *testing.B) {
		b.ReportAllocs()
		var w countWriter
		for range b.N {
			w.n = 0
			if err := e.WriteSnapshot(&w); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(w.n), "bytes")
	})
	b.Run("restore", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			b.StopTimer()
			r, err := newDefaultEngine()
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if err := r.Restore(snap); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(snap)), "bytes")
	})
}
