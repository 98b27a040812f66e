package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The reference decoder is the encoding/json path the scanner replaced, kept to
// hold the scanner to it: the same fields accepted, the same reason and field for
// everything refused. Validation after decoding is shared.

// The wire structs shadow the ts field with its raw JSON, because time.Time's own
// UnmarshalJSON reports a wrong JSON type as a bare error that names no field.
// contentFields and reportFields are Content and Report without their methods.
type (
	contentFields Content
	reportFields  Report
	contentWire   struct {
		contentFields
		TS json.RawMessage `json:"ts"`
	}
	reportWire struct {
		reportFields
		TS json.RawMessage `json:"ts"`
	}
)

// refUnmarshal decodes one JSON object. json.Unmarshal, unlike json.Decoder,
// refuses anything after the object, closing brackets included, but keeps the last
// of duplicate keys, so those are refused here.
func refUnmarshal(t testing.TB, b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := strings.TrimPrefix(strings.TrimPrefix(te.Field, "contentFields."), "reportFields.")
			return fail(ReasonWrongType, field, err)
		}
		return fail(ReasonInvalidJSON, "", err)
	}
	if k, dup := refDuplicateKey(t, b); dup {
		return fail(ReasonDuplicateKey, k, errors.New("key given more than once"))
	}
	return nil
}

func refDecodeContent(t testing.TB, d *Decoder, b []byte) (Content, error) {
	if err := d.precheck(b); err != nil {
		return Content{}, err
	}
	var w contentWire
	if err := refUnmarshal(t, b, &w); err != nil {
		return Content{}, err
	}
	c := Content(w.contentFields)
	if err := d.checkContent(&c, w.TS, len(c.Hashtags), 0); err != nil {
		return Content{}, err
	}
	return c, nil
}

func refDecodeReport(t testing.TB, d *Decoder, b []byte) (Report, error) {
	if err := d.precheck(b); err != nil {
		return Report{}, err
	}
	var w reportWire
	if err := refUnmarshal(t, b, &w); err != nil {
		return Report{}, err
	}
	r := Report(w.reportFields)
	if err := d.checkReport(&r, w.TS, len(r.Hashtags), 0); err != nil {
		return Report{}, err
	}
	return r, nil
}

// sameOutcome fails t unless both decoders accepted the same event or refused
// with the same reason and field.
func sameOutcome(t *testing.T, b []byte, got, want any, gotErr, wantErr error) {
	t.Helper()
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("message %q:\n scanner   %v\n reference %v", b, gotErr, wantErr)
	}
	if gotErr != nil {
		var g, w *DecodeError
		if !errors.As(gotErr, &g) || !errors.As(wantErr, &w) {
			t.Fatalf("message %q: errors %v / %v are not DecodeErrors", b, gotErr, wantErr)
		}
		if g.Reason != w.Reason || g.Field != w.Field {
			t.Fatalf("message %q:\n scanner   %s %q: %v\n reference %s %q: %v", b, g.Reason, g.Field, gotErr, w.Reason, w.Field, wantErr)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("message %q:\n scanner   %+v\n reference %+v", b, got, want)
	}
}

func checkContentAgrees(t *testing.T, d *Decoder, b []byte) {
	t.Helper()
	orig := bytes.Clone(b)
	got, gotErr := d.DecodeContent(b)
	// The message also goes to the dead-letter topic as it came.
	if !bytes.Equal(b, orig) {
		t.Fatalf("DecodeContent changed its message %q to %q", orig, b)
	}
	want, wantErr := refDecodeContent(t, d, b)
	sameOutcome(t, b, got, want, gotErr, wantErr)
}

func checkReportAgrees(t *testing.T, d *Decoder, b []byte) {
	t.Helper()
	orig := bytes.Clone(b)
	got, gotErr := d.DecodeReport(b)
	if !bytes.Equal(b, orig) {
		t.Fatalf("DecodeReport changed its message %q to %q", orig, b)
	}
	want, wantErr := refDecodeReport(t, d, b)
	sameOutcome(t, b, got, want, gotErr, wantErr)
}

// agreementSeeds are messages chosen to tell the scanner from encoding/json where
// they could differ; the table tests' messages are added to them.
func agreementSeeds() [][]byte {
	s := []string{
		` {"event_id":"e","ts":"2024-06-01T11:59:30Z","content_id":"c","creator_id":"u"} `,
		`{"event_id":"e","ts":"2024-06-01T11:59:30Z","content_id":"c","creator_id":"u","hashtags":[null,"#a"]}`,
		`{"event_id":"e","ts":"2024-06-01T11:59:30Z","content_id":"c","creator_id":"u","hashtags":["#A","#a","#B_1","##c"]}`,
		`{"event_id":"e","ts":"2024-06-01T11:59:30Z","content_id":"c","creator_id":"u","hashtags":["#\u0041b","\u0023x","#ＡＢ"]}`,
		`{"event_id":1,"ts":2,"content_id":"c","creator_id":"u","x":[}`,
		`{"event_id":1,"content_id":[],"creator_id":{}}`,
		`{"hashtags":[1,{"a":2}],"event_id":true}`,
		`{"hashtags":{}}`,
		`{"hashtags":"x","HASHTAGS":[]}`,
		`{"event_id":"a","event_id":5}`,
		`{"event_id":"a","Event_Id":"b","x":1,"X":2}`,
		`{"tſ":"2024-06-01T11:59:30Z","ts":"2024-06-01T11:59:30Z"}`,
		`{"\u0074s":"2024-06-01T11:59:30Z","event_id":"e","content_id":"c","creator_id":"u"}`,
		`{"event_id":"e\ud83d\ude00","ts":"2024-06-01T11:59:30Z","content_id":"c\ud800\ud800","creator_id":"u"}`,
		`{"event_id":"e","ts":"2024-06-01T11:59:30Z","content_id":"c","creator_id":"u","text":"\ud800\u0041\udc00\/\b\f"}`,
		`{"event_id":"e","ts":"2024\u002d06-01T11:59:30Z","content_id":"c","creator_id":"u"}`,
		`{"event_id":"e","ts":"2024-06-01T11:59:30Z","content_id":"c","creator_id":"u","lang":"EN","region":"nP"}`,
		`{"event_id":"e","ts":"2024-06-01T11:59:30Z","content_id":"c","creator_id":"u","lang":"e\u006e","region":"\u006eP"}`,
		`{"event_id":"e","ts":"2024-06-01T11:59:30Z","content_id":"c","creator_id":"u","x":-0.5e+7,"y":[true,false,null]}`,
		`{"x":01}`, `{"x":1.}`, `{"x":-}`, `{"x":.5}`, `{"x":1e}`, `{"x":tru}`, `{"x":nul}`, `{"x":"\x"}`, `{"x":"\u12"}`,
		`{"a" "b"}`, `{"a":1,}`, `{,}`, `{"a":1 "b":2}`, `[1,]`, `"str"`, `12`, `true`, `null`, `nul`, `{}`, `{"x":[1,2]`,
		`{"event_id":null,"ts":null,"content_id":null,"creator_id":null}`,
		"{\"x\":\"a\tb\"}",
		`{"event_id":"e","ts":"2024-06-01T11:59:30Z","content_id":"c","creator_id":"u","reporter_id":"r","reason":"İllegal Ⱥ SPAM"}`,
		`{"event_id":"e","ts":"2024-06-01T11:59:30Z","content_id":"c","reporter_id":"r","reason":"Sp\u0041m"}`,
		`{"event_id":"e","ts":"2024-06-01T11:59:30Z","content_id":"c","reporter_id":"r","reason":7}`,
		`{"event_id":"e","ts":"2024-06-01T11:59:30Z","content_id":"c","creator_id":"u","text":"\u0085"}`,
		`{"event_id":"e","ts":"2024-06-01T11:59:30Z","content_id":"c","reporter_id":"r","reason":"spam","channel":"partner"}`,
		`{"event_id":"e","ts":"2024-06-01T11:59:30Z","content_id":"c","reporter_id":"r","reason":"spam","Channel":"\u0070artner"}`,
		`{"event_id":"e","ts":"2024-06-01T11:59:30Z","content_id":"c","reporter_id":"r","reason":"spam","channel":"\ud800"}`,
		`{"event_id":"e","ts":"2024-06-01T11:59:30Z","content_id":"c","reporter_id":"r","reason":"spam","channel":null}`,
		`{"event_id":"e","ts":"2024-06-01T11:59:30Z","content_id":"c","reporter_id":"r","reason":"spam","channel":"internal","channel":"x"}`,
		`{"event_id":"e","ts":"2024-06-01T11:59:30Z","content_id":"c","creator_id":"u","text":"ok\u007f"}`,
	}
	// More hashtags than the scanner records, so the rest are read again; and
	// long values, whose quotes, escapes and controls fall at every offset of a
	// word the scanner reads at once.
	var tags []string
	for i := range 40 {
		t := []string{`"#Tag%d"`, ` "\u0023x%d" `, `"#नेपाल%d"`, `"#T\u0061g%d"`, `"#TAG%d"`}[i%5]
		tags = append(tags, fmt.Sprintf(t, i-i%5)) // #Tag0, #TAG0 and #Tag0 again: duplicates
	}
	base := `{"event_id":"e","ts":"2024-06-01T11:59:30Z","content_id":"c","creator_id":"u","hashtags":[%s]}`
	s = append(s, fmt.Sprintf(base, strings.Join(tags, ",")), fmt.Sprintf(base, strings.Join(tags, " , ")))
	for _, bad := range []string{`null`, `"#a\u0001b"`, `"#a b"`, `"#` + strings.Repeat("x", 101) + `"`} {
		t := slices.Clone(tags)
		t[30] = bad
		s = append(s, fmt.Sprintf(base, strings.Join(t, ",")))
	}
	for i := range 17 {
		pad := strings.Repeat("abcdefgh", 3)[:i]
		for _, f := range []string{
			`{"event_id":"e%[1]s","ts":"2024-06-01T11:59:30Z","content_id":"c","creator_id":"u%[1]s\"q","text":"%[1]s\n%[1]s"}`,
			`{"event_id":"e","ts":"2024-06-01T11:59:30Z","content_id":"c%[1]s\u007f","creator_id":"u","text":"%[1]sok"}`,
			`{"event_id":"e","ts":"2024-06-01T11:59:30Z","content_id":"c","creator_id":"u%[1]s` + "\x7f" + `","text":"t"}`,
			`{"event_id":"e","ts":"2024-06-01T11:59:30Z","content_id":"c","creator_id":"u","text":"%[1]s` + "\u0085" + `"}`,
			`{"event_id":"e","ts":"2024-06-01T11:59:30Z","content_id":"c","creator_id":"u","text":"%[1]s¢\t¢x"}`,
			`{"event_id":"e","ts":"2024-06-01T11:59:30Z","content_id":"c","creator_id":"u","text":"%[1]s` + "\x01" + `"}`,
		} {
			s = append(s, fmt.Sprintf(f, pad))
		}
	}
	out := make([][]byte, 0, len(s)+8)
	for _, m := range s {
		out = append(out, []byte(m))
	}
	out = append(out, []byte(benchContent), content(), report(),
		[]byte(strings.Repeat("[", 10000)+strings.Repeat("]", 10000)),
		[]byte(strings.Repeat("[", 10001)+strings.Repeat("]", 10001)),
		[]byte(`{"x":`+strings.Repeat("[", 9999)+strings.Repeat("]", 9999)+`}`),
		[]byte(`{"x":`+strings.Repeat("[", 10000)+strings.Repeat("]", 10000)+`}`))
	return out
}

// TestDecodeAgainstEncodingJSON runs every message of the table tests and the
// agreement seeds through both decoders.
func TestDecodeAgainstEncodingJSON(t *testing.T) {
	d := testDecoder()
	msgs := agreementSeeds()
	for _, tc := range contentErrorCases() {
		msgs = append(msgs, tc.msg)
	}
	for _, tc := range reportErrorCases() {
		msgs = append(msgs, tc.msg)
	}
	for _, m := range msgs {
		checkContentAgrees(t, d, m)
		checkReportAgrees(t, d, m)
	}
	small := testDecoder()
	small.Limits = Limits{MaxMessageBytes: 1 << 10, MaxHashtags: 2, MaxHashtagRunes: 3, MaxIDBytes: 4, MaxTextBytes: 8}
	for _, m := range msgs {
		checkContentAgrees(t, small, m)
		checkReportAgrees(t, small, m)
	}
}

func FuzzDecodeAgainstEncodingJSON(f *testing.F) {
	for _, m := range agreementSeeds() {
		f.Add(m, false)
	}
	for _, tc := range contentErrorCases() {
		if len(tc.msg) < 4<<10 {
			f.Add(tc.msg, false)
		}
	}
	for _, tc := range reportErrorCases() {
		if len(tc.msg) < 4<<10 {
			f.Add(tc.msg, true)
		}
	}
	d := testDecoder()
	small := testDecoder()
	small.Limits = Limits{MaxMessageBytes: 1 << 10, MaxHashtags: 2, MaxHashtagRunes: 3, MaxIDBytes: 4, MaxTextBytes: 8}
	f.Fuzz(func(t *testing.T, b []byte, tight bool) {
		dec := d
		if tight {
			dec = small
		}
		checkContentAgrees(t, dec, b)
		checkReportAgrees(t, dec, b)
	})
}
