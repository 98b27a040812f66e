package sketches

import (
	"bytes"
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
)

// zipfStream is a deterministic Zipf stream of term keys: item i is key items[i].
type zipfStream struct {
	items    []uint32
	keys     []string
	hashes   []uint64
	counts   []uint64 // true count per key
	distinct int
}

func newZipfStream(n int, s float64, seed uint64) *zipfStream {
	const imax = 1<<24 - 1
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	z := rand.NewZipf(r, s, 1, imax)
	id := make([]uint32, imax+1) // rank → key id + 1
	st := &zipfStream{items: make([]uint32, n)}
	for i := range st.items {
		rank := z.Uint64()
		if id[rank] == 0 {
			st.keys = append(st.keys, "hashtag:z"+strconv.FormatUint(rank, 36))
			id[rank] = uint32(len(st.keys))
		}
		st.items[i] = id[rank] - 1
	}
	st.distinct = len(st.keys)
	st.hashes = make([]uint64, st.distinct)
	st.counts = make([]uint64, st.distinct)
	for i, k := range st.keys {
		st.hashes[i] = Hash(k)
	}
	for _, k := range st.items {
		st.counts[k]++
	}
	return st
}

// The property tests share one stream: 10M items over ~1.2M distinct keys (Zipf
// s=1.1 over 16M ranks); 1M items in -short mode.
var (
	zipfFull  = sync.OnceValue(func() *zipfStream { return newZipfStream(10_000_000, 1.1, 1) })
	zipfShort = sync.OnceValue(func() *zipfStream { return newZipfStream(1_000_000, 1.1, 1) })
)

func zipf(t *testing.T) *zipfStream {
	t.Helper()
	if testing.Short() {
		return zipfShort()
	}
	st := zipfFull()
	if len(st.items) < 10_000_000 || st.distinct < 1_000_000 {
		t.Fatalf("stream of %d items over %d keys is smaller than the property needs", len(st.items), st.distinct)
	}
	return st
}

// trueTop returns the ids of the n most frequent keys.
func (st *zipfStream) trueTop(n int) []uint32 {
	ids := make([]uint32, st.distinct)
	for i := range ids {
		ids[i] = uint32(i)
	}
	slices.SortFunc(ids, func(a, b uint32) int { return cmp.Compare(st.counts[b], st.counts[a]) })
	return ids[:n]
}

// TestPropertyCountMinErrorBound: the fraction of keys whose overestimate exceeds
// ε·N is at most δ, no key is underestimated, and the mean overestimate is below a
// single plain row's expectation N/w.
func TestPropertyCountMinErrorBound(t *testing.T) {
	st := zipf(t)
	N := float64(len(st.items))
	cases := []struct {
		name string
		make func() (*CountMin, error)
	}{
		{"2^10x4", func() (*CountMin, error) { return NewCountMin(1<<10, 4) }},
		{"2^12x4", func() (*CountMin, error) { return NewCountMin(1<<12, 4) }},
		{"2^14x4", func() (*CountMin, error) { return NewCountMin(1<<14, 4) }}, // the default window's
		{"eps=1e-3,delta=0.01", func() (*CountMin, error) { return NewCountMinForError(1e-3, 0.01) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.make()
			mustNil(t, err)
			for _, k := range st.items {
				c.Add(st.hashes[k], 1)
			}
			if c.Total() != uint64(len(st.items)) {
				t.Fatalf("total %d, want %d", c.Total(), len(st.items))
			}
			bound := c.Epsilon() * N
			var over int
			var sum, worst float64
			for k, h := range st.hashes {
				est, n := uint64(c.Estimate(h)), st.counts[k]
				if est < n {
					t.Fatalf("key %s: estimate %d below the true %d", st.keys[k], est, n)
				}
				e := float64(est - n)
				sum += e
				worst = max(worst, e)
				if e > bound {
					over++
				}
			}
			frac := float64(over) / float64(st.distinct)
			mean := sum / float64(st.distinct)
			t.Logf("%d×%d over %d items, %d keys: ε·N = %.0f, keys beyond it %d (%.2e, δ = %.2e), mean overestimate %.2f, worst %.0f",
				c.Width(), c.Depth(), len(st.items), st.distinct, bound, over, frac, c.Delta(), mean, worst)
			if frac > c.Delta() {
				t.Errorf("fraction beyond ε·N %.3e above δ %.3e", frac, c.Delta())
			}
			if mean > N/float64(c.Width()) {
				t.Errorf("mean overestimate %.2f above N/w = %.2f", mean, N/float64(c.Width()))
			}
		})
	}
}

// TestPropertyCountMinMerge: the merge of shard sketches equals the sketch of the
// union exactly for plain update, and for conservative update keeps the bound: no
// key underestimated, every counter at most the plain union's, and the fraction
// beyond ε·N at most δ.
func TestPropertyCountMinMerge(t *testing.T) {
	st := zipf(t)
	const shards, w, d = 4, 1 << 12, 4
	cu, plain := make([]*CountMin, shards), make([]*CountMin, shards)
	for i := range shards {
		cu[i], plain[i] = mustCountMin(t, w, d), mustCountMin(t, w, d)
	}
	plainUnion := mustCountMin(t, w, d)
	chunk := (len(st.items) + shards - 1) / shards
	for i, k := range st.items {
		h := st.hashes[k]
		cu[i/chunk].Add(h, 1)
		plainAdd(plain[i/chunk], h, 1)
		plainAdd(plainUnion, h, 1)
	}
	for i := 1; i < shards; i++ {
		mustNil(t, cu[0].Merge(cu[i]))
		mustNil(t, plain[0].Merge(plain[i]))
	}
	if !slices.Equal(plain[0].counts, plainUnion.counts) || plain[0].Total() != plainUnion.Total() {
		t.Fatal("merged plain shards differ from the plain sketch of the union")
	}
	merged := cu[0]
	if merged.Total() != uint64(len(st.items)) {
		t.Fatalf("merged total %d", merged.Total())
	}
	for i, v := range merged.counts {
		if v > plainUnion.counts[i] {
			t.Fatalf("merged counter %d = %d above the plain union's %d", i, v, plainUnion.counts[i])
		}
	}
	bound := merged.Epsilon() * float64(len(st.items))
	over := 0
	for k, h := range st.hashes {
		est, n := uint64(merged.Estimate(h)), st.counts[k]
		if est < n {
			t.Fatalf("key %s: merged estimate %d below the true %d", st.keys[k], est, n)
		}
		if float64(est-n) > bound {
			over++
		}
	}
	frac := float64(over) / float64(st.distinct)
	t.Logf("merged %d shards of %d×%d: keys beyond ε·N = %.0f: %d (%.2e, δ = %.2e)", shards, w, d, bound, over, frac, merged.Delta())
	if frac > merged.Delta() {
		t.Errorf("fraction beyond ε·N %.3e above δ %.3e", frac, merged.Delta())
	}
}

// TestPropertyHLLOnZipf: the distinct count of the stream is within 3σ, and the
// registers of merged shards equal those of the union.
func TestPropertyHLLOnZipf(t *testing.T) {
	st := zipf(t)
	const shards = 4
	union := mustHLL(t, DefaultHLLPrecision)
	parts := make([]*HLL, shards)
	for i := range parts {
		parts[i] = mustHLL(t, DefaultHLLPrecision)
	}
	for i, k := range st.items {
		union.InsertHash(st.hashes[k])
		parts[i%shards].InsertHash(st.hashes[k])
	}
	sigma := 1.04 / math.Sqrt(float64(uint64(1)<<DefaultHLLPrecision))
	rel := (float64(union.Estimate()) - float64(st.distinct)) / float64(st.distinct)
	t.Logf("HLL p=%d: %d distinct keys estimated %d (relative error %.4f, σ = %.4f)", DefaultHLLPrecision, st.distinct, union.Estimate(), rel, sigma)
	if math.Abs(rel) > 3*sigma {
		t.Errorf("relative error %.4f beyond 3σ", rel)
	}
	for _, p := range parts[1:] {
		mustNil(t, parts[0].Merge(p))
	}
	a, _ := parts[0].MarshalBinary()
	b, _ := union.MarshalBinary()
	if !bytes.Equal(a, b) {
		t.Fatal("merged shard registers differ from the union's")
	}
}

// TestPropertyTopKRecall: at the default k, the top-K recalls ≥ 95 % of the true
// top 100, alone and merged from shards, and keeps its guarantee for every key.
func TestPropertyTopKRecall(t *testing.T) {
	st := zipf(t)
	k := DefaultWindowConfig().TopK
	truth := st.trueTop(100)
	recall := func(tk *TopK) float64 {
		want := map[uint64]bool{}
		for _, id := range truth {
			want[st.hashes[id]] = true
		}
		hit := 0
		for _, it := range tk.Top()[:100] {
			if want[it.Hash] {
				hit++
			}
		}
		return float64(hit) / 100
	}
	guarantee := func(t *testing.T, tk *TopK) {
		t.Helper()
		min := tk.Min()
		if float64(min) > float64(tk.Total())/float64(tk.K()) {
			t.Fatalf("Min %d above N/k", min)
		}
		for id, h := range st.hashes {
			n := st.counts[id]
			c, e, ok := tk.Lookup(h)
			switch {
			case !ok && n > min:
				t.Fatalf("key %s with %d > Min %d is missing", st.keys[id], n, min)
			case ok && (n > c || c-e > n || e > min):
				t.Fatalf("key %s: true %d outside [%d, %d] or err %d above Min %d", st.keys[id], n, c-e, c, e, min)
			}
		}
	}
	t.Run("single", func(t *testing.T) {
		tk := mustTopK(t, k)
		for _, id := range st.items {
			tk.Add(st.keys[id], st.hashes[id], 1)
		}
		r := recall(tk)
		t.Logf("k=%d over %d items: recall of the true top 100 = %.2f, Min = %d (N/k = %d)", k, len(st.items), r, tk.Min(), tk.Total()/uint64(k))
		if r < 0.95 {
			t.Errorf("recall %.2f < 0.95", r)
		}
		guarantee(t, tk)
	})
	t.Run("merged", func(t *testing.T) {
		const shards = 4
		parts := make([]*TopK, shards)
		for i := range parts {
			parts[i] = mustTopK(t, k)
		}
		for i, id := range st.items {
			parts[i%shards].Add(st.keys[id], st.hashes[id], 1)
		}
		for _, p := range parts[1:] {
			mustNil(t, parts[0].Merge(p))
		}
		r := recall(parts[0])
		t.Logf("merged from %d shards: recall %.2f, Min = %d", shards, r, parts[0].Min())
		if r < 0.95 {
			t.Errorf("recall %.2f < 0.95", r)
		}
		guarantee(t, parts[0])
	})
}
