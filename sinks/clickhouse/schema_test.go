package clickhouse

import (
	"strings"
	"testing"
)

func TestParseVersionAndDialect(t *testing.T) {
	tests := []struct {
		in      string
		want    version
		dialect dialect
	}{
		{"18.16.1", version{18, 16, 1}, dialectLegacy},
		{"19.17.4.11", version{19, 17, 4}, dialectLegacy},
		{"22.8.21.38", version{22, 8, 21}, dialectLegacy},
		{"23.3.1.2823", version{23, 3, 1}, dialectLegacy},
		{"23.8.2.7", version{23, 8, 2}, dialectModern},
		{"23.12.1.1", version{23, 12, 1}, dialectModern},
		{"24.3.1.2672-lts", version{24, 3, 1}, dialectModern},
		{"26.7.2.1", version{26, 7, 2}, dialectModern},
		{" 25.1 ", version{25, 1, 0}, dialectModern},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v, err := parseVersion(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if v != tt.want {
				t.Errorf("parseVersion(%q) = %v, want %v", tt.in, v, tt.want)
			}
			if d := dialectFor(v); d != tt.dialect {
				t.Errorf("dialectFor(%v) = %v, want %v", v, d, tt.dialect)
			}
		})
	}
	for _, bad := range []string{"", "23", "x.y.z", "23.-1.0", "99999.1.1"} {
		if v, err := parseVersion(bad); err == nil {
			t.Errorf("parseVersion(%q) = %v, want an error", bad, v)
		}
	}
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"18.16.1", "24.3.1.2672-lts", "1.1.54394", "", "..", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseVersion(s)
		if err != nil {
			return
		}
		// What parses prints back as the prefix it was read from.
		back, err := parseVersion(v.String())
		if err != nil || back != v {
			t.Fatalf("parseVersion(%q) = %v, which reparses as %v, %v", s, v, back, err)
		}
	})
}

func allDDL(s schema) string {
	var b strings.Builder
	for _, m := range migrations() {
		if m.columns != nil {
			for _, c := range m.columns(s) {
				b.WriteString(s.addColumn(c) + ";\n")
			}
		}
		for _, stmt := range m.ddl(s) {
			b.WriteString(stmt + ";\n")
		}
	}
	return b.String()
}

func TestDDLByDialect(t *testing.T) {
	modernOnly := []string{"LowCardinality(", "DateTime64(3, 'UTC')", "CODEC(", "TTL ", "ttl_only_drop_parts"}
	tests := []struct {
		name    string
		s       schema
		want    []string
		notWant []string
	}{
		{"legacy", schema{db: "tw", dialect: dialectLegacy, retentionDays: 30}, []string{"DateTime('UTC')", "ReplacingMergeTree(version)"}, modernOnly},
		{"modern", schema{db: "tw", dialect: dialectModern, retentionDays: 30}, append([]string{"INTERVAL 30 DAY"}, modernOnly...), nil},
		{"modern keeping forever", schema{db: "tw", dialect: dialectModern}, []string{"LowCardinality(", "CODEC("}, []string{"TTL ", "ttl_only_drop_parts"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ddl := allDDL(tt.s)
			for _, w := range tt.want {
				if !strings.Contains(ddl, w) {
					t.Errorf("DDL lacks %q", w)
				}
			}
			for _, n := range tt.notWant {
				if strings.Contains(ddl, n) {
					t.Errorf("DDL has %q", n)
				}
			}
		})
	}
}

// TestDDLKeys pins the keys that make rewrites collapse: changing them in a
// new migration is a decision, not an accident.
func TestDDLKeys(t *testing.T) {
	for _, d := range []dialect{dialectLegacy, dialectModern} {
		s := schema{db: "tw", dialect: d, retentionDays: 7}
		for _, want := range []struct{ ddl, clause string }{
			{s.trendMinute(), "ENGINE = ReplacingMergeTree(version)\nPARTITION BY toYYYYMMDD(bucket)\nORDER BY (kind, term, bucket)"},
			{s.alerts(), "ENGINE = ReplacingMergeTree(version)\nORDER BY key"},
			{s.alertEvents(), "ENGINE = ReplacingMergeTree\nPARTITION BY toYYYYMM(event_time)\nORDER BY (key, seq)"},
			{s.ingestStats(), "ENGINE = ReplacingMergeTree(version)\nPARTITION BY toYYYYMMDD(bucket)\nORDER BY (topic, kafka_partition, bucket, instance)"},
		} {
			if !strings.Contains(want.ddl, want.clause) {
				t.Errorf("%v DDL lacks %q:\n%s", d, want.clause, want.ddl)
			}
		}
		// Every statement names the database: Migrate runs before it exists
		// and the sink connects without a default database.
		for _, m := range migrations() {
			for _, stmt := range m.ddl(s) {
				if !strings.Contains(stmt, "`tw`.") {
					t.Errorf("%s: statement does not name the database:\n%s", m.id(), stmt)
				}
			}
		}
	}
}

func TestMigrationsOrdered(t *testing.T) {
	seen := map[string]bool{}
	prev := 0
	for _, m := range migrations() {
		if m.version != prev+1 {
			t.Errorf("migration %s follows version %d: versions must go up by one", m.id(), prev)
		}
		prev = m.version
		if seen[m.name] {
			t.Errorf("migration name %q used twice", m.name)
		}
		seen[m.name] = true
		stmts := m.ddl(schema{db: "tw", dialect: dialectLegacy})
		for i, stmt := range stmts {
			// A DROP ... IF EXISTS is safe to re-run when the statement after it
			// creates what it dropped.
			recreated := strings.HasPrefix(stmt, "DROP TABLE IF EXISTS ") && i+1 < len(stmts) &&
				strings.Contains(stmts[i+1], "IF NOT EXISTS "+strings.TrimPrefix(stmt, "DROP TABLE IF EXISTS ")+" ")
			if !strings.Contains(stmt, "IF NOT EXISTS") && !recreated {
				t.Errorf("%s: statement is not safe to re-run:\n%s", m.id(), stmt)
			}
		}
	}
	if latestVersion() != prev {
		t.Errorf("latestVersion() = %d, want %d", latestVersion(), prev)
	}
}

// TestAlertTimelineShowsAddedColumns: a column a migration adds to
// alert_events is one analysts read in alert_timeline, so the latest view
// selects it, and the view migration 6 created (which must not change) does
// not.
func TestAlertTimelineShowsAddedColumns(t *testing.T) {
	s := schema{db: "tw", dialect: dialectLegacy}
	added := addedColumns(s, "alert_events")
	if len(added) == 0 {
		t.Fatal("no migration adds a column to alert_events")
	}
	for _, c := range added {
		col := "\n    " + c.name + ",\n"
		if !strings.Contains(s.alertTimeline(), col) {
			t.Errorf("alert_timeline does not select %s, which alert_events has:\n%s", c.name, s.alertTimeline())
		}
		if strings.Contains(s.alertTimelineV6(), col) {
			t.Errorf("alert_timeline as migration 6 created it selects %s, which alert_events did not have then", c.name)
		}
	}
	created := false
	for _, m := range migrations() {
		for _, stmt := range m.ddl(s) {
			created = created || stmt == s.alertTimeline()
		}
	}
	if !created {
		t.Error("no migration creates alert_timeline as alertTimeline has it")
	}
}
