package pipeline

import (
	"math/rand/v2"
	"testing"
)

// TestIDSet checks the set against a map through random adds and removes,
// with ids that crowd a few home slots (so probe runs wrap and the backward
// shift has work) and with uniform ones, id 0 included.
func TestIDSet(t *testing.T) {
	for _, c := range []struct {
		name string
		id   func(r *rand.Rand) uint64
	}{
		{"uniform", func(r *rand.Rand) uint64 { return r.Uint64() >> r.IntN(64) }},
		{"crowded", func(r *rand.Rand) uint64 { return uint64(r.IntN(40)) << 58 >> uint(r.IntN(3)) }},
		{"small", func(r *rand.Rand) uint64 { return uint64(r.IntN(300)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var s idSet
			want := map[uint64]bool{}
			var ids []uint64
			for op := range 200_000 {
				if len(ids) == 0 || r.IntN(3) > 0 {
					id := c.id(r)
					if got := s.add(id); got != !want[id] {
						t.Fatalf("op %d: add(%#x) = %v, want %v", op, id, got, !want[id])
					}
					if !want[id] {
						ids = append(ids, id)
					}
					want[id] = true
				} else {
					k := r.IntN(len(ids))
					id := ids[k]
					ids[k] = ids[len(ids)-1]
					ids = ids[:len(ids)-1]
					s.remove(id)
					delete(want, id)
					s.remove(id) // a second remove is a no-op
				}
				if s.len() != len(want) {
					t.Fatalf("op %d: len %d, want %d", op, s.len(), len(want))
				}
			}
			for id := range want {
				if s.add(id) {
					t.Fatalf("%#x was lost", id)
				}
			}
			if s.len() != len(want) {
				t.Fatalf("len %d after re-adding, want %d", s.len(), len(want))
			}
		})
	}
}

func BenchmarkIDSet(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	var s idSet
	const window = 1 << 18 // ids held, as the filter holds a few buckets'
	ring := make([]uint64, window)
	for i := 0; b.Loop(); i++ {
		k := i % window
		if ring[k] != 0 {
			s.remove(ring[k])
		}
		ring[k] = r.Uint64()
		s.add(ring[k])
	}
}
