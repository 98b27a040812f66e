package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/internal/binenc"
)

// relayRecords are one of each kind, and the edges: an offset zone and a
// monotonic reading on a ts, no hashtags as an empty list, an unknown lag, the
// largest offset.
func relayRecords() []struct {
	name string
	rec  Record
} {
	ist := time.FixedZone("IST", 5*3600+1800)
	ts := time.Date(2024, 6, 1, 17, 29, 30, 123456789, ist)
	return []struct {
		name string
		rec  Record
	}{
		{"content", Record{Source: Source{"content-events", 7, 123456}, Lag: 3, Kind: KindContent,
			Content: event.Content{EventID: "01J0ZQ8K7W3D5N6P9R2T4V6X8Z", TS: ts, ContentID: "c-42", CreatorID: "u-9",
				Region: "IN", Lang: "hi", Hashtags: []string{"ब्लैकआउटचैलेंज", "fyp"}, ChallengeID: "ch-1",
				SoundID: "s-77", Text: "मत करो #ब्लैकआउटचैलेंज"}}},
		{"report", Record{Source: Source{"report-events", 0, 9}, Kind: KindReport,
			Report: event.Report{EventID: "r-1", TS: time.Now(), ContentID: "c-42", ReporterID: "u-1",
				Reason: "dangerous_challenge", Region: "NP", Hashtags: []string{"ब्लैकआउटचैलेंज"}, Channel: "regulator"}}},
		{"invalid", Record{Source: Source{"content-events", 2, 77}, Lag: 12, Kind: KindInvalid}},
		{"skipped", Record{Source: Source{"report-events", 1, 0}, Lag: 0, Kind: KindSkipped}},
		{"no hashtags", Record{Source: Source{"content-events", 3, 5}, Kind: KindContent,
			Content: event.Content{EventID: "e", TS: ts.UTC(), ContentID: "c", CreatorID: "u", Hashtags: []string{}}}},
		{"extremes", Record{Source: Source{"t", math.MaxInt32, math.MaxInt64}, Lag: -1, Kind: KindReport,
			Report: event.Report{EventID: "e", ContentID: "c", ReporterID: "u", Reason: "spam"}}},
	}
}

// relayWant is what r decodes as: times in UTC without a monotonic reading,
// no hashtags as nil, and its hashes made.
func relayWant(r Record) Record {
	r.Content.TS, r.Report.TS = r.Content.TS.Round(0).UTC(), r.Report.TS.Round(0).UTC()
	if len(r.Content.Hashtags) == 0 {
		r.Content.Hashtags = nil
	}
	if len(r.Report.Hashtags) == 0 {
		r.Report.Hashtags = nil
	}
	r.Hash()
	return r
}

// stale is what DecodeRelay decodes over: every field must be replaced.
func stale() Record {
	r := Record{Source: Source{"old", 99, 99}, Lag: 99, Kind: KindContent,
		Content: event.Content{EventID: "old", Hashtags: []string{"old"}, Text: "old"},
		Report:  event.Report{EventID: "old", Channel: "old"}}
	r.Hash()
	return r
}

func TestRelayRoundTrip(t *testing.T) {
	for _, tc := range relayRecords() {
		t.Run(tc.name, func(t *testing.T) {
			b := AppendRelay([]byte("prefix"), &tc.rec)
			if string(b[:6]) != "prefix" {
				t.Fatalf("AppendRelay overwrote dst: %q", b[:6])
			}
			got := stale()
			if err := DecodeRelay(b[6:], &got); err != nil {
				t.Fatal(err)
			}
			if want := relayWant(tc.rec); !reflect.DeepEqual(got, want) {
				t.Fatalf("decoded\n%+v\nwant\n%+v", got, want)
			}
			if ts := tc.rec.Content.TS; !got.Content.TS.Equal(ts) || got.Content.TS.Location() != time.UTC {
				t.Fatalf("ts %v, want %v in UTC", got.Content.TS, ts)
			}
		})
	}
}

// resealRelay wraps body in a relay envelope with a good checksum, so that
// the body's own checks are reached.
func resealRelay(body []byte) []byte {
	b := relayEnvelope.AppendHeader(nil, 0)
	return relayEnvelope.Seal(append(b, body...), 0)
}

func TestDecodeRelayRefuses(t *testing.T) {
	content := relayRecords()[0].rec
	good := AppendRelay(nil, &content)
	body := good[relayEnvelope.HeaderLen() : len(good)-binenc.TrailerLen]
	flip := bytes.Clone(good)
	flip[len(flip)/2] ^= 0x10
	// A content of empty fields whose hashtag count passes the input-length
	// check but not the bound.
	tooMany := []byte{0, 0, 0, 0, byte(KindContent), 0, 0, 0, 0, 0, 0}
	tooMany = binenc.AppendUvarint(tooMany, relayMaxHashtags+1)
	tooMany = append(tooMany, make([]byte, relayMaxHashtags+4)...)
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "shorter than"},
		{"truncated", good[:len(good)-1], "checksum"},
		{"truncated body", resealRelay(body[:len(body)-3]), "report region: truncated"},
		{"flipped byte", flip, "checksum"},
		{"unknown kind", AppendRelay(nil, &Record{Kind: 9}), "unknown kind 9"},
		{"kind 0", AppendRelay(nil, &Record{}), "unknown kind 0"},
		{"trailing garbage", resealRelay(append(bytes.Clone(body), 0)), "1 trailing bytes"},
		{"garbage after", append(bytes.Clone(good), 0), "checksum"},
		{"long string", resealRelay(binenc.AppendUvarint(nil, relayMaxString+1)), fmt.Sprintf("topic: %d exceeds %d", relayMaxString+1, relayMaxString)},
		{"too many hashtags", resealRelay(tooMany), "hashtags: 10001 entries exceed 10000"},
		{"partition", resealRelay([]byte{0, 0x80}), "partition: truncated"},
		{"bad time", resealRelay([]byte{0, 0, 0, 0, byte(KindReport), 0, 2}), "ts: time tag 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := stale()
			err := DecodeRelay(tc.in, &got)
			if !errors.Is(err, ErrRelay) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one wrapping ErrRelay containing %q", err, tc.want)
			}
			if !reflect.DeepEqual(got, stale()) {
				t.Fatalf("a refused message changed the record to %+v", got)
			}
		})
	}
	b := relayEnvelope.AppendHeader(nil, 0)
	b[len(b)-1] = 2
	if err := DecodeRelay(relayEnvelope.Seal(append(b, body...), 0), new(Record)); err == nil || !strings.Contains(err.Error(), "unsupported version 2") {
		t.Fatalf("version 2: %v", err)
	}
}

// FuzzDecodeRelay: DecodeRelay never panics, refuses with ErrRelay, and what
// it accepts encodes to a message that decodes to the same record. Each input
// is tried as a message and as a body resealed, since a mutation nearly always
// breaks the checksum and would never reach the body's checks.
func FuzzDecodeRelay(f *testing.F) {
	for _, tc := range relayRecords() {
		b := AppendRelay(nil, &tc.rec)
		f.Add(b)
		f.Add(b[relayEnvelope.HeaderLen() : len(b)-binenc.TrailerLen])
	}
	f.Add([]byte{1, 'x', 2, 4, 1, byte(KindContent), 0, 1, 3, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, msg := range [][]byte{in, resealRelay(in)} {
			var r Record
			if err := DecodeRelay(msg, &r); err != nil {
				if !errors.Is(err, ErrRelay) {
					t.Fatalf("error %v does not wrap ErrRelay", err)
				}
				continue
			}
			var again Record
			if err := DecodeRelay(AppendRelay(nil, &r), &again); err != nil {
				t.Fatalf("a decoded record, encoded again, does not decode: %v", err)
			}
			if !reflect.DeepEqual(r, again) {
				t.Fatalf("decoded\n%+v\nencoded and decoded again\n%+v", r, again)
			}
		}
	})
}

func BenchmarkRelayRoundTrip(b *testing.B) {
	rec := relayRecords()[0].rec
	var buf []byte
	var r Record
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendRelay(buf[:0], &rec)
		if err := DecodeRelay(buf, &r); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}
