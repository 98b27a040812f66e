package event

import (
	"strings"
	"testing"
)

// The word-at-a-time helpers against the byte-at-a-time definitions they replace,
// at every offset of every byte value, so that each lands in a word and in the tail.
func TestSWARHelpers(t *testing.T) {
	isStop := func(c byte) bool { return strStop[c] }
	isPrintable := func(c byte) bool { return c >= 0x20 && c < 0x7f }
	isSuspect := func(c byte) bool { return c < 0x20 || c == 0x7f || c == 0xc2 }
	first := func(s string, from int, hit func(byte) bool) int {
		for i := from; i < len(s); i++ {
			if hit(s[i]) {
				return i
			}
		}
		return len(s)
	}
	for _, base := range []string{"", "a", "abcdefg", "0123456789abcdef", strings.Repeat("xyz", 11), "नेपाल नेपाल"} {
		for pos := 0; pos <= len(base); pos++ {
			for c := 0; c < 256; c++ {
				s := base[:pos] + string([]byte{byte(c)}) + base[pos:]
				for from := 0; from <= min(3, len(s)); from++ {
					if got, want := plainRun([]byte(s), from), first(s, from, isStop); got != want {
						t.Fatalf("plainRun(%q, %d) = %d, want %d", s, from, got, want)
					}
					if got, want := textSuspect(s, from), first(s, from, isSuspect); got != want {
						t.Fatalf("textSuspect(%q, %d) = %d, want %d", s, from, got, want)
					}
				}
				if got, want := printableRun(s), first(s, 0, func(c byte) bool { return !isPrintable(c) }); got != want {
					t.Fatalf("printableRun(%q) = %d, want %d", s, got, want)
				}
			}
		}
	}
}
