package eventtime

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/ingest"
)

// TestWatermarkCache: the watermark kept between records is the one computed
// afresh, whatever the partitions do: two Inputs take the same random steps
// (records read, offsets counted, partitions expected, forgiven, told their
// high-water marks, restored; wall-clock time moving by less and more than
// the idle time), one with its cache dropped before every ask.
func TestWatermarkCache(t *testing.T) {
	const idle = 10 * time.Second
	for _, withEnds := range []bool{false, true} {
		for seed := range uint64(20) {
			t.Run(fmt.Sprintf("ends=%v/seed=%d", withEnds, seed), func(t *testing.T) {
				r := rand.New(rand.NewPCG(seed, 7))
				parts := make([]ingest.Partition, 2+r.IntN(6))
				for i := range parts {
					parts[i] = ingest.Partition{Topic: "content-events", Partition: i}
				}
				hwm := &ends{hwm: map[ingest.Partition]int64{}}
				cached, fresh := NewInputs(idle, nil), NewInputs(idle, nil)
				if withEnds {
					cached.SetEnds(hwm)
					fresh.SetEnds(hwm)
				}
				both := func(f func(in *Inputs)) { f(cached); f(fresh) }
				now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
				next := make([]int64, len(parts))
				event := make([]time.Time, len(parts))
				for i := range event {
					event[i] = now.Add(-time.Duration(r.IntN(60)) * time.Second)
				}
				for step := range 3000 {
					p := r.IntN(len(parts))
					switch k := r.IntN(100); {
					case k < 60: // a record
						event[p] = event[p].Add(time.Duration(r.IntN(3000)) * time.Millisecond)
						lag := int64(r.IntN(3)) - 1
						both(func(in *Inputs) {
							if in.Count(parts[p], next[p]) {
								in.Read(parts[p], event[p], lag, now)
							}
						})
						next[p]++
					case k < 65: // a replayed or skipped record: counted, not read
						both(func(in *Inputs) { in.Count(parts[p], next[p]) })
						next[p]++
					case k < 85: // time passes
						now = now.Add(time.Duration(r.IntN(int(3*idle/time.Millisecond))) * time.Millisecond)
					case k < 88:
						from := r.IntN(len(parts))
						both(func(in *Inputs) { in.Expect(parts[from:], now) })
					case k < 90:
						gap := time.Duration(r.IntN(20)) * time.Second
						both(func(in *Inputs) { in.Forgive(gap, now) })
					case k < 97 && withEnds: // the brokers' high-water marks
						for i := range parts {
							hwm.hwm[parts[i]] = next[i] + int64(r.IntN(2))
						}
						both(func(in *Inputs) {
							in.askedAt = time.Time{}
							in.Ask(context.Background(), now)
							in.Await()
						})
					case k < 98:
						offs := make([]ingest.Offset, 0, len(parts))
						for i := range parts {
							if r.IntN(2) == 0 {
								offs = append(offs, ingest.Offset{Topic: parts[i].Topic, Partition: parts[i].Partition, Offset: next[i] - 1})
							}
						}
						both(func(in *Inputs) { in.Restore(offs, now) })
					}
					fresh.wmc.ok = false
					got, want := cached.Watermark(now), fresh.Watermark(now)
					if !got.Equal(want) {
						for _, pt := range parts {
							if pr := cached.parts[pt]; pr != nil {
								t.Logf("%v: %+v, the slowest: %v", pt, *pr, pr == cached.wmc.slowest)
							}
						}
						t.Fatalf("step %d: watermark %s kept, %s computed afresh", step, got.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
					}
				}
			})
		}
	}
}

// BenchmarkWatermark is a record's cost to the input partitions' state: its
// offset counted, its event time read, the watermark asked for, with n
// partitions read in runs of 100 records.
func BenchmarkWatermark(b *testing.B) {
	for _, n := range []int{4, 32, 128} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			in := NewInputs(10*time.Second, nil)
			ps := make([]ingest.Partition, n)
			now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
			for i := range ps {
				ps[i] = ingest.Partition{Topic: "content-events", Partition: i}
				in.Read(ps[i], now, 0, now)
			}
			for i := 0; b.Loop(); i++ {
				p := ps[(i/100)%n]
				ts := now.Add(time.Duration(i) * time.Millisecond)
				in.Count(p, int64(i))
				in.Read(p, ts, 1, ts)
				_ = in.Watermark(ts)
			}
		})
	}
}
