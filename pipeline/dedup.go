package pipeline

import (
	"time"

	"github.com/trendwatch/trendwatch/ingest"
)

// isDuplicate reports whether rec is a copy of an event already read from
// its partition in a bucket still open, and counts it if so.
func (e *Engine) isDuplicate(p ingest.Partition, rec *ingest.Record, ts time.Time) bool {
	id := rec.Content.EventID
	if rec.Kind == ingest.KindReport {
		id = rec.Report.EventID
		if p.Topic == "" {
			// A record read from no topic (a file, a backtest): contents and
			// reports still keep apart, as their topics would.
			p.Topic = "reports"
		}
	}
	dup, forgot := e.dedup.Seen(p, id, rec.Hashes.Event, ts, e.window.Closed())
	if forgot > 0 {
		e.m.dedupLost.Add(float64(forgot))
		e.log.Warn("event_id filter full; forgot the ids of its oldest bucket early, copies of those events would count again",
			"forgotten", forgot, "pipeline.dedup_max_ids", e.cfg.DedupMaxIDs)
	}
	if dup {
		e.m.dups.Inc()
		e.m.recDuplicate.Inc()
	}
	return dup
}
