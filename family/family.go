package family

//go:generate go run gen_confusables.go

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Prefix starts a family's term key: "family:" + Key(value).
const Prefix = "family:"

// hashtagPrefix starts a hashtag's term key (event.KindHashtag).
const hashtagPrefix = "hashtag:"

// OfTerm is the family term of the term key term: a hashtag's family
// ("hashtag:bl4ckoutchallenge" → "family:blakautchalenj"), a family its own
// key, and "" for a term of another kind, which has none.
func OfTerm(term string) string {
	if strings.HasPrefix(term, Prefix) {
		return term
	}
	if v, ok := strings.CutPrefix(term, hashtagPrefix); ok && v != "" {
		return Prefix + Key(v)
	}
	return ""
}

const (
	// MaxPlain is the most letters a key may have for the term to stay its own
	// family: "fyp", "l0l" and "ootd" are too short for folding to tell a variant
	// from another word.
	MaxPlain = 4
	// MinLoose is the fewest letters a key must have for the loose rules
	// (doubled letters, i as l, the spelling rules of the package doc). Below it,
	// real words that differ in one such letter are common (hoping and hopping,
	// fails and falls); at and above it the measured false merges stay under one
	// per 10,000 words (see TestFalseMerges).
	MinLoose = 10
)

// Key returns the family key of a normalised hashtag value (event.NormaliseHashtag's
// output): every spelling of one tag that the package doc's rules fold has the same
// key. A term with at most MaxPlain letters after folding is its own family.
func Key(value string) string {
	var buf [96]byte
	k, _ := appendKey(buf[:0], value, MinLoose)
	return string(k)
}

// KeyOf is Key, and reports whether the term is its own family: a term of at most
// MaxPlain letters, whose family no other spelling can join (every other key has
// more letters), so counting the family apart would count the term twice.
func KeyOf(value string) (k string, own bool) {
	var buf [96]byte
	b, own := appendKey(buf[:0], value, MinLoose)
	return string(b), own
}

// AppendKey appends Key(value) to dst and reports what KeyOf does. With room
// in dst it allocates nothing for an ASCII value: a caller that keys a table
// by the family's hash need not make the string at all.
func AppendKey(dst []byte, value string) ([]byte, bool) { return appendKey(dst, value, MinLoose) }

func appendKey(dst []byte, value string, minLoose int) ([]byte, bool) {
	n := len(dst)
	k, letters := skeleton(dst, value)
	if letters <= MaxPlain {
		return append(k[:n], value...), true
	}
	if letters >= minLoose {
		var lb [96]byte
		// A fold down to a plain term's length (omgggggggggg → omg) is not
		// taken: that key is the plain term's own family, which counts the
		// term alone, and the long spellings would count under it unseen.
		if l := loose(lb[:0], k[n:]); countLetters(l) > MaxPlain {
			k = append(k[:n], l...)
		}
	}
	return k, false
}

// Fold is the strict fold of a normalised hashtag value, Key's first step at
// every length: separators dropped, digits and symbols inside a word read as
// letters, look-alike letters read as theirs, Devanagari transliterated,
// accents dropped. The watchlist matches its globs against it as well as
// against the value, so that *blackout* meets #bl4ckoutchallenge and
// #blасkоutchallenge with Cyrillic а and о.
func Fold(value string) string {
	var buf [96]byte
	k, _ := skeleton(buf[:0], value)
	return string(k)
}

// Loose is the loose fold of a normalised hashtag value at any length above
// MaxPlain letters (Key takes it only from MinLoose), "" for a shorter one,
// and whether the value has Devanagari in it. The watchlist matches its globs
// under it where a tag or a glob is written in Devanagari: a transliteration
// spells the vowels and the ck of "blackout" as Hindi says them
// (ब्लैकआउट → blakaaaut), which only the loose tier reads as blakaut, the
// loose fold of "blackout". A piece of MaxPlain letters or fewer is too
// short for the loose tier to tell it from parts of other words.
func Loose(value string) (string, bool) {
	deva := strings.IndexFunc(value, isDevanagari) >= 0
	var buf, lb [96]byte
	k, letters := skeleton(buf[:0], value)
	if letters <= MaxPlain {
		return "", deva
	}
	l := loose(lb[:0], k)
	if countLetters(l) <= MaxPlain {
		return "", deva
	}
	return string(l), deva
}

// countLetters counts the letters of b.
func countLetters(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if letter(r) {
			n++
		}
		i += size
	}
	return n
}

// skeleton returns the strict fold of s, appended to dst: separators dropped,
// digits inside a word read as letters, confusables replaced by their prototypes
// (UTS #39), Devanagari transliterated, other marks dropped. letters counts the
// letters of the result.
func skeleton(dst []byte, s string) (out []byte, letters int) {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return skeletonSlow(dst, s)
		}
	}
	return skeletonASCII(dst, s)
}

// skeletonASCII is the strict fold of ASCII, the fast path and the last pass of
// the slow one.
func skeletonASCII[S string | []byte](dst []byte, s S) ([]byte, int) {
	letters := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			dst = append(dst, c)
			letters++
		case c >= 'A' && c <= 'Z':
			dst = append(dst, c+'a'-'A')
			letters++
		case c >= '0' && c <= '9' || c == '$' || c == '@':
			j := i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '$' || s[j] == '@') {
				j++
			}
			if leet, ok := readAsLetters(s, i, j); ok {
				dst = append(dst, leet[:j-i]...)
				letters += j - i
			} else {
				dst = append(dst, s[i:j]...)
			}
			i = j - 1
		}
		// Anything else, '_' included, separates words and is dropped.
	}
	return dst, letters
}

// readAsLetters reports how s[i:j], a run of digits and symbols, reads as letters:
// only when letters stand on both sides of it ("bl4ck", "ch4ll3nge") and every
// one of it has a letter look-alike. Numbers before or after a word stay numbers:
// "covid19", "top10" and "dance2" are different tags from "covidl9" or "dance".
func readAsLetters[S string | []byte](s S, i, j int) (b [3]byte, ok bool) {
	if i == 0 || j == len(s) || !isASCIILetter(s[i-1]) || !isASCIILetter(s[j]) || j-i > len(b) {
		return b, false
	}
	for k := i; k < j; k++ {
		switch s[k] {
		case '4', '@':
			b[k-i] = 'a'
		case '3':
			b[k-i] = 'e'
		case '0':
			b[k-i] = 'o'
		case '1':
			b[k-i] = 'l'
		case '$', '5':
			b[k-i] = 's'
		case '7':
			b[k-i] = 't'
		default:
			return b, false
		}
	}
	return b, true
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func skeletonSlow(dst []byte, s string) ([]byte, int) {
	// NFD splits accented Latin letters into letter and mark, and Devanagari's
	// precomposed nukta letters (क़ ज़ फ़) into consonant and nukta. A tag of
	// ASCII and Devanagari alone is transliterated as it is instead, the
	// precomposed letters read whole (devanagari): normalising took two thirds
	// of the time of a Devanagari key. Any other letter starts the fold again
	// on the NFD of the tag, unless it is in NFD already.
	normalised := false
again:
	// The strict fold of the whole string, rune by rune, into a Latin-mostly
	// string; digits are decided on it afterwards so that "bl4сk" with a Cyrillic
	// с reads its 4 the way "bl4ck" does. The buffers are on the stack for a
	// hashtag of ordinary length.
	var (
		midBuf [192]byte
		akBuf  [16]akshara
	)
	mid, ak := midBuf[:0], akBuf[:0]
	run := -1 // where the run of Devanagari being read starts
	// accented: the marks after the letter last read are accents, typed or
	// not at will (café, cafe; καφές, καφες). In other scripts a mark is a
	// vowel or a tone that tells one word from another (Thai ข่าว "news",
	// ข้าว "rice"; Gurmukhi ਮੇਰਾ, ਮਰਾ), and stays.
	accented := false
	for i, r := range s {
		if isDevanagari(r) {
			if run < 0 {
				run = i
			}
			continue
		}
		if run >= 0 {
			mid, ak = appendDevanagari(mid, s[run:i], ak)
			run = -1
			accented = false
		}
		if r < utf8.RuneSelf {
			mid = append(mid, byte(r))
			accented = true
			continue
		}
		if !normalised {
			normalised = true
			if needsNFD(s) {
				s = norm.NFD.String(s)
				goto again
			}
		}
		switch {
		case mark(r):
			if !accented {
				mid = utf8.AppendRune(mid, r)
			}
		default:
			accented = unicode.In(r, unicode.Latin, unicode.Greek, unicode.Cyrillic)
			if to, ok := confusable(r); ok {
				for _, t := range to {
					if t < utf8.RuneSelf || !unicode.Is(unicode.Mn, t) {
						mid = utf8.AppendRune(mid, unicode.ToLower(t))
						accented = accented || t < utf8.RuneSelf
					}
				}
				continue
			}
			mid = utf8.AppendRune(mid, r)
		}
	}
	if run >= 0 {
		mid, _ = appendDevanagari(mid, s[run:], ak)
	}
	letters := 0
	for i := 0; i < len(mid); {
		c := mid[i]
		if c < utf8.RuneSelf {
			j := i
			for j < len(mid) && mid[j] < utf8.RuneSelf {
				j++
			}
			var n int
			dst, n = skeletonASCII(dst, mid[i:j])
			letters += n
			i = j
			continue
		}
		r, size := utf8.DecodeRune(mid[i:])
		if letter(r) {
			letters++
		}
		dst = append(dst, mid[i:i+size]...)
		i += size
	}
	return dst, letters
}

// loose appends the loose fold of k, a strict key, to dst. Its rules, in order,
// each one spelling people type for another:
//
//	ck → k            English spelling of k (black, blak, ब्लैक)
//	nge → nj, dge → j, final ge → j
//	                  the English j sound (challenge, chalenj, चैलेंज)
//	ou → au           the English "ow" sound (blackout, blakaut, ब्लैकआउट)
//	ai → a            ै as typed (chailenj)
//	CCya → CCa        Nepali's ya-phala and ā for the vowel of "black"
//	                  (ब्ल्याक, blyaak; च्यालेन्ज, chyaalenj)
//	bh dh gh jh kh → b d g j k
//	                  aspiration, typed or not in romanised Hindi
//	i → l             a capital I typed for l folds to i (bIackout)
//	doubled letters → one
//	                  vowel length (chaalenj) and doubled consonants (chalenge)
//	eee, oooo → e, o  a vowel drawn out (challengeee, blackooooout), first;
//	                  not i, which Roman numerals triple
func loose(dst []byte, k []byte) []byte {
	if drawnOut(k) {
		var buf [96]byte
		k = squeezeVowels(buf[:0], k)
	}
	// last is the last letter as written, before i became l: "il" and "li" stay
	// two letters, so illegitimate and legitimate do not meet.
	var last byte
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c >= utf8.RuneSelf {
			dst = append(dst, c)
			last = 0
			continue
		}
		var n1, n2 byte
		if i+1 < len(k) {
			n1 = k[i+1]
		}
		if i+2 < len(k) {
			n2 = k[i+2]
		}
		switch {
		case c == 'c' && n1 == 'k':
			c = 'k'
			i++
		case (c == 'n' || c == 'd') && n1 == 'g' && n2 == 'e':
			if c == 'n' {
				dst, last = emit(dst, last, 'n')
			}
			c = 'j'
			i += 2
		case c == 'g' && n1 == 'e' && i+2 == len(k):
			c = 'j'
			i++
		case c == 'o' && n1 == 'u':
			dst, last = emit(dst, last, 'a')
			c = 'u'
			i++
		case c == 'a' && n1 == 'i':
			i++
		case (c == 'b' || c == 'd' || c == 'g' || c == 'j' || c == 'k') && n1 == 'h':
			i++
		case c == 'y' && n1 == 'a' && consonant(last) && len(dst) >= 2 && consonant(dst[len(dst)-2]):
			// Nepali writes the vowel of "black" as ya-phala and ā after
			// a cluster (ब्ल्याक, च्यालेन्ज), where Hindi writes ै (ब्लैक,
			// चैलेंज). After one consonant (क्या, kya; ryan, rain) the y
			// is said, and stays.
			continue
		}
		dst, last = emit(dst, last, c)
	}
	return dst
}

// drawnOut reports whether k holds three of e, o or u in a row: the one
// pass a tag without them pays for squeezeVowels.
func drawnOut(k []byte) bool {
	for i := 2; i < len(k); i++ {
		if c := k[i]; (c == 'e' || c == 'o' || c == 'u') && k[i-1] == c && k[i-2] == c {
			return true
		}
	}
	return false
}

// squeezeVowels appends k to dst with each run of three or more of e, o or u
// written once. Such runs are a word drawn out for emphasis; English doubles
// a vowel (cartoons, cartons) but never triples one, so a pair stays. Not
// i: Roman numerals triple it (xiii, xi). Before the other rules, so that
// challengeee ends in the ge they read.
func squeezeVowels(dst, k []byte) []byte {
	for i := 0; i < len(k); i++ {
		c := k[i]
		dst = append(dst, c)
		if c != 'e' && c != 'o' && c != 'u' || i+2 >= len(k) || k[i+1] != c || k[i+2] != c {
			continue
		}
		for i+1 < len(k) && k[i+1] == c {
			i++
		}
	}
	return dst
}

// consonant reports a Latin consonant other than y.
func consonant(c byte) bool {
	switch c {
	case 'a', 'e', 'i', 'o', 'u', 'y':
		return false
	}
	return c >= 'a' && c <= 'z'
}

// emit appends c unless it doubles the letter before it, and writes i as l.
func emit(dst []byte, last, c byte) ([]byte, byte) {
	if c == last && doubles(c) {
		return dst, last
	}
	if c == 'i' {
		return append(dst, 'l'), c
	}
	return append(dst, c), c
}

// doubles reports the letters whose doubling loose folds: consonants, and a,
// which romanised Hindi doubles for ā. Other doubled vowels spell other words
// (cartoons, cartons; commandeer, commander).
func doubles(c byte) bool {
	switch c {
	case 'e', 'i', 'o', 'u':
		return false
	}
	return c >= 'a' && c <= 'z'
}

// Of returns the family term key of a term key, and false for a term that is not a
// hashtag: challenge and sound IDs are opaque, one ID one thing.
func Of(term string) (string, bool) {
	v, ok := strings.CutPrefix(term, "hashtag:")
	if !ok {
		return "", false
	}
	return Prefix + Key(v), true
}

// ShortASCII reports a hashtag that is its own family (KeyOf) without
// looking it up: ASCII of at most MaxPlain bytes has at most that many
// letters. fyp, ootd and lol are among the commonest tags of all.
func ShortASCII(v string) bool {
	if len(v) > MaxPlain {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] >= 0x80 {
			return false
		}
	}
	return true
}
