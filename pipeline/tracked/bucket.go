package tracked

import (
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
)

// Bucket is what a tracked term gathers in one open bucket beyond the counts
// the sketches already hold.
type Bucket struct {
	Mentions uint64
	Reports  uint64
	// ByChannel counts reports by event.Channel: a handful of fixed slots, where
	// a map would cost an allocation per term and bucket.
	ByChannel [event.NumChannels]uint64
	Creators  Distinct
	Reporters Distinct
	Regions   Labels
	Langs     Labels
	Reasons   Labels
	// Members counts, for a family, the posts each spelling came on: a post
	// that carries two spellings counts once in mentions and for both here.
	// For a challenge it counts the hashtags its posts carry (see the engine's sameAs).
	Members Labels
	Samples []string
	// inline backs the first creators, regions, languages and samples, so
	// that a term's bucket costs one allocation where growing each slice
	// from nothing cost a dozen: most tracked terms see few of each.
	inline struct {
		creators      [8]uint64
		regions, lang [2]detectors.Count
		samples       [5]string
	}
	// Early is what the bucket's last early judgement saw, for the early
	// looks to skip a term whose count has not moved (looks.Looks.Candidate).
	Early struct {
		Looked, Complete bool
		Mentions         float64
		// Mark is the early look whose touched list holds the term,
		// UrgentMark the urgent one whose urgent list does
		// (looks.Looks.Touch).
		Mark, UrgentMark uint32
		// Urgent is set when the bucket is to be looked at every
		// early.watch_interval: a high-trust channel reported the term in
		// it, or the term's bucket before it jumped (looks.Looks.Jumped).
		Urgent bool
	}
}

// Describe fills o with what the bucket knows beyond its counts: unique
// creators and reporters, top regions and reasons, samples, reports by channel.
// The top labels are in scratch.
func (tb *Bucket) Describe(o *detectors.Observation, topLabels int, scratch *CountScratch) {
	o.UniqueCreators = tb.Creators.Estimate()
	o.UniqueReporters = tb.Reporters.Estimate()
	o.Regions = scratch.Top(tb.Regions, topLabels)
	o.ReportReasons = scratch.Top(tb.Reasons, topLabels)
	o.Samples = tb.Samples
	for c, n := range tb.ByChannel {
		o.ReportsByChannel[c] = float64(n)
	}
}

// newBucket returns an empty bucket whose slices start in its own
// inline arrays.
func newBucket() *Bucket {
	tb := &Bucket{}
	tb.Creators.small = tb.inline.creators[:0]
	tb.Regions = tb.inline.regions[:0]
	tb.Langs = tb.inline.lang[:0]
	tb.Samples = tb.inline.samples[:0]
	return tb
}

// reset empties tb as newBucket makes it, but keeps the lists that grew
// past their inline arrays: a recycled bucket takes a busy term's mentions
// without growing them again (see Pool).
func (tb *Bucket) reset() {
	creators, reporters := tb.Creators.small, tb.Reporters.small
	regions, langs, reasons, members := tb.Regions, tb.Langs, tb.Reasons, tb.Members
	samples := tb.Samples
	*tb = Bucket{}
	tb.Creators.small = emptied(creators, tb.inline.creators[:0])
	tb.Reporters.small = emptied(reporters, nil)
	tb.Regions = emptied(regions, tb.inline.regions[:0])
	tb.Langs = emptied(langs, tb.inline.lang[:0])
	tb.Reasons = emptied(reasons, nil)
	tb.Members = emptied(members, nil)
	tb.Samples = emptied(samples, tb.inline.samples[:0])
}

// emptied returns s emptied for reuse when it grew larger than inline, else
// inline (which s may be).
func emptied[S ~[]E, E any](s, inline S) S {
	if cap(s) <= cap(inline) {
		return inline
	}
	clear(s) // let go of what it points to
	return s[:0]
}

// maxSpareBuckets bounds the closed term buckets a Pool keeps: a few MiB as
// terms usually fill them, and about 48 MiB (6 KiB a bucket) where every
// spare's lists grew to their bounds (creators and reporters 128 IDs each,
// the label lists 32 each), which reset keeps for the next busy term.
const maxSpareBuckets = 8192

// Pool keeps closed buckets for reuse: a bucket per tracked term and bucket
// was a tenth of the engine's allocations. The zero Pool is empty.
type Pool struct {
	spare []*Bucket
}

// take returns an empty bucket, a closed one if any is spare.
func (p *Pool) take() *Bucket {
	n := len(p.spare)
	if n == 0 {
		return newBucket()
	}
	tb := p.spare[n-1]
	p.spare[n-1] = nil
	p.spare = p.spare[:n-1]
	return tb
}

// put keeps tb, closed, for reuse. Nothing may refer to it any more.
func (p *Pool) put(tb *Bucket) {
	if len(p.spare) >= maxSpareBuckets {
		return
	}
	tb.reset()
	p.spare = append(p.spare, tb)
}
