package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/config"
	pqsink "github.com/trendwatch/trendwatch/sinks/parquet"
)

// clearEnv unsets the TRENDWATCH_ variables for the test: a developer's
// settings must not choose the store.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "TRENDWATCH_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

// TestReviewRefuses: review and verdict refuse what they cannot do as
// asked, before reading a store, rather than answer from the wrong one or
// from a directory that holds no run.
func TestReviewRefuses(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "TRENDWATCH_") {
			t.Setenv(k, "") // a developer's settings must not choose the store
			os.Unsetenv(k)
		}
	}
	root := t.TempDir()
	touch := func(parts ...string) {
		p := filepath.Join(append([]string{root}, parts...)...)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// runs holds two run directories, as parquet.dir does after two demos;
	// quiet is a run in which nothing alerted.
	touch("runs", "demo-20261122-101500", "alert_events", "date=2026-11-22", "hour=14", "part-1-0.parquet")
	touch("runs", "demo-20261123-090000", "shard-0-of-2", "alert_events", "date=2026-11-23", "hour=09", "part-1-0.parquet")
	touch("quiet", "trend_minute", "date=2026-11-22", "hour=14", "part-1-0.parquet")
	if err := os.MkdirAll(filepath.Join(root, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := func(name string) string { return filepath.Join(root, name) }
	out := t.TempDir()

	tests := []struct {
		name string
		args []string
		want []string // words of the error; nil for none
	}{
		{
			name: "bad date before a missing store",
			args: []string{"review", "--day", "2026-13-01", "--parquet", dir("missing"), "--out", out},
			want: []string{`--day "2026-13-01": want YYYY-MM-DD`},
		},
		{
			name: "review from two stores",
			args: []string{"review", "--day", "2026-11-22", "--clickhouse", "127.0.0.1:1", "--parquet", dir("quiet"), "--out", out},
			want: []string{"--clickhouse and --parquet name two stores; give one"},
		},
		{
			name: "a ClickHouse database with a Parquet directory",
			args: []string{"verdict", "surge|hashtag:x", "true_positive", "--database", "tw", "--parquet", dir("quiet")},
			want: []string{"--database and --parquet name two stores; give one"},
		},
		{
			name: "verdict into two stores",
			args: []string{"verdict", "surge|hashtag:x", "true_positive", "--clickhouse", "127.0.0.1:1", "--parquet", dir("quiet")},
			want: []string{"--clickhouse and --parquet name two stores; give one"},
		},
		{
			name: "the parent of run directories",
			args: []string{"review", "--day", "2026-11-22", "--parquet", dir("runs"), "--out", out},
			want: []string{"parquet.dir " + dir("runs") + " holds no run", "alert_events/date=YYYY-MM-DD/hour=HH/*.parquet",
				filepath.Join(dir("runs"), "demo-20261122-101500"), filepath.Join(dir("runs"), "demo-20261123-090000")},
		},
		{
			name: "an empty directory",
			args: []string{"review", "--day", "2026-11-22", "--parquet", dir("empty"), "--out", out},
			want: []string{"parquet.dir " + dir("empty") + " holds no run", "give one with --parquet"},
		},
		{
			name: "verdict in the parent of run directories",
			args: []string{"verdict", "surge|hashtag:x", "true_positive", "--parquet", dir("runs")},
			want: []string{"holds no run"},
		},
		{
			name: "a run in which nothing alerted",
			args: []string{"review", "--day", "2026-11-22", "--parquet", dir("quiet"), "--out", out},
		},
	}
	for _, tt := range tests {
		cmd := newRoot()
		cmd.SetArgs(tt.args)
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		err := cmd.ExecuteContext(context.Background())
		if tt.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error, want one saying %q", tt.name, tt.want)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v\ndoes not say %q", tt.name, err, w)
			}
		}
	}
}

// TestReviewStoreChoice: a store named on the command line is the one review
// and verdict use, whatever the sinks say; without one, the sinks choose.
func TestReviewStoreChoice(t *testing.T) {
	tests := []struct {
		name  string
		sinks []string
		args  []string
		want  string
	}{
		{"sinks say parquet", []string{"parquet"}, nil, "parquet"},
		{"sinks say clickhouse", []string{"clickhouse"}, nil, "clickhouse"},
		{"both sinks", []string{"parquet", "clickhouse"}, nil, "clickhouse"},
		{"--clickhouse over parquet sinks", []string{"parquet"}, []string{"--clickhouse", "10.0.0.1:9000"}, "clickhouse"},
		{"--database over parquet sinks", []string{"parquet"}, []string{"--database", "tw"}, "clickhouse"},
		{"--parquet over clickhouse sinks", []string{"clickhouse"}, []string{"--parquet", "run"}, "parquet"},
	}
	for _, tt := range tests {
		f := pflag.NewFlagSet(tt.name, pflag.ContinueOnError)
		storeFlags(f)
		if err := f.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		if got := reviewStoreKind(&config.Config{Sinks: tt.sinks}, f); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

// TestReviewClickHouseFlag: review and verdict, given --clickhouse where
// the sinks are set to parquet, read ClickHouse, here an address where none
// listens, rather than the Parquet directory without a word.
func TestReviewClickHouseFlag(t *testing.T) {
	clearEnv(t)
	root := t.TempDir()
	part := filepath.Join(root, "trend_minute", "date=2026-11-22", "hour=14", "part-1-0.parquet")
	if err := os.MkdirAll(filepath.Dir(part), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(part, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TRENDWATCH_SINKS", "parquet")
	t.Setenv("TRENDWATCH_PARQUET_DIR", root)
	for _, args := range [][]string{
		{"review", "--day", "2026-11-22", "--clickhouse", "127.0.0.1:1", "--out", t.TempDir()},
		{"verdict", "surge|hashtag:x", "true_positive", "--clickhouse", "127.0.0.1:1"},
	} {
		cmd := newRoot()
		cmd.SetArgs(args)
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		err := cmd.ExecuteContext(context.Background())
		if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
			t.Errorf("%s: %v, want ClickHouse at 127.0.0.1:1 tried", strings.Join(args, " "), err)
		}
	}
}

// TestVerdictSaysWhere: verdict says which store it recorded the verdict
// in, and the verdict is there.
func TestVerdictSaysWhere(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	s, err := pqsink.New(pqsink.Config{Dir: dir, Roll: time.Hour, MaxBuffered: 1000}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	const key = "surge|hashtag:blackoutchallenge"
	at := time.Date(2026, 11, 22, 14, 33, 0, 0, time.UTC)
	a := alert.Alert{Key: key, Detector: "surge", Term: "hashtag:blackoutchallenge", Status: alert.StatusOpen, Severity: alert.SeverityHigh, OpenedAt: at, Bucket: at}
	if err := s.WriteAlerts(context.Background(), []alert.Event{{Alert: a, To: alert.StatusOpen, At: at, Seq: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := newRoot()
	var out bytes.Buffer
	cmd.SetArgs([]string{"verdict", key, "true_positive", "--note", "escalated", "--reviewer", "asha", "--parquet", dir})
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, pqsink.VerdictsFile)
	if want := "recorded true_positive on " + key + " by asha in " + file + "\n"; out.String() != want {
		t.Errorf("verdict printed %q, want %q", out.String(), want)
	}
	if b, err := os.ReadFile(file); err != nil || !strings.Contains(string(b), `"key":"`+key+`"`) {
		t.Errorf("%s holds %q (%v), want the verdict", file, b, err)
	}
}
