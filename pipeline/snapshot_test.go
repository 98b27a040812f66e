package pipeline

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/ingest"
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
	if e.parked.Len() == 0 {
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

// decodeInto decodes a snapshot as Restore does, so a test can change it and
// encode it whole in gob, as an older build wrote it: the families go where
// the gob layout keeps them.
func decodeInto(b []byte, s *snapshot) error {
	d, err := decodeSnapshot(b)
	if err != nil {
		return err
	}
	if d.binary {
		d.Spelled, d.SpelledHash = make(map[string]uint64), make(map[uint64]uint64)
		for _, f := range d.families {
			if f.Term != "" {
				d.Spelled[f.Term] = f.First
			} else {
				d.SpelledHash[f.Fam] = f.First
			}
		}
		d.families, d.binary = nil, false
	}
	*s = *d
	return nil
}

// TestSnapshotChunks: the parts of a snapshot that grow with the input (what
// the gob layout wrote in chunks) stream through the writer's buffer in many
// pieces, and read back the same, in order.
func TestSnapshotChunks(t *testing.T) {
	ctx := context.Background()
	a := fuzzEngine(t)
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	const posts = chunkHashes + 3*chunkLen + 17 // event ids over one chunk too
	for i := range posts {
		id := fmt.Sprint("c", i)
		if err := a.Process(ctx, ingest.Record{Kind: ingest.KindContent, Content: event.Content{EventID: id, TS: start.Add(time.Duration(i) * time.Millisecond),
			ContentID: id, CreatorID: "u", Hashtags: []string{fmt.Sprint("chunkedtag", i%(2*chunkLen)), "common"}}}); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b := fuzzEngine(t)
	if err := b.Restore(snap); err != nil {
		t.Fatal(err)
	}
	type entry struct {
		id   string
		keys string
	}
	entries := func(e *Engine) []entry {
		var out []entry
		e.join.Each(func(id string, keys []string) { out = append(out, entry{id, strings.Join(keys, ",")}) })
		return out
	}
	if got, want := entries(b), entries(a); !reflect.DeepEqual(got, want) {
		t.Errorf("join cache: %d entries restored, %d saved, or in another order", len(got), len(want))
	}
	if len(b.tracked) != len(a.tracked) {
		t.Errorf("%d terms tracked after the restore, %d before", len(b.tracked), len(a.tracked))
	}
	gotTerm, gotHash := b.families.Spellings()
	wantTerm, wantHash := a.families.Spellings()
	if !reflect.DeepEqual(gotTerm, wantTerm) || !reflect.DeepEqual(gotHash, wantHash) {
		t.Errorf("%d+%d families restored, %d+%d saved", len(gotTerm), len(gotHash), len(wantTerm), len(wantHash))
	}
	wa, err := a.window.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	wb, err := b.window.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(wa, wb) {
		t.Errorf("the window differs after the restore (%d bytes encoded, %d before)", len(wb), len(wa))
	}
	t.Logf("window encoding %d bytes, %d pieces", len(wa), (len(wa)+chunkBytes-1)/chunkBytes)
	if !reflect.DeepEqual(b.door.Snap(), a.door.Snap()) {
		t.Error("the tracking door differs after the restore")
	}
	if b.dedup.Len() != a.dedup.Len() || b.dedup.Len() != posts {
		t.Errorf("%d event ids remembered after the restore, %d before, %d posted", b.dedup.Len(), a.dedup.Len(), posts)
	}
	if a.join.Len() < 3*chunkLen || len(wantTerm)+len(wantHash) < chunkLen {
		t.Fatalf("%d join entries and %d families: fewer than the chunks the test is about", a.join.Len(), len(wantTerm)+len(wantHash))
	}
}
