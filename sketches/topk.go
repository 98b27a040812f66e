package sketches

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"unsafe"

	"github.com/trendwatch/trendwatch/internal/binenc"
)

// MaxTopK bounds k, so that a config typo or a corrupt checkpoint cannot ask for
// gigabytes.
const MaxTopK = 1 << 20

// Item is one heavy hitter. Its true count lies in [Count−Err, Count].
type Item struct {
	Key   string
	Hash  uint64
	Count uint64 // upper bound of the true count
	Err   uint64 // maximum overestimate: Count−Err is a lower bound
}

// TopK finds the heavy hitters of a stream with Space-Saving (Metwally, Agrawal and
// El Abbadi 2005) over k counters.
//
// Guarantee, for a stream of total N (Total): every key whose true count exceeds
// Min() ≤ N/k is in the summary; each item's true count lies in [Count−Err, Count]
// with Err ≤ Min(); and a key not in the summary occurred at most Min() times.
// Merge keeps the same guarantee for the union with N = N1+N2 (Cafaro, Pulimeno and
// Tempesta 2016): a key missing from one side is credited with that side's Min as
// both count and error, and the k largest are kept.
//
// Why Space-Saving and not HeavyKeeper: HeavyKeeper's exponential-decay buckets
// give better top-k precision per byte, but its guarantee is probabilistic, its
// counters are not mergeable (decay depends on arrival order, so the sum of two
// HeavyKeepers bounds nothing), and its counts are underestimates. trendwatch merges
// top-K summaries across instances, and a detector nominated by a top-K must not
// miss a term because of an unlucky decay, so the deterministic, mergeable bound
// wins. Space-Saving's weakness, churn of tail keys through the minimum counter,
// only costs speed, and a 4-ary min-heap keeps that O(log k) with few cache lines.
//
// Keys are identified by their 64-bit hash; two keys with the same hash are one
// key, keeping the first spelling seen. A counter keeps the key string it was
// given rather than a copy, so a caller must not hand in a string that pins a
// larger buffer; the engine hands in its cached term keys. A counter changing
// hands, which Space-Saving does for most mentions of tail terms, is then two
// words written instead of a copy into the counter's own buffer elsewhere in
// the heap, and the heavy hitters a bucket close reads come without a string
// made for each (0.6 of the engine's 1.6 allocations per event).
type TopK struct {
	k        int
	total    uint64
	entries  []tkEntry
	heap     []tkNode // a 4-ary min-heap by count; counts live here, next to each other
	slots    []uint64 // open addressing on the hash: fingerprint<<32 | entry id+1, 0 when empty
	shift    uint     // 64 − log2(len(slots))
	keyBytes int      // allocation size of the keys of entries[:cap(entries)], which t keeps alive
}

type tkEntry struct {
	hash uint64
	err  uint64
	key  string
	pos  int32 // in heap
	slot int32 // in slots
}

type tkNode struct {
	count uint64
	id    int32
}

// NewTopK returns an empty summary of k counters, k in [1, MaxTopK]. Memory grows
// with use up to TopKMaxBytes(k, longest key).
func NewTopK(k int) (*TopK, error) {
	if k < 1 || k > MaxTopK {
		return nil, fmt.Errorf("top-k: k must be in [1, %d], got %d", MaxTopK, k)
	}
	return &TopK{k: k}, nil
}

const fib64 = 0x9E3779B97F4A7C15

// home is a slot's home position, computed from the hash's upper 32 bits (its
// fingerprint) alone, so that the table can be probed and reorganised without
// visiting the entries.
func (t *TopK) home(fp uint64) int { return int((fp * fib64) >> t.shift) }

func slotValue(h uint64, id int32) uint64 { return h&^(1<<32-1) | uint64(id+1) }

// find returns the slot holding h, or the empty slot where it would go, and the
// entry id (−1 when absent). The fingerprint in the slot spares a visit to the
// entry for most non-matching slots.
func (t *TopK) find(h uint64) (int, int32) {
	mask := len(t.slots) - 1
	fp := h >> 32
	i := t.home(fp)
	for {
		s := t.slots[i]
		if s == 0 {
			return i, -1
		}
		if s>>32 == fp {
			if id := int32(uint32(s)) - 1; t.entries[id].hash == h {
				return i, id
			}
		}
		i = (i + 1) & mask
	}
}

func (t *TopK) setSlot(i int, s uint64) {
	t.slots[i] = s
	t.entries[uint32(s)-1].slot = int32(i)
}

// unslot empties slot i, shifting back the entries of its probe run (linear
// probing deletion without tombstones).
func (t *TopK) unslot(i int) {
	mask := len(t.slots) - 1
	for {
		t.slots[i] = 0
		j := i
		for {
			j = (j + 1) & mask
			s := t.slots[j]
			if s == 0 {
				return
			}
			home := t.home(s >> 32)
			// The entry at j may stay unless its home lies cyclically in (i, j].
			if i <= j {
				if i < home && home <= j {
					continue
				}
			} else if i < home || home <= j {
				continue
			}
			t.setSlot(i, s)
			i = j
			break
		}
	}
}

// growSlots keeps the table at most half full for n entries.
func (t *TopK) growSlots(n int) {
	if 2*n <= len(t.slots) {
		return
	}
	size := max(8, nextPow2(2*n))
	t.slots = make([]uint64, size)
	t.shift = uint(64 - bits.TrailingZeros(uint(size)))
	mask := size - 1
	for id := range t.entries {
		h := t.entries[id].hash
		i := t.home(h >> 32)
		for t.slots[i] != 0 {
			i = (i + 1) & mask
		}
		t.setSlot(i, slotValue(h, int32(id)))
	}
}

// up and down move the node at i until the heap is ordered again, carrying it
// in hand rather than swapping at every level.
func (t *TopK) up(i int) {
	h := t.heap
	node := h[i]
	for i > 0 {
		p := (i - 1) / 4
		if h[p].count <= node.count {
			break
		}
		h[i] = h[p]
		t.entries[h[i].id].pos = int32(i)
		i = p
	}
	h[i] = node
	t.entries[node.id].pos = int32(i)
}

func (t *TopK) down(i int) {
	h := t.heap
	n := len(h)
	node := h[i]
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m, mc := c, h[c].count
		if c+3 < n {
			// All four children: pick the smallest without branches, which
			// would mispredict on ties, the usual case at the bottom of the heap.
			kids := h[c : c+4 : c+4]
			m1, c1 := c, kids[0].count
			if kids[1].count < c1 {
				m1, c1 = c+1, kids[1].count
			}
			m2, c2 := c+2, kids[2].count
			if kids[3].count < c2 {
				m2, c2 = c+3, kids[3].count
			}
			m, mc = m1, c1
			if c2 < c1 {
				m, mc = m2, c2
			}
		} else {
			for j := c + 1; j < n; j++ {
				if h[j].count < mc {
					m, mc = j, h[j].count
				}
			}
		}
		if mc >= node.count {
			break
		}
		h[i] = h[m]
		t.entries[h[i].id].pos = int32(i)
		i = m
	}
	h[i] = node
	t.entries[node.id].pos = int32(i)
}

// setKey gives e the key, kept as given (see TopK).
func (t *TopK) setKey(e *tkEntry, key string) {
	t.keyBytes += allocSize(len(key)) - allocSize(len(e.key))
	e.key = key
}

// allocSize is the heap a string of n bytes takes, the Go allocator's size
// class: a counter keeps its key alive, and Bytes counts it as if no one else
// did. Term keys are short; the classes above 1 KiB are asked of the
// allocator itself, at the price of an allocation.
func allocSize(n int) int {
	switch {
	case n == 0:
		return 0
	case n <= 8:
		return 8
	case n <= 16:
		return 16
	case n <= 24:
		return 24
	case n <= 32:
		return 32
	case n <= 48:
		return 48
	case n <= 256:
		return (n + 15) &^ 15
	case n <= 512:
		return (n + 31) &^ 31
	case n <= 768:
		return (n + 63) &^ 63
	case n <= 896:
		return 896
	case n <= 1024:
		return 1024
	}
	return cap(append([]byte(nil), make([]byte, n)...))
}

// push appends an entry, growing the arrays towards k without overshooting it so
// that memory stays within TopKMaxBytes.
func (t *TopK) push(key string, h, count, errBound uint64) {
	n := len(t.entries)
	if n == cap(t.entries) {
		c := min(max(8, 2*n), t.k)
		e := make([]tkEntry, n, c)
		copy(e[:cap(t.entries)], t.entries[:cap(t.entries)])
		t.entries = e
		hp := make([]tkNode, n, c)
		copy(hp, t.heap)
		t.heap = hp
	}
	t.growSlots(n + 1)
	t.entries = t.entries[:n+1]
	e := &t.entries[n]
	e.hash, e.err = h, errBound
	t.setKey(e, key)
	i, _ := t.find(h)
	t.setSlot(i, slotValue(h, int32(n)))
	t.heap = append(t.heap, tkNode{count: count, id: int32(n)})
	t.up(n)
}

// Add counts n more occurrences of key, whose hash is h.
func (t *TopK) Add(key string, h uint64, n uint32) {
	if n == 0 {
		return
	}
	t.total = satAdd(t.total, uint64(n))
	if len(t.slots) > 0 {
		_, id := t.find(h)
		if id >= 0 {
			pos := t.entries[id].pos
			t.heap[pos].count = satAdd(t.heap[pos].count, uint64(n))
			t.down(int(pos))
			return
		}
		if len(t.entries) == t.k {
			// Space-Saving: the newcomer takes over the smallest counter, whose
			// count bounds how often it may have been seen before.
			root := &t.heap[0]
			e := &t.entries[root.id]
			t.unslot(int(e.slot))
			i, _ := t.find(h)
			t.setSlot(i, slotValue(h, root.id))
			e.hash = h
			e.err = root.count
			root.count = satAdd(root.count, uint64(n))
			t.setKey(e, key)
			t.down(0)
			return
		}
	}
	t.push(key, h, uint64(n), 0)
}

func (t *TopK) count(id int32) uint64 { return t.heap[t.entries[id].pos].count }

func satAdd(a, b uint64) uint64 {
	s := a + b
	if s < a {
		return math.MaxUint64
	}
	return s
}

// Min is the count of the smallest counter when all k are in use, else 0: no key
// outside the summary occurred more often, and no item's Err exceeds it.
func (t *TopK) Min() uint64 {
	if len(t.entries) < t.k {
		return 0
	}
	return t.heap[0].count
}

// Lookup returns the bounds of the key whose hash is h, if it is in the summary.
func (t *TopK) Lookup(h uint64) (count, errBound uint64, ok bool) {
	if len(t.slots) == 0 {
		return 0, 0, false
	}
	_, id := t.find(h)
	if id < 0 {
		return 0, 0, false
	}
	return t.count(id), t.entries[id].err, true
}

// Top returns every item, the largest count first (ties by hash, so the order is
// deterministic).
func (t *TopK) Top() []Item {
	items := make([]Item, len(t.entries))
	for i := range t.entries {
		e := &t.entries[i]
		items[i] = Item{Key: e.key, Hash: e.hash, Count: t.count(int32(i)), Err: e.err}
	}
	slices.SortFunc(items, compareItems)
	return items
}

// AppendHeavy appends to dst the items whose guaranteed count Count−Err is
// at least min, in Top's order, and returns the extended slice: only those,
// of k counters most of which are below any useful bar.
func (t *TopK) AppendHeavy(dst []Item, min uint64) []Item {
	from := len(dst)
	for i := range t.entries {
		e := &t.entries[i]
		if c := t.count(int32(i)); c-e.err >= min {
			dst = append(dst, Item{Hash: e.hash, Count: c, Err: e.err})
		}
	}
	heavy := dst[from:]
	slices.SortFunc(heavy, compareItems)
	for i := range heavy {
		// Hashes are unique in the summary.
		_, id := t.find(heavy[i].Hash)
		heavy[i].Key = t.entries[id].key
	}
	return dst
}

// compareItems orders items by count, largest first, ties by hash.
func compareItems(a, b Item) int {
	if c := cmp.Compare(b.Count, a.Count); c != 0 {
		return c
	}
	return cmp.Compare(a.Hash, b.Hash)
}

// K is the number of counters.
func (t *TopK) K() int { return t.k }

// Len is the number of counters in use.
func (t *TopK) Len() int { return len(t.entries) }

// Total is N, the sum of every n added (saturating).
func (t *TopK) Total() uint64 { return t.total }

// Reset empties t, keeping its memory, key buffers included.
func (t *TopK) Reset() {
	t.entries = t.entries[:0]
	t.heap = t.heap[:0]
	clear(t.slots)
	t.total = 0
}

// Bytes is the memory t holds: counters, heap, hash table, key buffers and header.
func (t *TopK) Bytes() int {
	return int(unsafe.Sizeof(TopK{})) + cap(t.entries)*int(unsafe.Sizeof(tkEntry{})) +
		t.keyBytes + cap(t.heap)*int(unsafe.Sizeof(tkNode{})) + 8*cap(t.slots)
}

// TopKMaxBytes is the most a TopK of k counters can hold when no key is longer
// than maxKey bytes.
func TopKMaxBytes(k, maxKey int) int {
	keyCap := allocSize(maxKey)
	return int(unsafe.Sizeof(TopK{})) + k*(int(unsafe.Sizeof(tkEntry{}))+keyCap+int(unsafe.Sizeof(tkNode{}))) + 8*max(8, nextPow2(2*k))
}

// Merge adds o's counts to t, so t summarises the union of both streams with the
// guarantee stated on TopK. k must be equal.
func (t *TopK) Merge(o *TopK) error {
	if t.k != o.k {
		return fmt.Errorf("top-k: cannot merge k=%d into k=%d", o.k, t.k)
	}
	if len(o.entries) == 0 {
		t.total = satAdd(t.total, o.total)
		return nil
	}
	tMin, oMin := t.Min(), o.Min()
	type cand struct {
		hash, count, err uint64
		key              string
	}
	cands := make([]cand, 0, len(t.entries)+len(o.entries))
	for i := range t.entries {
		e := &t.entries[i]
		c := cand{hash: e.hash, key: e.key}
		ec := t.count(int32(i))
		if oc, oe, ok := o.Lookup(e.hash); ok {
			c.count, c.err = satAdd(ec, oc), satAdd(e.err, oe)
		} else {
			c.count, c.err = satAdd(ec, oMin), satAdd(e.err, oMin)
		}
		cands = append(cands, c)
	}
	for i := range o.entries {
		e := &o.entries[i]
		if _, _, ok := t.Lookup(e.hash); ok {
			continue
		}
		cands = append(cands, cand{hash: e.hash, key: e.key, count: satAdd(o.count(int32(i)), tMin), err: satAdd(e.err, tMin)})
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if c := cmp.Compare(b.count, a.count); c != 0 {
			return c
		}
		return cmp.Compare(a.hash, b.hash)
	})
	cands = cands[:min(len(cands), t.k)]
	total := satAdd(t.total, o.total)
	t.Reset()
	for _, c := range cands {
		t.push(c.key, c.hash, c.count, c.err)
	}
	t.total = total
	return nil
}

// MarshalBinary encodes t. Body: k, total, item count, then per item in Top order
// the hash (8 bytes little endian), count, err, key length and key bytes. The
// order makes the encoding canonical: equal summaries encode equally.
func (t *TopK) MarshalBinary() ([]byte, error) { return t.AppendBinary(nil) }

// AppendBinary appends the encoding of t to dst.
func (t *TopK) AppendBinary(dst []byte) ([]byte, error) {
	start := len(dst)
	dst = envelope.AppendHeader(dst, kindTopK)
	dst = binenc.AppendUvarint(dst, uint64(t.k))
	dst = binenc.AppendUvarint(dst, t.total)
	dst = binenc.AppendUvarint(dst, uint64(len(t.entries)))
	order := make([]int32, len(t.entries))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if c := cmp.Compare(t.count(b), t.count(a)); c != 0 {
			return c
		}
		return cmp.Compare(t.entries[a].hash, t.entries[b].hash)
	})
	for _, id := range order {
		e := &t.entries[id]
		dst = binenc.AppendU64(dst, e.hash)
		dst = binenc.AppendUvarint(dst, t.count(id))
		dst = binenc.AppendUvarint(dst, e.err)
		dst = binenc.AppendString(dst, e.key)
	}
	return envelope.Seal(dst, start), nil
}

// UnmarshalBinary replaces t with the summary data encodes. It checks the item
// count against k and the input length, that hashes are distinct, that
// Err ≤ Count ≤ total and that the counts sum to at most the total. On error t is
// unchanged.
func (t *TopK) UnmarshalBinary(data []byte) error {
	body, _, err := envelope.Open(data, kindTopK)
	if err != nil {
		return err
	}
	r := binenc.NewReader(ErrEncoding, "top-k", body)
	k := r.UvarintMax("k", MaxTopK)
	total := r.Uvarint("total")
	// An item takes at least 11 bytes: hash, count, err and key length.
	n := r.UvarintMax("item count", k)
	if r.Err() == nil && k == 0 {
		r.Failf("k is 0")
	}
	if r.Err() == nil && n > uint64(r.Remaining()/11) {
		r.Failf("%d items need at least %d bytes, have %d", n, 11*n, r.Remaining())
	}
	if err := r.Err(); err != nil {
		return err
	}
	type item struct {
		hash, count, err uint64
		key              string
	}
	items := make([]item, n)
	var sum uint64
	for i := range items {
		it := &items[i]
		it.hash = r.U64("hash")
		it.count = r.UvarintMax("count", total)
		it.err = r.UvarintMax("err", it.count)
		it.key = r.String("key")
		if err := r.Err(); err != nil {
			return err
		}
		if n < k && it.err != 0 {
			// Errors only arise from evictions, which only happen when all k
			// counters are in use, and a merge that overflows keeps exactly k.
			r.Failf("item %d has err %d in a summary that never filled", i, it.err)
			return r.Err()
		}
		sum = satAdd(sum, it.count)
	}
	if err := r.End(); err != nil {
		return err
	}
	if sum > total {
		return fmt.Errorf("%w: top-k: counts sum to %d, above the total %d", ErrEncoding, sum, total)
	}
	seen := make(map[uint64]struct{}, n)
	for i := range items {
		if _, dup := seen[items[i].hash]; dup {
			return fmt.Errorf("%w: top-k: hash %016x appears twice", ErrEncoding, items[i].hash)
		}
		seen[items[i].hash] = struct{}{}
	}
	if t.k != int(k) {
		*t = TopK{k: int(k)}
	}
	t.Reset()
	for i := range items {
		t.push(items[i].key, items[i].hash, items[i].count, items[i].err)
	}
	t.total = total
	return nil
}
