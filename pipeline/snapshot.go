package pipeline

import (
	"bytes"
	"container/heap"
	"encoding/gob"
	"fmt"
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
	Parked      []ingest.Record
	Outbox      []alert.Event
	// Dedup holds the event ids remembered per partition. DedupKept tells a
	// checkpoint from before deduplication (gob leaves both zero) from one
	// with nothing to remember: the older kind is read, not refused, and the
	// restart says that copies of what it counted are not recognised.
	Dedup     []dedupSnap
	DedupKept bool
	// Door holds the terms waiting at the tracking door (older checkpoints
	// lack it: those terms need one more sighting after the restart).
	Door []doorSnap
}

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
	var s snapshot
	var err error
	if s.Window, err = e.window.MarshalBinary(); err != nil {
		return nil, fmt.Errorf("snapshot window: %w", err)
	}
	if s.Lifecycle, err = e.life.MarshalBinary(); err != nil {
		return nil, fmt.Errorf("snapshot alert lifecycle: %w", err)
	}
	s.Watermark, s.LastClosed, s.First, s.Invalid, s.History = e.watermark, e.lastClosed, e.first, e.invalid, e.cfg.History
	s.MaxApplied = e.maxApplied
	s.Offsets = e.Offsets()
	s.Dedup, s.DedupKept = e.dedup.snap(), true
	s.Door = e.door.snap()
	s.Parked = make([]ingest.Record, len(e.parked))
	for i, p := range e.parked {
		s.Parked[i] = *p.rec
	}
	for _, sk := range e.sinks {
		if o, ok := sk.(Outbox); ok {
			s.Outbox = append(s.Outbox, o.Pending()...)
		}
	}
	for _, st := range e.tracked {
		ts := termSnap{Key: st.key, Hash: st.hash, Mentions: st.mentions.appendTo(nil), Reports: st.reports.appendTo(nil),
			Creators: st.creators.appendTo(nil), HistEnd: st.histEnd, ExactFrom: st.exactFrom, Tail: st.tail, Quiet: st.quiet}
		for start, tb := range st.open {
			osn := openSnap{Start: start, Mentions: tb.mentions, Reports: tb.reports, Regions: tb.regions, Langs: tb.langs, Reasons: tb.reasons, Samples: tb.samples, Members: tb.members,
				ByChannel: tb.byChannel[:]}
			if osn.Creators, err = tb.creators.snap(); err != nil {
				return nil, err
			}
			if osn.Reporters, err = tb.reporters.snap(); err != nil {
				return nil, err
			}
			ts.Open = append(ts.Open, osn)
		}
		s.Terms = append(s.Terms, ts)
	}
	for i := 0; i < len(e.join.ring); i++ {
		id := e.join.ring[(e.join.next+i)%len(e.join.ring)]
		if id != "" {
			s.Join = append(s.Join, joinEntry{ID: id, Keys: e.join.m[id]})
		}
	}
	s.Spelled, s.SpelledHash = e.families.spellings()
	for start, n := range e.familyMentions.m {
		s.FamilyMentions = append(s.FamilyMentions, familySnap{Start: start, N: *n})
	}
	for start, h := range e.creators {
		b, err := h.MarshalBinary()
		if err != nil {
			return nil, err
		}
		s.Creators = append(s.Creators, hllSnap{Start: start, HLL: b})
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&s); err != nil {
		return nil, fmt.Errorf("snapshot encode: %w", err)
	}
	return buf.Bytes(), nil
}

// Restore replaces the engine's state with a snapshot. It refuses one taken with
// another window shape or history length rather than misread it.
func (e *Engine) Restore(b []byte) error {
	var s snapshot
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&s); err != nil {
		return fmt.Errorf("restore: decode snapshot: %w", err)
	}
	if s.History != e.cfg.History {
		return fmt.Errorf("restore: snapshot has pipeline.history %d, configuration says %d", s.History, e.cfg.History)
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
	heap.Init(&e.parked)
	e.m.parked.Set(float64(len(e.parked)))
	for _, sk := range e.sinks {
		if o, ok := sk.(Outbox); ok && len(s.Outbox) > 0 {
			o.Restore(s.Outbox)
		}
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
	e.join = newJoinCache(e.cfg.JoinCache)
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
