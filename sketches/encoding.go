package sketches

import (
	"errors"

	"github.com/trendwatch/trendwatch/internal/binenc"
)

// Every encoding is an envelope (see binenc.Format):
//
//	magic "TWSK" | version (1 byte) | kind (1 byte) | body | CRC-32C of body (4 bytes, little endian)
//
// The body's layout is given by each type's MarshalBinary, in binenc's
// encodings: integers are varints unless said otherwise, so small counters
// cost a byte.
const (
	kindCountMin byte = 1
	kindHLL      byte = 2
	kindTopK     byte = 3
	kindWindow   byte = 4
)

// ErrEncoding is wrapped by every error UnmarshalBinary returns for input that is
// not a valid encoding (truncated, corrupted, of another kind or version, or
// describing an impossible state).
var ErrEncoding = errors.New("sketches: invalid encoding")

// Version 2 (7 December 2026) dropped the window's distinct-terms HyperLogLog,
// which nothing read: a window of version 1 is read without it. The other
// kinds are the same in both.
var envelope = binenc.Format{
	Magic:      "TWSK",
	Version:    2,
	MinVersion: 1,
	Kinds:      []string{kindCountMin: "CountMin", kindHLL: "HLL", kindTopK: "TopK", kindWindow: "Window"},
	Invalid:    ErrEncoding,
}
