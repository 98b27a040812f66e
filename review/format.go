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
// ("<script>" and "_script_" must not share a file).
func FileName(key string) string {
	var b strings.Builder
	lossy := false
	for _, r := range key {
		switch {
		// Letters of every script: a Nepali hashtag keeps a name its reader
		// recognises, and file systems store UTF-8 names as they are.
		case unicode.IsLetter(r), unicode.IsDigit(r), r == '_', r == '.':
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
	name := strings.Trim(b.String(), ".")
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
