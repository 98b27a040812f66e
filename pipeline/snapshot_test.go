package pipeline

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/sketches"
)

// fuzzEngine is small, so a fuzzer builds thousands a second.
func fuzzEngine(tb testing.TB) *Engine {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.History = 8
	wcfg := sketches.DefaultWindowConfig()
	wcfg.FineBuckets, wcfg.CoarseBuckets, wcfg.TopK, wcfg.MemoryBudget = 10, 25, 50, 8<<20
	e, err := New(cfg, wcfg, detectors.DefaultConfig(), nil, nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// FuzzRestore feeds Restore what a checkpoint might hold after a bug or a
// bit flip the checksum missed: it must refuse with an error, never panic,
// and whatever it accepts must snapshot again.
func FuzzRestore(f *testing.F) {
	e := fuzzEngine(f)
	feed := newOrderFeed(2, 6)
	rng := rand.New(rand.NewPCG(1, 1))
	recs := feed.deliver(rng, 100, func(next []int) int {
		if ps := feed.left(next); len(ps) > 0 {
			return ps[rng.IntN(len(ps))]
		}
		return -1
	})
	e.held = true
	for _, r := range recs[:len(recs)*2/3] {
		if err := e.Process(context.Background(), r); err != nil {
			f.Fatal(err)
		}
	}
	snap, err := e.Snapshot()
	if err != nil {
		f.Fatal(err)
	}
	if len(e.parked) == 0 {
		f.Fatal("the seed snapshot holds no parked records")
	}
	f.Add(snap)
	f.Add(snap[:len(snap)/2])
	f.Add([]byte{})
	f.Add([]byte("not a snapshot"))
	flipped := append([]byte(nil), snap...)
	flipped[len(flipped)/3] ^= 0x40
	f.Add(flipped)
	f.Fuzz(func(t *testing.T, b []byte) {
		e := fuzzEngine(t)
		if err := e.Restore(b); err != nil {
			return
		}
		if _, err := e.Snapshot(); err != nil {
			t.Fatalf("restored a snapshot that does not snapshot again: %v", err)
		}
	})
}
