package binenc

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// castagnoli is the one CRC-32C table: the polynomial with hardware support
// on amd64 and arm64, so checksumming costs little beside the encoding.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum is the CRC-32C of b.
func Checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// UpdateChecksum returns the CRC-32C of what gave sum followed by p, for a
// checksum computed as the bytes stream past (start from 0).
func UpdateChecksum(sum uint32, p []byte) uint32 { return crc32.Update(sum, castagnoli, p) }

// TrailerLen is the size of an envelope's checksum.
const TrailerLen = 4

// Format is the envelope of one family of encodings:
//
//	magic | version (1 byte) | kind (1 byte, if Kinds) | body | CRC-32C (4 bytes, little endian)
//
// The magic and version say what the bytes are and how to read them, the
// kind which of the family's types they hold, and the checksum that they are
// the bytes that were written. A Format is a description, never changed once
// made.
type Format struct {
	// Magic opens every encoding.
	Magic string
	// Version is the version written; MinVersion, the oldest still read
	// (0: only Version).
	Version, MinVersion byte
	// Kinds names the types of the family by their kind byte (index 0 is
	// never a kind); nil: the format holds one type and has no kind byte.
	Kinds []string
	// SumHeader makes the checksum cover the header as well as the body.
	// The two layouts are those of checkpoints already written (the
	// lifecycle's sums its header, the sketches' do not), so both stay.
	SumHeader bool
	// Invalid is the sentinel that every error of Open wraps.
	Invalid error
}

// HeaderLen is the size of the header before the body.
func (f *Format) HeaderLen() int {
	if f.Kinds != nil {
		return len(f.Magic) + 2
	}
	return len(f.Magic) + 1
}

// Overhead is the size of the envelope around a body.
func (f *Format) Overhead() int { return f.HeaderLen() + TrailerLen }

// kindName names kind k for an error message.
func (f *Format) kindName(k byte) string {
	if int(k) < len(f.Kinds) && k != 0 && f.Kinds[k] != "" {
		return f.Kinds[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// AppendHeader appends the header of an encoding of kind (ignored if the
// format has no kinds). The body follows; Seal closes the envelope.
func (f *Format) AppendHeader(dst []byte, kind byte) []byte {
	dst = append(dst, f.Magic...)
	dst = append(dst, f.Version)
	if f.Kinds != nil {
		dst = append(dst, kind)
	}
	return dst
}

// Seal appends the checksum to an encoding whose header AppendHeader wrote
// at dst[start].
func (f *Format) Seal(dst []byte, start int) []byte {
	from := start
	if !f.SumHeader {
		from += f.HeaderLen()
	}
	return binary.LittleEndian.AppendUint32(dst, Checksum(dst[from:]))
}

// Open checks the envelope of data, which must hold kind (ignored if the
// format has no kinds) in a version this format reads, and returns its body
// and version. The body aliases data.
func (f *Format) Open(data []byte, kind byte) (body []byte, version byte, err error) {
	what := "encoding"
	if f.Kinds != nil {
		what = f.kindName(kind)
	}
	hl := f.HeaderLen()
	if len(data) < hl+TrailerLen {
		return nil, 0, fmt.Errorf("%w: %s: %d bytes, shorter than the %d-byte envelope", f.Invalid, what, len(data), hl+TrailerLen)
	}
	if m := data[:len(f.Magic)]; string(m) != f.Magic {
		return nil, 0, fmt.Errorf("%w: %s: bad magic %q, want %q", f.Invalid, what, m, f.Magic)
	}
	version = data[len(f.Magic)]
	lo := f.MinVersion
	if lo == 0 {
		lo = f.Version
	}
	if version < lo || version > f.Version {
		if lo == f.Version {
			return nil, 0, fmt.Errorf("%w: %s: unsupported version %d, want %d", f.Invalid, what, version, f.Version)
		}
		return nil, 0, fmt.Errorf("%w: %s: unsupported version %d, want %d to %d", f.Invalid, what, version, lo, f.Version)
	}
	if f.Kinds != nil {
		if k := data[len(f.Magic)+1]; k != kind {
			return nil, 0, fmt.Errorf("%w: encoding holds a %s, not a %s", f.Invalid, f.kindName(k), what)
		}
	}
	from := hl
	if f.SumHeader {
		from = 0
	}
	end := len(data) - TrailerLen
	sum := binary.LittleEndian.Uint32(data[end:])
	if got := Checksum(data[from:end]); got != sum {
		return nil, 0, fmt.Errorf("%w: %s: checksum %08x, content has %08x", f.Invalid, what, sum, got)
	}
	return data[hl:end], version, nil
}
