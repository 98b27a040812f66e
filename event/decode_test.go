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
	"time"
)

var testNow = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

func testDecoder() *Decoder {
	return &Decoder{Limits: DefaultLimits(), Now: func() time.Time { return testNow }}
}

// msg renders a JSON object from the base fields with overrides applied; a nil
// override value deletes the field. Values are raw JSON.
func msg(base map[string]string, overrides ...string) []byte {
	fields := make(map[string]string, len(base))
	for k, v := range base {
		fields[k] = v
	}
	for i := 0; i+1 < len(overrides); i += 2 {
		if overrides[i+1] == "<delete>" {
			delete(fields, overrides[i])
			continue
		}
		fields[overrides[i]] = overrides[i+1]
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%s", k, fields[k])
	}
	b.WriteByte('}')
	return b.Bytes()
}

const del = "<delete>"

var contentBase = map[string]string{
	"event_id":     `"ev-1"`,
	"ts":           `"2024-06-01T11:59:30Z"`,
	"content_id":   `"c-1"`,
	"creator_id":   `"u-1"`,
	"region":       `"NP"`,
	"lang":         `"ne"`,
	"hashtags":     `["#fyp","#चुनौती"]`,
	"challenge_id": `"ch-1"`,
	"sound_id":     `"s-1"`,
	"text":         `"नयाँ चुनौती"`,
}

var reportBase = map[string]string{
	"event_id":    `"ev-2"`,
	"ts":          `"2024-06-01T11:59:30Z"`,
	"content_id":  `"c-1"`,
	"reporter_id": `"r-1"`,
	"reason":      `"spam"`,
	"region":      `"NP"`,
	"hashtags":    `["#fyp"]`,
}

func content(overrides ...string) []byte { return msg(contentBase, overrides...) }
func report(overrides ...string) []byte  { return msg(reportBase, overrides...) }

// withKey appends a raw key and value to a rendered object, so a key can repeat.
func withKey(obj []byte, key, value string) []byte {
	out := append([]byte(nil), obj[:len(obj)-1]...)
	return append(out, `,"`+key+`":`+value+`}`...)
}

func jsonString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// manyKeys returns overrides adding n unknown keys k0…k(n-1), more than keySet
// holds inline.
func manyKeys(n int) []string {
	var kv []string
	for i := range n {
		kv = append(kv, fmt.Sprint("k", i), "0")
	}
	return kv
}

func tagList(n int, tag func(i int) string) string {
	tags := make([]string, n)
	for i := range tags {
		tags[i] = jsonString(tag(i))
	}
	return "[" + strings.Join(tags, ",") + "]"
}

type decodeErrCase struct {
	name   string
	msg    []byte
	reason Reason
	field  string
}

// checkDecodeErr asserts the reason and the field, both in the DecodeError and in
// the message the dead-letter topic will carry.
func checkDecodeErr(t *testing.T, tc decodeErrCase, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("decoded %.200s; want %s", tc.msg, tc.reason)
	}
	if got := ReasonOf(err); got != tc.reason {
		t.Fatalf("ReasonOf(%v) = %q, want %q", err, got, tc.reason)
	}
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("%v is not a *DecodeError", err)
	}
	if de.Field != tc.field {
		t.Fatalf("Field = %q, want %q (%v)", de.Field, tc.field, err)
	}
	if tc.field != "" && !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.field)) {
		t.Fatalf("error %q does not name field %q", err, tc.field)
	}
	if !strings.HasPrefix(err.Error(), string(tc.reason)) {
		t.Fatalf("error %q does not start with its reason", err)
	}
}

func contentErrorCases() []decodeErrCase {
	return []decodeErrCase{
		{"invalid JSON", []byte(`{"event_id":`), ReasonInvalidJSON, ""},
		{"empty message", []byte{}, ReasonEmpty, ""},
		{"whitespace message", []byte(" \n"), ReasonInvalidJSON, ""},
		{"null message", []byte("null"), ReasonMissingField, "event_id"},
		{"duplicate event_id", withKey(content(), "event_id", `"ev-2"`), ReasonDuplicateKey, "event_id"},
		{"duplicate event_id, same value", withKey(content(), "event_id", `"ev-1"`), ReasonDuplicateKey, "event_id"},
		{"duplicate in other case", withKey(content(), "EVENT_ID", `"ev-2"`), ReasonDuplicateKey, "EVENT_ID"},
		{"duplicate written with an escape", withKey(content(), `content\u005fid`, `"c-2"`), ReasonDuplicateKey, "content_id"},
		{"duplicate through long s", withKey(content(), "ſound_id", `"s-2"`), ReasonDuplicateKey, "ſound_id"},
		{"duplicate ts", withKey(content(), "ts", `"2024-06-01T11:00:00Z"`), ReasonDuplicateKey, "ts"},
		{"duplicate hashtags", withKey(content(), "hashtags", `["#other"]`), ReasonDuplicateKey, "hashtags"},
		{"duplicate null", withKey(content("lang", del), "text", `null`), ReasonDuplicateKey, "text"},
		{"duplicate unknown key", withKey(withKey(content(), "extra", `1`), "Extra", `{"a":[1]}`), ReasonDuplicateKey, "Extra"},
		{"duplicate after 40 keys", withKey(content(manyKeys(40)...), "k39", `0`), ReasonDuplicateKey, "k39"},
		{"bidi override in event_id", content("event_id", `"ev\u202e1"`), ReasonControlChars, "event_id"},
		{"bidi embedding in content_id", content("content_id", `"\u202ac-1"`), ReasonControlChars, "content_id"},
		{"bidi isolate in creator_id", content("creator_id", `"u\u2066x\u2069"`), ReasonControlChars, "creator_id"},
		{"first strong isolate in content_id", content("content_id", `"c\u2068"`), ReasonControlChars, "content_id"},
		{"pop directional in event_id", content("event_id", `"e\u202c"`), ReasonControlChars, "event_id"},
		{"zero-width space in content_id", content("content_id", `"c\u200b-1"`), ReasonControlChars, "content_id"},
		{"right-to-left mark in creator_id", content("creator_id", `"u\u200f"`), ReasonControlChars, "creator_id"},
		{"BOM in event_id", content("event_id", `"\ufeffev-1"`), ReasonControlChars, "event_id"},
		{"tag character in creator_id", content("creator_id", `"u\udb40\udc41"`), ReasonControlChars, "creator_id"},
		{"soft hyphen in challenge_id", content("challenge_id", `"ch\u00ad1"`), ReasonControlChars, "challenge_id"},
		{"word joiner in sound_id", content("sound_id", `"s\u2060"`), ReasonControlChars, "sound_id"},
		{"ts leap second not at a month's end", content("ts", `"2024-06-01T11:59:60Z"`), ReasonInvalidField, "ts"},
		{"ts leap second a day early", content("ts", `"2024-05-30T23:59:60Z"`), ReasonInvalidField, "ts"},
		{"ts leap second in the wrong minute", content("ts", `"2024-05-31T23:58:60Z"`), ReasonInvalidField, "ts"},
		{"ts second 61", content("ts", `"2024-05-31T23:59:61Z"`), ReasonInvalidField, "ts"},
		{"ts leap second, local 23:59 not UTC", content("ts", `"2024-05-31T23:59:60+05:45"`), ReasonInvalidField, "ts"},
		{"ts leap second without zone", content("ts", `"2024-05-31T23:59:60"`), ReasonInvalidField, "ts"},
		{"not JSON", []byte("event_id=1"), ReasonInvalidJSON, ""},
		{"trailing object", append(content(), content()...), ReasonInvalidJSON, ""},
		{"trailing garbage", append(content(), " x"...), ReasonInvalidJSON, ""},
		{"trailing brace", append(content(), '}'), ReasonInvalidJSON, ""},
		{"trailing bracket", append(content(), ']'), ReasonInvalidJSON, ""},
		{"array message", []byte(`[1,2]`), ReasonWrongType, ""},
		{"hashtags as string", content("hashtags", `"#fyp"`), ReasonWrongType, "hashtags"},
		{"hashtag as number", content("hashtags", `["#fyp",7]`), ReasonWrongType, "hashtags"},
		{"event_id as number", content("event_id", `42`), ReasonWrongType, "event_id"},
		{"text as object", content("text", `{"a":1}`), ReasonWrongType, "text"},
		{"ts as number", content("ts", `1717243170`), ReasonWrongType, "ts"},
		{"ts as bool", content("ts", `true`), ReasonWrongType, "ts"},
		{"ts as object", content("ts", `{"s":1}`), ReasonWrongType, "ts"},
		{"ts not RFC 3339", content("ts", `"2024-06-01 11:59:30"`), ReasonInvalidField, "ts"},
		{"ts empty string", content("ts", `""`), ReasonInvalidField, "ts"},
		{"missing event_id", content("event_id", del), ReasonMissingField, "event_id"},
		{"empty event_id", content("event_id", `""`), ReasonMissingField, "event_id"},
		{"null event_id", content("event_id", `null`), ReasonMissingField, "event_id"},
		{"missing ts", content("ts", del), ReasonMissingField, "ts"},
		{"null ts", content("ts", `null`), ReasonMissingField, "ts"},
		{"missing content_id", content("content_id", del), ReasonMissingField, "content_id"},
		{"missing creator_id", content("creator_id", del), ReasonMissingField, "creator_id"},
		{"invalid UTF-8 in text", content("text", "\"caf\xe9\""), ReasonInvalidUTF8, ""},
		{"truncated devanagari", content("hashtags", "[\"#\xe0\xa4\"]"), ReasonInvalidUTF8, ""},
		{"invalid UTF-8 in key", []byte("{\"\xff\":1}"), ReasonInvalidUTF8, ""},
		{"surrogate escape in content_id", content("content_id", `"c\ud800"`), ReasonInvalidUTF8, "content_id"},
		{"surrogate escape in challenge_id", content("challenge_id", `"\udc00"`), ReasonInvalidUTF8, "challenge_id"},
		{"10 MB message", content("text", jsonString(strings.Repeat("a", 10<<20))), ReasonTooLarge, ""},
		{"10 000 hashtags", content("hashtags", tagList(10000, func(i int) string { return fmt.Sprintf("#t%d", i) })), ReasonTooManyTags, "hashtags"},
		{"101 hashtags", content("hashtags", tagList(101, func(int) string { return "#fyp" })), ReasonTooManyTags, "hashtags"},
		{"ts 1 h 1 s ahead", content("ts", `"2024-06-01T13:00:01Z"`), ReasonTSFuture, "ts"},
		{"ts far future", content("ts", `"2099-01-01T00:00:00Z"`), ReasonTSFuture, "ts"},
		{"ts 7 d 1 s old", content("ts", `"2024-05-25T11:59:59Z"`), ReasonTSTooOld, "ts"},
		{"ts far past", content("ts", `"1970-01-01T00:00:00Z"`), ReasonTSTooOld, "ts"},
		{"control in event_id", content("event_id", `"ev\u0001"`), ReasonControlChars, "event_id"},
		{"tab in content_id", content("content_id", `"c\t1"`), ReasonControlChars, "content_id"},
		{"DEL in creator_id", content("creator_id", `"u\u007f"`), ReasonControlChars, "creator_id"},
		{"C1 control in sound_id", content("sound_id", `"s\u0085"`), ReasonControlChars, "sound_id"},
		{"newline in lang", content("lang", `"ne\n"`), ReasonControlChars, "lang"},
		{"NUL in text", content("text", `"a\u0000b"`), ReasonControlChars, "text"},
		{"escape in text", content("text", `"\u001b[31mred"`), ReasonControlChars, "text"},
		{"region three letters", content("region", `"NPL"`), ReasonInvalidField, "region"},
		{"region digits", content("region", `"1A"`), ReasonInvalidField, "region"},
		{"region non-ASCII", content("region", `"ñp"`), ReasonInvalidField, "region"},
		{"region punctuation", content("region", `"@["`), ReasonInvalidField, "region"},
		{"content_id too long", content("content_id", jsonString(strings.Repeat("c", 257))), ReasonInvalidField, "content_id"},
		{"text too long", content("text", jsonString(strings.Repeat("t", 64<<10+1))), ReasonInvalidField, "text"},
	}
}

func TestDecodeContentErrors(t *testing.T) {
	tests := contentErrorCases()
	d := testDecoder()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := d.DecodeContent(tc.msg)
			checkDecodeErr(t, tc, err)
			if !reflect.DeepEqual(c, Content{}) {
				t.Fatalf("failed decode returned %+v, want the zero Content", c)
			}
		})
	}

	// Every reason a decoder can give has a row; unknown_topic and
	// invalid_relay belong to the consumer, and a hashtag's own reasons
	// leave the hashtag out, not the event (TestDecodeDropsBadHashtags).
	covered := map[Reason]bool{ReasonUnknownSource: true, ReasonInvalidRelay: true, ReasonInvalidTag: true, ReasonTagTooLong: true}
	for _, tc := range tests {
		covered[tc.reason] = true
	}
	for _, r := range Reasons {
		if !covered[r] {
			t.Errorf("no test row for reason %q", r)
		}
	}
}

func reportErrorCases() []decodeErrCase {
	return []decodeErrCase{
		{"invalid JSON", []byte(`{"reason":"spam"`), ReasonInvalidJSON, ""},
		{"trailing brace", append(report(), '}'), ReasonInvalidJSON, ""},
		{"reason as number", report("reason", `3`), ReasonWrongType, "reason"},
		{"hashtags as string", report("hashtags", `"#fyp"`), ReasonWrongType, "hashtags"},
		{"ts as number", report("ts", `1717243170`), ReasonWrongType, "ts"},
		{"ts garbage", report("ts", `"yesterday"`), ReasonInvalidField, "ts"},
		{"missing event_id", report("event_id", del), ReasonMissingField, "event_id"},
		{"missing ts", report("ts", del), ReasonMissingField, "ts"},
		{"missing content_id", report("content_id", del), ReasonMissingField, "content_id"},
		{"missing reporter_id", report("reporter_id", del), ReasonMissingField, "reporter_id"},
		{"missing reason", report("reason", del), ReasonMissingField, "reason"},
		{"invalid UTF-8", report("reason", "\"sp\xc3m\""), ReasonInvalidUTF8, ""},
		{"surrogate escape in reporter_id", report("reporter_id", `"\ud83d"`), ReasonInvalidUTF8, "reporter_id"},
		{"over MaxMessageBytes", report("reason", jsonString(strings.Repeat("x", 1<<20))), ReasonTooLarge, ""},
		{"101 hashtags", report("hashtags", tagList(101, func(i int) string { return fmt.Sprint("#t", i) })), ReasonTooManyTags, "hashtags"},
		{"ts far future", report("ts", `"2030-01-01T00:00:00Z"`), ReasonTSFuture, "ts"},
		{"ts far past", report("ts", `"2000-01-01T00:00:00Z"`), ReasonTSTooOld, "ts"},
		{"control in reason", report("reason", `"spam\r"`), ReasonControlChars, "reason"},
		{"control in reporter_id", report("reporter_id", `"\u0007"`), ReasonControlChars, "reporter_id"},
		{"bidi override in reporter_id", report("reporter_id", `"r\u202e"`), ReasonControlChars, "reporter_id"},
		{"bidi isolate in content_id", report("content_id", `"\u2067c-1"`), ReasonControlChars, "content_id"},
		{"Arabic letter mark in reason", report("reason", `"spam\u061c"`), ReasonControlChars, "reason"},
		{"empty message", []byte{}, ReasonEmpty, ""},
		{"duplicate reporter_id", withKey(report(), "reporter_id", `"r-2"`), ReasonDuplicateKey, "reporter_id"},
		{"duplicate reason in capitals", withKey(report(), "REASON", `"other"`), ReasonDuplicateKey, "REASON"},
		{"duplicate content_id", withKey(report(), "content_id", `"c-2"`), ReasonDuplicateKey, "content_id"},
		{"ts leap second mid-month", report("ts", `"2024-05-15T23:59:60Z"`), ReasonInvalidField, "ts"},
		{"invalid region", report("region", `"N"`), ReasonInvalidField, "region"},
		{"reason too long", report("reason", jsonString(strings.Repeat("r", 257))), ReasonInvalidField, "reason"},
		{"unknown channel", report("channel", `"press"`), ReasonInvalidField, "channel"},
		{"channel in capitals", report("channel", `"REGULATOR"`), ReasonInvalidField, "channel"},
		{"channel as number", report("channel", `2`), ReasonWrongType, "channel"},
		{"duplicate channel", withKey(report("channel", `"media"`), "channel", `"user"`), ReasonDuplicateKey, "channel"},
		// 128 × "Ⱥ" is 256 bytes, within the limit, but lower-cases to 384 bytes.
		{"reason too long once lower-cased", report("reason", jsonString(strings.Repeat("Ⱥ", 128))), ReasonInvalidField, "reason"},
	}
}

func TestDecodeReportErrors(t *testing.T) {
	tests := reportErrorCases()
	d := testDecoder()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := d.DecodeReport(tc.msg)
			checkDecodeErr(t, tc, err)
			if !reflect.DeepEqual(r, Report{}) {
				t.Fatalf("failed decode returned %+v, want the zero Report", r)
			}
		})
	}
}

func TestDecodeContent(t *testing.T) {
	ts := time.Date(2024, 6, 1, 11, 59, 30, 0, time.UTC)
	full := Content{
		EventID: "ev-1", TS: ts, ContentID: "c-1", CreatorID: "u-1", Region: "NP", Lang: "ne",
		Hashtags: []string{"fyp", "चुनौती"}, ChallengeID: "ch-1", SoundID: "s-1", Text: "नयाँ चुनौती",
	}
	with := func(f func(c *Content)) Content {
		c := full
		c.Hashtags = slices.Clone(full.Hashtags)
		f(&c)
		return c
	}
	tests := []struct {
		name    string
		msg     []byte
		noClock bool // Decoder.Now == nil
		limits  *Limits
		want    Content
	}{
		{name: "full", msg: content(), want: full},
		{name: "dedupe after normalisation", msg: content("hashtags", `["#FYP","fyp","＃ｆｙｐ","#चुनौती","चुनौती","#क्\u200dष","#क्ष"]`),
			want: with(func(c *Content) { c.Hashtags = []string{"fyp", "चुनौती", "क्ष"} })},
		{name: "order of first appearance", msg: content("hashtags", `["#b","#a","#B","#c","#A"]`),
			want: with(func(c *Content) { c.Hashtags = []string{"b", "a", "c"} })},
		{name: "region upper-cased", msg: content("region", `"np"`), want: full},
		{name: "region mixed case", msg: content("region", `"iN"`), want: with(func(c *Content) { c.Region = "IN" })},
		{name: "optional fields absent", msg: content("region", del, "lang", del, "hashtags", del, "challenge_id", del, "sound_id", del, "text", del),
			want: Content{EventID: "ev-1", TS: ts, ContentID: "c-1", CreatorID: "u-1"}},
		{name: "empty hashtags", msg: content("hashtags", `[]`), want: with(func(c *Content) { c.Hashtags = nil })},
		{name: "null hashtags", msg: content("hashtags", `null`), want: with(func(c *Content) { c.Hashtags = nil })},
		{name: "unknown fields ignored", msg: content("extra", `{"nested":[1,"x",null,{"k":true}]}`, "schema_version", `3`), want: full},
		{name: "newline and tab in text", msg: content("text", `"line one\n\tline two\r\n"`),
			want: with(func(c *Content) { c.Text = "line one\n\tline two\r\n" })},
		{name: "surrogate pair escape in text", msg: content("text", `"\ud83d\udd25"`), want: with(func(c *Content) { c.Text = "🔥" })},
		{name: "ts exactly at MaxFuture", msg: content("ts", `"2024-06-01T13:00:00Z"`),
			want: with(func(c *Content) { c.TS = testNow.Add(time.Hour) })},
		{name: "ts exactly at MaxAge", msg: content("ts", `"2024-05-25T12:00:00Z"`),
			want: with(func(c *Content) { c.TS = testNow.Add(-7 * 24 * time.Hour) })},
		{name: "ts with Nepal offset", msg: content("ts", `"2024-06-01T17:44:30.5+05:45"`),
			want: with(func(c *Content) { c.TS = ts.Add(500 * time.Millisecond) })},
		{name: "Now nil disables ts bounds", msg: content("ts", `"1999-12-31T23:59:59Z"`), noClock: true,
			want: with(func(c *Content) { c.TS = time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC) })},
		{name: "Now nil disables future bound", msg: content("ts", `"2099-01-01T00:00:00Z"`), noClock: true,
			want: with(func(c *Content) { c.TS = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC) })},
		{name: "zero MaxFuture and MaxAge disable bounds", msg: content("ts", `"1999-12-31T23:59:59Z"`),
			limits: &Limits{MaxMessageBytes: 1 << 10, MaxHashtags: 2, MaxHashtagRunes: 10, MaxIDBytes: 8, MaxTextBytes: 64},
			want:   with(func(c *Content) { c.TS = time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC) })},
		{name: "exactly 100 hashtags", msg: content("hashtags", tagList(100, func(i int) string { return fmt.Sprint("#t", i) })),
			want: with(func(c *Content) {
				c.Hashtags = nil
				for i := range 100 {
					c.Hashtags = append(c.Hashtags, fmt.Sprint("t", i))
				}
			})},
		{name: "hashtag of exactly 100 runes", msg: content("hashtags", `["#`+strings.Repeat("कि", 50)+`"]`),
			want: with(func(c *Content) { c.Hashtags = []string{strings.Repeat("कि", 50)} })},
		{name: "ID of exactly MaxIDBytes", msg: content("content_id", jsonString(strings.Repeat("c", 256))),
			want: with(func(c *Content) { c.ContentID = strings.Repeat("c", 256) })},
		{name: "unicode IDs", msg: content("creator_id", `"सिर्जनाकर्ता-१"`), want: with(func(c *Content) { c.CreatorID = "सिर्जनाकर्ता-१" })},
		{name: "whitespace around object", msg: append(append([]byte(" \n\t"), content()...), " \r\n"...), want: full},
		{name: "duplicate keys inside an unknown object", msg: content("extra", `{"a":1,"a":2,"event_id":"x"}`), want: full},
		{name: "whitespace around keys and values", msg: []byte(" { \"event_id\" : \"ev-1\" ,\n\"ts\"\t:\"2024-06-01T11:59:30Z\", \"content_id\":\"c-1\",\"creator_id\":\"u-1\" , \"x\" : [ 1 , { \"event_id\" : 2 } ] } "),
			want: Content{EventID: "ev-1", TS: ts, ContentID: "c-1", CreatorID: "u-1"}},
		{name: "bidi controls in text kept", msg: content("text", `"\u202bمرحبا\u202c \u2067x\u2069 \u200f"`),
			want: with(func(c *Content) { c.Text = "\u202bمرحبا\u202c \u2067x\u2069 \u200f" })},
		{name: "leap second at the end of May", msg: content("ts", `"2024-05-31T23:59:60Z"`),
			want: with(func(c *Content) { c.TS = time.Date(2024, 5, 31, 23, 59, 59, 999999999, time.UTC) })},
		{name: "leap second with a fraction", msg: content("ts", `"2024-05-31T23:59:60.75Z"`),
			want: with(func(c *Content) { c.TS = time.Date(2024, 5, 31, 23, 59, 59, 999999999, time.UTC) })},
		{name: "leap second of 2016 in Nepal time", msg: content("ts", `"2017-01-01T05:44:60+05:45"`), noClock: true,
			want: with(func(c *Content) { c.TS = time.Date(2016, 12, 31, 23, 59, 59, 999999999, time.UTC) })},
		{name: "leap second of 2015, end of June", msg: content("ts", `"2015-06-30T23:59:60Z"`), noClock: true,
			want: with(func(c *Content) { c.TS = time.Date(2015, 6, 30, 23, 59, 59, 999999999, time.UTC) })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := testDecoder()
			if tt.noClock {
				d.Now = nil
			}
			if tt.limits != nil {
				d.Limits = *tt.limits
			}
			got, err := d.DecodeContent(tt.msg)
			if err != nil {
				t.Fatalf("DecodeContent(%.200s): %v", tt.msg, err)
			}
			if !got.TS.Equal(tt.want.TS) {
				t.Fatalf("TS = %v, want %v", got.TS, tt.want.TS)
			}
			got.TS, tt.want.TS = time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("DecodeContent(%.200s)\n got %+v\nwant %+v", tt.msg, got, tt.want)
			}
		})
	}
}

func TestDecodeContentMessageLimit(t *testing.T) {
	d := testDecoder()
	base := content()
	d.Limits.MaxMessageBytes = len(base)
	if _, err := d.DecodeContent(base); err != nil {
		t.Fatalf("message of exactly MaxMessageBytes: %v", err)
	}
	d.Limits.MaxMessageBytes = len(base) - 1
	_, err := d.DecodeContent(base)
	checkDecodeErr(t, decodeErrCase{msg: base, reason: ReasonTooLarge}, err)
}

func TestDecodeReport(t *testing.T) {
	ts := time.Date(2024, 6, 1, 11, 59, 30, 0, time.UTC)
	full := Report{Channel: "user", EventID: "ev-2", TS: ts, ContentID: "c-1", ReporterID: "r-1", Reason: "spam", Region: "NP", Hashtags: []string{"fyp"}}
	tests := []struct {
		name string
		msg  []byte
		want Report
	}{
		{"full", report(), full},
		{"reason lower-cased", report("reason", `"SPAM"`), full},
		{"reason unicode lower-cased", report("reason", `"ÉCHEC"`), Report{Channel: "user", EventID: "ev-2", TS: ts, ContentID: "c-1", ReporterID: "r-1", Reason: "échec", Region: "NP", Hashtags: []string{"fyp"}}},
		{"region upper-cased", report("region", `"np"`), full},
		{"hashtags normalised and de-duplicated", report("hashtags", `["#FYP","＃ｆｙｐ","#चुनौती"]`),
			Report{Channel: "user", EventID: "ev-2", TS: ts, ContentID: "c-1", ReporterID: "r-1", Reason: "spam", Region: "NP", Hashtags: []string{"fyp", "चुनौती"}}},
		{"optional fields absent", report("region", del, "hashtags", del), Report{Channel: "user", EventID: "ev-2", TS: ts, ContentID: "c-1", ReporterID: "r-1", Reason: "spam"}},
		{"unknown fields ignored", report("surface", `"profile"`, "severity", `[1,2]`), full},
		{"channel null is user", report("channel", `null`), full},
		{"channel empty is user", report("channel", `""`), full},
		{"channel regulator", report("channel", `"regulator"`), withChannel(full, "regulator")},
		{"channel law_enforcement escaped", report("channel", `"law\u005fenforcement"`), withChannel(full, "law_enforcement")},
		{"channel key in capitals", report("CHANNEL", `"media"`), withChannel(full, "media")},
		{"leap second", report("ts", `"2024-05-31T23:59:60Z"`), Report{Channel: "user", EventID: "ev-2", TS: time.Date(2024, 5, 31, 23, 59, 59, 999999999, time.UTC), ContentID: "c-1", ReporterID: "r-1", Reason: "spam", Region: "NP", Hashtags: []string{"fyp"}}},
	}
	d := testDecoder()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.DecodeReport(tt.msg)
			if err != nil {
				t.Fatalf("DecodeReport(%s): %v", tt.msg, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("DecodeReport(%s)\n got %+v\nwant %+v", tt.msg, got, tt.want)
			}
		})
	}
}

// TestDecodeConcurrent runs one Decoder from many goroutines, as consumer workers
// do; run with -race it catches shared mutable state in the decode path.
func TestDecodeConcurrent(t *testing.T) {
	d := testDecoder()
	m := []byte(benchContent)
	want, err := d.DecodeContent(m)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 4)
	for range 4 {
		go func() {
			for range 200 {
				got, err := d.DecodeContent(m)
				if err == nil && !reflect.DeepEqual(got, want) {
					err = fmt.Errorf("got %+v, want %+v", got, want)
				}
				if err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	for range 4 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}

func TestLimitsValidate(t *testing.T) {
	if err := DefaultLimits().Validate(); err != nil {
		t.Fatalf("DefaultLimits().Validate() = %v", err)
	}
	tests := []struct {
		key string
		mod func(l *Limits)
	}{
		{"max_message_bytes", func(l *Limits) { l.MaxMessageBytes = 0 }},
		{"max_hashtags", func(l *Limits) { l.MaxHashtags = -1 }},
		{"max_hashtag_runes", func(l *Limits) { l.MaxHashtagRunes = 0 }},
		{"max_id_bytes", func(l *Limits) { l.MaxIDBytes = 0 }},
		{"max_text_bytes", func(l *Limits) { l.MaxTextBytes = 0 }},
		{"max_future", func(l *Limits) { l.MaxFuture = -time.Second }},
		{"max_age", func(l *Limits) { l.MaxAge = -time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			l := DefaultLimits()
			tt.mod(&l)
			err := l.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.key) {
				t.Fatalf("Validate() = %v, want an error naming %s", err, tt.key)
			}
		})
	}
	l := DefaultLimits()
	l.MaxFuture, l.MaxAge = 0, 0
	if err := l.Validate(); err != nil {
		t.Fatalf("zero MaxFuture and MaxAge disable the bounds and are valid: %v", err)
	}
}

func TestReasonOf(t *testing.T) {
	de := fail(ReasonInvalidTag, "hashtags[0]", ErrHashtagRunes)
	tests := []struct {
		err  error
		want Reason
	}{
		{nil, ""},
		{errors.New("plain"), ""},
		{de, ReasonInvalidTag},
		{fmt.Errorf("partition 3 offset 17: %w", de), ReasonInvalidTag},
	}
	for _, tt := range tests {
		if got := ReasonOf(tt.err); got != tt.want {
			t.Errorf("ReasonOf(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
	if !errors.Is(de, ErrHashtagRunes) {
		t.Error("DecodeError does not unwrap to its cause")
	}
}

// checkDecodedContent asserts the decoder's guarantees on an accepted message and
// that the result survives a JSON round trip unchanged.
func checkDecodedContent(t *testing.T, d *Decoder, in []byte, c Content) {
	t.Helper()
	for _, h := range c.Hashtags {
		if n, err := NormaliseHashtag(h, d.Limits.MaxHashtagRunes); err != nil || n != h {
			t.Fatalf("DecodeContent(%q): hashtag %+q not normalised: %+q, %v", in, h, n, err)
		}
	}
	if len(c.Hashtags) != len(slices.Compact(slices.Sorted(slices.Values(c.Hashtags)))) {
		t.Fatalf("DecodeContent(%q): duplicate hashtags %q", in, c.Hashtags)
	}
	if c.Region != strings.ToUpper(c.Region) {
		t.Fatalf("DecodeContent(%q): region %q not upper-cased", in, c.Region)
	}
	enc, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("DecodeContent(%q) = %+v, which does not marshal: %v", in, c, err)
	}
	again, err := d.DecodeContent(enc)
	if err != nil {
		t.Fatalf("DecodeContent(%q) = %+v; re-encoded as %s it fails: %v", in, c, enc, err)
	}
	if !again.TS.Equal(c.TS) {
		t.Fatalf("round trip of %s: TS %v, want %v", enc, again.TS, c.TS)
	}
	again.TS = c.TS
	if !reflect.DeepEqual(again, c) {
		t.Fatalf("round trip of %s:\n got %+v\nwant %+v", enc, again, c)
	}
}

func checkDecodedReport(t *testing.T, d *Decoder, in []byte, r Report) {
	t.Helper()
	for _, h := range r.Hashtags {
		if n, err := NormaliseHashtag(h, d.Limits.MaxHashtagRunes); err != nil || n != h {
			t.Fatalf("DecodeReport(%q): hashtag %+q not normalised: %+q, %v", in, h, n, err)
		}
	}
	if r.Reason != strings.ToLower(r.Reason) {
		t.Fatalf("DecodeReport(%q): reason %q not lower-cased", in, r.Reason)
	}
	enc, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("DecodeReport(%q) = %+v, which does not marshal: %v", in, r, err)
	}
	again, err := d.DecodeReport(enc)
	if err != nil {
		t.Fatalf("DecodeReport(%q) = %+v; re-encoded as %s it fails: %v", in, r, enc, err)
	}
	if !again.TS.Equal(r.TS) {
		t.Fatalf("round trip of %s: TS %v, want %v", enc, again.TS, r.TS)
	}
	again.TS = r.TS
	if !reflect.DeepEqual(again, r) {
		t.Fatalf("round trip of %s:\n got %+v\nwant %+v", enc, again, r)
	}
}

// checkDecodeFailure asserts every refusal carries a reason from the closed set.
func checkDecodeFailure(t *testing.T, in []byte, err error) {
	t.Helper()
	r := ReasonOf(err)
	if !slices.Contains(Reasons, r) || r == ReasonUnknownSource {
		t.Fatalf("decoding %q: error %v has reason %q, not one a decoder gives", in, err, r)
	}
}

func FuzzDecodeContent(f *testing.F) {
	f.Add([]byte(benchContent))
	f.Add(content())
	f.Add(content("hashtags", `["#FYP","fyp","＃ｆｙｐ","#क्\u200dष","#नेपाल२०८१","#Straße"]`, "region", `"np"`))
	f.Add(content("ts", `"2024-06-01T17:44:30.123456789+05:45"`, "text", `"line\n\ttab \u2028 <b>&amp;</b>"`))
	f.Add(content("region", del, "lang", del, "hashtags", del, "challenge_id", del, "sound_id", del, "text", del))
	f.Add(content("extra", `{"a":[1,2,{"b":null}]}`))
	f.Add(content("ts", `1717243170`))
	f.Add(content("hashtags", `"#fyp"`))
	f.Add(append(content(), '}'))
	f.Add([]byte(`{"EVENT_ID":"e","Ts":"2024-06-01T12:00:00Z","content_id":"c","creator_id":"u","event_id":"e2"}`))
	f.Add([]byte{})
	f.Add(withKey(content(), "ſound_id", `"s-2"`))
	f.Add(withKey(content(), `content\u005fid`, `"c-2"`))
	f.Add(content("extra", `{"a":1,"a":[{"b":"}"}]}`))
	f.Add(content("ts", `"2024-05-31T23:59:60.5Z"`))
	f.Add(content("ts", `"2017-01-01T05:44:60+05:45"`))
	f.Add(content("event_id", `"ev\u202e1"`, "creator_id", `"u\u2066x\u2069"`, "text", `"\u202bمرحبا\u202c"`))
	f.Add(content("content_id", `"c\u200b"`))
	d := testDecoder()
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := d.DecodeContent(b)
		if err != nil {
			checkDecodeFailure(t, b, err)
			return
		}
		checkDecodedContent(t, d, b, c)
	})
}

func FuzzDecodeReport(f *testing.F) {
	f.Add(report())
	f.Add(report("reason", `"SPAM"`, "region", `"np"`, "hashtags", `["#FYP","#चुनौती","＃ｆｙｐ"]`))
	f.Add(report("reason", `"İllegal Ⱥ"`))
	f.Add(report("region", del, "hashtags", del))
	f.Add(report("ts", `"2024-06-01T17:44:30+05:45"`, "extra", `[true,false]`))
	f.Add(report("reporter_id", `"\ud800"`))
	f.Add([]byte{})
	f.Add(withKey(report(), "REASON", `"other"`))
	f.Add(report("ts", `"2024-05-31T23:59:60Z"`, "reporter_id", `"r\u202d"`))
	f.Add(report("reason", `"spam\u061c"`))
	d := testDecoder()
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := d.DecodeReport(b)
		if err != nil {
			checkDecodeFailure(t, b, err)
			return
		}
		checkDecodedReport(t, d, b, r)
	})
}

func TestUpperRegion(t *testing.T) {
	for a := 'a'; a <= 'z'; a++ {
		for b := 'a'; b <= 'z'; b++ {
			for _, s := range []string{string([]rune{a, b}), strings.ToUpper(string(a)) + string(b), string(a) + strings.ToUpper(string(b)), strings.ToUpper(string([]rune{a, b}))} {
				if got, want := upperRegion(s), strings.ToUpper(s); got != want {
					t.Fatalf("upperRegion(%q) = %q, want %q", s, got, want)
				}
			}
		}
	}
	if got := upperRegion(""); got != "" {
		t.Fatalf(`upperRegion("") = %q`, got)
	}
}

// TestDecodeCopiesStrings: the decoded event shares no bytes with the message,
// whose buffer the consumer does not own for long.
func TestDecodeCopiesStrings(t *testing.T) {
	d := testDecoder()
	b := []byte(benchContent)
	c, err := d.DecodeContent(b)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%+v", c)
	rb := report("reason", `"SPAM"`, "content_id", `"c\u002d1"`)
	r, err := d.DecodeReport(rb)
	if err != nil {
		t.Fatal(err)
	}
	wantR := fmt.Sprintf("%+v", r)
	for _, m := range [][]byte{b, rb} {
		for i := range m {
			m[i] = 'x'
		}
	}
	if got := fmt.Sprintf("%+v", c); got != want {
		t.Fatalf("content changed with its message:\n got %s\nwant %s", got, want)
	}
	if got := fmt.Sprintf("%+v", r); got != wantR {
		t.Fatalf("report changed:\n got %s\nwant %s", got, wantR)
	}
}

func withChannel(r Report, c string) Report {
	r.Channel = c
	return r
}

// TestParseUTC holds the ts fast path to time.Time.UnmarshalJSON on the forms it
// takes and on its edges; FuzzParseUTC does the same on any input.
func TestParseUTC(t *testing.T) {
	for _, tc := range []struct {
		in     string
		wantOK bool
	}{
		{`"2024-06-01T11:59:30Z"`, true},
		{`"2024-06-01T11:59:30.123Z"`, true},
		{`"2024-06-01T11:59:30.123456789Z"`, true},
		{`"2024-06-01T11:59:30.1234567891234Z"`, true}, // digits past the ninth dropped
		{`"0000-01-01T00:00:00Z"`, true},
		{`"9999-12-31T23:59:59.999999999Z"`, true},
		{`"1969-12-31T23:59:59.5Z"`, true},
		{`"2024-02-29T00:00:00Z"`, true},
		{`"2000-02-29T00:00:00Z"`, true},
		{`"1900-02-29T00:00:00Z"`, false},
		{`"2023-02-29T00:00:00Z"`, false},
		{`"2024-04-31T00:00:00Z"`, false},
		{`"2024-06-01T24:00:00Z"`, false},
		{`"2024-06-01T11:60:00Z"`, false},
		{`"2024-05-31T23:59:60Z"`, false}, // leap second: UnmarshalJSON's path
		{`"2024-06-01T11:59:30.Z"`, false},
		{`"2024-06-01T11:59:30,5Z"`, false},
		{`"2024-06-01T11:59:30.5aZ"`, false},
		{`"2024-06-01T11:59:30+05:45"`, false},
		{`"2024-06-01t11:59:30Z"`, false},
		{`"2024-06-01T11:59:30z"`, false},
		{`"2024-13-01T11:59:30Z"`, false},
		{`"2024-00-01T11:59:30Z"`, false},
		{`"+024-06-01T11:59:30Z"`, false},
		{`"2024-06-01T11:59:3Z"`, false},
	} {
		got, ok := parseUTC([]byte(tc.in))
		if ok != tc.wantOK {
			t.Errorf("parseUTC(%s) ok = %v, want %v", tc.in, ok, tc.wantOK)
			continue
		}
		checkParseUTC(t, []byte(tc.in), got, ok)
	}
}

// checkParseUTC fails t unless a time parseUTC accepted is the one
// time.Time.UnmarshalJSON reads, field for field.
func checkParseUTC(t *testing.T, in []byte, got time.Time, ok bool) {
	t.Helper()
	if !ok {
		return
	}
	var want time.Time
	if err := want.UnmarshalJSON(in); err != nil {
		t.Fatalf("parseUTC(%s) accepted what UnmarshalJSON refuses: %v", in, err)
	}
	if !reflect.DeepEqual(got, want) || got.Location() != want.Location() {
		t.Fatalf("parseUTC(%s) = %#v, UnmarshalJSON %#v", in, got, want)
	}
}

func FuzzParseUTC(f *testing.F) {
	f.Add([]byte(`"2024-06-01T11:59:30.123Z"`))
	f.Add([]byte(`"0000-02-29T23:59:59Z"`))
	f.Add([]byte(`"9999-12-31T23:59:59.9999999999Z"`))
	f.Add([]byte(`"2024-06-01T11:59:30+05:45"`))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, ok := parseUTC(in)
		checkParseUTC(t, in, got, ok)
	})
}

// TestTSBoundsWithoutLimits: a replay turns the limits on ts off, but a time
// the sinks cannot store is refused all the same; one at their edges is
// accepted.
func TestTSBoundsWithoutLimits(t *testing.T) {
	d := &Decoder{Limits: DefaultLimits(), Now: func() time.Time { return testNow }}
	d.Limits.MaxFuture, d.Limits.MaxAge = 0, 0
	for _, tt := range []struct {
		name, ts string
		want     Reason
	}{
		{"before 1970", `"1969-12-31T23:59:59Z"`, ReasonTSTooOld},
		{"the epoch", `"1970-01-01T00:00:00Z"`, ReasonTSTooOld},
		{"the first day stored", `"1970-01-02T00:00:00Z"`, ""},
		{"a replay of 2001", `"2001-09-09T01:46:40Z"`, ""},
		{"the last day stored", `"2105-12-31T23:59:59Z"`, ""},
		{"2106", `"2106-01-01T00:00:00Z"`, ReasonTSFuture},
		{"past DateTime", `"2200-01-01T00:00:00Z"`, ReasonTSFuture},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for kind, msg := range map[string][]byte{"content": content("ts", tt.ts), "report": report("ts", tt.ts)} {
				var err error
				if kind == "content" {
					_, err = d.DecodeContent(msg)
				} else {
					_, err = d.DecodeReport(msg)
				}
				if got := ReasonOf(err); got != tt.want {
					t.Errorf("%s: reason %q (%v), want %q", kind, got, err, tt.want)
				}
			}
		})
	}
}

// TestDecodeDropsBadHashtags: a hashtag that cannot be a term is left out,
// said to TagDropped with its reason, and the rest of the event kept. The
// whole post was refused for it, its other hashtags dead-lettered with it:
// "#🔥" beside "#blackoutchallenge" hid the challenge from every detector.
func TestDecodeDropsBadHashtags(t *testing.T) {
	for _, tt := range []struct {
		name    string
		msg     []byte
		report  bool
		want    []string
		dropped []Reason
	}{
		{"5000-char hashtag", content("hashtags", `["#fyp","#`+strings.Repeat("a", 5000)+`"]`), false, []string{"fyp"}, []Reason{ReasonTagTooLong}},
		{"101-rune devanagari hashtag", content("hashtags", `["#`+strings.Repeat("क", 101)+`","#चुनौती"]`), false, []string{"चुनौती"}, []Reason{ReasonTagTooLong}},
		// Counted with its '#'s: 2,000 of them before "abc" passed as "abc".
		{"hashtag behind a run of hashes", content("hashtags", `["#fyp","`+strings.Repeat("#", 2000)+`abc"]`), false, []string{"fyp"}, []Reason{ReasonTagTooLong}},
		{"hashtag with space", content("hashtags", `["#fyp","#f yp"]`), false, []string{"fyp"}, []Reason{ReasonInvalidTag}},
		{"an emoji beside a challenge", content("hashtags", `["#blackoutchallenge","#🔥"]`), false, []string{"blackoutchallenge"}, []Reason{ReasonInvalidTag}},
		{"a dash beside a challenge", content("hashtags", `["#blackoutchallenge","#black-out"]`), false, []string{"blackoutchallenge"}, []Reason{ReasonInvalidTag}},
		{"hashtag emoji alone", content("hashtags", `["🔥"]`), false, nil, []Reason{ReasonInvalidTag}},
		{"hashtag only hash", content("hashtags", `["#"]`), false, nil, []Reason{ReasonInvalidTag}},
		{"hashtag null", content("hashtags", `[null,"#a"]`), false, []string{"a"}, []Reason{ReasonInvalidTag}},
		{"newline in hashtag", content("hashtags", `["#fyp\n"]`), false, nil, []Reason{ReasonControlChars}},
		{"NUL in hashtag", content("hashtags", `["#fyp","#a\u0000b"]`), false, []string{"fyp"}, []Reason{ReasonControlChars}},
		{"report: 5000-char hashtag", report("hashtags", tagList(1, func(int) string { return strings.Repeat("x", 5000) })), true, nil, []Reason{ReasonTagTooLong}},
		{"report: invalid hashtag", report("hashtags", `["#a.b","#ok"]`), true, []string{"ok"}, []Reason{ReasonInvalidTag}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := testDecoder()
			var dropped []Reason
			d.TagDropped = func(r Reason) { dropped = append(dropped, r) }
			var got []string
			var err error
			if tt.report {
				var r Report
				r, err = d.DecodeReport(tt.msg)
				got = r.Hashtags
			} else {
				var c Content
				c, err = d.DecodeContent(tt.msg)
				got = c.Hashtags
			}
			if err != nil {
				t.Fatalf("refused: %v; want the event with its other hashtags", err)
			}
			if len(got) == 0 {
				got = nil
			}
			if !slices.Equal(got, tt.want) || !slices.Equal(dropped, tt.dropped) {
				t.Errorf("hashtags %q, dropped %v; want %q, %v", got, dropped, tt.want, tt.dropped)
			}
		})
	}
}
