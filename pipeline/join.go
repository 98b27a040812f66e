package pipeline

import (
	"github.com/trendwatch/trendwatch/internal/hashtable"
	"github.com/trendwatch/trendwatch/sketches"
)

// joinCache maps content IDs to the term keys of their content, so a report that
// names only a content ID is attributed to its terms. It is bounded twice, by
// entries and by bytes, and evicts the oldest entry first: reports mostly
// arrive soon after the content. The byte bound is the one that holds in a
// flood: posts with many one-off hashtags cost several times an ordinary
// post's entry, and 500,000 of them held 140 MiB of keys nothing else
// referenced.
//
// Entries live in a ring of slots, oldest first, and an index (hashtable.Table)
// finds an entry's slot by the hash of its content ID: a probe of a
// fixed-size key per post where a map keyed by the ID string took four with
// its hashing and comparing, a tenth of the engine's time on the generator's
// stream. The slot holds the ID, so two IDs whose hashes collide are told
// apart: the newer takes the index entry, and the older, no longer found,
// waits in the ring for its eviction like any other.
type joinCache struct {
	m    hashtable.Table[int32] // hash of the content ID → slot in ring
	ring []joinSlot
	// The entries are ring[first], ring[first+1], … (modulo its length), n
	// of them, oldest first.
	first, n int
	// size is the bytes the entries hold (see entryBytes), maxBytes its
	// bound (0: none).
	size, maxBytes int
	// byBytes counts the entries evicted by the byte bound while the entry
	// bound still had room.
	byBytes uint64
	// cur is the chunk new entries' keys go into, spare emptied ones.
	cur   *keyChunk
	spare []*keyChunk
}

// joinSlot is one content's term keys, in chunk.
type joinSlot struct {
	id    string
	h     uint64
	keys  []string
	chunk *keyChunk
}

// keyChunk holds the keys of consecutive entries, live of which are still
// in the cache. The entries' keys were a slice each, which a slot grew
// whenever it took a post with more terms than any it held before: a
// quarter of the engine's allocations once the other per-event ones were
// gone. Entries leave about in the order they came, so a chunk empties
// soon after the next one starts filling, and is reused.
type keyChunk struct {
	keys []string
	live int
}

// joinChunkLen is the keys a chunk holds (64 KiB of string headers), those
// of a thousand posts or so; maxSpareChunks the emptied chunks kept.
const (
	joinChunkLen   = 4096
	maxSpareChunks = 2
)

// Approximate costs, for the byte bound: an index entry (the ID's and the keys'
// slice headers, hash bits and load-factor slack) and ring slot, and a key's
// string header in the slice. The key's bytes count in full although
// tracked terms share them: the bound is on what the cache can hold alone.
const (
	joinEntryOverhead = 96
	joinKeyOverhead   = 16
)

func entryBytes(id string, keys []string) int {
	n := joinEntryOverhead + len(id)
	for _, k := range keys {
		n += joinKeyOverhead + len(k)
	}
	return n
}

func newJoinCache(size, maxBytes int) *joinCache {
	// The index grows as entries come rather than being sized for the entry
	// bound up front: the byte bound may never let it get there.
	return &joinCache{ring: make([]joinSlot, size), maxBytes: maxBytes}
}

// put remembers a copy of keys as contentID's. The copy goes into a chunk
// (see keyChunk), so a full cache allocates a chunk every few thousand keys.
// evicted is how many entries the byte bound made it forget that the entry
// bound would have kept.
func (c *joinCache) put(contentID string, keys []string) (evicted int) {
	return c.putHash(contentID, sketches.Hash(contentID), keys)
}

// putHash is put of the content ID whose hash is h.
func (c *joinCache) putHash(contentID string, h uint64, keys []string) (evicted int) {
	if i, ok := c.m.Get(h); ok && c.ring[i].id == contentID {
		e := &c.ring[i]
		c.size += entryBytes(contentID, keys) - entryBytes(contentID, e.keys)
		c.release(e)
		c.store(e, keys)
		return c.shrink()
	}
	if c.n == len(c.ring) {
		c.evictOldest()
	}
	i := (c.first + c.n) % len(c.ring)
	e := &c.ring[i]
	e.id, e.h = contentID, h
	c.store(e, keys)
	c.n++
	c.m.Put(h, int32(i))
	c.size += entryBytes(contentID, keys)
	return c.shrink()
}

// shrink evicts the oldest entries while the cache is over its byte bound,
// keeping the newest whatever its size, and returns how many.
func (c *joinCache) shrink() int {
	evicted := 0
	for c.maxBytes > 0 && c.size > c.maxBytes && c.n > 1 {
		c.evictOldest()
		c.byBytes++
		evicted++
	}
	return evicted
}

// store makes a copy of keys in the current chunk e's keys.
func (c *joinCache) store(e *joinSlot, keys []string) {
	if len(keys) == 0 {
		return
	}
	ch := c.cur
	if ch == nil || cap(ch.keys)-len(ch.keys) < len(keys) {
		ch = c.newChunk(len(keys))
		c.cur = ch
	}
	from := len(ch.keys)
	ch.keys = append(ch.keys, keys...)
	e.keys, e.chunk = ch.keys[from:len(ch.keys):len(ch.keys)], ch
	ch.live++
}

// newChunk returns an empty chunk with room for n keys at least.
func (c *joinCache) newChunk(n int) *keyChunk {
	if k := len(c.spare); k > 0 && cap(c.spare[k-1].keys) >= n {
		ch := c.spare[k-1]
		c.spare[k-1] = nil
		c.spare = c.spare[:k-1]
		return ch
	}
	return &keyChunk{keys: make([]string, 0, max(joinChunkLen, n))}
}

// release lets go of e's keys; their chunk is emptied when no entry's keys
// are left in it.
func (c *joinCache) release(e *joinSlot) {
	ch := e.chunk
	e.keys, e.chunk = nil, nil
	if ch == nil {
		return
	}
	if ch.live--; ch.live > 0 {
		return
	}
	clear(ch.keys) // let go of the keys' strings
	ch.keys = ch.keys[:0]
	if ch != c.cur && len(c.spare) < maxSpareChunks {
		c.spare = append(c.spare, ch)
	}
}

// evictOldest forgets the oldest entry.
func (c *joinCache) evictOldest() {
	e := &c.ring[c.first]
	if i, ok := c.m.Get(e.h); ok && int(i) == c.first {
		c.m.Remove(e.h)
	}
	c.size -= entryBytes(e.id, e.keys)
	c.release(e)
	e.id, e.h = "", 0
	c.first = (c.first + 1) % len(c.ring)
	c.n--
}

// getHash returns the term keys of the content ID whose hash is h, and
// whether it is known at all: a content without terms is known but has none.
// The slice is the cache's: it changes with the next put.
func (c *joinCache) getHash(contentID string, h uint64) ([]string, bool) {
	i, ok := c.m.Get(h)
	if !ok || c.ring[i].id != contentID {
		return nil, false
	}
	return c.ring[i].keys, true
}

func (c *joinCache) len() int { return c.n }

// bytes is the approximate memory the entries hold.
func (c *joinCache) bytes() int { return c.size }

// each calls f with every entry, oldest first.
func (c *joinCache) each(f func(id string, keys []string)) {
	for i := range c.n {
		e := &c.ring[(c.first+i)%len(c.ring)]
		f(e.id, e.keys)
	}
}
