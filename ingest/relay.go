package ingest

import (
	"errors"

	"github.com/trendwatch/trendwatch/internal/binenc"
)

// A relay message carries one Record from an aggregate process to a detect
// process over an internal topic, in an envelope (see binenc.Format):
//
//	magic "TWRL" | version 1 | body | CRC-32C of header and body (4 bytes, little endian)
//
// body: topic (string) | partition, offset, lag (varints) | kind (1 byte) |
// for KindContent: event_id, ts, content_id, creator_id, region, lang,
// hashtags, challenge_id, sound_id, text; for KindReport: event_id, ts,
// content_id, reporter_id, reason, region, hashtags, channel; nothing more for
// KindInvalid and KindSkipped. Strings and lists are binenc's (a uvarint length
// first), times AppendTime's. Hashes are left out: the detect process makes
// them, as the aggregate's decoding goroutines did.
//
// The record kind is in the body, not the envelope's kind byte, because
// Format.Open wants the kind known before reading and a relay topic carries
// all four.
var relayEnvelope = binenc.Format{Magic: "TWRL", Version: 1, SumHeader: true, Invalid: ErrRelay}

// ErrRelay is wrapped by every error DecodeRelay returns.
var ErrRelay = errors.New("invalid relay record")

// The bounds keep a hostile message from sizing an allocation. They are far
// above what event.DefaultLimits let through (a 1 MiB message, 100 hashtags)
// so every record an aggregate decodes can be relayed.
const (
	relayMaxString   = 16 << 20
	relayMaxHashtags = 10_000
)

// AppendRelay appends r's relay encoding to dst: AppendRecord in the relay
// envelope.
func AppendRelay(dst []byte, r *Record) []byte {
	start := len(dst)
	dst = relayEnvelope.AppendHeader(dst, 0)
	dst = AppendRecord(dst, r)
	return relayEnvelope.Seal(dst, start)
}

// DecodeRelay decodes one relay message into r, replacing every field but
// Via, which the caller sets to the relay message's own coordinates, and
// makes r.Hashes for content and reports. Times come back in UTC. The
// strings share one copy of the message, so r holds nothing of b. On error r
// is unchanged.
func DecodeRelay(b []byte, r *Record) error {
	body, _, err := relayEnvelope.Open(b, 0)
	if err != nil {
		return err
	}
	// One string of the whole body, sliced for every field, costs one
	// allocation where a string per field cost ten.
	rd, whole := binenc.NewReader(ErrRelay, "relay record", body), string(body)
	var got Record
	ReadRecord(rd, whole, &got)
	if err := rd.End(); err != nil {
		return err
	}
	r.Source, r.Lag, r.Kind, r.Content, r.Report = got.Source, got.Lag, got.Kind, got.Content, got.Report
	r.Hashes = Hashes{}
	r.Hash()
	return nil
}

// AppendRecord appends r's encoding to dst: its input coordinates, lag and
// kind, then the content's fields and the report's, both whatever the kind,
// so the layout never depends on it. It is the one encoding of a Record: on
// the relay, and of the records an engine's checkpoint holds parked. Via and
// Hashes are left out: where this process read a record is nothing to the
// next, and the hashes are made again from the IDs.
func AppendRecord(b []byte, r *Record) []byte {
	b = binenc.AppendString(b, r.Source.Topic)
	b = binenc.AppendVarint(b, int64(r.Source.Partition))
	b = binenc.AppendVarint(b, r.Source.Offset)
	b = binenc.AppendVarint(b, r.Lag)
	b = append(b, byte(r.Kind))
	c := &r.Content
	b = binenc.AppendString(b, c.EventID)
	b = binenc.AppendTime(b, c.TS)
	for _, s := range [...]string{c.ContentID, c.CreatorID, c.Region, c.Lang} {
		b = binenc.AppendString(b, s)
	}
	b = binenc.AppendStrings(b, c.Hashtags)
	for _, s := range [...]string{c.ChallengeID, c.SoundID, c.Text} {
		b = binenc.AppendString(b, s)
	}
	p := &r.Report
	b = binenc.AppendString(b, p.EventID)
	b = binenc.AppendTime(b, p.TS)
	for _, s := range [...]string{p.ContentID, p.ReporterID, p.Reason, p.Region} {
		b = binenc.AppendString(b, s)
	}
	b = binenc.AppendStrings(b, p.Hashtags)
	return binenc.AppendString(b, p.Channel)
}

// ReadRecord reads what AppendRecord wrote into r's fields but Via and
// Hashes, refusing a kind that is none of the four. With whole the string of
// all of rd's input, the strings are slices of it (one allocation for the
// record, which then keeps all of whole); with whole empty each is a copy.
func ReadRecord(rd *binenc.Reader, whole string, r *Record) {
	str := func(field string) string { return recordString(rd, whole, field) }
	r.Source.Topic = str("topic")
	part := rd.Varint("partition")
	if int64(int(part)) != part {
		rd.Failf("partition %d overflows int", part)
	}
	r.Source.Partition = int(part)
	r.Source.Offset = rd.Varint("offset")
	r.Lag = rd.Varint("lag")
	r.Kind = Kind(rd.Byte("kind"))
	switch r.Kind {
	case KindContent, KindReport, KindInvalid, KindSkipped:
	default:
		rd.Failf("unknown kind %d", r.Kind)
	}
	c := &r.Content
	c.EventID, c.TS = str("content event_id"), rd.Time("content ts")
	c.ContentID, c.CreatorID, c.Region, c.Lang = str("content content_id"), str("content creator_id"), str("content region"), str("content lang")
	c.Hashtags = recordStrings(rd, whole, "content hashtags")
	c.ChallengeID, c.SoundID, c.Text = str("content challenge_id"), str("content sound_id"), str("content text")
	p := &r.Report
	p.EventID, p.TS = str("report event_id"), rd.Time("report ts")
	p.ContentID, p.ReporterID, p.Reason, p.Region = str("report content_id"), str("report reporter_id"), str("report reason"), str("report region")
	p.Hashtags, p.Channel = recordStrings(rd, whole, "report hashtags"), str("report channel")
}

// recordString reads a string, a slice of whole when it is given. The Reader
// and whole are apart because escape analysis sees a struct of the two as
// one, and whole, kept by the record, took the Reader to the heap.
func recordString(rd *binenc.Reader, whole, field string) string {
	n := rd.UvarintMax(field, relayMaxString)
	raw := rd.Raw(field, n)
	if rd.Err() != nil {
		return ""
	}
	if whole == "" {
		return string(raw)
	}
	end := rd.Offset()
	return whole[end-int(n) : end]
}

// recordStrings reads a list as binenc.Strings does, an empty one as nil.
func recordStrings(rd *binenc.Reader, whole, field string) []string {
	n := rd.Count(field)
	if n > relayMaxHashtags {
		rd.Failf("%s: %d entries exceed %d", field, n, relayMaxHashtags)
	}
	if n == 0 || rd.Err() != nil {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = recordString(rd, whole, field)
	}
	return out
}
