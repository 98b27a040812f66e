// Package admission is the tracking door: a term is tracked only on its
// second sighting as a candidate within a bucket.
package admission

import (
	"slices"
	"sort"
	"time"
)

// A term is tracked once the count-min says it reached pipeline.track_min in
// the open bucket. In a flood that proves nothing: the estimate of a tag seen
// once carries the collisions of every other tag (ε·N grows with the
// bucket's volume), so a million one-off hashtags in a minute were tracked by
// the thousand, written as rows with their inflated estimates, and filled
// pipeline.max_tracked ahead of real terms. Subtracting ε·N from the estimate
// refuses those, but also every real term below ε·N, which in a flood is most
// of them.
//
// The door asks for a second, exact piece of evidence, as TinyLFU's
// doorkeeper does: the term must have been a candidate (estimate at the bar)
// once before in the same bucket. The first sighting only records the term's
// 64-bit hash; the second admits it. A tag seen once is never admitted (a
// false admission needs two distinct terms with one 64-bit hash), while a
// real term is admitted one mention later than without the door.
//
// Memory is bounded by a table per open bucket of 4-way groups: group h&mask
// holds up to four candidate hashes, oldest first. It starts small and
// doubles while more than half of it is used, up to pipeline.admission_slots;
// at that size a new candidate in a full group pushes the group's oldest out,
// so under a flood a real term needs two sightings close enough that four
// flood tags did not land in its group in between (the flood's one-offs are
// the oldest, and a term at the bar has several sightings). Buckets close in
// order, so a closed bucket's table is dropped whole.

// Ways is the hashes a group holds; a table's slots are a power of two of
// at least Ways.
const Ways = 4

const doorInitialSlots = 1 << 10

// doorTable is one bucket's door: groups of Ways hashes, each group's
// entries a prefix, oldest first. 0 is empty; hash 0 is stored as 1.
type doorTable struct {
	slots []uint64
	used  int
}

// Door is the tracking door, a table per open bucket. Its methods are not
// safe for concurrent use.
type Door struct {
	maxSlots int // per bucket, a power of two; 0 disables the door
	tables   map[time.Time]*doorTable
	// oldest is the earliest bucket with a table (zero with none), so that
	// CloseBefore, asked at every step of event time, walks the tables only
	// when one is to go.
	oldest time.Time
	// held counts first sightings recorded; evicted counts candidates pushed
	// out before their second sighting.
	held, evicted uint64
}

// Held is how many first sightings the door has recorded, Evicted how many
// candidates it pushed out before their second.
func (d *Door) Held() uint64    { return d.held }
func (d *Door) Evicted() uint64 { return d.evicted }

// Starts lists the buckets with a table, in order, appended to dst.
func (d *Door) Starts(dst []time.Time) []time.Time {
	from := len(dst)
	for start := range d.tables {
		dst = append(dst, start)
	}
	slices.SortFunc(dst[from:], time.Time.Compare)
	return dst
}

// Slots is the table of the bucket starting at start, nil when none: its
// hashes in table order, each group's oldest first, 0 for an empty slot.
// The caller must not keep or change it.
func (d *Door) Slots(start time.Time) []uint64 {
	if t := d.tables[start]; t != nil {
		return t.slots
	}
	return nil
}

// New returns a door of tables of maxSlots slots at most (a power of two;
// 0 disables the door: every candidate is admitted).
func New(maxSlots int) *Door {
	return &Door{maxSlots: maxSlots, tables: make(map[time.Time]*doorTable)}
}

// Admit reports whether the candidate with hash h, in the bucket starting at
// start, was a candidate there before; if not it is remembered, evicted says
// whether that pushed an older candidate out, and full whether the table is
// at pipeline.admission_slots.
func (d *Door) Admit(start time.Time, h uint64) (ok, evicted, full bool) {
	if d.maxSlots <= 0 {
		return true, false, false
	}
	if h == 0 {
		h = 1
	}
	t := d.tables[start]
	if t == nil {
		t = &doorTable{slots: make([]uint64, min(doorInitialSlots, d.maxSlots))}
		d.tables[start] = t
		if d.oldest.IsZero() || start.Before(d.oldest) {
			d.oldest = start
		}
	}
	g := t.group(h)
	n := 0
	for ; n < Ways && g[n] != 0; n++ {
		if g[n] == h {
			// Admitted: it leaves the door, the younger ones move up.
			copy(g[n:], g[n+1:])
			g[Ways-1] = 0
			t.used--
			return true, false, false
		}
	}
	d.held++
	if n == Ways {
		copy(g, g[1:])
		g[Ways-1] = h
		d.evicted++
		return false, true, len(t.slots) >= d.maxSlots
	}
	g[n] = h
	t.used++
	if 2*t.used > len(t.slots) && len(t.slots) < d.maxSlots {
		t.slots = t.rehash(2 * len(t.slots))
	}
	return false, false, len(t.slots) >= d.maxSlots
}

func (t *doorTable) group(h uint64) []uint64 {
	i := int(h&uint64(len(t.slots)/Ways-1)) * Ways
	return t.slots[i : i+Ways]
}

// rehash returns the entries in a table of n slots, in their order. Doubling
// splits each group into two, so every entry finds room.
func (t *doorTable) rehash(n int) []uint64 {
	nt := doorTable{slots: make([]uint64, n)}
	for _, h := range t.slots {
		if h != 0 {
			nt.append(h)
		}
	}
	return nt.slots
}

// append puts h after its group's entries; false when the group is full.
func (t *doorTable) append(h uint64) bool {
	g := t.group(h)
	for i := range g {
		if g[i] == 0 {
			g[i] = h
			return true
		}
	}
	return false
}

// CloseBefore drops the tables of buckets before closed.
func (d *Door) CloseBefore(closed time.Time) {
	if len(d.tables) == 0 || !d.oldest.Before(closed) {
		return
	}
	d.oldest = time.Time{}
	for start := range d.tables {
		if start.Before(closed) {
			delete(d.tables, start)
		} else if d.oldest.IsZero() || start.Before(d.oldest) {
			d.oldest = start
		}
	}
}

// Bytes is what the tables hold.
func (d *Door) Bytes() int {
	n := 0
	for _, t := range d.tables {
		n += 8 * len(t.slots)
	}
	return n
}

// Snap is one bucket's table in a checkpoint: its size and the hashes
// it holds, in table order, so that each group gets its entries back in
// the order they came.
type Snap struct {
	Start  time.Time
	Slots  int
	Hashes []uint64
}

// Snap lists the tables by bucket.
func (d *Door) Snap() []Snap {
	out := make([]Snap, 0, len(d.tables))
	for start, t := range d.tables {
		s := Snap{Start: start, Slots: len(t.slots), Hashes: make([]uint64, 0, t.used)}
		for _, h := range t.slots {
			if h != 0 {
				s.Hashes = append(s.Hashes, h)
			}
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// Restore replaces the tables with a checkpoint's. A table larger than
// pipeline.admission_slots now allows is kept at its size until its bucket
// closes: shrinking it would forget candidates the run before remembered.
// A table may come in several pieces (a chunked snapshot), in order.
func (d *Door) Restore(snaps []Snap) {
	d.tables = make(map[time.Time]*doorTable, len(snaps))
	d.oldest = time.Time{}
	for _, s := range snaps {
		if s.Slots < Ways || s.Slots&(s.Slots-1) != 0 {
			continue // not written by Snap
		}
		// Never larger than this door's tables grow: a snapshot's size is
		// read before its hashes, and a corrupt one must not allocate
		// gigabytes. The hashes are placed again, in a smaller table if
		// pipeline.admission_slots shrank since (those that do not fit need
		// one more sighting).
		size := min(s.Slots, max(d.maxSlots, Ways))
		t := d.tables[s.Start]
		if t == nil || len(t.slots) != size {
			t = &doorTable{slots: make([]uint64, size)}
		}
		for _, h := range s.Hashes {
			if t.append(h) {
				t.used++
			}
		}
		d.tables[s.Start] = t
		if d.oldest.IsZero() || s.Start.Before(d.oldest) {
			d.oldest = s.Start
		}
	}
}
