package hashtable

import (
	"math/rand/v2"
	"testing"
)

// TestHashTable checks the table against a map through random puts, gets and
// removes, with hashes that crowd a few home slots (so probe runs wrap and
// the backward shift has work), uniform ones and small ones, hash 0 included.
func TestHashTable(t *testing.T) {
	for _, c := range []struct {
		name string
		h    func(r *rand.Rand) uint64
	}{
		{"uniform", func(r *rand.Rand) uint64 { return r.Uint64() >> r.IntN(64) }},
		{"crowded", func(r *rand.Rand) uint64 { return uint64(r.IntN(40)) << 58 >> uint(r.IntN(3)) }},
		{"small", func(r *rand.Rand) uint64 { return uint64(r.IntN(300)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var tab Table[int32]
			want := map[uint64]int32{}
			var keys []uint64
			for op := range 200_000 {
				switch k := r.IntN(6); {
				case len(keys) == 0 || k < 3:
					h, v := c.h(r), r.Int32()
					_, had := want[h]
					if added := tab.Put(h, v); added == had {
						t.Fatalf("op %d: put(%#x) added %v, had %v", op, h, added, had)
					}
					if !had {
						keys = append(keys, h)
					}
					want[h] = v
				case k < 5:
					i := r.IntN(len(keys))
					h := keys[i]
					keys[i] = keys[len(keys)-1]
					keys = keys[:len(keys)-1]
					tab.Remove(h)
					delete(want, h)
					tab.Remove(h) // a second remove is a no-op
				default:
					h := c.h(r)
					v, ok := tab.Get(h)
					if w, wok := want[h]; ok != wok || v != w {
						t.Fatalf("op %d: get(%#x) = %d, %v; want %d, %v", op, h, v, ok, w, wok)
					}
				}
				if tab.Len() != len(want) {
					t.Fatalf("op %d: len %d, want %d", op, tab.Len(), len(want))
				}
			}
			for h, w := range want {
				if v, ok := tab.Get(h); !ok || v != w {
					t.Fatalf("%#x: got %d, %v; want %d", h, v, ok, w)
				}
			}
		})
	}
}

// TestIDSet: the set the event_id filter keeps is the table without values.
func TestIDSet(t *testing.T) {
	var s Set
	for _, h := range []uint64{0, 1, 64, 128, 1} {
		s.Add(h)
	}
	if s.Len() != 4 || s.Add(64) || !s.Add(65) {
		t.Fatalf("len %d after adding 0, 1, 64, 128 and 1 again", s.Len())
	}
	s.Remove(64)
	if _, ok := s.Get(64); ok {
		t.Fatal("64 still there after remove")
	}
	if _, ok := s.Get(128); !ok {
		t.Fatal("128, after 64 in its probe run, lost by the remove")
	}
}

func BenchmarkIDSet(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	var s Set
	const window = 1 << 18 // ids held, as the filter holds a few buckets'
	ring := make([]uint64, window)
	for i := 0; b.Loop(); i++ {
		k := i % window
		if ring[k] != 0 {
			s.Remove(ring[k])
		}
		ring[k] = r.Uint64()
		s.Add(ring[k])
	}
}

// TestHashTableShrinks: a table that grew large and was then mostly emptied,
// as the event_id filter's set is after a backlog's buckets close, shrinks,
// and what it still holds is found; one whose entries come and go around a
// steady size does not resize back and forth.
func TestHashTableShrinks(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var tab Table[int32]
	hs := make([]uint64, 100_000)
	for i := range hs {
		hs[i] = r.Uint64() | 1
		tab.Put(hs[i], int32(i))
	}
	grown := len(tab.slots)
	for _, h := range hs[1000:] {
		tab.Remove(h)
	}
	if got := len(tab.slots); got > 4096 || got < 1000 {
		t.Errorf("%d slots for 1,000 entries after growing to %d, want at most 4096", got, grown)
	}
	for i, h := range hs[:1000] {
		if v, ok := tab.Get(h); !ok || v != int32(i) {
			t.Fatalf("entry %d: %v %v after the shrink", i, v, ok)
		}
	}
	for _, h := range hs[1000:] {
		if _, ok := tab.Get(h); ok {
			t.Fatal("a removed entry is found after the shrink")
		}
	}
	// Steady churn: a bucket of 1,000 in, the oldest 1,000 out.
	steady := len(tab.slots)
	resizes := 0
	for round := range 50 {
		for i := range 1000 {
			tab.Add(uint64(round*1000+i)<<1 | 1)
		}
		for i := range 1000 {
			var old uint64
			if round == 0 {
				old = hs[i]
			} else {
				old = uint64((round-1)*1000+i)<<1 | 1
			}
			tab.Remove(old)
		}
		if len(tab.slots) != steady {
			resizes++
			steady = len(tab.slots)
		}
	}
	if resizes > 1 {
		t.Errorf("%d resizes over 50 rounds of steady churn", resizes)
	}
}

// TestTouch: reading a slot ahead changes nothing, on an empty table too,
// and reads the slot a lone entry lives in.
func TestTouch(t *testing.T) {
	var tab Table[int32]
	if got := tab.Touch(42); got != 0 {
		t.Errorf("empty table: Touch = %d, want 0", got)
	}
	tab.Put(42, 7)
	if got := tab.Touch(42); got != 42 {
		t.Errorf("Touch(42) = %d, want the slot's hash 42", got)
	}
	if v, ok := tab.Get(42); !ok || v != 7 || tab.Len() != 1 {
		t.Errorf("after Touch: Get(42) = %d, %v, %d entries", v, ok, tab.Len())
	}
}
