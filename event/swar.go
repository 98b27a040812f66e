package event

import (
	"encoding/binary"
	"math/bits"
)

// The scanner and the text checks look at every byte of a message, most of them
// plain ASCII; these helpers test eight bytes at once ("SIMD within a register")
// and fall back to a byte at a time only near what they look for. Each test sets
// the high bit of every byte it flags. A subtraction can borrow across bytes, but
// only out of a byte that is itself flagged, so the lowest flag is always exact,
// which is the only one the callers use.

const (
	lsb = 0x0101010101010101 // the low bit of every byte
	msb = 0x8080808080808080 // the high bit of every byte
)

// zeroBytes flags the zero bytes of x.
func zeroBytes(x uint64) uint64 { return (x - lsb) &^ x & msb }

// belowSpace flags the bytes of x below 0x20, the control characters.
func belowSpace(x uint64) uint64 { return (x - 0x20*lsb) &^ x & msb }

// fromDEL flags the bytes of x from 0x7f up: DEL and every byte of a rune
// beyond ASCII. Exact in every byte: the addition cannot carry out of one.
func fromDEL(x uint64) uint64 { return ((x &^ msb) + lsb | x) & msb }

// firstFlag is the index of the byte of the lowest flag in f, which is not 0.
func firstFlag(f uint64) int { return bits.TrailingZeros64(f) / 8 }

// load64 reads the eight bytes of s from i, little-endian as the flags count.
func load64(s string, i int) uint64 {
	w := s[i : i+8] // one bounds check, and the compiler loads the word in one move
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

// plainRun returns the index of the first byte from b[i] that ends the plain run
// of a JSON string (a quote, a backslash, a control character), or len(b).
func plainRun(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		if f := belowSpace(w) | zeroBytes(w^'"'*lsb) | zeroBytes(w^'\\'*lsb); f != 0 {
			return i + firstFlag(f)
		}
	}
	for ; i < len(b) && !strStop[b[i]]; i++ {
	}
	return i
}

// printableRun returns the length of the printable ASCII (0x20–0x7e) prefix of s.
func printableRun(s string) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := load64(s, i)
		if f := belowSpace(w) | fromDEL(w); f != 0 {
			return i + firstFlag(f)
		}
	}
	for ; i < len(s) && s[i] >= 0x20 && s[i] < 0x7f; i++ {
	}
	return i
}

// textSuspect returns the index of the first byte from s[i] that may start a
// control character in UTF-8 (below 0x20, DEL, or 0xc2, the lead byte of the C1
// controls), or len(s).
func textSuspect(s string, i int) int {
	for ; i+8 <= len(s); i += 8 {
		w := load64(s, i)
		if f := belowSpace(w) | zeroBytes(w^0x7f*lsb) | zeroBytes(w^0xc2*lsb); f != 0 {
			return i + firstFlag(f)
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == 0xc2 {
			return i
		}
	}
	return i
}
