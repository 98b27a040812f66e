package family

import (
	"math/rand/v2"
	"testing"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// TestTwoByteTable: the table of the runes of two UTF-8 bytes says what
// x/text, unicode and the confusables say of each.
func TestTwoByteTable(t *testing.T) {
	for r := rune(twoByteFirst); r < twoByteEnd; r++ {
		s := string(r)
		wantNFD := norm.NFD.String(s) == s && norm.NFD.PropertiesString(s).CCC() == 0
		if got := twoByte[r-twoByteFirst].flags&inNFD != 0; got != wantNFD {
			t.Errorf("%U: in NFD %v, want %v", r, got, wantNFD)
		}
		if got, want := mark(r), unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r); got != want {
			t.Errorf("%U: mark %v, want %v", r, got, want)
		}
		if got, want := letter(r), unicode.IsLetter(r); got != want {
			t.Errorf("%U: letter %v, want %v", r, got, want)
		}
		to, ok := confusable(r)
		i := searchConfusable(r)
		if ok != (i >= 0) || ok && to != confusables[i].to {
			t.Errorf("%U: confusable %q %v, want the table's entry %d", r, to, ok, i)
		}
	}
}

// TestNeedsNFD: a tag needsNFD passes is in NFD; one it does not pass is
// one x/text finds out of NFD, or one with runes the table does not cover.
func TestNeedsNFD(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	alphabet := [][2]rune{{'a', 'z'}, {0x80, 0x7FF}, {0x300, 0x36F}, {0x400, 0x4FF}, {0x900, 0x97F}}
	for range 100_000 {
		rs := make([]rune, 1+rng.IntN(12))
		for i := range rs {
			g := alphabet[rng.IntN(len(alphabet))]
			rs[i] = g[0] + rune(rng.IntN(int(g[1]-g[0]+1)))
		}
		s := string(rs)
		inNFD := norm.NFD.QuickSpanString(s) == len(s)
		if got := needsNFD(s); got == inNFD {
			t.Fatalf("%+q: needsNFD %v, but x/text says in NFD %v", s, got, inNFD)
		}
	}
}
