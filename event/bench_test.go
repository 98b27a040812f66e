package event

import (
	"testing"
	"time"
)

// benchContent is a realistic post: five hashtags as users type them, one of them
// Devanagari, with a short Nepali caption.
const benchContent = `{"event_id":"01J0ZQ8K7W3D5N6P9R2T4V6X8Z","ts":"2024-06-01T11:59:30.123Z",` +
	`"content_id":"7375621843920012345","creator_id":"u_6632871920","region":"np","lang":"ne",` +
	`"hashtags":["#fyp","#Nepal","#चुनौती","#dance","#TrendingNow"],` +
	`"challenge_id":"ch_88231","sound_id":"snd_1029384756",` +
	`"text":"नयाँ नृत्य चुनौती! Try it 🔥 #fyp #Nepal #चुनौती"}`

func BenchmarkDecodeContent(b *testing.B) {
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	d := Decoder{Limits: DefaultLimits(), Now: func() time.Time { return now }}
	msg := []byte(benchContent)
	if _, err := d.DecodeContent(msg); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := d.DecodeContent(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeReport(b *testing.B) {
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	d := Decoder{Limits: DefaultLimits(), Now: func() time.Time { return now }}
	msg := []byte(`{"event_id":"01J0ZQ8K7W3D5N6P9R2T4V6X9A","ts":"2024-06-01T11:59:31.456Z",` +
		`"content_id":"7375621843920012345","reporter_id":"u_1182736450","reason":"Dangerous_Acts",` +
		`"region":"NP","hashtags":["#चुनौती","#fyp"]}`)
	if _, err := d.DecodeReport(msg); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := d.DecodeReport(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNormaliseHashtag(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"ascii-lower", "#fyp"},
		{"ascii-upper", "#TrendingNow"},
		{"fullwidth", "＃ＦＹＰ"},
		{"devanagari", "#चुनौती"},
		{"devanagari-zwj", "#क्\u200dषेत्र"}, // ZWJ and the full path
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NormaliseHashtag(bc.in, 100); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseContent is the scanner's share of BenchmarkDecodeContent: syntax,
// fields and duplicate keys, before any string is copied.
func BenchmarkParseContent(b *testing.B) {
	msg := []byte(benchContent)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		var m message
		if err := parse(msg, contentSchema, &m); err != nil {
			b.Fatal(err)
		}
	}
}
