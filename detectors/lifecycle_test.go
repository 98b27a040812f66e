package detectors

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/alert"
)

func at(i int) time.Time { return simStart.Add(time.Duration(i) * time.Minute) }

func obsAt(term string, i int) *Observation {
	return &Observation{Term: term, Bucket: at(i), Width: time.Minute, Mentions: 100, Reports: 5,
		UniqueCreators: 90, Regions: []Count{{"NP", 60}, {"IN", 30}, {"US", 5}, {"GB", 5}},
		Samples: []string{"c1", "c2", "c3", "c4", "c5", "c6", "c7"}}
}

func finding(detector string, sev alert.Severity) Finding {
	return Finding{Detector: detector, Severity: sev, Score: 7, Observed: 100, Expected: 10, Growth: 10,
		Summary: "SURGE x", Explanation: "detector=" + detector}
}

// script drives a Lifecycle bucket by bucket: findings[i] are the findings of
// term in bucket i (nil: quiet, or not observed at all).
func script(l *Lifecycle, term string, findings [][]Finding) []alert.Event {
	var events []alert.Event
	for i, fs := range findings {
		if fs != nil {
			events = append(events, l.Observe(obsAt(term, i), fs)...)
		}
		events = append(events, l.EndBucket(at(i))...)
	}
	return events
}

type transition struct {
	bucket int
	from   alert.Status
	to     alert.Status
	sev    alert.Severity
}

func transitions(events []alert.Event) []transition {
	var out []transition
	for _, e := range events {
		out = append(out, transition{int(e.At.Sub(simStart) / time.Minute), e.From, e.To, e.Alert.Severity})
	}
	return out
}

func TestLifecycle(t *testing.T) {
	low, med, high := []Finding{finding(NameSurge, alert.SeverityLow)}, []Finding{finding(NameSurge, alert.SeverityMedium)}, []Finding{finding(NameSurge, alert.SeverityHigh)}
	cfg := LifecycleConfig{QuietBuckets: 3, CooldownBuckets: 10, EscalateSteps: 1, EscalateMinSeverity: "medium", MaxSamples: 5, MaxRegions: 3}
	repeat := func(n int, fs []Finding) [][]Finding {
		out := make([][]Finding, n)
		for i := range out {
			out[i] = fs
		}
		return out
	}
	cat := func(parts ...[][]Finding) [][]Finding {
		var out [][]Finding
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	cases := []struct {
		name     string
		cfg      LifecycleConfig
		findings [][]Finding
		want     []transition
	}{
		{"open, escalate, resolve after 3 quiet buckets", cfg,
			cat(repeat(2, low), repeat(2, med), repeat(1, high), repeat(5, nil)),
			[]transition{{0, "", alert.StatusOpen, alert.SeverityLow}, {2, alert.StatusOpen, alert.StatusEscalated, alert.SeverityMedium},
				{4, alert.StatusEscalated, alert.StatusEscalated, alert.SeverityHigh}, {7, alert.StatusEscalated, alert.StatusResolved, alert.SeverityHigh}}},
		{"severity never steps down", cfg,
			cat(repeat(1, high), repeat(3, low), repeat(3, nil)),
			[]transition{{0, "", alert.StatusOpen, alert.SeverityHigh}, {6, alert.StatusOpen, alert.StatusResolved, alert.SeverityHigh}}},
		{"flapping every other bucket opens once", cfg,
			cat(repeat(1, low), repeat(1, nil), repeat(1, low), repeat(1, nil), repeat(1, low), repeat(1, nil), repeat(1, low), repeat(3, nil)),
			[]transition{{0, "", alert.StatusOpen, alert.SeverityLow}, {9, alert.StatusOpen, alert.StatusResolved, alert.SeverityLow}}},
		{"flapping slower than the hysteresis: the cooldown holds", LifecycleConfig{QuietBuckets: 1, CooldownBuckets: 10, EscalateSteps: 1},
			cat(repeat(1, low), repeat(1, nil), repeat(1, low), repeat(1, nil), repeat(1, low), repeat(1, nil)),
			[]transition{{0, "", alert.StatusOpen, alert.SeverityLow}, {1, alert.StatusOpen, alert.StatusResolved, alert.SeverityLow}}},
		{"cooldown gives way to a more severe finding", cfg,
			cat(repeat(1, low), repeat(3, nil), repeat(1, low), repeat(1, high), repeat(3, nil)),
			[]transition{{0, "", alert.StatusOpen, alert.SeverityLow}, {3, alert.StatusOpen, alert.StatusResolved, alert.SeverityLow},
				{5, "", alert.StatusOpen, alert.SeverityHigh}, {8, alert.StatusOpen, alert.StatusResolved, alert.SeverityHigh}}},
		{"after the cooldown, a page again", cfg,
			cat(repeat(1, low), repeat(13, nil), repeat(1, low), repeat(3, nil)),
			[]transition{{0, "", alert.StatusOpen, alert.SeverityLow}, {3, alert.StatusOpen, alert.StatusResolved, alert.SeverityLow},
				{14, "", alert.StatusOpen, alert.SeverityLow}, {17, alert.StatusOpen, alert.StatusResolved, alert.SeverityLow}}},
		{"escalation pages only from escalate_min_severity", LifecycleConfig{QuietBuckets: 3, CooldownBuckets: 10, EscalateSteps: 1, EscalateMinSeverity: "high"},
			cat(repeat(1, low), repeat(1, med), repeat(1, high), repeat(3, nil)),
			[]transition{{0, "", alert.StatusOpen, alert.SeverityLow}, {2, alert.StatusOpen, alert.StatusEscalated, alert.SeverityHigh},
				{5, alert.StatusEscalated, alert.StatusResolved, alert.SeverityHigh}}},
		{"escalation needs escalate_steps", LifecycleConfig{QuietBuckets: 3, CooldownBuckets: 10, EscalateSteps: 2, EscalateMinSeverity: "medium"},
			cat(repeat(1, low), repeat(1, med), repeat(1, high), repeat(3, nil)),
			[]transition{{0, "", alert.StatusOpen, alert.SeverityLow}, {2, alert.StatusOpen, alert.StatusEscalated, alert.SeverityHigh},
				{5, alert.StatusEscalated, alert.StatusResolved, alert.SeverityHigh}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			events := script(NewLifecycle(tc.cfg), "hashtag:x", tc.findings)
			if got := transitions(events); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("transitions\n got %v\nwant %v", got, tc.want)
			}
			var last uint64
			for _, e := range events {
				if e.Alert.Key != "surge|hashtag:x" || e.Alert.Detector != NameSurge || e.Alert.Term != "hashtag:x" {
					t.Fatalf("event key %q detector %q term %q", e.Alert.Key, e.Alert.Detector, e.Alert.Term)
				}
				if e.Seq <= last {
					t.Fatalf("seq %d after %d: must increase per key", e.Seq, last)
				}
				last = e.Seq
				if e.ID() != e.Alert.Key+"#"+strconv.FormatUint(e.Seq, 10) {
					t.Fatalf("event ID %q", e.ID())
				}
			}
		})
	}
}

func TestLifecycleAlertFields(t *testing.T) {
	l := NewLifecycle(DefaultConfig().Lifecycle)
	o := obsAt("hashtag:blackoutchallenge", 0)
	o.Watch = &WatchMatch{Pattern: "blackoutchallenge", Risk: alert.SeverityHigh, Category: "dangerous_challenge"}
	evs := l.Observe(o, []Finding{finding(NameSurge, alert.SeverityHigh), finding(NameReportRate, alert.SeverityHigh)})
	if len(evs) != 2 {
		t.Fatalf("%d events, want one per detector", len(evs))
	}
	a := evs[0].Alert
	want := alert.Alert{
		Key: "surge|hashtag:blackoutchallenge", Detector: NameSurge, Term: "hashtag:blackoutchallenge",
		Status: alert.StatusOpen, Severity: alert.SeverityHigh, OpenedAt: at(0), UpdatedAt: at(0), Bucket: at(0),
		Score: 7, Observed: 100, Expected: 10, Growth: 10, UniqueCreators: 90, Reports: 5, ReportRate: 0.05,
		TopRegions: []string{"NP", "IN", "US"}, Samples: []string{"c1", "c2", "c3", "c4", "c5"}, Watchlisted: true,
		Summary: "SURGE x", Explanation: "detector=surge",
	}
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("alert\n got %+v\nwant %+v", a, want)
	}
	if evs[1].Alert.Key != "report_rate|hashtag:blackoutchallenge" {
		t.Fatalf("second key %q", evs[1].Alert.Key)
	}
	if open := l.Open(); len(open) != 2 || open[0].Key != "report_rate|hashtag:blackoutchallenge" {
		t.Fatalf("Open() = %+v", open)
	}
	// A finding for an older bucket is stale.
	if evs := l.Observe(obsAt("hashtag:blackoutchallenge", -5), []Finding{finding(NameSurge, alert.SeverityCritical)}); len(evs) != 0 {
		t.Fatalf("stale finding caused %+v", evs)
	}
}

// TestLifecycleCheckpoint: a Lifecycle restored from a checkpoint carries on
// exactly as the one that was not restarted.
func TestLifecycleCheckpoint(t *testing.T) {
	cfg := LifecycleConfig{QuietBuckets: 3, CooldownBuckets: 10, EscalateSteps: 1, MaxSamples: 5, MaxRegions: 3}
	low, high := []Finding{finding(NameSurge, alert.SeverityLow)}, []Finding{finding(NameSurge, alert.SeverityHigh)}
	a, b := NewLifecycle(cfg), NewLifecycle(cfg)
	before := [][]Finding{low, nil, low}
	script(a, "hashtag:x", before)
	script(a, "hashtag:y", [][]Finding{high}) // y resolves and cools at bucket 3
	a.EndBucket(at(3))

	cp, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.UnmarshalBinary(cp); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Open(), b.Open()) {
		t.Fatalf("Open() after restore\n got %+v\nwant %+v", b.Open(), a.Open())
	}
	again, _ := b.MarshalBinary()
	if !bytes.Equal(cp, again) {
		t.Fatal("a restored Lifecycle encodes differently")
	}
	for i := 4; i < 12; i++ {
		var fs []Finding
		if i == 5 {
			fs = low
		}
		ea := append(a.Observe(obsAt("hashtag:y", i), fs), a.EndBucket(at(i))...)
		eb := append(b.Observe(obsAt("hashtag:y", i), fs), b.EndBucket(at(i))...)
		if !reflect.DeepEqual(ea, eb) {
			t.Fatalf("bucket %d: restored Lifecycle emits %+v, original %+v", i, eb, ea)
		}
	}
}

func TestLifecycleUnmarshalRefuses(t *testing.T) {
	l := NewLifecycle(DefaultConfig().Lifecycle)
	l.Observe(obsAt("hashtag:x", 0), []Finding{finding(NameSurge, alert.SeverityLow)})
	good, _ := l.MarshalBinary()
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x40
		return b
	}
	cases := map[string][]byte{
		"empty":      nil,
		"truncated":  good[:len(good)-1],
		"bad magic":  flip(0),
		"version":    flip(4),
		"bit flip":   flip(len(good) / 2),
		"checksum":   flip(len(good) - 1),
		"trailing":   append(bytes.Clone(good[:len(good)-4]), 0, 0, 0, 0, 0),
		"all zeroes": make([]byte, 64),
	}
	for name, b := range cases {
		r := NewLifecycle(DefaultConfig().Lifecycle)
		r.Observe(obsAt("hashtag:keep", 0), []Finding{finding(NameSurge, alert.SeverityLow)})
		err := r.UnmarshalBinary(b)
		if !errors.Is(err, ErrCheckpoint) {
			t.Errorf("%s: UnmarshalBinary = %v, want ErrCheckpoint", name, err)
		}
		if open := r.Open(); len(open) != 1 || open[0].Term != "hashtag:keep" {
			t.Errorf("%s: a refused checkpoint changed the state: %+v", name, open)
		}
	}
}

func FuzzLifecycleUnmarshal(f *testing.F) {
	l := NewLifecycle(DefaultConfig().Lifecycle)
	l.Observe(obsAt("hashtag:x", 0), []Finding{finding(NameSurge, alert.SeverityLow), finding(NameNovelty, alert.SeverityHigh)})
	l.Observe(obsAt("hashtag:y", 0), []Finding{finding(NameWatchlist, alert.SeverityCritical)})
	l.EndBucket(at(0))
	l.EndBucket(at(20)) // everything resolves and cools
	l.Observe(obsAt("hashtag:z", 21), []Finding{finding(NameSurge, alert.SeverityMedium)})
	good, _ := l.MarshalBinary()
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("TWLC\x01"))
	f.Add([]byte{})
	f.Add(good[5 : len(good)-4]) // a body, which sealed() below turns back into a checkpoint
	f.Fuzz(func(t *testing.T, b []byte) {
		checkCheckpoint(t, b)
		// The checksum turns almost every mutation away at the door; sealing the
		// input as a body with a valid header and checksum fuzzes the decoder.
		sealed := append([]byte(envelope.Magic+"\x01"), b...)
		checkCheckpoint(t, envelope.Seal(sealed, 0))
	})
}

func checkCheckpoint(t *testing.T, b []byte) {
	r := NewLifecycle(DefaultConfig().Lifecycle)
	if err := r.UnmarshalBinary(b); err != nil {
		if !errors.Is(err, ErrCheckpoint) {
			t.Fatalf("error %v does not wrap ErrCheckpoint", err)
		}
		return
	}
	{
		// Whatever it accepted must be state it can work with and encode again.
		again, err := r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		s := NewLifecycle(DefaultConfig().Lifecycle)
		if err := s.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoded checkpoint refused: %v", err)
		}
		if !reflect.DeepEqual(r.Open(), s.Open()) {
			t.Fatal("round trip changed the alerts")
		}
		r.Observe(obsAt("hashtag:x", 1000), []Finding{finding(NameSurge, alert.SeverityHigh)})
		r.EndBucket(at(2000))
	}
}

// TestLifecycleNewEpisode: after an alert resolved, a finding inside the
// cooldown pages again only when the term came back to its normal level (the
// expected count of the alert's latest finding, within a Poisson spread) in
// between: a new episode, not a repeat of the running one. A cooldown restored
// from a version-1 checkpoint, which does not know the level, holds as before.
func TestLifecycleNewEpisode(t *testing.T) {
	cfg := LifecycleConfig{QuietBuckets: 3, CooldownBuckets: 30, EscalateSteps: 1, EscalateMinSeverity: "high", MaxSamples: 5, MaxRegions: 3}
	f := []Finding{finding(NameSurge, alert.SeverityMedium)} // expected 10
	for _, tc := range []struct {
		name    string
		between float64 // mentions of every bucket between the episodes
		pages   bool
	}{
		{"calmed down in between", 12, true}, // 10 + √10 = 13.2
		{"stayed high in between", 40, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLifecycle(cfg)
			var hist []float64
			var events []alert.Event
			for i := range 20 {
				o := obsAt("hashtag:x", i)
				o.MentionHistory = slices.Clone(hist)
				var fs []Finding
				if i < 2 || i >= 12 { // two episodes, ten buckets apart
					fs = f
				}
				events = append(events, l.Observe(o, fs)...)
				events = append(events, l.EndBucket(at(i))...)
				x := tc.between
				if fs != nil {
					x = 100
				}
				hist = append(hist, x)
			}
			opens := 0
			for _, e := range events {
				if e.To == alert.StatusOpen {
					opens++
				}
			}
			if want := map[bool]int{true: 2, false: 1}[tc.pages]; opens != want {
				t.Errorf("%d opens, want %d: %v", opens, want, transitions(events))
			}
		})
	}
}
