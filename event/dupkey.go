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
	// Keys are told apart by a hash of their folded form, compared in full only
	// when two hashes match; a real event's ten-odd keys cost one pass over their
	// bytes and no allocation.
	var (
		hashes [32]uint64
		starts [32]int
		n      int
		seen   uint64 // bit h%64 of every hash so far: most keys skip the comparisons
	)
	i++
	for {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != '"' {
			return "", false // '}' of an empty object
		}
		start := i
		var h uint64
		i, h = scanKey(b, i)
		if bit := uint64(1) << (h % 64); seen&bit == 0 {
			seen |= bit
		} else {
			for j := 0; j < n; j++ {
				if hashes[j] == h && sameKey(b, starts[j], start) {
					return unquote(b[start:i]), true
				}
			}
		}
		if n == len(hashes) {
			return duplicateKeyMap(b)
		}
		hashes[n], starts[n] = h, start
		n++
		i = skipSpace(b, i)
		i = skipValue(b, skipSpace(b, i+1)) // past ':'
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != ',' {
			return "", false
		}
		i++
	}
}

// duplicateKeyMap is duplicateKey for objects of many keys: linear, allocating.
func duplicateKeyMap(b []byte) (string, bool) {
	seen := make(map[string]struct{}, 64)
	i := skipSpace(b, 0) + 1
	for {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != '"' {
			return "", false
		}
		start := i
		i, _ = scanKey(b, i)
		k := string(foldKey(b[start:i]))
		if _, dup := seen[k]; dup {
			return unquote(b[start:i]), true
		}
		seen[k] = struct{}{}
		i = skipSpace(b, i)
		i = skipValue(b, skipSpace(b, i+1))
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != ',' {
			return "", false
		}
		i++
	}
}

// keyByte folds a byte of a plain key: ASCII upper-cased, and 0 for the bytes that
// end the plain scan (the closing quote, a backslash, anything not ASCII).
var keyByte = func() (t [256]byte) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = byte(c)
		if 'a' <= c && c <= 'z' {
			t[c] -= 'a' - 'A'
		}
	}
	t['"'], t['\\'] = 0, 0
	return t
}()

// scanKey returns the index after the key starting at b[i] and a hash of its
// folded form. Keys are nearly always plain ASCII, hashed as they are scanned;
// one with an escape or a non-ASCII byte is unquoted and folded first. The hash
// only filters: equal hashes are compared in full.
func scanKey(b []byte, i int) (int, uint64) {
	var h uint64
	for j := i + 1; j < len(b); j++ {
		f := keyByte[b[j]]
		if f == 0 {
			if b[j] == '"' {
				return j + 1, h
			}
			end := skipValueString(b, i)
			h = 0
			for _, c := range foldKey(b[i:end]) {
				h = h*31 + uint64(c)
			}
			return end, h
		}
		h = h*31 + uint64(f)
	}
	return len(b), h
}

// sameKey compares the folded keys starting at b[i] and b[j].
func sameKey(b []byte, i, j int) bool {
	ei, ej := skipValueString(b, i), skipValueString(b, j)
	return bytes.Equal(foldKey(b[i:ei]), foldKey(b[j:ej]))
}

// foldKey unquotes and folds the quoted key q.
func foldKey(q []byte) []byte {
	return appendFold(nil, []byte(unquote(q)))
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

// skipSpace skips whitespace between tokens; in valid JSON every byte there at
// or below ' ' is whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' {
		i++
	}
	return i
}

// skipValueString returns the index after the string starting at b[i], jumping
// from quote to quote: values can be long (text).
func skipValueString(b []byte, i int) int {
	for i++; i < len(b); {
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
	return len(b)
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
