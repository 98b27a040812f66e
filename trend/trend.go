// Package trend holds the per-bucket aggregate of a tracked term: what trendwatch
// writes for analysts every bucket, whether anything alerted or not.
package trend

import (
	"time"

	"github.com/trendwatch/trendwatch/event"
)

// Minute is one term in one bucket of event time (a minute by default).
type Minute struct {
	Bucket          time.Time // bucket start, UTC
	Term            string    // "hashtag:fyp"
	Kind            string    // "hashtag", "challenge", "sound"
	Mentions        uint64
	UniqueCreators  uint64
	Reports         uint64
	UniqueReporters uint64
	TopRegions      []string // most mentions first, at most a handful
	Langs           []string // most mentions first, at most a handful
	ReportReasons   []string // most reports first, at most a handful
	// ReportsByChannel counts Reports by the channel they came by, indexed by
	// event.Channel. It counts exactly from when the term was tracked, so for a
	// row that is not Exact it may sum to less than Reports; rows written before
	// channels were counted read as all zero.
	ReportsByChannel [event.NumChannels]uint64
	// Exact is true when Mentions and Reports are exact counts: the term was
	// tracked before the bucket saw any event. Otherwise they are count-min
	// estimates, which may overcount by a little and never undercount.
	Exact bool
	// Family is the term's family ("family:blakautchalenj", package family): for
	// a hashtag, the family it counts into; for a family, itself; "" for challenge
	// and sound IDs. Analysts group spellings by it.
	Family string
	// Version orders rewrites of the same (Bucket, Term): a late event or a replay
	// writes the row again with a larger version, and readers keep the largest.
	Version uint64
}

// Intake is what the pipeline took in for one bucket of event time: content
// events counted, messages refused as invalid and events dropped as late
// while it was open. Sinks store it beside the bucket's rows, in the same
// write, so it is flushed, checkpointed and committed with them: a query
// summing it over a range is the intake of that range, each bucket once.
type Intake struct {
	Bucket   time.Time // bucket start, UTC
	Instance string    // pipeline.instance of the process that wrote it
	Events   uint64
	Invalid  uint64
	Late     uint64
	// Version orders rewrites of the bucket's row after a restart or by a
	// replay, as Minute.Version does.
	Version uint64
}
