package pipeline

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

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
