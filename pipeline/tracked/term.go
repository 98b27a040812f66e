package tracked

import (
	"slices"
	"strings"
	"time"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
)

// Term is one tracked term: its history of closed buckets, oldest first, and
// what it gathers in each open bucket beyond the counts the sketches hold.
type Term struct {
	Key   string
	Kind  event.Kind
	Hash  uint64
	Watch *detectors.WatchMatch
	// Family is the row's family column: the hashtag's family, a family itself,
	// "" for other kinds.
	Family string

	// open holds the open buckets, oldest first, by their start in Unix
	// nanoseconds. A term has a few at most, the window's open buckets it
	// was mentioned in, and a scan of them finds one sooner than a map
	// (keyed by time.Time, the engine's most frequent map access at closes
	// and early looks, and by Unix nanoseconds still 2 % of its time there).
	open []openBucket
	// last is the open bucket Bucket returned last, which starts at lastStart.
	last      *Bucket
	lastStart time.Time

	Mentions *Series
	Reports  *Series
	// Creators holds the unique creators of the same buckets as Mentions, 0
	// where unknown: buckets from before the term was tracked (the sketches
	// keep no per-term creators) and partial ones, whose HLL undercounts. The
	// coordination detector skips such buckets when it learns the term's own
	// mentions per creator.
	Creators *Series
	// HistEnd is the start of the bucket right after the last one in the series.
	HistEnd time.Time
	// ExactFrom is the first bucket whose every event the term saw tracked:
	// before it, mentions come from the count-min and unique creators are
	// only those since tracking began.
	ExactFrom time.Time
	Quiet     int
	// Tail is the detectors' memory of how spiky the term is (see detectors.Tail).
	Tail detectors.Tail
}

// openBucket is a term's open bucket and its start in Unix nanoseconds.
type openBucket struct {
	start int64
	tb    *Bucket
}

// find returns where the open bucket starting at ns is in st.open, or would
// go, and whether it is there.
func (st *Term) find(ns int64) (int, bool) {
	for i := range st.open {
		if st.open[i].start >= ns {
			return i, st.open[i].start == ns
		}
	}
	return len(st.open), false
}

// RecentLevel is the median of the term's last five closed buckets, 0 when
// it has none: a cheap stand-in for its expected count.
func (st *Term) RecentLevel() float64 {
	var buf [5]float64
	h := st.Mentions.View()
	n := copy(buf[:], h[max(0, len(h)-len(buf)):])
	v := buf[:n]
	slices.Sort(v)
	if n == 0 {
		return 0
	}
	return v[n/2]
}

// PushHistory appends one closed bucket to the term's history; creators is 0
// when not known.
func (st *Term) PushHistory(mentions, reports, creators float64) {
	st.Mentions.Push(mentions)
	st.Reports.Push(reports)
	st.Creators.Push(creators)
}

// NewTerm returns the state of a newly tracked term, with no history and no
// open bucket, that keeps history buckets of history.
func NewTerm(key string, kind event.Kind, hash uint64, history int) *Term {
	return &Term{Key: key, Kind: kind, Hash: hash, open: make([]openBucket, 0, 4),
		Mentions: newSeries(history), Reports: newSeries(history), Creators: newSeries(history)}
}

// Bucket returns the term's open bucket that starts at start, taken from p
// when the term has none yet.
func (st *Term) Bucket(start time.Time, p *Pool) *Bucket {
	// Nearly every mention falls in the bucket of the term's previous one.
	// The cached bucket is still st.open's: an entry is removed only when its
	// bucket closes, and no mention reaches a closed bucket (the window
	// refuses it as late).
	if st.last != nil && st.lastStart.Equal(start) {
		return st.last
	}
	ns := start.UnixNano()
	i, ok := st.find(ns)
	if !ok {
		st.open = slices.Insert(st.open, i, openBucket{ns, p.take()})
	}
	tb := st.open[i].tb
	st.last, st.lastStart = tb, start
	return tb
}

// At is the term's open bucket that starts at start, nil when it has none.
func (st *Term) At(start time.Time) *Bucket {
	if st.last != nil && st.lastStart.Equal(start) {
		return st.last
	}
	if i, ok := st.find(start.UnixNano()); ok {
		return st.open[i].tb
	}
	return nil
}

// OpenBuckets is how many open buckets the term has.
func (st *Term) OpenBuckets() int { return len(st.open) }

// Starts appends the starts of the term's open buckets to dst, oldest first.
func (st *Term) Starts(dst []time.Time) []time.Time {
	for _, o := range st.open {
		dst = append(dst, time.Unix(0, o.start).UTC())
	}
	return dst
}

// Restore sets the term's open bucket at start, as a checkpoint kept it.
func (st *Term) Restore(start time.Time, tb *Bucket) {
	ns := start.UnixNano()
	if i, ok := st.find(ns); ok {
		st.open[i].tb = tb
	} else {
		st.open = slices.Insert(st.open, i, openBucket{ns, tb})
	}
	if st.last != nil && st.lastStart.Equal(start) {
		st.last = tb
	}
}

// Close drops the term's open bucket that starts at start, closed, and keeps
// it in p for reuse: observations copy what they keep of it.
func (st *Term) Close(start time.Time, p *Pool) {
	i, ok := st.find(start.UnixNano())
	if !ok {
		return
	}
	tb := st.open[i].tb
	st.open = slices.Delete(st.open, i, i+1)
	if st.last == tb {
		st.last = nil
	}
	p.put(tb)
}

// ByKey appends the terms of m to sts sorted by key: the order of a
// bucket's observations, rows and alerts, and of the checkpoint.
func ByKey(m map[uint64]*Term, sts []*Term) []*Term {
	for _, st := range m {
		sts = append(sts, st)
	}
	slices.SortFunc(sts, func(a, b *Term) int { return strings.Compare(a.Key, b.Key) })
	return sts
}
