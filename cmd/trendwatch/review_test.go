package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
