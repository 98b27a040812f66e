package admission

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestDoorAdmitsOnSecondSighting: a term passes the door on its second
// sighting in a bucket, not its first, and a bucket's sightings say nothing
// about another's.
func TestDoorAdmitsOnSecondSighting(t *testing.T) {
	d := New(1 << 10)
	b0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	b1 := b0.Add(time.Minute)
	for _, step := range []struct {
		bucket time.Time
		h      uint64
		want   bool
	}{
		{b0, 42, false}, {b1, 42, false}, {b0, 7, false}, {b0, 42, true}, {b1, 42, true}, {b0, 0, false}, {b0, 0, true},
	} {
		if ok, _, _ := d.Admit(step.bucket, step.h); ok != step.want {
			t.Errorf("admit(%s, %d) = %v, want %v", step.bucket.Format("15:04"), step.h, ok, step.want)
		}
	}
	d.CloseBefore(b1)
	if _, ok := d.tables[b0]; ok {
		t.Error("closed bucket's table still held")
	}
	if ok, _, _ := d.Admit(b1, 7); ok {
		t.Error("a sighting in a closed bucket admitted a term in the next")
	}
	off := New(0)
	if ok, _, _ := off.Admit(b0, 1); !ok {
		t.Error("a door of 0 slots refused a term")
	}
}

// TestDoorGrowsAndRestores: the table doubles while half full, keeps every
// candidate as it grows, stops at its bound, and a checkpoint round trip
// keeps exactly what it held.
func TestDoorGrowsAndRestores(t *testing.T) {
	const max = 1 << 14
	d := New(max)
	b := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(3, 4))
	var seen []uint64
	displaced := 0
	for range 3000 {
		h := r.Uint64()
		ok, evicted, full := d.Admit(b, h)
		if ok || full {
			t.Fatalf("first sighting admitted (%v) or door full (%v) at %d slots", ok, full, len(d.tables[b].slots))
		}
		if evicted {
			displaced++
		}
		seen = append(seen, h)
	}
	slots := len(d.tables[b].slots)
	if slots < 4096 || slots > max {
		t.Errorf("%d slots for 3000 candidates, want a power of two in [4096, %d]", slots, max)
	}
	held := 0
	for _, h := range d.tables[b].slots {
		if h != 0 {
			held++
		}
	}
	if held+displaced != len(seen) {
		t.Errorf("%d held + %d displaced, want %d", held, displaced, len(seen))
	}
	t.Logf("3000 candidates: %d slots, %d pushed out of a full group", slots, displaced)

	restored := New(max)
	restored.Restore(d.Snap())
	if !slices.Equal(restored.tables[b].slots, d.tables[b].slots) || restored.tables[b].used != d.tables[b].used {
		t.Fatal("restored door differs from the one saved")
	}

	for range 100_000 {
		d.Admit(b, r.Uint64())
	}
	if n := len(d.tables[b].slots); n != max {
		t.Errorf("%d slots after a flood, want the bound %d", n, max)
	}
	if _, _, full := d.Admit(b, r.Uint64()); !full {
		t.Error("door at its bound not reported full")
	}
}

// TestDoorCloseBefore: closing drops exactly the tables of buckets before
// the closed one, however the tables came (in any order, or from a
// checkpoint), and a close that drops nothing keeps every table.
func TestDoorCloseBefore(t *testing.T) {
	b := func(m int) time.Time { return time.Date(2026, 11, 20, 10, m, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name     string
		buckets  []int // tables made, in this order
		restored bool  // made by a checkpoint round trip instead
		closes   []int
		want     []int
	}{
		{"in order", []int{0, 1, 2}, false, []int{1}, []int{1, 2}},
		{"later first", []int{2, 0, 1}, false, []int{2}, []int{2}},
		{"nothing to drop", []int{3, 4}, false, []int{1, 3}, []int{3, 4}},
		{"step by step", []int{1, 0, 3, 2}, false, []int{1, 2, 3}, []int{3}},
		{"all", []int{0, 1}, false, []int{5}, nil},
		{"restored", []int{2, 0, 1}, true, []int{1, 2}, []int{2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := New(1 << 10)
			for _, m := range tc.buckets {
				d.Admit(b(m), uint64(m)+1)
			}
			if tc.restored {
				r := New(1 << 10)
				r.Restore(d.Snap())
				d = r
			}
			for _, c := range tc.closes {
				d.CloseBefore(b(c))
			}
			var got []int
			for start := range d.tables {
				got = append(got, start.Minute())
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("tables left %v, want %v", got, tc.want)
			}
		})
	}
}

// TestDoorRestoreBounded: a table restored is never larger than the door's
// bound, whatever size the snapshot names (a corrupt one named 2^28 slots,
// 2 GiB allocated before its hashes were read), and keeps its hashes.
func TestDoorRestoreBounded(t *testing.T) {
	b := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name        string
		slots, want int
	}{
		{"the bound", 1 << 14, 1 << 14},
		{"under the bound", 1 << 12, 1 << 12},
		{"past the bound", 1 << 28, 1 << 14},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := New(1 << 14)
			d.Restore([]Snap{{Start: b, Slots: tt.slots, Hashes: []uint64{1, 2, 3}}})
			tb := d.tables[b]
			if len(tb.slots) != tt.want || tb.used != 3 {
				t.Errorf("restored %d slots holding %d, want %d holding 3", len(tb.slots), tb.used, tt.want)
			}
			if ok, _, _ := d.Admit(b, 2); !ok {
				t.Error("a hash restored is not admitted on its second sighting")
			}
		})
	}
}
