package sketches

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
	"unsafe"
)

const (
	maxRingBuckets = 1 << 16
	maxOpenBuckets = 1 << 10
	maxKeyBytes    = 1 << 16
	// Widths the memory budget picks from, largest first.
	maxAutoWidth = 1 << 22
	minAutoWidth = 1 << 8
	// A day and an hour: "same time yesterday" needs the hour around it a day ago.
	minCoarseCoverage = 25 * time.Hour
)

// WindowConfig shapes a Window. Keys are under "window." in trendwatch's config.
type WindowConfig struct {
	Bucket          time.Duration `mapstructure:"bucket"`           // width of a fine bucket of event time
	FineBuckets     int           `mapstructure:"fine_buckets"`     // closed fine buckets kept (120 = 2 h of minutes)
	CoarseBucket    time.Duration `mapstructure:"coarse_bucket"`    // width of a coarse bucket, a multiple of Bucket
	CoarseBuckets   int           `mapstructure:"coarse_buckets"`   // coarse buckets kept; must cover ≥ 25 h
	AllowedLateness time.Duration `mapstructure:"allowed_lateness"` // a bucket closes once the watermark passes its end by this much
	OpenBuckets     int           `mapstructure:"open_buckets"`     // buckets open at once; 0 = ceil(allowed_lateness/bucket)+3
	TopK            int           `mapstructure:"top_k"`            // heavy hitters kept per fine bucket, by mentions and by reports
	MaxKeyBytes     int           `mapstructure:"max_key_bytes"`    // longest term key counted; bounds the top-K's memory
	MemoryBudget    int64         `mapstructure:"memory_budget"`    // bytes for the whole window, worst case
	CMSDepth        int           `mapstructure:"cms_depth"`        // rows of both count-min sketches
	CMSWidth        int           `mapstructure:"cms_width"`        // mentions sketch width; 0 = the widest the budget allows
	CMSReportWidth  int           `mapstructure:"cms_report_width"` // reports sketch width; 0 = cms_width/4 (reports are far fewer)
}

// DefaultWindowConfig keeps 2 hours of minutes and 7 days of hours in 256 MiB. The
// budget picks 2^14 × 4 counters for mentions (ε·N ≈ 1.7e-4·N per bucket, δ ≈
// 1.8 %) and 2^12 × 4 for reports, with room for every top-K counter to hold a key
// of max_key_bytes. max_key_bytes covers event.DefaultLimits: "hashtag:" and 100
// runes of up to 4 bytes.
func DefaultWindowConfig() WindowConfig {
	return WindowConfig{
		Bucket:          time.Minute,
		FineBuckets:     120,
		CoarseBucket:    time.Hour,
		CoarseBuckets:   168,
		AllowedLateness: 2 * time.Minute,
		TopK:            1000,
		MaxKeyBytes:     416,
		MemoryBudget:    256 << 20,
		CMSDepth:        4,
	}
}

// WindowPlan is what a WindowConfig works out to.
type WindowPlan struct {
	OpenBuckets   int
	MentionsWidth int
	ReportsWidth  int
	Depth         int
	// MaxBytes is the most Window.Bytes can reach: every ring full and every
	// top-K counter holding a key of MaxKeyBytes. It is ≤ MemoryBudget.
	MaxBytes int64
}

// Validate reports the first setting that cannot work, naming its key.
func (c WindowConfig) Validate() error {
	_, err := c.Plan()
	return err
}

// Plan validates c and works out the open bucket count and the sketch widths:
// unless set, the mentions width is the largest power of two that keeps MaxBytes
// within MemoryBudget.
func (c WindowConfig) Plan() (WindowPlan, error) {
	var p WindowPlan
	switch {
	case c.Bucket <= 0:
		return p, fmt.Errorf("window.bucket: must be > 0, got %v", c.Bucket)
	case (24*time.Hour)%c.Bucket != 0:
		// Buckets start at the same times every day, and at the same times
		// counted from 1970 as from year 1 (the window counts from the
		// first, time.Truncate from the second): otherwise a tracked term's
		// bucket is not the window's, and yesterday's hour is not one.
		return p, fmt.Errorf("window.bucket: must divide a day (e.g. 10s, 1m, 2m, 5m, 15m, 30m, 1h), got %v", c.Bucket)
	case c.FineBuckets < 1 || c.FineBuckets > maxRingBuckets:
		return p, fmt.Errorf("window.fine_buckets: must be in [1, %d], got %d", maxRingBuckets, c.FineBuckets)
	case c.CoarseBucket <= 0 || c.CoarseBucket%c.Bucket != 0:
		return p, fmt.Errorf("window.coarse_bucket: must be a positive multiple of window.bucket (%v), got %v", c.Bucket, c.CoarseBucket)
	case c.CoarseBuckets < 1 || c.CoarseBuckets > maxRingBuckets:
		return p, fmt.Errorf("window.coarse_buckets: must be in [1, %d], got %d", maxRingBuckets, c.CoarseBuckets)
	case int64(c.CoarseBuckets) < int64((minCoarseCoverage+c.CoarseBucket-1)/c.CoarseBucket):
		return p, fmt.Errorf("window.coarse_buckets: must cover ≥ %v with window.coarse_bucket %v so that same-time-yesterday works, got %d", minCoarseCoverage, c.CoarseBucket, c.CoarseBuckets)
	case c.AllowedLateness < 0:
		return p, fmt.Errorf("window.allowed_lateness: must be ≥ 0, got %v", c.AllowedLateness)
	case c.TopK < 1 || c.TopK > MaxTopK:
		return p, fmt.Errorf("window.top_k: must be in [1, %d], got %d", MaxTopK, c.TopK)
	case c.MaxKeyBytes < 1 || c.MaxKeyBytes > maxKeyBytes:
		return p, fmt.Errorf("window.max_key_bytes: must be in [1, %d], got %d", maxKeyBytes, c.MaxKeyBytes)
	case c.CMSDepth < 1 || c.CMSDepth > MaxCountMinDepth:
		return p, fmt.Errorf("window.cms_depth: must be in [1, %d], got %d", MaxCountMinDepth, c.CMSDepth)
	case c.CMSWidth != 0 && checkCountMinShape(c.CMSWidth, c.CMSDepth) != nil:
		return p, fmt.Errorf("window.cms_width: must be 0 or a power of two in [2, %d], got %d", MaxCountMinWidth, c.CMSWidth)
	case c.CMSReportWidth != 0 && checkCountMinShape(c.CMSReportWidth, c.CMSDepth) != nil:
		return p, fmt.Errorf("window.cms_report_width: must be 0 or a power of two in [2, %d], got %d", MaxCountMinWidth, c.CMSReportWidth)
	case c.MemoryBudget <= 0:
		return p, fmt.Errorf("window.memory_budget: must be > 0, got %d", c.MemoryBudget)
	}
	// The open buckets cover the allowed lateness behind the watermark, the
	// watermark's own bucket and two more for events a little ahead of it.
	late := int((c.AllowedLateness + c.Bucket - 1) / c.Bucket)
	if c.AllowedLateness/c.Bucket >= maxOpenBuckets {
		return p, fmt.Errorf("window.allowed_lateness: %v is more than %d buckets of %v", c.AllowedLateness, maxOpenBuckets-3, c.Bucket)
	}
	p.OpenBuckets = late + 3
	if c.OpenBuckets != 0 {
		if c.OpenBuckets < late+1 || c.OpenBuckets > maxOpenBuckets {
			return p, fmt.Errorf("window.open_buckets: must be 0 or in [%d, %d] (ceil(allowed_lateness/bucket)+1), got %d", late+1, maxOpenBuckets, c.OpenBuckets)
		}
		p.OpenBuckets = c.OpenBuckets
	}
	p.Depth = c.CMSDepth
	if c.CMSWidth != 0 {
		p.MentionsWidth = c.CMSWidth
		p.ReportsWidth = c.reportsWidth(c.CMSWidth)
		p.MaxBytes = c.maxBytes(p)
		if p.MaxBytes > c.MemoryBudget {
			return p, fmt.Errorf("window.cms_width: %d needs up to %d bytes, over window.memory_budget %d", c.CMSWidth, p.MaxBytes, c.MemoryBudget)
		}
		return p, nil
	}
	for w := maxAutoWidth; w >= minAutoWidth; w /= 2 {
		p.MentionsWidth = w
		p.ReportsWidth = c.reportsWidth(w)
		p.MaxBytes = c.maxBytes(p)
		if p.MaxBytes <= c.MemoryBudget {
			return p, nil
		}
	}
	return WindowPlan{}, fmt.Errorf("window.memory_budget: %d bytes cannot hold %d buckets at count-min width %d (needs %d)", c.MemoryBudget, p.OpenBuckets+c.FineBuckets+c.CoarseBuckets, minAutoWidth, p.MaxBytes)
}

func (c WindowConfig) reportsWidth(mentions int) int {
	if c.CMSReportWidth != 0 {
		return c.CMSReportWidth
	}
	return max(2, mentions/4)
}

// maxBytes mirrors Window.Bytes with every slot filled: open and fine buckets hold
// top-Ks, coarse buckets do not.
func (c WindowConfig) maxBytes(p WindowPlan) int64 {
	fineLike := int64(p.OpenBuckets + c.FineBuckets)
	coarse := int64(c.CoarseBuckets)
	ptr := int64(unsafe.Sizeof((*Bucket)(nil)))
	// Rings: open, fine and coarse; free list and Advance's scratch, fineLike each.
	header := int64(unsafe.Sizeof(Window{})) + ptr*(int64(p.OpenBuckets)+int64(c.FineBuckets)+coarse+2*fineLike)
	bucket := int64(unsafe.Sizeof(Bucket{})) +
		int64(countMinBytes(p.MentionsWidth*p.Depth)+countMinBytes(p.ReportsWidth*p.Depth))
	topK := 2 * int64(TopKMaxBytes(c.TopK, c.MaxKeyBytes))
	return header + fineLike*(bucket+topK) + coarse*bucket
}

// Bucket is what a Window counted in one bucket of event time. Fine buckets are
// Bucket wide, coarse ones CoarseBucket wide and without top-Ks: nothing reads an
// hour's heavy hitters, and keeping 168 of them would take a third of the budget.
type Bucket struct {
	Start        time.Time
	End          time.Time
	Mentions     *CountMin // term mentions
	Reports      *CountMin // reports attributed to terms
	Top          *TopK     // heavy hitters by mentions; nil in coarse buckets
	ReportTop    *TopK     // heavy hitters by reports, so a report wave on a term with flat mentions is nominated; nil in coarse buckets
	Events       uint64    // content events
	ReportEvents uint64    // report events

	idx int64 // Start / width
}

func (b *Bucket) bytes() int {
	n := int(unsafe.Sizeof(Bucket{})) + b.Mentions.Bytes() + b.Reports.Bytes()
	if b.Top != nil {
		n += b.Top.Bytes() + b.ReportTop.Bytes()
	}
	return n
}

func (b *Bucket) empty() bool {
	return b.Mentions.Total() == 0 && b.Reports.Total() == 0 && b.Events == 0 && b.ReportEvents == 0
}

func (b *Bucket) reset() {
	// A count-min sketch whose total is 0 has only zero counters.
	if b.Mentions.Total() != 0 {
		b.Mentions.Reset()
	}
	if b.Reports.Total() != 0 {
		b.Reports.Reset()
	}
	if b.Top != nil {
		b.Top.Reset()
		b.ReportTop.Reset()
	}
	b.Events, b.ReportEvents = 0, 0
}

// mergeFrom adds o to b; the Window has checked that their shapes agree.
func (b *Bucket) mergeFrom(o *Bucket) error {
	if err := b.Mentions.Merge(o.Mentions); err != nil {
		return err
	}
	if err := b.Reports.Merge(o.Reports); err != nil {
		return err
	}
	if b.Top != nil && o.Top != nil {
		if err := b.Top.Merge(o.Top); err != nil {
			return err
		}
		if err := b.ReportTop.Merge(o.ReportTop); err != nil {
			return err
		}
	}
	b.Events = satAdd(b.Events, o.Events)
	b.ReportEvents = satAdd(b.ReportEvents, o.ReportEvents)
	return nil
}

var (
	// ErrLate is returned for an event whose bucket has closed (its end plus the
	// allowed lateness is behind the watermark). The event is counted in Dropped.
	ErrLate = errors.New("sketches: event later than the allowed lateness; dropped")
	// ErrTooEarly is returned for an event that would open a bucket further ahead
	// of the oldest open bucket than the window holds open buckets. The caller
	// advances the watermark and retries, or drops the event.
	ErrTooEarly = errors.New("sketches: event too far ahead of the watermark")
	// ErrKeyTooLong is returned for a term key longer than max_key_bytes, which
	// bounds the top-K's memory; nothing is counted.
	ErrKeyTooLong = errors.New("sketches: term key longer than window.max_key_bytes")
	// ErrNotCovered is returned by Count for a range the window does not hold.
	ErrNotCovered = errors.New("sketches: range not covered by the window")
)

// Window counts term mentions and reports into one Bucket per interval of event
// time.
//
// Buckets are open while events may still arrive: an event lands in its bucket
// unless the bucket has closed, that is unless its end plus AllowedLateness is at
// or behind the watermark passed to Advance. Advance closes buckets into the fine
// ring, which keeps the last FineBuckets of them; a bucket leaving the fine ring is
// merged into the coarse bucket of its time, and the coarse ring keeps the last
// CoarseBuckets coarse buckets. Buckets are recycled, not reallocated: in steady
// state a minute's roll costs a count-min merge and a clear, no allocation.
//
// Because every bucket keeps a count-min sketch of every term, Series and Count
// answer for any term, including one nobody tracked until now.
//
// The first event (or Advance) starts the window: what came before it is unknown,
// and the first event's bucket minus the allowed lateness is the oldest it
// accepts.
type Window struct {
	cfg       WindowConfig
	plan      WindowPlan
	bucketNs  int64
	coarseNs  int64
	lateNs    int64
	perCoarse int64 // fine buckets per coarse bucket

	started   bool
	closed    int64 // index of the oldest open bucket; all before it are closed
	first     int64 // index of the first bucket the window knows
	hasCoarse bool
	coarseTop int64 // newest coarse index rolled up
	dropped   uint64

	// hot is the open bucket last counted into, spanning [hotFrom, hotTo) in
	// nanoseconds: most events fall in the current minute, and this spares them
	// two 64-bit divisions. Advance clears it.
	hot            *Bucket
	hotFrom, hotTo int64

	open   []*Bucket // slot idx mod len; holds only buckets in [closed, closed+len)
	fine   []*Bucket // slot idx mod len; holds only buckets in [closed−len, closed)
	coarse []*Bucket // slot cidx mod len; valid when cidx > coarseTop−len
	free   []*Bucket // reset fine buckets ready for reuse
	roll   []*Bucket // Advance's scratch
}

// NewWindow returns an empty window; nothing is allocated per bucket until used.
func NewWindow(cfg WindowConfig) (*Window, error) {
	plan, err := cfg.Plan()
	if err != nil {
		return nil, err
	}
	fineLike := plan.OpenBuckets + cfg.FineBuckets
	return &Window{
		cfg:       cfg,
		plan:      plan,
		bucketNs:  int64(cfg.Bucket),
		coarseNs:  int64(cfg.CoarseBucket),
		lateNs:    int64(cfg.AllowedLateness),
		perCoarse: int64(cfg.CoarseBucket / cfg.Bucket),
		open:      make([]*Bucket, plan.OpenBuckets),
		fine:      make([]*Bucket, cfg.FineBuckets),
		coarse:    make([]*Bucket, cfg.CoarseBuckets),
		free:      make([]*Bucket, 0, fineLike),
		roll:      make([]*Bucket, 0, fineLike),
	}, nil
}

// Config returns the window's configuration.
func (w *Window) Config() WindowConfig { return w.cfg }

// Plan returns the widths and bounds the configuration worked out to.
func (w *Window) Plan() WindowPlan { return w.plan }

func (w *Window) newCountMin(width int) *CountMin {
	c := &CountMin{counts: make([]uint32, width*w.plan.Depth)}
	c.setShape(width, w.plan.Depth)
	return c
}

func (w *Window) newBucket(coarse bool) *Bucket {
	b := &Bucket{
		Mentions: w.newCountMin(w.plan.MentionsWidth),
		Reports:  w.newCountMin(w.plan.ReportsWidth),
	}
	if !coarse {
		b.Top = &TopK{k: w.cfg.TopK}
		b.ReportTop = &TopK{k: w.cfg.TopK}
	}
	return b
}

func (w *Window) setFineIdx(b *Bucket, idx int64) {
	b.idx = idx
	b.Start = time.Unix(0, idx*w.bucketNs).UTC()
	b.End = b.Start.Add(w.cfg.Bucket)
}

func (w *Window) setCoarseIdx(b *Bucket, cidx int64) {
	b.idx = cidx
	b.Start = time.Unix(0, cidx*w.coarseNs).UTC()
	b.End = b.Start.Add(w.cfg.CoarseBucket)
}

// take returns an empty fine bucket for idx, reusing a recycled one if it can.
func (w *Window) take(idx int64) *Bucket {
	var b *Bucket
	if n := len(w.free); n > 0 {
		b = w.free[n-1]
		w.free[n-1] = nil
		w.free = w.free[:n-1]
	} else {
		b = w.newBucket(false)
	}
	w.setFineIdx(b, idx)
	return b
}

func (w *Window) recycle(b *Bucket) {
	b.reset()
	w.free = append(w.free, b)
}

func (w *Window) start(closed int64) {
	w.started = true
	w.closed = closed
	w.first = closed
}

func (w *Window) index(ts time.Time) int64 { return floorDiv(ts.UnixNano(), w.bucketNs) }

// bucketFor returns the open bucket of ts, opening it if need be.
func (w *Window) bucketFor(ts time.Time) (*Bucket, error) {
	ns := ts.UnixNano()
	if w.hot != nil && ns >= w.hotFrom && ns < w.hotTo {
		return w.hot, nil
	}
	idx := floorDiv(ns, w.bucketNs)
	if !w.started {
		w.start(floorDiv(ns-w.lateNs, w.bucketNs))
	}
	if idx < w.closed {
		w.dropped++
		return nil, ErrLate
	}
	n := int64(len(w.open))
	if idx-w.closed >= n {
		return nil, ErrTooEarly
	}
	s := floorMod(idx, n)
	b := w.open[s]
	if b == nil {
		b = w.take(idx)
		w.open[s] = b
	}
	w.hot, w.hotFrom, w.hotTo = b, idx*w.bucketNs, (idx+1)*w.bucketNs
	return b, nil
}

// Mention counts n mentions of the term key (hash h) at ts: in the bucket's
// mentions sketch and its top-K.
func (w *Window) Mention(ts time.Time, key string, h uint64, n uint32) error {
	if len(key) > w.cfg.MaxKeyBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrKeyTooLong, len(key), w.cfg.MaxKeyBytes)
	}
	b, err := w.bucketFor(ts)
	if err != nil || n == 0 {
		return err
	}
	b.Mentions.Add(h, n)
	b.Top.Add(key, h, n)
	return nil
}

// MentionDerived counts n mentions (hash h) at ts in the count-min only: for a
// term derived from others (a hashtag's family), whose counts and history must
// be kept but which is neither a heavy hitter of its own (its members are) nor
// another distinct term. It costs a third of Mention.
func (w *Window) MentionDerived(ts time.Time, h uint64, n uint32) error {
	b, err := w.bucketFor(ts)
	if err != nil || n == 0 {
		return err
	}
	b.Mentions.Add(h, n)
	return nil
}

// Report counts n reports attributed to the term key (hash h) at ts.
func (w *Window) Report(ts time.Time, key string, h uint64, n uint32) error {
	if len(key) > w.cfg.MaxKeyBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrKeyTooLong, len(key), w.cfg.MaxKeyBytes)
	}
	b, err := w.bucketFor(ts)
	if err != nil || n == 0 {
		return err
	}
	b.Reports.Add(h, n)
	b.ReportTop.Add(key, h, n)
	return nil
}

// Event counts one content event at ts, whatever its number of terms.
func (w *Window) Event(ts time.Time) error {
	b, err := w.bucketFor(ts)
	if err != nil {
		return err
	}
	b.Events++
	return nil
}

// ReportEvent counts one report event at ts.
func (w *Window) ReportEvent(ts time.Time) error {
	b, err := w.bucketFor(ts)
	if err != nil {
		return err
	}
	b.ReportEvents++
	return nil
}

// Open returns the open bucket holding ts, or nil if there is none (closed, not
// yet opened, or out of range).
func (w *Window) Open(ts time.Time) *Bucket {
	if !w.started {
		return nil
	}
	idx := w.index(ts)
	if idx < w.closed || idx-w.closed >= int64(len(w.open)) {
		return nil
	}
	b := w.open[floorMod(idx, int64(len(w.open)))]
	if b == nil || b.idx != idx {
		return nil
	}
	return b
}

// Advance closes every open bucket whose end + AllowedLateness <= watermark and
// returns the closed buckets, oldest first, one per bucket interval (empty ones
// included). They are read-only for the caller and belong to the fine ring, which
// reuses a bucket FineBuckets intervals later: a caller must not keep one longer.
// Buckets that fall out of the fine ring are merged into the coarse ring; coarse
// buckets out of its range are dropped. When the watermark jumps more than
// FineBuckets, only the buckets that remain in the fine ring are returned; the
// older ones go straight to the coarse ring.
func (w *Window) Advance(watermark time.Time) []*Bucket {
	target := floorDiv(watermark.UnixNano()-w.lateNs, w.bucketNs)
	if !w.started {
		w.start(target)
		return nil
	}
	if target <= w.closed {
		return nil
	}
	w.hot = nil
	keep := target - int64(len(w.fine)) // buckets before keep leave the fine ring
	roll := w.roll[:0]
	for i, b := range w.fine {
		if b != nil && b.idx < keep {
			roll = append(roll, b)
			w.fine[i] = nil
		}
	}
	for i, b := range w.open {
		if b != nil && b.idx < keep {
			roll = append(roll, b)
			w.open[i] = nil
		}
	}
	slices.SortFunc(roll, func(a, b *Bucket) int { return cmp.Compare(a.idx, b.idx) })
	for i, b := range roll {
		w.rollup(floorDiv(b.idx, w.perCoarse), b)
		w.recycle(b)
		roll[i] = nil
	}
	w.roll = roll[:0]

	lo := max(w.closed, keep)
	out := make([]*Bucket, 0, target-lo)
	nOpen, nFine := int64(len(w.open)), int64(len(w.fine))
	for idx := lo; idx < target; idx++ {
		s := floorMod(idx, nOpen)
		b := w.open[s]
		if b != nil && b.idx == idx {
			w.open[s] = nil
		} else {
			b = w.take(idx)
		}
		w.fine[floorMod(idx, nFine)] = b
		out = append(out, b)
	}
	w.closed = target
	return out
}

// rollup merges b into the coarse bucket cidx. Callers roll up in ascending
// order, so a bucket older than the coarse ring's range is dropped.
func (w *Window) rollup(cidx int64, b *Bucket) {
	n := int64(len(w.coarse))
	if w.hasCoarse && cidx <= w.coarseTop-n {
		return
	}
	if !w.hasCoarse || cidx > w.coarseTop {
		w.hasCoarse = true
		w.coarseTop = cidx
	}
	s := floorMod(cidx, n)
	c := w.coarse[s]
	switch {
	case c == nil:
		c = w.newBucket(true)
		w.setCoarseIdx(c, cidx)
		w.coarse[s] = c
	case c.idx != cidx:
		c.reset()
		w.setCoarseIdx(c, cidx)
	}
	if !b.empty() {
		if err := c.mergeFrom(b); err != nil {
			panic(err) // unreachable: every bucket of a window has the window's shape
		}
	}
}

// Closed returns the time before which every bucket is closed (the start of the
// oldest open bucket), or the zero time before the window has started.
func (w *Window) Closed() time.Time {
	if !w.started {
		return time.Time{}
	}
	return time.Unix(0, w.closed*w.bucketNs).UTC()
}

// OpenUntil is the watermark at which every bucket holding events now is
// closed, and false when none holds any. A caller about to advance past
// the fine ring (Advance rolls the buckets older than it up unreturned)
// advances to it first, so that those buckets are closed and judged.
func (w *Window) OpenUntil() (time.Time, bool) {
	newest, ok := int64(0), false
	for _, b := range w.open {
		if b != nil && (!ok || b.idx > newest) {
			newest, ok = b.idx, true
		}
	}
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(0, (newest+1)*w.bucketNs+w.lateNs).UTC(), true
}

// Dropped is the number of late events dropped so far.
func (w *Window) Dropped() uint64 { return w.dropped }

// Covered returns the range Count answers for: from the oldest time the window
// holds (the first bucket it saw, or the oldest coarse bucket kept) to Closed().
func (w *Window) Covered() (from, to time.Time) {
	if !w.started {
		return time.Time{}, time.Time{}
	}
	return time.Unix(0, w.coveredFrom()).UTC(), w.Closed()
}

func (w *Window) coveredFrom() int64 {
	from := w.first * w.bucketNs
	if w.hasCoarse {
		from = max(from, (w.coarseTop-int64(len(w.coarse))+1)*w.coarseNs)
	}
	return from
}

// Series returns the counts of h in the n buckets ending at or before `before`,
// oldest first: mentions[n−1] and reports[n−1] are the bucket that ends at or
// just before `before`. Buckets the fine ring does not hold (not closed yet,
// before the window started, or rolled up) are 0. Counts are count-min estimates,
// so a term nobody tracked until now still has its history.
func (w *Window) Series(h uint64, before time.Time, n int) (mentions, reports []float64) {
	if n <= 0 {
		return nil, nil
	}
	mentions, reports = make([]float64, n), make([]float64, n)
	if !w.started {
		return mentions, reports
	}
	end := w.index(before) // the bucket holding `before` has not ended by then
	nFine := int64(len(w.fine))
	for i := range n {
		idx := end - int64(n-i)
		if idx >= w.closed || idx < w.closed-nFine {
			continue
		}
		b := w.fine[floorMod(idx, nFine)]
		if b == nil || b.idx != idx {
			continue
		}
		mentions[i] = float64(b.Mentions.Estimate(h))
		reports[i] = float64(b.Reports.Estimate(h))
	}
	return mentions, reports
}

// Count sums the counts of h over [from, to): from the fine ring where it holds
// the buckets and from the coarse ring before that. A bucket partly inside the
// range is pro-rated by the fraction of it inside (counts are taken as uniform
// within a bucket), so a bucket-aligned range is summed exactly and a range within
// one coarse bucket gets its share of the hour. A coarse bucket that the window
// started part way through is pro-rated over the part it holds. The range must
// lie within Covered(); otherwise the error wraps ErrNotCovered, which is how a
// caller learns that, say, yesterday is not known yet.
func (w *Window) Count(h uint64, from, to time.Time) (mentions, reports uint64, err error) {
	if to.Before(from) {
		return 0, 0, fmt.Errorf("sketches: count: range end %s before its start %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	cf, ct := w.Covered()
	if !w.started || from.Before(cf) || to.After(ct) {
		return 0, 0, fmt.Errorf("%w: [%s, %s) is outside [%s, %s)", ErrNotCovered,
			from.Format(time.RFC3339), to.Format(time.RFC3339), cf.Format(time.RFC3339), ct.Format(time.RFC3339))
	}
	f, t := from.UnixNano(), to.UnixNano()
	if f == t {
		return 0, 0, nil
	}
	var m, r float64
	add := func(b *Bucket, lo, hi int64) {
		ov := min(hi, t) - max(lo, f)
		if ov <= 0 || hi <= lo {
			return
		}
		frac := float64(ov) / float64(hi-lo)
		m += frac * float64(b.Mentions.Estimate(h))
		r += frac * float64(b.Reports.Estimate(h))
	}
	nFine := int64(len(w.fine))
	fineFrom := max(w.closed-nFine, w.first) // first bucket index the fine ring may hold
	for idx := max(floorDiv(f, w.bucketNs), fineFrom); idx < w.closed && idx*w.bucketNs < t; idx++ {
		if b := w.fine[floorMod(idx, nFine)]; b != nil && b.idx == idx {
			add(b, idx*w.bucketNs, (idx+1)*w.bucketNs)
		}
	}
	if fineStart := fineFrom * w.bucketNs; f < fineStart && w.hasCoarse {
		nCoarse := int64(len(w.coarse))
		firstNs := w.first * w.bucketNs
		for cidx := max(floorDiv(f, w.coarseNs), w.coarseTop-nCoarse+1); cidx <= w.coarseTop && cidx*w.coarseNs < min(t, fineStart); cidx++ {
			c := w.coarse[floorMod(cidx, nCoarse)]
			if c == nil || c.idx != cidx {
				continue
			}
			// The coarse bucket holds only the fine buckets that left the fine
			// ring, and none before the window started.
			add(c, max(cidx*w.coarseNs, firstNs), min((cidx+1)*w.coarseNs, fineStart))
		}
	}
	return uint64(math.Round(m)), uint64(math.Round(r)), nil
}

// Share is how much of a count made at instant at Count(h, from, to) takes in:
// Count spreads a bucket's count evenly over its span (a coarse bucket's over
// the part the fine ring no longer holds) and takes the share of the span
// inside the range. 0 for an instant in an open bucket, outside the range, or
// outside what the window holds. A caller that keeps its own record of counts
// (pipeline: a term's surges) takes them out of Count's answer with it.
func (w *Window) Share(at, from, to time.Time) float64 {
	f, t, a := from.UnixNano(), to.UnixNano(), at.UnixNano()
	if !w.started || t <= f {
		return 0
	}
	frac := func(lo, hi int64) float64 {
		ov := min(hi, t) - max(lo, f)
		if ov <= 0 || hi <= lo {
			return 0
		}
		return float64(ov) / float64(hi-lo)
	}
	nFine := int64(len(w.fine))
	fineFrom := max(w.closed-nFine, w.first)
	idx := floorDiv(a, w.bucketNs)
	switch {
	case idx >= w.closed || idx < w.first:
		return 0
	case idx >= fineFrom:
		if b := w.fine[floorMod(idx, nFine)]; b != nil && b.idx == idx {
			return frac(idx*w.bucketNs, (idx+1)*w.bucketNs)
		}
		return 0
	case !w.hasCoarse:
		return 0
	}
	nCoarse := int64(len(w.coarse))
	cidx := floorDiv(a, w.coarseNs)
	if cidx < w.coarseTop-nCoarse+1 || cidx > w.coarseTop {
		return 0
	}
	if c := w.coarse[floorMod(cidx, nCoarse)]; c == nil || c.idx != cidx {
		return 0
	}
	return frac(max(cidx*w.coarseNs, w.first*w.bucketNs), min((cidx+1)*w.coarseNs, fineFrom*w.bucketNs))
}

// Bytes is the memory the window holds: every bucket's sketches, recycled ones
// included, and the rings. It never exceeds Plan().MaxBytes.
func (w *Window) Bytes() int64 {
	ptr := int(unsafe.Sizeof((*Bucket)(nil)))
	n := int(unsafe.Sizeof(Window{})) + ptr*(cap(w.open)+cap(w.fine)+cap(w.coarse)+cap(w.free)+cap(w.roll))
	for _, ring := range [][]*Bucket{w.open, w.fine, w.coarse, w.free} {
		for _, b := range ring {
			if b != nil {
				n += b.bytes()
			}
		}
	}
	return int64(n)
}

// shape is what two windows must share to merge or to restore a checkpoint.
type windowShape struct {
	bucket, coarseBucket, lateness time.Duration
	fine, coarse, topK             int
	plan                           WindowPlan
}

func (w *Window) shape() windowShape {
	p := w.plan
	p.MaxBytes = 0
	return windowShape{w.cfg.Bucket, w.cfg.CoarseBucket, w.cfg.AllowedLateness, w.cfg.FineBuckets, w.cfg.CoarseBuckets, w.cfg.TopK, p}
}

// Merge adds o's counts to w, bucket by bucket, for scale-out: several instances
// count disjoint parts of the stream and their windows are summed. The windows
// must have the same shape and be aligned (advanced to the same Closed()); an
// unstarted o is a no-op and an unstarted w takes o's alignment. The merged
// window covers (Covered, Count) only from the later of the two starts.
func (w *Window) Merge(o *Window) error {
	if w.shape() != o.shape() {
		return fmt.Errorf("sketches: window merge: shapes differ: %+v vs %+v", w.shape(), o.shape())
	}
	if !o.started {
		return nil
	}
	if w.started && w.closed != o.closed {
		return fmt.Errorf("sketches: window merge: closed at %s vs %s; advance both to the same watermark first", w.Closed().Format(time.RFC3339), o.Closed().Format(time.RFC3339))
	}
	if !w.started {
		w.start(o.closed)
		w.first = o.first
	}
	// An instance that started later knows nothing of its share of the stream
	// before it started, so the sum is only complete from the later start on.
	w.first = max(w.first, o.first)
	w.dropped = satAdd(w.dropped, o.dropped)
	for _, rings := range [...]struct{ mine, theirs []*Bucket }{{w.open, o.open}, {w.fine, o.fine}} {
		for s, ob := range rings.theirs {
			if ob == nil {
				continue
			}
			b := rings.mine[s]
			if b == nil {
				b = w.take(ob.idx)
				rings.mine[s] = b
			}
			if err := b.mergeFrom(ob); err != nil {
				return fmt.Errorf("sketches: window merge: bucket %s: %w", ob.Start.Format(time.RFC3339), err)
			}
		}
	}
	var coarse []*Bucket
	nCoarse := int64(len(o.coarse))
	for _, c := range o.coarse {
		if c != nil && o.hasCoarse && c.idx > o.coarseTop-nCoarse {
			coarse = append(coarse, c)
		}
	}
	slices.SortFunc(coarse, func(a, b *Bucket) int { return cmp.Compare(a.idx, b.idx) })
	for _, c := range coarse {
		w.rollup(c.idx, c)
	}
	return nil
}
