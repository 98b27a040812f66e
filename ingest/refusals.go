package ingest

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/trendwatch/trendwatch/event"
)

// refusalLog says, once a period, when most messages were refused for one
// reason. Each refusal is counted in a metric and dead-lettered, but a
// pipeline that refuses everything writes nothing and logs nothing else: a
// replay of two-week-old events looks exactly like a quiet topic. One line a
// minute with the share, the reason, the event times and the fix makes it
// plain.
type refusalLog struct {
	log        *slog.Logger
	period     time.Duration
	deadLetter string

	// mu guards the rest: the consumer observes, a ticker flushes a period
	// that ended while no message came (a replay read to its end).
	mu       sync.Mutex
	start    time.Time
	total    uint64
	byReason map[event.Reason]uint64
	// Event times of the messages refused for their ts, sampled: the first
	// few of the period, then one in refusalTSEvery.
	tsMin, tsMax time.Time
	tsRefused    int
}

const (
	// refusalMin keeps a trickle from being reported as "100 % refused".
	refusalMin = 10
	// refusalTSFirst and refusalTSEvery bound the messages decoded a second
	// time to find the event times of those refused for them.
	refusalTSFirst = 32
	refusalTSEvery = 64
)

func newRefusalLog(log *slog.Logger, period time.Duration, deadLetter string) *refusalLog {
	return &refusalLog{log: log, period: period, deadLetter: deadLetter, byReason: make(map[event.Reason]uint64)}
}

// wantTS reports whether the event time of a message refused for reason is
// worth decoding for the summary. Call it once per refused message.
func (r *refusalLog) wantTS(reason event.Reason) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if reason != event.ReasonTSTooOld && reason != event.ReasonTSFuture {
		return false
	}
	r.tsRefused++
	return r.tsRefused <= refusalTSFirst || r.tsRefused%refusalTSEvery == 0
}

// observe counts one message read at now: reason is "" when it was accepted;
// ts is its event time when known.
func (r *refusalLog) observe(now time.Time, reason event.Reason, ts time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.start.IsZero() {
		r.start = now
	}
	if now.Sub(r.start) >= r.period {
		r.flush(now)
	}
	r.total++
	if reason == "" {
		return
	}
	r.byReason[reason]++
	if !ts.IsZero() {
		if r.tsMin.IsZero() || ts.Before(r.tsMin) {
			r.tsMin = ts
		}
		if ts.After(r.tsMax) {
			r.tsMax = ts
		}
	}
}

// accepted counts n messages accepted by now, in one step: decoders count a
// batch at a time rather than take the lock for every message.
func (r *refusalLog) accepted(now time.Time, n uint64) {
	if n == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.start.IsZero() {
		r.start = now
	}
	if now.Sub(r.start) >= r.period {
		r.flush(now)
	}
	r.total += n
}

// tick flushes the period if it ended by now with messages in it: without
// it, a stream that stops (a replay read to its end, every event refused)
// would never say why nothing was counted.
func (r *refusalLog) tick(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.total > 0 && !r.start.IsZero() && now.Sub(r.start) >= r.period {
		r.flush(now)
	}
}

// flush logs the period that ended at now if most of it was refused for one
// reason, and starts the next.
func (r *refusalLog) flush(now time.Time) {
	var top event.Reason
	var n uint64
	for reason, c := range r.byReason {
		if c > n || (c == n && reason < top) {
			top, n = reason, c
		}
	}
	if n >= refusalMin && 2*n > r.total {
		pct := 100 * float64(n) / float64(r.total)
		r.log.Warn(fmt.Sprintf("%.0f %% of events refused as %s%s; %s", pct, top, r.times(top), fix(top, r.deadLetter)),
			"reason", top, "refused", n, "events", r.total, "over", now.Sub(r.start).Round(time.Second), "dead_letter", r.deadLetter)
	}
	r.start, r.total, r.tsMin, r.tsMax, r.tsRefused = now, 0, time.Time{}, time.Time{}, 0
	clear(r.byReason)
}

func (r *refusalLog) times(reason event.Reason) string {
	if r.tsMin.IsZero() || (reason != event.ReasonTSTooOld && reason != event.ReasonTSFuture) {
		return ""
	}
	from, to := r.tsMin.UTC().Format(time.DateOnly), r.tsMax.UTC().Format(time.DateOnly)
	if from == to {
		return ", event times around " + from
	}
	return ", event times from " + from + " to " + to
}

// fix is what an operator can do about most messages being refused for reason.
func fix(reason event.Reason, deadLetter string) string {
	switch reason {
	case event.ReasonTSTooOld:
		return "replaying history? set kafka.limits.max_age=0 or run with --replay"
	case event.ReasonTSFuture:
		return "producer clocks ahead, or replaying? raise kafka.limits.max_future, set it to 0, or run with --replay"
	case event.ReasonTooLarge:
		return "raise kafka.limits.max_message_bytes if messages that large are expected"
	case event.ReasonTooManyTags:
		return "raise kafka.limits.max_hashtags if posts with that many are expected"
	case event.ReasonTagTooLong:
		return "raise kafka.limits.max_hashtag_runes if hashtags that long are expected"
	case event.ReasonUnknownSource:
		return "check kafka.topics"
	default:
		return fmt.Sprintf("the producers' messages do not match the schema; see the dead-letter topic %s, whose headers say why each was refused", deadLetter)
	}
}
