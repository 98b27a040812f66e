package sketches

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Every encoding is an envelope:
//
//	magic "TWSK" | version (1 byte) | kind (1 byte) | body | CRC-32C of body (4 bytes, little endian)
//
// The body's layout is given by each type's MarshalBinary. Integers in bodies are
// unsigned or zig-zag varints unless said otherwise, so small counters cost a byte.
const (
	encMagic   = "TWSK"
	encVersion = 1
	headerLen  = len(encMagic) + 2
	trailerLen = 4
)

type encKind byte

const (
	kindCountMin encKind = 1
	kindHLL      encKind = 2
	kindTopK     encKind = 3
	kindWindow   encKind = 4
)

func (k encKind) String() string {
	switch k {
	case kindCountMin:
		return "CountMin"
	case kindHLL:
		return "HLL"
	case kindTopK:
		return "TopK"
	case kindWindow:
		return "Window"
	}
	return fmt.Sprintf("kind(%d)", byte(k))
}

// ErrEncoding is wrapped by every error UnmarshalBinary returns for input that is
// not a valid encoding (truncated, corrupted, of another kind or version, or
// describing an impossible state).
var ErrEncoding = errors.New("sketches: invalid encoding")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func appendHeader(dst []byte, k encKind) []byte {
	dst = append(dst, encMagic...)
	return append(dst, encVersion, byte(k))
}

// appendTrailer closes an envelope whose body starts at dst[bodyStart].
func appendTrailer(dst []byte, bodyStart int) []byte {
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[bodyStart:], castagnoli))
}

// openEnvelope checks the envelope of data and returns its body.
func openEnvelope(data []byte, want encKind) ([]byte, error) {
	if len(data) < headerLen+trailerLen {
		return nil, fmt.Errorf("%w: %s: %d bytes, shorter than the %d-byte envelope", ErrEncoding, want, len(data), headerLen+trailerLen)
	}
	if string(data[:len(encMagic)]) != encMagic {
		return nil, fmt.Errorf("%w: %s: bad magic %q, want %q", ErrEncoding, want, data[:len(encMagic)], encMagic)
	}
	if v := data[len(encMagic)]; v != encVersion {
		return nil, fmt.Errorf("%w: %s: unsupported version %d, want %d", ErrEncoding, want, v, encVersion)
	}
	if k := encKind(data[len(encMagic)+1]); k != want {
		return nil, fmt.Errorf("%w: encoding holds a %s, not a %s", ErrEncoding, k, want)
	}
	body := data[headerLen : len(data)-trailerLen]
	sum := binary.LittleEndian.Uint32(data[len(data)-trailerLen:])
	if got := crc32.Checksum(body, castagnoli); got != sum {
		return nil, fmt.Errorf("%w: %s: checksum %08x, body has %08x", ErrEncoding, want, sum, got)
	}
	return body, nil
}

// reader decodes a body. Its error is sticky: after the first failure every read
// returns zero, so decoders check r.err once per record instead of per field.
type reader struct {
	what string
	b    []byte
	off  int
	err  error
}

func newReader(what string, b []byte) *reader { return &reader{what: what, b: b} }

func (r *reader) failf(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at offset %d: %s", ErrEncoding, r.what, r.off, fmt.Sprintf(format, args...))
	}
}

func (r *reader) remaining() int { return len(r.b) - r.off }

func (r *reader) uvarint(field string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.failf("%s: truncated or overlong varint", field)
		return 0
	}
	r.off += n
	return v
}

func (r *reader) varint(field string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.failf("%s: truncated or overlong varint", field)
		return 0
	}
	r.off += n
	return v
}

// uvarintMax reads a uvarint that must not exceed max.
func (r *reader) uvarintMax(field string, max uint64) uint64 {
	v := r.uvarint(field)
	if r.err == nil && v > max {
		r.failf("%s: %d exceeds %d", field, v, max)
		return 0
	}
	return v
}

func (r *reader) u64(field string) uint64 {
	if r.err != nil {
		return 0
	}
	if r.remaining() < 8 {
		r.failf("%s: need 8 bytes, have %d", field, r.remaining())
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b[r.off:])
	r.off += 8
	return v
}

func (r *reader) byte1(field string) byte {
	if r.err != nil {
		return 0
	}
	if r.remaining() < 1 {
		r.failf("%s: need 1 byte, have 0", field)
		return 0
	}
	v := r.b[r.off]
	r.off++
	return v
}

// bytes returns the next n bytes without copying; n is checked against the input
// before anything is sized from it.
func (r *reader) bytes(field string, n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(r.remaining()) {
		r.failf("%s: length %d exceeds the %d bytes left", field, n, r.remaining())
		return nil
	}
	v := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return v
}

// lenPrefixed reads a uvarint length and that many bytes.
func (r *reader) lenPrefixed(field string) []byte {
	return r.bytes(field, r.uvarint(field+" length"))
}

func (r *reader) end() error {
	if r.err == nil && r.remaining() != 0 {
		r.failf("%d trailing bytes", r.remaining())
	}
	return r.err
}

func appendLenPrefixed(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}
