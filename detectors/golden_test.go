package detectors

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/trendwatch/trendwatch/alert"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden from the current encoder")

// goldenLifecycle holds an alert of each kind a checkpoint carries: an early
// one with the cooldown its retraction would put back (hashtag:x), a cooled
// key (hashtag:z), and two ordinary open ones (hashtag:y).
func goldenLifecycle() *Lifecycle {
	cfg := LifecycleConfig{QuietBuckets: 3, CooldownBuckets: 10, EscalateSteps: 1, EscalateMinSeverity: "medium", MaxSamples: 5, MaxRegions: 3}
	l := NewLifecycle(cfg)
	l.Observe(obsAt("hashtag:z", 0), []Finding{finding(NameNovelty, alert.SeverityHigh)})
	playSteps(l, []step{{'f', 0, alert.SeverityHigh}, {'x', 0, 0}, {'x', 1, 0}, {'x', 2, 0}, {'x', 3, 0}, {'e', 5, alert.SeverityCritical}})
	l.Observe(obsAt("hashtag:y", 5), []Finding{finding(NameSurge, alert.SeverityMedium), finding(NameReportRate, alert.SeverityLow)})
	return l
}

// TestGoldenLifecycle pins the lifecycle checkpoint to bytes committed in
// testdata: a checkpoint written by an earlier build must restore in this one.
func TestGoldenLifecycle(t *testing.T) {
	l := goldenLifecycle()
	if x := l.open[NameSurge+"|hashtag:x"]; len(l.open) != 3 || len(l.cool) == 0 || x == nil || !x.a.Early || !x.hadPrior {
		t.Fatalf("golden state lacks an alert of some kind: %d open, %d cooled, hashtag:x %+v", len(l.open), len(l.cool), x)
	}
	path := filepath.Join("testdata", "golden", "lifecycle.bin")
	got, err := l.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding differs from %s (%d bytes, want %d)", path, len(got), len(want))
	}
	r := NewLifecycle(l.cfg)
	if err := r.UnmarshalBinary(want); err != nil {
		t.Fatalf("%s does not decode: %v", path, err)
	}
	if !reflect.DeepEqual(r.open, l.open) || !reflect.DeepEqual(r.cool, l.cool) {
		t.Fatalf("%s decodes to other state", path)
	}
}

// TestGoldenLifecycleV3: the version-3 encoding of the golden state (before
// an open alert kept whether it was of reports) still decodes, to the same
// alerts, each of mentions.
func TestGoldenLifecycleV3(t *testing.T) {
	l := goldenLifecycle()
	old, err := os.ReadFile(filepath.Join("testdata", "golden", "lifecycle-v3.bin"))
	if err != nil {
		t.Fatal(err)
	}
	r := NewLifecycle(l.cfg)
	if err := r.UnmarshalBinary(old); err != nil {
		t.Fatalf("version 3 does not decode: %v", err)
	}
	for k, want := range l.open {
		got := r.open[k]
		if got == nil || got.reports || !reflect.DeepEqual(got.a, want.a) {
			t.Errorf("%s: restored %+v, want %+v of mentions", k, got, want)
		}
	}
}

// TestLifecycleKeepsReportsAcrossCheckpoint: an open alert about reports is
// still about reports after a checkpoint, so that once it resolves its
// cooldown judges calm against the reports' level, not the mentions'.
func TestLifecycleKeepsReportsAcrossCheckpoint(t *testing.T) {
	l := goldenLifecycle()
	for _, tr := range l.open {
		tr.reports = true
	}
	b, err := l.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	r := NewLifecycle(l.cfg)
	if err := r.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	for k, tr := range l.open {
		if r.open[k].reports != tr.reports {
			t.Errorf("%s: of reports %v after the checkpoint, want %v", k, r.open[k].reports, tr.reports)
		}
	}
}
