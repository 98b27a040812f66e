//go:build integration

package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/trend"
)

func TestMigrateIntegration(t *testing.T) {
	cfg := testConfig(t)
	ctx := context.Background()
	applied, err := Migrate(ctx, cfg, nil)
	if err != nil {
		t.Fatalf("first Migrate: %v", err)
	}
	var want []string
	for _, m := range migrations() {
		want = append(want, m.id())
	}
	if !slices.Equal(applied, want) {
		t.Errorf("first Migrate applied %q, want %q", applied, want)
	}
	again, err := Migrate(ctx, cfg, nil)
	if err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if len(again) != 0 {
		t.Errorf("second Migrate applied %q, want nothing", again)
	}

	conn := directConn(t, cfg.Addr[0], cfg.Database)
	recorded := mustQuery(t, conn, "SELECT version, name, dialect FROM schema_migrations ORDER BY version")
	if len(recorded.rows) != len(want) {
		t.Fatalf("schema_migrations holds %d rows, want %d (one per migration):\n%s", len(recorded.rows), len(want), recorded)
	}
	if d := recorded.cell(0, "dialect"); d != "legacy" {
		t.Errorf("dialect recorded on %s = %q, want legacy", cfg.Addr[0], d)
	}
	tables := mustQuery(t, conn, "SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name")
	var names []string
	for _, r := range tables.rows {
		names = append(names, r[0])
	}
	wantTables := []string{"alert_events", "alert_reviews", "alert_timeline", "alerts", "ingest_stats", "schema_migrations", "term_history", "trend_minute", "trending_now"}
	if !slices.Equal(names, wantTables) {
		t.Errorf("tables = %q, want %q", names, wantTables)
	}
}

// TestMigrationRerunIntegration applies every migration's statements again
// after Migrate, as the next Migrate does when a crash came between applying a
// migration and recording it: nothing fails and nothing is doubled.
func TestMigrationRerunIntegration(t *testing.T) {
	cfg := testConfig(t)
	migrated(t, cfg)
	ctx := context.Background()
	conn := directConn(t, cfg.Addr[0], "")
	sc := schema{db: cfg.Database, dialect: dialectLegacy}
	for _, m := range migrations() {
		if m.columns != nil {
			for _, c := range m.columns(sc) {
				if err := ensureColumn(ctx, conn, sc, c); err != nil {
					t.Fatalf("%s again: %v", m.id(), err)
				}
			}
		}
		for i, stmt := range m.ddl(sc) {
			if err := conn.Exec(ctx, stmt); err != nil {
				t.Fatalf("%s statement %d again: %v", m.id(), i+1, err)
			}
		}
	}
	got := mustQuery(t, conn, "SELECT name, type, default_expression FROM system.columns WHERE database = '"+cfg.Database+
		"' AND table IN ('trend_minute', 'term_history') AND name = 'exact' ORDER BY table")
	want := [][]string{{"exact", "UInt8", ""}, {"exact", "UInt8", "0"}}
	if len(got.rows) != 2 || got.rows[0][1] != "UInt8" || got.rows[1][2] != "0" {
		t.Errorf("exact columns of term_history and trend_minute =\n%s\nwant %q", got, want)
	}
}

func TestOpenWithoutSchemaIntegration(t *testing.T) {
	cfg := testConfig(t)
	_, err := Open(context.Background(), cfg, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "trendwatch migrate") {
		t.Fatalf("Open on a database never migrated: err = %v, want one telling to run trendwatch migrate", err)
	}
}

func minute(bucket time.Time, term string, mentions, version uint64) trend.Minute {
	return trend.Minute{
		Bucket: bucket, Term: term, Mentions: mentions, UniqueCreators: mentions / 2, Reports: mentions / 10,
		UniqueReporters: mentions / 20, TopRegions: []string{"NP", "IN"}, Langs: []string{"ne"},
		ReportReasons: []string{"spam"}, Version: version,
	}
}

func TestMinutesRewriteIntegration(t *testing.T) {
	cfg := testConfig(t)
	migrated(t, cfg)
	s, _ := openSink(t, cfg)
	ctx := context.Background()
	b := time.Now().UTC().Truncate(time.Minute).Add(-3 * time.Minute)

	first := []trend.Minute{minute(b, "hashtag:fyp", 10, 1), minute(b, "sound:42", 7, 1)}
	if err := s.WriteMinutes(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// A late event rewrites one bucket; a replay resends the other unchanged.
	second := []trend.Minute{minute(b, "hashtag:fyp", 30, 2), minute(b, "sound:42", 7, 1)}
	second[0].TopRegions = []string{"BD"}
	if err := s.WriteMinutes(ctx, second); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	conn := directConn(t, cfg.Addr[0], cfg.Database)
	raw := mustQuery(t, conn, "SELECT count() AS n FROM trend_minute")
	if raw.cell(0, "n") != "4" {
		t.Logf("trend_minute holds %s rows before merging (4 expected unless merged)", raw.cell(0, "n"))
	}
	got := mustQuery(t, conn, "SELECT term, kind, value, mentions, unique_creators, reports, unique_reporters, top_regions FROM term_history ORDER BY term")
	want := [][]string{
		{"hashtag:fyp", "hashtag", "fyp", "30", "15", "3", "1", "[BD]"},
		{"sound:42", "sound", "42", "7", "3", "0", "0", "[NP IN]"},
	}
	if !slices.EqualFunc(got.rows, want, slices.Equal) {
		t.Errorf("term_history =\n%s\nwant %q", got, want)
	}
	now := mustQuery(t, conn, "SELECT term, recent_mentions FROM trending_now ORDER BY term")
	if len(now.rows) != 2 || now.cell(0, "recent_mentions") != "30" {
		t.Errorf("trending_now =\n%s\nwant hashtag:fyp with 30 recent mentions and sound:42", now)
	}
}

func transition(key, term string, seq uint64, from, to alert.Status, at time.Time, sev alert.Severity) alert.Event {
	a := alert.Alert{
		Key: key, Detector: strings.Split(key, "|")[0], Term: term, Status: to, Severity: sev,
		OpenedAt: at.Add(-time.Duration(seq-1) * time.Minute), UpdatedAt: at, Bucket: at.Truncate(time.Minute),
		Score: 4.5 + float64(seq), Observed: 120, Expected: 10, Growth: 12, UniqueCreators: 80, Reports: 3,
		ReportRate: 0.025, TopRegions: []string{"NP"}, Samples: []string{"c1", "c2"},
		Summary: term + " is " + string(to), Explanation: "observed=120 expected=10",
	}
	if to == alert.StatusResolved {
		a.ResolvedAt = at
	}
	return alert.Event{Alert: a, From: from, To: to, At: at, Seq: seq}
}

func TestAlertsIntegration(t *testing.T) {
	cfg := testConfig(t)
	migrated(t, cfg)
	s, _ := openSink(t, cfg)
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Second).Add(-10 * time.Minute)
	key := "surge|hashtag:blackoutchallenge"
	evs := []alert.Event{
		transition(key, "hashtag:blackoutchallenge", 1, "", alert.StatusOpen, at, alert.SeverityHigh),
		transition(key, "hashtag:blackoutchallenge", 2, alert.StatusOpen, alert.StatusEscalated, at.Add(2*time.Minute), alert.SeverityCritical),
		transition(key, "hashtag:blackoutchallenge", 3, alert.StatusEscalated, alert.StatusResolved, at.Add(5*time.Minute), alert.SeverityCritical),
	}
	// Opened early, and the escalation's reason (any reason; retracted in
	// production) kept.
	evs[0].Alert.Early = true
	evs[1].Reason = "retracted"
	// Sent twice, as after a restart that replays its input.
	for range 2 {
		if err := s.WriteAlerts(ctx, evs); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	conn := directConn(t, cfg.Addr[0], cfg.Database)
	state := mustQuery(t, conn, "SELECT key, status, severity, severity_level, version, resolved_at FROM alerts FINAL")
	if len(state.rows) != 1 || state.cell(0, "status") != "resolved" || state.cell(0, "severity") != "critical" ||
		state.cell(0, "version") != "3" || state.cell(0, "resolved_at") == "NULL" {
		t.Errorf("alerts FINAL =\n%s\nwant one resolved critical row at version 3", state)
	}
	hist := mustQuery(t, conn, "SELECT event_id, from_status, to_status, early, reason FROM alert_events FINAL ORDER BY seq")
	want := [][]string{
		{key + "#1", "", "open", "1", ""},
		{key + "#2", "open", "escalated", "0", "retracted"},
		{key + "#3", "escalated", "resolved", "0", ""},
	}
	if !slices.EqualFunc(hist.rows, want, slices.Equal) {
		t.Errorf("alert_events FINAL =\n%s\nwant each transition once: %q", hist, want)
	}
	tl := mustQuery(t, conn, "SELECT seq, to_status, early, reason, current_status, current_severity FROM alert_timeline")
	wantTL := [][]string{
		{"3", "resolved", "0", "", "resolved", "critical"},
		{"2", "escalated", "0", "retracted", "resolved", "critical"},
		{"1", "open", "1", "", "resolved", "critical"},
	}
	if !slices.EqualFunc(tl.rows, wantTL, slices.Equal) {
		t.Errorf("alert_timeline =\n%s\nwant newest first beside the current state: %q", tl, wantTL)
	}
}

func TestIngestStatsIntegration(t *testing.T) {
	cfg := testConfig(t)
	migrated(t, cfg)
	s, _ := openSink(t, cfg)
	ctx := context.Background()
	b := time.Now().UTC().Truncate(time.Minute)
	st := IngestStats{Bucket: b, Instance: "tw-0", Topic: "content", Partition: 3, Events: 1000, Invalid: 2, Late: 5, Lag: 40, Version: 1}
	st2 := st
	st2.Events, st2.Version = 1200, 2
	for _, rows := range [][]IngestStats{{st}, {st2}, {st}} {
		if err := s.WriteIngestStats(ctx, rows); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	conn := directConn(t, cfg.Addr[0], cfg.Database)
	got := mustQuery(t, conn, "SELECT topic, kafka_partition, events, invalid, late, consumer_lag FROM ingest_stats FINAL")
	want := [][]string{{"content", "3", "1200", "2", "5", "40"}}
	if !slices.EqualFunc(got.rows, want, slices.Equal) {
		t.Errorf("ingest_stats FINAL =\n%s\nwant the version 2 row only: %q", got, want)
	}
}

// TestOutageIntegration takes ClickHouse away behind a proxy: writes block once
// the queue is full, Flush waits without losing anything, and everything lands
// once the server is back.
func TestOutageIntegration(t *testing.T) {
	cfg := testConfig(t)
	migrated(t, cfg)
	px := newProxy(t, cfg.Addr[0])
	cfg.Addr = []string{px.addr}
	cfg.BatchRows, cfg.QueueRows = 10, 20
	cfg.FlushInterval = time.Hour // only size and Flush trigger writes here
	s, _ := openSink(t, cfg)
	ctx := context.Background()
	b := time.Now().UTC().Truncate(time.Minute).Add(-5 * time.Minute)
	rows := func(term string, n int) []trend.Minute {
		out := make([]trend.Minute, n)
		for i := range out {
			out[i] = minute(b.Add(-time.Duration(i)*time.Minute), term, 5, 1)
		}
		return out
	}

	px.down()
	if err := s.WriteMinutes(ctx, rows("hashtag:a", 15)); err != nil {
		t.Fatalf("write into an empty queue while down: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	err := s.Flush(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush while down = %v, want it to wait until its context ends", err)
	}
	if q := gauge(t, s.m.queuedRows); q != 15 {
		t.Errorf("queued rows while down = %v, want 15", q)
	}
	short, cancel = context.WithTimeout(ctx, 300*time.Millisecond)
	err = s.WriteMinutes(short, rows("hashtag:b", 10))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("write beyond queue_rows while down = %v, want it to block until its context ends", err)
	}

	direct := directConn(t, px.target, cfg.Database)
	if n := mustQuery(t, direct, "SELECT count() AS n FROM trend_minute").cell(0, "n"); n != "0" {
		t.Fatalf("trend_minute holds %s rows while the sink could not reach it", n)
	}

	px.up()
	// The blocked write goes through once the queue drains.
	if err := s.WriteMinutes(ctx, rows("hashtag:b", 10)); err != nil {
		t.Fatalf("write after the server came back: %v", err)
	}
	long, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := s.Flush(long); err != nil {
		t.Fatalf("Flush after the server came back: %v", err)
	}
	got := mustQuery(t, direct, "SELECT term, count() AS n FROM term_history GROUP BY term ORDER BY term")
	want := [][]string{{"hashtag:a", "15"}, {"hashtag:b", "10"}}
	if !slices.EqualFunc(got.rows, want, slices.Equal) {
		t.Errorf("after the outage term_history =\n%s\nwant %q", got, want)
	}
	if q := gauge(t, s.m.queuedRows); q != 0 {
		t.Errorf("queued rows after catching up = %v, want 0", q)
	}
}

// TestPermanentErrorIntegration: a schema this build does not match fails the
// flush at once, and keeps failing, rather than being retried forever.
func TestPermanentErrorIntegration(t *testing.T) {
	cfg := testConfig(t)
	migrated(t, cfg)
	s, _ := openSink(t, cfg)
	ctx := context.Background()
	conn := directConn(t, cfg.Addr[0], cfg.Database)
	if err := conn.Exec(ctx, "ALTER TABLE trend_minute DROP COLUMN langs"); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteMinutes(ctx, []trend.Minute{minute(time.Now().UTC().Truncate(time.Minute), "hashtag:x", 1, 1)}); err != nil {
		t.Fatal(err)
	}
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	start := time.Now()
	err := s.Flush(fctx)
	if err == nil || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "trend_minute") {
		t.Fatalf("Flush into a table missing a column = %v, want a permanent error naming trend_minute", err)
	}
	t.Logf("permanent error after %s: %v", time.Since(start).Round(time.Millisecond), err)
	if err := s.WriteMinutes(ctx, []trend.Minute{minute(time.Now().UTC(), "hashtag:y", 1, 1)}); err == nil {
		t.Error("write after a permanent error succeeded; want the error again")
	}
}

// TestLowCardinalityDriverIntegration sends minuteBlock through the driver into
// the modern DDL's column types. Production's LowCardinality columns are not
// otherwise exercised through clickhouse-go (chDB has no server); 18.16 has
// LowCardinality behind a setting, enough to check the driver's encoding.
// DateTime64 and codecs it lacks, so they are stripped.
func TestLowCardinalityDriverIntegration(t *testing.T) {
	cfg := testConfig(t)
	ctx := ch.Context(context.Background(), ch.WithSettings(ch.Settings{"allow_experimental_low_cardinality_type": 1}))
	conn := directConn(t, cfg.Addr[0], "")
	if err := conn.Exec(ctx, "CREATE DATABASE `"+cfg.Database+"`"); err != nil {
		t.Fatal(err)
	}
	ddl := schema{db: cfg.Database, dialect: dialectModern}.trendMinute()
	ddl = regexp.MustCompile(` CODEC\((?:[^()]|\([^()]*\))*\)`).ReplaceAllString(ddl, "")
	if !strings.Contains(ddl, "LowCardinality(String)") {
		t.Fatalf("modern DDL has no LowCardinality column:\n%s", ddl)
	}
	if err := conn.Exec(ctx, ddl); err != nil {
		t.Fatalf("%s: %v", ddl, err)
	}
	// Columns later migrations add, in their legacy form: 18.16 has no ADD
	// COLUMN IF NOT EXISTS.
	for _, c := range addedColumns(schema{db: cfg.Database, dialect: dialectLegacy}, "trend_minute") {
		stmt := schema{db: cfg.Database, dialect: dialectLegacy}.addColumn(c)
		if err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	b := time.Now().UTC().Truncate(time.Minute)
	rows := []trend.Minute{minute(b, "hashtag:नेपाल", 9, 1), minute(b, "sound:1", 4, 1)}
	rows[1].TopRegions = nil
	cp, err := copyMinutes(rows)
	if err != nil {
		t.Fatal(err)
	}
	if err := (chInserter{conn: conn, db: cfg.Database}).insert(ctx, minuteBlock(cp)); err != nil {
		t.Fatalf("insert into LowCardinality columns: %v", err)
	}
	got := mustQuery(t, conn, "SELECT kind, term, top_regions, langs FROM `"+cfg.Database+"`.trend_minute ORDER BY term")
	want := [][]string{{"hashtag", "hashtag:नेपाल", "[NP IN]", "[ne]"}, {"sound", "sound:1", "[]", "[ne]"}}
	if !slices.EqualFunc(got.rows, want, slices.Equal) {
		t.Errorf("read back =\n%s\nwant %q", got, want)
	}
}

// BenchmarkFlushMinutesIntegration measures end to end: 10,000 rows queued,
// encoded, sent and acknowledged by the test server per op.
func BenchmarkFlushMinutesIntegration(b *testing.B) {
	addr := os.Getenv("TRENDWATCH_TEST_CLICKHOUSE")
	if addr == "" {
		b.Skip("TRENDWATCH_TEST_CLICKHOUSE is not set; `make test` starts it")
	}
	cfg := DefaultConfig()
	cfg.Addr = []string{addr}
	cfg.Database = fmt.Sprintf("tw_bench_%d", rand.Uint32())
	ctx := context.Background()
	if _, err := Migrate(ctx, cfg, nil); err != nil {
		b.Fatal(err)
	}
	conn := directConn(b, addr, "")
	b.Cleanup(func() { conn.Exec(context.Background(), "DROP DATABASE IF EXISTS `"+cfg.Database+"`") })
	s, err := Open(ctx, cfg, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rows := make([]trend.Minute, 10_000)
	base := time.Now().UTC().Truncate(time.Minute)
	for i := range rows {
		rows[i] = minute(base.Add(-time.Duration(i%60)*time.Minute), fmt.Sprintf("hashtag:t%d", i/60), uint64(i), 1)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := s.WriteMinutes(ctx, rows); err != nil {
			b.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(rows))/b.Elapsed().Seconds(), "rows/s")
}

// TestChannelsMigrationIntegration upgrades a database at migration 8 that
// holds a minute: migration 9 applies alone, and the older row reads as all
// user reports.
func TestChannelsMigrationIntegration(t *testing.T) {
	cfg := testConfig(t)
	ctx := context.Background()
	conn := migratedTo(t, cfg, 8)
	b, err := conn.PrepareBatch(ctx, "INSERT INTO `"+cfg.Database+"`.trend_minute (bucket, kind, term, mentions, reports, version)")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Append(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), "hashtag", "hashtag:old", uint64(9), uint64(4), uint64(1)); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}

	migrateFrom(t, cfg, 8)
	got := mustQuery(t, directConn(t, cfg.Addr[0], cfg.Database),
		"SELECT reports, reports_user, reports_regulator, reports_internal FROM term_history WHERE term = 'hashtag:old'")
	if len(got.rows) != 1 || got.cell(0, "reports_user") != "4" || got.cell(0, "reports_regulator") != "0" || got.cell(0, "reports_internal") != "0" {
		t.Errorf("older row after the migration:\n%s", got)
	}
}

// migratedTo creates cfg's database at migration upTo, as a build of that
// time left it, and returns a connection without a default database.
func migratedTo(t *testing.T, cfg Config, upTo int) ch.Conn {
	t.Helper()
	ctx := context.Background()
	conn := directConn(t, cfg.Addr[0], "")
	sc := schema{db: cfg.Database, dialect: dialectLegacy}
	for _, sql := range []string{"CREATE DATABASE IF NOT EXISTS `" + cfg.Database + "`", sc.schemaMigrations()} {
		if err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range migrations() {
		if m.version > upTo {
			break
		}
		if m.columns != nil {
			for _, c := range m.columns(sc) {
				if err := conn.Exec(ctx, sc.addColumn(c)); err != nil {
					t.Fatalf("%s: %v", m.id(), err)
				}
			}
		}
		for _, stmt := range m.ddl(sc) {
			if err := conn.Exec(ctx, stmt); err != nil {
				t.Fatalf("%s: %v", m.id(), err)
			}
		}
		if err := record(ctx, conn, cfg.Database, m, sc.dialect, "test"); err != nil {
			t.Fatal(err)
		}
	}
	return conn
}

// migrateFrom runs Migrate on a database at migration from and checks that it
// applies every later migration, and only those.
func migrateFrom(t *testing.T, cfg Config, from int) {
	t.Helper()
	applied, err := Migrate(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, m := range migrations() {
		if m.version > from {
			want = append(want, m.id())
		}
	}
	if !slices.Equal(applied, want) {
		t.Errorf("applied %q, want %q", applied, want)
	}
}

// TestAlertTimelineMigrationIntegration upgrades a database at migration 10
// that holds a retracted early alert: Open refuses it until migration 11
// applies alone, and then alert_timeline shows early and reason beside the
// rows written before.
func TestAlertTimelineMigrationIntegration(t *testing.T) {
	cfg := testConfig(t)
	ctx := context.Background()
	conn := migratedTo(t, cfg, 10)
	db := directConn(t, cfg.Addr[0], cfg.Database)
	if _, err := query(ctx, db, "SELECT reason FROM alert_timeline"); err == nil {
		t.Fatal("alert_timeline at migration 10 has reason: the test no longer starts where migration 11 did")
	}
	if _, err := Open(ctx, cfg, nil, nil); err == nil || !strings.Contains(err.Error(), "this build needs 11") {
		t.Errorf("Open at migration 10: err = %v, want one saying this build needs 11", err)
	}
	at := time.Now().UTC().Truncate(time.Second).Add(-10 * time.Minute)
	key := "surge|hashtag:blackoutchallenge"
	evs := []alert.Event{
		transition(key, "hashtag:blackoutchallenge", 1, "", alert.StatusOpen, at, alert.SeverityHigh),
		transition(key, "hashtag:blackoutchallenge", 2, alert.StatusOpen, alert.StatusResolved, at.Add(time.Minute), alert.SeverityHigh),
	}
	evs[0].Alert.Early = true
	evs[1].Alert.Early = true
	evs[1].Reason = "retracted"
	cp, err := copyEvents(evs)
	if err != nil {
		t.Fatal(err)
	}
	ins := chInserter{conn: conn, db: cfg.Database}
	for _, b := range []*block{alertEventsBlock(cp), alertsBlock(cp)} {
		if err := ins.insert(ctx, b); err != nil {
			t.Fatal(err)
		}
	}

	migrateFrom(t, cfg, 10)
	got := mustQuery(t, db, "SELECT seq, to_status, early, reason, current_status FROM alert_timeline")
	want := [][]string{{"2", "resolved", "1", "retracted", "resolved"}, {"1", "open", "1", "", "resolved"}}
	if !slices.EqualFunc(got.rows, want, slices.Equal) {
		t.Errorf("alert_timeline after migration 11 =\n%s\nwant %q", got, want)
	}
	openSink(t, cfg) // at 11, this build opens it
}
