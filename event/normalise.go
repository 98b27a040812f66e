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

// folder is stateless after construction; cases.Caser is not safe for concurrent
// use, so NormaliseHashtag builds one per call only when the fast path fails.
func newFolder() cases.Caser { return cases.Fold() }

// NormaliseHashtag turns what a user typed into the one spelling trendwatch counts:
// leading '#' (and the fullwidth '＃') stripped, Unicode NFKC (so fullwidth Latin
// becomes ASCII), case-folded, zero-width and variation-selector runes dropped. Marks
// are kept, so Devanagari (Nepali, Bhojpuri, Hindi) vowel signs and viramas survive.
// The result holds only letters, marks, digits and '_'; anything else is an error,
// because a platform's hashtag parser never produces it and a silent rewrite would
// merge distinct tags.
func NormaliseHashtag(s string, maxRunes int) (string, error) {
	s = strings.TrimLeft(s, "#＃")
	if s == "" {
		return "", ErrEmptyHashtag
	}
	// Bound the work before NFKC, which can expand a string up to 18x.
	if maxRunes > 0 && len(s) > 16*maxRunes {
		return "", fmt.Errorf("%w: %d bytes", ErrHashtagTooLong, len(s))
	}
	if isLowerASCIIWord(s) {
		if maxRunes > 0 && len(s) > maxRunes {
			return "", fmt.Errorf("%w: %d runes, limit %d", ErrHashtagTooLong, len(s), maxRunes)
		}
		return s, nil
	}
	s = norm.NFKC.String(s)
	s = newFolder().String(s)
	// Folding can produce sequences NFKC would compose again (e.g. some Greek and
	// Cherokee cases), so normalise once more to reach a fixed point.
	s = norm.NFKC.String(s)
	var b strings.Builder
	b.Grow(len(s))
	n := 0
	for _, r := range s {
		if dropped(r) {
			continue
		}
		if !(unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r) || r == '_') {
			return "", fmt.Errorf("%w: %q", ErrHashtagRunes, r)
		}
		b.WriteRune(r)
		n++
	}
	if n == 0 {
		return "", ErrEmptyHashtag
	}
	if maxRunes > 0 && n > maxRunes {
		return "", fmt.Errorf("%w: %d runes, limit %d", ErrHashtagTooLong, n, maxRunes)
	}
	return b.String(), nil
}

// isLowerASCIIWord is the fast path: most hashtags are already [a-z0-9_].
func isLowerASCIIWord(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// dropped reports the invisible runes that would otherwise split one hashtag into
// several spellings: zero-width space/joiners, word joiner, BOM, soft hyphen and
// variation selectors (emoji presentation included).
func dropped(r rune) bool {
	switch {
	case r >= 0x200B && r <= 0x200F, // ZWSP, ZWNJ, ZWJ, LRM, RLM
		r == 0x2060, r == 0xFEFF, r == 0x00AD,
		r >= 0xFE00 && r <= 0xFE0F,
		r >= 0xE0100 && r <= 0xE01EF:
		return true
	}
	return false
}

// checkID validates an opaque identifier (content, creator, challenge, sound IDs):
// non-empty, bounded, valid UTF-8 without control characters.
func checkID(s string, maxBytes int) error {
	if s == "" {
		return errors.New("empty")
	}
	if len(s) > maxBytes {
		return fmt.Errorf("%d bytes, limit %d", len(s), maxBytes)
	}
	return checkText(s)
}

func checkText(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("invalid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("control character %U", r)
		}
	}
	return nil
}
