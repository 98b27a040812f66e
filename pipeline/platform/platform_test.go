package platform

import (
	"math"
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
// mentions out of the platform's mentions, and only the close states unique
// creators, after which the bucket's counts are gone.
func TestNorm(t *testing.T) {
	for _, tt := range []struct {
		name                                  string
		events, reports, mentions, familyMent int
		creators                              int
		wantMentions, wantRate                float64
	}{
		{"no families", 40, 4, 60, 0, 30, 60, 0.1},
		{"families left out", 40, 0, 60, 25, 30, 35, 0},
		{"no posts counted", 0, 0, 3, 0, 0, 3, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := New()
			b := bucket(t, tt.events, tt.reports, tt.mentions)
			for i := range tt.creators {
				p.Creators(t0).InsertHash(sketches.Hash(string(rune('a' + i))))
			}
			for range tt.familyMent {
				p.FamilyMention(t0)
			}
			open := p.Open(b)
			if open.Mentions != tt.wantMentions || open.ReportRate != tt.wantRate || open.Events != float64(tt.events) || open.Reports != float64(tt.reports) {
				t.Errorf("open: %+v, want %v mentions, report rate %v", open, tt.wantMentions, tt.wantRate)
			}
			if open.UniqueCreators != 0 {
				t.Errorf("open: %d unique creators, want none stated", open.UniqueCreators)
			}
			closed := p.Close(b)
			if closed.Mentions != tt.wantMentions || closed.ReportRate != tt.wantRate {
				t.Errorf("close: %+v, want %v mentions, report rate %v", closed, tt.wantMentions, tt.wantRate)
			}
			if got := float64(closed.UniqueCreators); math.Abs(got-float64(tt.creators)) > 0.05*float64(tt.creators) {
				t.Errorf("close: %v unique creators, want about %d", got, tt.creators)
			}
			if c, f := p.Buckets(); c != 0 || f != 0 {
				t.Errorf("after the close: %d creator and %d family buckets, want none", c, f)
			}
			// The bucket kept at hand is gone with it: counting at the
			// same start again begins from nothing.
			p.FamilyMention(t0)
			p.Creators(t0).InsertHash(1)
			again := p.Close(b)
			if again.Mentions != float64(tt.mentions-1) || again.UniqueCreators != 1 {
				t.Errorf("counted again after the close: %+v, want %d mentions, 1 creator", again, tt.mentions-1)
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
		p.Creators(start).InsertHash(uint64(i) * 0x9e3779b97f4a7c15)
		p.FamilyMention(start)
	}
	got := map[time.Time][2]uint64{}
	if err := p.EachCreators(func(start time.Time, h *sketches.HLL) error {
		v := got[start]
		v[0] = h.Estimate()
		got[start] = v
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	p.EachFamilyMentions(func(start time.Time, n uint64) {
		v := got[start]
		v[1] = n
		got[start] = v
	})
	want := map[time.Time][2]uint64{t0: {20, 20}, t1: {10, 10}}
	for start, w := range want {
		if got[start] != w {
			t.Errorf("bucket %s: %v creators and family mentions, want %v", start.Format("15:04"), got[start], w)
		}
	}
}

// TestRestore: what EachCreators and EachFamilyMentions give, oldest first,
// restores to the same counts; a creators encoding that is not one is
// refused with its bucket.
func TestRestore(t *testing.T) {
	p := New()
	starts := []time.Time{t0.Add(2 * time.Minute), t0, t0.Add(time.Minute)}
	for i, start := range starts {
		for j := range 10 * (i + 1) {
			p.Creators(start).InsertHash(uint64(i*1000+j) * 0x9e3779b97f4a7c15)
			p.FamilyMention(start)
		}
	}
	q := New()
	var order []time.Time
	if err := p.EachCreators(func(start time.Time, h *sketches.HLL) error {
		order = append(order, start)
		enc, err := h.MarshalBinary()
		if err != nil {
			return err
		}
		return q.RestoreCreators(start, enc)
	}); err != nil {
		t.Fatal(err)
	}
	p.EachFamilyMentions(q.RestoreFamilyMentions)
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
	if err := q.RestoreCreators(t0, []byte{1, 2, 3}); err == nil {
		t.Error("a creators encoding of three bytes restored")
	}
}
