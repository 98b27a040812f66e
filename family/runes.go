package family

import (
	"sort"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The slow fold asks three tables of every rune that is not ASCII: x/text's
// whether the tag needs normalising, unicode's whether the rune is a mark or
// a letter, and the confusables' what it looks like. For a tag spelled with
// Cyrillic or Greek look-alike letters (blасkоutсhаllеngе, the usual evasion)
// those lookups were three quarters of its key: 490 ns, where the issue's
// budget is 300. The runes of two UTF-8 bytes (U+0080 to U+07FF: Latin with
// its accents, IPA, Greek, Cyrillic, Armenian, Hebrew, Arabic) have all three
// answers in one small table, made from the same sources when the package
// loads; other runes ask the sources.

// twoByteFirst and twoByteEnd bound the runes of two UTF-8 bytes.
const (
	twoByteFirst = utf8.RuneSelf
	twoByteEnd   = 0x800
)

// runeClass is what the fold needs to know of one rune.
type runeClass struct {
	conf  uint16 // 1 + its index in confusables; 0: it has no prototype
	flags uint8
}

const (
	// inNFD: NFD leaves the rune as it is and never reorders it (combining
	// class 0, no decomposition), so a tag of such runes and ASCII is in
	// NFD already.
	inNFD uint8 = 1 << iota
	isMark
	isLetter
)

// twoByte is the class of each rune of two UTF-8 bytes, from twoByteFirst.
var twoByte = classifyTwoByte()

func classifyTwoByte() *[twoByteEnd - twoByteFirst]runeClass {
	var t [twoByteEnd - twoByteFirst]runeClass
	for r := rune(twoByteFirst); r < twoByteEnd; r++ {
		c := &t[r-twoByteFirst]
		if p := norm.NFD.PropertiesString(string(r)); p.CCC() == 0 && len(p.Decomposition()) == 0 {
			c.flags |= inNFD
		}
		if unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) {
			c.flags |= isMark
		}
		if unicode.IsLetter(r) {
			c.flags |= isLetter
		}
		if i := searchConfusable(r); i >= 0 {
			c.conf = uint16(i + 1)
		}
	}
	return &t
}

// needsNFD reports whether s may not be in NFD: false only when it is.
func needsNFD(s string) bool {
	for _, r := range s {
		switch {
		case r < twoByteFirst:
		case r < twoByteEnd && twoByte[r-twoByteFirst].flags&inNFD != 0:
		default:
			return norm.NFD.QuickSpanString(s) != len(s)
		}
	}
	return false
}

// mark reports a combining mark (Mn or Me): an accent typed or not at will.
func mark(r rune) bool {
	if r >= twoByteFirst && r < twoByteEnd {
		return twoByte[r-twoByteFirst].flags&isMark != 0
	}
	return unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r)
}

// letter is unicode.IsLetter.
func letter(r rune) bool {
	if r >= twoByteFirst && r < twoByteEnd {
		return twoByte[r-twoByteFirst].flags&isLetter != 0
	}
	return unicode.IsLetter(r)
}

// confusable returns the prototype r looks like (UTS #39), if it has one.
func confusable(r rune) (string, bool) {
	i := -1
	if r >= twoByteFirst && r < twoByteEnd {
		i = int(twoByte[r-twoByteFirst].conf) - 1
	} else {
		i = searchConfusable(r)
	}
	if i < 0 {
		return "", false
	}
	return confusables[i].to, true
}

// searchConfusable is the index of r in confusables, -1 when it has none.
func searchConfusable(r rune) int {
	i := sort.Search(len(confusables), func(i int) bool { return confusables[i].from >= r })
	if i < len(confusables) && confusables[i].from == r {
		return i
	}
	return -1
}
