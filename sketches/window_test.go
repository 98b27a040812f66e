package sketches

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/internal/binenc"
)

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

// smallConfig is a window small enough to fill in a test: 30 minutes of fine
// buckets, 26 hours of coarse ones.
func smallConfig() WindowConfig {
	c := DefaultWindowConfig()
	c.FineBuckets = 30
	c.CoarseBuckets = 26
	c.TopK = 16
	c.CMSWidth = 1024
	c.MaxKeyBytes = 64
	c.MemoryBudget = 64 << 20
	return c
}

func mustWindow(t testing.TB, c WindowConfig) *Window {
	t.Helper()
	w, err := NewWindow(c)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func mustNil(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestWindowConfigValidate(t *testing.T) {
	if err := DefaultWindowConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	p, _ := DefaultWindowConfig().Plan()
	if p.MentionsWidth != 1<<14 || p.ReportsWidth != 1<<12 || p.Depth != 4 || p.OpenBuckets != 5 || p.MaxBytes > 256<<20 {
		t.Fatalf("default plan %+v", p)
	}
	for _, tc := range []struct {
		name string
		mod  func(c *WindowConfig)
		want string
	}{
		{"bucket", func(c *WindowConfig) { c.Bucket = 0 }, "window.bucket: must be > 0, got 0s"},
		{"bucket not dividing a day", func(c *WindowConfig) { c.Bucket, c.CoarseBucket = 7*time.Minute, 7*time.Minute }, "window.bucket: must divide a day (e.g. 10s, 1m, 2m, 5m, 15m, 30m, 1h), got 7m0s"},
		{"fine", func(c *WindowConfig) { c.FineBuckets = 0 }, "window.fine_buckets: must be in [1, 65536], got 0"},
		{"coarse multiple", func(c *WindowConfig) { c.CoarseBucket = 90 * time.Second }, "window.coarse_bucket: must be a positive multiple of window.bucket (1m0s), got 1m30s"},
		{"coarse zero", func(c *WindowConfig) { c.CoarseBucket = 0 }, "window.coarse_bucket:"},
		{"coarse count", func(c *WindowConfig) { c.CoarseBuckets = -1 }, "window.coarse_buckets: must be in"},
		{"coarse coverage", func(c *WindowConfig) { c.CoarseBuckets = 24 }, "window.coarse_buckets: must cover ≥ 25h0m0s with window.coarse_bucket 1h0m0s so that same-time-yesterday works, got 24"},
		{"lateness", func(c *WindowConfig) { c.AllowedLateness = -time.Second }, "window.allowed_lateness: must be ≥ 0, got -1s"},
		{"lateness huge", func(c *WindowConfig) { c.AllowedLateness = 100 * 24 * time.Hour }, "window.allowed_lateness: 2400h0m0s is more than"},
		{"open too few", func(c *WindowConfig) { c.OpenBuckets = 2 }, "window.open_buckets: must be 0 or in [3, 1024]"},
		{"top_k", func(c *WindowConfig) { c.TopK = 0 }, "window.top_k: must be in [1, 1048576], got 0"},
		{"max key", func(c *WindowConfig) { c.MaxKeyBytes = 0 }, "window.max_key_bytes:"},
		{"depth", func(c *WindowConfig) { c.CMSDepth = 0 }, "window.cms_depth: must be in [1, 32], got 0"},
		{"width", func(c *WindowConfig) { c.CMSWidth = 1000 }, "window.cms_width: must be 0 or a power of two"},
		{"report width", func(c *WindowConfig) { c.CMSReportWidth = 3 }, "window.cms_report_width:"},
		{"budget", func(c *WindowConfig) { c.MemoryBudget = 0 }, "window.memory_budget: must be > 0, got 0"},
		{"budget small", func(c *WindowConfig) { c.MemoryBudget = 10 << 20 }, "window.memory_budget: 10485760 bytes cannot hold 293 buckets"},
		{"width over budget", func(c *WindowConfig) { c.CMSWidth = 1 << 16 }, "window.cms_width: 65536 needs up to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultWindowConfig()
			tc.mod(&c)
			err := c.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
			if _, err := NewWindow(c); err == nil {
				t.Fatal("NewWindow accepted the config")
			}
		})
	}
	// The budget picks the widest sketch that fits, and a bigger budget a wider one.
	c := DefaultWindowConfig()
	c.MemoryBudget = 512 << 20
	if p, err := c.Plan(); err != nil || p.MentionsWidth != 1<<16 || p.MaxBytes > c.MemoryBudget {
		t.Fatalf("512 MiB plan %+v, %v", p, err)
	}
}

func TestWindowLatenessAndRange(t *testing.T) {
	w := mustWindow(t, DefaultWindowConfig())
	if !w.Closed().IsZero() || w.Open(t0) != nil {
		t.Fatal("an unstarted window has a closed mark or open bucket")
	}
	h := Hash("hashtag:a")
	mustNil(t, w.Mention(t0.Add(30*time.Second), "hashtag:a", h, 1))
	// The first event starts the window: its bucket less the allowed lateness.
	if got := w.Closed(); !got.Equal(t0.Add(-2 * time.Minute)) {
		t.Fatalf("Closed() = %v", got)
	}
	mustNil(t, w.Mention(t0.Add(-2*time.Minute), "hashtag:a", h, 1))
	if err := w.Mention(t0.Add(-2*time.Minute-time.Nanosecond), "hashtag:a", h, 1); !errors.Is(err, ErrLate) {
		t.Fatalf("event before the window: %v", err)
	}
	// Five open buckets: [9:58, 10:03).
	mustNil(t, w.Event(t0.Add(3*time.Minute-time.Nanosecond)))
	if err := w.Event(t0.Add(3 * time.Minute)); !errors.Is(err, ErrTooEarly) {
		t.Fatalf("event beyond the open buckets: %v", err)
	}
	if w.Dropped() != 1 {
		t.Fatalf("Dropped() = %d, want 1 (too-early events are not dropped, they are refused)", w.Dropped())
	}
	if b := w.Open(t0.Add(10 * time.Second)); b == nil || b.Mentions.Estimate(h) != 1 || !b.Start.Equal(t0) || !b.End.Equal(t0.Add(time.Minute)) {
		t.Fatalf("Open(t0) = %+v", b)
	}
	if w.Open(t0.Add(time.Minute)) != nil {
		t.Fatal("Open returned a bucket nothing was counted in")
	}

	// Watermark 10:03:00: buckets ending at or before 10:01 close.
	closed := w.Advance(t0.Add(3 * time.Minute))
	if len(closed) != 3 || !closed[0].Start.Equal(t0.Add(-2*time.Minute)) || !closed[2].Start.Equal(t0) {
		t.Fatalf("Advance closed %d buckets", len(closed))
	}
	if closed[0].Mentions.Estimate(h) != 1 || closed[1].Mentions.Total() != 0 || closed[2].Mentions.Estimate(h) != 1 {
		t.Fatal("closed buckets lost their counts")
	}
	if err := w.Mention(t0.Add(59*time.Second), "hashtag:a", h, 1); !errors.Is(err, ErrLate) {
		t.Fatalf("event in a closed bucket: %v", err)
	}
	mustNil(t, w.Mention(t0.Add(time.Minute), "hashtag:a", h, 1))
	if w.Dropped() != 2 {
		t.Fatalf("Dropped() = %d, want 2", w.Dropped())
	}
	// Advancing to the same or an older watermark closes nothing.
	if got := w.Advance(t0.Add(3 * time.Minute)); len(got) != 0 {
		t.Fatalf("repeated Advance closed %d", len(got))
	}
	if got := w.Advance(t0); len(got) != 0 {
		t.Fatalf("backwards Advance closed %d", len(got))
	}
	if err := w.Mention(t0, strings.Repeat("x", 417), 1, 1); !errors.Is(err, ErrKeyTooLong) {
		t.Fatalf("long key: %v", err)
	}
}

func TestWindowAdvanceStartsWindow(t *testing.T) {
	w := mustWindow(t, DefaultWindowConfig())
	if got := w.Advance(t0); len(got) != 0 || !w.Closed().Equal(t0.Add(-2*time.Minute)) {
		t.Fatalf("first Advance: %d buckets, closed %v", len(got), w.Closed())
	}
	if err := w.Event(t0.Add(-3 * time.Minute)); !errors.Is(err, ErrLate) {
		t.Fatalf("event before the start: %v", err)
	}
}

// feed counts key k at minute m (from t0) (m%7+1)·(k+1) times, with a few reports
// and events, for minutes [from, to), advancing the watermark minute by minute.
func feed(t testing.TB, w *Window, keys []string, from, to int) {
	t.Helper()
	for m := from; m < to; m++ {
		ts := t0.Add(time.Duration(m)*time.Minute + 17*time.Second)
		for k, key := range keys {
			mustNil(t, w.Mention(ts, key, Hash(key), uint32((m%7+1)*(k+1))))
			if m%5 == 0 {
				mustNil(t, w.Report(ts, key, Hash(key), uint32(k+1)))
			}
		}
		mustNil(t, w.Event(ts))
		mustNil(t, w.ReportEvent(ts))
		w.Advance(ts.Add(w.cfg.AllowedLateness + time.Minute))
	}
}

func wantMentions(k, from, to int) uint64 {
	var n uint64
	for m := from; m < to; m++ {
		n += uint64((m%7 + 1) * (k + 1))
	}
	return n
}

func wantReports(k, from, to int) uint64 {
	var n uint64
	for m := from; m < to; m++ {
		if m%5 == 0 {
			n += uint64(k + 1)
		}
	}
	return n
}

func TestWindowSeriesIsRetroactive(t *testing.T) {
	w := mustWindow(t, smallConfig())
	keys := []string{"hashtag:a", "hashtag:b", "sound:123", "hashtag:नेपाल"}
	feed(t, w, keys, 0, 45)
	// Nobody tracked sound:123, yet its last 10 minutes are there.
	before := t0.Add(45 * time.Minute)
	if !w.Closed().Equal(before) {
		t.Fatalf("Closed() = %v", w.Closed())
	}
	m, r := w.Series(Hash("sound:123"), before, 10)
	for i := range 10 {
		minute := 35 + i
		if m[i] != float64((minute%7+1)*3) || r[i] != float64(wantReports(2, minute, minute+1)) {
			t.Fatalf("Series[%d] (minute %d) = %v, %v", i, minute, m[i], r[i])
		}
	}
	// Beyond the fine ring (30 buckets) and beyond Closed() the series is 0.
	m, _ = w.Series(Hash("hashtag:a"), t0.Add(47*time.Minute), 40)
	for i, v := range m {
		minute := 7 + i
		want := 0.0
		if minute >= 15 && minute < 45 {
			want = float64(minute%7 + 1)
		}
		if v != want {
			t.Fatalf("minute %d: %v, want %v", minute, v, want)
		}
	}
	// A `before` inside a bucket excludes that bucket.
	m, _ = w.Series(Hash("hashtag:a"), t0.Add(44*time.Minute+time.Second), 1)
	if m[0] != float64(43%7+1) {
		t.Fatalf("mid-bucket before: %v", m)
	}
	if m, r := w.Series(1, before, 0); m != nil || r != nil {
		t.Fatal("Series of 0 buckets is not empty")
	}
}

func TestWindowCountAcrossRings(t *testing.T) {
	w := mustWindow(t, smallConfig())
	keys := []string{"hashtag:a", "hashtag:b"}
	feed(t, w, keys, 0, 185) // 3 h 5 min: fine holds [155, 185), coarse the rest
	// The first event, at 0:17, opened the window at its bucket less the lateness.
	if from, to := w.Covered(); !from.Equal(t0.Add(-2*time.Minute)) || !to.Equal(t0.Add(185*time.Minute)) {
		t.Fatalf("Covered() = %v, %v", from, to)
	}
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	for _, tc := range []struct {
		from, to int
	}{
		{160, 170}, // fine ring only
		{155, 185}, // the whole fine ring
		{0, 60},    // one coarse bucket
		{0, 185},   // everything
		{60, 155},  // the coarse bucket that straddles the fine ring's start
		{120, 160}, // partly coarse, partly fine
		{100, 100}, // empty
		{0, 120},   // two coarse buckets
		{120, 155}, // all the straddling bucket holds
		{184, 185}, // the newest closed bucket
	} {
		for k := range keys {
			m, r, err := w.Count(Hash(keys[k]), at(tc.from), at(tc.to))
			mustNil(t, err)
			if m != wantMentions(k, tc.from, tc.to) || r != wantReports(k, tc.from, tc.to) {
				t.Errorf("Count(%s, [%d, %d)) = %d, %d; want %d, %d", keys[k], tc.from, tc.to, m, r, wantMentions(k, tc.from, tc.to), wantReports(k, tc.from, tc.to))
			}
		}
	}
	// Part of a coarse bucket is pro-rated: [30, 45) is a quarter of hour 0.
	m, _, err := w.Count(Hash("hashtag:a"), at(30), at(45))
	mustNil(t, err)
	if want := float64(wantMentions(0, 0, 60)) / 4; math.Abs(float64(m)-want) > 0.5 {
		t.Errorf("pro-rated count %d, want %.1f", m, want)
	}
	// Part of a fine bucket too.
	m, _, err = w.Count(Hash("hashtag:a"), at(170).Add(30*time.Second), at(171))
	mustNil(t, err)
	if want := float64(170%7+1) / 2; math.Abs(float64(m)-want) > 0.5 {
		t.Errorf("half a fine bucket: %d, want %.1f", m, want)
	}
	for _, tc := range []struct{ from, to time.Time }{
		{at(-3), at(10)},
		{at(180), at(186)},
		{at(100), at(99)},
	} {
		if _, _, err := w.Count(1, tc.from, tc.to); err == nil {
			t.Errorf("Count(%v, %v) answered", tc.from, tc.to)
		} else if tc.to.After(tc.from) && !errors.Is(err, ErrNotCovered) {
			t.Errorf("Count(%v, %v): %v, want ErrNotCovered", tc.from, tc.to, err)
		}
	}
	// Events roll up too.
	var events, reportEvents uint64
	for _, c := range w.coarse {
		if c != nil {
			events += c.Events
			reportEvents += c.ReportEvents
			if c.Top != nil {
				t.Fatal("a coarse bucket has a top-K")
			}
		}
	}
	if events != 155 || reportEvents != 155 {
		t.Fatalf("coarse ring holds %d events, %d report events; want 155", events, reportEvents)
	}
}

func TestWindowCoarseRingDropsOldHours(t *testing.T) {
	w := mustWindow(t, smallConfig())
	feed(t, w, []string{"hashtag:a"}, 0, 1)
	// Hour by hour to 30 hours: the coarse ring keeps 26.
	for hr := 1; hr <= 30; hr++ {
		w.Advance(t0.Add(time.Duration(hr)*time.Hour + 3*time.Minute))
	}
	from, to := w.Covered()
	if !to.Equal(t0.Add(30*time.Hour + time.Minute)) {
		t.Fatalf("Covered() to %v", to)
	}
	// The newest coarse bucket rolled up is hour 29 (the fine ring holds from
	// 29:31), so the ring's oldest is hour 4.
	if !from.Equal(t0.Add(4 * time.Hour)) {
		t.Fatalf("Covered() from %v, want %v", from, t0.Add(4*time.Hour))
	}
	if _, _, err := w.Count(Hash("hashtag:a"), t0, t0.Add(time.Hour)); !errors.Is(err, ErrNotCovered) {
		t.Fatalf("count of a dropped hour: %v", err)
	}
	if m, _, err := w.Count(Hash("hashtag:a"), from, to); err != nil || m != 0 {
		t.Fatalf("count over the covered range: %d, %v", m, err)
	}
	if w.Bytes() > w.Plan().MaxBytes {
		t.Fatalf("Bytes() %d above the plan's %d", w.Bytes(), w.Plan().MaxBytes)
	}
}

func TestWindowWatermarkJump(t *testing.T) {
	w := mustWindow(t, smallConfig())
	keys := []string{"hashtag:a"}
	feed(t, w, keys, 0, 10)
	ts := t0.Add(10 * time.Minute)
	mustNil(t, w.Mention(ts, "hashtag:a", Hash("hashtag:a"), 1000))
	// Jump 3 hours: only the fine ring's 30 buckets come back; the rest rolls up.
	closed := w.Advance(t0.Add(3 * time.Hour))
	if len(closed) != 30 || !closed[29].End.Equal(w.Closed()) {
		t.Fatalf("jump returned %d buckets", len(closed))
	}
	m, _, err := w.Count(Hash("hashtag:a"), t0, t0.Add(time.Hour))
	mustNil(t, err)
	if want := wantMentions(0, 0, 10) + 1000; m != want {
		t.Fatalf("hour 0 after the jump: %d, want %d", m, want)
	}
}

func TestWindowSteadyStateDoesNotAllocateSketches(t *testing.T) {
	w := mustWindow(t, smallConfig())
	keys := make([]string, 40)
	for i := range keys {
		keys[i] = fmt.Sprintf("hashtag:k%02d", i)
	}
	feed(t, w, keys, 0, 27*60+40) // every ring full
	m := 27*60 + 40
	cycle := func() {
		ts := t0.Add(time.Duration(m)*time.Minute + time.Second)
		for i, key := range keys {
			_ = w.Mention(ts, key, Hash(key), uint32(i+1))
			_ = w.Report(ts, key, Hash(key), 1)
		}
		_ = w.Event(ts)
		w.Advance(ts.Add(3 * time.Minute))
		m++
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const cycles = 200
	for range cycles {
		cycle()
	}
	runtime.ReadMemStats(&after)
	perCycle := float64(after.TotalAlloc-before.TotalAlloc) / cycles
	allocs := float64(after.Mallocs-before.Mallocs) / cycles
	// The slice Advance returns is the only allocation (the runtime may add a
	// stray one): no sketch is made anew.
	if allocs > 1.1 || perCycle > 64 {
		t.Fatalf("a minute's roll allocates %.1f times, %.0f bytes", allocs, perCycle)
	}
}

// TestWindowWorstCaseMemory fills the default window to its worst case (every
// ring full, every top-K counter holding a key of max_key_bytes) and checks Bytes
// against the budget and against the heap.
func TestWindowWorstCaseMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 212 MiB")
	}
	cfg := DefaultWindowConfig()
	keys := make([]string, cfg.TopK)
	hashes := make([]uint64, len(keys))
	for i := range keys {
		keys[i] = fmt.Sprintf("%0*d", cfg.MaxKeyBytes, i)
		hashes[i] = Hash(keys[i])
	}
	grown, v := heapGrowth(func() any {
		w := mustWindow(t, cfg)
		hours := cfg.CoarseBuckets + 3
		for hr := range hours - 2 {
			mustNil(t, w.Event(t0.Add(time.Duration(hr)*time.Hour)))
			w.Advance(t0.Add(time.Duration(hr+1) * time.Hour))
		}
		// The last two hours minute by minute, then the open buckets, with every
		// top-K full.
		start := t0.Add(time.Duration(hours-2) * time.Hour)
		for m := range cfg.FineBuckets + w.plan.OpenBuckets {
			ts := start.Add(time.Duration(m) * time.Minute)
			if m <= cfg.FineBuckets {
				w.Advance(ts.Add(cfg.AllowedLateness))
			}
			for i, key := range keys {
				// Keys of their own, shared by no other summary: the
				// worst case of the top-K counters, which keep them.
				mustNil(t, w.Mention(ts, strings.Clone(key), hashes[i], 1))
				mustNil(t, w.Report(ts, strings.Clone(key), hashes[i], 1))
			}
		}
		return w
	})
	w := v.(*Window)
	n := 0
	for _, ring := range [][]*Bucket{w.open, w.fine, w.coarse} {
		for _, b := range ring {
			if b != nil {
				n++
			}
		}
	}
	t.Logf("%d buckets, Bytes() %.1f MiB, plan %.1f MiB, heap grew %.1f MiB", n, float64(w.Bytes())/(1<<20), float64(w.plan.MaxBytes)/(1<<20), float64(grown)/(1<<20))
	if w.Bytes() > w.plan.MaxBytes || w.plan.MaxBytes > cfg.MemoryBudget {
		t.Fatalf("Bytes() %d, plan %d, budget %d", w.Bytes(), w.plan.MaxBytes, cfg.MemoryBudget)
	}
	if float64(w.Bytes()) < 0.97*float64(w.plan.MaxBytes) {
		t.Fatalf("the worst case reached only %d of the planned %d bytes: the plan is not the worst case", w.Bytes(), w.plan.MaxBytes)
	}
	if d := math.Abs(float64(grown-w.Bytes())) / float64(w.Bytes()); d > 0.03 {
		t.Fatalf("Bytes() = %d, heap grew by %d", w.Bytes(), grown)
	}
	runtime.KeepAlive(w)
}

func TestWindowMerge(t *testing.T) {
	cfg := smallConfig()
	all, a, b := mustWindow(t, cfg), mustWindow(t, cfg), mustWindow(t, cfg)
	truth := map[string]uint64{}
	// Two instances see alternate events; all sees every one.
	for m := range 150 {
		for j := range 20 {
			ts := t0.Add(time.Duration(m)*time.Minute + time.Duration(j)*time.Second)
			key := fmt.Sprintf("hashtag:t%d", (m*j)%37)
			part := a
			if j%2 == 1 {
				part = b
			}
			for _, x := range []*Window{all, part} {
				mustNil(t, x.Mention(ts, key, Hash(key), 1))
				mustNil(t, x.Event(ts))
				if j%3 == 0 {
					mustNil(t, x.Report(ts, key, Hash(key), 1))
				}
			}
			if m >= 120 {
				truth[key]++
			}
		}
		wm := t0.Add(time.Duration(m+1)*time.Minute + cfg.AllowedLateness)
		all.Advance(wm)
		a.Advance(wm)
		b.Advance(wm)
	}
	merged := mustWindow(t, cfg)
	mustNil(t, merged.Merge(a))
	mustNil(t, merged.Merge(b))
	if !merged.Closed().Equal(all.Closed()) {
		t.Fatalf("merged closed at %v, want %v", merged.Closed(), all.Closed())
	}
	for _, ring := range []string{"open", "fine", "coarse"} {
		mine, want := merged.ringNamed(ring), all.ringNamed(ring)
		for i := range want {
			if (want[i] == nil) != (mine[i] == nil) {
				t.Fatalf("%s slot %d: merged %v, all %v", ring, i, mine[i] != nil, want[i] != nil)
			}
			if want[i] == nil {
				continue
			}
			x, y := mine[i], want[i]
			if x.Events != y.Events || x.ReportEvents != y.ReportEvents || x.Mentions.Total() != y.Mentions.Total() || x.Reports.Total() != y.Reports.Total() {
				t.Fatalf("%s bucket %v: events %d/%d, mentions %d/%d", ring, y.Start, x.Events, y.Events, x.Mentions.Total(), y.Mentions.Total())
			}
		}
	}
	from := t0.Add(120 * time.Minute)
	for key, n := range truth {
		got, _, err := merged.Count(Hash(key), from, merged.Closed())
		mustNil(t, err)
		if got < n {
			t.Fatalf("%s: merged count %d below the true %d", key, got, n)
		}
	}
	// Misaligned and misshapen windows refuse to merge.
	c := mustWindow(t, cfg)
	c.Advance(t0)
	if err := merged.Merge(c); err == nil || !strings.Contains(err.Error(), "advance both to the same watermark") {
		t.Fatalf("misaligned merge: %v", err)
	}
	other := cfg
	other.CMSWidth = 2048
	if err := merged.Merge(mustWindow(t, other)); err == nil || !strings.Contains(err.Error(), "shapes differ") {
		t.Fatalf("misshapen merge: %v", err)
	}
	if err := merged.Merge(mustWindow(t, cfg)); err != nil {
		t.Fatalf("merge of an unstarted window: %v", err)
	}
}

func (w *Window) ringNamed(name string) []*Bucket {
	switch name {
	case "open":
		return w.open
	case "fine":
		return w.fine
	}
	return w.coarse
}

func TestWindowRoundTrip(t *testing.T) {
	cfg := smallConfig()
	w := mustWindow(t, cfg)
	keys := []string{"hashtag:a", "hashtag:ब", "challenge:c"}
	feed(t, w, keys, 0, 100)
	mustNil(t, w.Mention(w.Closed().Add(time.Minute), "hashtag:open", Hash("hashtag:open"), 5)) // an open bucket
	_ = w.Event(t0)                                                                             // a dropped event
	enc, err := w.MarshalBinary()
	mustNil(t, err)

	for _, into := range []*Window{{}, mustWindow(t, cfg)} {
		mustNil(t, into.UnmarshalBinary(enc))
		again, err := into.MarshalBinary()
		mustNil(t, err)
		if !bytes.Equal(enc, again) {
			t.Fatal("round trip changed the window")
		}
		if into.Dropped() != 1 || !into.Closed().Equal(w.Closed()) {
			t.Fatalf("dropped %d, closed %v", into.Dropped(), into.Closed())
		}
		for k, key := range keys {
			got, _, err := into.Count(Hash(key), t0, into.Closed())
			mustNil(t, err)
			if want := wantMentions(k, 0, 100); got != want {
				t.Fatalf("%s after restore: %d, want %d", key, got, want)
			}
		}
		// The restored window carries on.
		feed(t, into, keys, 100, 110)
		got, _, err := into.Count(Hash("hashtag:a"), t0, into.Closed())
		mustNil(t, err)
		if want := wantMentions(0, 0, 110); got != want {
			t.Fatalf("after restore and more counting: %d, want %d", got, want)
		}
	}
	other := cfg
	other.FineBuckets = 31
	if err := mustWindow(t, other).UnmarshalBinary(enc); err == nil || !strings.Contains(err.Error(), "differs from the window's") {
		t.Fatalf("restore into another shape: %v", err)
	}
	var empty Window
	mustNil(t, empty.UnmarshalBinary(mustMarshal(t, mustWindow(t, cfg))))
	if !empty.Closed().IsZero() {
		t.Fatal("an unstarted window restored started")
	}
}

func mustMarshal(t testing.TB, m interface{ MarshalBinary() ([]byte, error) }) []byte {
	t.Helper()
	b, err := m.MarshalBinary()
	mustNil(t, err)
	return b
}

func TestWindowUnmarshalRejects(t *testing.T) {
	cfg := smallConfig()
	w := mustWindow(t, cfg)
	feed(t, w, []string{"hashtag:a"}, 0, 3)
	good := mustMarshal(t, w)
	body := bodyOf(good)
	reseal := func(body []byte) []byte { return seal(kindWindow, body) }
	// The config is 13 fields; find where the state starts by re-encoding it.
	cfgLen := len(mustMarshal(t, mustWindow(t, cfg))) - envelope.Overhead() - 7 // 7 bytes of unstarted state
	// Bucket 0: a one-byte varint in place of the minute.
	badCfg := slices.Concat([]byte{0}, body[len(binenc.AppendVarint(nil, int64(time.Minute))):])
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"truncated", good[:len(good)-5], "checksum"},
		{"cut body", reseal(body[:len(body)-3]), ""},
		{"bad config", reseal(badCfg), "window.bucket: must be > 0"},
		{"unstarted with buckets", reseal(slices.Concat(body[:cfgLen], []byte{0, 0, 0, 0, 0, 0, 1})), "unstarted window holds 1 buckets"},
		{"too many buckets", reseal(slices.Concat(body[:cfgLen], []byte{1, 0, 0, 0, 0, 0, 0xff, 0x7f})), "exceeds"},
		{"first after closed", reseal(slices.Concat(body[:cfgLen], []byte{1, 0, 2, 0, 0, 0, 0})), "after the closed mark"},
		{"bad role", reseal(slices.Concat(body[:cfgLen], []byte{1, 0, 0, 0, 0, 0, 1, 7, 0, 0, 0})), "role 7"},
		{"open bucket out of range", reseal(slices.Concat(body[:cfgLen], []byte{1, 0, 0, 0, 0, 0, 1, roleOpen, 20, 0, 0})), "open bucket 10 outside"},
		{"fine bucket out of range", reseal(slices.Concat(body[:cfgLen], []byte{1, 0, 0, 0, 0, 0, 1, roleFine, 0, 0, 0})), "fine bucket 0 outside"},
		{"coarse without coarse ring", reseal(slices.Concat(body[:cfgLen], []byte{1, 0, 0, 0, 0, 0, 1, roleCoarse, 0, 0, 0})), "coarse bucket 0 outside"},
		{"closed out of range", reseal(slices.Concat(body[:cfgLen], []byte{1, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0})), "out of the representable range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := mustWindow(t, cfg)
			mustNil(t, d.Event(t0))
			err := d.UnmarshalBinary(tc.data)
			if err == nil || !errors.Is(err, ErrEncoding) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrEncoding containing %q", err, tc.want)
			}
			if b := d.Open(t0); b == nil || b.Events != 1 {
				t.Fatal("a failed decode changed the receiver")
			}
		})
	}
	// A bucket whose sketch has another shape is refused.
	x := mustWindow(t, cfg)
	mustNil(t, x.Event(t0))
	x.open[floorMod(x.index(t0), int64(len(x.open)))].Mentions = mustCountMin(t, 512, 4)
	if err := new(Window).UnmarshalBinary(mustMarshal(t, x)); err == nil || !strings.Contains(err.Error(), "mentions sketch 512×4, want 1024×4") {
		t.Fatalf("misshapen bucket: %v", err)
	}
}

func TestWindowStartedMidHour(t *testing.T) {
	w := mustWindow(t, smallConfig())
	keys := []string{"hashtag:a"}
	feed(t, w, keys, 32, 200) // the window starts at 0:30; hour 0 holds its last 30 minutes
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	m, _, err := w.Count(Hash("hashtag:a"), at(30), at(60))
	mustNil(t, err)
	if want := wantMentions(0, 32, 60); m != want {
		t.Fatalf("the half hour the window holds: %d, want %d", m, want)
	}
	// A quarter of the held half hour is half of [30, 60)'s count.
	m, _, err = w.Count(Hash("hashtag:a"), at(45), at(60))
	mustNil(t, err)
	if want := float64(wantMentions(0, 32, 60)) / 2; math.Abs(float64(m)-want) > 0.5 {
		t.Fatalf("pro-rated within the held part: %d, want %.1f", m, want)
	}
	if _, _, err := w.Count(Hash("hashtag:a"), at(29), at(60)); !errors.Is(err, ErrNotCovered) {
		t.Fatalf("before the window started: %v", err)
	}
}

// TestWindowShare: Count over a range is what each count made takes in by
// Share, in the fine ring, in coarse buckets (pro-rated) and across both, and
// nothing of an open bucket or one the window no longer holds.
func TestWindowShare(t *testing.T) {
	w := mustWindow(t, smallConfig())
	const key = "hashtag:a"
	feed(t, w, []string{key}, 0, 185) // fine holds [155, 185), coarse the rest
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	for _, tc := range []struct{ from, to time.Time }{
		{at(160), at(170)},
		{at(0), at(60)},
		{at(30), at(45)},
		{at(60), at(155)},
		{at(120), at(160)},
		{at(100).Add(20 * time.Second), at(161).Add(40 * time.Second)},
		{at(0), at(185)},
	} {
		m, _, err := w.Count(Hash(key), tc.from, tc.to)
		mustNil(t, err)
		var sum float64
		for k := range 185 {
			sum += w.Share(t0.Add(time.Duration(k)*time.Minute+17*time.Second), tc.from, tc.to) * float64(k%7+1)
		}
		if math.Abs(sum-float64(m)) > 0.5 {
			t.Errorf("[%s, %s): Count %d, the counts made times their shares %.2f", tc.from.Format("15:04:05"), tc.to.Format("15:04:05"), m, sum)
		}
	}
	for _, tc := range []struct {
		name string
		at   time.Time
	}{
		{"an open bucket", at(185).Add(10 * time.Second)},
		{"before the window", at(-10)},
		{"outside the range", at(100)},
	} {
		if s := w.Share(tc.at, at(150), at(170)); s != 0 {
			t.Errorf("%s: share %v, want 0", tc.name, s)
		}
	}
}
