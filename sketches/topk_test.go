package sketches

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func mustTopK(t testing.TB, k int) *TopK {
	t.Helper()
	tk, err := NewTopK(k)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// checkTopKInvariants verifies the internal structure (heap order, positions, the
// hash table) and the Space-Saving guarantee against exact counts.
func checkTopKInvariants(t *testing.T, tk *TopK, truth map[uint64]uint64) {
	t.Helper()
	for i, node := range tk.heap {
		if int(tk.entries[node.id].pos) != i {
			t.Fatalf("entry %d has pos %d, heap says %d", node.id, tk.entries[node.id].pos, i)
		}
		if i > 0 && node.count < tk.heap[(i-1)/4].count {
			t.Fatalf("heap order broken at %d", i)
		}
	}
	inTable := 0
	for _, s := range tk.slots {
		if s != 0 {
			inTable++
		}
	}
	if inTable != len(tk.entries) || len(tk.heap) != len(tk.entries) {
		t.Fatalf("%d entries, %d in the heap, %d in the table", len(tk.entries), len(tk.heap), inTable)
	}
	var sum uint64
	for i := range tk.entries {
		e := &tk.entries[i]
		if slot, id := tk.find(e.hash); id != int32(i) || int(e.slot) != slot {
			t.Fatalf("entry %d (hash %x, slot %d) found as %d at slot %d", i, e.hash, e.slot, id, slot)
		}
		sum += tk.count(int32(i))
	}
	if sum > tk.Total() {
		t.Fatalf("counts sum to %d, above the total %d", sum, tk.Total())
	}
	if truth == nil {
		return
	}
	min := tk.Min()
	if float64(min) > float64(tk.Total())/float64(tk.K()) {
		t.Fatalf("Min %d above N/k = %d/%d", min, tk.Total(), tk.K())
	}
	for _, it := range tk.Top() {
		n := truth[it.Hash]
		if n > it.Count || it.Count-it.Err > n {
			t.Fatalf("key %q: true %d outside [%d, %d]", it.Key, n, it.Count-it.Err, it.Count)
		}
		if it.Err > min {
			t.Fatalf("key %q: err %d above Min %d", it.Key, it.Err, min)
		}
	}
	for h, n := range truth {
		if n > min {
			if _, _, ok := tk.Lookup(h); !ok {
				t.Fatalf("key %x with %d > Min %d is missing", h, n, min)
			}
		}
	}
}

func TestNewTopKRejects(t *testing.T) {
	for _, k := range []int{0, -1, MaxTopK + 1} {
		if _, err := NewTopK(k); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("got %d", k)) {
			t.Errorf("NewTopK(%d) = %v", k, err)
		}
	}
}

func TestTopKExactBelowK(t *testing.T) {
	tk := mustTopK(t, 10)
	for i, n := range []uint32{5, 1, 9, 3, 3} {
		key := fmt.Sprintf("k%d", i)
		tk.Add(key, Hash(key), n)
	}
	tk.Add("k1", Hash("k1"), 10)
	tk.Add("k0", Hash("k0"), 0) // no-op
	got := tk.Top()
	want := []string{"k1", "k2", "k0"}
	for i, w := range want {
		if got[i].Key != w || got[i].Err != 0 {
			t.Fatalf("Top()[%d] = %+v, want %s exactly", i, got[i], w)
		}
	}
	if got[0].Count != 11 || tk.Total() != 31 || tk.Len() != 5 || tk.Min() != 0 {
		t.Fatalf("Top %+v, total %d, len %d, min %d", got, tk.Total(), tk.Len(), tk.Min())
	}
}

func TestTopKGuaranteeOnStreams(t *testing.T) {
	for _, tc := range []struct {
		name string
		k    int
		keys int
		gen  func(r *rand.Rand, keys int) int
	}{
		{"uniform", 50, 2000, func(r *rand.Rand, keys int) int { return r.IntN(keys) }},
		{"skewed", 50, 2000, func(r *rand.Rand, keys int) int { return int(float64(keys) * math.Pow(r.Float64(), 4)) }},
		{"k=1", 1, 100, func(r *rand.Rand, keys int) int { return int(float64(keys) * math.Pow(r.Float64(), 2)) }},
		{"few keys", 64, 40, func(r *rand.Rand, keys int) int { return r.IntN(keys) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(11, 12))
			tk := mustTopK(t, tc.k)
			truth := map[uint64]uint64{}
			for i := range 100_000 {
				key := fmt.Sprintf("key-%d", tc.gen(r, tc.keys))
				n := uint32(1 + r.IntN(4))
				h := Hash(key)
				tk.Add(key, h, n)
				truth[h] += uint64(n)
				if i%9973 == 0 {
					checkTopKInvariants(t, tk, truth)
				}
			}
			checkTopKInvariants(t, tk, truth)
			for _, it := range tk.Top() {
				if Hash(it.Key) != it.Hash {
					t.Fatalf("item %q carries hash %x, not its key's", it.Key, it.Hash)
				}
			}
		})
	}
}

// TestTopKAppendHeavy checks that AppendHeavy is Top filtered on the
// guaranteed count, in the same order, after what dst held.
func TestTopKAppendHeavy(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	tk := mustTopK(t, 64)
	for range 50_000 {
		key := fmt.Sprintf("key-%d", int(2000*math.Pow(r.Float64(), 4)))
		tk.Add(key, Hash(key), uint32(1+r.IntN(3)))
	}
	for _, min := range []uint64{0, 1, 50, 500, 5000, math.MaxUint64} {
		var want []Item
		for _, it := range tk.Top() {
			if it.Count-it.Err >= min {
				want = append(want, it)
			}
		}
		prefix := Item{Key: "held", Hash: 1}
		got := tk.AppendHeavy([]Item{prefix}, min)
		if got[0] != prefix || !slices.Equal(got[1:], want) {
			t.Errorf("min %d: AppendHeavy %v, want %v after %v", min, got, want, prefix)
		}
	}
}

func TestTopKMerge(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const k, shards = 40, 3
	parts := make([]*TopK, shards)
	for i := range parts {
		parts[i] = mustTopK(t, k)
	}
	truth := map[uint64]uint64{}
	for i := range 60_000 {
		// Each shard has its own favourites besides the common ones.
		s := i % shards
		var id int
		if r.IntN(2) == 0 {
			id = int(300 * math.Pow(r.Float64(), 3))
		} else {
			id = 1000*(s+1) + int(300*math.Pow(r.Float64(), 3))
		}
		key := fmt.Sprintf("t%d", id)
		h := Hash(key)
		parts[s].Add(key, h, 1)
		truth[h]++
	}
	merged := mustTopK(t, k)
	for _, p := range parts {
		if err := merged.Merge(p); err != nil {
			t.Fatal(err)
		}
	}
	checkTopKInvariants(t, merged, truth)
	if merged.Total() != 60_000 || merged.Len() != k {
		t.Fatalf("merged total %d, len %d", merged.Total(), merged.Len())
	}
	for _, it := range merged.Top() {
		if Hash(it.Key) != it.Hash {
			t.Fatalf("merge mixed up keys: %q carries %x", it.Key, it.Hash)
		}
	}
	// Merging two unfilled summaries is exact.
	a, b := mustTopK(t, 10), mustTopK(t, 10)
	a.Add("x", 1, 3)
	a.Add("y", 2, 1)
	b.Add("x", 1, 2)
	b.Add("z", 3, 7)
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	want := []Item{{"z", 3, 7, 0}, {"x", 1, 5, 0}, {"y", 2, 1, 0}}
	if got := a.Top(); !slices.Equal(got, want) {
		t.Fatalf("exact merge = %+v, want %+v", got, want)
	}
	if err := a.Merge(mustTopK(t, 11)); err == nil || !strings.Contains(err.Error(), "cannot merge k=11 into k=10") {
		t.Fatalf("merge of another k: %v", err)
	}
	if err := a.Merge(mustTopK(t, 10)); err != nil || a.Total() != 13 {
		t.Fatalf("merge of an empty summary: %v, total %d", err, a.Total())
	}
}

func TestTopKAddDoesNotAllocate(t *testing.T) {
	tk := mustTopK(t, 100)
	keys := make([]string, 5000)
	hashes := make([]uint64, len(keys))
	for i := range keys {
		keys[i] = fmt.Sprintf("hashtag:k%06d", i)
		hashes[i] = Hash(keys[i])
	}
	i := 0
	step := func() {
		j := (i * i) % len(keys) // hits and evictions both
		tk.Add(keys[j], hashes[j], 1)
		i++
	}
	for range 20000 { // warm up: buffers grow to the key length
		step()
	}
	if n := testing.AllocsPerRun(10000, step); n != 0 {
		t.Fatalf("Add allocates %v times per call in steady state", n)
	}
}

func TestTopKBytesIsHonest(t *testing.T) {
	const k = 1000
	keys := make([]string, 3*k)
	for i := range keys {
		keys[i] = fmt.Sprintf("hashtag:%0*d", 20+i%40, i) // 28..67 bytes
	}
	const n = 32
	grown, v := heapGrowth(func() any {
		tks := make([]*TopK, n)
		for j := range tks {
			tks[j] = mustTopK(t, k)
			for i, key := range keys {
				// A key of its own for each Add, as the engine's are
				// made: what a counter keeps is then the counter's.
				tks[j].Add(strings.Clone(key), Hash(key), uint32(1+i%3))
			}
		}
		return tks
	})
	tks := v.([]*TopK)
	var want int64
	for _, tk := range tks {
		want += int64(tk.Bytes())
		if max := TopKMaxBytes(k, 67); tk.Bytes() > max {
			t.Fatalf("Bytes() = %d above TopKMaxBytes %d", tk.Bytes(), max)
		}
	}
	if d := math.Abs(float64(grown-want)) / float64(want); d > 0.05 {
		t.Fatalf("%d summaries: Bytes() sums to %d, heap grew by %d", n, want, grown)
	}
	runtime.KeepAlive(tks)
}

func TestTopKRoundTrip(t *testing.T) {
	tk := mustTopK(t, 30)
	r := rand.New(rand.NewPCG(8, 9))
	for range 3000 {
		key := fmt.Sprintf("ह%d", r.IntN(200)) // Devanagari keys survive byte for byte
		tk.Add(key, Hash(key), uint32(1+r.IntN(9)))
	}
	b, err := tk.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var d TopK
	if err := d.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Top(), tk.Top()) || d.Total() != tk.Total() || d.K() != 30 || d.Min() != tk.Min() {
		t.Fatal("round trip changed the summary")
	}
	checkTopKInvariants(t, &d, nil)
	b2, _ := d.MarshalBinary()
	if !bytes.Equal(b, b2) {
		t.Fatal("encoding is not canonical")
	}
	// The decoded summary keeps counting correctly.
	d.Add("new", Hash("new"), 1000)
	if c, _, ok := d.Lookup(Hash("new")); !ok || c < 1000 {
		t.Fatalf("after decode, Add lost a key: %d %v", c, ok)
	}
}

func TestTopKUnmarshalRejects(t *testing.T) {
	tk := mustTopK(t, 2)
	tk.Add("a", 1, 5)
	good, _ := tk.MarshalBinary()
	reseal := func(body ...byte) []byte { return seal(kindTopK, body) }
	item := func(h byte, count, err byte, key string) []byte {
		return append([]byte{h, 0, 0, 0, 0, 0, 0, 0, count, err, byte(len(key))}, key...)
	}
	cat := func(parts ...[]byte) []byte { return slices.Concat(parts...) }
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"truncated", good[:len(good)-1], "checksum"},
		{"k zero", reseal(0, 0, 0), "k is 0"},
		{"k huge", reseal(0xff, 0xff, 0xff, 0x7f, 0, 0), "exceeds 1048576"},
		{"more items than k", reseal(2, 9, 3), "exceeds 2"},
		{"items beyond input", reseal(cat([]byte{100, 9, 50}, item(1, 1, 0, ""))...), "need at least 550 bytes"},
		{"count above total", reseal(cat([]byte{2, 4, 1}, item(1, 5, 0, "a"))...), "exceeds 4"},
		{"err above count", reseal(cat([]byte{2, 9, 1}, item(1, 5, 6, "a"))...), "exceeds 5"},
		{"err without eviction", reseal(cat([]byte{2, 9, 1}, item(1, 5, 1, "a"))...), "never filled"},
		{"sum above total", reseal(cat([]byte{2, 9, 2}, item(1, 5, 1, "a"), item(2, 5, 1, "b"))...), "sum to 10"},
		{"duplicate hash", reseal(cat([]byte{2, 9, 2}, item(1, 4, 1, "a"), item(1, 4, 1, "b"))...), "appears twice"},
		{"key beyond input", reseal(cat([]byte{2, 9, 1}, item(1, 4, 0, "a"))[:14]...), "exceeds the"},
		{"trailing", reseal(cat([]byte{2, 9, 1}, item(1, 4, 0, "a"), []byte{0})...), "trailing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := mustTopK(t, 2)
			d.Add("z", 9, 1)
			err := d.UnmarshalBinary(tc.data)
			if err == nil || !errors.Is(err, ErrEncoding) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrEncoding containing %q", err, tc.want)
			}
			if got := d.Top(); len(got) != 1 || got[0].Key != "z" || d.Total() != 1 {
				t.Fatal("a failed decode changed the receiver")
			}
		})
	}
}

// TestAllocSize holds allocSize to the allocator's size classes where it
// spells them out, up to 1 KiB (above, it asks the allocator).
func TestAllocSize(t *testing.T) {
	for n := range 1025 {
		want := 0
		if n > 0 {
			want = cap(append([]byte(nil), make([]byte, n)...))
		}
		if got := allocSize(n); got != want {
			t.Fatalf("allocSize(%d) = %d, the allocator's class is %d", n, got, want)
		}
	}
}
