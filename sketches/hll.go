package sketches

import (
	"fmt"
	"unsafe"

	"github.com/axiomhq/hyperloglog"
)

const (
	// DefaultHLLPrecision gives 2^14 one-byte registers (16 KiB) and a standard
	// error of 1.04/√16384 ≈ 0.81 %.
	DefaultHLLPrecision uint8 = 14
	// MinHLLPrecision and MaxHLLPrecision are what axiomhq/hyperloglog supports.
	MinHLLPrecision uint8 = 4
	MaxHLLPrecision uint8 = 18
)

// HLL counts distinct keys (creators, reporters, regions, terms) in 2^precision
// registers. It wraps github.com/axiomhq/hyperloglog, always in its dense form:
// the sparse form saves memory for small sets but its size cannot be accounted
// for from outside the library and it inserts several times slower, and trendwatch
// needs both an honest Bytes and a cheap insert on the hot path. Pick a lower
// precision for the many small per-term sets (10 gives 1 KiB at 3.25 % error).
//
// The standard error of Estimate is 1.04/√(2^precision). Merging is exact: the
// registers of a merge of shards equal those of one sketch fed the union.
type HLL struct {
	sk *hyperloglog.Sketch
	p  uint8 // the library does not expose it
}

// NewHLL returns an empty HLL of 2^precision registers; precision must be in
// [MinHLLPrecision, MaxHLLPrecision].
func NewHLL(precision uint8) (*HLL, error) {
	if precision < MinHLLPrecision || precision > MaxHLLPrecision {
		return nil, fmt.Errorf("hll: precision must be in [%d, %d], got %d", MinHLLPrecision, MaxHLLPrecision, precision)
	}
	sk, err := hyperloglog.NewSketch(precision, false)
	if err != nil {
		return nil, fmt.Errorf("hll: precision %d: %w", precision, err)
	}
	return &HLL{sk: sk, p: precision}, nil
}

// InsertHash adds the key whose 64-bit hash is x, e.g. Hash(creatorID). The hash
// must be well mixed: its top bits pick the register.
func (h *HLL) InsertHash(x uint64) { h.sk.InsertHash(x) }

// Estimate returns the estimated number of distinct keys inserted. It costs a
// pass over the registers (about 2^precision float operations).
func (h *HLL) Estimate() uint64 {
	if h.sk == nil {
		return 0
	}
	if est, ok := h.fastEstimate(); ok {
		return est
	}
	return h.sk.Estimate()
}

// Precision returns log2 of the number of registers.
func (h *HLL) Precision() uint8 { return h.p }

// Merge adds o's keys to h. The precisions must be equal.
func (h *HLL) Merge(o *HLL) error {
	if h.Precision() != o.Precision() {
		return fmt.Errorf("hll: cannot merge precision %d into precision %d", o.Precision(), h.Precision())
	}
	if err := h.sk.Merge(o.sk); err != nil {
		return fmt.Errorf("hll: merge: %w", err)
	}
	return nil
}

// Clone returns a deep copy of h.
func (h *HLL) Clone() *HLL {
	if h.sk == nil {
		return &HLL{}
	}
	return &HLL{sk: h.sk.Clone(), p: h.p}
}

// Reset empties h, keeping its memory.
func (h *HLL) Reset() {
	if h.sk != nil {
		h.sk.Reset()
	}
}

// Bytes is the memory h holds: the registers and the headers.
func (h *HLL) Bytes() int {
	if h.sk == nil {
		return int(unsafe.Sizeof(HLL{}))
	}
	return hllBytes(h.p)
}

func hllBytes(precision uint8) int {
	return int(unsafe.Sizeof(HLL{})+unsafe.Sizeof(hyperloglog.Sketch{})) + 1<<precision
}

// MarshalBinary encodes h. Body: the library's version-2 dense encoding (version,
// precision, 0, 0, register count as big-endian uint32, registers).
func (h *HLL) MarshalBinary() ([]byte, error) { return h.AppendBinary(nil) }

// AppendBinary appends the encoding of h to dst.
func (h *HLL) AppendBinary(dst []byte) ([]byte, error) {
	if h.sk == nil {
		return dst, fmt.Errorf("hll: marshal of a zero HLL; use NewHLL")
	}
	start := len(dst)
	dst = envelope.AppendHeader(dst, kindHLL)
	dst, err := h.sk.AppendBinary(dst)
	if err != nil {
		return dst[:start], fmt.Errorf("hll: marshal: %w", err)
	}
	return envelope.Seal(dst, start), nil
}

// UnmarshalBinary replaces h with the sketch data encodes. Only the dense form
// MarshalBinary writes is accepted. On error h is unchanged.
func (h *HLL) UnmarshalBinary(data []byte) error {
	body, _, err := envelope.Open(data, kindHLL)
	if err != nil {
		return err
	}
	if len(body) < 4 {
		return fmt.Errorf("%w: hll: body of %d bytes, shorter than its 4-byte header", ErrEncoding, len(body))
	}
	if body[0] != 2 || body[3] != 0 {
		return fmt.Errorf("%w: hll: library encoding version %d, sparse %d; want the version 2 dense form", ErrEncoding, body[0], body[3])
	}
	var sk hyperloglog.Sketch
	if err := sk.UnmarshalBinary(body); err != nil {
		return fmt.Errorf("%w: hll: %w", ErrEncoding, err)
	}
	h.sk, h.p = &sk, body[1]
	return nil
}
