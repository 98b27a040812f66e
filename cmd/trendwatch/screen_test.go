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

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/config"
	"github.com/trendwatch/trendwatch/pipeline"
)

func TestPrinter(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 13, 56, 0, 0, time.UTC)
	bucket := func(min int, terms ...pipeline.TermStat) *pipeline.BucketReport {
		return &pipeline.BucketReport{Start: t0.Add(time.Duration(min) * time.Minute), Events: 100, Mentions: 300, Reports: 2, Surging: terms}
	}
	stat := func(term string, expected float64) pipeline.TermStat {
		return pipeline.TermStat{Term: term, Mentions: 50, Expected: expected, Growth: 50 / expected}
	}
	ev := func(min int, term string, sev alert.Severity, to alert.Status) alert.Event {
		return alert.Event{At: t0.Add(time.Duration(min) * time.Minute), To: to, Alert: alert.Alert{
			Key: "surge|" + term, Term: term, Detector: "surge", Severity: sev, Summary: "SURGE " + term}}
	}
	type step struct {
		b *pipeline.BucketReport
		a *alert.Event
	}
	alertAt := func(e alert.Event) step { return step{a: &e} }
	tests := []struct {
		name          string
		colour        bool
		steps         []step
		tables        int
		want, notWant []string
	}{
		{name: "noise alone prints no table",
			steps: []step{{b: bucket(0, stat("hashtag:fyp", 0), stat("sound:s1", 4))}, {b: bucket(1, stat("sound:s2", 4))}}},
		{name: "an alerted term reaching the top prints one table",
			steps: []step{
				{b: bucket(0, stat("hashtag:x", 4))},
				alertAt(ev(0, "hashtag:x", alert.SeverityHigh, alert.StatusOpen)),
				{b: bucket(1, stat("hashtag:x", 5))},
				{b: bucket(2, stat("hashtag:x", 6))},
			},
			tables: 1, want: []string{"2026-11-22 13:56  HIGH     open      SURGE hashtag:x", "── 2026-11-22 13:57 UTC"}},
		{name: "a term without a baseline is not surging",
			steps: []step{
				alertAt(ev(0, "hashtag:new", alert.SeverityLow, alert.StatusOpen)),
				{b: bucket(1, stat("hashtag:new", 0.5))},
			}},
		{name: "a resolve says the detector went quiet, a retraction does not",
			steps: []step{
				alertAt(ev(0, "hashtag:x", alert.SeverityHigh, alert.StatusOpen)),
				alertAt(ev(20, "hashtag:x", alert.SeverityHigh, alert.StatusResolved)),
				alertAt(func() alert.Event {
					e := ev(21, "hashtag:y", alert.SeverityLow, alert.StatusResolved)
					e.Reason = alert.ReasonRetracted
					return e
				}()),
			},
			want:    []string{"2026-11-22 14:16  HIGH     resolved  SURGE hashtag:x (no surge finding for 15 buckets; the numbers are its last)"},
			notWant: []string{"hashtag:y (no"}},
		{name: "no escape codes off a terminal",
			steps:   []step{alertAt(ev(0, "hashtag:x", alert.SeverityCritical, alert.StatusOpen))},
			notWant: []string{"\x1b["}},
		{name: "severity coloured on a terminal", colour: true,
			steps: []step{alertAt(ev(0, "hashtag:x", alert.SeverityCritical, alert.StatusOpen)), alertAt(ev(0, "hashtag:y", alert.SeverityLow, alert.StatusOpen))},
			want:  []string{"\x1b[1;97;41mCRITICAL\x1b[0m", "  LOW      open"}},
		{name: "summary counts a challenge's alerts as one incident",
			steps: []step{
				alertAt(ev(0, "hashtag:blackoutchallenge", alert.SeverityHigh, alert.StatusOpen)),
				alertAt(ev(1, "hashtag:ब्लैकआउटचैलेंज", alert.SeverityHigh, alert.StatusOpen)),
				alertAt(ev(1, "family:blakautchalenj", alert.SeverityHigh, alert.StatusOpen)),
				alertAt(ev(2, "sound:s1", alert.SeverityMedium, alert.StatusOpen)),
			},
			want: []string{"alerts:      4 (3 high, 1 medium)", "incidents:   2 (the alerts on one challenge"}},
		{name: "summary counts alerts by highest severity",
			steps: []step{
				alertAt(ev(0, "hashtag:x", alert.SeverityMedium, alert.StatusOpen)),
				alertAt(ev(1, "hashtag:x", alert.SeverityCritical, alert.StatusEscalated)),
				alertAt(ev(9, "hashtag:x", alert.SeverityCritical, alert.StatusResolved)),
				alertAt(ev(1, "hashtag:y", alert.SeverityLow, alert.StatusOpen)),
				{b: bucket(0)}, {b: bucket(1)},
			},
			want: []string{"alerts:      2 (1 critical, 1 low) by their highest severity, 4 transitions",
				"incidents:   2 (the alerts on one challenge",
				"review:      trendwatch review --day 2026-11-22 --parquet run-dir --out reviews",
				"events:      200 (600 mentions, 4 reports), event time 2026-11-22 13:56 – 2026-11-22 13:57 UTC",
				"Parquet:     run-dir"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			p := newPrinter(&buf, 5, tt.colour, 15)
			for _, s := range tt.steps {
				if s.b != nil {
					p.Bucket(s.b)
				} else {
					p.Alert(*s.a)
				}
			}
			cfg := config.Default()
			cfg.Sinks = []string{"parquet"}
			p.summary("run-dir", &cfg)
			out := buf.String()
			if got := strings.Count(out, "fastest-growing"); got != tt.tables {
				t.Errorf("%d tables, want %d:\n%s", got, tt.tables, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestMakeRunDir(t *testing.T) {
	root := filepath.Join(t.TempDir(), "data")
	now := time.Date(2026, 11, 22, 13, 56, 7, 0, time.UTC)
	a, err := makeRunDir(root, now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := makeRunDir(root, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "demo-20261122-135607"); a != want {
		t.Errorf("first run in %s, want %s", a, want)
	}
	if a == b {
		t.Fatalf("two runs in the same second share %s", a)
	}
	for _, d := range []string{a, b} {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			t.Errorf("%s: not a directory (%v)", d, err)
		}
	}
}

// TestPrintKeysAligned: every column starts at the same place on every line,
// however long the longest key.
func TestPrintKeysAligned(t *testing.T) {
	keys := []config.Key{
		{Name: "a", Default: "1", Unit: "count", Env: "TRENDWATCH_A", Meaning: "short"},
		{Name: "detectors.coordination.spreading.min_region_share", Default: "0.05", Unit: "ratio", Env: "TRENDWATCH_X", Meaning: "long"},
		{Name: "window.bucket", Default: "1m", Unit: "duration", Env: "TRENDWATCH_WINDOW_BUCKET", Meaning: "width ≥ 1s"},
	}
	for _, env := range []bool{false, true} {
		var buf bytes.Buffer
		if err := printKeys(&buf, keys, env); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != len(keys)+1 {
			t.Fatalf("%d lines, want a header and %d keys:\n%s", len(lines), len(keys), buf.String())
		}
		// The meaning is the last column: find where it starts, in runes.
		col := func(line, field string) int { return len([]rune(line[:strings.LastIndex(line, field)])) }
		want := col(lines[0], "MEANING")
		for i, k := range keys {
			if got := col(lines[i+1], k.Meaning); got != want {
				t.Errorf("env=%v: %s's meaning starts at column %d, want %d:\n%s", env, k.Name, got, want, buf.String())
			}
		}
	}
}

// TestWaitClosed: the demo's end waits until the printer has seen the bucket
// it names closed, and no longer than its limit or its context.
func TestWaitClosed(t *testing.T) {
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		closed   time.Time // the last bucket with events the printer saw closed
		cancel   bool
		limit    time.Duration
		atLeast  time.Duration
		lessThan time.Duration
	}{
		{"closed already", at, false, 5 * time.Second, 0, time.Second},
		{"a later bucket closed", at.Add(time.Minute), false, 5 * time.Second, 0, time.Second},
		{"never closes: the limit", at.Add(-time.Minute), false, 300 * time.Millisecond, 300 * time.Millisecond, 3 * time.Second},
		{"never closes: the context", at.Add(-time.Minute), true, 5 * time.Second, 0, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPrinter(io.Discard, 5, false, 15)
			p.Bucket(&pipeline.BucketReport{Start: tc.closed, Events: 1})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel {
				cancel()
			}
			began := time.Now()
			waitClosed(ctx, p, at, tc.limit)
			if took := time.Since(began); took < tc.atLeast || took >= tc.lessThan {
				t.Errorf("waited %s, want %s to %s", took, tc.atLeast, tc.lessThan)
			}
		})
	}
}

// TestWaitClosedSeesALaterClose: a bucket closed while the demo waits ends
// the wait.
func TestWaitClosedSeesALaterClose(t *testing.T) {
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	p := newPrinter(io.Discard, 5, false, 15)
	go func() {
		time.Sleep(50 * time.Millisecond)
		p.Bucket(&pipeline.BucketReport{Start: at, Events: 1})
	}()
	began := time.Now()
	waitClosed(context.Background(), p, at, 10*time.Second)
	if took := time.Since(began); took >= 5*time.Second {
		t.Errorf("waited %s for a bucket closed after 50 ms", took)
	}
}

// TestCell: a term takes as many terminal columns whatever its script, so
// the numbers after it line up; a long one is clipped with "…".
func TestCell(t *testing.T) {
	tests := []struct {
		term string
		want int // runes before the padding: the term as printed
	}{
		{"hashtag:blackoutchallenge", 25},
		{"hashtag:दालभातचैलेंज", 20},               // ै े ं take no column: 17 columns
		{"hashtag:ब्लैकआउटचैलेंज", 22},             // the virama, ै twice, े and ं take none: 17 columns
		{"hashtag:挑战赛", 11},                        // three wide letters, six columns
		{"hashtag:" + strings.Repeat("a", 40), 36}, // clipped: 35 letters and …
		{"hashtag:" + strings.Repeat("挑", 20), 22}, // clipped at 35 columns: 13 wide letters, …
	}
	for _, tt := range tests {
		got := cell(tt.term, 36)
		cols := 0
		for _, r := range got {
			cols += columns(r)
		}
		if cols != 36 {
			t.Errorf("cell(%q) = %q: %d columns, want 36", tt.term, got, cols)
		}
		if n := len([]rune(strings.TrimRight(got, " "))); n != tt.want {
			t.Errorf("cell(%q) = %q: %d runes before the padding, want %d", tt.term, got, n, tt.want)
		}
	}
	// A mark takes no column: the Devanagari term gets more padding than its
	// rune count says.
	if got := cell("हिंदी", 10); got != "हिंदी"+strings.Repeat(" ", 6) {
		t.Errorf("cell(हिंदी) = %q, want four columns and six spaces", got)
	}
}
