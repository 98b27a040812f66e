package pipeline

import (
	"fmt"
	"time"
)

// Status is how the engine stands, for liveness and readiness checks. Run
// hands it once a second to the observers that implement StatusObserver.
// Whoever serves it judges it with Unhealthy on its own clock: an engine
// that stopped handing out statuses (stuck on a sink) is then judged by how
// old its last commit has grown, not by what it said last.
type Status struct {
	At time.Time
	// Ready: the start-up hold is over, so event time stands where the
	// partitions put it (or none delivered within pipeline.partition_idle).
	Ready bool
	// LastCommit is when the last commit round (sinks flushed, checkpoint
	// saved, offsets committed) succeeded, or when Run began before any did.
	LastCommit time.Time
	// CommitErr is why the last round failed; nil when it succeeded.
	CommitErr error
	// Lag is the messages behind the partitions' high-water marks, summed,
	// as the last record of each said; -1 while unknown.
	Lag int64
	// LagGrowing is when the lag began rising without ever falling back
	// since, LagFrom what it was then, and LagRose when it last rose; zero
	// while it is not above where it began.
	LagGrowing time.Time
	LagRose    time.Time
	LagFrom    int64
}

// StatusObserver is an Observer that also wants the engine's Status.
type StatusObserver interface {
	Status(s Status)
}

// Unhealthy says why the engine is not healthy at now, or "" when it is:
// no successful commit round for pipeline.max_commit_failure past the
// commit interval (a full or read-only checkpoint directory, brokers that
// refuse the commit, a sink that takes nothing), or consumer lag growing for
// longer than pipeline.max_lag_growth.
func (s Status) Unhealthy(now time.Time, cfg Config) string {
	if cfg.MaxCommitFailure > 0 {
		if stale := now.Sub(s.LastCommit); stale > cfg.CommitInterval+cfg.MaxCommitFailure {
			if s.CommitErr != nil {
				return fmt.Sprintf("checkpoint or offset commit failing for %s (pipeline.max_commit_failure %s): %v",
					roundFor(stale), cfg.MaxCommitFailure, s.CommitErr)
			}
			return fmt.Sprintf("no checkpoint or offset commit for %s (pipeline.max_commit_failure %s): the engine is stuck, most likely on a sink that takes no rows",
				roundFor(stale), cfg.MaxCommitFailure)
		}
	}
	if cfg.MaxLagGrowth > 0 && !s.LagGrowing.IsZero() {
		if d := s.LagRose.Sub(s.LagGrowing); d > cfg.MaxLagGrowth {
			return fmt.Sprintf("consumer lag grew from %d to %d messages over %s without falling back (pipeline.max_lag_growth %s)",
				s.LagFrom, s.Lag, d.Round(time.Second), cfg.MaxLagGrowth)
		}
	}
	return ""
}

// roundFor rounds d for a message: to the second, or to 10ms below 10s.
func roundFor(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Second)
}

// lagTrend follows whether consumer lag keeps growing, as Burrow judges a
// consumer: a lag that rose at every sample, never dipping and never zero,
// is a consumer falling behind; one that wobbles while it keeps up is not.
// Samples are spaced so that a burst inside one fetch does not count as a
// trend, and a single dip starts the judgement over, so noise errs towards
// healthy.
type lagTrend struct {
	step   time.Duration
	last   time.Time // when the last sample was taken
	prev   int64     // lag at the last sample
	since  time.Time // last sample at the level the current rise started from
	from   int64     // lag at since
	rose   time.Time // last sample above the one before it
	primed bool
}

// sample takes lag at now if a step has passed since the last sample. A lag
// flat at its starting level moves the start along: a consumer that keeps
// pace a constant distance behind is not falling behind.
func (l *lagTrend) sample(now time.Time, lag int64) {
	if l.primed && now.Sub(l.last) < l.step {
		return
	}
	if lag < 0 {
		// Unknown this step: the run neither grows nor breaks.
		if l.primed {
			l.last = now
		}
		return
	}
	switch {
	case !l.primed || lag == 0 || lag < l.prev || lag <= l.from:
		l.since, l.from, l.rose, l.primed = now, lag, time.Time{}, true
	case lag > l.prev:
		l.rose = now
	}
	l.last, l.prev = now, lag
}

// growing is when the current rise began, when it last rose and the lag it
// began from; zeros while the lag is not above where it began.
func (l *lagTrend) growing() (since, rose time.Time, from int64) {
	if l.rose.IsZero() {
		return time.Time{}, time.Time{}, 0
	}
	return l.since, l.rose, l.from
}
