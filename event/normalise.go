package event

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Errors returned by NormaliseHashtag; Decode maps them to dead-letter reasons.
var (
	ErrEmptyHashtag   = errors.New("hashtag is empty after normalisation")
	ErrHashtagTooLong = errors.New("hashtag too long")
	ErrHashtagRunes   = errors.New("hashtag holds characters other than letters, marks, digits and '_'")
)

// NormaliseHashtag turns what a user typed into the one spelling trendwatch counts:
// leading '#' (and the fullwidth '＃') stripped, default-ignorable runes (zero-width
// space and joiners, word joiner, BOM, soft hyphen, Hangul fillers, variation
// selectors, emoji presentation included) dropped, Unicode NFKC (so fullwidth Latin
// becomes ASCII), case-folded. Marks are kept, so Devanagari (Nepali, Bhojpuri,
// Hindi) vowel signs and viramas survive. The result holds only letters, spacing and
// non-spacing marks, decimal digits and '_'; anything else (including enclosing
// marks, which only build symbols such as keycap emoji) is an error, because a
// platform's hashtag parser never produces it and a silent rewrite would merge
// distinct tags. The result is a fixed point: normalising it again returns it.
func NormaliseHashtag(s string, maxRunes int) (string, error) {
	// Bound the work before NFKC, which can expand a string up to 18x, and
	// bound it before the '#'s are stripped: a megabyte of them before
	// "abc" passed as "abc", and the decoded post's strings, which the
	// hashtag is a slice of, went on holding the megabyte.
	if maxRunes > 0 && len(s) > maxRawTag(maxRunes) {
		return "", fmt.Errorf("%w: %d bytes", ErrHashtagTooLong, len(s))
	}
	s = trimHashes(s)
	if s == "" {
		return "", ErrEmptyHashtag
	}
	t, n, ok := normaliseFast(s)
	if !ok {
		// A joiner or a variation selector is what keeps most Devanagari and emoji-
		// decorated tags off the fast path; without them most take it after all.
		// normaliseSlow drops them first too, so the result is the same.
		if d := dropIgnorable(s); d != s && d != "" {
			t, n, ok = normaliseFast(d)
		}
	}
	if !ok {
		var err error
		if t, n, err = normaliseSlow(s); err != nil {
			return "", err
		}
	}
	if maxRunes > 0 && n > maxRunes {
		return "", fmt.Errorf("%w: %d runes, limit %d", ErrHashtagTooLong, n, maxRunes)
	}
	return t, nil
}

// trimHashes strips the leading '#'s and fullwidth '＃'s of a hashtag.
func trimHashes(s string) string {
	// Not strings.TrimLeft(s, "#＃"): a cutset that is not all ASCII takes its
	// rune-by-rune path, which cost more than the rest of an ASCII tag's normalisation.
	for {
		if strings.HasPrefix(s, "#") {
			s = s[1:]
		} else if strings.HasPrefix(s, "＃") {
			s = s[len("＃"):]
		} else {
			return s
		}
	}
}

// normaliseStable returns NormaliseHashtag(s, maxRunes) when normaliseFast takes
// s as it is and it fits: valid UTF-8 of letters, marks, digits and '_' only, so
// checkText would accept it too, and the decoder can skip that check.
func normaliseStable(s string, maxRunes int) (string, bool) {
	if maxRunes > 0 && len(s) > maxRawTag(maxRunes) {
		return "", false // NormaliseHashtag's to refuse
	}
	s = trimHashes(s)
	t, n, ok := normaliseFast(s)
	if !ok || n == 0 || maxRunes > 0 && n > maxRunes {
		return "", false
	}
	return t, true
}

// normaliseFast handles what most hashtags are, ASCII words and Devanagari, and
// Latin-1 letters and fullwidth ASCII letters and digits, without the NFKC and folding passes, which
// cost a microsecond on Devanagari and eight thousand instructions on "ＦＹＰ". It
// reports !ok when s holds anything those passes could change otherwise or
// refuse; n is the rune count of t.
func normaliseFast(s string) (t string, n int, ok bool) {
	upper, wide := false, false // an upper-case ASCII letter; a fullwidth form
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_':
			i++
		case c >= 'A' && c <= 'Z':
			upper = true
			i++
		case c == 0xe0 && i+2 < len(s) && s[i+1]&^1 == 0xa4 && s[i+2]&0xc0 == 0x80:
			// U+0900–U+097F, the Devanagari block, read in line: E0 A4–A5 80–BF.
			if !devanagariStable(0x900 | rune(s[i+1]&1)<<6 | rune(s[i+2]&0x3f)) {
				return "", 0, false
			}
			i += 3
		case c == 0xef && i+2 < len(s) && fullwidthASCII(s[i+1], s[i+2]) != 0:
			wide = true
			i += 3
		case c == 0xc3 && i+1 < len(s) && latin1Lower(s[i+1]) != 0:
			upper = upper || s[i+1] != latin1Lower(s[i+1])
			i += 2
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if !devanagariStable(r) {
				return "", 0, false
			}
			i += size
		default:
			return "", 0, false
		}
		n++
	}
	if !upper && !wide {
		return s, n, true
	}
	if !wide {
		// Lower-casing keeps every letter's length: in place.
		b := []byte(s)
		for i, c := range b {
			switch {
			case c >= 'A' && c <= 'Z':
				b[i] = c + 'a' - 'A'
			case c == 0xc3: // only ever a Latin-1 letter here
				b[i+1] = latin1Lower(b[i+1])
			}
		}
		return string(b), n, true
	}
	var stack [32]byte
	b := stack[:0]
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'A' && c <= 'Z':
			b = append(b, c+'a'-'A')
		case c == 0xef: // only ever a fullwidth form here: Devanagari leads with 0xe0
			b = append(b, fullwidthASCII(s[i+1], s[i+2]))
			i += 2
		case c == 0xc3:
			b = append(b, c, latin1Lower(s[i+1]))
			i++
		default:
			b = append(b, c)
		}
	}
	return string(b), n, true
}

// latin1Lower returns the second byte of what NFKC and case folding make of the
// Latin-1 letter C3 b (U+00C0–U+00FF): its lower-case form, which is NFKC and its
// own fold, and 2 bytes long like it. 0 for ×, ÷ and ß, which folds to "ss".
// Brazilian and Mexican tags ("música", "forró", "açaí") are most of the tags
// that took the slow path in the generator's stream.
func latin1Lower(b byte) byte {
	switch {
	case b == 0x97 || b == 0x9f || b == 0xb7: // ×, ß, ÷
		return 0
	case b >= 0x80 && b <= 0x9e:
		return b + 0x20
	case b >= 0xa0 && b <= 0xbf:
		return b
	}
	return 0
}

// fullwidthASCII returns what NFKC and case folding make of the fullwidth form
// EF b1 b2 when it is a digit, letter or low line (U+FF10–U+FF19, U+FF21–U+FF3A,
// U+FF3F, U+FF41–U+FF5A): the ASCII digit, lower-case letter or '_'. 0 for
// anything else.
func fullwidthASCII(b1, b2 byte) byte {
	switch {
	case b1 == 0xbc && b2 >= 0x90 && b2 <= 0x99:
		return '0' + b2 - 0x90
	case b1 == 0xbc && b2 >= 0xa1 && b2 <= 0xba:
		return 'a' + b2 - 0xa1
	case b1 == 0xbc && b2 == 0xbf:
		return '_'
	case b1 == 0xbd && b2 >= 0x81 && b2 <= 0x9a:
		return 'a' + b2 - 0x81
	}
	return 0
}

// devanagariStable reports the Devanagari letters, marks and digits that NFKC and
// case folding leave alone in any sequence: it leaves out the nukta and the letters
// that decompose into or compose from one, the Vedic tone marks (the only ones besides
// the virama with a combining class, so the only ones NFKC could reorder) and the
// punctuation (danda, double danda, abbreviation sign). TestDevanagariFastPath checks
// this against the full normalisation.
func devanagariStable(r rune) bool {
	if r < 0x0900 || r > 0x097F {
		return false
	}
	switch {
	case r == 0x0929, r == 0x0931, r == 0x0934, r == 0x093C,
		r >= 0x0951 && r <= 0x0954,
		r >= 0x0958 && r <= 0x095F,
		r == 0x0964, r == 0x0965, r == 0x0970:
		return false
	}
	return true
}

func normaliseSlow(s string) (string, int, error) {
	// Drop ignorables before NFKC: dropping them afterwards could leave a base letter
	// and a mark adjacent but uncomposed ("e", ZWJ, U+0301), which a second
	// normalisation would compose, so the result would not be a fixed point.
	s = dropIgnorable(s)
	s = norm.NFKC.String(s)
	// cases.Fold allocates nothing (its transformer is an empty struct), so a fresh
	// Caser per call costs less than sharing one safely between goroutines.
	s = cases.Fold().String(s)
	// x/text swaps Cherokee case instead of folding it (golang/go#46101): Unicode folds
	// the lower-case syllables, added later, to the upper-case ones.
	if strings.ContainsFunc(s, isCherokeeLower) {
		s = strings.Map(cherokeeUpper, s)
	}
	// Folding can produce sequences NFKC would compose again (e.g. some Greek and
	// Cherokee cases), so normalise once more to reach a fixed point.
	s = norm.NFKC.String(s)
	n := 0
	for _, r := range s {
		// An ignorable here was produced by normalisation: NFKC inserts U+034F after 30
		// marks in a row, which only Zalgo-style abuse needs.
		if ignorable(r) || !(unicode.IsLetter(r) || unicode.In(r, unicode.Mn, unicode.Mc) || unicode.IsDigit(r) || r == '_') {
			return "", 0, fmt.Errorf("%w: %q", ErrHashtagRunes, r)
		}
		n++
	}
	if n == 0 {
		return "", 0, ErrEmptyHashtag
	}
	return s, n, nil
}

func isCherokeeLower(r rune) bool {
	return r >= 0xAB70 && r <= 0xABBF || r >= 0x13F8 && r <= 0x13FD
}

func cherokeeUpper(r rune) rune {
	switch {
	case r >= 0xAB70 && r <= 0xABBF:
		return r - 0xAB70 + 0x13A0
	case r >= 0x13F8 && r <= 0x13FD:
		return r - 8
	}
	return r
}

// dropIgnorable returns s without ignorable runes, allocating only when it holds some.
func dropIgnorable(s string) string {
	i := strings.IndexFunc(s, ignorable)
	if i < 0 {
		return s
	}
	// Ra, virama, ZWJ is one of Unicode's two spellings of the eyelash ra
	// (Marathi दऱ्या "valleys"), the other ऱ्: dropped with the other
	// joiners, the ZWJ would make it the reph of दर्या "sea", another word.
	if strings.Contains(s, eyelashRaZWJ) {
		s = strings.ReplaceAll(s, eyelashRaZWJ, "\u0931\u094D")
		if i = strings.IndexFunc(s, ignorable); i < 0 {
			return s
		}
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for _, r := range s[i:] {
		if !ignorable(r) {
			b = utf8.AppendRune(b, r)
		}
	}
	return string(b)
}

// eyelashRaZWJ is the eyelash ra written with a zero-width joiner.
const eyelashRaZWJ = "\u0930\u094D\u200D"

// ignorable reports the invisible runes that would otherwise split one hashtag into
// several spellings: zero-width space/joiners, direction marks, word joiner, BOM, soft
// hyphen, variation selectors (emoji presentation and Mongolian included), the
// other default-ignorables that are letters or marks (combining grapheme joiner,
// Hangul fillers, Khmer inherent vowels), which would otherwise pass as text, and
// every other format character that shows nothing: bidirectional embeddings,
// overrides and isolates, the Arabic letter mark, invisible operators (U+2061–
// U+2064), the Mongolian vowel separator, tag characters. Until 7 December those
// refused the hashtag, so "#blackout\u2063challenge" (an invisible separator)
// hid the challenge. The visible format characters (the Arabic number signs and
// the other prepended concatenation marks, the interlinear annotation marks)
// are not ignorable, and refuse the hashtag as before.
func ignorable(r rune) bool {
	switch {
	case r < 0x034F:
		return r == 0x00AD
	case r >= 0x200B && r <= 0x200F, // ZWSP, ZWNJ, ZWJ, LRM, RLM
		r == 0x2060, r == 0xFEFF:
		return true
	case unicode.Is(unicode.Cf, r):
		return !unicode.Is(unicode.Prepended_Concatenation_Mark, r) && !(r >= 0xFFF9 && r <= 0xFFFB)
	}
	return unicode.In(r, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}

// checkID validates an opaque identifier (content, creator, challenge, sound IDs):
// non-empty, bounded, valid UTF-8 without control characters or U+FFFD.
func checkID(s string, maxBytes int) error {
	if s == "" {
		return errors.New("empty")
	}
	if len(s) > maxBytes {
		return fmt.Errorf("%d bytes, limit %d", len(s), maxBytes)
	}
	return checkText(s)
}

// errInvalidUTF8 marks checkText failures that are about encoding, not content.
var errInvalidUTF8 = errors.New("invalid UTF-8")

// checkText refuses invalid UTF-8, control characters and U+FFFD. encoding/json
// turns every unpaired surrogate escape ("\ud800", "\udc00", ...) into U+FFFD, so
// accepting it would merge distinct identifiers; a producer that sends a literal
// U+FFFD has already lost the original bytes.
func checkText(s string) error {
	// Hashtags and IDs are mostly ASCII: check bytes until the first that is not.
	i := printableRun(s)
	if i == len(s) {
		return nil
	}
	if c := s[i]; c < utf8.RuneSelf {
		return fmt.Errorf("control character %U", rune(c))
	}
	return checkTextRunes(s[i:])
}

func checkTextRunes(s string) error {
	if !utf8.ValidString(s) {
		return errInvalidUTF8
	}
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			return fmt.Errorf("%w: U+FFFD replacement character (unpaired surrogate escape?)", errInvalidUTF8)
		case unicode.IsControl(r):
			return fmt.Errorf("control character %U", r)
		}
	}
	return nil
}

// checkIDText is checkText for identifiers and codes (event, content, creator and
// reporter IDs, challenge and sound IDs, lang, reason), which also refuses format
// characters (Unicode Cf): bidirectional overrides and isolates (U+202A–U+202E,
// U+2066–U+2069) reorder whatever an alert sample or a webhook body shows after
// them, and zero-width ones make two different IDs look alike. Free text keeps
// them (Persian needs ZWNJ, right-to-left text its marks); hashtag normalisation
// drops or refuses them on its own.
func checkIDText(s string) error {
	i := printableRun(s)
	if i == len(s) {
		return nil
	}
	if c := s[i]; c < utf8.RuneSelf {
		return fmt.Errorf("control character %U", rune(c))
	}
	return checkIDRunes(s[i:])
}

func checkIDRunes(s string) error {
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			return fmt.Errorf("%w: U+FFFD replacement character or invalid byte (unpaired surrogate escape?)", errInvalidUTF8)
		case unicode.IsControl(r):
			return fmt.Errorf("control character %U", r)
		case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
			return fmt.Errorf("bidirectional control character %U", r)
		case unicode.Is(unicode.Cf, r):
			return fmt.Errorf("format character %U", r)
		}
	}
	return nil
}

// lowerASCIIHashtag normalises in place a hashtag that is, after its leading '#'s,
// only ASCII letters, digits and '_': it lower-cases the letters and returns how
// many '#' to skip. It reports !ok, changing nothing, for anything else, which
// takes NormaliseHashtag's full path. For such a tag NFKC and case folding reduce
// to ASCII lower-casing (FuzzLowerASCIIHashtag holds the two paths together), so
// the decoder can normalise a tag while it copies it, with no allocation.
func lowerASCIIHashtag(t []byte) (skip int, ok bool) {
	for skip < len(t) && t[skip] == '#' {
		skip++
	}
	if skip == len(t) {
		return 0, false
	}
	upper := false
	for _, c := range t[skip:] {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_':
		case 'A' <= c && c <= 'Z':
			upper = true
		default:
			return 0, false
		}
	}
	if upper {
		for i := skip; i < len(t); i++ {
			if c := t[i]; 'A' <= c && c <= 'Z' {
				t[i] = c + 'a' - 'A'
			}
		}
	}
	return skip, true
}
