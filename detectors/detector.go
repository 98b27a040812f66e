// Package detectors decides which terms an incident team must look at, and says why.
// Each detector reads one Observation of a tracked term at the close of a bucket and
// may return a Finding; Lifecycle turns findings into alerts that open, escalate and
// resolve.
package detectors

import (
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/event"
)

// Count is a label with its count, most first where a slice of them is returned.
type Count struct {
	Label string
	N     uint64
}

// Platform is platform-wide context for one bucket, so a detector can tell a term
// that is unusual from a platform that is busy.
type Platform struct {
	Mentions           float64 // all term mentions in the bucket
	Events             float64 // content events in the bucket
	MentionsPerCreator float64 // median over tracked terms of mentions / unique creators
	Reports            float64 // reports in the bucket
	ReportRate         float64 // reports / content events in the bucket
}

// Projection is what an early look counted of a bucket still open.
type Projection struct {
	Counted float64       // mentions counted so far
	Elapsed time.Duration // how much of the bucket they cover
}

// Observation is everything known about one tracked term when a bucket closes.
type Observation struct {
	Term   string // "hashtag:blackoutchallenge"
	Bucket time.Time
	Width  time.Duration

	Mentions        float64
	Reports         float64
	UniqueCreators  uint64
	UniqueReporters uint64
	Regions         []Count // by mentions, most first
	ReportReasons   []Count // by reports, most first
	// ReportsByChannel counts the bucket's reports by the channel they came by,
	// indexed by event.Channel. It is exact from when the term was tracked, so
	// it may sum to less than Reports, which may be an estimate.
	ReportsByChannel [event.NumChannels]float64
	Samples          []string

	// MentionHistory and ReportHistory hold the counts of the buckets before this
	// one, oldest first, the last element being the bucket just before Bucket. For
	// a term tracked only recently they come from the count-min rings (estimates).
	// Their length is the number of buckets of history known; a new term has few.
	MentionHistory []float64
	ReportHistory  []float64
	// CreatorHistory holds the unique creators of the same buckets as
	// MentionHistory, when known (nil otherwise): the term's own norm of mentions
	// per creator, next to the platform's, for the coordination detector.
	CreatorHistory []float64
	// Projected is set on the observation an early look judges (Set.EvaluateEarly)
	// when Mentions holds more than was counted: the count so far plus the
	// least the rest of the bucket plausibly brings. A summary then says
	// which is which, as a responder reads its number for a count.
	Projected *Projection
	// PartialCreators is set when UniqueCreators covers only part of the bucket
	// (the term began being tracked in it), so mentions per creator would be
	// overstated; coordination then waits for a whole bucket.
	PartialCreators bool
	// DayAgo is the mean count per bucket at this time of day yesterday, or NaN
	// when not known.
	DayAgo float64
	// LearnDayAgo is DayAgo of the bucket Set.Learn folds into the term's
	// Tail, Set.LearnLag buckets before this one; NaN or 0 when not known.
	// The tail must learn the significance the tests judge, which is
	// measured against yesterday's level where that is known: learnt
	// without it, a term's daily rise taught its tail that rises are
	// ordinary, and its real ones were discounted.
	LearnDayAgo float64
	// Tail is the term's Tail as Set.Learn returned it for the term's previous
	// bucket: how heavy-tailed its significance has been over about a day
	// (baseline.tail_memory buckets). The zero Tail means unknown (a term just
	// tracked, a restart); the detectors then learn it from MentionHistory.
	Tail Tail

	Watch *WatchMatch // non-nil when the term is on the watchlist
	// IncidentOpen is set when another term of this term's incident (a
	// hashtag's other spellings and their family) has an alert open and this
	// term has none: the challenge is surging already, and the question for
	// this spelling is only whether it rises with it (see Watchlist).
	IncidentOpen bool
	// Urgent is set on an early judgement of a bucket looked at every
	// early.watch_interval rather than every early.interval (a high-trust
	// channel reported the term, or its bucket before jumped): its early bar
	// is split over those looks, as a watched term's is.
	Urgent   bool
	Platform Platform
}

// WatchMatch is the watchlist entry a term matched.
type WatchMatch struct {
	Pattern  string         // the configured term or pattern
	Risk     alert.Severity // minimum severity of any alert on the term
	Category string         // e.g. "dangerous_challenge", "self_harm"
	// Spelling is set when the term is another spelling of a watched
	// hashtag (Set.WatchFamilies), Glob when a glob entry matched it; in
	// either case no entry names the term. Such a term is watched once
	// tracked, but tracked only at the tracking bar, as any term, not on
	// first sight as a named one: made-up terms cost nothing to post, and a
	// flood of them must not fill the tracked terms. The watchlist's own
	// support (watchlist.min_support) is the tracking bar's by default, so
	// no page is lost.
	Spelling, Glob bool
}

// Named reports whether an entry names the term (not a glob, nor another
// spelling of a watched hashtag): such a term is tracked on first sight.
func (m *WatchMatch) Named() bool { return !m.Spelling && !m.Glob }

// Finding is one detector's verdict that a term is anomalous in a bucket.
type Finding struct {
	Detector  string
	Severity  alert.Severity
	Score     float64 // significance, z-like
	Observed  float64
	Expected  float64
	Growth    float64
	OnReports bool // Observed and Expected count reports, not mentions
	// Lone is an early finding on a lone outlier judged whole (the surge's
	// early.first_bucket). No final judgement of its bucket can bear it out,
	// the surge counting a lone outlier at the clip limit; the next bucket's
	// can, a second outlier making the two a surge counted whole. So the
	// alert rests on the next bucket too before it is retracted.
	Lone        bool
	Summary     string
	Explanation string
}

// Detector judges one observation. Detectors are stateless: what they need of the
// past is in the Observation, so they run the same live and in backtests.
type Detector interface {
	Name() string
	Detect(o *Observation) (Finding, bool)
}
