// Package surges remembers, by term, the buckets the surge detector paged on
// within the last day, so that a term's day-ago level leaves them out
// (detectors.SurgeMemory): a challenge that comes back the next evening is
// judged against an ordinary evening, not against yesterday's surge.
//
// The memory is kept apart from the tracked terms, so a term evicted after
// its surge and tracked again when it comes back still has it, and it is
// bounded: in a flood of surging terms the newest go unremembered.
package surges

import (
	"slices"
	"time"

	"github.com/trendwatch/trendwatch/detectors"
)

// Memory is the surged buckets of every term, by the hash of its key. The
// zero Memory holds nothing and remembers nothing; use New.
type Memory struct {
	terms   map[uint64]*detectors.SurgeMemory
	buckets int // what terms hold, at most max
	max     int
}

// New returns an empty memory of at most max surged buckets.
func New(max int) *Memory {
	return &Memory{terms: make(map[uint64]*detectors.SurgeMemory), max: max}
}

// Remember records that the surge paged on term h's bucket at start, of
// count mentions against expected. It reports false, remembering nothing,
// when the memory holds its bound: a comeback of that term tomorrow is then
// judged against the raw counts.
func (m *Memory) Remember(h uint64, start time.Time, count, expected float64) bool {
	if m.buckets >= m.max {
		return false
	}
	mem := m.terms[h]
	if mem == nil {
		mem = new(detectors.SurgeMemory)
		m.terms[h] = mem
	}
	mem.Remember(start, count, expected)
	m.buckets++
	return true
}

// Excess is what term h's surges added to its counts in the hour around this
// time yesterday (detectors.SurgeMemory.Excess), 0 for a term without any.
func (m *Memory) Excess(h uint64, start time.Time, share detectors.Share) float64 {
	mem := m.terms[h]
	if mem == nil {
		return 0
	}
	return mem.Excess(start, share)
}

// Forget drops the surged buckets before before, and the terms left with
// none.
func (m *Memory) Forget(before time.Time) {
	m.buckets = 0
	for h, mem := range m.terms {
		if mem.Forget(before); mem.Empty() {
			delete(m.terms, h)
		}
		m.buckets += mem.Len()
	}
}

// Len is how many surged buckets the memory holds.
func (m *Memory) Len() int { return m.buckets }

// Terms returns the hashes of the terms with surged buckets, in order: the
// order a checkpoint writes them in.
func (m *Memory) Terms() []uint64 {
	hs := make([]uint64, 0, len(m.terms))
	for h := range m.terms {
		hs = append(hs, h)
	}
	slices.Sort(hs)
	return hs
}

// Buckets returns term h's surged buckets, oldest first; nil for none.
func (m *Memory) Buckets(h uint64) []detectors.SurgedBucket {
	if mem := m.terms[h]; mem != nil {
		return mem.Buckets()
	}
	return nil
}

// Restore takes back term h's surged buckets from a checkpoint, whatever the
// bound: a checkpoint holds what a memory of the same bound held.
func (m *Memory) Restore(h uint64, bs []detectors.SurgedBucket) {
	mem := detectors.RestoreSurgeMemory(bs)
	if old := m.terms[h]; old != nil {
		m.buckets -= old.Len()
	}
	m.terms[h] = &mem
	m.buckets += mem.Len()
}
