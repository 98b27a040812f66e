package pipeline

// idSet is a set of 64-bit ids (event_id hashes) in one open-addressed table:
// linear probing, deletion by backward shift, so no tombstones pile up as the
// filter's buckets come and go. It holds no pointers, so the collector never
// scans it. It replaced a map[uint64]struct{}, whose inserts (a rehash as it
// grew, a group probe each) were 6 % of the engine's time: one an event.
type idSet struct {
	slots []uint64 // 0 is an empty slot; id 0 is hasZero
	n     int      // ids in slots
	// hasZero holds id 0, which an empty slot cannot.
	hasZero bool
}

// idSetLoad is the share of slots in use that doubles the table: from 35 % to
// 70 %, 11–23 bytes an id, with short probes.
const (
	idSetLoadNum, idSetLoadDen = 7, 10
	idSetMinSlots              = 64
)

func (s *idSet) len() int {
	if s.hasZero {
		return s.n + 1
	}
	return s.n
}

// add inserts id and reports whether it was not there yet.
func (s *idSet) add(id uint64) bool {
	if id == 0 {
		added := !s.hasZero
		s.hasZero = true
		return added
	}
	if (s.n+1)*idSetLoadDen > len(s.slots)*idSetLoadNum {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	// Ids are xxhash values, uniform already: the low bits place them.
	for i := id & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case 0:
			s.slots[i] = id
			s.n++
			return true
		case id:
			return false
		}
	}
}

// remove deletes id if it is there.
func (s *idSet) remove(id uint64) {
	if id == 0 {
		s.hasZero = false
		return
	}
	if s.n == 0 {
		return
	}
	mask := uint64(len(s.slots) - 1)
	i := id & mask
	for s.slots[i] != id {
		if s.slots[i] == 0 {
			return
		}
		i = (i + 1) & mask
	}
	// Backward shift: every id after the hole, up to the next empty slot,
	// that would not be found from its home slot across the hole moves
	// into it.
	for j := (i + 1) & mask; s.slots[j] != 0; j = (j + 1) & mask {
		home := s.slots[j] & mask
		// The id at j stays unless its home is cyclically outside (i, j].
		if (j-home)&mask >= (j-i)&mask {
			s.slots[i] = s.slots[j]
			i = j
		}
	}
	s.slots[i] = 0
	s.n--
}

func (s *idSet) grow() {
	old := s.slots
	s.slots = make([]uint64, max(idSetMinSlots, 2*len(old)))
	s.n = 0
	mask := uint64(len(s.slots) - 1)
	for _, id := range old {
		if id == 0 {
			continue
		}
		i := id & mask
		for s.slots[i] != 0 {
			i = (i + 1) & mask
		}
		s.slots[i] = id
		s.n++
	}
}
