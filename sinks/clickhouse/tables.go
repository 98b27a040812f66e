package clickhouse

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/trend"
)

// IngestStats is one consumer's intake of one partition in one bucket.
type IngestStats struct {
	Bucket    time.Time
	Instance  string
	Topic     string
	Partition int32
	Events    uint64
	Invalid   uint64
	Late      uint64
	Lag       int64
	Version   uint64 // a rewrite of (Bucket, Instance, Topic, Partition) carries a larger one
}

// block is a columnar INSERT: column names and, for each, a typed slice of
// values the driver appends in one call.
type block struct {
	table string
	names []string
	cols  []any
	rows  int
}

func (b *block) add(name string, col any) {
	b.names = append(b.names, name)
	b.cols = append(b.cols, col)
}

// query names every column: the server fills the rest from their defaults,
// and 18.16 needs the list to match a batch to columns.
func (b *block) query(db string) string {
	return "INSERT INTO `" + db + "`." + b.table + " (" + strings.Join(b.names, ", ") + ")"
}

// checkTime keeps a time inside what both DateTime (legacy) and DateTime64
// (modern) store: ClickHouse would otherwise wrap it silently.
func checkTime(what string, t time.Time) error {
	if t.IsZero() {
		return fmt.Errorf("%s is zero", what)
	}
	if u := t.Unix(); u < 0 || u > math.MaxUint32 {
		return fmt.Errorf("%s %s outside 1970-01-01..2106-02-07", what, t.UTC().Format(time.RFC3339))
	}
	return nil
}

// termKind is the kind part of a "kind:value" term key.
func termKind(term string) string {
	kind, _, _ := strings.Cut(term, ":")
	return kind
}

func checkMinute(m *trend.Minute) error {
	if err := checkTime("bucket", m.Bucket); err != nil {
		return err
	}
	kind, value, ok := strings.Cut(m.Term, ":")
	if !ok || kind == "" || value == "" {
		return fmt.Errorf("term %q: want kind:value", m.Term)
	}
	if m.Kind != "" && m.Kind != kind {
		return fmt.Errorf("kind %q does not match term %q", m.Kind, m.Term)
	}
	return nil
}

// copyMinutes checks rows and copies them, slices included, so that later
// retries never read the caller's memory. All the string slices of one call
// share one backing array, sliced with their capacity capped.
func copyMinutes(rows []trend.Minute) ([]trend.Minute, error) {
	n := 0
	for i := range rows {
		m := &rows[i]
		if err := checkMinute(m); err != nil {
			return nil, fmt.Errorf("minute %d (%s at %s): %w: %w", i, m.Term, m.Bucket.UTC().Format(time.RFC3339), ErrInvalidRow, err)
		}
		n += len(m.TopRegions) + len(m.Langs) + len(m.ReportReasons)
	}
	out := make([]trend.Minute, len(rows))
	arena := make([]string, 0, n)
	clone := func(s []string) []string {
		start := len(arena)
		arena = append(arena, s...)
		return arena[start:len(arena):len(arena)]
	}
	for i := range rows {
		m := rows[i]
		if m.Kind == "" {
			m.Kind = termKind(m.Term)
		}
		m.TopRegions = clone(m.TopRegions)
		m.Langs = clone(m.Langs)
		m.ReportReasons = clone(m.ReportReasons)
		out[i] = m
	}
	return out, nil
}

func minuteBlock(rows []trend.Minute) *block {
	n := len(rows)
	var (
		bucket                             = make([]time.Time, n)
		kind, term                         = make([]string, n), make([]string, n)
		mentions, creators, reports, repos = make([]uint64, n), make([]uint64, n), make([]uint64, n), make([]uint64, n)
		regions, langs, reasons            = make([][]string, n), make([][]string, n), make([][]string, n)
		exact                              = make([]uint8, n)
		family                             = make([]string, n)
		version                            = make([]uint64, n)
		byChannel                          [event.NumChannels][]uint32
	)
	for c := event.ChannelUser + 1; c < event.NumChannels; c++ {
		byChannel[c] = make([]uint32, n)
	}
	for i := range rows {
		m := &rows[i]
		bucket[i], kind[i], term[i] = m.Bucket, m.Kind, m.Term
		mentions[i], creators[i], reports[i], repos[i] = m.Mentions, m.UniqueCreators, m.Reports, m.UniqueReporters
		regions[i], langs[i], reasons[i] = nonNil(m.TopRegions), nonNil(m.Langs), nonNil(m.ReportReasons)
		if m.Exact {
			exact[i] = 1
		}
		family[i] = m.Family
		version[i] = m.Version
		for c := event.ChannelUser + 1; c < event.NumChannels; c++ {
			byChannel[c][i] = uint32(min(m.ReportsByChannel[c], math.MaxUint32))
		}
	}
	b := &block{table: "trend_minute", rows: n}
	b.add("bucket", bucket)
	b.add("kind", kind)
	b.add("term", term)
	b.add("mentions", mentions)
	b.add("unique_creators", creators)
	b.add("reports", reports)
	b.add("unique_reporters", repos)
	b.add("top_regions", regions)
	b.add("langs", langs)
	b.add("report_reasons", reasons)
	b.add("exact", exact)
	b.add("family", family)
	for c := event.ChannelUser + 1; c < event.NumChannels; c++ {
		b.add("reports_"+c.String(), byChannel[c])
	}
	b.add("version", version)
	return b
}

// nonNil keeps the driver from reading a nil slice as a NULL it cannot store.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// copyEvents checks events and copies them. Zero OpenedAt, UpdatedAt or Bucket
// become the transition's time, the best knowledge there is; a zero
// ResolvedAt is NULL.
func copyEvents(evs []alert.Event) ([]alert.Event, error) {
	n := 0
	for i := range evs {
		e := &evs[i]
		if err := checkEvent(e); err != nil {
			return nil, fmt.Errorf("alert event %d (%s): %w: %w", i, e.ID(), ErrInvalidRow, err)
		}
		n += len(e.Alert.TopRegions) + len(e.Alert.Samples)
	}
	out := make([]alert.Event, len(evs))
	arena := make([]string, 0, n)
	clone := func(s []string) []string {
		start := len(arena)
		arena = append(arena, s...)
		return arena[start:len(arena):len(arena)]
	}
	for i := range evs {
		e := evs[i]
		a := &e.Alert
		if a.OpenedAt.IsZero() {
			a.OpenedAt = e.At
		}
		if a.UpdatedAt.IsZero() {
			a.UpdatedAt = e.At
		}
		if a.Bucket.IsZero() {
			a.Bucket = e.At.Truncate(time.Minute)
		}
		a.TopRegions = clone(a.TopRegions)
		a.Samples = clone(a.Samples)
		out[i] = e
	}
	return out, nil
}

func checkEvent(e *alert.Event) error {
	if e.Alert.Key == "" {
		return fmt.Errorf("alert key is empty")
	}
	if e.To == "" {
		return fmt.Errorf("to status is empty")
	}
	if err := checkTime("at", e.At); err != nil {
		return err
	}
	for _, t := range []struct {
		what string
		t    time.Time
	}{{"opened_at", e.Alert.OpenedAt}, {"updated_at", e.Alert.UpdatedAt}, {"resolved_at", e.Alert.ResolvedAt}, {"bucket", e.Alert.Bucket}} {
		if t.t.IsZero() {
			continue
		}
		if err := checkTime(t.what, t.t); err != nil {
			return err
		}
	}
	return nil
}

// alertState appends the columns both alerts and alert_events hold: the
// alert's state after the transition.
func alertState(b *block, evs []alert.Event) {
	n := len(evs)
	var (
		detector, term, kind, status, severity = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		level, watch, early                    = make([]uint8, n), make([]uint8, n), make([]uint8, n)
		opened, updated, bucket                = make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
		resolved                               = make([]*time.Time, n)
		score, observed, expected, growth      = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		creators                               = make([]uint64, n)
		reports, rate                          = make([]float64, n), make([]float64, n)
		regions, samples                       = make([][]string, n), make([][]string, n)
		summary, explanation                   = make([]string, n), make([]string, n)
	)
	for i := range evs {
		a := &evs[i].Alert
		detector[i], term[i], kind[i], status[i] = a.Detector, a.Term, termKind(a.Term), string(a.Status)
		if status[i] == "" {
			status[i] = string(evs[i].To)
		}
		severity[i], level[i] = a.Severity.String(), uint8(a.Severity)
		opened[i], updated[i], bucket[i] = a.OpenedAt, a.UpdatedAt, a.Bucket
		if !a.ResolvedAt.IsZero() {
			resolved[i] = &a.ResolvedAt
		}
		score[i], observed[i], expected[i], growth[i] = a.Score, a.Observed, a.Expected, a.Growth
		creators[i], reports[i], rate[i] = a.UniqueCreators, a.Reports, a.ReportRate
		regions[i], samples[i] = nonNil(a.TopRegions), nonNil(a.Samples)
		if a.Watchlisted {
			watch[i] = 1
		}
		if a.Early {
			early[i] = 1
		}
		summary[i], explanation[i] = a.Summary, a.Explanation
	}
	b.add("detector", detector)
	b.add("term", term)
	b.add("kind", kind)
	b.add("status", status)
	b.add("severity", severity)
	b.add("severity_level", level)
	b.add("opened_at", opened)
	b.add("updated_at", updated)
	b.add("resolved_at", resolved)
	b.add("bucket", bucket)
	b.add("score", score)
	b.add("observed", observed)
	b.add("expected", expected)
	b.add("growth", growth)
	b.add("unique_creators", creators)
	b.add("reports", reports)
	b.add("report_rate", rate)
	b.add("top_regions", regions)
	b.add("sample_content_ids", samples)
	b.add("watchlisted", watch)
	b.add("early", early)
	b.add("summary", summary)
	b.add("explanation", explanation)
}

// alertsBlock upserts each alert's state; ReplacingMergeTree keeps the row
// with the largest Seq.
func alertsBlock(evs []alert.Event) *block {
	b := &block{table: "alerts", rows: len(evs)}
	key, version := make([]string, len(evs)), make([]uint64, len(evs))
	for i := range evs {
		key[i], version[i] = evs[i].Alert.Key, evs[i].Seq
	}
	b.add("key", key)
	alertState(b, evs)
	b.add("version", version)
	return b
}

func alertEventsBlock(evs []alert.Event) *block {
	n := len(evs)
	b := &block{table: "alert_events", rows: n}
	id, key, seq := make([]string, n), make([]string, n), make([]uint64, n)
	at, from, to, reason := make([]time.Time, n), make([]string, n), make([]string, n), make([]string, n)
	for i := range evs {
		e := &evs[i]
		id[i], key[i], seq[i] = e.ID(), e.Alert.Key, e.Seq
		at[i], from[i], to[i], reason[i] = e.At, string(e.From), string(e.To), e.Reason
	}
	b.add("event_id", id)
	b.add("key", key)
	b.add("seq", seq)
	b.add("event_time", at)
	b.add("from_status", from)
	b.add("to_status", to)
	b.add("reason", reason)
	alertState(b, evs)
	return b
}

func checkStats(s *IngestStats) error {
	if err := checkTime("bucket", s.Bucket); err != nil {
		return err
	}
	if s.Topic == "" {
		return fmt.Errorf("topic is empty")
	}
	return nil
}

func copyStats(rows []IngestStats) ([]IngestStats, error) {
	for i := range rows {
		if err := checkStats(&rows[i]); err != nil {
			return nil, fmt.Errorf("ingest stats %d (%s/%d at %s): %w: %w", i, rows[i].Topic, rows[i].Partition,
				rows[i].Bucket.UTC().Format(time.RFC3339), ErrInvalidRow, err)
		}
	}
	return append([]IngestStats(nil), rows...), nil
}

func statsBlock(rows []IngestStats) *block {
	n := len(rows)
	bucket := make([]time.Time, n)
	instance, topic := make([]string, n), make([]string, n)
	partition := make([]int32, n)
	events, invalid, late, version := make([]uint64, n), make([]uint64, n), make([]uint64, n), make([]uint64, n)
	lag := make([]int64, n)
	for i := range rows {
		r := &rows[i]
		bucket[i], instance[i], topic[i], partition[i] = r.Bucket, r.Instance, r.Topic, r.Partition
		events[i], invalid[i], late[i], lag[i], version[i] = r.Events, r.Invalid, r.Late, r.Lag, r.Version
	}
	b := &block{table: "ingest_stats", rows: n}
	b.add("bucket", bucket)
	b.add("instance", instance)
	b.add("topic", topic)
	b.add("kafka_partition", partition)
	b.add("events", events)
	b.add("invalid", invalid)
	b.add("late", late)
	b.add("consumer_lag", lag)
	b.add("version", version)
	return b
}
