// Package platform holds what the whole platform did in each open bucket of
// event time, beyond what the sketch window counts: the mentions of term
// families, which the window counts with the rest and the platform's totals
// must leave out, or every hashtag would count twice. (It counted the
// platform's unique creators too until 7 December 2026, which nothing read.)
// From them and a window bucket it makes the norm the detectors judge a term
// against (detectors.Platform), one way for the bucket close and the early
// looks alike.
package platform

import (
	"slices"
	"time"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/sketches"
)

// Buckets is the platform's counts of each open bucket, by the bucket's
// start. Its methods are not safe for concurrent use: the engine's goroutine
// owns it.
type Buckets struct {
	families map[time.Time]*uint64
	// Nearly every mention falls in the bucket of the one before, and a map
	// keyed by time.Time is slow to hash: the last bucket is kept at hand.
	// An entry goes only when its bucket closes.
	lastFamilyStart time.Time
	lastFamily      *uint64
}

// New returns empty counts.
func New() *Buckets {
	return &Buckets{families: make(map[time.Time]*uint64)}
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
// mentions per creator are left at zero: a partial bucket understates them,
// and the detectors that read them wait for the close.
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

// Close is the platform's norm in window bucket b, which has closed; it
// forgets b's counts. MentionsPerCreator is the caller's: it is a median
// over the terms judged.
func (p *Buckets) Close(b *sketches.Bucket) detectors.Platform {
	norm := p.Open(b)
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

// EachFamilyMentions calls fn with each open bucket's family mentions,
// oldest first.
func (p *Buckets) EachFamilyMentions(fn func(start time.Time, n uint64)) {
	for _, start := range sortedStarts(p.families) {
		fn(start, *p.families[start])
	}
}

// Buckets is how many open buckets hold family mentions.
func (p *Buckets) Buckets() int { return len(p.families) }

// RestoreFamilyMentions sets the family mentions of the open bucket at
// start.
func (p *Buckets) RestoreFamilyMentions(start time.Time, n uint64) {
	p.families[start] = &n
	if p.lastFamilyStart.Equal(start) {
		p.lastFamily = nil
	}
}

func sortedStarts[V any](m map[time.Time]V) []time.Time {
	starts := make([]time.Time, 0, len(m))
	for start := range m {
		starts = append(starts, start)
	}
	slices.SortFunc(starts, time.Time.Compare)
	return starts
}
