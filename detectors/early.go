package detectors

import (
	"math"
	"time"
)

// Early firing: a bucket is judged for good only once event time has passed
// its end and the allowed lateness, minutes after a surge began. Meanwhile the
// pipeline asks EvaluateEarly about the open bucket every early.interval, with
// the counts so far and the share of the bucket they cover. A page then must
// be one the final judgement will almost surely make too, because a page
// taken back costs the incident team more than one that came late. Two things
// make sure of it, each from the count model the final judgement uses:
//
//   - The counts so far are a lower bound on the final ones: events only add
//     (late ones included), so a monotone detector (more mentions never weaken
//     a surge) that passes on the counts so far plus the least the rest of the
//     bucket can plausibly bring passes on the final bucket. That least is the
//     early.retract quantile of the rest under the count model, at the term's
//     normal level: the surge may stop, the term is not expected to fall
//     below its normal level. So the final disagrees with probability about
//     early.retract, whatever the surge does next.
//   - While the bucket fills, the partial count, or the short window's sum
//     ending with it, must be significant against the prorated expectation
//     at a budget of early.false_pages per 1,000 term-days, split over the
//     looks at a bucket: a stricter bar than the final one, so that a
//     projection never pages on what is mostly the model's guess. Once the
//     bucket is complete (its end passed, only late events to come),
//     nothing is projected, and the final judgement on its counts so far is
//     made at once rather than after the allowed lateness.
//
// Only detectors that are monotone in the counts fire early (surge, novelty,
// watchlist on mentions, and a high-trust report, which needs no count at
// all); coordination and spreading read unique creators and regions, which a
// partial bucket understates, and wait for the final judgement.

// EarlyConfig is detectors.early: judging a bucket that is still open.
type EarlyConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// Interval is how often, in event time, the open buckets are judged.
	Interval time.Duration `mapstructure:"interval"`
	// WatchInterval is how often, in event time, the urgent open buckets
	// are judged: watched terms', those a high-trust channel reported the
	// term in, and a term's bucket after one that jumped (where a known
	// term's surge is confirmed). Those are few at any time, so looking at
	// them more often costs little and pages them sooner. Their early bar is
	// split over their looks as every bucket's is, so more looks make each
	// stricter. Longer than Interval, it is Interval.
	WatchInterval time.Duration `mapstructure:"watch_interval"`
	// FalsePages is the early bar: pages per 1,000 term-days the partial
	// count's own test (or the short window's sum so far) may make on a term
	// doing nothing unusual, split over the looks at each bucket. Smaller
	// than detectors.false_pages, so early evidence must be stronger than
	// final evidence.
	FalsePages float64 `mapstructure:"false_pages"`
	// WatchFalsePages is the early bar of watched terms, lower: the team
	// already fears them.
	WatchFalsePages float64 `mapstructure:"watch_false_pages"`
	// Retract is the chance, under the count model, that the rest of the
	// bucket comes in so low that the final judgement disagrees and the early
	// page is retracted.
	Retract float64 `mapstructure:"retract"`
	// FirstBucket lets a surge page early in its first bucket, judged whole
	// against the early bar (Surge.judgeLone), where the final judgement
	// waits for a second outlying bucket. Off by default: a spike that ends
	// within the bucket is then paged and retracted, and on real series
	// spikes are common (see docs/detection.md, early firing).
	FirstBucket bool `mapstructure:"first_bucket"`
}

// earlyParams are the bars EarlyConfig sets.
type earlyParams struct {
	cfg EarlyConfig
	// keepZ is the standard normal quantile of 1 - retract: how far below its
	// expectation the rest of the bucket may plausibly come in.
	keepZ float64
}

func newEarlyParams(c EarlyConfig) earlyParams {
	p := earlyParams{cfg: c}
	if c.Retract > 0 && c.Retract < 1 {
		p.keepZ = math.Sqrt2 * math.Erfcinv(2*c.Retract)
	}
	return p
}

// WatchEvery is how often urgent buckets are judged early: WatchInterval,
// at most Interval.
func (c EarlyConfig) WatchEvery() time.Duration {
	if c.WatchInterval <= 0 {
		return c.Interval
	}
	return min(c.WatchInterval, c.Interval)
}

// looks is how many times a bucket of width w is judged early: once per
// interval (early.watch_interval for an urgent one) while it fills, and once more, complete,
// while late events may still come.
func (p *earlyParams) looks(w time.Duration, urgent bool) float64 {
	every := p.cfg.Interval
	if urgent {
		every = p.cfg.WatchEvery()
	}
	if every <= 0 || w <= 0 {
		return 1
	}
	return math.Ceil(float64(w)/float64(every)) + 1
}

// EarlyZ is the significance the partial count of a bucket of width w must
// reach, against its prorated expectation, for an early page; watched terms
// have their own, lower bar.
func (s *Set) EarlyZ(w time.Duration, watched bool) float64 {
	return s.earlyZ(w, watched, watched)
}

// earlyBar is EarlyZ for o's bucket, split over the looks it gets: an
// urgent bucket (Observation.Urgent) is looked at as often as a watched
// term's.
func (s *Set) earlyBar(o *Observation) float64 {
	watched := o.Watch != nil
	return s.earlyZ(o.Width, watched, watched || o.Urgent)
}

// earlyZ is the early bar of a bucket of width w: the watched terms' budget
// or every term's, split over the looks of a bucket looked at every
// early.watch_interval (urgent) or every early.interval.
func (s *Set) earlyZ(w time.Duration, watched, urgent bool) float64 {
	fp := s.early.cfg.FalsePages
	if watched {
		fp = s.early.cfg.WatchFalsePages
	}
	return PageZ(fp/s.early.looks(w, urgent), w)
}

// EvaluateEarly judges o, a bucket still open: o's counts (mentions, reports,
// creators) are those so far, and elapsed, in (0, 1], the share of the bucket
// they cover (the event time the slowest partition has reached in it). It
// returns the findings the final judgement of the bucket will almost surely
// make too, each saying it is early; nil when early firing is disabled.
func (s *Set) EvaluateEarly(o *Observation, elapsed float64) []Finding {
	if !s.early.cfg.Enabled || !(elapsed > 0) {
		return nil
	}
	elapsed = math.Min(elapsed, 1)
	var out []Finding
	if s.trusted != nil && s.trusted.any(o) {
		// One report from a regulator pages whatever else comes; the final
		// bucket holds that report too.
		if f, ok := s.trusted.judge(&analysis{o: o}); ok {
			out = append(out, earlyFinding(f, elapsed, math.NaN(), math.NaN()))
		}
	}
	minM := s.minMentions
	if o.Watch != nil {
		minM = s.minWatchMentions
	}
	if o.Mentions < minM {
		return out // the final count may reach it; the partial does not yet
	}
	// The whole bucket's expectation and dispersion, as the final judgement
	// fits them.
	mp := s.mentionParams(o)
	// The projection below has o's history: its tests share the fit.
	a := analysis{mp: mp, rp: &s.rp, fitted: true, fit: mp.fit(tail(o.MentionHistory, mp.history))}
	b, ev := mp.testsOf(&a.fit, o.Mentions, o.DayAgo, true)
	one := ev[testBucket]
	full, disp := one.expected, b.disp
	// The partial count's own test (partialZ). A complete bucket (its end passed, only late events to come) has
	// nothing left to project: the final judgement, on at least these
	// counts, agrees, and it pages now rather than after the allowed
	// lateness.
	z := partialZ(o.Mentions, elapsed, full, disp)
	if win := ev[testWindow]; win.raw > 0 {
		// Or the short window's sum so far, against the expectation of its
		// closed buckets and the elapsed share of this one's: in a surge's
		// second bucket most of the evidence is the first, closed and
		// counted. A threefold surge at 20 a minute never made its second
		// bucket alone significant at the early bar while it filled (4.6
		// at five sixths, the bar 6.2) and paged at the bucket's end, or
		// the next one's. The sum counts a lone outlier before this bucket
		// whole; the judgement of the projection below does not, until
		// the projection is an outlier that confirms it.
		z = math.Max(z, significance(win.observed, win.expected-(1-elapsed)*full, b.win.disp))
	}
	if elapsed < 1 && z < s.earlyBar(o) {
		return out
	}
	// The least the rest of the bucket plausibly brings at the term's normal
	// level: the retract quantile of a count of mean rest.
	rest := (1 - elapsed) * full
	least := math.Max(0, rest-s.early.keepZ*math.Sqrt(disp*rest))
	proj := *o
	proj.Mentions = o.Mentions + least
	if elapsed < 1 {
		proj.Projected = &Projection{Counted: o.Mentions, Elapsed: time.Duration(elapsed * float64(o.Width))}
	}
	a.o = &proj
	for _, d := range s.detectors {
		switch d.Name() {
		case NameSurge, NameNovelty, NameWatchlist:
		default:
			continue
		}
		f, ok := judgeOne(d, &a)
		if sg, isSurge := d.(*Surge); isSurge && !ok && s.early.cfg.FirstBucket {
			f, ok = sg.judgeLone(&a, s.earlyBar(o))
		}
		if !ok || f.OnReports {
			continue
		}
		// The finding speaks of the projection; say what was counted, and
		// the growth of that (2.61× stood beside 150 counted against 62.6).
		f.Observed = o.Mentions
		if f.Expected > 0 {
			f.Growth = f.Observed / f.Expected
		}
		out = append(out, earlyFinding(f, elapsed, z, least))
	}
	return out
}

// partialZ is the significance of a bucket's count so far, mentions over
// the share elapsed of it, against that share of its whole expectation full
// at dispersion disp. Within a bucket the term's rate is one draw, so the
// extra-Poisson part of the variance scales with the square of the share:
// dispersion 1 + elapsed·(disp-1) for the partial count.
func partialZ(mentions, elapsed, full, disp float64) float64 {
	return significance(mentions, elapsed*full, 1+elapsed*(disp-1))
}

// earlyFinding marks f as early: its summary says so, its explanation has
// what the early judgement saw.
func earlyFinding(f Finding, elapsed, z, least float64) Finding {
	f.Summary = "[early] " + f.Summary
	var x explanation
	// counted: the explanation's mentions= and observed= are the
	// projection the final judgement must pass on.
	x.str("early", "1").num("elapsed", elapsed).num("counted", f.Observed)
	if !math.IsNaN(z) {
		x.num("early_z", z).num("rest_least", least)
	}
	f.Explanation = x.String() + " " + f.Explanation
	return f
}
