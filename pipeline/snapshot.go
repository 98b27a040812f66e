package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/internal/binenc"
	"github.com/trendwatch/trendwatch/pipeline/admission"
	"github.com/trendwatch/trendwatch/pipeline/dedup"
	"github.com/trendwatch/trendwatch/pipeline/families"
	"github.com/trendwatch/trendwatch/pipeline/join"
	"github.com/trendwatch/trendwatch/pipeline/platform"
	"github.com/trendwatch/trendwatch/pipeline/surges"
	"github.com/trendwatch/trendwatch/pipeline/termkey"
	"github.com/trendwatch/trendwatch/pipeline/tracked"
	"github.com/trendwatch/trendwatch/sketches"
)

// The snapshot is everything the engine must have back after a restart to
// count the next message exactly as if it had never stopped. It is written in
// the one binary codec (package binenc), in an envelope:
//
//	"TWSN" | version (1 byte) | body | CRC-32C of everything before it (4 bytes, little endian)
//
// The body is, in this order (lists are a uvarint count and their entries;
// integers varints, hashes 8 bytes, floats IEEE-754 bits but for a term's
// history, counts as varints (appendCounts), times binenc's):
//
//	history, shard, shards; watermark, last closed, first, max applied; invalid
//	offsets            topic, partition, offset
//	lifecycle          the alert lifecycle's own checkpoint (detectors), as bytes
//	platform creators  bucket start, HLL encoding
//	family mentions    bucket start, count
//	parked records     source, lag, kind, the content and the report (every field)
//	outbox             alert transitions (detectors.AppendEvent)
//	tracked terms      by key: key, hash, history (mentions, reports, creators),
//	                   history end, exact from, tail, quiet, open buckets by start
//	join cache         content ID, term keys; oldest first
//	families           term or hash, first spelling; from the table's back
//	door               bucket start, slots, hashes
//	event_id filter    topic, partition, buckets (index, ids)
//	window             the window's encoding (sketches), as bytes
//	surges             term hash, buckets (start, excess, rhythm); version 2 on
//	tail peaks         term, test, peak; version 3 on
//	reported           invalid and late totals at the last bucket's intake; version 4 on
//	notifier state     the incident notifier's own (held alerts, paged ones,
//	                   intervals), as bytes; version 5 on
//
// Every list whose order the engine does not keep is sorted, so that a state
// encodes to the same bytes after a restore. The snapshot streams: the parts
// go through one buffer kept from one checkpoint to the next, written out a
// piece of about chunkBytes at a time, and the window's encoding (the bulk)
// straight from its own buffer. A new field is a new version of the envelope;
// decodeBinary reads every version it knows. Snapshots from before this layout
// are gob (snapshot_gob.go), told apart by their first bytes: gob opens with
// the byte count of the type definition of snapshot, hundreds of bytes, never
// "TWSN".
var snapEnvelope = binenc.Format{Magic: "TWSN", Version: 5, MinVersion: 1, SumHeader: true, Invalid: ErrSnapshot}

// ErrSnapshot is wrapped by every error of a snapshot that is not a valid
// encoding.
var ErrSnapshot = errors.New("snapshot")

// snapshot is a decoded snapshot, whichever layout it came in. Its exported
// fields, with their names and types, are also the layout of the gob
// snapshots of older builds (snapshot_gob.go), so they do not change.
type snapshot struct {
	Window    []byte
	Lifecycle []byte
	Terms     []termSnap
	Join      []joinEntry // oldest first
	// Creators: the platform's unique creators of each open bucket, which
	// checkpoints written before 7 December 2026 hold; read past, never
	// written since (nothing read them).
	Creators []hllSnap
	// FamilyMentions: see platform.Buckets (older checkpoints lack it).
	FamilyMentions []familySnap
	// Spelled and SpelledHash: see famSlot.first, by term for the families
	// that may be tracked and by the term's hash for the others (older gob
	// checkpoints lack both, and have every family in Spelled: families are
	// then tracked from their next two spellings). The binary layout keeps
	// families instead.
	Spelled     map[string]uint64
	SpelledHash map[uint64]uint64
	Watermark   time.Time
	LastClosed  time.Time
	First       time.Time
	MaxApplied  time.Time
	Offsets     []ingest.Offset
	Invalid     uint64
	History     int
	// Shard and Shards: pipeline.shard and pipeline.shards of the process
	// that wrote it (older checkpoints: 0 and 0, one process for every term).
	// Another shard's state would judge terms this one does not own.
	Shard, Shards int
	Parked        []ingest.Record
	Outbox        []alert.Event
	// Dedup holds the event ids remembered per partition. DedupKept tells a
	// checkpoint from before deduplication (gob leaves both zero) from one
	// with nothing to remember: the older kind is read, not refused, and the
	// restart says that copies of what it counted are not recognised.
	Dedup     []dedup.Snap
	DedupKept bool
	// Door holds the terms waiting at the tracking door (older checkpoints
	// lack it: those terms need one more sighting after the restart).
	Door []admission.Snap
	// Chunked says that Terms, Join, Spelled, Door, Dedup and Window follow
	// a gob snapshot in chunks (snapChunk values, the last one End) instead
	// of inside it: gob builds each value whole in memory before writing it,
	// and in a flood the join cache and the families made that buffer over
	// 100 MiB. A gob checkpoint from before (gob leaves it false) holds them
	// inside.
	Chunked bool

	// families and binary: what the binary layout keeps of the families, in
	// the order restoreFamilies takes them (gob ignores unexported fields).
	families []families.Entry
	binary   bool
	// surges: see Engine.surges (version 1 and gob checkpoints lack them: a
	// surge from before the restart then counts whole in the day-ago level).
	surges []surgeSnap
	// reported: Engine.reported, from version 4. Before, a restart took the
	// totals for reported, and the invalid and late events counted between
	// the last bucket's intake and the checkpoint reached no intake row.
	reported        struct{ invalid, late uint64 }
	reportedWritten bool
	// notifierState: the notifier's AppendState, from version 5 (see
	// notifierState).
	notifierState []byte
}

// notifierState is a Notifier that keeps a state of its own beside its
// outbox in the checkpoint (incident.Notifier: the alerts the per-term
// limit held back, which paged, the intervals).
type notifierState interface {
	AppendState(b []byte) []byte
	RestoreState(b []byte) error
}

type surgeSnap struct {
	Hash    uint64
	Buckets []detectors.SurgedBucket
}

// chunkBytes is the size of the pieces a snapshot is written in: big enough
// that the writer's calls cost nothing, small beside the state. chunkLen and
// chunkHashes are what a gob chunk held (see TestSnapshotChunks).
const (
	chunkLen    = 4096
	chunkHashes = 1 << 16
	chunkBytes  = 1 << 20
)

type termSnap struct {
	Key      string
	Hash     uint64
	Mentions []float64
	Reports  []float64
	// Creators is as long as Mentions, 0 where unknown. A checkpoint written
	// before creators were kept decodes without it (gob skips what the stream
	// lacks, and an older build skips it in a newer checkpoint), and Restore
	// takes its terms' creators as unknown: they fall back to the platform's
	// mentions per creator until their history refills. Such a checkpoint is
	// read, not refused, so checkpoint.Version stays.
	Creators  []float64
	HistEnd   time.Time
	ExactFrom time.Time
	Tail      detectors.Tail
	Quiet     int
	Open      []openSnap
}

type openSnap struct {
	Start     time.Time
	Mentions  uint64
	Reports   uint64
	Creators  tracked.DistinctSnap
	Reporters tracked.DistinctSnap
	Regions   tracked.Labels
	Langs     tracked.Labels
	Reasons   tracked.Labels
	Samples   []string
	// Members: a family's spellings (older checkpoints lack it; gob leaves it nil).
	Members tracked.Labels
	// ByChannel: reports by event.Channel. Older checkpoints lack it and read
	// as zero for every channel; a slice, not an array, so that a channel added
	// later reads from an older checkpoint too.
	ByChannel []uint64
}

type joinEntry struct {
	ID   string
	Keys []string
}

type familySnap struct {
	Start time.Time
	N     uint64
}

type hllSnap struct {
	Start time.Time
	HLL   []byte
}

// Snapshot encodes the engine's state.
func (e *Engine) Snapshot() ([]byte, error) {
	var buf bytes.Buffer
	if err := e.WriteSnapshot(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// snapWriter writes a snapshot to w through one buffer, a piece at a time,
// and checksums what it writes.
type snapWriter struct {
	w   io.Writer
	b   []byte
	sum uint32
	// hll is where an HLL is encoded before it is appended with its length.
	hll []byte
}

// write writes p and adds it to the checksum.
func (sw *snapWriter) write(p []byte) error {
	sw.sum = binenc.UpdateChecksum(sw.sum, p)
	if _, err := sw.w.Write(p); err != nil {
		return fmt.Errorf("snapshot write: %w", err)
	}
	return nil
}

// flush writes out the buffer.
func (sw *snapWriter) flush() error {
	if len(sw.b) == 0 {
		return nil
	}
	err := sw.write(sw.b)
	sw.b = sw.b[:0]
	return err
}

// spill writes out the buffer once it holds a piece; the writers call it
// after each entry, so the buffer never holds more than a piece and an entry.
func (sw *snapWriter) spill() error {
	if len(sw.b) < chunkBytes {
		return nil
	}
	return sw.flush()
}

// blob appends p as AppendBytes does, writing a large p from its own memory
// rather than copying it through the buffer.
func (sw *snapWriter) blob(p []byte) error {
	sw.b = binenc.AppendUvarint(sw.b, uint64(len(p)))
	if len(p) < chunkBytes/8 {
		sw.b = append(sw.b, p...)
		return sw.spill()
	}
	if err := sw.flush(); err != nil {
		return err
	}
	for len(p) > 0 {
		n := min(len(p), chunkBytes)
		if err := sw.write(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// appendHLL appends h's encoding with its length.
func (sw *snapWriter) appendHLL(h *sketches.HLL) error {
	var err error
	if sw.hll, err = h.AppendBinary(sw.hll[:0]); err != nil {
		return err
	}
	sw.b = binenc.AppendBytes(sw.b, sw.hll)
	return nil
}

// WriteSnapshot encodes the engine's state to w, as Snapshot returns it, in
// pieces of about chunkBytes.
func (e *Engine) WriteSnapshot(w io.Writer) error {
	var err error
	// The window's encoding (tens of MiB) goes into a buffer kept from one
	// checkpoint to the next, and straight from it to w: made anew it was
	// twice its size of garbage a round.
	if e.winBuf, err = e.window.AppendBinary(e.winBuf[:0]); err != nil {
		return fmt.Errorf("snapshot window: %w", err)
	}
	// A flood of long one-off keys takes the encoding to several times its
	// ordinary size, and the buffer kept that size for good: one less than
	// half used goes after this round, and the next grows what it needs.
	defer func() {
		if cap(e.winBuf) > 2*len(e.winBuf) {
			e.winBuf = nil
		}
	}()
	life, err := e.life.MarshalBinary()
	if err != nil {
		return fmt.Errorf("snapshot alert lifecycle: %w", err)
	}
	if e.snapBuf == nil {
		e.snapBuf = make([]byte, 0, chunkBytes+chunkBytes/4)
	}
	sw := &snapWriter{w: w, b: snapEnvelope.AppendHeader(e.snapBuf[:0], 0)}
	defer func() { e.snapBuf = sw.b[:0] }()

	b := sw.b
	b = binenc.AppendUvarint(b, uint64(e.cfg.History))
	b = binenc.AppendUvarint(b, uint64(e.cfg.Shard))
	b = binenc.AppendUvarint(b, uint64(e.cfg.Shards))
	b = binenc.AppendTime(b, e.watermark)
	b = binenc.AppendTime(b, e.lastClosed)
	b = binenc.AppendTime(b, e.count.First())
	b = binenc.AppendTime(b, e.count.MaxApplied())
	b = binenc.AppendUvarint(b, e.invalid)
	offs := e.Offsets()
	b = binenc.AppendUvarint(b, uint64(len(offs)))
	for _, o := range offs {
		b = binenc.AppendString(b, o.Topic)
		b = binenc.AppendVarint(b, int64(o.Partition))
		b = binenc.AppendVarint(b, o.Offset)
	}
	sw.b = b
	if err := sw.blob(life); err != nil {
		return err
	}

	// The platform's unique creators of each open bucket, which nothing
	// read, are no longer counted (7 December 2026): none are written, and a
	// checkpoint's are read past (Engine.restore), so the format is as it was.
	sw.b = binenc.AppendUvarint(sw.b, 0)
	sw.b = binenc.AppendUvarint(sw.b, uint64(e.platform.Buckets()))
	e.platform.EachFamilyMentions(func(start time.Time, n uint64) {
		sw.b = binenc.AppendTime(sw.b, start)
		sw.b = binenc.AppendUvarint(sw.b, n)
	})

	sw.b = binenc.AppendUvarint(sw.b, uint64(e.parked.Len()))
	if err := e.parked.Each(func(r *ingest.Record) error {
		sw.b = ingest.AppendRecord(sw.b, r)
		return sw.spill()
	}); err != nil {
		return err
	}
	var outbox []alert.Event
	if e.notifier != nil {
		outbox = e.notifier.Pending()
	}
	sw.b = binenc.AppendUvarint(sw.b, uint64(len(outbox)))
	for i := range outbox {
		sw.b = detectors.AppendEvent(sw.b, &outbox[i])
		if err := sw.spill(); err != nil {
			return err
		}
	}

	sts := tracked.ByKey(e.tracked, nil)
	if err := e.writeTerms(sw, sts); err != nil {
		return err
	}
	if err := e.writeJoin(sw); err != nil {
		return err
	}
	sw.b = binenc.AppendUvarint(sw.b, uint64(e.families.Len()))
	if err := e.families.Each(func(f families.Entry) error {
		if f.Term != "" {
			sw.b = append(sw.b, famByTerm)
			sw.b = binenc.AppendString(sw.b, f.Term)
		} else {
			sw.b = append(sw.b, famByHash)
			sw.b = binenc.AppendU64(sw.b, f.Fam)
		}
		sw.b = binenc.AppendU64(sw.b, f.First)
		return sw.spill()
	}); err != nil {
		return err
	}
	if err := e.writeDoor(sw); err != nil {
		return err
	}
	if err := e.writeDedup(sw); err != nil {
		return err
	}
	if err := sw.blob(e.winBuf); err != nil {
		return err
	}
	if err := e.writeSurges(sw); err != nil {
		return err
	}
	if err := writePeaks(sw, sts); err != nil {
		return err
	}
	sw.b = appendReported(sw.b, e.reported.invalid, e.reported.late)
	var state []byte
	if ns, ok := e.notifier.(notifierState); ok {
		state = ns.AppendState(nil)
	}
	sw.b = binenc.AppendBytes(sw.b, state)
	if err := sw.flush(); err != nil {
		return err
	}
	sw.b = binenc.AppendU32(sw.b, sw.sum)
	if _, err := w.Write(sw.b); err != nil {
		return fmt.Errorf("snapshot write: %w", err)
	}
	sw.b = sw.b[:0]
	return nil
}

// The tags of a family in a snapshot: by term, for a family that may be
// tracked, or by hash.
const (
	famByTerm = 1
	famByHash = 2
)

// The tags of a distinct in a snapshot: exact hashes, or an HLL.
const (
	distinctSmall = 0
	distinctHLL   = 1
)

// writeTerms writes the tracked terms sts, by key (tracked.ByKey).
func (e *Engine) writeTerms(sw *snapWriter, sts []*tracked.Term) error {
	sw.b = binenc.AppendUvarint(sw.b, uint64(len(sts)))
	var starts []time.Time
	for _, st := range sts {
		b := binenc.AppendString(sw.b, st.Key)
		b = binenc.AppendU64(b, st.Hash)
		b = appendCounts(b, st.Mentions.View())
		b = appendCounts(b, st.Reports.View())
		b = appendCounts(b, st.Creators.View())
		b = binenc.AppendTime(b, st.HistEnd)
		b = binenc.AppendTime(b, st.ExactFrom)
		b = binenc.AppendUvarint(b, detectors.TailTests)
		for i := range detectors.TailTests {
			t := st.Tail.Test(i)
			b = binenc.AppendFloat64(b, t.Buckets)
			b = binenc.AppendFloat64(b, t.Over)
			b = binenc.AppendFloat64(b, t.Excess)
			b = binenc.AppendFloat64(b, t.Far)
		}
		b = binenc.AppendFloat64(b, st.Tail.Lone)
		b = binenc.AppendVarint(b, int64(st.Quiet))
		starts = st.Starts(starts[:0])
		b = binenc.AppendUvarint(b, uint64(len(starts)))
		sw.b = b
		for _, start := range starts {
			tb := st.At(start)
			sw.b = binenc.AppendTime(sw.b, start)
			sw.b = binenc.AppendUvarint(sw.b, tb.Mentions)
			sw.b = binenc.AppendUvarint(sw.b, tb.Reports)
			if err := sw.appendDistinct(&tb.Creators); err != nil {
				return fmt.Errorf("snapshot term %s creators: %w", st.Key, err)
			}
			if err := sw.appendDistinct(&tb.Reporters); err != nil {
				return fmt.Errorf("snapshot term %s reporters: %w", st.Key, err)
			}
			b := appendLabels(sw.b, tb.Regions)
			b = appendLabels(b, tb.Langs)
			b = appendLabels(b, tb.Reasons)
			b = binenc.AppendStrings(b, tb.Samples)
			b = appendLabels(b, tb.Members)
			b = binenc.AppendUvarint(b, uint64(len(tb.ByChannel)))
			for _, n := range tb.ByChannel {
				b = binenc.AppendUvarint(b, n)
			}
			sw.b = b
		}
		if err := sw.spill(); err != nil {
			return err
		}
	}
	return nil
}

func (sw *snapWriter) appendDistinct(d *tracked.Distinct) error {
	small, hll := d.State()
	if hll != nil {
		sw.b = append(sw.b, distinctHLL)
		return sw.appendHLL(hll)
	}
	sw.b = append(sw.b, distinctSmall)
	sw.b = appendU64s(sw.b, small)
	return nil
}

// writeSurges writes the surges remembered, by term hash.
func (e *Engine) writeSurges(sw *snapWriter) error {
	hs := e.surges.Terms()
	sw.b = binenc.AppendUvarint(sw.b, uint64(len(hs)))
	for _, h := range hs {
		bs := e.surges.Buckets(h)
		sw.b = binenc.AppendU64(sw.b, h)
		sw.b = binenc.AppendUvarint(sw.b, uint64(len(bs)))
		for _, b := range bs {
			sw.b = binenc.AppendTime(sw.b, b.Start)
			sw.b = binenc.AppendFloat64(sw.b, b.Excess)
			sw.b = binenc.AppendBool(sw.b, b.Rhythm)
		}
		if err := sw.spill(); err != nil {
			return err
		}
	}
	return nil
}

// writePeaks writes, from version 3, the tail tests of the tracked terms sts
// (writeTerms' order) that are in a run of exceedances
// (detectors.TailTest.Peak), each by the term's index in sts. Most terms are
// in none, so only those that are are written; and written last, a snapshot
// of an older version is the same bytes less this part.
// appendReported appends the intake's totals at the last bucket closed, the
// snapshot's last part.
func appendReported(b []byte, invalid, late uint64) []byte {
	b = binenc.AppendUvarint(b, invalid)
	return binenc.AppendUvarint(b, late)
}

func writePeaks(sw *snapWriter, sts []*tracked.Term) error {
	n := 0
	for _, st := range sts {
		for i := range detectors.TailTests {
			if st.Tail.Test(i).Peak != 0 {
				n++
			}
		}
	}
	sw.b = binenc.AppendUvarint(sw.b, uint64(n))
	for j, st := range sts {
		for i := range detectors.TailTests {
			if p := st.Tail.Test(i).Peak; p != 0 {
				sw.b = binenc.AppendUvarint(sw.b, uint64(j))
				sw.b = binenc.AppendUvarint(sw.b, uint64(i))
				sw.b = binenc.AppendFloat64(sw.b, p)
			}
		}
		if err := sw.spill(); err != nil {
			return err
		}
	}
	return nil
}

// writeJoin writes the join cache, oldest first.
func (e *Engine) writeJoin(sw *snapWriter) error {
	n := e.join.Len()
	sw.b = binenc.AppendUvarint(sw.b, uint64(n))
	var err error
	e.join.Each(func(id string, keys []string) {
		if err != nil {
			return
		}
		n--
		sw.b = binenc.AppendString(sw.b, id)
		sw.b = binenc.AppendStrings(sw.b, keys)
		err = sw.spill()
	})
	if err == nil && n != 0 {
		err = fmt.Errorf("snapshot join cache: %d entries fewer than it counts", n)
	}
	return err
}

// writeDoor writes the door's tables by bucket, each table's hashes in its
// order (as admission.Door.Snap lists them, without copying them).
func (e *Engine) writeDoor(sw *snapWriter) error {
	starts := e.door.Starts(nil)
	sw.b = binenc.AppendUvarint(sw.b, uint64(len(starts)))
	for _, start := range starts {
		slots := e.door.Slots(start)
		n := 0
		for _, h := range slots {
			if h != 0 {
				n++
			}
		}
		sw.b = binenc.AppendTime(sw.b, start)
		sw.b = binenc.AppendUvarint(sw.b, uint64(len(slots)))
		sw.b = binenc.AppendUvarint(sw.b, uint64(n))
		for _, h := range slots {
			if h == 0 {
				continue
			}
			sw.b = binenc.AppendU64(sw.b, h)
			if err := sw.spill(); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeDedup writes the event ids remembered, by partition and bucket.
func (e *Engine) writeDedup(sw *snapWriter) error {
	parts := e.dedup.Partitions()
	sw.b = binenc.AppendUvarint(sw.b, uint64(len(parts)))
	var idx []int64
	for _, p := range parts {
		sw.b = binenc.AppendString(sw.b, p.Topic)
		sw.b = binenc.AppendVarint(sw.b, int64(p.Partition))
		idx = e.dedup.Buckets(idx[:0], p)
		sw.b = binenc.AppendUvarint(sw.b, uint64(len(idx)))
		for _, i := range idx {
			ids := e.dedup.IDs(p, i)
			sw.b = binenc.AppendVarint(sw.b, i)
			sw.b = binenc.AppendUvarint(sw.b, uint64(len(ids)))
			for len(ids) > 0 {
				n := min(len(ids), chunkHashes)
				for _, h := range ids[:n] {
					sw.b = binenc.AppendU64(sw.b, h)
				}
				ids = ids[n:]
				if err := sw.spill(); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// appendCounts appends a term's history: float64s that are nearly always
// counts. A whole number n in [0, 2^53) is the uvarint 2n, anything else
// (a fraction, -0, NaN) 1 and its IEEE-754 bits, so that every value reads
// back bit for bit and a bucket of a small count costs a byte or two, not 8:
// with 8 the snapshot of the generator's stream grew by 0.7 % over gob's.
func appendCounts(b []byte, v []float64) []byte {
	b = binenc.AppendUvarint(b, uint64(len(v)))
	for _, f := range v {
		if f >= 0 && f < 1<<53 && f == math.Trunc(f) && !math.Signbit(f) {
			b = binenc.AppendUvarint(b, uint64(f)<<1)
			continue
		}
		b = binenc.AppendFloat64(append(b, 1), f)
	}
	return b
}

func appendU64s(b []byte, v []uint64) []byte {
	b = binenc.AppendUvarint(b, uint64(len(v)))
	for _, h := range v {
		b = binenc.AppendU64(b, h)
	}
	return b
}

func appendLabels(b []byte, l tracked.Labels) []byte {
	b = binenc.AppendUvarint(b, uint64(len(l)))
	for _, c := range l {
		b = binenc.AppendString(b, c.Label)
		b = binenc.AppendUvarint(b, c.N)
	}
	return b
}

// Restore replaces the engine's state with a snapshot. It refuses one taken with
// another window shape or history length rather than misread it.
func (e *Engine) Restore(b []byte) error {
	s, err := decodeSnapshot(b)
	if err != nil {
		return err
	}
	// The open buckets' early state is not kept: the first look after a
	// restore visits every tracked term.
	e.looks.Rescan()
	if s.History != e.cfg.History {
		return fmt.Errorf("restore: snapshot has pipeline.history %d, configuration says %d", s.History, e.cfg.History)
	}
	if shards := max(s.Shards, 1); shards != e.cfg.Shards || s.Shard != e.cfg.Shard {
		return fmt.Errorf("restore: snapshot is of shard %d of %d, configuration says pipeline.shard %d of pipeline.shards %d", s.Shard, shards, e.cfg.Shard, e.cfg.Shards)
	}
	w, err := sketches.NewWindow(e.windowConfig)
	if err != nil {
		return err
	}
	if err := w.UnmarshalBinary(s.Window); err != nil {
		return fmt.Errorf("restore: window (does window.* match the checkpoint's?): %w", err)
	}
	if err := e.life.UnmarshalBinary(s.Lifecycle); err != nil {
		return fmt.Errorf("restore: alert lifecycle: %w", err)
	}
	e.window = w
	e.watermark, e.lastClosed, e.invalid = s.Watermark, s.LastClosed, s.Invalid
	e.reported.late, e.reported.invalid = w.Dropped(), s.Invalid
	if s.reportedWritten {
		if s.reported.invalid > s.Invalid || s.reported.late > w.Dropped() {
			return fmt.Errorf("%w: intake reported %d invalid and %d late, past the totals %d and %d",
				ErrSnapshot, s.reported.invalid, s.reported.late, s.Invalid, w.Dropped())
		}
		e.reported.invalid, e.reported.late = s.reported.invalid, s.reported.late
	}
	for i := range s.Parked {
		s.Parked[i].Hash() // not in the snapshot: made from what is
	}
	e.parked.Restore(s.Parked)
	e.m.parked.Set(float64(e.parked.Len()))
	if ns, ok := e.notifier.(notifierState); ok {
		// Before the outbox, whose transitions it knows the keys of.
		if err := ns.RestoreState(s.notifierState); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	}
	if e.notifier != nil && len(s.Outbox) > 0 {
		e.notifier.Restore(s.Outbox)
	}
	e.dedup.Restore(s.Dedup)
	e.door.Restore(s.Door)
	if !s.DedupKept && e.cfg.DedupMaxIDs > 0 {
		e.log.Info("checkpoint predates event_id deduplication: a copy of an event it already counted counts again until its bucket closes")
	}
	e.in.Restore(s.Offsets, time.Now())
	e.tracked = make(map[uint64]*tracked.Term, len(s.Terms))
	// The key cache's slots name the terms of the map just replaced.
	e.termKeys.ForgetTracked()
	var disowned []string
	for _, ts := range s.Terms {
		if !e.count.OwnsKey(ts.Key, ts.Hash) {
			// A checkpoint of a shard from before a challenge's spellings
			// were one shard's: the term is its incident's shard's now,
			// which tracks it from the count-min's history.
			disowned = append(disowned, ts.Key)
			continue
		}
		n := len(ts.Mentions)
		if len(ts.Reports) != n || len(ts.Creators) > n {
			return fmt.Errorf("restore: term %s: history of %d mentions, %d reports, %d creators", ts.Key, n, len(ts.Reports), len(ts.Creators))
		}
		st := tracked.NewTerm(ts.Key, termkey.Kind(ts.Key), ts.Hash, e.cfg.History)
		st.Watch, st.Family = e.set.Watch(ts.Key), e.count.Family(ts.Key)
		st.HistEnd, st.ExactFrom, st.Tail, st.Quiet = ts.HistEnd, ts.ExactFrom, ts.Tail, ts.Quiet
		unknown := n - len(ts.Creators) // all of it in a checkpoint from before creators were kept
		for i := range n {
			var c float64
			if i >= unknown {
				c = ts.Creators[i-unknown]
			}
			st.PushHistory(ts.Mentions[i], ts.Reports[i], c)
		}
		for _, osn := range ts.Open {
			tb := &tracked.Bucket{Mentions: osn.Mentions, Reports: osn.Reports, Regions: osn.Regions, Langs: osn.Langs, Reasons: osn.Reasons, Samples: osn.Samples, Members: osn.Members}
			copy(tb.ByChannel[:], osn.ByChannel)
			var err error
			if tb.Creators, err = osn.Creators.Restore(); err != nil {
				return fmt.Errorf("restore: term %s creators: %w", ts.Key, err)
			}
			if tb.Reporters, err = osn.Reporters.Restore(); err != nil {
				return fmt.Errorf("restore: term %s reporters: %w", ts.Key, err)
			}
			st.Restore(osn.Start, tb)
		}
		e.tracked[st.Hash] = st
	}
	if len(disowned) > 0 {
		e.log.Info("restore: checkpoint tracked terms this shard no longer owns (a hashtag goes to the shard of its family); their shards track them now",
			"terms", len(disowned), "first", disowned[0], "pipeline.shard", e.cfg.Shard, "pipeline.shards", e.cfg.Shards)
	}
	e.join = join.New(e.cfg.JoinCache, e.cfg.JoinCacheBytes)
	for _, j := range s.Join {
		e.join.Put(j.ID, j.Keys)
	}
	e.platform = platform.New()
	for _, f := range s.FamilyMentions {
		e.platform.RestoreFamilyMentions(f.Start, f.N)
	}
	// s.Creators, the platform's unique creators a checkpoint written
	// before 7 December 2026 holds, are left behind: nothing read them.
	// The counter writes into the tables just made.
	e.count = e.newCounter()
	e.count.SetTimes(s.First, s.MaxApplied)
	e.trackWatched()
	if s.binary {
		e.restoreFamilies(s.families, true)
	} else {
		e.restoreFamilies(gobFamilies(s.Spelled, s.SpelledHash), false)
	}
	e.surges = surges.New(maxSurgeBuckets)
	for _, sn := range s.surges {
		e.surges.Restore(sn.Hash, sn.Buckets)
	}
	// The judge reads the tables just made.
	e.judge = e.newJudge()
	return nil
}
