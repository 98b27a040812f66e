package clickhouse

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/trendwatch/trendwatch/event"
)

// version is a ClickHouse server version as version() reports it.
type version struct{ Major, Minor, Patch int }

func (v version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// parseVersion reads what SELECT version() returns: "18.16.1", "23.8.2.7",
// "24.3.1.2672-lts" or "26.7.2.1".
func parseVersion(s string) (version, error) {
	core, _, _ := strings.Cut(strings.TrimSpace(s), "-")
	parts := strings.Split(core, ".")
	if len(parts) < 2 {
		return version{}, fmt.Errorf("clickhouse version %q: want major.minor[.patch...]", s)
	}
	var n [3]int
	for i := 0; i < len(parts) && i < 3; i++ {
		v, err := strconv.ParseUint(parts[i], 10, 16)
		if err != nil {
			return version{}, fmt.Errorf("clickhouse version %q: part %d: %w", s, i+1, err)
		}
		n[i] = int(v)
	}
	return version{Major: n[0], Minor: n[1], Patch: n[2]}, nil
}

// dialect is the flavour of DDL a server gets. Modern servers get
// LowCardinality, DateTime64, column codecs and TTL retention; legacy ones get
// plain types, which is what the 18.16 integration tests run on. 18.16 has
// LowCardinality only behind allow_experimental_low_cardinality_type and no
// DateTime64, codecs or TTL, so it is legacy as a whole rather than feature by
// feature: production runs 23.8 or later and gains nothing from a middle tier.
type dialect uint8

const (
	dialectLegacy dialect = iota + 1
	dialectModern
)

func (d dialect) String() string {
	switch d {
	case dialectLegacy:
		return "legacy"
	case dialectModern:
		return "modern"
	}
	return fmt.Sprintf("dialect(%d)", uint8(d))
}

// dialectFor picks the DDL flavour for a server version; 23.8 is the oldest
// LTS production runs and the first this package's modern DDL is tested on.
func dialectFor(v version) dialect {
	if v.Major > 23 || v.Major == 23 && v.Minor >= 8 {
		return dialectModern
	}
	return dialectLegacy
}

// schema renders DDL for one database on one dialect.
type schema struct {
	db            string
	dialect       dialect
	retentionDays int
}

func (s schema) modern() bool { return s.dialect == dialectModern }

// table names a table or view of the trendwatch database, quoted.
func (s schema) table(name string) string { return "`" + s.db + "`." + name }

// lc is LowCardinality for small sets of values (kinds, regions, statuses).
func (s schema) lc(t string) string {
	if s.modern() {
		return "LowCardinality(" + t + ")"
	}
	return t
}

// ts is the type of a precise timestamp: alert times, where the order of two
// transitions within one second matters to a reader.
func (s schema) ts() string {
	if s.modern() {
		return "DateTime64(3, 'UTC')"
	}
	return "DateTime('UTC')"
}

func (s schema) codec(c string) string {
	if s.modern() {
		return " CODEC(" + c + ")"
	}
	return ""
}

// ttl is the retention clause (and the setting that makes it cheap: rows of a
// day expire together, so whole parts are dropped instead of rewritten).
func (s schema) ttl(expr string, dayPartitions bool) string {
	if !s.modern() || s.retentionDays == 0 {
		return ""
	}
	out := fmt.Sprintf("\nTTL %s + INTERVAL %d DAY", expr, s.retentionDays)
	if dayPartitions {
		out += "\nSETTINGS ttl_only_drop_parts = 1"
	}
	return out
}

// migration is one versioned schema change. Its statements must be safe to run
// again (IF NOT EXISTS, or a DROP ... IF EXISTS followed by its CREATE),
// because a crash between applying them and recording the migration makes the
// next Migrate run them twice.
type migration struct {
	version int
	name    string
	// columns are added before ddl runs, each only when the table lacks it:
	// 18.16 has no ADD COLUMN IF NOT EXISTS, so Migrate looks first.
	columns func(s schema) []tableColumn
	ddl     func(s schema) []string
}

// tableColumn is one column a migration adds to an existing table.
type tableColumn struct {
	table string
	name  string
	typ   string // type and default, as in CREATE TABLE
	after string
}

// addColumn is the ALTER that adds c; Migrate runs it only when c is missing,
// and modern servers check again themselves.
func (s schema) addColumn(c tableColumn) string {
	ifNotExists := ""
	if s.modern() {
		ifNotExists = "IF NOT EXISTS "
	}
	return "ALTER TABLE " + s.table(c.table) + " ADD COLUMN " + ifNotExists + c.name + " " + c.typ + " AFTER " + c.after
}

// migrations is the schema's history, in order. Never edit an applied
// migration: append a new one.
func migrations() []migration {
	return []migration{
		{1, "create_trend_minute", nil, func(s schema) []string { return []string{s.trendMinute()} }},
		{2, "create_alerts", nil, func(s schema) []string { return []string{s.alerts()} }},
		{3, "create_alert_events", nil, func(s schema) []string { return []string{s.alertEvents()} }},
		{4, "create_ingest_stats", nil, func(s schema) []string { return []string{s.ingestStats()} }},
		{5, "create_alert_reviews", nil, func(s schema) []string { return []string{s.alertReviews()} }},
		{6, "create_views", nil, func(s schema) []string {
			return []string{s.termHistoryV6(), s.trendingNow(), s.alertTimelineV6()}
		}},
		// A view is created by one statement and changed by replacing it: 18.16
		// has neither CREATE OR REPLACE VIEW nor DROP VIEW, and DROP TABLE drops a
		// view on every version. Readers of term_history may see it missing for
		// the moment between the two.
		{7, "trend_minute_exact", func(s schema) []tableColumn {
			return []tableColumn{{table: "trend_minute", name: "exact", typ: "UInt8 DEFAULT 0", after: "report_reasons"}}
		}, func(s schema) []string {
			return []string{"DROP TABLE IF EXISTS " + s.table("term_history"), s.termHistoryV7()}
		}},
		// family groups a hashtag's spellings (package family); rows written
		// before it hold "".
		{8, "trend_minute_family", func(s schema) []tableColumn {
			return []tableColumn{{table: "trend_minute", name: "family", typ: "String DEFAULT ''", after: "exact"}}
		}, func(s schema) []string {
			return []string{"DROP TABLE IF EXISTS " + s.table("term_history"), s.termHistoryV8()}
		}},
		// Reports by the channel they came by, but user's, which is reports less
		// these: rows written before channels were counted then read as all
		// user reports, as they were.
		{9, "trend_minute_channels", func(s schema) []tableColumn {
			var cs []tableColumn
			after := "family"
			for _, name := range reportChannelColumns() {
				cs = append(cs, tableColumn{table: "trend_minute", name: name, typ: "UInt32 DEFAULT 0", after: after})
				after = name
			}
			return cs
		}, func(s schema) []string {
			return []string{"DROP TABLE IF EXISTS " + s.table("term_history"), s.termHistory()}
		}},
		// early: the alert opened on a bucket still open (detectors.early);
		// reason: why a transition happened, "retracted" for an early alert
		// the final judgement took back. Rows written before them hold 0, "".
		{10, "alerts_early", func(s schema) []tableColumn {
			return []tableColumn{
				{table: "alerts", name: "early", typ: "UInt8 DEFAULT 0", after: "watchlisted"},
				{table: "alert_events", name: "early", typ: "UInt8 DEFAULT 0", after: "watchlisted"},
				{table: "alert_events", name: "reason", typ: s.lc("String") + " DEFAULT ''", after: "to_status"},
			}
		}, func(schema) []string { return nil }},
		// alert_timeline shows early and reason, which 10 added to
		// alert_events.
		{11, "alert_timeline_early_reason", nil, func(s schema) []string {
			return []string{"DROP TABLE IF EXISTS " + s.table("alert_timeline"), s.alertTimeline()}
		}},
	}
}

// reportChannelColumns names trend_minute's columns of reports by channel, in
// event.Channel order from the first channel after user.
func reportChannelColumns() []string {
	var out []string
	for c := event.ChannelUser + 1; c < event.NumChannels; c++ {
		out = append(out, "reports_"+c.String())
	}
	return out
}

func (m migration) id() string { return fmt.Sprintf("%04d_%s", m.version, m.name) }

// latestVersion is what Open requires the database to be at.
func latestVersion() int {
	ms := migrations()
	return ms[len(ms)-1].version
}

// schemaMigrations records applied migrations. Plain MergeTree: two Migrate
// runs racing may both record a version, which readers treat as a set.
func (s schema) schemaMigrations() string {
	return `CREATE TABLE IF NOT EXISTS ` + s.table("schema_migrations") + ` (
    version UInt32,
    name String,
    dialect String,
    server_version String,
    applied_at DateTime('UTC') DEFAULT now()
) ENGINE = MergeTree
ORDER BY version`
}

// trendMinute: one row per term and bucket and write. A bucket written again
// (a retry, a replay, a late event) carries a larger version and replaces the
// older row at merge time; until then views read it through FINAL.
func (s schema) trendMinute() string {
	counts := s.codec("T64, ZSTD(1)")
	return `CREATE TABLE IF NOT EXISTS ` + s.table("trend_minute") + ` (
    bucket DateTime('UTC')` + s.codec("DoubleDelta, ZSTD(1)") + `,
    kind ` + s.lc("String") + `,
    term String` + s.codec("ZSTD(1)") + `,
    mentions UInt64` + counts + `,
    unique_creators UInt64` + counts + `,
    reports UInt64` + counts + `,
    unique_reporters UInt64` + counts + `,
    top_regions Array(` + s.lc("String") + `),
    langs Array(` + s.lc("String") + `),
    report_reasons Array(` + s.lc("String") + `),
    version UInt64,
    written_at DateTime('UTC') DEFAULT now()
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMMDD(bucket)
ORDER BY (kind, term, bucket)` + s.ttl("bucket", true)
}

// alertColumns are the alert's state, shared by alerts (current state) and
// alert_events (state after each transition).
func (s schema) alertColumns() string {
	return `    detector ` + s.lc("String") + `,
    term String,
    kind ` + s.lc("String") + `,
    status ` + s.lc("String") + `,
    severity ` + s.lc("String") + `,
    severity_level UInt8,
    opened_at ` + s.ts() + `,
    updated_at ` + s.ts() + `,
    resolved_at Nullable(` + s.ts() + `),
    bucket DateTime('UTC'),
    score Float64,
    observed Float64,
    expected Float64,
    growth Float64,
    unique_creators UInt64,
    reports Float64,
    report_rate Float64,
    top_regions Array(` + s.lc("String") + `),
    sample_content_ids Array(String),
    watchlisted UInt8,
    summary String` + s.codec("ZSTD(3)") + `,
    explanation String` + s.codec("ZSTD(3)")
}

// alerts holds the current state of each alert; version is Event.Seq. Not
// partitioned: a key's versions must meet in one partition to replace each
// other, and its times change.
func (s schema) alerts() string {
	return `CREATE TABLE IF NOT EXISTS ` + s.table("alerts") + ` (
    key String,
` + s.alertColumns() + `,
    version UInt64,
    written_at DateTime('UTC') DEFAULT now()
) ENGINE = ReplacingMergeTree(version)
ORDER BY key` + s.ttl("toDateTime(updated_at)", false)
}

// alertEvents holds every transition once: a replayed transition has the same
// (key, seq) and collapses.
func (s schema) alertEvents() string {
	return `CREATE TABLE IF NOT EXISTS ` + s.table("alert_events") + ` (
    event_id String,
    key String,
    seq UInt64,
    event_time ` + s.ts() + `,
    from_status ` + s.lc("String") + `,
    to_status ` + s.lc("String") + `,
` + s.alertColumns() + `,
    written_at DateTime('UTC') DEFAULT now()
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (key, seq)` + s.ttl("toDateTime(event_time)", false)
}

func (s schema) ingestStats() string {
	return `CREATE TABLE IF NOT EXISTS ` + s.table("ingest_stats") + ` (
    bucket DateTime('UTC')` + s.codec("DoubleDelta, ZSTD(1)") + `,
    instance ` + s.lc("String") + `,
    topic ` + s.lc("String") + `,
    kafka_partition Int32,
    events UInt64,
    invalid UInt64,
    late UInt64,
    consumer_lag Int64,
    version UInt64,
    written_at DateTime('UTC') DEFAULT now()
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMMDD(bucket)
ORDER BY (topic, kafka_partition, bucket, instance)` + s.ttl("bucket", true)
}

// alertReviews is written by analysts, not by trendwatch: one verdict per
// alert key, the latest review winning. Precision can only be measured against
// verdicts, so the schema gives them a home.
func (s schema) alertReviews() string {
	return `CREATE TABLE IF NOT EXISTS ` + s.table("alert_reviews") + ` (
    key String,
    verdict ` + s.lc("String") + `,
    reviewer String,
    note String,
    reviewed_at DateTime('UTC') DEFAULT now()
) ENGINE = ReplacingMergeTree(reviewed_at)
ORDER BY key`
}

// The views use only syntax that 18.16 and current ClickHouse both accept:
// FINAL rather than window functions, WITH aliases, ANY LEFT JOIN ... USING.

// termHistory is trend_minute with rewrites resolved: one row per bucket and
// term, the latest version's numbers. exact says whether mentions and reports
// are exact counts or count-min estimates (never below the truth); family is
// the family of spellings the term counts into.
func (s schema) termHistory() string {
	cols := reportChannelColumns()
	extra := "    exact,\n    family,\n"
	for _, c := range cols {
		extra += "    " + c + ",\n"
	}
	sum := strings.Join(cols, " + ")
	extra += "    if(reports > " + sum + ", reports - (" + sum + "), 0) AS reports_user,\n"
	return s.termHistoryView(extra)
}

// termHistoryV8 is term_history as migration 8 created it, before channels.
func (s schema) termHistoryV8() string { return s.termHistoryView("    exact,\n    family,\n") }

// termHistoryV7 is term_history as migration 7 created it, before family.
func (s schema) termHistoryV7() string { return s.termHistoryView("    exact,\n") }

// termHistoryV6 is term_history as migration 6 created it, before exact: the
// migration must keep creating what it always did, and 7 replaces it.
func (s schema) termHistoryV6() string { return s.termHistoryView("") }

func (s schema) termHistoryView(extra string) string {
	return `CREATE VIEW IF NOT EXISTS ` + s.table("term_history") + ` AS
SELECT
    bucket,
    term,
    kind,
    substring(term, position(term, ':') + 1) AS value,
    mentions,
    unique_creators,
    reports,
    unique_reporters,
    if(mentions = 0, 0, reports / mentions) AS report_rate,
    if(unique_creators = 0, 0, mentions / unique_creators) AS mentions_per_creator,
    top_regions,
    langs,
    report_reasons,
` + extra + `    version
FROM ` + s.table("trend_minute") + ` FINAL`
}

// trendingNow compares each term's last 15 complete minutes with the hour
// before them. The minute in progress is left out: its bucket is not closed.
// Column meanings are in notebooks/README.md.
func (s schema) trendingNow() string {
	return `CREATE VIEW IF NOT EXISTS ` + s.table("trending_now") + ` AS
WITH
    toStartOfMinute(now()) AS this_minute,
    this_minute - INTERVAL 15 MINUTE AS recent_start
SELECT
    term,
    any(kind) AS kind,
    sumIf(mentions, bucket >= recent_start) AS recent_mentions,
    sumIf(mentions, bucket < recent_start) AS baseline_mentions,
    recent_mentions / 15 AS recent_per_minute,
    baseline_mentions / 60 AS baseline_per_minute,
    (recent_per_minute + 1) / (baseline_per_minute + 1) AS growth,
    maxIf(unique_creators, bucket >= recent_start) AS peak_unique_creators,
    sumIf(reports, bucket >= recent_start) AS recent_reports,
    if(recent_mentions = 0, 0, recent_reports / recent_mentions) AS recent_report_rate,
    argMax(top_regions, bucket) AS top_regions,
    max(bucket) AS last_bucket
FROM ` + s.table("term_history") + `
WHERE bucket >= recent_start - INTERVAL 60 MINUTE AND bucket < this_minute
GROUP BY term
HAVING recent_mentions > 0
ORDER BY growth DESC, term`
}

// alertTimeline lists every transition, newest first, beside the alert's
// current state so a reader sees both what happened and where it ended.
func (s schema) alertTimeline() string {
	return s.alertTimelineView("    reason,\n", "    early,\n")
}

// alertTimelineV6 is alert_timeline as migration 6 created it, before early
// and reason: the migration must keep creating what it always did, and 11
// replaces it.
func (s schema) alertTimelineV6() string { return s.alertTimelineView("", "") }

// alertTimelineView is the view with afterStatus columns after to_status and
// afterWatchlisted after watchlisted, the order alert_events has them in.
func (s schema) alertTimelineView(afterStatus, afterWatchlisted string) string {
	return `CREATE VIEW IF NOT EXISTS ` + s.table("alert_timeline") + ` AS
SELECT
    event_time,
    key,
    seq,
    event_id,
    detector,
    term,
    from_status,
    to_status,
` + afterStatus + `    severity,
    severity_level,
    score,
    observed,
    expected,
    growth,
    unique_creators,
    reports,
    report_rate,
    top_regions,
    sample_content_ids,
    watchlisted,
` + afterWatchlisted + `    summary,
    explanation,
    opened_at,
    current_status,
    current_severity,
    current_updated_at,
    current_resolved_at
FROM
(
    SELECT *
    FROM ` + s.table("alert_events") + ` FINAL
) AS e
ANY LEFT JOIN
(
    SELECT
        key,
        status AS current_status,
        severity AS current_severity,
        updated_at AS current_updated_at,
        resolved_at AS current_resolved_at
    FROM ` + s.table("alerts") + ` FINAL
) AS a USING (key)
ORDER BY event_time DESC, key, seq DESC`
}
