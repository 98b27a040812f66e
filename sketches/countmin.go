package sketches

import (
	"fmt"
	"math"
	"math/bits"
	"unsafe"

	"github.com/trendwatch/trendwatch/internal/binenc"
)

const (
	// MaxCountMinWidth and MaxCountMinDepth bound a count-min sketch's shape, so a
	// typo in a config or a corrupt checkpoint cannot ask for gigabytes.
	MaxCountMinWidth = 1 << 30
	MaxCountMinDepth = 32
)

// CountMin is a count-min sketch with conservative update: depth rows of width
// uint32 counters; a key increments one counter per row and its estimate is the
// smallest of them.
//
// Bound: with width w = e/ε and depth d = ln(1/δ), for every key,
// true ≤ Estimate ≤ true + ε·N with probability ≥ 1−δ, where N = Total(). The
// bound is the classic one for the plain sketch (Cormode and Muthukrishnan 2005);
// conservative update (Estan and Varghese 2002) only raises a counter as far as
// the key's new lower bound needs, so every counter stays ≤ its plain-sketch
// value and ≥ the count of every key that maps to it, and the same bound holds
// with a smaller error in practice, especially on skewed streams. The bound holds
// after Merge too: a merged counter is the sum of shard counters, so it is at most
// the plain sketch of the union's counter and at least every key's total count.
// What a merge does not give is the sketch conservative update would have built
// on the union: conservative update depends on order, so a merged sketch is not
// bit-for-bit the single-pass one (a plain sketch's would be).
//
// The row indexes come from the one 64-bit hash of the key: row r uses bits
// [r·log2(w), (r+1)·log2(w)) of it, so rows are independent when the hash is
// random and no row rehashes the key. When depth·log2(w) > 64 the bits run on into
// a remix of the hash. Keys whose hashes are equal are one key to the sketch.
//
// Counters saturate at math.MaxUint32 instead of wrapping, so an estimate never
// drops to a small number because a counter overflowed; Total is a saturating
// uint64.
type CountMin struct {
	counts  []uint32 // row r is counts[r*width : (r+1)*width]
	total   uint64
	width   int
	depth   int
	logw    uint
	mask    uint64
	perWord int // rows indexed from one 64-bit word
}

// NewCountMin returns a sketch of depth rows of width counters. Width must be a
// power of two in [2, MaxCountMinWidth] and depth in [1, MaxCountMinDepth].
func NewCountMin(width, depth int) (*CountMin, error) {
	if err := checkCountMinShape(width, depth); err != nil {
		return nil, err
	}
	c := &CountMin{}
	c.setShape(width, depth)
	c.counts = make([]uint32, width*depth)
	return c, nil
}

// NewCountMinForError returns the smallest sketch with the bound
// Estimate ≤ true + eps·N with probability ≥ 1−delta: width is the next power of
// two ≥ e/eps and depth is ceil(ln(1/delta)).
func NewCountMinForError(eps, delta float64) (*CountMin, error) {
	if !(eps > 0 && eps < 1) {
		return nil, fmt.Errorf("count-min: eps must be in (0, 1), got %v", eps)
	}
	if !(delta > 0 && delta < 1) {
		return nil, fmt.Errorf("count-min: delta must be in (0, 1), got %v", delta)
	}
	w := math.Ceil(math.E / eps)
	if w > MaxCountMinWidth {
		return nil, fmt.Errorf("count-min: eps %v needs width %.0f, more than %d", eps, w, MaxCountMinWidth)
	}
	d := int(math.Ceil(math.Log(1 / delta)))
	if d < 1 {
		d = 1
	}
	if d > MaxCountMinDepth {
		return nil, fmt.Errorf("count-min: delta %v needs depth %d, more than %d", delta, d, MaxCountMinDepth)
	}
	return NewCountMin(nextPow2(int(w)), d)
}

func checkCountMinShape(width, depth int) error {
	if width < 2 || width > MaxCountMinWidth || width&(width-1) != 0 {
		return fmt.Errorf("count-min: width must be a power of two in [2, %d], got %d", MaxCountMinWidth, width)
	}
	if depth < 1 || depth > MaxCountMinDepth {
		return fmt.Errorf("count-min: depth must be in [1, %d], got %d", MaxCountMinDepth, depth)
	}
	if width*depth > math.MaxInt32 {
		return fmt.Errorf("count-min: width %d × depth %d exceeds %d counters", width, depth, math.MaxInt32)
	}
	return nil
}

func (c *CountMin) setShape(width, depth int) {
	c.width = width
	c.depth = depth
	c.logw = uint(bits.TrailingZeros(uint(width)))
	c.mask = uint64(width - 1)
	c.perWord = 64 / int(c.logw)
}

func nextPow2(n int) int {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(n-1))
}

// Add counts n more occurrences of the key whose hash is h.
func (c *CountMin) Add(h uint64, n uint32) {
	if n == 0 {
		return
	}
	c.total = satAdd(c.total, uint64(n))
	if c.depth > c.perWord {
		c.addRemixed(h, n)
		return
	}
	// One hash holds every row's bits: read the rows' minimum, then raise the
	// rows below the new lower bound, recomputing the indexes rather than
	// keeping them (an index array would cost more to clear than to recompute).
	counts, width, mask, logw := c.counts, c.width, c.mask, c.logw&63
	lo := uint32(math.MaxUint32)
	x := h
	for off := 0; off < len(counts); off += width {
		lo = min(lo, counts[off+int(x&mask)])
		x >>= logw
	}
	v := satAdd32(lo, n)
	x = h
	for off := 0; off < len(counts); off += width {
		// Which rows need raising is a coin toss, so a branch here mispredicts
		// half the time; max compiles to a conditional move.
		i := off + int(x&mask)
		counts[i] = max(counts[i], v)
		x >>= logw
	}
}

// addRemixed is Add for a sketch whose rows need more than 64 index bits.
func (c *CountMin) addRemixed(h uint64, n uint32) {
	var idx [MaxCountMinDepth]int
	rows := idx[:c.depth]
	counts := c.counts
	x, word, left := h, h, c.perWord
	lo := uint32(math.MaxUint32)
	for r := range rows {
		if left == 0 {
			word = remix(word)
			x, left = word, c.perWord
		}
		rows[r] = r*c.width + int(x&c.mask)
		x >>= c.logw
		left--
		lo = min(lo, counts[rows[r]])
	}
	v := satAdd32(lo, n)
	for _, i := range rows {
		counts[i] = max(counts[i], v)
	}
}

func satAdd32(a, b uint32) uint32 {
	s := a + b
	if s < a {
		return math.MaxUint32
	}
	return s
}

// Estimate returns an upper bound of the count of the key whose hash is h; see
// CountMin for how far above the true count it can be.
func (c *CountMin) Estimate(h uint64) uint32 {
	counts, width, mask, logw := c.counts, c.width, c.mask, c.logw&63
	lo := uint32(math.MaxUint32)
	x, word, left := h, h, c.perWord
	for off := 0; off < len(counts); off += width {
		if left == 0 {
			word = remix(word)
			x, left = word, c.perWord
		}
		lo = min(lo, counts[off+int(x&mask)])
		x >>= logw
		left--
	}
	return lo
}

// Total is N, the sum of every n added (saturating).
func (c *CountMin) Total() uint64 { return c.total }

// Merge adds o's counts to c, so c answers for the union of both streams. The
// shapes must be equal: merging different shapes cannot give a correct answer.
func (c *CountMin) Merge(o *CountMin) error {
	if c.width != o.width || c.depth != o.depth {
		return fmt.Errorf("count-min: cannot merge shape %d×%d into %d×%d", o.width, o.depth, c.width, c.depth)
	}
	a := c.counts
	b := o.counts[:len(a)]
	for i, v := range b {
		a[i] = satAdd32(a[i], v)
	}
	c.total = satAdd(c.total, o.total)
	return nil
}

// Reset empties c, keeping its memory.
func (c *CountMin) Reset() {
	clear(c.counts)
	c.total = 0
}

// Clone returns a deep copy of c.
func (c *CountMin) Clone() *CountMin {
	d := *c
	d.counts = append([]uint32(nil), c.counts...)
	return &d
}

// Width is the number of counters per row.
func (c *CountMin) Width() int { return c.width }

// Depth is the number of rows.
func (c *CountMin) Depth() int { return c.depth }

// Epsilon is e/width, the ε of the bound Estimate ≤ true + ε·N.
func (c *CountMin) Epsilon() float64 { return math.E / float64(c.width) }

// Delta is exp(−depth), the probability that the bound fails for a given key.
func (c *CountMin) Delta() float64 { return math.Exp(-float64(c.depth)) }

// Bytes is the memory c holds: its counters and its header.
func (c *CountMin) Bytes() int { return countMinBytes(cap(c.counts)) }

func countMinBytes(counters int) int {
	return int(unsafe.Sizeof(CountMin{})) + 4*counters
}

// MarshalBinary encodes c. Body: width, depth, total, then width·depth counters
// row by row, all uvarints.
func (c *CountMin) MarshalBinary() ([]byte, error) {
	return c.AppendBinary(make([]byte, 0, envelope.Overhead()+16+len(c.counts)*2))
}

// AppendBinary appends the encoding of c to dst.
func (c *CountMin) AppendBinary(dst []byte) ([]byte, error) {
	start := len(dst)
	dst = envelope.AppendHeader(dst, kindCountMin)
	dst = binenc.AppendUvarint(dst, uint64(c.width))
	dst = binenc.AppendUvarint(dst, uint64(c.depth))
	dst = binenc.AppendUvarint(dst, c.total)
	for _, v := range c.counts {
		dst = binenc.AppendUvarint(dst, uint64(v))
	}
	return envelope.Seal(dst, start), nil
}

// UnmarshalBinary replaces c with the sketch data encodes. It checks every length
// against the input before allocating, and that the counters are consistent with
// the total (no counter, and no row's sum, above it). On error c is unchanged.
func (c *CountMin) UnmarshalBinary(data []byte) error {
	body, _, err := envelope.Open(data, kindCountMin)
	if err != nil {
		return err
	}
	r := binenc.NewReader(ErrEncoding, "count-min", body)
	width := r.UvarintMax("width", MaxCountMinWidth)
	depth := r.UvarintMax("depth", MaxCountMinDepth)
	total := r.Uvarint("total")
	if err := r.Err(); err != nil {
		return err
	}
	if err := checkCountMinShape(int(width), int(depth)); err != nil {
		return fmt.Errorf("%w: %w", ErrEncoding, err)
	}
	n := int(width * depth)
	// Each counter takes at least one byte, so this bounds the allocation by the input.
	if n > r.Remaining() {
		return fmt.Errorf("%w: count-min: %d×%d counters need at least %d bytes, have %d", ErrEncoding, width, depth, n, r.Remaining())
	}
	// Validate in a first pass so that c is only touched once data is known good.
	counters := body[r.Offset():]
	for row := 0; row < int(depth); row++ {
		var sum uint64
		for j := 0; j < int(width); j++ {
			v := r.UvarintMax("counter", math.MaxUint32)
			if err := r.Err(); err != nil {
				return err
			}
			if v > total {
				r.Failf("counter %d of row %d is %d, above the total %d", j, row, v, total)
				return r.Err()
			}
			sum += v
		}
		if sum > total {
			r.Failf("row %d sums to %d, above the total %d", row, sum, total)
			return r.Err()
		}
	}
	if err := r.End(); err != nil {
		return err
	}
	if cap(c.counts) >= n {
		c.counts = c.counts[:n]
	} else {
		c.counts = make([]uint32, n)
	}
	r = binenc.NewReader(ErrEncoding, "count-min counters", counters)
	for i := range c.counts {
		c.counts[i] = uint32(r.Uvarint("counter"))
	}
	c.setShape(int(width), int(depth))
	c.total = total
	return nil
}
