// Package termkey makes the engine's term keys ("hashtag:fyp", Term.String)
// without an allocation for the terms mentioned lately. Every mention needs
// its term's key, and a popular term is mentioned thousands of times a
// minute: making the key anew each time was an allocation per term and event.
package termkey

import (
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/pipeline/tracked"
	"github.com/trendwatch/trendwatch/sketches"
)

// Slots is the size of a Cache: 2^16 slots of 48 bytes (3 MiB) and their
// keys, for the terms that make most mentions.
const Slots = 1 << 16

// Cache holds the keys of the terms mentioned lately, a slot each, by the
// hash of the key (sketches.HashTerm). A new term takes its slot from
// whichever term held it.
//
// A slot is the term's when it holds the term's 64-bit hash: the count-min
// sketches, the tracking door and the families' tables know a term by that
// hash alone, so two terms whose hashes collide (a chance in 2^64 for a pair)
// are one term to them already. Comparing the bytes too read the cached key's
// from wherever the heap put them, a cache miss on most mentions.
//
// For a hashtag a slot also holds its family's hash once known: the slot is in
// the processor's cache already, where the families' tables are not. Likewise
// it holds the term's tracked state once looked up (Tracked), which the
// engine's map of tracked terms found in a probe of a table of megabytes on
// every mention.
type Cache struct {
	slots []slot
	buf   []byte
}

type slot struct {
	hash  uint64
	key   string
	fam   uint64        // 0: the hashtag is its own family
	term  *tracked.Term // nil: not tracked
	famOK bool
	// termOK is set when term is the tracked term of the slot's hash, or
	// nil for none: whoever tracks or lets go of a term says so
	// (SetTracked, ForgetTracked).
	termOK bool
}

// New returns an empty cache of Slots slots.
func New() *Cache { return &Cache{slots: make([]slot, Slots)} }

// Key returns t's key and its hash, hashed without making the key; only when
// the term's slot holds another term is the key made, into a new string.
func (c *Cache) Key(t event.Term) (string, uint64) {
	h := sketches.HashTerm(t.Kind.String(), t.Value)
	return c.Hashed(t, h), h
}

// Hashed is Key of t, whose key's hash h the decoders made
// (ingest.Hashes.Terms): the key is made only when the cache does not hold it.
func (c *Cache) Hashed(t event.Term, h uint64) string {
	kind := t.Kind.String()
	s := &c.slots[h&(Slots-1)]
	if s.hash != h || len(s.key) != len(kind)+1+len(t.Value) {
		c.buf = append(append(append(c.buf[:0], kind...), ':'), t.Value...)
		*s = slot{hash: h, key: string(c.buf)}
	}
	return s.key
}

// Family returns the family hash of the hashtag whose key hashes to h, as
// SetFamily noted it; ok is false when its slot does not hold it.
func (c *Cache) Family(h uint64) (fam uint64, ok bool) {
	s := &c.slots[h&(Slots-1)]
	if s.hash == h && s.famOK {
		return s.fam, true
	}
	return 0, false
}

// SetFamily notes fam as the family hash of the hashtag whose key hashes to
// h, if its slot holds it (Hashed, just before).
func (c *Cache) SetFamily(h, fam uint64) {
	if s := &c.slots[h&(Slots-1)]; s.hash == h {
		s.fam, s.famOK = fam, true
	}
}

// ForgetFamily drops the family noted for the hashtag whose key hashes to h:
// its next mention looks it up again.
func (c *Cache) ForgetFamily(h uint64) {
	if s := &c.slots[h&(Slots-1)]; s.hash == h {
		s.famOK = false
	}
}

// Tracked returns the tracked term of the key that hashes to h, nil for
// none, as SetTracked noted it; ok is false when its slot does not hold it.
func (c *Cache) Tracked(h uint64) (st *tracked.Term, ok bool) {
	s := &c.slots[h&(Slots-1)]
	if s.hash == h && s.termOK {
		return s.term, true
	}
	return nil, false
}

// SetTracked notes st as the tracked term, nil for none, of the key that
// hashes to h, if its slot holds it. Every change to which term is tracked
// under h must be told, or Tracked answers with the old one.
func (c *Cache) SetTracked(h uint64, st *tracked.Term) {
	if s := &c.slots[h&(Slots-1)]; s.hash == h {
		s.term, s.termOK = st, true
	}
}

// ForgetTracked drops what every slot noted of tracked terms, as when the
// tracked terms are made anew from a checkpoint.
func (c *Cache) ForgetTracked() {
	for i := range c.slots {
		c.slots[i].term, c.slots[i].termOK = nil, false
	}
}

// Kind is the kind of term key key (event.Term.Key's "kind:value"), 0 when
// it names none.
func Kind(key string) event.Kind {
	for i := 0; i < len(key); i++ {
		if key[i] == ':' {
			k, err := event.ParseKind(key[:i])
			if err != nil {
				return 0
			}
			return k
		}
	}
	return 0
}

// Touch reads the slots of the hashes hs, so that the processor fetches them
// together rather than one by one as the terms are counted; what it returns
// means nothing, but must be kept, or the reads are compiled away.
func (c *Cache) Touch(hs []uint64) uint64 {
	var x uint64
	for _, h := range hs {
		x ^= c.slots[h&(Slots-1)].hash
	}
	return x
}
