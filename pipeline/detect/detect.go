// Package detect is the detect side of the engine: at each bucket close, and
// at each early look at the buckets still open, it makes every tracked
// term's observation from what counting (pipeline/count) counted, runs the
// detectors and the alert lifecycle on it, and makes the bucket's rows. What
// it judges comes from tables the engine owns and its checkpoint keeps; what
// it finds, the engine writes, pages and reports.
package detect

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/pipeline/count"
	"github.com/trendwatch/trendwatch/pipeline/families"
	"github.com/trendwatch/trendwatch/pipeline/looks"
	"github.com/trendwatch/trendwatch/pipeline/platform"
	"github.com/trendwatch/trendwatch/pipeline/surges"
	"github.com/trendwatch/trendwatch/pipeline/tracked"
	"github.com/trendwatch/trendwatch/sketches"
	"github.com/trendwatch/trendwatch/trend"
)

// Detectors is what judging asks of the detectors (a detectors.Set).
type Detectors interface {
	Evaluate(o *detectors.Observation) []detectors.Finding
	EvaluateEarly(o *detectors.Observation, elapsed float64) []detectors.Finding
	Learn(o *detectors.Observation) detectors.Tail
	LearnLag() int
	HighTrustChannel(c event.Channel) bool
}

// Config is what judging reads of the pipeline's configuration.
type Config struct {
	Bucket, CoarseBucket time.Duration // the window's
	History              int           // closed buckets of history a term keeps
	MaxTracked           int
	TrackMin             uint32 // mentions in a bucket that start tracking a term
	TrackMinReports      uint32 // reports likewise
	EvictAfter           int    // quiet buckets after which a term is let go
	TopLabels            int    // regions, languages, reasons per row and observation
}

// Parts are the tables judging reads and moves on; the engine owns them.
type Parts struct {
	Window   *sketches.Window
	Tracked  map[uint64]*tracked.Term // by the hash of the term's key
	Pool     *tracked.Pool
	Families *families.Table
	Platform *platform.Buckets
	Looks    *looks.Looks
	// Surges remembers the buckets each term's surge paged on within the
	// last day, so that the day-ago level leaves them out.
	Surges *surges.Memory
	// Counter starts tracking the heavy hitters counting passed over, and
	// knows the first bucket counted.
	Counter *count.Counter
	Life    *detectors.Lifecycle
}

// Metrics are what judging sets.
type Metrics struct {
	Surges     prometheus.Gauge
	SurgesLost prometheus.Counter
	// Evicted counts the terms let go early to make room (Judge.evict).
	Evicted prometheus.Counter
}

// Judge judges the tracked terms. Its methods are not safe for concurrent
// use: the engine's goroutine owns it.
type Judge struct {
	cfg Config
	det Detectors
	m   Metrics

	window   *sketches.Window
	tracked  map[uint64]*tracked.Term
	pool     *tracked.Pool
	families *families.Table
	platform *platform.Buckets
	looks    *looks.Looks
	surges   *surges.Memory
	counter  *count.Counter
	life     *detectors.Lifecycle

	// alerting holds, for a close or a round of early looks, the incidents
	// with an alert open (noteAlerting).
	alerting map[string][]alertingTerm
	// earlyHist holds the histories of one early observation; the
	// detectors do not keep them.
	earlyHist []float64
	// topCounts holds the top labels of the observations being judged, and
	// rowNames the label lists of the rows made (see their types).
	topCounts tracked.CountScratch
	rowNames  tracked.StringSlab
	// heavy holds a closed bucket's heavy hitters while nominate looks
	// through them.
	heavy []sketches.Item
	// closing holds a close's slices for the next one: a close made them
	// anew for every tracked term, the engine's largest allocations (a third
	// of its bytes), and the garbage collector's work grows with them.
	closing closeScratch
}

// closeScratch is what one bucket close makes and lets go of once its rows
// are written (Release): the observations, the counts the rows state, the
// rows (sinks must not keep them) and the tracked terms in key order.
type closeScratch struct {
	obs       []detectors.Observation
	estimated [][2]float64
	rows      []trend.Minute
	sts       []*tracked.Term
}

// New returns a judge of the terms in p.
func New(cfg Config, p Parts, det Detectors, m Metrics) *Judge {
	return &Judge{cfg: cfg, det: det, m: m,
		window: p.Window, tracked: p.Tracked, pool: p.Pool, families: p.Families, platform: p.Platform,
		looks: p.Looks, surges: p.Surges, counter: p.Counter, life: p.Life,
		alerting: make(map[string][]alertingTerm)}
}
