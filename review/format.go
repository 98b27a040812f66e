package review

import (
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// when is a moment as a reader outside engineering writes it.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("Mon 2 Jan 2006, 15:04 UTC")
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("15:04")
}

// clockOn is clock for a page about day: a moment on another day (an
// incident that went on past midnight) carries its date.
func clockOn(t, day time.Time) string {
	if t.IsZero() || dayOf(t).Equal(dayOf(day)) {
		return clock(t)
	}
	return t.UTC().Format("Mon 2 Jan 15:04")
}

// words says a duration in minutes and hours: detection delays are minutes,
// never milliseconds.
func words(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	m := int(d.Round(time.Minute) / time.Minute)
	var s string
	switch {
	case d < time.Minute && d > 0:
		s = "under a minute"
	case m == 0:
		s = "within the same minute"
	case m < 60:
		s = plural(m, "minute")
	case m%60 == 0:
		s = plural(m/60, "hour")
	default:
		s = plural(m/60, "hour") + " " + plural(m%60, "minute")
	}
	if neg {
		return s + " before"
	}
	return s
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// count writes a number with thousands separators, whole when it is.
func count(v any) string {
	var f float64
	switch v := v.(type) {
	case uint64:
		f = float64(v)
	case int:
		f = float64(v)
	case float64:
		f = v
	default:
		return fmt.Sprint(v)
	}
	if f != math.Trunc(f) && math.Abs(f) < 1000 {
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	s := strconv.FormatFloat(math.Round(f), 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// verdictWords is a verdict as Legal and Comms read it.
func verdictWords(v *Verdict) string {
	if v == nil {
		return "not reviewed yet"
	}
	switch v.Verdict {
	case TruePositive:
		return "real problem (true positive)"
	case FalsePositive:
		return "false alarm (false positive)"
	case Unsure:
		return "unsure"
	}
	return v.Verdict
}

// PageFileName is the file name, without extension, of p's review: its
// key's (FileName) for the alert's first opening, numbered for the others
// ("…-2" for the second), so that the name of an opening's page never
// changes as the alert opens again.
func PageFileName(p *Page) string {
	if p.Opening == 0 {
		return FileName(p.Key)
	}
	return FileName(p.Key) + "-" + strconv.Itoa(p.Opening+1)
}

// FileName is a file name, without extension, for an alert key: readable,
// safe on every file system, and unique even when characters were replaced
// ("<script>" and "_script_" must not share a file). Whatever the name loses
// of the key (a replaced character, a trimmed dot, a capital letter, a
// normalisation) it makes up with a hash of the key: "ch9", "ch9." and
// "CH9" are three files. Case matters because macOS and Windows compare
// names without it, and normalisation because macOS compares names in any
// Unicode normal form. A key that is already safe, as a normalised hashtag
// (NFKC, case-folded) is, keeps its plain name, so links stay valid.
func FileName(key string) string {
	var b strings.Builder
	lossy := false
	for _, r := range key {
		switch {
		// Letters of every script and their marks: a Nepali hashtag keeps
		// its vowel signs and viramas, and so a name its reader recognises;
		// file systems store UTF-8 names as they are.
		case unicode.IsLetter(r), unicode.IsDigit(r), unicode.In(r, unicode.Mn, unicode.Mc), r == '_', r == '.':
			// Only the one rune of its case class that both lower and
			// upper case map back to is kept as it is: "A" would share a
			// file with "a", "ı" with "i" and "ς" with "σ" where names
			// are compared without case.
			if unicode.ToLower(unicode.ToUpper(r)) != r {
				r, lossy = unicode.ToLower(r), true
			}
			b.WriteRune(r)
		case r == '-':
			// "|" and ":" become "-" too.
			b.WriteRune(r)
			lossy = true
		case r == '|' || r == ':':
			b.WriteByte('-')
		default:
			b.WriteByte('_')
			lossy = true
		}
	}
	name := b.String()
	// Full case folding catches what the runes' own cases do not ("ß" is
	// "ss" to a file system that folds).
	if cases.Fold().String(name) != name {
		lossy = true
	}
	if n := norm.NFC.String(name); n != name {
		name, lossy = n, true
	}
	// A leading dot hides a file and Windows drops a trailing one.
	if t := strings.Trim(name, "."); t != name {
		name, lossy = t, true
	}
	if len(name) > 80 {
		cut := 80
		for !utf8.RuneStart(name[cut]) {
			cut--
		}
		name, lossy = name[:cut], true
	}
	if lossy || name == "" {
		h := fnv.New32a()
		h.Write([]byte(key))
		name += fmt.Sprintf("-%08x", h.Sum32())
	}
	return "review-" + name
}

// shellQuote quotes s as one word for a POSIX shell, so a command shown for
// an analyst to paste passes an alert key through as it is: keys hold "|",
// and a challenge ID may hold ";", "$" or a quote.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
