package sketches_test

import (
	"fmt"
	"time"

	"github.com/trendwatch/trendwatch/sketches"
)

// A pipeline hashes each term once, counts it into the window, and at every
// bucket close reads the heavy hitters and the history of the terms it tracks.
func ExampleWindow() {
	w, err := sketches.NewWindow(sketches.DefaultWindowConfig())
	if err != nil {
		panic(err)
	}
	start := time.Date(2024, 5, 1, 18, 0, 0, 0, time.UTC)
	for m := range 5 {
		ts := start.Add(time.Duration(m) * time.Minute)
		// The watermark follows event time; buckets close 2 minutes (the allowed
		// lateness) after they end. A real pipeline reads each closed bucket here.
		w.Advance(ts)
		for _, key := range []string{"hashtag:fyp", "hashtag:fyp", "sound:42"} {
			if err := w.Mention(ts, key, sketches.Hash(key), 1); err != nil {
				panic(err)
			}
		}
		// A term nobody tracks yet surges in the last minute.
		if m == 4 {
			key := "hashtag:blackoutchallenge"
			_ = w.Mention(ts, key, sketches.Hash(key), 40)
		}
		_ = w.Event(ts)
	}
	// The watermark passes 18:05 + the allowed lateness: all five buckets close.
	closed := w.Advance(start.Add(7 * time.Minute))
	last := closed[len(closed)-1]
	top := last.Top.Top()
	fmt.Println(last.Start.Format("15:04"), top[0].Key, top[0].Count)
	// Its history comes from the count-min sketches of buckets nobody looked at.
	mentions, _ := w.Series(sketches.Hash(top[0].Key), last.End, 5)
	fmt.Println(mentions)
	// Output:
	// 18:04 hashtag:blackoutchallenge 40
	// [0 0 0 0 40]
}

func ExampleCountMin() {
	c, err := sketches.NewCountMinForError(0.001, 0.01) // estimate ≤ true + 0.1 % of N, 99 % of the time
	if err != nil {
		panic(err)
	}
	h := sketches.Hash("hashtag:fyp")
	c.Add(h, 3)
	c.Add(h, 2)
	fmt.Println(c.Width(), c.Depth(), c.Estimate(h), c.Total())
	// Output: 4096 5 5 5
}
