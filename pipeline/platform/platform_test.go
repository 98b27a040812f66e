package platform

import (
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/sketches"
)

var t0 = time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)

// bucket is a window bucket at t0 with events posts, reports reports and
// mentions mentions of one term.
func bucket(t *testing.T, events, reports, mentions int) *sketches.Bucket {
	t.Helper()
	w, err := sketches.NewWindow(sketches.DefaultWindowConfig())
	if err != nil {
		t.Fatal(err)
	}
	for range events {
		if err := w.Event(t0); err != nil {
			t.Fatal(err)
		}
	}
	for range reports {
		if err := w.ReportEvent(t0); err != nil {
			t.Fatal(err)
		}
	}
	for range mentions {
		if err := w.Mention(t0, "hashtag:a", sketches.Hash("hashtag:a"), 1); err != nil {
			t.Fatal(err)
		}
	}
	b := w.Open(t0)
	if b == nil {
		t.Fatal("no open bucket at t0")
	}
	return b
}

// TestNorm: the norm of a bucket, open and closed, leaves the family
// mentions out of the platform's mentions, after which the bucket's counts
// are gone.
func TestNorm(t *testing.T) {
	for _, tt := range []struct {
		name                                  string
		events, reports, mentions, familyMent int
		wantMentions, wantRate                float64
	}{
		{"no families", 40, 4, 60, 0, 60, 0.1},
		{"families left out", 40, 0, 60, 25, 35, 0},
		{"no posts counted", 0, 0, 3, 0, 3, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := New()
			b := bucket(t, tt.events, tt.reports, tt.mentions)
			for range tt.familyMent {
				p.FamilyMention(t0)
			}
			open := p.Open(b)
			if open.Mentions != tt.wantMentions || open.ReportRate != tt.wantRate || open.Events != float64(tt.events) || open.Reports != float64(tt.reports) {
				t.Errorf("open: %+v, want %v mentions, report rate %v", open, tt.wantMentions, tt.wantRate)
			}
			closed := p.Close(b)
			if closed.Mentions != tt.wantMentions || closed.ReportRate != tt.wantRate {
				t.Errorf("close: %+v, want %v mentions, report rate %v", closed, tt.wantMentions, tt.wantRate)
			}
			if f := p.Buckets(); f != 0 {
				t.Errorf("after the close: %d family buckets, want none", f)
			}
			// The bucket kept at hand is gone with it: counting at the
			// same start again begins from nothing.
			p.FamilyMention(t0)
			again := p.Close(b)
			if again.Mentions != float64(tt.mentions-1) {
				t.Errorf("counted again after the close: %+v, want %d mentions", again, tt.mentions-1)
			}
		})
	}
}

// TestBucketsApart: each open bucket keeps its own counts, whichever was
// counted last.
func TestBucketsApart(t *testing.T) {
	p := New()
	t1 := t0.Add(time.Minute)
	for i := range 30 {
		start := t0
		if i%3 == 0 {
			start = t1
		}
		p.FamilyMention(start)
	}
	got := map[time.Time]uint64{}
	p.EachFamilyMentions(func(start time.Time, n uint64) { got[start] = n })
	want := map[time.Time]uint64{t0: 20, t1: 10}
	for start, w := range want {
		if got[start] != w {
			t.Errorf("bucket %s: %v family mentions, want %v", start.Format("15:04"), got[start], w)
		}
	}
}

// TestRestore: what EachFamilyMentions gives, oldest first, restores to the
// same counts.
func TestRestore(t *testing.T) {
	p := New()
	starts := []time.Time{t0.Add(2 * time.Minute), t0, t0.Add(time.Minute)}
	for i, start := range starts {
		for range 10 * (i + 1) {
			p.FamilyMention(start)
		}
	}
	q := New()
	var order []time.Time
	p.EachFamilyMentions(func(start time.Time, n uint64) {
		order = append(order, start)
		q.RestoreFamilyMentions(start, n)
	})
	for i := 1; i < len(order); i++ {
		if !order[i-1].Before(order[i]) {
			t.Fatalf("buckets in order %v, want oldest first", order)
		}
	}
	for _, start := range starts {
		b := bucket(t, 0, 0, 100)
		b.Start = start
		want, got := p.Close(b), q.Close(b)
		if got != want {
			t.Errorf("bucket %s restored: %+v, want %+v", start.Format("15:04"), got, want)
		}
	}
}
