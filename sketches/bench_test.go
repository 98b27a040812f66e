package sketches

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cpuClock reads process CPU time around a benchmark loop; start it right before
// the loop, whose first b.Loop call resets the wall clock.
type cpuClock time.Duration

func startCPU() cpuClock { return cpuClock(processCPU()) }

// report adds updates/s (wall clock, as asked of every hot path) and cpu-ns/op.
func (c cpuClock) report(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
	if used := processCPU() - time.Duration(c); used > 0 {
		b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func randomHashes(n int) []uint64 {
	r := rand.New(rand.NewPCG(1, 2))
	hs := make([]uint64, n)
	for i := range hs {
		hs[i] = r.Uint64()
	}
	return hs
}

// BenchmarkCountMinAdd: conservative update at 2^16 × 4 (1 MiB of counters) on
// uniformly random keys, the cache-unfriendliest case.
func BenchmarkCountMinAdd(b *testing.B) {
	c := mustCountMin(b, 1<<16, 4)
	hs := randomHashes(1 << 20)
	i := 0
	clk := startCPU()
	for b.Loop() {
		c.Add(hs[i&(1<<20-1)], 1)
		i++
	}
	clk.report(b)
}

func BenchmarkCountMinEstimate(b *testing.B) {
	c := mustCountMin(b, 1<<16, 4)
	hs := randomHashes(1 << 20)
	for _, h := range hs {
		c.Add(h, 1)
	}
	var sink uint32
	i := 0
	for b.Loop() {
		sink += c.Estimate(hs[i&(1<<20-1)])
		i++
	}
	_ = sink
}

// BenchmarkCountMinMerge merges the default window's mentions sketch (2^14 × 4),
// what a bucket leaving the fine ring costs.
func BenchmarkCountMinMerge(b *testing.B) {
	c, d := mustCountMin(b, 1<<14, 4), mustCountMin(b, 1<<14, 4)
	for _, h := range randomHashes(1 << 14) {
		d.Add(h, 3)
	}
	for b.Loop() {
		_ = c.Merge(d)
	}
}

func BenchmarkHLLInsert(b *testing.B) {
	h := mustHLL(b, DefaultHLLPrecision)
	hs := randomHashes(1 << 20)
	i := 0
	clk := startCPU()
	for b.Loop() {
		h.InsertHash(hs[i&(1<<20-1)])
		i++
	}
	clk.report(b)
}

func BenchmarkHLLEstimate(b *testing.B) {
	h := mustHLL(b, DefaultHLLPrecision)
	for _, x := range randomHashes(1 << 16) {
		h.InsertHash(x)
	}
	for b.Loop() {
		_ = h.Estimate()
	}
}

// benchItem is one update of a benchmark stream. Each item has its own copy of
// the key, allocated in stream order, as a decoded message's term would be: the
// key bytes are as warm as they are in the pipeline, where Hash has just read
// them, instead of a cache miss into a table of a million shared keys.
type benchItem struct {
	key string
	h   uint64
}

func newBenchStream(n int, s float64, seed uint64) []benchItem {
	st := newZipfStream(n, s, seed)
	items := make([]benchItem, n)
	for i, id := range st.items {
		items[i] = benchItem{key: strings.Clone(st.keys[id]), h: st.hashes[id]}
	}
	return items
}

// BenchmarkTopKAdd: the default k = 1000 on a Zipf (s = 1.1) stream of 2M items
// over ~400K distinct keys, where about a third of updates evict the smallest
// counter.
func BenchmarkTopKAdd(b *testing.B) {
	items := newBenchStream(1<<21, 1.1, 2)
	tk := mustTopK(b, DefaultWindowConfig().TopK)
	i := 0
	clk := startCPU()
	for b.Loop() {
		it := &items[i&(1<<21-1)]
		tk.Add(it.key, it.h, 1)
		i++
	}
	clk.report(b)
}

// exactVsSketch is the workload the exact baseline and the sketch run: a Zipf
// stream of updates over nKeys distinct term keys. Each update carries its own
// copy of its key, allocated in stream order, like a term just decoded from a
// message: the key is warm, and what differs is the memory each counter touches.
type exactVsSketch struct {
	stream []string
}

const exactStream = 1 << 22

func keyName(i int) string { return "hashtag:k" + strconv.Itoa(i) }

func newExactVsSketch(nKeys int) *exactVsSketch {
	w := &exactVsSketch{stream: make([]string, exactStream)}
	r := rand.New(rand.NewPCG(3, uint64(nKeys)))
	z := rand.NewZipf(r, 1.1, 1, uint64(nKeys-1))
	for i := range w.stream {
		// Scatter ranks (2654435761 is prime, so this permutes [0, nKeys)) so
		// that popular keys are not also neighbours in the map's memory.
		w.stream[i] = keyName(int((z.Uint64() * 2654435761) % uint64(nKeys)))
	}
	return w
}

var keyCounts = []int{1_000_000, 10_000_000}

// BenchmarkExactMap is the baseline: a map[string]uint64 holding every distinct
// key (its own copies of the strings, as a counter must), updated on the Zipf
// stream. bytes/key is the heap the full map keeps, measured.
func BenchmarkExactMap(b *testing.B) {
	for _, n := range keyCounts {
		b.Run(fmt.Sprintf("keys=%dM", n/1_000_000), func(b *testing.B) {
			w := newExactVsSketch(n)
			grown, v := heapGrowth(func() any {
				m := make(map[string]uint64)
				for i := range n {
					m[keyName(i)] = 1
				}
				return m
			})
			m := v.(map[string]uint64)
			i := 0
			clk := startCPU()
			for b.Loop() {
				m[w.stream[i&(exactStream-1)]]++
				i++
			}
			clk.report(b)
			b.ReportMetric(float64(grown)/float64(n), "bytes/key")
			runtime.KeepAlive(m)
		})
	}
}

// BenchmarkSketch does the same job with sketches, on the same stream: hash the
// key once and count it in a 2^16 × 4 count-min sketch ("cms"), and also in a
// top-1000 ("cms+topk"), which is what replaces the map's ability to list the
// big keys. Their memory does not grow with the number of keys.
func BenchmarkSketch(b *testing.B) {
	for _, n := range keyCounts {
		w := newExactVsSketch(n)
		for _, withTop := range []bool{false, true} {
			name := "cms"
			if withTop {
				name = "cms+topk"
			}
			b.Run(fmt.Sprintf("%s/keys=%dM", name, n/1_000_000), func(b *testing.B) {
				c := mustCountMin(b, 1<<16, 4)
				tk := mustTopK(b, 1000)
				i := 0
				clk := startCPU()
				for b.Loop() {
					key := w.stream[i&(exactStream-1)]
					h := Hash(key)
					c.Add(h, 1)
					if withTop {
						tk.Add(key, h, 1)
					}
					i++
				}
				clk.report(b)
				bytes := c.Bytes()
				if withTop {
					bytes += tk.Bytes()
				}
				b.ReportMetric(float64(bytes)/float64(n), "bytes/key")
			})
		}
	}
}

// BenchmarkWindowMention: the default window's per-mention path (count-min
// and top-K of the event's bucket) on a Zipf stream, advancing a
// minute every 10,000 mentions so buckets close, roll up and are reused as in
// production.
func BenchmarkWindowMention(b *testing.B) {
	items := newBenchStream(1<<21, 1.1, 4)
	w := mustWindow(b, DefaultWindowConfig())
	start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	minute, i := 0, 0
	clk := startCPU()
	for b.Loop() {
		if i%10_000 == 0 {
			minute++
			w.Advance(start.Add(time.Duration(minute)*time.Minute + 2*time.Minute))
		}
		ts := start.Add(time.Duration(minute)*time.Minute + time.Duration(i%60)*time.Second)
		it := &items[i&(1<<21-1)]
		_ = w.Mention(ts, it.key, it.h, 1)
		i++
	}
	clk.report(b)
}

// BenchmarkWindowAdvance: one minute's roll of the default window in steady state
// (rings full, 2000 mentions a minute): close a bucket, merge the one leaving the
// fine ring into its hour, reset it and reuse it. The mentions are not timed.
func BenchmarkWindowAdvance(b *testing.B) {
	w := mustWindow(b, DefaultWindowConfig())
	start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	keys := make([]string, 2000)
	hs := make([]uint64, len(keys))
	for j := range keys {
		keys[j] = "hashtag:k" + strconv.Itoa(j)
		hs[j] = Hash(keys[j])
	}
	fill := func(ts time.Time) {
		for j := range keys {
			_ = w.Mention(ts, keys[j], hs[j], 1)
		}
	}
	// Fill the coarse ring hour by hour, then the fine ring minute by minute.
	for hr := range 169 {
		ts := start.Add(time.Duration(hr) * time.Hour)
		fill(ts)
		w.Advance(ts.Add(time.Hour))
	}
	minute := 169 * 60
	for range 120 {
		ts := start.Add(time.Duration(minute) * time.Minute)
		fill(ts)
		w.Advance(ts.Add(3 * time.Minute))
		minute++
	}
	for b.Loop() {
		b.StopTimer()
		ts := start.Add(time.Duration(minute) * time.Minute)
		fill(ts)
		b.StartTimer()
		w.Advance(ts.Add(3 * time.Minute))
		minute++
	}
}

// BenchmarkWindowCheckpoint: encode and decode the default window with both
// rings full, as each checkpoint and restart does (MB/s of encoding).
func BenchmarkWindowCheckpoint(b *testing.B) {
	w := mustWindow(b, DefaultWindowConfig())
	start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for m := range 200 {
		ts := start.Add(time.Duration(m) * 17 * time.Minute)
		for j := range 500 {
			key := "hashtag:k" + strconv.Itoa((j*7+m)%2000)
			_ = w.Mention(ts, key, Hash(key), 1)
		}
		w.Advance(ts.Add(time.Minute))
	}
	enc, err := w.MarshalBinary()
	mustNil(b, err)
	b.Run("marshal", func(b *testing.B) {
		b.SetBytes(int64(len(enc)))
		buf := make([]byte, 0, len(enc))
		for b.Loop() {
			buf, _ = w.AppendBinary(buf[:0])
		}
	})
	b.Run("unmarshal", func(b *testing.B) {
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			var r Window
			mustNil(b, r.UnmarshalBinary(enc))
		}
	})
}
