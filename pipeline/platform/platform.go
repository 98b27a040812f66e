// Package platform holds what the whole platform did in each open bucket of
// event time, beyond what the sketch window counts: its unique creators, and
// the mentions of term families, which the window counts with the rest and
// the platform's totals must leave out, or every hashtag would count twice.
// From them and a window bucket it makes the norm the detectors judge a term
// against (detectors.Platform), one way for the bucket close and the early
// looks alike.
package platform

import (
	"fmt"
	"slices"
	"time"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/sketches"
)

// Buckets is the platform's counts of each open bucket, by the bucket's
// start. Its methods are not safe for concurrent use: the engine's goroutine
// owns it.
type Buckets struct {
	creators map[time.Time]*sketches.HLL
	families map[time.Time]*uint64
	// Nearly every event falls in the bucket of the one before, and a map
	// keyed by time.Time is slow to hash: the last bucket of each is kept at
	// hand. An entry goes only when its bucket closes.
	lastCreatorsStart time.Time
	lastCreators      *sketches.HLL
	lastFamilyStart   time.Time
	lastFamily        *uint64
}

// New returns empty counts.
func New() *Buckets {
	return &Buckets{creators: make(map[time.Time]*sketches.HLL), families: make(map[time.Time]*uint64)}
}

// Creators is the platform's unique creators of the open bucket at start,
// to insert a creator into.
func (p *Buckets) Creators(start time.Time) *sketches.HLL {
	if p.lastCreators != nil && p.lastCreatorsStart.Equal(start) {
		return p.lastCreators
	}
	h := p.creators[start]
	if h == nil {
		h = newHLL()
		p.creators[start] = h
	}
	p.lastCreatorsStart, p.lastCreators = start, h
	return h
}

// FamilyMention counts one mention of a term family in the open bucket at
// start.
func (p *Buckets) FamilyMention(start time.Time) {
	if p.lastFamily == nil || !p.lastFamilyStart.Equal(start) {
		n := p.families[start]
		if n == nil {
			n = new(uint64)
			p.families[start] = n
		}
		p.lastFamilyStart, p.lastFamily = start, n
	}
	*p.lastFamily++
}

// Open is the platform's norm in the open window bucket b so far. Its
// unique creators and mentions per creator are left at zero: a partial
// bucket understates them, and the detectors that read them wait for the
// close.
func (p *Buckets) Open(b *sketches.Bucket) detectors.Platform {
	norm := detectors.Platform{
		Mentions: float64(b.Mentions.Total() - p.familyMentions(b.Start)),
		Events:   float64(b.Events),
		Reports:  float64(b.ReportEvents),
	}
	if b.Events > 0 {
		norm.ReportRate = float64(b.ReportEvents) / float64(b.Events)
	}
	return norm
}

// Close is the platform's norm in window bucket b, which has closed, with
// its unique creators; it forgets b's counts. MentionsPerCreator is the
// caller's: it is a median over the terms judged.
func (p *Buckets) Close(b *sketches.Bucket) detectors.Platform {
	norm := p.Open(b)
	if h := p.creators[b.Start]; h != nil {
		norm.UniqueCreators = h.Estimate()
		delete(p.creators, b.Start)
		if h == p.lastCreators {
			p.lastCreators = nil
		}
	}
	if n := p.families[b.Start]; n != nil {
		delete(p.families, b.Start)
		if n == p.lastFamily {
			p.lastFamily = nil
		}
	}
	return norm
}

func (p *Buckets) familyMentions(start time.Time) uint64 {
	if n := p.families[start]; n != nil {
		return *n
	}
	return 0
}

// EachCreators calls fn with each open bucket's unique creators, oldest
// first (the checkpoint's order), and stops at its first error.
func (p *Buckets) EachCreators(fn func(start time.Time, h *sketches.HLL) error) error {
	for _, start := range sortedStarts(p.creators) {
		if err := fn(start, p.creators[start]); err != nil {
			return err
		}
	}
	return nil
}

// EachFamilyMentions calls fn with each open bucket's family mentions,
// oldest first.
func (p *Buckets) EachFamilyMentions(fn func(start time.Time, n uint64)) {
	for _, start := range sortedStarts(p.families) {
		fn(start, *p.families[start])
	}
}

// Buckets is how many open buckets hold counts of either kind.
func (p *Buckets) Buckets() (creators, families int) { return len(p.creators), len(p.families) }

// RestoreCreators sets the unique creators of the open bucket at start from
// their encoding (sketches.HLL.MarshalBinary), as a checkpoint holds them.
func (p *Buckets) RestoreCreators(start time.Time, enc []byte) error {
	h := newHLL()
	if err := h.UnmarshalBinary(enc); err != nil {
		return fmt.Errorf("platform creators of %s: %w", start, err)
	}
	p.creators[start] = h
	if p.lastCreatorsStart.Equal(start) {
		p.lastCreators = nil
	}
	return nil
}

// RestoreFamilyMentions sets the family mentions of the open bucket at
// start.
func (p *Buckets) RestoreFamilyMentions(start time.Time, n uint64) {
	p.families[start] = &n
	if p.lastFamilyStart.Equal(start) {
		p.lastFamily = nil
	}
}

func newHLL() *sketches.HLL {
	h, err := sketches.NewHLL(sketches.DefaultHLLPrecision)
	if err != nil {
		panic(err) // the default precision is valid
	}
	return h
}

func sortedStarts[V any](m map[time.Time]V) []time.Time {
	starts := make([]time.Time, 0, len(m))
	for start := range m {
		starts = append(starts, start)
	}
	slices.SortFunc(starts, time.Time.Compare)
	return starts
}
