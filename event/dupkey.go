package event

import (
	"bytes"
	"unicode"
	"unicode/utf8"
)

// A key may appear once in a message: encoding/json keeps the last of two keys
// naming one field, so two readers of a message could see different values. Keys
// name the same field as encoding/json matches names, after unescaping and case
// folding, so "event_id", "EVENT_ID", "event\u005fid" and "\u212Aey" / "key"
// (Kelvin sign) collide. The parser (scan.go) checks this with the helpers here.

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

// sameKey compares the folded keys starting at b[i] and b[j].
func sameKey(b []byte, i, j int) bool {
	ei, ej := skipValueString(b, i), skipValueString(b, j)
	return bytes.Equal(foldKey(b[i:ei]), foldKey(b[j:ej]))
}

// foldKey unquotes and folds the quoted key q.
func foldKey(q []byte) []byte {
	return appendFold(nil, appendUnquoted(nil, q[1:len(q)-1]))
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

// unquote returns the string q (quotes included) that scanString accepted, unescaped.
func unquote(q []byte) string {
	return string(appendUnquoted(nil, q[1:len(q)-1]))
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
