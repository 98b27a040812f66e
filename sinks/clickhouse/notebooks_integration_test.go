//go:build integration

package clickhouse

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/internal/testenv"
	"github.com/trendwatch/trendwatch/trend"
)

// fixture is a small trend story relative to now, the minute: a dangerous
// challenge surging in Nepal, a steady evergreen tag, a sound pushed by three
// accounts and a Devanagari tag drawing a wave of hate-speech reports.
type fixture struct {
	minutes  []trend.Minute // written in two calls: rewrites come second
	rewrites []trend.Minute
	events   []alert.Event
	reviews  [][3]string // key, verdict, reviewer
}

// fixtureMinute is the minute a fixture is laid out around, once at least
// need of it is left: the views and notebooks read now(), so the fixture must
// be queried within the minute it was laid out in. Laid out in a minute's
// last second and queried in the next, the bucket two minutes back was the
// fixture's last one, and the test failed at random.
func fixtureMinute(need time.Duration) time.Time {
	now := time.Now().UTC()
	start := now.Truncate(time.Minute)
	if left := start.Add(time.Minute).Sub(now); left < need {
		time.Sleep(left)
		start = start.Add(time.Minute)
	}
	return start
}

// sameMinute fails the test when its queries ran past the minute its fixture
// was laid out in, which would make their answers wrong rather than the code.
func sameMinute(t *testing.T, start time.Time) {
	t.Helper()
	if now := time.Now().UTC(); now.Truncate(time.Minute) != start {
		t.Fatalf("the queries ended at %s, past the fixture's minute %s: the test needs a quicker run, not another look", now.Format(time.TimeOnly), start.Format(time.TimeOnly))
	}
}

func newFixture(now time.Time) fixture {
	var f fixture
	at := func(min int) time.Time { return now.Add(time.Duration(min) * time.Minute) }
	add := func(from, to int, m trend.Minute) {
		for i := from; i <= to; i++ {
			m.Bucket = at(i)
			f.minutes = append(f.minutes, m)
		}
	}
	blackout, fam := "hashtag:blackoutchallenge", "family:blakautchalenj"
	add(-75, -16, trend.Minute{Term: blackout, Family: fam, Mentions: 2, UniqueCreators: 2, TopRegions: []string{"NP"}, Langs: []string{"ne"}, Version: 1})
	add(-14, -1, trend.Minute{Term: blackout, Family: fam, Mentions: 40, UniqueCreators: 30, Reports: 6, UniqueReporters: 5,
		TopRegions: []string{"NP", "IN"}, Langs: []string{"ne", "hi"}, ReportReasons: []string{"dangerous_acts", "self_harm"}, Exact: true, Version: 1})
	add(-24*60-14, -24*60-1, trend.Minute{Term: blackout, Mentions: 3, UniqueCreators: 3, TopRegions: []string{"NP"}, Langs: []string{"ne"}, Version: 1})
	// Another spelling, and the family's own row, as the pipeline writes it:
	// the family counts each post once, with the posts of spellings too rare
	// to be tracked, so it is neither the sum of the spellings' rows nor a
	// term of its own to count reports on again.
	add(-75, -1, trend.Minute{Term: "hashtag:bl4ckoutchallenge", Family: fam, Mentions: 5, UniqueCreators: 5, TopRegions: []string{"IN"}, Langs: []string{"hi"}, Version: 1})
	add(-75, -16, trend.Minute{Term: fam, Family: fam, Mentions: 8, UniqueCreators: 8, TopRegions: []string{"IN", "NP"}, Langs: []string{"hi", "ne"}, Version: 1})
	add(-15, -15, trend.Minute{Term: fam, Family: fam, Mentions: 5, UniqueCreators: 5, TopRegions: []string{"IN"}, Langs: []string{"hi"}, Version: 1})
	add(-14, -1, trend.Minute{Term: fam, Family: fam, Mentions: 50, UniqueCreators: 40, Reports: 6, UniqueReporters: 5,
		TopRegions: []string{"NP", "IN"}, Langs: []string{"ne", "hi"}, ReportReasons: []string{"dangerous_acts", "self_harm"}, Exact: true, Version: 1})
	add(-75, -1, trend.Minute{Term: "hashtag:fyp", Mentions: 100, UniqueCreators: 90, Reports: 1, UniqueReporters: 1,
		TopRegions: []string{"IN", "NP"}, Langs: []string{"en"}, ReportReasons: []string{"spam"}, Version: 1})
	add(-10, -1, trend.Minute{Term: "sound:7712", Mentions: 12, UniqueCreators: 2, TopRegions: []string{"BD"}, Langs: []string{"bn"}, Version: 1})
	add(-75, -21, trend.Minute{Term: "hashtag:नेपाल", Mentions: 20, UniqueCreators: 18, TopRegions: []string{"NP"}, Langs: []string{"ne"}, Version: 1})
	add(-20, -1, trend.Minute{Term: "hashtag:नेपाल", Mentions: 25, UniqueCreators: 20, Reports: 12, UniqueReporters: 10,
		TopRegions: []string{"NP"}, Langs: []string{"ne"}, ReportReasons: []string{"hate_speech"}, Version: 1,
		ReportsByChannel: [event.NumChannels]uint64{event.ChannelUser: 10, event.ChannelPartner: 1, event.ChannelRegulator: 1}})
	// The bucket two minutes ago was first written before its late events
	// arrived: the rewrite (version 2) is what every view must show.
	for i, m := range f.minutes {
		if m.Term == blackout && m.Bucket.Equal(at(-2)) {
			f.minutes[i].Mentions = 10
			m.Version = 2
			f.rewrites = append(f.rewrites, m)
		}
	}

	ev := func(key, term string, seq uint64, from, to alert.Status, min int, sev alert.Severity, opened int) alert.Event {
		e := transition(key, term, seq, from, to, at(min), sev)
		e.Alert.OpenedAt = at(opened)
		return e
	}
	surge, coord, rate := "surge|"+blackout, "coordination|sound:7712", "report_rate|hashtag:नेपाल"
	fypSurge, fypRate := "surge|hashtag:fyp", "report_rate|hashtag:fyp"
	f.events = []alert.Event{
		ev(surge, blackout, 1, "", alert.StatusOpen, -10, alert.SeverityHigh, -10),
		ev(surge, blackout, 2, alert.StatusOpen, alert.StatusEscalated, -5, alert.SeverityCritical, -10),
		ev(coord, "sound:7712", 1, "", alert.StatusOpen, -8, alert.SeverityMedium, -8),
		ev(coord, "sound:7712", 2, alert.StatusOpen, alert.StatusResolved, -6, alert.SeverityMedium, -8),
		ev(rate, "hashtag:नेपाल", 1, "", alert.StatusOpen, -12, alert.SeverityHigh, -12),
		ev(rate, "hashtag:नेपाल", 2, alert.StatusOpen, alert.StatusResolved, -3, alert.SeverityHigh, -12),
		// One key opened twice, each opening resolved after 5 minutes: two
		// alerts, not one open for 45 minutes.
		ev(fypSurge, "hashtag:fyp", 1, "", alert.StatusOpen, -60, alert.SeverityMedium, -60),
		ev(fypSurge, "hashtag:fyp", 2, alert.StatusOpen, alert.StatusResolved, -55, alert.SeverityMedium, -60),
		ev(fypSurge, "hashtag:fyp", 3, "", alert.StatusOpen, -20, alert.SeverityMedium, -20),
		ev(fypSurge, "hashtag:fyp", 4, alert.StatusOpen, alert.StatusResolved, -15, alert.SeverityMedium, -20),
		// One resolved once and open again now: its second opening is not
		// resolved.
		ev(fypRate, "hashtag:fyp", 1, "", alert.StatusOpen, -50, alert.SeverityMedium, -50),
		ev(fypRate, "hashtag:fyp", 2, alert.StatusOpen, alert.StatusResolved, -48, alert.SeverityMedium, -50),
		ev(fypRate, "hashtag:fyp", 3, "", alert.StatusOpen, -5, alert.SeverityMedium, -5),
	}
	f.reviews = [][3]string{{surge, "true_positive", "asha"}, {coord, "false_positive", "bikash"}}
	return f
}

// expectation is what a view or notebook query must return on the fixture: at
// least one row, and the given cells in the first row.
type expectation struct {
	first map[string]string
	// any row must hold these cells together
	someRow map[string]string
	// and, for each of these, any row
	someRows []map[string]string
}

func viewExpectations() map[string]expectation {
	return map[string]expectation{
		"SELECT * FROM term_history WHERE term = 'hashtag:blackoutchallenge' AND bucket = toStartOfMinute(now()) - INTERVAL 2 MINUTE": {
			first: map[string]string{"mentions": "40", "kind": "hashtag", "value": "blackoutchallenge", "exact": "1", "version": "2"}},
		"SELECT sum(exact) AS n, count() AS rows FROM term_history WHERE term = 'hashtag:blackoutchallenge'": {
			first: map[string]string{"n": "14", "rows": "88"}},
		"SELECT count() AS n FROM term_history WHERE term = 'hashtag:blackoutchallenge'": {
			first: map[string]string{"n": "88"}},
		"SELECT * FROM trending_now": {
			first: map[string]string{"term": "hashtag:blackoutchallenge", "recent_mentions": "560"}},
		"SELECT * FROM alert_timeline": {
			first: map[string]string{"key": "report_rate|hashtag:नेपाल", "to_status": "resolved", "current_status": "resolved"}},
		"SELECT count() AS n FROM alert_timeline": {first: map[string]string{"n": "13"}},
	}
}

// notebookExpectations are keyed by file and 1-based query number.
func notebookExpectations() map[string]expectation {
	return map[string]expectation{
		"01_top_surging_terms.sql#1": {first: map[string]string{"term": "hashtag:blackoutchallenge", "open_alerts": "[surge]"}},
		"01_top_surging_terms.sql#2": {first: map[string]string{"term": "hashtag:blackoutchallenge", "new_regions": "[IN]"}},
		"02_term_vs_baseline.sql#1":  {someRow: map[string]string{"mentions": "40", "day_ago_mentions": "3"}},
		"02_term_vs_baseline.sql#2":  {someRow: map[string]string{"peak_unique_creators": "30"}},
		"03_report_waves.sql#1": {someRows: []map[string]string{{"reason": "hate_speech", "region": "NP"},
			{"reason": "dangerous_acts", "region": "NP", "terms": "1", "some_terms": "[hashtag:blackoutchallenge]"}}},
		// A report counts on every term of its post: the blackout posts'
		// reports, on the hashtag and again on its family's row, count once.
		"03_report_waves.sql#2": {first: map[string]string{"reason": "hate_speech", "region": "NP", "recent_reports": "240"},
			someRow: map[string]string{"reason": "dangerous_acts", "region": "NP", "recent_reports": "84", "baseline_per_30m": "0", "terms": "[hashtag:blackoutchallenge]"}},
		"03_report_waves.sql#3": {someRow: map[string]string{"term": "hashtag:blackoutchallenge", "total_reports": "84"}},
		"03_report_waves.sql#4": {first: map[string]string{"term": "hashtag:नेपाल", "total_reports": "240", "from_user": "200",
			"from_regulator": "20", "from_partner": "20", "from_media": "0", "from_outside": "40"}},
		"04_coordinated_pushes.sql#1": {first: map[string]string{"term": "sound:7712", "avg_mentions_per_creator": "6"}},
		"04_coordinated_pushes.sql#2": {first: map[string]string{"term": "sound:7712", "recent_mentions": "120"}},
		"04_coordinated_pushes.sql#3": {first: map[string]string{"term": "sound:7712", "status": "resolved"}},
		// Each opening is an alert: surge|hashtag:fyp's two are resolved
		// after 5 minutes each, report_rate|hashtag:fyp's second is open.
		"05_alert_precision.sql#1": {first: map[string]string{"detector": "coordination", "alerts": "1", "false_positives": "1", "review_precision": "0", "opened_early": "0", "retracted": "0"},
			someRows: []map[string]string{
				{"detector": "surge", "alerts": "3", "escalated": "1", "resolved": "2", "resolved_within_10m": "2", "median_minutes_to_resolve": "5", "true_positives": "1", "unreviewed": "2"},
				{"detector": "report_rate", "alerts": "3", "resolved": "2", "resolved_within_10m": "2", "median_minutes_to_resolve": "5.5", "unreviewed": "3"},
			}},
		"05_alert_precision.sql#2": {first: map[string]string{"key": "report_rate|hashtag:नेपाल"}},
		// Shares of the family's 50 posts, not of the spellings' 45.
		"06_family_members.sql#1": {someRows: []map[string]string{
			{"spelling": "hashtag:blackoutchallenge", "spelling_mentions": "40", "family_mentions": "50", "share": "0.8"},
			{"spelling": "hashtag:bl4ckoutchallenge", "spelling_mentions": "5", "family_mentions": "50", "share": "0.1"},
		}},
		"06_family_members.sql#2": {first: map[string]string{"spelling": "hashtag:blackoutchallenge", "minutes_seen": "74"}},
	}
}

func (e expectation) check(t *testing.T, name string, got table) {
	t.Helper()
	if len(got.rows) == 0 {
		t.Errorf("%s: no rows", name)
		return
	}
	for col, want := range e.first {
		if c := got.cell(0, col); !sameCell(c, want) {
			t.Errorf("%s: first row %s = %q, want %q; result:\n%s", name, col, c, want, got)
		}
	}
	for _, some := range append([]map[string]string{e.someRow}, e.someRows...) {
		if len(some) > 0 && !hasRow(got, some) {
			t.Errorf("%s: no row with %v; result:\n%s", name, some, got)
		}
	}
}

// hasRow says whether a row of got holds every cell of want.
func hasRow(got table, want map[string]string) bool {
	for i := range got.rows {
		ok := true
		for col, w := range want {
			ok = ok && sameCell(got.cell(i, col), w)
		}
		if ok {
			return true
		}
	}
	return false
}

// sameCell compares numbers as numbers: 18.16 and 26.x print floats apart.
func sameCell(got, want string) bool {
	if got == want {
		return true
	}
	g, err1 := strconv.ParseFloat(got, 64)
	w, err2 := strconv.ParseFloat(want, 64)
	return err1 == nil && err2 == nil && math.Abs(g-w) < 1e-9
}

// notebookCases are every notebook query with its name, in file order.
func notebookCases(t *testing.T) (names []string, sqls map[string]string) {
	sqls = map[string]string{}
	for file, qs := range notebookQueries(t) {
		for i, q := range qs {
			name := fmt.Sprintf("%s#%d", file, i+1)
			names = append(names, name)
			sqls[name] = q
		}
	}
	sort.Strings(names)
	for name := range notebookExpectations() {
		if _, ok := sqls[name]; !ok {
			t.Errorf("expectation for %s, which no notebook has", name)
		}
	}
	return names, sqls
}

// TestNotebooksIntegration writes the fixture through the sink into the 18.16
// test server, then runs every view and every notebook query.
func TestNotebooksIntegration(t *testing.T) {
	cfg := testConfig(t)
	migrated(t, cfg)
	s, _ := openSink(t, cfg)
	ctx := context.Background()
	minute := fixtureMinute(30 * time.Second)
	defer sameMinute(t, minute)
	f := newFixture(minute)
	if err := s.WriteMinutes(ctx, f.minutes); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteAlerts(ctx, f.events); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteMinutes(ctx, f.rewrites); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	conn := directConn(t, cfg.Addr[0], cfg.Database)
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO alert_reviews (key, verdict, reviewer)")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.reviews {
		if err := batch.Append(r[0], r[1], r[2]); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}

	for sql, e := range viewExpectations() {
		got, err := query(ctx, conn, sql)
		if err != nil {
			t.Errorf("%s: %v", sql, err)
			continue
		}
		e.check(t, sql, got)
	}
	names, sqls := notebookCases(t)
	for _, name := range names {
		got, err := query(ctx, conn, sqls[name])
		if err != nil {
			t.Errorf("%s on 18.16: %v", name, err)
			continue
		}
		exp := notebookExpectations()[name]
		exp.check(t, name+" on 18.16", got)
	}
}

// chdbScript runs statements in one chDB session and prints, per statement,
// its columns and rows as JSON, or its error.
const chdbScript = `
const fs = require("fs");
const { Session } = require("chdb");
const input = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const s = new Session(process.argv[3]);
const out = [];
for (const st of input) {
  try {
    const res = s.query(st.sql, st.read ? "JSONCompact" : "CSV");
    if (st.read) {
      const j = JSON.parse(res);
      out.push({ name: st.name, cols: j.meta.map(m => m.name), rows: j.data });
    } else {
      out.push({ name: st.name });
    }
  } catch (e) {
    out.push({ name: st.name, error: String(e && e.message || e) });
  }
}
s.close();
process.stdout.write(JSON.stringify(out));
`

type chdbStatement struct {
	Name string `json:"name"`
	SQL  string `json:"sql"`
	Read bool   `json:"read"`
}

type chdbResult struct {
	Name  string   `json:"name"`
	Cols  []string `json:"cols"`
	Rows  [][]any  `json:"rows"`
	Error string   `json:"error"`
}

// literal renders one value of a block column as SQL.
func literal(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case string:
		return quote(x)
	case time.Time:
		return quote(x.UTC().Format("2006-01-02 15:04:05"))
	case *time.Time:
		if x == nil {
			return "NULL"
		}
		return quote(x.UTC().Format("2006-01-02 15:04:05"))
	case []string:
		parts := make([]string, len(x))
		for i, s := range x {
			parts[i] = quote(s)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v.Interface())
}

func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// insertValues renders a block as INSERT ... VALUES, the same columns and
// values the sink sends through the driver.
func insertValues(db string, b *block) string {
	var sb strings.Builder
	sb.WriteString(b.query(db) + " VALUES ")
	cols := make([]reflect.Value, len(b.cols))
	for i, c := range b.cols {
		cols[i] = reflect.ValueOf(c)
	}
	for r := 0; r < b.rows; r++ {
		if r > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("(")
		for i := range cols {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(literal(cols[i].Index(r)))
		}
		sb.WriteString(")")
	}
	return sb.String()
}

func chdbText(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = chdbText(x)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case string:
		return strings.TrimSuffix(v, ".000")
	}
	return fmt.Sprint(v)
}

// TestNotebooksChDBIntegration runs the modern DDL, the fixture, every view and
// every notebook query on current ClickHouse (chDB, embedded in node).
func TestNotebooksChDBIntegration(t *testing.T) {
	dir := testenv.ChDB(t)
	const db = "trendwatch"
	sc := schema{db: db, dialect: dialectModern, retentionDays: 400}
	var sts []chdbStatement
	add := func(name, sql string, read bool) { sts = append(sts, chdbStatement{Name: name, SQL: sql, Read: read}) }
	add("create database", "CREATE DATABASE IF NOT EXISTS "+db, false)
	add("use", "USE "+db, false)
	for _, m := range migrations() {
		if m.columns != nil {
			for _, c := range m.columns(sc) {
				add(fmt.Sprintf("%s column %s", m.id(), c.name), sc.addColumn(c), false)
			}
		}
		for i, stmt := range m.ddl(sc) {
			add(fmt.Sprintf("%s statement %d", m.id(), i+1), stmt, false)
		}
	}
	minute := fixtureMinute(30 * time.Second)
	f := newFixture(minute)
	mins, err := copyMinutes(f.minutes)
	if err != nil {
		t.Fatal(err)
	}
	rewrites, err := copyMinutes(f.rewrites)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := copyEvents(f.events)
	if err != nil {
		t.Fatal(err)
	}
	add("insert minutes", insertValues(db, minuteBlock(mins)), false)
	add("insert rewrites", insertValues(db, minuteBlock(rewrites)), false)
	add("insert alert events", insertValues(db, alertEventsBlock(evs)), false)
	add("insert alerts", insertValues(db, alertsBlock(evs)), false)
	// Sent again, as a replay would: the views must not double-count.
	add("replay alert events", insertValues(db, alertEventsBlock(evs)), false)
	for _, r := range f.reviews {
		add("insert review", fmt.Sprintf("INSERT INTO alert_reviews (key, verdict, reviewer) VALUES (%s, %s, %s)", quote(r[0]), quote(r[1]), quote(r[2])), false)
	}
	views := viewExpectations()
	var viewSQL []string
	for sql := range views {
		viewSQL = append(viewSQL, sql)
		add(sql, sql, true)
	}
	names, sqls := notebookCases(t)
	for _, name := range names {
		add(name, sqls[name], true)
	}

	tmp := t.TempDir()
	in, err := json.Marshal(sts)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "input.json"), in, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "run.js"), []byte(chdbScript), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(tmp, "run.js"), filepath.Join(tmp, "input.json"), filepath.Join(tmp, "session"))
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	sameMinute(t, minute)
	var results []chdbResult
	if err := json.Unmarshal(stdout.Bytes(), &results); err != nil {
		t.Fatalf("chDB output: %v\n%s", err, stdout.String())
	}
	if len(results) != len(sts) {
		t.Fatalf("chDB ran %d statements of %d", len(results), len(sts))
	}
	byName := map[string]table{}
	for _, r := range results {
		if r.Error != "" {
			t.Errorf("%s on chDB: %s", r.Name, r.Error)
			continue
		}
		tb := table{cols: r.Cols}
		for _, row := range r.Rows {
			cells := make([]string, len(row))
			for i, v := range row {
				cells[i] = chdbText(v)
			}
			tb.rows = append(tb.rows, cells)
		}
		byName[r.Name] = tb
	}
	if t.Failed() {
		return
	}
	for _, sql := range viewSQL {
		views[sql].check(t, sql+" on chDB", byName[sql])
	}
	for _, name := range names {
		exp := notebookExpectations()[name]
		exp.check(t, name+" on chDB", byName[name])
	}
}
