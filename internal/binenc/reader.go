package binenc

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// Reader reads what the Append functions wrote. Its error is sticky, as
// bufio.Scanner's is: after the first failure every read returns the zero
// value, so a decoder reads a whole record and checks Err once. Every error
// wraps the sentinel the Reader was made with and says what was being read,
// at which offset, which field, and why.
type Reader struct {
	invalid error
	what    string
	b       []byte
	off     int
	err     error
}

// NewReader reads b, an encoding of what (say "top-k"); its errors wrap
// invalid, the caller's sentinel for input that is not a valid encoding.
func NewReader(invalid error, what string, b []byte) *Reader {
	return &Reader{invalid: invalid, what: what, b: b}
}

// Err is the first failure, or nil.
func (r *Reader) Err() error { return r.err }

// Failf records a failure at the current offset, unless one is recorded
// already: decoders use it for values that read well but make no sense.
func (r *Reader) Failf(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at offset %d: %s", r.invalid, r.what, r.off, fmt.Sprintf(format, args...))
	}
}

// Offset is how many bytes have been read.
func (r *Reader) Offset() int { return r.off }

// Remaining is how many bytes are left to read.
func (r *Reader) Remaining() int { return len(r.b) - r.off }

// End returns Err, or an error if bytes are left over: a valid encoding is
// read to its last byte.
func (r *Reader) End() error {
	if r.err == nil && r.Remaining() != 0 {
		r.Failf("%d trailing bytes", r.Remaining())
	}
	return r.err
}

// head is what the input holds at the current offset, for an error message.
func (r *Reader) head() []byte { return r.b[r.off:min(len(r.b), r.off+binary.MaxVarintLen64)] }

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint(field string) uint64 { return r.uvarintPart(field, "") }

// UvarintMax reads an unsigned varint that must not exceed max.
func (r *Reader) UvarintMax(field string, max uint64) uint64 {
	v := r.Uvarint(field)
	if r.err == nil && v > max {
		r.Failf("%s: %d exceeds %d", field, v, max)
		return 0
	}
	return v
}

// uvarintPart is Uvarint of a part of field (say " length"), named in an
// error only: a name made for every read cost an allocation each.
func (r *Reader) uvarintPart(field, part string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.Failf("%s%s: truncated or overlong varint % x", field, part, r.head())
		return 0
	}
	r.off += n
	return v
}

// Varint reads a zig-zag varint.
func (r *Reader) Varint(field string) int64 { return r.varintPart(field, "") }

// varintPart is Varint of a part of field, as uvarintPart.
func (r *Reader) varintPart(field, part string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.Failf("%s%s: truncated or overlong varint % x", field, part, r.head())
		return 0
	}
	r.off += n
	return v
}

// fixed returns the next n bytes, or nil after recording that they are missing.
func (r *Reader) fixed(field string, n int) []byte {
	if r.err != nil {
		return nil
	}
	if r.Remaining() < n {
		r.Failf("%s: need %d bytes, have %d", field, n, r.Remaining())
		return nil
	}
	v := r.b[r.off : r.off+n]
	r.off += n
	return v
}

// U32 reads 4 bytes, little endian.
func (r *Reader) U32(field string) uint32 {
	if b := r.fixed(field, 4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

// U64 reads 8 bytes, little endian.
func (r *Reader) U64(field string) uint64 {
	if b := r.fixed(field, 8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// Float64 reads what AppendFloat64 wrote.
func (r *Reader) Float64(field string) float64 { return math.Float64frombits(r.U64(field)) }

// Byte reads one byte.
func (r *Reader) Byte(field string) byte {
	if b := r.fixed(field, 1); b != nil {
		return b[0]
	}
	return 0
}

// Bool reads what AppendBool wrote; any byte but 0 and 1 is an error.
func (r *Reader) Bool(field string) bool {
	switch v := r.Byte(field); v {
	case 0:
		return false
	case 1:
		return true
	default:
		r.Failf("%s: bool byte %d", field, v)
		return false
	}
}

// Raw returns the next n bytes without copying them; n is checked against
// the input before anything is sized from it.
func (r *Reader) Raw(field string, n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(r.Remaining()) {
		r.Failf("%s: length %d exceeds the %d bytes left", field, n, r.Remaining())
		return nil
	}
	return r.fixed(field, int(n))
}

// Bytes reads what AppendBytes wrote, without copying it.
func (r *Reader) Bytes(field string) []byte {
	return r.Raw(field, r.uvarintPart(field, " length"))
}

// String reads what AppendString wrote.
func (r *Reader) String(field string) string { return string(r.Bytes(field)) }

// Count reads the length of a list whose every entry takes at least a byte,
// so that no list longer than the input is ever allocated.
func (r *Reader) Count(field string) int {
	n := r.Uvarint(field)
	if r.err == nil && n > uint64(r.Remaining()) {
		r.Failf("%s: %d entries in %d bytes", field, n, r.Remaining())
		return 0
	}
	return int(n)
}

// Strings reads what AppendStrings wrote; an empty list reads as nil.
func (r *Reader) Strings(field string) []string {
	n := r.Count(field)
	if n == 0 || r.err != nil {
		return nil
	}
	out := make([]string, 0, n)
	for range n {
		out = append(out, r.String(field))
	}
	if r.err != nil {
		return nil
	}
	return out
}

// Time reads what AppendTime wrote, in UTC.
func (r *Reader) Time(field string) time.Time {
	switch tag := r.Byte(field); tag {
	case 0:
		return time.Time{}
	case 1:
		sec := r.varintPart(field, " seconds")
		nsec := r.uvarintPart(field, " nanoseconds")
		if r.err == nil && nsec >= 1e9 {
			r.Failf("%s: nanoseconds %d out of range", field, nsec)
		}
		if r.err != nil {
			return time.Time{}
		}
		return time.Unix(sec, int64(nsec)).UTC()
	default:
		r.Failf("%s: time tag %d", field, tag)
		return time.Time{}
	}
}
