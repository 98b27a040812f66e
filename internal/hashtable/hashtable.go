// Package hashtable is a table keyed by 64-bit hashes (of event IDs, of
// content IDs): the engine's sets and indexes on the path of every event.
package hashtable

// Table maps 64-bit hashes (of event IDs, of content IDs) to values in one
// open-addressed table: linear probing, deletion by backward shift, so no
// tombstones pile up as entries come and go. With a value type holding no
// pointers the collector never scans it. It replaced Go maps on the engine's
// path of every event (the event_id filter's set, the join cache's index),
// whose inserts, with a rehash as they grew and a group probe each, were
// 6 % and 5 % of the engine's time.
type Table[V any] struct {
	slots []hashSlot[V] // h 0 is an empty slot; hash 0 is zero
	n     int           // entries in slots
	// hasZero and zero hold hash 0, which an empty slot cannot.
	hasZero bool
	zero    V
}

type hashSlot[V any] struct {
	h uint64
	v V
}

// The table doubles when an insert would fill more than 7 in 10 slots, so as
// it fills it runs between 35 % and 70 % full: short probes, and for the
// event_id filter 11–23 bytes an id. It halves when a removal leaves fewer than one slot in
// eight filled (a quarter full after): a set that grew large once, as the
// event_id filter's does while a restart's backlog holds many buckets open,
// otherwise kept its ids scattered over all its slots, a cache miss on nearly
// every lookup (a few thousand ids over 524,288 slots, 8 MiB, measured in
// BenchmarkEngineSteady). The gap between the two bounds keeps a table whose
// entries come and go from resizing back and forth.
const (
	hashLoadNum, hashLoadDen = 7, 10
	hashShrinkDen            = 8
	hashMinSlots             = 64
)

// Set is a set of hashes.
type Set = Table[struct{}]

// Len is how many hashes the table holds.
func (t *Table[V]) Len() int {
	if t.hasZero {
		return t.n + 1
	}
	return t.n
}

// Get returns h's value and whether h is there.
func (t *Table[V]) Get(h uint64) (V, bool) {
	if h == 0 {
		return t.zero, t.hasZero
	}
	if t.n > 0 {
		mask := uint64(len(t.slots) - 1)
		// Hashes are uniform already: the low bits place them.
		for i := h & mask; t.slots[i].h != 0; i = (i + 1) & mask {
			if t.slots[i].h == h {
				return t.slots[i].v, true
			}
		}
	}
	var none V
	return none, false
}

// Put sets h's value and reports whether h was not there yet.
func (t *Table[V]) Put(h uint64, v V) bool {
	if h == 0 {
		added := !t.hasZero
		t.hasZero, t.zero = true, v
		return added
	}
	if (t.n+1)*hashLoadDen > len(t.slots)*hashLoadNum {
		t.grow()
	}
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch t.slots[i].h {
		case 0:
			t.slots[i] = hashSlot[V]{h, v}
			t.n++
			return true
		case h:
			t.slots[i].v = v
			return false
		}
	}
}

// Add inserts h and reports whether it was not there yet.
func (t *Table[V]) Add(h uint64) bool {
	var v V
	return t.Put(h, v)
}

// Remove deletes h if it is there.
func (t *Table[V]) Remove(h uint64) {
	if h == 0 {
		var none V
		t.hasZero, t.zero = false, none
		return
	}
	if t.n == 0 {
		return
	}
	mask := uint64(len(t.slots) - 1)
	i := h & mask
	for t.slots[i].h != h {
		if t.slots[i].h == 0 {
			return
		}
		i = (i + 1) & mask
	}
	// Backward shift: every entry after the hole, up to the next empty
	// slot, that would not be found from its home slot across the hole
	// moves into it.
	for j := (i + 1) & mask; t.slots[j].h != 0; j = (j + 1) & mask {
		home := t.slots[j].h & mask
		// The entry at j stays unless its home is cyclically outside (i, j].
		if (j-home)&mask >= (j-i)&mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = hashSlot[V]{}
	t.n--
	if len(t.slots) > hashMinSlots && t.n*hashShrinkDen < len(t.slots) {
		t.resize(len(t.slots) / 2)
	}
}

func (t *Table[V]) grow() { t.resize(max(hashMinSlots, 2*len(t.slots))) }

// resize moves the entries into a table of size slots, a power of two.
func (t *Table[V]) resize(size int) {
	old := t.slots
	t.slots = make([]hashSlot[V], size)
	mask := uint64(len(t.slots) - 1)
	for _, s := range old {
		if s.h == 0 {
			continue
		}
		i := s.h & mask
		for t.slots[i].h != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = s
	}
}

// Touch reads the slot where h would be, so that the processor fetches it
// ahead of a Get or Put; what it returns means nothing, but must be kept.
func (t *Table[V]) Touch(h uint64) uint64 {
	if len(t.slots) == 0 {
		return 0
	}
	return t.slots[h&uint64(len(t.slots)-1)].h
}
