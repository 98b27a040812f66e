package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// duplicateKey runs the scanner with no fields, so on valid JSON only a repeated
// key (or a message that is no object) can refuse it.
func duplicateKey(b []byte) (string, bool) {
	var m message
	var de *DecodeError
	if err := parse(b, nil, &m); errors.As(err, &de) && de.Reason == ReasonDuplicateKey {
		return de.Field, true
	}
	return "", false
}

func TestDuplicateKey(t *testing.T) {
	long := strings.Repeat("k", 600) // longer than keySet's inline buffer
	var many strings.Builder
	many.WriteString(`{"dup":0`)
	for i := range 3000 {
		fmt.Fprintf(&many, `,"k%d":%d`, i, i)
	}
	tests := []struct {
		in   string
		want string // "" for none
	}{
		{`{}`, ""},
		{` { } `, ""},
		{`null`, ""},
		{`[{"a":1,"a":2}]`, ""},
		{`{"a":1,"b":2}`, ""},
		{`{"a":1,"a":2}`, "a"},
		{`{"a":1,"A":2}`, "A"},
		{`{"a" : 1 , "b":{"a":1,"a":2}, "c":[{"c":1},"c"]}`, ""},
		{`{"a":"}\"{","a":1}`, "a"},
		{`{"a\"b":1,"a\u0022b":2}`, `a"b`},
		{`{"x":"\\","y":"\\\"","x":0}`, "x"},
		{`{"\u212Aey":1,"key":2}`, "key"},
		{`{"key":1,"\u212Aey":2}`, "\u212Aey"},
		{`{"ſ":1,"s":2}`, "s"},
		{`{"straße":1,"STRASSE":2}`, ""}, // simple folding does not expand ß
		{`{"é":1,"É":2}`, "É"},
		{`{"a":true,"b":false,"c":null,"d":-1.5e3,"a":[]}`, "a"},
		{`{"` + long + `":1,"` + strings.ToUpper(long) + `":2}`, strings.ToUpper(long)},
		{many.String() + `,"DUP":1}`, "DUP"},
		{many.String() + `,"k2999":1}`, "k2999"},
		{many.String() + `}`, ""},
	}
	for _, tt := range tests {
		if !json.Valid([]byte(tt.in)) {
			t.Fatalf("test input %.80s is not valid JSON", tt.in)
		}
		got, dup := duplicateKey([]byte(tt.in))
		if got != tt.want || dup != (tt.want != "") {
			t.Errorf("duplicateKey(%.80s) = %.80q, %v; want %.80q", tt.in, got, dup, tt.want)
		}
		if ref, _ := refDuplicateKey(t, []byte(tt.in)); ref != tt.want {
			t.Errorf("reference(%.80s) = %.80q; the table says %.80q", tt.in, ref, tt.want)
		}
	}
}

// TestDuplicateEmptyKey: the empty key can repeat like any other.
func TestDuplicateEmptyKey(t *testing.T) {
	if k, dup := duplicateKey([]byte(`{"":0,"":{}}`)); !dup || k != "" {
		t.Fatalf(`duplicateKey({"":0,"":{}}) = %q, %v; want "", true`, k, dup)
	}
}

// TestSameKey covers the comparison behind a hash match, which real keys reach
// only when they are duplicates.
func TestSameKey(t *testing.T) {
	b := []byte(`{"a":1,"B":2,"A":3,"\u0062":4}`)
	tests := []struct {
		i, j int
		want bool
	}{
		{1, 7, false}, // "a", "B"
		{1, 13, true}, // "a", "A"
		{7, 19, true}, // "B", "\u0062"
		{13, 19, false},
	}
	for _, tt := range tests {
		if got := sameKey(b, tt.i, tt.j); got != tt.want {
			t.Errorf("sameKey(%s, %s) = %v, want %v", b[tt.i:tt.i+3], b[tt.j:tt.j+3], got, tt.want)
		}
	}
}

// TestDuplicateKeyPremise shows what the check prevents: encoding/json takes the
// last of two keys, whatever their case, so a second value silently wins.
func TestDuplicateKeyPremise(t *testing.T) {
	var c Content
	if err := json.Unmarshal(withKey(withKey(content(), "EVENT_ID", `"ev-2"`), "ſound_id", `"s-2"`), &c); err != nil {
		t.Fatal(err)
	}
	if c.EventID != "ev-2" || c.SoundID != "s-2" {
		t.Fatalf("encoding/json no longer lets a later key win (event_id %q, sound_id %q); duplicateKey may be redundant", c.EventID, c.SoundID)
	}
}

// refDuplicateKey is duplicateKey done slowly: top-level keys from json.Decoder,
// compared with bytes.EqualFold, which encoding/json documents its matching as.
func refDuplicateKey(t testing.TB, b []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // 1E700 is valid JSON but no float64
	tok, err := dec.Token()
	if err != nil {
		t.Fatalf("reference: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return "", false
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("reference: %v", err)
		}
		k := tok.(string)
		for _, o := range keys {
			if bytes.EqualFold([]byte(o), []byte(k)) {
				return k, true
			}
		}
		keys = append(keys, k)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatalf("reference: %v", err)
		}
	}
	return "", false
}

func FuzzDuplicateKey(f *testing.F) {
	f.Add([]byte(`{"a":1,"A":2}`))
	f.Add([]byte(`{"\u212Aey":1,"key":{"key":[1,"}"]}}`))
	f.Add([]byte(`{"ſ":1,"S":2,"x":"\"\\"}`))
	f.Add([]byte(benchContent))
	f.Add(withKey(content(), "content\\u005fid", `"c"`))
	f.Fuzz(func(t *testing.T, b []byte) {
		// The decoder refuses invalid UTF-8 before it looks for keys; encoding/json
		// reads it, each bad byte as U+FFFD, so the key it names differs.
		if !json.Valid(b) || !utf8.Valid(b) {
			return
		}
		got, dup := duplicateKey(b)
		if want, wantDup := refDuplicateKey(t, b); got != want || dup != wantDup {
			t.Fatalf("duplicateKey(%q) = %q, %v; reference %q, %v", b, got, dup, want, wantDup)
		}
	})
}
