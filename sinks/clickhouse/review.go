package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/review"
	"github.com/trendwatch/trendwatch/trend"
)

// Reader reads back what the sink wrote, for post-incident reviews, and
// records analysts' verdicts. It implements review.Source.
type Reader struct {
	conn driver.Conn
	db   string
}

// OpenReader connects and checks that the schema is in place.
func OpenReader(ctx context.Context, cfg Config) (*Reader, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	conn, err := dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := checkSchema(ctx, conn, cfg.Database); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return &Reader{conn: conn, db: cfg.Database}, nil
}

// Close closes the connection.
func (r *Reader) Close() error { return r.conn.Close() }

func (r *Reader) table(name string) string { return "`" + r.db + "`." + name }

// The queries read the tables with FINAL and filter on a prefix of their
// ORDER BY key: every version of a row shares that key, so the filter cannot
// split a row from its newer version, and the primary index narrows the read,
// which the views (FINAL over the whole table, then filtered) cannot promise on
// 18.16. Times are bound as Unix seconds through toDateTime, which every
// server version reads the same way.

// AlertHistory returns every transition of the alert once, in Seq order.
func (r *Reader) AlertHistory(ctx context.Context, key string) ([]alert.Event, error) {
	rows, err := r.conn.Query(ctx, `SELECT seq, event_time, from_status, to_status,
    detector, term, status, severity, opened_at, updated_at, resolved_at, bucket,
    score, observed, expected, growth, unique_creators, reports, report_rate,
    top_regions, sample_content_ids, watchlisted, summary, explanation, early, reason
FROM `+r.table("alert_events")+` FINAL
WHERE key = ?
ORDER BY seq`, key)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: reading alert_events of %q: %w", key, err)
	}
	defer rows.Close()
	var out []alert.Event
	for rows.Next() {
		e := alert.Event{Alert: alert.Alert{Key: key}}
		a := &e.Alert
		var (
			from, to, status, severity string
			resolved                   *time.Time
			watch, early               uint8
		)
		if err := rows.Scan(&e.Seq, &e.At, &from, &to,
			&a.Detector, &a.Term, &status, &severity, &a.OpenedAt, &a.UpdatedAt, &resolved, &a.Bucket,
			&a.Score, &a.Observed, &a.Expected, &a.Growth, &a.UniqueCreators, &a.Reports, &a.ReportRate,
			&a.TopRegions, &a.Samples, &watch, &a.Summary, &a.Explanation, &early, &e.Reason); err != nil {
			return nil, fmt.Errorf("clickhouse: reading alert_events of %q: %w", key, err)
		}
		e.From, e.To, a.Status = alert.Status(from), alert.Status(to), alert.Status(status)
		if a.Severity, err = alert.ParseSeverity(severity); err != nil {
			return nil, fmt.Errorf("clickhouse: alert_events of %q, seq %d: %w", key, e.Seq, err)
		}
		if resolved != nil {
			a.ResolvedAt = *resolved
		}
		a.Watchlisted, a.Early = watch != 0, early != 0
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse: reading alert_events of %q: %w", key, err)
	}
	return out, nil
}

// TermMinutes returns the latest version of each of the term's buckets in
// [from, to), in bucket order.
func (r *Reader) TermMinutes(ctx context.Context, term string, from, to time.Time) ([]trend.Minute, error) {
	kind, _, _ := strings.Cut(term, ":")
	out, err := r.minutes(ctx, "kind = ? AND term = ?", []any{kind, term}, from, to)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: reading trend_minute of %q: %w", term, err)
	}
	return out, nil
}

// FamilyMinutes returns the latest version of each bucket in [from, to) of
// every spelling whose rows name family, by term, then bucket; the family's
// own rows are not among them.
func (r *Reader) FamilyMinutes(ctx context.Context, family string, from, to time.Time) ([]trend.Minute, error) {
	out, err := r.minutes(ctx, "family = ? AND kind != ?", []any{family, event.KindFamily.String()}, from, to)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: reading trend_minute of the spellings of %q: %w", family, err)
	}
	return out, nil
}

// minutes reads the latest version of each (term, bucket) in [from, to) of
// the rows where holds (with its arguments args), by term, then bucket.
func (r *Reader) minutes(ctx context.Context, where string, args []any, from, to time.Time) ([]trend.Minute, error) {
	rows, err := r.conn.Query(ctx, `SELECT term, kind, bucket, mentions, unique_creators, reports, unique_reporters,
    top_regions, langs, report_reasons, exact, version, family, `+strings.Join(reportChannelColumns(), ", ")+`
FROM `+r.table("trend_minute")+` FINAL
WHERE `+where+` AND bucket >= toDateTime(?) AND bucket < toDateTime(?)
ORDER BY term, bucket`, append(args, from.Unix(), to.Unix())...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []trend.Minute
	for rows.Next() {
		var (
			m         trend.Minute
			exact     uint8
			byChannel [event.NumChannels - 1]uint32 // from the first channel after user
		)
		dest := []any{&m.Term, &m.Kind, &m.Bucket, &m.Mentions, &m.UniqueCreators, &m.Reports, &m.UniqueReporters,
			&m.TopRegions, &m.Langs, &m.ReportReasons, &exact, &m.Version, &m.Family}
		for i := range byChannel {
			dest = append(dest, &byChannel[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		m.Exact = exact != 0
		// User's reports are what the other channels leave.
		var others uint64
		for i, n := range byChannel {
			m.ReportsByChannel[event.ChannelUser+1+event.Channel(i)] = uint64(n)
			others += uint64(n)
		}
		if m.Reports > others {
			m.ReportsByChannel[event.ChannelUser] = m.Reports - others
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// LatestVerdict returns the key's verdict as ReplacingMergeTree(reviewed_at)
// keeps it: the latest review wins, as in notebooks/05_alert_precision.sql.
func (r *Reader) LatestVerdict(ctx context.Context, key string) (review.Verdict, bool, error) {
	rows, err := r.conn.Query(ctx, `SELECT verdict, reviewer, note, reviewed_at
FROM `+r.table("alert_reviews")+` FINAL
WHERE key = ?`, key)
	if err != nil {
		return review.Verdict{}, false, fmt.Errorf("clickhouse: reading alert_reviews of %q: %w", key, err)
	}
	defer rows.Close()
	v := review.Verdict{Key: key}
	found := false
	for rows.Next() {
		if err := rows.Scan(&v.Verdict, &v.Reviewer, &v.Note, &v.At); err != nil {
			return review.Verdict{}, false, fmt.Errorf("clickhouse: reading alert_reviews of %q: %w", key, err)
		}
		found = true
	}
	if err := rows.Err(); err != nil {
		return review.Verdict{}, false, fmt.Errorf("clickhouse: reading alert_reviews of %q: %w", key, err)
	}
	return v, found, nil
}

// AlertsOpened lists the keys of the alerts opened in [from, to), sorted.
func (r *Reader) AlertsOpened(ctx context.Context, from, to time.Time) ([]string, error) {
	rows, err := r.conn.Query(ctx, `SELECT key
FROM `+r.table("alert_events")+` FINAL
WHERE opened_at >= toDateTime(?) AND opened_at < toDateTime(?)
GROUP BY key
ORDER BY key`, from.Unix(), to.Unix())
	if err != nil {
		return nil, fmt.Errorf("clickhouse: listing alerts opened from %s to %s: %w", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("clickhouse: listing alerts opened: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse: listing alerts opened: %w", err)
	}
	return keys, nil
}

// RecordVerdict stores an analyst's verdict in alert_reviews. A zero At is
// the time of the call. reviewed_at has whole seconds; of two verdicts on a key
// within one second, ReplacingMergeTree keeps the one inserted last.
func (r *Reader) RecordVerdict(ctx context.Context, v review.Verdict) error {
	if _, err := review.ParseVerdict(v.Verdict); err != nil {
		return err
	}
	if v.Key == "" {
		return fmt.Errorf("clickhouse: verdict %s: alert key is empty", v.Verdict)
	}
	if v.At.IsZero() {
		v.At = time.Now()
	}
	if err := checkTime("reviewed_at", v.At); err != nil {
		return fmt.Errorf("clickhouse: verdict on %q: %w", v.Key, err)
	}
	batch, err := r.conn.PrepareBatch(ctx, "INSERT INTO "+r.table("alert_reviews")+" (key, verdict, reviewer, note, reviewed_at)")
	if err != nil {
		return fmt.Errorf("clickhouse: recording verdict on %q: %w", v.Key, err)
	}
	if err := batch.Append(v.Key, v.Verdict, v.Reviewer, v.Note, v.At.UTC().Truncate(time.Second)); err != nil {
		_ = batch.Abort()
		return fmt.Errorf("clickhouse: recording verdict on %q: %w", v.Key, err)
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("clickhouse: recording verdict on %q: %w", v.Key, err)
	}
	return nil
}
