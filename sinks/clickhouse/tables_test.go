package clickhouse

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/column"

	"github.com/trendwatch/trendwatch/alert"
)

// ddlColumns reads "name Type [CODEC(...)] [DEFAULT ...]" lines of a CREATE
// TABLE into name → type.
func ddlColumns(t *testing.T, ddl string) map[string]string {
	t.Helper()
	start, end := strings.Index(ddl, "(\n"), strings.Index(ddl, "\n) ENGINE")
	if start < 0 || end < 0 {
		t.Fatalf("not a CREATE TABLE:\n%s", ddl)
	}
	codec := regexp.MustCompile(` CODEC\((?:[^()]|\([^()]*\))*\)`)
	out := map[string]string{}
	for _, line := range strings.Split(ddl[start+2:end], "\n") {
		line = strings.TrimSuffix(strings.TrimSpace(line), ",")
		line = codec.ReplaceAllString(line, "")
		line, _, _ = strings.Cut(line, " DEFAULT ")
		name, typ, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("column line %q", line)
		}
		out[name] = typ
	}
	return out
}

// TestBlocksMatchSchema hands every block the sink builds to the driver's own
// column encoders for the types each dialect's DDL declares. It catches, with
// no server, a column the DDL lacks and a Go type the driver cannot encode
// into the declared type: production's DateTime64 and LowCardinality columns
// included, which the 18.16 test server does not have.
func TestBlocksMatchSchema(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)
	mins, err := copyMinutes(testMinutes(3, "hashtag:नेपाल"))
	if err != nil {
		t.Fatal(err)
	}
	mins[1].TopRegions = nil
	open := alert.Event{Alert: alert.Alert{Key: "surge|hashtag:a", Term: "hashtag:a", Status: alert.StatusOpen, Severity: alert.SeverityHigh},
		To: alert.StatusOpen, At: at, Seq: 1}
	resolved := open
	resolved.Alert.ResolvedAt, resolved.To, resolved.Seq = at.Add(time.Minute), alert.StatusResolved, 2
	evs, err := copyEvents([]alert.Event{open, resolved})
	if err != nil {
		t.Fatal(err)
	}
	stats, err := copyStats([]IngestStats{{Bucket: at, Instance: "i", Topic: "content", Partition: 1, Lag: 3, Version: 1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []dialect{dialectLegacy, dialectModern} {
		s := schema{db: "tw", dialect: d, retentionDays: 30}
		for _, tc := range []struct {
			ddl string
			b   *block
		}{
			{s.trendMinute(), minuteBlock(mins)},
			{s.alerts(), alertsBlock(evs)},
			{s.alertEvents(), alertEventsBlock(evs)},
			{s.ingestStats(), statsBlock(stats)},
		} {
			t.Run(d.String()+"/"+tc.b.table, func(t *testing.T) {
				types := ddlColumns(t, tc.ddl)
				for _, c := range addedColumns(s, tc.b.table) {
					typ, _, _ := strings.Cut(c.typ, " DEFAULT ")
					types[c.name] = typ
				}
				sent := map[string]bool{}
				for i, name := range tc.b.names {
					sent[name] = true
					typ, ok := types[name]
					if !ok {
						t.Errorf("column %s is sent but not in the DDL", name)
						continue
					}
					col, err := column.Type(typ).Column(name, &column.ServerContext{Timezone: time.UTC})
					if err != nil {
						t.Fatalf("driver has no column for %s %s: %v", name, typ, err)
					}
					if _, err := col.Append(tc.b.cols[i]); err != nil {
						t.Errorf("column %s %s: driver refuses %T: %v", name, typ, tc.b.cols[i], err)
						continue
					}
					if col.Rows() != tc.b.rows {
						t.Errorf("column %s holds %d rows, block has %d", name, col.Rows(), tc.b.rows)
					}
				}
				for name := range types {
					if !sent[name] && name != "written_at" {
						t.Errorf("DDL column %s is never written", name)
					}
				}
			})
		}
	}
}

// addedColumns are the columns later migrations add to table.
func addedColumns(s schema, table string) []tableColumn {
	var out []tableColumn
	for _, m := range migrations() {
		if m.columns == nil {
			continue
		}
		for _, c := range m.columns(s) {
			if c.table == table {
				out = append(out, c)
			}
		}
	}
	return out
}

func BenchmarkCopyMinutes(b *testing.B) {
	rows := testMinutes(1000, "hashtag:fyp")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := copyMinutes(rows); err != nil {
			b.Fatal(err)
		}
	}
}
