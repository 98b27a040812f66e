package sketches

import (
	"errors"
	"math"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// rowIndexes restates the index scheme independently of CountMin.Add: row r takes
// the next log2(width) bits of the hash, moving on to a remix of it when 64 bits
// are used up. It appends to dst.
func rowIndexes(dst []int, c *CountMin, h uint64) []int {
	logw := bits.TrailingZeros(uint(c.Width()))
	word, used := h, 0
	for r := 0; r < c.Depth(); r++ {
		if used+logw > 64 {
			word, used = remix(word), 0
		}
		dst = append(dst, r*c.Width()+int((word>>used)&uint64(c.Width()-1)))
		used += logw
	}
	return dst
}

// plainAdd is the textbook count-min update (every row += n), the reference that
// conservative update must never exceed and whose merge is exact.
func plainAdd(c *CountMin, h uint64, n uint32) {
	var buf [MaxCountMinDepth]int
	for _, i := range rowIndexes(buf[:0], c, h) {
		c.counts[i] += n
	}
	c.total += uint64(n)
}

func mustCountMin(t testing.TB, w, d int) *CountMin {
	t.Helper()
	c, err := NewCountMin(w, d)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewCountMinRejects(t *testing.T) {
	for _, tc := range []struct {
		width, depth int
		want         string
	}{
		{0, 4, "got 0"},
		{1, 4, "got 1"},
		{3, 4, "got 3"},
		{1000, 4, "got 1000"},
		{MaxCountMinWidth * 2, 4, "got 2147483648"},
		{1024, 0, "depth must be in [1, 32], got 0"},
		{1024, 33, "got 33"},
		{1 << 30, 2, "exceeds"},
	} {
		_, err := NewCountMin(tc.width, tc.depth)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewCountMin(%d, %d) = %v, want an error containing %q", tc.width, tc.depth, err, tc.want)
		}
	}
}

func TestNewCountMinForError(t *testing.T) {
	for _, tc := range []struct {
		eps, delta   float64
		width, depth int
	}{
		{0.01, 0.01, 512, 5},   // e/0.01 = 271.8 → 512; ln 100 = 4.6 → 5
		{0.001, 0.02, 4096, 4}, // 2718.3 → 4096; ln 50 = 3.9 → 4
		{math.E / 1024, 0.5, 1024, 1},
		{1e-5, 1e-6, 1 << 19, 14}, // 271828 → 2^19; ln 1e6 = 13.8 → 14
	} {
		c, err := NewCountMinForError(tc.eps, tc.delta)
		if err != nil {
			t.Fatalf("NewCountMinForError(%v, %v): %v", tc.eps, tc.delta, err)
		}
		if c.Width() != tc.width || c.Depth() != tc.depth {
			t.Errorf("NewCountMinForError(%v, %v) = %d×%d, want %d×%d", tc.eps, tc.delta, c.Width(), c.Depth(), tc.width, tc.depth)
		}
		if c.Epsilon() > tc.eps || c.Delta() > tc.delta {
			t.Errorf("NewCountMinForError(%v, %v) gives ε=%v δ=%v, weaker than asked", tc.eps, tc.delta, c.Epsilon(), c.Delta())
		}
	}
	for _, tc := range []struct{ eps, delta float64 }{{0, 0.1}, {1, 0.1}, {-1, 0.1}, {0.1, 0}, {0.1, 1}, {math.NaN(), 0.1}, {1e-12, 0.1}, {0.1, 1e-30}} {
		if _, err := NewCountMinForError(tc.eps, tc.delta); err == nil {
			t.Errorf("NewCountMinForError(%v, %v) accepted", tc.eps, tc.delta)
		}
	}
}

func TestCountMinIndexesAreBitSlices(t *testing.T) {
	// 64, 60, 32, 78 and 100 index bits: the last two run on into remix.
	for _, shape := range [][2]int{{1 << 16, 4}, {1 << 10, 6}, {2, 32}, {1 << 13, 6}, {1 << 20, 5}} {
		c := mustCountMin(t, shape[0], shape[1])
		r := rand.New(rand.NewPCG(7, uint64(shape[0])))
		for range 50 {
			h := r.Uint64()
			n := uint32(r.IntN(5) + 1)
			before := slices.Clone(c.counts)
			c.Add(h, n)
			want := rowIndexes(nil, c, h)
			for i := range c.counts {
				if c.counts[i] != before[i] && !slices.Contains(want, i) {
					t.Fatalf("%d×%d: Add(%#x) changed counter %d, not one of %v", shape[0], shape[1], h, i, want)
				}
			}
		}
	}
}

func TestCountMinConservativeUpdate(t *testing.T) {
	for _, shape := range [][2]int{{64, 4}, {256, 3}, {1 << 20, 5}} {
		cu := mustCountMin(t, shape[0], shape[1])
		plain := mustCountMin(t, shape[0], shape[1])
		r := rand.New(rand.NewPCG(1, 2))
		keys := make([]uint64, 2000)
		for i := range keys {
			keys[i] = r.Uint64()
		}
		truth := map[uint64]uint64{}
		for range 50000 {
			h := keys[int(math.Sqrt(float64(r.IntN(len(keys)*len(keys)))))] // skewed
			n := uint32(r.IntN(3) + 1)
			cu.Add(h, n)
			plainAdd(plain, h, n)
			truth[h] += uint64(n)
		}
		var cuErr, plainErr uint64
		for h, n := range truth {
			e, p := uint64(cu.Estimate(h)), uint64(plain.Estimate(h))
			if e < n {
				t.Fatalf("%v: estimate %d below the true %d", shape, e, n)
			}
			if e > p {
				t.Fatalf("%v: conservative estimate %d above the plain one %d", shape, e, p)
			}
			cuErr += e - n
			plainErr += p - n
		}
		for i := range cu.counts {
			if cu.counts[i] > plain.counts[i] {
				t.Fatalf("%v: counter %d is %d, above the plain sketch's %d", shape, i, cu.counts[i], plain.counts[i])
			}
		}
		if cu.Total() != plain.Total() {
			t.Fatalf("%v: total %d, want %d", shape, cu.Total(), plain.Total())
		}
		if shape[0] == 64 && cuErr >= plainErr {
			t.Errorf("%v: conservative update error %d not below plain %d", shape, cuErr, plainErr)
		}
		t.Logf("%v: summed overestimate: conservative %d, plain %d", shape, cuErr, plainErr)
	}
}

func TestCountMinSaturates(t *testing.T) {
	c := mustCountMin(t, 16, 2)
	c.Add(1, math.MaxUint32-1)
	c.Add(1, 5)
	if got := c.Estimate(1); got != math.MaxUint32 {
		t.Fatalf("estimate after overflow = %d, want saturation at %d", got, uint32(math.MaxUint32))
	}
	if c.Total() != math.MaxUint32+4 {
		t.Fatalf("total = %d, want %d", c.Total(), uint64(math.MaxUint32+4))
	}
	d := c.Clone()
	if err := c.Merge(d); err != nil {
		t.Fatal(err)
	}
	if got := c.Estimate(1); got != math.MaxUint32 {
		t.Fatalf("estimate after merge overflow = %d", got)
	}
	c.total = math.MaxUint64 - 1
	c.Add(2, 10)
	if c.Total() != math.MaxUint64 {
		t.Fatalf("total did not saturate: %d", c.Total())
	}
}

func TestCountMinMergeShape(t *testing.T) {
	a := mustCountMin(t, 1024, 4)
	for _, b := range []*CountMin{mustCountMin(t, 2048, 4), mustCountMin(t, 1024, 3)} {
		err := a.Merge(b)
		if err == nil || !strings.Contains(err.Error(), "cannot merge shape") {
			t.Errorf("merge of %d×%d into 1024×4: %v", b.Width(), b.Depth(), err)
		}
	}
}

func TestCountMinResetAndClone(t *testing.T) {
	c := mustCountMin(t, 64, 3)
	c.Add(42, 7)
	d := c.Clone()
	c.Reset()
	if c.Estimate(42) != 0 || c.Total() != 0 {
		t.Fatalf("after Reset: estimate %d, total %d", c.Estimate(42), c.Total())
	}
	if d.Estimate(42) != 7 || d.Total() != 7 {
		t.Fatalf("clone shares memory: estimate %d, total %d", d.Estimate(42), d.Total())
	}
}

func TestCountMinAddDoesNotAllocate(t *testing.T) {
	c := mustCountMin(t, 1<<16, 4)
	deep := mustCountMin(t, 1<<20, 8)
	h := uint64(0x1234567)
	if n := testing.AllocsPerRun(1000, func() { h = h*6364136223846793005 + 1; c.Add(h, 1); deep.Add(h, 1); _ = c.Estimate(h) }); n != 0 {
		t.Fatalf("Add allocates %v times per call", n)
	}
}

// heapGrowth measures what build keeps reachable, in bytes. Build enough that the
// test framework's own garbage (tens of KiB) is noise.
func heapGrowth(build func() any) (int64, any) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := build()
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc), v
}

func TestCountMinBytesIsHonest(t *testing.T) {
	const n = 16
	grown, v := heapGrowth(func() any {
		cs := make([]*CountMin, n)
		for i := range cs {
			cs[i] = mustCountMin(t, 1<<16, 4)
		}
		return cs
	})
	cs := v.([]*CountMin)
	want := int64(n * cs[0].Bytes())
	if d := math.Abs(float64(grown-want)) / float64(want); d > 0.02 {
		t.Fatalf("%d sketches: Bytes() sums to %d, heap grew by %d", n, want, grown)
	}
	runtime.KeepAlive(cs)
}

func TestCountMinRoundTrip(t *testing.T) {
	c := mustCountMin(t, 256, 5)
	r := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		c.Add(r.Uint64()%700, uint32(r.IntN(1000)))
	}
	c.Add(99, math.MaxUint32) // a saturated counter survives too
	b, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var d CountMin
	if err := d.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if d.Width() != c.Width() || d.Depth() != c.Depth() || d.Total() != c.Total() || !slices.Equal(d.counts, c.counts) {
		t.Fatal("round trip changed the sketch")
	}
	for h := range uint64(700) {
		if d.Estimate(h) != c.Estimate(h) {
			t.Fatalf("estimate of %d: %d after round trip, %d before", h, d.Estimate(h), c.Estimate(h))
		}
	}
	// Decoding into a sketch of another shape replaces it whole.
	e := mustCountMin(t, 2, 1)
	if err := e.UnmarshalBinary(b); err != nil || e.Width() != 256 || e.Depth() != 5 || e.Estimate(99) != c.Estimate(99) {
		t.Fatalf("decode into another shape: %v, %d×%d", err, e.Width(), e.Depth())
	}
}

func TestCountMinUnmarshalRejects(t *testing.T) {
	c := mustCountMin(t, 16, 2)
	c.Add(5, 3)
	good, _ := c.MarshalBinary()
	flip := func(i int) []byte { b := slices.Clone(good); b[i] ^= 0x40; return b }
	reseal := func(body []byte) []byte { return seal(kindCountMin, body) }
	hllEnc, _ := mustHLL(t, 4).MarshalBinary()
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "shorter than"},
		{"truncated", good[:len(good)-1], "checksum"},
		{"bad magic", flip(0), "bad magic"},
		{"bad version", flip(4), "unsupported version"},
		{"other kind", hllEnc, "holds a HLL, not a CountMin"},
		{"corrupt body", flip(envelope.HeaderLen() + 3), "checksum"},
		{"width not pow2", reseal([]byte{3, 1, 0, 0, 0, 0}), "power of two"},
		{"huge width, no counters", reseal([]byte{0x80, 0x80, 0x80, 0x80, 0x04, 1, 0}), "need at least"},
		{"counter above total", reseal([]byte{2, 1, 1, 2, 0}), "above the total"},
		{"row above total", reseal([]byte{2, 1, 1, 1, 1}), "row 0 sums to 2"},
		{"trailing", reseal([]byte{2, 1, 0, 0, 0, 0}), "trailing"},
		{"short", reseal([]byte{2, 1, 0, 0}), "need at least"},
		{"varint overflow", reseal([]byte{2, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}), "varint"},
		{"counter over 32 bits", reseal([]byte{2, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x80, 0x80, 0x80, 0x80, 0x20, 0}), "exceeds 4294967295"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := c.Clone()
			err := d.UnmarshalBinary(tc.data)
			if err == nil || !errors.Is(err, ErrEncoding) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrEncoding containing %q", err, tc.want)
			}
			if d.Estimate(5) != 3 || d.Total() != 3 || d.Width() != 16 {
				t.Fatal("a failed decode changed the receiver")
			}
		})
	}
}
