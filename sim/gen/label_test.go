package gen

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestLabelsRoundTrip(t *testing.T) {
	ls := mustNew(t, testConfig(1, 3*time.Hour, 50)).Labels()
	var buf bytes.Buffer
	if err := WriteLabels(&buf, ls); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(buf.String(), "\n"); lines != len(ls) {
		t.Errorf("%d labels on %d lines", len(ls), lines)
	}
	if !strings.Contains(buf.String(), "ब्लैकआउटचैलेंज") {
		t.Errorf("Devanagari term escaped or missing:\n%s", buf.String())
	}
	got, err := ReadLabels(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ls) {
		t.Fatalf("read %d labels, wrote %d", len(got), len(ls))
	}
	for i := range ls {
		a, b := ls[i], got[i]
		if a.Scenario != b.Scenario || a.Term != b.Term || !a.Start.Equal(b.Start) || !a.Peak.Equal(b.Peak) ||
			!a.End.Equal(b.End) || a.ShouldAlert != b.ShouldAlert || a.Watchlist != b.Watchlist ||
			strings.Join(a.Detectors, ",") != strings.Join(b.Detectors, ",") {
			t.Errorf("label %d: wrote %+v, read %+v", i, a, b)
		}
	}
}

func TestReadLabelsRejects(t *testing.T) {
	const ok = `{"scenario":"slow_trend","term":"hashtag:balconygarden","start":"2025-03-14T13:45:00Z","peak":"2025-03-14T16:00:00Z","end":"2025-03-14T16:00:00Z","should_alert":false}`
	tests := []struct {
		name, in, err string // err: "" when valid
	}{
		{"empty", "", ""},
		{"one", ok + "\n", ""},
		{"two, blank lines", ok + "\n\n" + ok + "\n", ""},
		{"not JSON", "scenario=slow_trend\n", "read label 1"},
		{"truncated", ok[:40], "read label 1"},
		{"array", "[]", "read label 1"},
		{"unknown scenario", strings.Replace(ok, "slow_trend", "flash_mob", 1), "label 1: scenario"},
		{"bad kind", ok + "\n" + strings.Replace(ok, "hashtag:", "tag:", 1), "label 2: term"},
		{"not canonical", strings.Replace(ok, "hashtag:balconygarden", "hashtag:#BalconyGarden", 1), "canonical"},
		{"peak before start", strings.Replace(ok, `"peak":"2025-03-14T16:00:00Z"`, `"peak":"2025-03-14T13:00:00Z"`, 1), "start <= peak <= end"},
		{"no end", strings.Replace(ok, `,"end":"2025-03-14T16:00:00Z"`, "", 1), "required"},
		{"bad time", strings.Replace(ok, "2025-03-14T13:45:00Z", "yesterday", 1), "read label 1"},
		{"unknown detector", strings.Replace(ok, `"should_alert":false`, `"detectors":["magic"]`, 1), "detector"},
		{"null", "null", "label 1: scenario"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadLabels(strings.NewReader(tt.in))
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("want no error, got %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("want an error containing %q, got %v", tt.err, err)
			}
		})
	}
}

// FuzzReadLabels: ReadLabels never panics, and what it accepts it writes back
// to something it reads as the same.
func FuzzReadLabels(f *testing.F) {
	var buf bytes.Buffer
	if err := WriteLabels(&buf, mustNew(f, testConfig(1, 3*time.Hour, 50)).Labels()); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(`{"scenario":"report_wave","term":"sound:s1","start":"2025-01-01T00:00:00+05:45","peak":"2025-01-01T00:00:00.5Z","end":"2025-01-02T00:00:00Z","detectors":["report_rate"]}`))
	f.Add([]byte(`{"scenario":"daily_peak","term":"hashtag:ＦＹＰ"}`))
	f.Add([]byte("null\n{}\n[]"))
	f.Fuzz(func(t *testing.T, in []byte) {
		ls, err := ReadLabels(bytes.NewReader(in))
		if err != nil {
			return
		}
		var once, twice bytes.Buffer
		if err := WriteLabels(&once, ls); err != nil {
			t.Fatalf("write accepted labels %+v: %v", ls, err)
		}
		again, err := ReadLabels(bytes.NewReader(once.Bytes()))
		if err != nil {
			t.Fatalf("read back %s: %v", once.Bytes(), err)
		}
		if err := WriteLabels(&twice, again); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(once.Bytes(), twice.Bytes()) {
			t.Fatalf("round trip changed labels:\n%s\n%s", once.Bytes(), twice.Bytes())
		}
	})
}
