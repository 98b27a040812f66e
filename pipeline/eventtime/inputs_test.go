package eventtime

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/ingest"
)

// ends answers with fixed high-water marks, or err.
type ends struct {
	hwm   map[ingest.Partition]int64
	err   error
	asked [][]ingest.Partition
}

func (e *ends) HighWaterMarks(_ context.Context, parts []ingest.Partition) (map[ingest.Partition]int64, error) {
	e.asked = append(e.asked, slices.Clone(parts))
	if e.err != nil {
		return nil, e.err
	}
	out := map[ingest.Partition]int64{}
	for _, p := range parts {
		if v, ok := e.hwm[p]; ok {
			out[p] = v
		}
	}
	return out, nil
}

var (
	p0 = ingest.Partition{Topic: "content-events", Partition: 0}
	p1 = ingest.Partition{Topic: "content-events", Partition: 1}
	r0 = ingest.Partition{Topic: "report-events", Partition: 0}
)

// TestWatermark: the least event time of the partitions that are not idle,
// case by case of how a partition stands.
func TestWatermark(t *testing.T) {
	const idle = 5 * time.Second
	wall := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	type read struct {
		p   ingest.Partition
		ago time.Duration // wall clock before now
		ts  time.Duration // event time after ev
		lag int64
	}
	for _, tt := range []struct {
		name    string
		expect  []ingest.Partition // assigned idle+1 s before now
		restore []ingest.Offset
		reads   []read
		ends    map[ingest.Partition]int64 // nil: the input cannot tell
		want    time.Duration              // after ev; -1: zero (nothing may close)
	}{
		{name: "nothing read", want: -1},
		{name: "one partition", reads: []read{{p0, 0, 10 * time.Second, 0}}, want: 10 * time.Second},
		{name: "the slowest of two", reads: []read{{p0, 0, 10 * time.Second, 0}, {p1, 0, 4 * time.Second, 0}}, want: 4 * time.Second},
		{name: "assigned, not delivered yet", expect: []ingest.Partition{r0}, reads: []read{{p0, 0, 10 * time.Second, 0}}, want: 10 * time.Second},
		{name: "silent and caught up, without ends", reads: []read{{p0, 0, 10 * time.Second, 0}, {p1, idle + time.Second, time.Second, 0}}, want: 10 * time.Second},
		{name: "silent and behind, without ends", reads: []read{{p0, 0, 10 * time.Second, 0}, {p1, idle + time.Second, time.Second, 3}}, want: time.Second},
		{name: "silent, ends say caught up", reads: []read{{p0, 0, 10 * time.Second, 0}, {p1, idle + time.Second, time.Second, 3}},
			ends: map[ingest.Partition]int64{p1: 2}, want: 10 * time.Second},
		{name: "silent, ends say unread records", reads: []read{{p0, 0, 10 * time.Second, 0}, {p1, idle + time.Second, time.Second, 0}},
			ends: map[ingest.Partition]int64{p1: 5}, want: time.Second},
		{name: "restored, not delivered, ends unknown", restore: []ingest.Offset{{Topic: p1.Topic, Partition: p1.Partition, Offset: 9}},
			expect: []ingest.Partition{p1}, reads: []read{{p0, 0, 10 * time.Second, 0}}, ends: map[ingest.Partition]int64{}, want: -1},
		{name: "restored, not delivered, ends say caught up", restore: []ingest.Offset{{Topic: p1.Topic, Partition: p1.Partition, Offset: 9}},
			expect: []ingest.Partition{p1}, reads: []read{{p0, 0, 10 * time.Second, 0}}, ends: map[ingest.Partition]int64{p1: 10}, want: 10 * time.Second},
		{name: "restored, not delivered, ends say behind", restore: []ingest.Offset{{Topic: p1.Topic, Partition: p1.Partition, Offset: 9}},
			expect: []ingest.Partition{p1}, reads: []read{{p0, 0, 10 * time.Second, 0}}, ends: map[ingest.Partition]int64{p1: 12}, want: -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now := wall.Add(time.Minute)
			in := NewInputs(idle, nil)
			in.Restore(tt.restore, now.Add(-idle-time.Second))
			in.Expect(tt.expect, now.Add(-idle-time.Second))
			for i, r := range tt.reads {
				in.Count(r.p, int64(i))
				in.Read(r.p, ev.Add(r.ts), r.lag, now.Add(-r.ago))
			}
			if tt.ends != nil {
				in.SetEnds(&ends{hwm: tt.ends})
				in.Ask(context.Background(), now)
				in.Await()
			}
			got := in.Watermark(now)
			switch {
			case tt.want < 0 && !got.IsZero():
				t.Errorf("watermark %s, want none", got)
			case tt.want >= 0 && !got.Equal(ev.Add(tt.want)):
				t.Errorf("watermark %s, want %s", got, ev.Add(tt.want))
			}
		})
	}
}

// TestInputsWaitForNewAssignment: a partition assigned just now that has
// not delivered holds event time back until it speaks or idles.
func TestInputsWaitForNewAssignment(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	in := NewInputs(5*time.Second, nil)
	in.Read(p0, ev, 0, now)
	in.Expect([]ingest.Partition{r0}, now)
	if wm := in.Watermark(now.Add(time.Second)); !wm.IsZero() {
		t.Errorf("watermark %s while the new partition may still deliver", wm)
	}
	if wm := in.Watermark(now.Add(6 * time.Second)); !wm.Equal(ev) {
		t.Errorf("watermark %s once it idled, want %s", wm, ev)
	}
}

// TestInputsAhead: with SetAhead a stamp past the clock moves its partition
// on only to the clock plus the bound; without it, to the stamp.
func TestInputsAhead(t *testing.T) {
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name  string
		ahead time.Duration
		stamp time.Time
		want  time.Time
	}{
		{"no bound", 0, now.Add(30 * time.Minute), now.Add(30 * time.Minute)},
		{"within the bound", 10 * time.Second, now.Add(5 * time.Second), now.Add(5 * time.Second)},
		{"past the bound", 10 * time.Second, now.Add(30 * time.Minute), now.Add(10 * time.Second)},
		{"behind the clock", 10 * time.Second, now.Add(-time.Minute), now.Add(-time.Minute)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := NewInputs(5*time.Second, nil)
			in.SetAhead(tt.ahead)
			in.Read(p0, now.Add(-2*time.Minute), 0, now)
			in.Read(p1, tt.stamp, 0, now)
			in.Read(p0, tt.stamp, 0, now)
			if wm := in.Watermark(now); !wm.Equal(tt.want) {
				t.Errorf("watermark %s, want %s", wm, tt.want)
			}
		})
	}
}

// TestInputsDelivered: every partition expected has delivered only once
// each has read a record; without partitions expected it is never known.
func TestInputsDelivered(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name   string
		expect []ingest.Partition
		read   []ingest.Partition
		want   bool
	}{
		{"nothing expected, nothing read", nil, nil, false},
		{"nothing expected: whoever comes first is not all", nil, []ingest.Partition{p0, p1}, false},
		{"one of two delivered", []ingest.Partition{p0, p1}, []ingest.Partition{p0, p0}, false},
		{"both delivered", []ingest.Partition{p0, p1}, []ingest.Partition{p0, p1}, true},
		{"a partition not expected delivers too", []ingest.Partition{p0}, []ingest.Partition{p1, p0}, true},
		{"nothing read yet", []ingest.Partition{p0, p1}, nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := NewInputs(5*time.Second, nil)
			in.Expect(tt.expect, now)
			for i, p := range tt.read {
				in.Read(p, ev.Add(time.Duration(i)*time.Second), 0, now)
			}
			if got := in.Delivered(); got != tt.want {
				t.Errorf("Delivered = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestInputsCount: an offset at or below one counted is a replay, and a
// checkpoint's offsets count as read.
func TestInputsCount(t *testing.T) {
	in := NewInputs(time.Second, nil)
	for _, tt := range []struct {
		p    ingest.Partition
		off  int64
		want bool
	}{{p0, 0, true}, {p0, 1, true}, {p0, 1, false}, {p0, 0, false}, {p1, 0, true}, {p0, 5, true}, {p0, 4, false}} {
		if got := in.Count(tt.p, tt.off); got != tt.want {
			t.Errorf("Count(%v, %d) = %v, want %v", tt.p, tt.off, got, tt.want)
		}
	}
	want := []ingest.Offset{{Topic: p0.Topic, Partition: 0, Offset: 5}, {Topic: p1.Topic, Partition: 1, Offset: 0}}
	if got := in.Offsets(); !slices.Equal(got, want) {
		t.Errorf("offsets %v, want %v", got, want)
	}
	restored := NewInputs(time.Second, nil)
	restored.Restore(want, time.Now())
	if restored.Count(p0, 5) || !restored.Count(p0, 6) {
		t.Error("a restored offset does not skip what it counted")
	}
}

// TestInputsEnds: the high-water marks are asked only for partitions silent
// for the idle time, at most once per endsEvery; an answer older than a
// partition's last record is ignored; Unread sees a log that reaches past
// what was read; a failed ask changes nothing.
func TestInputsEnds(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	e := &ends{hwm: map[ingest.Partition]int64{p0: 3, p1: 8}}
	in := NewInputs(5*time.Second, nil)
	in.SetEnds(e)
	for i := range 3 {
		in.Count(p0, int64(i))
		in.Read(p0, ev, 0, now)
	}
	in.Count(p1, 7)
	in.Read(p1, ev, 0, now.Add(10*time.Second))
	in.Ask(ctx, now.Add(10*time.Second))
	in.Await()
	if len(e.asked) != 1 || !slices.Equal(e.asked[0], []ingest.Partition{p0}) {
		t.Fatalf("asked %v, want once for %v, the silent one", e.asked, p0)
	}
	if in.Unread() {
		t.Error("unread with every partition read to its end")
	}
	in.Ask(ctx, now.Add(10*time.Second+endsEvery/2))
	in.Await()
	if len(e.asked) != 1 {
		t.Errorf("asked again within endsEvery: %v", e.asked)
	}
	e.hwm[p0] = 6
	in.Ask(ctx, now.Add(11*time.Second))
	in.Await()
	if !in.Unread() {
		t.Error("not unread with records of p0 past what was read")
	}
	// p0 delivers after a round was asked for: its answer says nothing of
	// what came after.
	e.hwm[p0] = 99
	in.Ask(ctx, now.Add(12*time.Second))
	in.Count(p0, 5)
	in.Read(p0, ev, 0, now.Add(13*time.Second))
	in.Await()
	if in.Unread() {
		t.Error("an answer older than p0's last record was taken")
	}
	// Brokers away: what they hold is not known, so it may hold records
	// not read (a backlog being replayed, say), and silence is not idleness.
	e.err = errors.New("broker away")
	in.Ask(ctx, now.Add(20*time.Second))
	in.Await()
	if !in.Unread() {
		t.Error("not unread while the high-water marks cannot be read")
	}
	e.err, e.hwm[p0] = nil, 6
	in.Ask(ctx, now.Add(30*time.Second))
	in.Await()
	if in.Unread() {
		t.Error("still unread once the high-water marks show every partition read to its end")
	}
}

// TestInputsUnreadBeforeFirstReading: an input that can read its high-water
// marks is not known to be read to its end before its first reading; one
// that cannot read them (no Ends) is judged on its records alone.
func TestInputsUnreadBeforeFirstReading(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name string
		ends Ends
		want bool
	}{
		{"no ends", nil, false},
		{"ends not read yet", &ends{hwm: map[ingest.Partition]int64{p0: 1}}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := NewInputs(5*time.Second, nil)
			if tt.ends != nil {
				in.SetEnds(tt.ends)
			}
			in.Count(p0, 0)
			in.Read(p0, ev, 0, now)
			if got := in.Unread(); got != tt.want {
				t.Errorf("Unread = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestInputsLagSlowestForgive: Lag sums what the partitions that delivered
// said; Slowest names the one furthest behind; Forgive moves silence on, no
// later than now.
func TestInputsLagSlowestForgive(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	in := NewInputs(5*time.Second, nil)
	if in.Lag() != -1 || in.Slowest(now) != "" {
		t.Errorf("with no partition: lag %d, slowest %q", in.Lag(), in.Slowest(now))
	}
	in.Expect([]ingest.Partition{r0}, now)
	in.Read(p0, ev.Add(time.Minute), 4, now)
	in.Read(p1, ev, 2, now.Add(-20*time.Second))
	if got := in.Lag(); got != 6 {
		t.Errorf("lag %d, want 6 (r0 not delivered)", got)
	}
	if got := in.Slowest(now); !strings.HasPrefix(got, "report-events/0") {
		t.Errorf("slowest %q, want r0, which has read nothing", got)
	}
	// p1, behind, holds event time however long it is silent.
	if wm := in.Watermark(now.Add(6 * time.Second)); !wm.Equal(ev) {
		t.Fatalf("watermark %s, want p1's %s", wm, ev)
	}
	in.Forgive(15*time.Second, now)
	if got := in.Slowest(now); !strings.Contains(got, "silent 0s") {
		t.Errorf("after Forgive, slowest %q: r0's silence is not past now", got)
	}
}
