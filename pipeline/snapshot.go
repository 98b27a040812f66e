package pipeline

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"io"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/sketches"
)

// The snapshot is everything the engine must have back after a restart to count
// the next message exactly as if it had never stopped: the sketch window, the
// tracked terms with their open buckets and history, the alert lifecycle, the
// report join cache and the offsets the state includes.
type snapshot struct {
	Window    []byte
	Lifecycle []byte
	Terms     []termSnap
	Join      []joinEntry // oldest first
	Creators  []hllSnap
	// FamilyMentions: see Engine.familyMentions (older checkpoints lack it).
	FamilyMentions []familySnap
	// Spelled and SpelledHash: see famSlot.first, by term for the families
	// that may be tracked and by the term's hash for the others (older
	// checkpoints lack both, and have every family in Spelled: families are
	// then tracked from their next two spellings).
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
	Dedup     []dedupSnap
	DedupKept bool
	// Door holds the terms waiting at the tracking door (older checkpoints
	// lack it: those terms need one more sighting after the restart).
	Door []doorSnap
	// Chunked says that Terms, Join, Spelled, Door, Dedup and Window follow
	// the snapshot in chunks (snapChunk values, the last one End) instead of
	// inside it. gob builds each value whole in memory before writing it: in
	// a flood the join cache and the families made that buffer over 100 MiB.
	// A checkpoint from before (gob leaves it false) holds them inside.
	Chunked bool
}

// snapChunk is one chunk of the parts of a snapshot that grow with the
// input; see snapshot.Chunked.
type snapChunk struct {
	Terms       []termSnap
	Join        []joinEntry // oldest first, across chunks too
	Spelled     []spelling
	SpelledHash []spellingHash
	// Door and Dedup are pieces of the door's tables and the event_id
	// filter's buckets, in order: one table or bucket may span chunks.
	Door  []doorSnap
	Dedup []dedupSnap
	// Window is a piece of the window's encoding, in order.
	Window []byte
	End    bool
}

type spelling struct {
	Term  string
	First uint64
}

// spellingHash is a family known by its term's hash alone (see
// families.spellings).
type spellingHash struct {
	Hash, First uint64
}

// chunkLen is how many items a snapChunk holds, a few hundred KiB of them,
// chunkHashes how many hashes of the door or the event_id filter.
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
	Creators  distinctSnap
	Reporters distinctSnap
	Regions   labels
	Langs     labels
	Reasons   labels
	Samples   []string
	// Members: a family's spellings (older checkpoints lack it; gob leaves it nil).
	Members labels
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

// WriteSnapshot encodes the engine's state to w, as Snapshot returns it.
func (e *Engine) WriteSnapshot(w io.Writer) error {
	var s snapshot
	var err error
	// The window's encoding (tens of MiB) goes into a buffer kept from one
	// checkpoint to the next, and after the snapshot in pieces: made anew
	// and inside the snapshot it was twice its size of garbage a round.
	if e.winBuf, err = e.window.AppendBinary(e.winBuf[:0]); err != nil {
		return fmt.Errorf("snapshot window: %w", err)
	}
	if s.Lifecycle, err = e.life.MarshalBinary(); err != nil {
		return fmt.Errorf("snapshot alert lifecycle: %w", err)
	}
	s.Watermark, s.LastClosed, s.First, s.Invalid, s.History = e.watermark, e.lastClosed, e.first, e.invalid, e.cfg.History
	s.Shard, s.Shards = e.cfg.Shard, e.cfg.Shards
	s.MaxApplied = e.maxApplied
	s.Offsets = e.Offsets()
	s.DedupKept = true // the filter itself follows in chunks
	s.Parked = make([]ingest.Record, len(e.parked))
	for i, p := range e.parked {
		s.Parked[i] = *p.rec
	}
	if e.notifier != nil {
		s.Outbox = e.notifier.Pending()
	}
	for start, n := range e.familyMentions.m {
		s.FamilyMentions = append(s.FamilyMentions, familySnap{Start: start, N: *n})
	}
	for start, h := range e.creators {
		b, err := h.MarshalBinary()
		if err != nil {
			return err
		}
		s.Creators = append(s.Creators, hllSnap{Start: start, HLL: b})
	}
	s.Chunked = true
	enc := gob.NewEncoder(w)
	if err := enc.Encode(&s); err != nil {
		return fmt.Errorf("snapshot encode: %w", err)
	}
	return e.writeChunks(enc)
}

// writeChunks encodes the tracked terms, the join cache and the families'
// spellings after the snapshot, chunkLen items a chunk.
func (e *Engine) writeChunks(enc *gob.Encoder) error {
	var c snapChunk
	flush := func(end bool) error {
		c.End = end
		if err := enc.Encode(&c); err != nil {
			return fmt.Errorf("snapshot encode: %w", err)
		}
		c.Terms, c.Join, c.Spelled, c.SpelledHash = c.Terms[:0], c.Join[:0], c.Spelled[:0], c.SpelledHash[:0]
		return nil
	}
	full := func() bool { return len(c.Terms)+len(c.Join)+len(c.Spelled)+len(c.SpelledHash) >= chunkLen }
	for _, st := range e.tracked {
		ts, err := st.snap()
		if err != nil {
			return err
		}
		c.Terms = append(c.Terms, ts)
		if full() {
			if err := flush(false); err != nil {
				return err
			}
		}
	}
	var err error
	e.join.each(func(id string, keys []string) {
		if err != nil {
			return
		}
		c.Join = append(c.Join, joinEntry{ID: id, Keys: keys})
		if full() {
			err = flush(false)
		}
	})
	if err != nil {
		return err
	}
	byTerm, byHash := e.families.spellings()
	for t, first := range byTerm {
		c.Spelled = append(c.Spelled, spelling{t, first})
		if full() {
			if err := flush(false); err != nil {
				return err
			}
		}
	}
	for h, first := range byHash {
		c.SpelledHash = append(c.SpelledHash, spellingHash{h, first})
		if full() {
			if err := flush(false); err != nil {
				return err
			}
		}
	}
	// The door and the filter hold up to millions of hashes: a chunk of
	// their own for each piece, already in the form snap gives them.
	for _, d := range e.door.snap() {
		for h := d.Hashes; len(h) > 0; {
			n := min(len(h), chunkHashes)
			c.Door = []doorSnap{{Start: d.Start, Slots: d.Slots, Hashes: h[:n]}}
			h = h[n:]
			if err := flush(false); err != nil {
				return err
			}
		}
	}
	c.Door = nil
	for _, d := range e.dedup.snap() {
		for _, b := range d.Buckets {
			for ids := b.IDs; len(ids) > 0; {
				n := min(len(ids), chunkHashes)
				c.Dedup = []dedupSnap{{Topic: d.Topic, Partition: d.Partition, Buckets: []dedupBucket{{Index: b.Index, IDs: ids[:n]}}}}
				ids = ids[n:]
				if err := flush(false); err != nil {
					return err
				}
			}
		}
	}
	c.Dedup = nil
	for b := e.winBuf; len(b) > 0; {
		n := min(len(b), chunkBytes)
		c.Window, b = b[:n], b[n:]
		if err := flush(false); err != nil {
			return err
		}
	}
	c.Window = nil
	return flush(true)
}

// decodeSnapshot decodes a snapshot, its chunks gathered into it.
func decodeSnapshot(b []byte) (*snapshot, error) {
	var s snapshot
	dec := gob.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("restore: decode snapshot: %w", err)
	}
	if s.Chunked {
		if err := readChunks(dec, &s); err != nil {
			return nil, err
		}
		s.Chunked = false
	}
	return &s, nil
}

// readChunks decodes what writeChunks encoded into s.
func readChunks(dec *gob.Decoder, s *snapshot) error {
	s.Spelled, s.SpelledHash = make(map[string]uint64), make(map[uint64]uint64)
	for {
		var c snapChunk
		if err := dec.Decode(&c); err != nil {
			return fmt.Errorf("restore: decode snapshot chunk: %w", err)
		}
		s.Terms = append(s.Terms, c.Terms...)
		s.Join = append(s.Join, c.Join...)
		for _, sp := range c.Spelled {
			s.Spelled[sp.Term] = sp.First
		}
		for _, sp := range c.SpelledHash {
			s.SpelledHash[sp.Hash] = sp.First
		}
		s.Door = append(s.Door, c.Door...)
		s.Dedup = append(s.Dedup, c.Dedup...)
		s.Window = append(s.Window, c.Window...)
		if c.End {
			return nil
		}
	}
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
	e.early.rescan()
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
	e.reported.late = w.Dropped()
	e.watermark, e.lastClosed, e.first, e.invalid = s.Watermark, s.LastClosed, s.First, s.Invalid
	e.maxApplied = s.MaxApplied
	e.reported.invalid = s.Invalid
	e.parked = make(parkedHeap, len(s.Parked))
	for i := range s.Parked {
		e.parked[i] = parkedOf(&s.Parked[i])
	}
	e.parked.init()
	e.m.parked.Set(float64(len(e.parked)))
	if e.notifier != nil && len(s.Outbox) > 0 {
		e.notifier.Restore(s.Outbox)
	}
	e.dedup.restore(s.Dedup)
	e.door.restore(s.Door)
	if !s.DedupKept && e.cfg.DedupMaxIDs > 0 {
		e.log.Info("checkpoint predates event_id deduplication: a copy of an event it already counted counts again until its bucket closes")
	}
	e.offsets = make(map[partition]int64, len(s.Offsets))
	for _, o := range s.Offsets {
		e.offsets[partition{o.Topic, o.Partition}] = o.Offset
	}
	e.tracked = make(map[string]*termState, len(s.Terms))
	for _, ts := range s.Terms {
		n := len(ts.Mentions)
		if len(ts.Reports) != n || len(ts.Creators) > n {
			return fmt.Errorf("restore: term %s: history of %d mentions, %d reports, %d creators", ts.Key, n, len(ts.Reports), len(ts.Creators))
		}
		st := &termState{
			key: ts.Key, kind: kindOf(ts.Key), hash: ts.Hash, watch: e.set.Watch(ts.Key), family: e.termFamily(ts.Key),
			open:     make(map[time.Time]*termBucket, len(ts.Open)),
			mentions: newSeries(e.cfg.History), reports: newSeries(e.cfg.History), creators: newSeries(e.cfg.History),
			histEnd: ts.HistEnd, exactFrom: ts.ExactFrom, tail: ts.Tail, quiet: ts.Quiet,
		}
		unknown := n - len(ts.Creators) // all of it in a checkpoint from before creators were kept
		for i := range n {
			var c float64
			if i >= unknown {
				c = ts.Creators[i-unknown]
			}
			st.pushHistory(ts.Mentions[i], ts.Reports[i], c)
		}
		for _, osn := range ts.Open {
			tb := &termBucket{mentions: osn.Mentions, reports: osn.Reports, regions: osn.Regions, langs: osn.Langs, reasons: osn.Reasons, samples: osn.Samples, members: osn.Members}
			copy(tb.byChannel[:], osn.ByChannel)
			var err error
			if tb.creators, err = osn.Creators.restore(); err != nil {
				return fmt.Errorf("restore: term %s creators: %w", ts.Key, err)
			}
			if tb.reporters, err = osn.Reporters.restore(); err != nil {
				return fmt.Errorf("restore: term %s reporters: %w", ts.Key, err)
			}
			st.open[osn.Start] = tb
		}
		e.tracked[ts.Key] = st
	}
	for _, k := range e.set.WatchTerms() {
		if e.tracked[k] == nil {
			e.track(k, sketches.Hash(k), nil, time.Time{})
		}
	}
	e.join = newJoinCache(e.cfg.JoinCache, e.cfg.JoinCacheBytes)
	for _, j := range s.Join {
		e.join.put(j.ID, j.Keys)
	}
	e.restoreFamilies(s.Spelled, s.SpelledHash)
	e.familyMentions = bucketCounts{m: make(map[time.Time]*uint64, len(s.FamilyMentions))}
	for _, f := range s.FamilyMentions {
		n := f.N
		e.familyMentions.m[f.Start] = &n
	}
	e.creators = make(map[time.Time]*sketches.HLL, len(s.Creators))
	e.lastCreators = nil
	for _, c := range s.Creators {
		h, err := sketches.NewHLL(sketches.DefaultHLLPrecision)
		if err != nil {
			return err
		}
		if err := h.UnmarshalBinary(c.HLL); err != nil {
			return fmt.Errorf("restore: platform creators of %s: %w", c.Start, err)
		}
		e.creators[c.Start] = h
	}
	return nil
}

// snap is the term's part of a snapshot.
func (st *termState) snap() (termSnap, error) {
	ts := termSnap{Key: st.key, Hash: st.hash, Mentions: st.mentions.appendTo(nil), Reports: st.reports.appendTo(nil),
		Creators: st.creators.appendTo(nil), HistEnd: st.histEnd, ExactFrom: st.exactFrom, Tail: st.tail, Quiet: st.quiet}
	for start, tb := range st.open {
		osn := openSnap{Start: start, Mentions: tb.mentions, Reports: tb.reports, Regions: tb.regions, Langs: tb.langs, Reasons: tb.reasons, Samples: tb.samples, Members: tb.members,
			ByChannel: tb.byChannel[:]}
		var err error
		if osn.Creators, err = tb.creators.snap(); err != nil {
			return ts, err
		}
		if osn.Reporters, err = tb.reporters.snap(); err != nil {
			return ts, err
		}
		ts.Open = append(ts.Open, osn)
	}
	return ts, nil
}
