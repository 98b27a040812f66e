//go:build integration

package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/sim/gen"
)

// TestDemoCommand runs the README's first command, `trendwatch demo`, as a
// new user runs it (the embedded broker, the generator, the pipeline over
// Kafka, the Parquet sink, one process), for 40 s of wall time at five times
// its default speed-up: 200 minutes of event time, every scenario of the
// generator's cycle in it. Each scenario term that should alert opens an
// alert on the screen, no term that should not does, the summary names the
// run's Parquet folder, and the folder holds the tables it names.
func TestDemoCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TRENDWATCH_PARQUET_DIR", dir)
	labels := filepath.Join(dir, "labels.jsonl")
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs([]string{"demo", "--wall", "40s", "--speedup", "300", "--metrics-listen", "", "--labels", labels})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := root.ExecuteContext(ctx); err != nil {
		t.Fatalf("demo: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	screen := out.String()

	lf, err := os.Open(labels)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := gen.ReadLabels(lf)
	lf.Close()
	if err != nil {
		t.Fatal(err)
	}
	opened := map[string]bool{}
	for _, line := range strings.Split(screen, "\n") {
		f := strings.Fields(line)
		// "2026-12-07 01:16  LOW      open      [early] NEW hashtag:x 15/min …"
		if len(f) < 6 || f[3] != "open" {
			continue
		}
		for _, w := range f[4:] {
			if strings.Contains(w, ":") {
				opened[w] = true
				break
			}
		}
	}
	var should int
	for _, l := range ls {
		switch {
		case l.ShouldAlert:
			should++
			if !opened[l.Term] {
				t.Errorf("%s (%s) should alert and opened nothing on screen", l.Term, l.Scenario)
			}
		case opened[l.Term]:
			t.Errorf("%s (%s) should not alert and opened one", l.Term, l.Scenario)
		}
	}
	if should == 0 {
		t.Fatalf("the labels name no term that should alert:\n%v", ls)
	}
	for _, want := range []string{"trendwatch demo:", "── summary ──", "alerts:", "incidents:", "Parquet:", "review:"} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen has no %q:\n%s", want, screen)
		}
	}
	runs, err := filepath.Glob(filepath.Join(dir, "demo-*"))
	if err != nil || len(runs) != 1 {
		t.Fatalf("run folders %v (%v), want one under %s", runs, err, dir)
	}
	for _, table := range []string{"trend_minute", "alert_events", "ingest_stats"} {
		n := 0
		err := filepath.WalkDir(filepath.Join(runs[0], table), func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".parquet") {
				n++
			}
			return err
		})
		if err != nil || n == 0 {
			t.Errorf("%d Parquet files of %s under %s (%v)", n, table, runs[0], err)
		}
	}
}
