package event

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// The decoder reads the flat event contract with a hand-written scanner instead of
// encoding/json, which spent three quarters of a decode on reflection and on one
// allocation per field. It must refuse and accept exactly what
// json.Unmarshal into the wire struct did, with the same reason and field, so the
// scanner follows encoding/json's rules wherever they show: the whole message is
// checked for syntax before any type is judged (a syntax error anywhere wins over a
// wrong type earlier on), the first wrong type in document order wins, keys match
// fields as encoding/json matches them (exact, then folded), null leaves a string
// field empty and a hashtag list nil, and escapes unquote as encoding/json does,
// each unpaired surrogate becoming U+FFFD. FuzzDecodeAgainstEncodingJSON holds it to
// that.

// fieldKind is the Go type a wire field decodes into.
type fieldKind uint8

const (
	kindString  fieldKind = iota // string
	kindStrings                  // []string
	kindRaw                      // json.RawMessage: any value, judged later (ts)
)

type field struct {
	name   string
	kind   fieldKind
	folded []byte // name as encoding/json folds it for case-insensitive matching
	hash   uint64 // foldHash of folded
}

// schema lists the fields of one message type; a field's index is its id.
type schema []field

func newSchema(fs ...field) schema {
	for i := range fs {
		fs[i].folded = appendFold(nil, []byte(fs[i].name))
		fs[i].hash = foldHash(fs[i].folded)
	}
	return fs
}

// foldHash hashes a folded key as scanKey does.
func foldHash(folded []byte) uint64 {
	var h uint64
	for _, c := range folded {
		h = h*31 + uint64(c)
	}
	return h
}

// Field ids of the two contracts, indexes into their schemas.
const (
	cEventID = iota
	cTS
	cContentID
	cCreatorID
	cRegion
	cLang
	cHashtags
	cChallengeID
	cSoundID
	cText
)

const (
	rEventID = iota
	rTS
	rContentID
	rReporterID
	rReason
	rRegion
	rHashtags
	rChannel
)

// maxFields bounds a schema, so a message's values live in an array on the stack.
const maxFields = 10

// The schemas are read-only tables, built once like keyByte.
var (
	contentSchema = newSchema(
		field{name: "event_id"}, field{name: "ts", kind: kindRaw}, field{name: "content_id"},
		field{name: "creator_id"}, field{name: "region"}, field{name: "lang"},
		field{name: "hashtags", kind: kindStrings}, field{name: "challenge_id"},
		field{name: "sound_id"}, field{name: "text"},
	)
	reportSchema = newSchema(
		field{name: "event_id"}, field{name: "ts", kind: kindRaw}, field{name: "content_id"},
		field{name: "reporter_id"}, field{name: "reason"}, field{name: "region"},
		field{name: "hashtags", kind: kindStrings}, field{name: "channel"},
	)
)

// valueKind says what a field held.
type valueKind uint8

const (
	valAbsent  valueKind = iota
	valNull              // JSON null
	valString            // a string without escapes
	valEscaped           // a string with escapes
	valOther             // any other value: for kindStrings, the hashtag array
)

// value locates a field's or hashtag's value in the message: b[start:end], quotes
// included for strings.
type value struct {
	start, end int
	kind       valueKind
}

// tagAt returns hashtag element k of message b, prev being element k-1: the
// scan's record of it for the first few, read again after them (an array that
// parse accepted, so known good).
func (m *message) tagAt(b []byte, k int, prev value) value {
	if k < len(m.tags) {
		return m.tags[k]
	}
	i := skipWS(b, prev.end)
	if b[i] == ',' {
		i = skipWS(b, i+1)
	}
	v := value{start: i, end: i + 4, kind: valNull}
	if b[i] == '"' {
		v.end, v.kind = skipValueString(b, i), valString
		if bytes.IndexByte(b[i:v.end], '\\') >= 0 {
			v.kind = valEscaped
		}
	}
	return v
}

// raw returns the bytes of a value as written; nil when absent.
func (v value) raw(b []byte) []byte {
	if v.kind == valAbsent {
		return nil
	}
	return b[v.start:v.end]
}

// message is what the scanner found in one message. It holds no slice, so it
// stays on the decoder's stack. It holds the first hashtags too, which most
// messages have no more of; the rest of a longer array is read again when its
// strings are copied.
type message struct {
	vals  [maxFields]value
	ntags int // hashtag elements
	tags  [16]value
}

// maxDepth is encoding/json's nesting limit: deeper input is a syntax error there.
const maxDepth = 10000

type parser struct {
	b   []byte
	sch schema
	// m is held by value and copied out at the end: escape analysis does not tell
	// a parser's fields apart, so a pointer here would move the caller's message
	// to the heap along with the field names that errors carry.
	m message

	typeErr *DecodeError // the first wrong type, reported once the syntax is known good
	dupKey  string       // the first repeated key, as written
	dup     bool

	// Keys that name no field, for the duplicate check: hash and start of each, a
	// map past what fits inline. Field keys are told apart by id.
	seen     uint64 // bit per field id
	next     int    // the field after the last key that named one: the likely next key
	nOther   int
	hashes   [16]uint64
	starts   [16]int
	overflow map[uint64][]int
}

// parse scans b, a message that precheck accepted, into m.
func parse(b []byte, sch schema, m *message) error {
	p := parser{b: b, sch: sch}
	defer func() { *m = p.m }()
	i := skipWS(b, 0)
	if i >= len(b) {
		return errEOF()
	}
	var err error
	switch c := b[i]; c {
	case '{':
		i, err = p.object(i)
	case 'n':
		i, err = literal(b, i, "null")
	default:
		// A message that is not an object is a wrong type, once it is known to be JSON.
		p.wrongType("", c)
		i, err = skipValue(b, i, 0)
	}
	if err != nil {
		return err
	}
	if i = skipWS(b, i); i < len(b) {
		return errSyntax(b, i, "after top-level value")
	}
	if p.typeErr != nil {
		return p.typeErr
	}
	if p.dup {
		return fail(ReasonDuplicateKey, p.dupKey, errors.New("key given more than once (keys match case-insensitively)"))
	}
	return nil
}

func (p *parser) wrongType(field string, first byte) {
	if p.typeErr != nil {
		return
	}
	got := jsonKind(first)
	if first == '"' {
		got = "string"
	}
	want := "struct"
	if field != "" {
		want = "string"
		for _, f := range p.sch {
			if f.name == field && f.kind == kindStrings {
				want = "[]string"
			}
		}
	}
	p.typeErr = fail(ReasonWrongType, field, fmt.Errorf("want %s, got JSON %s", want, got))
}

// object scans the top-level object starting at b[i].
func (p *parser) object(i int) (int, error) {
	b := p.b
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) {
			return i, errEOF()
		}
		if b[i] != '"' {
			return i, errSyntax(b, i, "looking for beginning of object key string")
		}
		id, end, err := p.key(i)
		if err != nil {
			return end, err
		}
		i = skipWS(b, end)
		if i >= len(b) {
			return i, errEOF()
		}
		if b[i] != ':' {
			return i, errSyntax(b, i, "after object key")
		}
		if i = skipWS(b, i+1); i >= len(b) {
			return i, errEOF()
		}
		if id < 0 {
			i, err = skipValue(b, i, 1)
		} else {
			i, err = p.field(id, i)
		}
		if err != nil {
			return i, err
		}
		if i = skipWS(b, i); i >= len(b) {
			return i, errEOF()
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return i, errSyntax(b, i, "after object key:value pair")
		}
	}
}

// key scans the key at b[i], notes a repeat and returns the id of the field it
// names (-1 for none) and the index after it.
func (p *parser) key(i int) (id, end int, err error) {
	b := p.b
	// Producers write every message's keys in one order, most often the schema's:
	// a key spelt exactly as the field after the last one matched names it with one
	// comparison. Exact is plain and folds to the name, and no other field folds
	// to it.
	if n := p.next; n < len(p.sch) {
		name := p.sch[n].name
		if e := i + 1 + len(name); e < len(b) && b[e] == '"' && string(b[i+1:e]) == name {
			return p.fieldKey(n, i, e+1, true), e + 1, nil
		}
	}
	var h uint64
	plain := false
	for j := i + 1; j < len(b); j++ {
		f := keyByte[b[j]]
		if f == 0 {
			if b[j] == '"' {
				end, plain = j+1, true
			}
			break
		}
		h = h*31 + uint64(f)
	}
	var folded []byte
	if !plain {
		// An escape or a non-ASCII byte: the rare key that must be unquoted to match.
		if end, _, err = scanString(b, i); err != nil {
			return -1, end, err
		}
		folded = foldKey(b[i:end])
		h = foldHash(folded)
	}
	id = -1
	for fi := range p.sch {
		f := &p.sch[fi]
		if f.hash != h {
			continue
		}
		if plain && equalFoldASCII(b[i+1:end-1], f.folded) || !plain && bytes.Equal(folded, f.folded) {
			id = fi
			break
		}
	}
	if id >= 0 {
		return p.fieldKey(id, i, end, plain), end, nil
	}
	if p.dup {
		return id, end, nil
	}
	if p.otherSeen(h, i) {
		p.dup, p.dupKey = true, keyText(b[i:end], plain)
	}
	return id, end, nil
}

// fieldKey notes the key b[start:end] naming field id, plain when it has no
// escape, as seen, and returns id.
func (p *parser) fieldKey(id, start, end int, plain bool) int {
	p.next = id + 1
	if p.dup {
		return id
	}
	if p.seen&(1<<id) != 0 {
		p.dup, p.dupKey = true, keyText(p.b[start:end], plain)
	}
	p.seen |= 1 << id
	return id
}

// otherSeen records the key at b[start] with hash h and reports whether an earlier
// key folds to the same name.
func (p *parser) otherSeen(h uint64, start int) bool {
	if p.overflow != nil {
		for _, s := range p.overflow[h] {
			if sameKey(p.b, s, start) {
				return true
			}
		}
		p.overflow[h] = append(p.overflow[h], start)
		return false
	}
	for j := 0; j < p.nOther; j++ {
		if p.hashes[j] == h && sameKey(p.b, p.starts[j], start) {
			return true
		}
	}
	if p.nOther < len(p.hashes) {
		p.hashes[p.nOther], p.starts[p.nOther] = h, start
		p.nOther++
		return false
	}
	// Many unknown keys: a map keeps the check linear.
	p.overflow = make(map[uint64][]int, 2*len(p.hashes))
	for j := 0; j < p.nOther; j++ {
		p.overflow[p.hashes[j]] = append(p.overflow[p.hashes[j]], p.starts[j])
	}
	p.overflow[h] = append(p.overflow[h], start)
	return false
}

func keyText(q []byte, plain bool) string {
	if plain {
		return string(q[1 : len(q)-1])
	}
	return unquote(q)
}

// equalFoldASCII compares a plain key with a folded field name.
func equalFoldASCII(key, folded []byte) bool {
	if len(key) != len(folded) {
		return false
	}
	for i, c := range key {
		if keyByte[c] != folded[i] {
			return false
		}
	}
	return true
}

// field scans the value of field id at b[i].
func (p *parser) field(id, i int) (int, error) {
	b := p.b
	f := &p.sch[id]
	v := &p.m.vals[id]
	switch f.kind {
	case kindRaw:
		end, err := skipValue(b, i, 1)
		*v = value{start: i, end: end, kind: valOther}
		return end, err
	case kindStrings:
		switch b[i] {
		case '[':
			end, err := p.tags(i)
			*v = value{start: i, end: end, kind: valOther}
			return end, err
		case 'n':
			*v = value{start: i, end: i + 4, kind: valNull}
			return literal(b, i, "null")
		}
	default:
		switch b[i] {
		case '"':
			end, esc, err := scanString(b, i)
			*v = value{start: i, end: end, kind: valString}
			if esc {
				v.kind = valEscaped
			}
			return end, err
		case 'n':
			*v = value{start: i, end: i + 4, kind: valNull}
			return literal(b, i, "null")
		}
	}
	p.wrongType(f.name, b[i])
	return skipValue(b, i, 1)
}

// tags scans the hashtag array at b[i].
func (p *parser) tags(i int) (int, error) {
	b := p.b
	m := &p.m
	m.ntags = 0
	if i = skipWS(b, i+1); i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		if i >= len(b) {
			return i, errEOF()
		}
		var (
			v   value
			err error
		)
		switch b[i] {
		case '"':
			var esc bool
			v.start = i
			v.end, esc, err = scanString(b, i)
			v.kind = valString
			if esc {
				v.kind = valEscaped
			}
		case 'n':
			v = value{start: i, end: i + 4, kind: valNull}
			_, err = literal(b, i, "null")
		default:
			p.wrongType("hashtags", b[i])
			v.end, err = skipValue(b, i, 2)
		}
		if err != nil {
			return v.end, err
		}
		if m.ntags < len(m.tags) {
			m.tags[m.ntags] = v
		}
		m.ntags++
		if i = skipWS(b, v.end); i >= len(b) {
			return i, errEOF()
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case ']':
			return i + 1, nil
		default:
			return i, errSyntax(b, i, "after array element")
		}
	}
}

// skipWS skips JSON whitespace, which is exactly these four bytes.
func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// strStop marks the bytes that end the plain run of a string: the quote, the
// backslash and the control characters JSON forbids there.
var strStop = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// scanString checks the string at b[i] and returns the index after it and whether
// it holds escapes.
func scanString(b []byte, i int) (end int, esc bool, err error) {
	for j := i + 1; j < len(b); j++ {
		if j = plainRun(b, j); j >= len(b) {
			break
		}
		c := b[j]
		switch {
		case c == '"':
			return j + 1, esc, nil
		case c < 0x20:
			return j, esc, errSyntax(b, j, "in string literal")
		}
		esc = true
		if j++; j >= len(b) {
			break
		}
		switch b[j] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		case 'u':
			for k := 0; k < 4; k++ {
				if j++; j >= len(b) {
					return j, esc, errEOF()
				}
				if hexVal(b[j]) < 0 {
					return j, esc, errSyntax(b, j, "in \\u hexadecimal character escape")
				}
			}
		default:
			return j, esc, errSyntax(b, j, "in string escape code")
		}
	}
	return len(b), esc, errEOF()
}

func hexVal(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// literal checks the literal lit at b[i].
func literal(b []byte, i int, lit string) (int, error) {
	for k := 0; k < len(lit); k++ {
		if i+k >= len(b) {
			return i + k, errEOF()
		}
		if b[i+k] != lit[k] {
			return i + k, errSyntax(b, i+k, "in literal "+lit)
		}
	}
	return i + len(lit), nil
}

// number checks the number at b[i]: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func number(b []byte, i int) (int, error) {
	if b[i] == '-' {
		i++
	}
	digits := func(i int) (int, error) {
		if i >= len(b) {
			return i, errEOF()
		}
		if b[i] < '0' || b[i] > '9' {
			return i, errSyntax(b, i, "in numeric literal")
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i, nil
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else {
		var err error
		if i, err = digits(i); err != nil {
			return i, err
		}
	}
	if i < len(b) && b[i] == '.' {
		var err error
		if i, err = digits(i + 1); err != nil {
			return i, err
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		return digits(i)
	}
	return i, nil
}

// skipValue checks the value at b[i], nested depth containers deep, and returns
// the index after it.
func skipValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return i, errEOF()
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := scanString(b, i)
		return end, err
	case c == '{' || c == '[':
		if depth++; depth > maxDepth {
			return i, fail(ReasonInvalidJSON, "", errors.New("exceeded max depth"))
		}
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == closing {
			return i + 1, nil
		}
		for {
			var err error
			if c == '{' {
				if i >= len(b) {
					return i, errEOF()
				}
				if b[i] != '"' {
					return i, errSyntax(b, i, "looking for beginning of object key string")
				}
				if i, _, err = scanString(b, i); err != nil {
					return i, err
				}
				if i = skipWS(b, i); i >= len(b) {
					return i, errEOF()
				}
				if b[i] != ':' {
					return i, errSyntax(b, i, "after object key")
				}
				i = skipWS(b, i+1)
			}
			if i, err = skipValue(b, i, depth); err != nil {
				return i, err
			}
			if i = skipWS(b, i); i >= len(b) {
				return i, errEOF()
			}
			switch b[i] {
			case ',':
				i = skipWS(b, i+1)
			case closing:
				return i + 1, nil
			default:
				return i, errSyntax(b, i, "after value")
			}
		}
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	case c == '-' || '0' <= c && c <= '9':
		return number(b, i)
	}
	return i, errSyntax(b, i, "looking for beginning of value")
}

func errEOF() error {
	return fail(ReasonInvalidJSON, "", errors.New("unexpected end of JSON input"))
}

func errSyntax(b []byte, i int, context string) error {
	r, _ := utf8.DecodeRune(b[i:])
	return fail(ReasonInvalidJSON, "", fmt.Errorf("invalid character %q %s at byte %d", r, context, i))
}

// appendUnquoted appends the unescaped content of the string q (quotes excluded)
// to dst, as encoding/json unquotes: an unpaired surrogate becomes U+FFFD. q has
// passed scanString.
func appendUnquoted(dst, q []byte) []byte {
	for i := 0; i < len(q); {
		j := bytes.IndexByte(q[i:], '\\')
		if j < 0 {
			return append(dst, q[i:]...)
		}
		dst = append(dst, q[i:i+j]...)
		i += j + 1
		c := q[i]
		i++
		switch c {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(q[i:])
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+6 <= len(q) && q[i] == '\\' && q[i+1] == 'u' {
					r2 = hex4(q[i+2:])
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r = d
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/'
			dst = append(dst, c)
		}
	}
	return dst
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		r = r<<4 | hexVal(c)
	}
	return r
}
