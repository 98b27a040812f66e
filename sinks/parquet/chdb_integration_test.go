//go:build integration

package parquet

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/internal/testenv"
	"github.com/trendwatch/trendwatch/trend"
)

// TestModernClickHouseReadsFiles checks that ClickHouse (26.x, embedded through
// chDB) reads a compacted partition with the types a notebook expects: counts,
// sums, the UTC timestamp and the string lists.
func TestModernClickHouseReadsFiles(t *testing.T) {
	chdb := testenv.ChDB(t)
	dir := t.TempDir()
	s, _ := newTestSink(t, dir)
	ctx := context.Background()
	var (
		rows  int
		sum   uint64
		terms = []string{"hashtag:fyp", "hashtag:नेपाल", "challenge:c-1", "sound:s-9"}
	)
	// Three flushes in one hour, then two hours later, so the hour is merged and
	// ClickHouse reads data.parquet.
	for f := range 3 {
		var batch []trend.Minute
		for m := range 20 {
			for i, term := range terms {
				v := uint64(f*1000 + m*10 + i)
				batch = append(batch, trend.Minute{
					Bucket: t0.Add(time.Duration(f*20+m) * time.Minute), Term: term, Kind: strings.SplitN(term, ":", 2)[0],
					Mentions: v, UniqueCreators: v / 2, TopRegions: []string{"NP", "IN"}, Langs: []string{"ne"}, Exact: f == 0, Version: 1,
				})
				rows++
				sum += v
			}
		}
		if err := s.WriteMinutes(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The intake of each minute, the first written twice (a replay's rewrite,
	// version 2, counts).
	var events uint64
	for m := range 60 {
		in := trend.Intake{Bucket: t0.Add(time.Duration(m) * time.Minute), Instance: "tw", Events: uint64(100 + m), Late: 1, Version: 1}
		if m == 0 {
			if err := s.WriteIntake(ctx, in); err != nil {
				t.Fatal(err)
			}
			in.Events, in.Version = 50, 2
		}
		if err := s.WriteIntake(ctx, in); err != nil {
			t.Fatal(err)
		}
		events += in.Events
	}
	if err := s.WriteMinutes(ctx, []trend.Minute{{Bucket: t0.Add(2 * time.Hour), Term: "hashtag:later", Kind: "hashtag"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, partitionDir(TableMinutes, t0, time.Hour), mergedName)

	got := chdbQuery(t, chdb, fmt.Sprintf(
		"SELECT count(), sum(mentions), toString(min(bucket)), toTypeName(bucket), toTypeName(top_regions), "+
			"countIf(term = 'hashtag:नेपाल'), arrayStringConcat(any(top_regions), '+'), countIf(exact), toTypeName(exact) FROM file('%s', Parquet)", sqlString(path)))
	want := fmt.Sprintf("%d,%d,\"%s\",\"Nullable(DateTime64(3, 'UTC'))\",\"Array(Nullable(String))\",%d,\"NP+IN\",%d,\"Bool\"",
		rows, sum, t0.Format("2006-01-02 15:04:05.000"), rows/len(terms), rows/3)
	if got != want {
		t.Fatalf("chDB read\n%s\nwant\n%s", got, want)
	}
	// The README's intake query, in ClickHouse's dialect.
	got = chdbQuery(t, chdb, fmt.Sprintf(
		"SELECT count(), sum(e), sum(l) FROM (SELECT bucket, argMax(events, version) AS e, argMax(late, version) AS l "+
			"FROM file('%s/%s/*/*/*.parquet', Parquet) GROUP BY bucket)", sqlString(dir), TableIntake))
	if want := fmt.Sprintf("60,%d,60", events); got != want {
		t.Errorf("chDB read the intake\n%s\nwant\n%s", got, want)
	}
}

func chdbQuery(t *testing.T, chdbDir, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The SQL goes through argv, not the script text, so no quoting is needed
	// beyond SQL's own.
	cmd := exec.CommandContext(ctx, "node", "-e", `process.stdout.write(require("chdb").query(process.argv[1], "CSV"))`, sql)
	cmd.Dir = chdbDir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node chdb %q: %v\n%s", sql, err, out)
	}
	return strings.TrimSpace(string(out))
}

func sqlString(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}
