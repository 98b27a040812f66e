package pipeline

import (
	"bytes"
	"fmt"
	"math"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/internal/binenc"
	"github.com/trendwatch/trendwatch/pipeline/admission"
	"github.com/trendwatch/trendwatch/pipeline/dedup"
	"github.com/trendwatch/trendwatch/pipeline/families"
	"github.com/trendwatch/trendwatch/pipeline/tracked"
)

// The reader of the binary snapshot that WriteSnapshot writes (layout in
// snapshot.go). It reads into a snapshot, as the legacy gob reader does, and
// Restore applies it: a snapshot is read whole before the engine changes.

// decodeSnapshot decodes a snapshot in either layout: the binary one, or the
// gob one of older builds.
func decodeSnapshot(b []byte) (*snapshot, error) {
	if bytes.HasPrefix(b, []byte(snapEnvelope.Magic)) {
		return decodeBinary(b)
	}
	return decodeGob(b)
}

// maxDoorSlots bounds a door table's size in a snapshot, 256 times
// pipeline.admission_slots' default: a larger one is a corrupt length, and
// would be allocated before its hashes are read.
const maxDoorSlots = 1 << 28

// decodeBinary decodes what WriteSnapshot wrote. Its errors wrap
// ErrSnapshot and name the field.
func decodeBinary(data []byte) (*snapshot, error) {
	body, version, err := snapEnvelope.Open(data, 0)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	r := binenc.NewReader(ErrSnapshot, "snapshot", body)
	s := &snapshot{binary: true, DedupKept: true}
	s.History = int(r.UvarintMax("history", 1<<31))
	s.Shard = int(r.UvarintMax("shard", 1<<31))
	s.Shards = int(r.UvarintMax("shards", 1<<31))
	s.Watermark, s.LastClosed, s.First, s.MaxApplied = r.Time("watermark"), r.Time("last closed"), r.Time("first"), r.Time("max applied")
	s.Invalid = r.Uvarint("invalid")
	if n := r.Count("offsets"); n > 0 {
		s.Offsets = make([]ingest.Offset, n)
		for i := range s.Offsets {
			s.Offsets[i] = ingest.Offset{Topic: r.String("offset topic"), Partition: int(r.Varint("offset partition")), Offset: r.Varint("offset")}
		}
	}
	s.Lifecycle = r.Bytes("lifecycle")
	if n := r.Count("platform creators"); n > 0 {
		s.Creators = make([]hllSnap, n)
		for i := range s.Creators {
			s.Creators[i] = hllSnap{Start: r.Time("platform creators start"), HLL: r.Bytes("platform creators HLL")}
		}
	}
	if n := r.Count("family mentions"); n > 0 {
		s.FamilyMentions = make([]familySnap, n)
		for i := range s.FamilyMentions {
			s.FamilyMentions[i] = familySnap{Start: r.Time("family mentions start"), N: r.Uvarint("family mentions")}
		}
	}
	if n := r.Count("parked records"); n > 0 {
		s.Parked = make([]ingest.Record, n)
		for i := range s.Parked {
			readRecord(r, &s.Parked[i])
		}
	}
	if n := r.Count("outbox"); n > 0 {
		s.Outbox = make([]alert.Event, n)
		for i := range s.Outbox {
			detectors.ReadEvent(r, &s.Outbox[i])
		}
	}
	if n := r.Count("tracked terms"); n > 0 {
		s.Terms = make([]termSnap, n)
		for i := range s.Terms {
			readTerm(r, &s.Terms[i])
			if r.Err() != nil {
				break
			}
		}
	}
	if n := r.Count("join cache"); n > 0 {
		s.Join = make([]joinEntry, n)
		for i := range s.Join {
			s.Join[i] = joinEntry{ID: r.String("join content id"), Keys: r.Strings("join keys")}
		}
	}
	if n := r.Count("families"); n > 0 {
		s.families = make([]families.Entry, 0, n)
		for range n {
			var f families.Entry
			switch tag := r.Byte("family tag"); tag {
			case famByTerm:
				if f.Term = r.String("family term"); r.Err() == nil && f.Term == "" {
					r.Failf("family with an empty term")
				}
			case famByHash:
				if f.Fam = r.U64("family hash"); r.Err() == nil && f.Fam == 0 {
					r.Failf("family hash 0")
				}
			default:
				r.Failf("family tag %d", tag)
			}
			f.First = r.U64("family first spelling")
			if r.Err() != nil {
				break
			}
			s.families = append(s.families, f)
		}
	}
	if n := r.Count("door tables"); n > 0 {
		s.Door = make([]admission.Snap, n)
		for i := range s.Door {
			d := &s.Door[i]
			d.Start = r.Time("door start")
			slots := r.UvarintMax("door slots", maxDoorSlots)
			if r.Err() == nil && (slots < admission.Ways || slots&(slots-1) != 0) {
				r.Failf("door slots %d: not a power of two of at least %d", slots, admission.Ways)
			}
			d.Slots = int(slots)
			d.Hashes = readU64s(r, "door hashes")
			if r.Err() == nil && len(d.Hashes) > d.Slots {
				r.Failf("door table of %d slots holds %d hashes", d.Slots, len(d.Hashes))
			}
		}
	}
	if n := r.Count("event_id filter"); n > 0 {
		s.Dedup = make([]dedup.Snap, n)
		for i := range s.Dedup {
			d := &s.Dedup[i]
			d.Topic, d.Partition = r.String("event_id filter topic"), int(r.Varint("event_id filter partition"))
			if m := r.Count("event_id filter buckets"); m > 0 {
				d.Buckets = make([]dedup.Bucket, m)
				for j := range d.Buckets {
					d.Buckets[j] = dedup.Bucket{Index: r.Varint("event_id filter bucket"), IDs: readU64s(r, "event ids")}
				}
			}
		}
	}
	s.Window = r.Bytes("window")
	if version >= 2 {
		if n := r.Count("surges"); n > 0 {
			s.surges = make([]surgeSnap, n)
			for i := range s.surges {
				sn := &s.surges[i]
				sn.Hash = r.U64("surges term")
				if m := r.Count("surged buckets"); m > 0 {
					sn.Buckets = make([]detectors.SurgedBucket, m)
					for j := range sn.Buckets {
						sn.Buckets[j] = detectors.SurgedBucket{Start: r.Time("surged bucket start"), Excess: r.Float64("surged bucket excess"), Rhythm: r.Bool("surged bucket rhythm")}
					}
				}
			}
		}
	}
	if version >= 3 {
		n := r.Count("tail peaks")
		if n > 0 && len(s.Terms) == 0 {
			r.Failf("tail peaks: %d with no tracked term", n)
		}
		for range n {
			term, test := r.UvarintMax("tail peak term", uint64(len(s.Terms)-1)), r.UvarintMax("tail peak test", detectors.TailTests-1)
			p := r.Float64("tail peak")
			if r.Err() != nil {
				break
			}
			if p == 0 || math.IsNaN(p) || math.IsInf(p, 0) {
				r.Failf("tail peak %v of term %d: not the excess of a run", p, term)
				break
			}
			s.Terms[term].Tail.Test(int(test)).Peak = p
		}
	}
	if version >= 4 {
		s.reported.invalid, s.reported.late = r.Uvarint("reported invalid"), r.Uvarint("reported late")
		s.reportedWritten = true
	}
	if version >= 5 {
		s.notifierState = r.Bytes("notifier state")
	}
	if err := r.End(); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	return s, nil
}

// readTerm reads a tracked term that writeTerms wrote.
func readTerm(r *binenc.Reader, ts *termSnap) {
	ts.Key = r.String("term key")
	ts.Hash = r.U64("term hash")
	ts.Mentions = readCounts(r, "term mentions")
	ts.Reports = readCounts(r, "term reports")
	ts.Creators = readCounts(r, "term creators")
	ts.HistEnd = r.Time("term history end")
	ts.ExactFrom = r.Time("term exact from")
	// A tail with fewer tests (a test added since) reads with the others 0,
	// as a gob one would; one with more is not of this build.
	tests := r.UvarintMax("term tail tests", detectors.TailTests)
	for i := range int(tests) {
		t := ts.Tail.Test(i)
		t.Buckets, t.Over, t.Excess, t.Far = r.Float64("tail buckets"), r.Float64("tail over"), r.Float64("tail excess"), r.Float64("tail far")
	}
	ts.Tail.Lone = r.Float64("tail lone")
	ts.Quiet = int(r.Varint("term quiet"))
	n := r.Count("term open buckets")
	if n == 0 || r.Err() != nil {
		return
	}
	ts.Open = make([]openSnap, n)
	for i := range ts.Open {
		o := &ts.Open[i]
		o.Start = r.Time("open start")
		o.Mentions = r.Uvarint("open mentions")
		o.Reports = r.Uvarint("open reports")
		o.Creators = readDistinct(r, "open creators")
		o.Reporters = readDistinct(r, "open reporters")
		o.Regions = readLabels(r, "open regions")
		o.Langs = readLabels(r, "open languages")
		o.Reasons = readLabels(r, "open reasons")
		o.Samples = r.Strings("open samples")
		o.Members = readLabels(r, "open members")
		if m := r.Count("open by channel"); m > 0 {
			o.ByChannel = make([]uint64, m)
			for j := range o.ByChannel {
				o.ByChannel[j] = r.Uvarint("open by channel")
			}
		}
		if r.Err() != nil {
			return
		}
	}
}

func readDistinct(r *binenc.Reader, field string) tracked.DistinctSnap {
	switch tag := r.Byte(field); tag {
	case distinctSmall:
		return tracked.DistinctSnap{Small: readU64s(r, field)}
	case distinctHLL:
		h := r.Bytes(field)
		if r.Err() == nil && len(h) == 0 {
			r.Failf("%s: empty HLL", field)
		}
		return tracked.DistinctSnap{HLL: h}
	default:
		r.Failf("%s: tag %d", field, tag)
		return tracked.DistinctSnap{}
	}
}

// readU64s reads what appendU64s wrote; an empty list reads as nil.
func readU64s(r *binenc.Reader, field string) []uint64 {
	n := r.Uvarint(field)
	if r.Err() != nil || n == 0 {
		return nil
	}
	if n > uint64(r.Remaining()/8) {
		r.Failf("%s: %d hashes in %d bytes", field, n, r.Remaining())
		return nil
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = r.U64(field)
	}
	return out
}

// readCounts reads what appendCounts wrote; an empty list reads as nil.
func readCounts(r *binenc.Reader, field string) []float64 {
	n := r.Count(field)
	if r.Err() != nil || n == 0 {
		return nil
	}
	out := make([]float64, n)
	for i := range out {
		switch v := r.Uvarint(field); {
		case v&1 == 0:
			if v>>1 >= 1<<53 {
				r.Failf("%s: count %d beyond a float64's integers", field, v>>1)
			}
			out[i] = float64(v >> 1)
		case v == 1:
			out[i] = r.Float64(field)
		default:
			r.Failf("%s: tag %d", field, v)
		}
		if r.Err() != nil {
			return nil
		}
	}
	return out
}

func readLabels(r *binenc.Reader, field string) tracked.Labels {
	n := r.Count(field)
	if n == 0 || r.Err() != nil {
		return nil
	}
	out := make(tracked.Labels, n)
	for i := range out {
		out[i] = detectors.Count{Label: r.String(field), N: r.Uvarint(field)}
	}
	return out
}

// readRecord reads a parked record (ingest.AppendRecord), which is content
// or a report.
func readRecord(r *binenc.Reader, rec *ingest.Record) {
	ingest.ReadRecord(r, "", rec)
	if k := rec.Kind; r.Err() == nil && k != ingest.KindContent && k != ingest.KindReport {
		r.Failf("parked kind %d is neither content nor report", k)
	}
}
