package detectors

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/trendwatch/trendwatch/event"
)

// judge is a Detector that can share one analysis of an observation with the
// other detectors of a Set.
type judge interface {
	Detector
	judge(a *analysis) (Finding, bool)
}

// Set is the configured detectors. It is safe for concurrent use: it holds no
// state between observations.
type Set struct {
	watch     *watchlist
	detectors []judge
	mp        mentionParams
	rp        reportParams
	// Below both, no detector can fire, so most of a Zipf tail costs two
	// comparisons; watched terms have their own, lower, pair.
	minMentions, minReports           float64
	minWatchMentions, minWatchReports float64
	// trusted pages on any report from a high-trust channel, below every minimum.
	trusted *TrustedReport
	early   earlyParams
	mpWatch mentionParams // mp for watched terms (see NewSet)
}

// NewSet validates cfg and builds its enabled detectors.
func NewSet(cfg Config) (*Set, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("detectors config: %w", err)
	}
	w, err := newWatchlist(cfg.Watchlist)
	if err != nil {
		return nil, err
	}
	s := &Set{watch: w, mp: newMentionParams(cfg), rp: newReportParams(cfg),
		minMentions: math.Inf(1), minReports: math.Inf(1), early: newEarlyParams(cfg.Early)}
	if cfg.Early.Enabled && cfg.Early.FirstBucket {
		s.mp.loneBar = s.EarlyZ
	}
	// A watched term's baseline learns its level but no trend: the team
	// fears the term's growth, and a forecast that extrapolated a ramp
	// would get used to it. The generator's dangerous ramp (4 to 40 a
	// minute over ten minutes) was paged a median 5 buckets after onset
	// per spelling with the trend, 3.5 without (10 seeds).
	watched := cfg
	watched.Baseline.Beta = 0
	s.mpWatch = newMentionParams(watched)
	// A watched term remembers its lone spikes at the watchlist's bar (or
	// the early one, if lower), which it judges whole: a feared term's jump
	// is news, unless jumps like it are what the term does (see
	// Watchlist.judge).
	if cfg.Watchlist.Enabled {
		s.mpWatch.loneBar = func(w time.Duration, watched bool) float64 {
			if s.mp.loneBar != nil {
				return math.Min(cfg.Watchlist.MinZ, s.mp.loneBar(w, watched))
			}
			return cfg.Watchlist.MinZ
		}
	} else {
		s.mpWatch.loneBar = s.mp.loneBar
	}
	mention := func(d judge, support float64) {
		s.detectors = append(s.detectors, d)
		s.minMentions = math.Min(s.minMentions, support)
	}
	if cfg.Surge.Enabled {
		mention(newSurge(cfg), cfg.Surge.MinSupport)
	}
	if cfg.Novelty.Enabled {
		mention(newNovelty(cfg), cfg.Novelty.MinCount)
	}
	if cfg.Coordination.Enabled {
		mention(newCoordination(cfg), cfg.Coordination.MinMentions)
		if cfg.Coordination.Spreading.Enabled {
			mention(newSpreading(cfg), cfg.Surge.MinSupport)
		}
	}
	if cfg.ReportRate.Enabled {
		s.detectors = append(s.detectors, newReportRate(cfg))
		s.minReports = math.Min(s.minReports, cfg.ReportRate.MinReports)
		if len(cfg.ReportRate.HighTrustChannels) > 0 {
			s.trusted = newTrustedReport(cfg)
			s.detectors = append(s.detectors, s.trusted)
		}
	}
	s.minWatchMentions, s.minWatchReports = s.minMentions, s.minReports
	if cfg.Watchlist.Enabled && !w.empty() {
		s.detectors = append(s.detectors, newWatchlistDetector(cfg))
		s.minWatchMentions = math.Min(s.minWatchMentions, cfg.Watchlist.MinSupport)
		s.minWatchReports = math.Min(s.minWatchReports, cfg.Watchlist.MinReports)
	}
	return s, nil
}

// Detectors returns the enabled detectors, each usable on its own.
func (s *Set) Detectors() []Detector {
	out := make([]Detector, len(s.detectors))
	for i, d := range s.detectors {
		out[i] = d
	}
	return out
}

// Watch returns the watchlist entry a term key ("hashtag:x") matches, nil when
// none does. Callers must not modify the result; it is shared.
func (s *Set) Watch(term string) *WatchMatch { return s.watch.match(term) }

// WatchFamilies makes every watched hashtag watch its family too: the term
// prefix+key(value), where key is the family key of a normalised hashtag value
// (package family). The detectors' maths is the same for a family as for any
// term; only the watchlist match grows. Call it before the Set is shared.
func (s *Set) WatchFamilies(prefix string, key func(hashtag string) string) {
	s.watch.watchFamilies(prefix, key)
}

// WatchFolded makes the watchlist's globs of hashtags match a hashtag whose
// fold (package family's Fold: look-alike letters, digits read as letters)
// fits the glob's folded pieces, as well as one whose value fits the glob:
// *blackout* then meets #bl4ckoutchallenge. Where the hashtag or the glob is
// written in Devanagari, the loose folds (package family's Loose, which also
// reports the script) are compared too, so that *blackout* meets
// #ब्लैकआउटचैलेंज; a glob with a piece too short for a loose fold ("" from
// loose) is matched strictly only. loose may be nil. Call it before the Set
// is shared.
func (s *Set) WatchFolded(fold func(hashtag string) string, loose func(hashtag string) (string, bool)) {
	s.watch.watchFolded(fold, loose)
}

// HighTrust reports whether o holds a report from a high-trust channel, which a
// detector pages on whatever the volume.
func (s *Set) HighTrust(o *Observation) bool { return s.trusted != nil && s.trusted.any(o) }

// HighTrustChannel reports whether a report from c pages on its own, so that the
// pipeline tracks its terms from that one report.
func (s *Set) HighTrustChannel(c event.Channel) bool {
	return s.trusted != nil && slices.Contains(s.trusted.channels, c)
}

// WatchTerms returns the exact term keys the pipeline must track in every bucket
// whether or not they are heavy hitters. Glob entries cannot be listed; they match
// terms that are tracked for other reasons.
func (s *Set) WatchTerms() []string { return s.watch.terms() }

// mentionParams are the mention tests' parameters for o's term: mpWatch's,
// without a trend, for a watched one.
func (s *Set) mentionParams(o *Observation) *mentionParams {
	if o.Watch != nil {
		return &s.mpWatch
	}
	return &s.mp
}

// Evaluate runs every enabled detector on o and returns their findings, nil when
// there are none. o.Watch must already be set (from Watch) for watched terms.
func (s *Set) Evaluate(o *Observation) []Finding {
	minM, minR := s.minMentions, s.minReports
	if o.Watch != nil {
		minM, minR = s.minWatchMentions, s.minWatchReports
	}
	if o.Mentions < minM && o.Reports < minR && !s.HighTrust(o) {
		return nil
	}
	a := analysis{o: o, mp: s.mentionParams(o), rp: &s.rp}
	var out []Finding
	for _, d := range s.detectors {
		if f, ok := judgeOne(d, &a); ok {
			out = append(out, f)
		}
	}
	return out
}

// LearnLag is how many buckets before an Observation's own the bucket is that
// Learn folds into the term's Tail (see Observation.LearnDayAgo): the level-shift
// window less one, so that no bucket a test still judges has taught the tail.
func (s *Set) LearnLag() int { return s.mp.shift - 1 }

// Learn returns the term's Tail after o's bucket, for the pipeline to keep with
// the term and set as Observation.Tail of its next bucket. Call it for every
// tracked term at every bucket close, after Evaluate or instead of it; it reads
// o.Mentions, o.MentionHistory, o.DayAgo and o.Tail.
func (s *Set) Learn(o *Observation) Tail {
	a := analysis{o: o, mp: s.mentionParams(o)}
	return a.learnTail()
}

// judgeOne runs d on a through d's concrete type. Called through the
// interface, the compiler cannot tell what a judge keeps of a, so every
// analysis (hundreds of bytes, one per tracked term per bucket close and per
// early look) went to the heap; called on the types themselves it stays on
// the caller's stack.
func judgeOne(d judge, a *analysis) (Finding, bool) {
	switch d := d.(type) {
	case *Surge:
		return d.judge(a)
	case *Novelty:
		return d.judge(a)
	case *Watchlist:
		return d.judge(a)
	case *Coordination:
		return d.judge(a)
	case *Spreading:
		return d.judge(a)
	case *ReportRate:
		return d.judge(a)
	case *TrustedReport:
		return d.judge(a)
	}
	panic(fmt.Sprintf("detectors: judge of unknown type %T", d))
}
