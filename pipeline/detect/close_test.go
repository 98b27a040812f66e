package detect

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/pipeline/tracked"
	"github.com/trendwatch/trendwatch/sketches"
)

// TestCertain: the count a count-min vouches for is a whole number, never
// above the term's true count, and the next whole number above the estimate
// less ε·N (a count at least 5.9 is at least 6).
func TestCertain(t *testing.T) {
	for _, tc := range []struct {
		name         string
		width, terms int
	}{
		{"a wide sketch, few terms", 1 << 12, 50},
		{"a narrow sketch, many terms: collisions", 64, 2000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cm, err := sketches.NewCountMin(tc.width, 4)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			truth := map[uint64]uint32{}
			for i := range tc.terms {
				h := sketches.Hash("hashtag:t" + strconv.Itoa(i))
				n := uint32(1 + rng.IntN(40))
				cm.Add(h, n)
				truth[h] += n
			}
			for h, n := range truth {
				c := certain(cm, h)
				if c != math.Trunc(c) {
					t.Fatalf("certain %v: not a whole number", c)
				}
				if c > float64(n) {
					t.Errorf("certain %v above the true count %d", c, n)
				}
				if low := float64(cm.Estimate(h)) - cm.Epsilon()*float64(cm.Total()); !(c >= low && c < low+1) {
					t.Errorf("certain %v for estimate less ε·N %v: want the next whole number", c, low)
				}
			}
		})
	}
}

// TestJudgedIsCertain: a term tracked partway through a flooded bucket is
// judged on what is certain of its count there, early and at close alike:
// the larger of its count-min estimate less ε·N and its exact count since
// tracking began. Judged on the estimate, inflated by the flood, every
// ordinary term tracked in the flood's minute paged early and was retracted
// at close.
func TestJudgedIsCertain(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	w, err := sketches.NewWindow(sketches.DefaultWindowConfig())
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 600_000 { // a flood of one-off tags in the first half of a minute
		key := fmt.Sprintf("hashtag:fl%016x", r.Uint64())
		if err := w.Mention(start, key, sketches.Hash(key), 1); err != nil {
			t.Fatal(err)
		}
	}
	const key = "hashtag:ordinary"
	h := sketches.Hash(key)
	var pool tracked.Pool
	st := tracked.NewTerm(key, event.KindHashtag, h, 60)
	st.ExactFrom = start.Add(time.Minute) // tracked within the bucket
	tb := st.Bucket(start, &pool)
	for range 2 {
		if err := w.Mention(start.Add(40*time.Second), key, h, 1); err != nil {
			t.Fatal(err)
		}
		tb.Mentions++
	}
	wb := w.Open(start)
	var j Judge
	est := float64(wb.Mentions.Estimate(h))
	early, _ := j.counts(st, wb)
	closed, _ := j.judged(st, wb, tb)
	t.Logf("count-min estimate %v after 600,002 mentions (ε·N %.0f), judged %v", est, wb.Mentions.Epsilon()*float64(wb.Mentions.Total()), early)
	if est <= 2 {
		t.Fatalf("the estimate %v is not inflated: the test proves nothing", est)
	}
	if early != 2 || early != closed {
		t.Errorf("early judgement counts %v mentions, at close %v; want the 2 certain", early, closed)
	}
}

func TestPerBucket(t *testing.T) {
	for _, tt := range []struct {
		bucket time.Duration
		hour   float64
		want   float64
	}{
		{time.Minute, 120, 2},
		{10 * time.Second, 360, 1},
		{45 * time.Minute, 40, 30}, // the Duration quotient made it 40
		{2 * time.Hour, 40, 80},    // and +Inf here
		{time.Hour, 0, 0},
	} {
		if got := perBucket(tt.hour, tt.bucket); got != tt.want {
			t.Errorf("perBucket(%v, %v) = %v, want %v", tt.hour, tt.bucket, got, tt.want)
		}
	}
}
