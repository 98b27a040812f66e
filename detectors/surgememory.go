package detectors

import (
	"math"
	"time"
)

// A term's day-ago level (Observation.DayAgo) is a second expectation, so that
// a term that peaks every evening is judged against its evening. Made of raw
// counts, it remembers yesterday's surge: a challenge that comes back the next
// evening, at the hour it surged, is judged against an evening that held a
// surge and is missed. The baseline, the dispersion and the tail forget a
// surge (buckets judged part of one teach them nothing); SurgeMemory lets the
// day-ago level forget it too. Each bucket the surge pages on is remembered
// with its excess, the count above its expectation, and the day-ago level is
// the hour's count less the excess remembered within it.
//
// Unless the surge is the term's rhythm: a bucket the surge pages on when the
// hour around the same time the day before held such a bucket too is
// remembered with no excess, so a surge two days running at one hour (a
// show's nightly hashtag) makes the next day's expectation, and pages on its
// first two evenings only. One day of memory cannot tell a returning challenge
// from a nightly show; two can. See detectors/README.md, "A surge at the same
// hour the next day".

// SurgedBucket is one bucket a term's surge paged on.
type SurgedBucket struct {
	Start time.Time
	// Excess is the count above the bucket's expectation that the day-ago
	// level leaves out; 0 for a rhythm bucket.
	Excess float64
	Rhythm bool
}

// dayAgoSpan is where the day-ago level of a bucket at t looks:
// [t-dayAgoBack, t-dayAgoBack+dayAgoSpan), the hour around this time
// yesterday.
const (
	dayAgoBack = 24*time.Hour + 30*time.Minute
	dayAgoSpan = time.Hour
)

// DayAgoFrom is the start of the hour the day-ago level of a bucket starting
// at t covers; it ends an hour later.
func DayAgoFrom(t time.Time) time.Time { return t.Add(-dayAgoBack) }

// SurgeMemory is the buckets a term's surge paged on over the last day and a
// half-hour, oldest first: what the day-ago levels still to be asked for can
// cover. The zero value remembers nothing.
type SurgeMemory struct {
	buckets []surged
}

// surged is a SurgedBucket in 16 bytes: a memory may hold a day of buckets.
type surged struct {
	start  int64 // Unix nanoseconds
	excess float32
	rhythm bool
}

// RestoreSurgeMemory is the memory that Buckets returned, for a restore.
func RestoreSurgeMemory(bs []SurgedBucket) SurgeMemory {
	m := SurgeMemory{buckets: make([]surged, len(bs))}
	for i, b := range bs {
		m.buckets[i] = surged{start: b.Start.UnixNano(), excess: float32(b.Excess), rhythm: b.Rhythm}
	}
	return m
}

// Buckets returns the buckets remembered, oldest first, in UTC.
func (m *SurgeMemory) Buckets() []SurgedBucket {
	out := make([]SurgedBucket, len(m.buckets))
	for i, b := range m.buckets {
		out[i] = SurgedBucket{Start: time.Unix(0, b.start).UTC(), Excess: float64(b.excess), Rhythm: b.rhythm}
	}
	return out
}

// Len is how many buckets are remembered.
func (m *SurgeMemory) Len() int { return len(m.buckets) }

// Empty reports whether nothing is remembered.
func (m *SurgeMemory) Empty() bool { return len(m.buckets) == 0 }

// Remember records that the surge paged on the bucket starting at start, of
// count mentions against expected. Buckets come in time order.
func (m *SurgeMemory) Remember(start time.Time, count, expected float64) {
	b := surged{start: start.UnixNano()}
	if m.surgedIn(DayAgoFrom(start)) {
		b.rhythm = true
	} else if count > expected && !math.IsNaN(expected) {
		b.excess = float32(count - expected)
	}
	m.buckets = append(m.buckets, b)
}

// Forget drops the buckets that start before before: those the day-ago level
// of no bucket still to be judged covers. That level is asked for the bucket
// the tail learns too (Observation.LearnDayAgo), Set.LearnLag buckets before
// the one judged, and where counts are pro-rated from coarser buckets a
// bucket before the hour counts in it too.
func (m *SurgeMemory) Forget(before time.Time) {
	b := before.UnixNano()
	i := 0
	for i < len(m.buckets) && m.buckets[i].start < b {
		i++
	}
	if i > 0 {
		m.buckets = append(m.buckets[:0], m.buckets[i:]...)
	}
}

// surgedIn reports whether a bucket in the hour from from was remembered.
func (m *SurgeMemory) surgedIn(from time.Time) bool {
	f, t := from.UnixNano(), from.Add(dayAgoSpan).UnixNano()
	for _, b := range m.buckets {
		if b.start >= f && b.start < t {
			return true
		}
	}
	return false
}

// Share is how much of a count made at instant at the count of [from, to)
// takes in: 1 inside the range and 0 outside it for counts kept per bucket, a
// fraction where the count is pro-rated from coarser buckets
// (sketches.Window.Share).
type Share func(at, from, to time.Time) float64

// Excess is the excess remembered in the hour the day-ago level of the bucket
// starting at t covers, as the count of that hour takes it in (share; nil:
// whole inside the hour, as a series' rows are): what to take out of it.
func (m *SurgeMemory) Excess(t time.Time, share Share) float64 {
	from := DayAgoFrom(t)
	to := from.Add(dayAgoSpan)
	f, tn := from.UnixNano(), to.UnixNano()
	var sum float64
	for _, b := range m.buckets {
		if b.excess == 0 {
			continue
		}
		switch {
		case share != nil:
			sum += share(time.Unix(0, b.start), from, to) * float64(b.excess)
		case b.start >= f && b.start < tn:
			sum += float64(b.excess)
		}
	}
	return sum
}

// SurgeExpected is the expectation to remember a bucket's surge against: that
// of the surge's finding among fs, the final judgement's findings on the
// bucket; ok false when the surge did not page on it.
func SurgeExpected(fs []Finding) (expected float64, ok bool) {
	for i := range fs {
		if fs[i].Detector == NameSurge && !fs[i].OnReports {
			return fs[i].Expected, true
		}
	}
	return 0, false
}
