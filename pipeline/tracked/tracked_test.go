package tracked

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/sketches"
)

func TestSeries(t *testing.T) {
	tests := []struct {
		size int
		push []float64
		want []float64
	}{
		{3, nil, nil},
		{3, []float64{1, 2}, []float64{1, 2}},
		{3, []float64{1, 2, 3}, []float64{1, 2, 3}},
		{3, []float64{1, 2, 3, 4, 5}, []float64{3, 4, 5}},
	}
	for _, tt := range tests {
		s := newSeries(tt.size)
		for _, v := range tt.push {
			s.Push(v)
		}
		if got := s.AppendTo(nil); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("size %d push %v: got %v, want %v", tt.size, tt.push, got, tt.want)
		}
	}
	// Long runs, through many moves back to the front.
	for _, size := range []int{2, 5, 120} {
		s := newSeries(size)
		var all []float64
		for i := range 10 * size {
			s.Push(float64(i))
			all = append(all, float64(i))
			want := all[max(0, len(all)-size):]
			if got := s.View(); !reflect.DeepEqual(got, want) {
				t.Fatalf("size %d after %d pushes: got %v, want %v", size, i+1, got, want)
			}
		}
	}
}

func TestLabelsTop(t *testing.T) {
	var l Labels
	for _, s := range []string{"NP", "IN", "NP", "US", "IN", "NP", ""} {
		l.Add(s)
	}
	// As a bucket close makes a row's label list: the top labels in the
	// scratch, their names in the slab.
	var scratch CountScratch
	var slab StringSlab
	got := slab.Names(scratch.Top(l, 2))
	if !reflect.DeepEqual(got, []string{"NP", "IN"}) {
		t.Errorf("top 2: %v", got)
	}
	if got := l.Top(5); len(got) != 3 || got[2].Label != "US" {
		t.Errorf("top 5 of 3 labels: %v", got)
	}
	if got := slab.Names(scratch.Top(nil, 2)); got == nil || len(got) != 0 {
		t.Errorf("no labels: %#v, want an empty list", got)
	}
}

// TestLabelsAppendTop: the n labels kept are those a full sort puts first,
// in its order, ties by name, after whatever dst held already.
func TestLabelsAppendTop(t *testing.T) {
	tests := []struct {
		name   string
		counts []int // N of labels L00, L01, …, in the order added
		n      int
	}{
		{"none", nil, 3},
		{"fewer than n", []int{2, 5}, 3},
		{"n of many", []int{1, 7, 3, 7, 2, 9, 1, 4}, 3},
		{"ties by name", []int{4, 4, 4, 4, 4}, 2},
		{"ascending", []int{1, 2, 3, 4, 5, 6}, 4},
		{"descending", []int{6, 5, 4, 3, 2, 1}, 4},
		{"n of 1", []int{3, 8, 8, 1}, 1},
		{"n 0", []int{3, 1}, 0},
		{"all of maxLabels", slices.Repeat([]int{2, 9, 5, 5}, maxLabels/4), maxLabels},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l Labels
			for i, c := range tt.counts {
				l = append(l, detectors.Count{Label: fmt.Sprintf("L%02d", i), N: uint64(c)})
			}
			want := slices.Clone(l)
			slices.SortFunc(want, compareCounts)
			want = want[:min(tt.n, len(want))]
			held := []detectors.Count{{Label: "held", N: 1}}
			got := l.AppendTop(slices.Clone(held), tt.n)
			if !slices.Equal(got[:1], held) {
				t.Fatalf("dst's own entry changed: %v", got[:1])
			}
			if !slices.Equal(got[1:], want) {
				t.Errorf("top %d of %v: %v, want %v", tt.n, tt.counts, got[1:], want)
			}
		})
	}
}

// TestLabelsPastTheCap: a label that comes after maxLabels others have and
// then leads (a region whose surge begins late in the bucket) is listed, and
// first.
func TestLabelsPastTheCap(t *testing.T) {
	var l Labels
	for i := range 40 {
		l.Add(fmt.Sprintf("R%02d", i))
	}
	for range 20 {
		l.Add("NP")
	}
	if len(l) != maxLabels {
		t.Fatalf("%d labels, want the cap %d", len(l), maxLabels)
	}
	top := l.Top(1)
	if top[0].Label != "NP" || top[0].N < 20 || top[0].N > 22 {
		t.Errorf("top label %+v, want NP with 20 (at most the count it replaced over)", top[0])
	}
}

// TestTermBucketReset checks that a recycled term bucket counts from
// nothing, as a new one does, whatever it held.
func TestTermBucketReset(t *testing.T) {
	for _, n := range []int{1, 3, 300} {
		tb := newBucket()
		for i := range n {
			tb.Mentions++
			tb.Reports++
			tb.ByChannel[i%len(tb.ByChannel)]++
			tb.Creators.Insert(uint64(i))
			tb.Reporters.Insert(uint64(i))
			tb.Regions.Add(fmt.Sprint("r", i))
			tb.Langs.Add(fmt.Sprint("l", i))
			tb.Reasons.Add(fmt.Sprint("x", i))
			tb.Members.Add(fmt.Sprint("m", i))
			if len(tb.Samples) < 5 {
				tb.Samples = append(tb.Samples, fmt.Sprint("s", i))
			}
		}
		tb.Early.Looked, tb.Early.Mark = true, 7
		tb.reset()
		if tb.Mentions != 0 || tb.Reports != 0 || tb.ByChannel != ([event.NumChannels]uint64{}) || tb.Early != newBucket().Early {
			t.Errorf("%d: counts left after reset: %+v", n, tb)
		}
		if tb.Creators.Estimate() != 0 || tb.Reporters.Estimate() != 0 || tb.Creators.hll != nil || tb.Reporters.hll != nil {
			t.Errorf("%d: distinct counts left after reset", n)
		}
		if len(tb.Regions)+len(tb.Langs)+len(tb.Reasons)+len(tb.Members)+len(tb.Samples) != 0 {
			t.Errorf("%d: labels or samples left after reset", n)
		}
		// Lists that did not outgrow their inline arrays are back in them.
		if n <= 2 && (&tb.Regions[:1][0] != &tb.inline.regions[0] || &tb.Creators.small[:1][0] != &tb.inline.creators[0]) {
			t.Errorf("%d: small lists not in the bucket's inline arrays", n)
		}
		tb.Regions.Add("IN")
		tb.Creators.Insert(42)
		if got := tb.Regions.Top(5); len(got) != 1 || got[0] != (detectors.Count{Label: "IN", N: 1}) || tb.Creators.Estimate() != 1 {
			t.Errorf("%d: after reset, regions %v, creators %d", n, got, tb.Creators.Estimate())
		}
	}
}

// TestTermBuckets: a term's open bucket is the same one for every mention of
// its start; closing it takes it off the term, and the pool hands it out again
// empty, never while the term still caches it.
func TestTermBuckets(t *testing.T) {
	start := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	next := start.Add(time.Minute)
	var p Pool
	st := NewTerm("hashtag:x", event.KindHashtag, 1, 3)
	a := st.Bucket(start, &p)
	a.Mentions = 7
	a.Regions.Add("NP")
	if st.Bucket(start, &p) != a {
		t.Fatal("a second mention of the same bucket got another one")
	}
	b := st.Bucket(next, &p)
	if b == a || st.Bucket(start, &p) != a || st.OpenBuckets() != 2 {
		t.Fatalf("two open buckets: %d held", st.OpenBuckets())
	}
	// At finds either without making one, the one kept at hand or not.
	if st.At(start) != a || st.At(next) != b || st.At(next.Add(time.Minute)) != nil || st.OpenBuckets() != 2 {
		t.Fatalf("At: %p %p %p, want %p %p nil", st.At(start), st.At(next), st.At(next.Add(time.Minute)), a, b)
	}
	if got := st.Starts(nil); len(got) != 2 || !got[0].Equal(start) || !got[1].Equal(next) {
		t.Fatalf("starts %v, want %v and %v", got, start, next)
	}
	st.Close(start, &p)
	st.Close(start, &p) // closed already: nothing to do
	if st.At(start) != nil || st.OpenBuckets() != 1 {
		t.Fatalf("closed bucket still open: %d held", st.OpenBuckets())
	}
	if len(p.spare) != 1 || p.spare[0] != a {
		t.Fatalf("pool holds %d, want the closed bucket", len(p.spare))
	}
	// The closed bucket, reused for the next term, is empty.
	other := NewTerm("hashtag:y", event.KindHashtag, 2, 3)
	c := other.Bucket(next, &p)
	if c != a || c.Mentions != 0 || len(c.Regions) != 0 {
		t.Errorf("reused bucket: %+v, want a's memory, empty", c)
	}
	// The term does not hand out the bucket it closed, which is another's now.
	st.Close(next, &p)
	if d := st.Bucket(next, &p); d == c {
		t.Error("a closed bucket, now another term's, was handed out again")
	}
	// A restored bucket replaces the one at its start, the one at hand too.
	r := newBucket()
	st.Restore(next, r)
	if st.At(next) != r || st.Bucket(next, &p) != r {
		t.Error("the restored bucket is not the term's")
	}
}

// TestTermHistory: the history keeps the last history buckets, and the
// recent level is the median of the last five.
func TestTermHistory(t *testing.T) {
	tests := []struct {
		push []float64
		want float64
	}{
		{nil, 0},
		{[]float64{4}, 4},
		{[]float64{1, 9}, 9},
		{[]float64{5, 1, 100, 3, 2}, 3},
		{[]float64{1000, 1000, 1, 2, 3, 4, 5}, 3},
	}
	for _, tt := range tests {
		st := NewTerm("sound:s", event.KindSound, 3, 6)
		for _, v := range tt.push {
			st.PushHistory(v, v/10, 0)
		}
		if got := st.RecentLevel(); got != tt.want {
			t.Errorf("%v: recent level %v, want %v", tt.push, got, tt.want)
		}
		if n := len(st.Mentions.View()); n != min(len(tt.push), 6) || len(st.Reports.View()) != n || len(st.Creators.View()) != n {
			t.Errorf("%v: histories of %d, %d, %d buckets", tt.push, n, len(st.Reports.View()), len(st.Creators.View()))
		}
	}
}

// TestDistinct: exact while few, an estimate past SmallSet, and the same
// after a checkpoint's round trip.
func TestDistinct(t *testing.T) {
	for _, n := range []int{0, 1, SmallSet, SmallSet + 1, 5000} {
		var d Distinct
		for i := range n {
			h := sketches.Hash(fmt.Sprint("creator", i)) // as the decoders hash IDs
			d.Insert(h)
			d.Insert(h) // a repeat counts once
		}
		got := float64(d.Estimate())
		if n <= SmallSet && got != float64(n) {
			t.Errorf("%d: estimate %v, want exactly %d", n, got, n)
		}
		if n > SmallSet && (got < 0.95*float64(n) || got > 1.05*float64(n)) {
			t.Errorf("%d: estimate %v, more than 5 %% off", n, got)
		}
		small, hll := d.State()
		snap := DistinctSnap{Small: small}
		if hll != nil {
			b, err := hll.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			snap = DistinctSnap{HLL: b}
		}
		r, err := snap.Restore()
		if err != nil {
			t.Fatalf("%d: restore: %v", n, err)
		}
		if r.Estimate() != d.Estimate() {
			t.Errorf("%d: restored estimate %d, want %d", n, r.Estimate(), d.Estimate())
		}
	}
}

// TestLabelsCopy: a label added with AddCopy is kept as a copy, not as a
// slice of the string it came in (a post's decoded block, which holds its
// IDs and hashtags), new or taking a place past the cap.
func TestLabelsCopy(t *testing.T) {
	var l Labels
	block := strings.Repeat("x", 1<<10) + "NP" + "IN"
	np, in := block[1<<10:1<<10+2], block[1<<10+2:]
	l.AddCopy(np)
	l.AddCopy(np) // counted twice: no later label takes its place
	for i := range maxLabels {
		l.AddCopy(fmt.Sprint("r", i))
	}
	l.AddCopy(in) // past the cap: takes the least counted's place
	seen := 0
	for _, c := range l {
		if c.Label == np || c.Label == in {
			seen++
			if p := unsafe.StringData(c.Label); p == unsafe.StringData(np) || p == unsafe.StringData(in) {
				t.Errorf("label %q shares the string it came in", c.Label)
			}
		}
	}
	if seen != 2 {
		t.Fatalf("%d of the two labels kept: %v", seen, l)
	}
}
