package pipeline

import (
	"bytes"
	"encoding/gob"
	"fmt"

	"github.com/trendwatch/trendwatch/pipeline/admission"
	"github.com/trendwatch/trendwatch/pipeline/dedup"
	"github.com/trendwatch/trendwatch/pipeline/families"
)

// This file is the legacy reader of the snapshots that builds before the
// binary layout (snapshot.go) wrote with encoding/gob, in checkpoint files of
// checkpoint version 1. It only reads: an operator upgrading keeps the state,
// and the next checkpoint is written in the binary layout. Nothing here may
// change the meaning of the gob fields, names and types of snapshot and
// snapChunk included: they are what those files hold.

// snapChunk is one chunk of the parts of a gob snapshot that grow with the
// input; see snapshot.Chunked.
type snapChunk struct {
	Terms       []termSnap
	Join        []joinEntry // oldest first, across chunks too
	Spelled     []spelling
	SpelledHash []spellingHash
	// Door and Dedup are pieces of the door's tables and the event_id
	// filter's buckets, in order: one table or bucket may span chunks.
	Door  []admission.Snap
	Dedup []dedup.Snap
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

// decodeGob decodes a gob snapshot, its chunks gathered into it.
func decodeGob(b []byte) (*snapshot, error) {
	var s snapshot
	dec := gob.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("restore: decode gob snapshot: %w", err)
	}
	if s.Chunked {
		if err := readChunks(dec, &s); err != nil {
			return nil, err
		}
		s.Chunked = false
	}
	return &s, nil
}

// readChunks decodes the chunks that followed a gob snapshot into s.
func readChunks(dec *gob.Decoder, s *snapshot) error {
	s.Spelled, s.SpelledHash = make(map[string]uint64), make(map[uint64]uint64)
	for {
		var c snapChunk
		if err := dec.Decode(&c); err != nil {
			return fmt.Errorf("restore: decode gob snapshot chunk: %w", err)
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

// gobFamilies turns a gob snapshot's spellings into what restoreFamilies
// takes. Their order is the maps', which the gob layout never kept.
func gobFamilies(byTerm map[string]uint64, byHash map[uint64]uint64) []families.Entry {
	out := make([]families.Entry, 0, len(byTerm)+len(byHash))
	for fam, first := range byHash {
		out = append(out, families.Entry{Fam: fam, First: first})
	}
	for t, first := range byTerm {
		out = append(out, families.Entry{Term: t, First: first})
	}
	return out
}
