package event

import (
	"bytes"
	"encoding/json"
	"unicode"
	"unicode/utf8"
)

// duplicateKey returns the first top-level key of the JSON object in b that names
// the same field as an earlier key, as encoding/json matches names: after
// unescaping and case folding, so "event_id", "EVENT_ID", "event\u005fid" and
// "\u212Aey" / "key" (Kelvin sign) collide. encoding/json keeps the last of them,
// so two values could pass review and decoding differently; a duplicate is refused
// instead. b must be valid JSON: call it once json.Unmarshal has accepted b.
// Nested objects are not checked, since no field is read from them.
func duplicateKey(b []byte) (string, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return "", false
	}
	var ks keySet
	i++
	for {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != '"' {
			return "", false // '}' of an empty object
		}
		start := i
		var plain bool
		i, plain = skipString(b, i)
		if ks.add(b[start:i], plain) {
			return unquote(b[start:i]), true
		}
		i = skipSpace(b, i)
		i = skipValue(b, skipSpace(b, i+1)) // past ':'
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != ',' {
			return "", false
		}
		i++
	}
}

// keySet holds folded keys back to back in a fixed buffer, which covers every
// real event without allocating, and moves to a map beyond it so a message of
// many thousand keys costs linear time, not quadratic.
type keySet struct {
	buf  [512]byte
	used int
	ends [24]int
	n    int
	m    map[string]struct{}
}

// add folds the quoted key q and reports whether an equal key was added before.
// plain says q holds neither escapes nor non-ASCII bytes.
func (s *keySet) add(q []byte, plain bool) bool {
	raw := q[1 : len(q)-1]
	if !plain {
		raw = []byte(unquote(q))
	}
	// Folding never lengthens a key: a rune's fold is never above it.
	if s.m == nil && s.n < len(s.ends) && s.used+len(raw) <= len(s.buf) {
		var k []byte
		if plain {
			k = s.buf[s.used : s.used+len(raw)]
			for i, c := range raw {
				if 'a' <= c && c <= 'z' {
					c -= 'a' - 'A'
				}
				k[i] = c
			}
		} else {
			k = appendFold(s.buf[s.used:s.used], raw)
		}
		start := 0
		for j := 0; j < s.n; j++ {
			if s.ends[j]-start == len(k) && bytes.Equal(s.buf[start:s.ends[j]], k) {
				return true
			}
			start = s.ends[j]
		}
		s.used += len(k)
		s.ends[s.n] = s.used
		s.n++
		return false
	}
	if s.m == nil {
		s.m = make(map[string]struct{}, 2*len(s.ends))
		start := 0
		for j := 0; j < s.n; j++ {
			s.m[string(s.buf[start:s.ends[j]])] = struct{}{}
			start = s.ends[j]
		}
	}
	k := string(appendFold(nil, raw))
	if _, ok := s.m[k]; ok {
		return true
	}
	s.m[k] = struct{}{}
	return false
}

// appendFold folds as encoding/json's foldName does: ASCII to upper case, any
// other rune to the smallest rune of its simple case-folding orbit.
func appendFold(dst, in []byte) []byte {
	for i := 0; i < len(in); {
		c := in[i]
		if c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(in[i:])
		for {
			r2 := unicode.SimpleFold(r)
			if r2 <= r {
				r = r2
				break
			}
			r = r2
		}
		dst = utf8.AppendRune(dst, r)
		i += n
	}
	return dst
}

func unquote(q []byte) string {
	var s string
	if json.Unmarshal(q, &s) != nil {
		return string(q) // cannot happen on valid JSON
	}
	return s
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i], and whether
// it holds neither escapes nor non-ASCII bytes.
func skipString(b []byte, i int) (int, bool) {
	plain := true
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, plain
		case c == '\\':
			plain = false
			i++
		case c >= utf8.RuneSelf:
			plain = false
		}
	}
	return i, plain
}

// skipValueString returns the index after the string starting at b[i]. Values,
// unlike keys, can be long (text), so it jumps from quote to quote.
func skipValueString(b []byte, i int) int {
	for i++; ; {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return len(b)
		}
		i += q
		// The quote is escaped when an odd number of backslashes precede it.
		n := 0
		for j := i - 1; b[j] == '\\'; j-- {
			n++
		}
		i++
		if n%2 == 0 {
			return i
		}
	}
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipValueString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipValueString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}
