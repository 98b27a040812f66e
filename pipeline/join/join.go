// Package join is the content→terms cache: the term keys of the posts read
// lately, by content ID, so that a report naming only a content ID is
// counted against its terms.
package join

import (
	"github.com/trendwatch/trendwatch/internal/hashtable"
	"github.com/trendwatch/trendwatch/sketches"
)

// Cache maps content IDs to the term keys of their content, so a report that
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
type Cache struct {
	m    hashtable.Table[int32] // hash of the content ID → slot in ring
	ring []joinSlot
	// The entries are ring[first], ring[first+1], … (modulo its length), n
	// of them, oldest first.
	first, n int
	// size is the bytes the entries hold (see EntryBytes), maxBytes its
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

// EntryBytes is what an entry of id and keys counts against the byte bound.
func EntryBytes(id string, keys []string) int {
	n := joinEntryOverhead + len(id)
	for _, k := range keys {
		n += joinKeyOverhead + len(k)
	}
	return n
}

// New returns a cache of size entries at most, holding maxBytes (EntryBytes)
// at most (0: no byte bound).
func New(size, maxBytes int) *Cache {
	// The index grows as entries come rather than being sized for the entry
	// bound up front: the byte bound may never let it get there.
	return &Cache{ring: make([]joinSlot, size), maxBytes: maxBytes}
}

// Put remembers a copy of keys as contentID's. The copy goes into a chunk
// (see keyChunk), so a full cache allocates a chunk every few thousand keys.
// evicted is how many entries the byte bound made it forget that the entry
// bound would have kept.
func (c *Cache) Put(contentID string, keys []string) (evicted int) {
	return c.PutHash(contentID, sketches.Hash(contentID), keys)
}

// PutHash is Put of the content ID whose hash is h.
func (c *Cache) PutHash(contentID string, h uint64, keys []string) (evicted int) {
	if i, ok := c.m.Get(h); ok && c.ring[i].id == contentID {
		e := &c.ring[i]
		c.size += EntryBytes(contentID, keys) - EntryBytes(contentID, e.keys)
		c.release(e)
		c.store(e, keys)
		return c.shrink()
	}
	if c.n == len(c.ring) {
		c.evictOldest()
	}
	// first < len(c.ring) and n ≤ it: a subtraction wraps the sum where a
	// modulo divided, on every post.
	i := c.first + c.n
	if i >= len(c.ring) {
		i -= len(c.ring)
	}
	e := &c.ring[i]
	e.id, e.h = contentID, h
	c.store(e, keys)
	c.n++
	c.m.Put(h, int32(i))
	c.size += EntryBytes(contentID, keys)
	return c.shrink()
}

// shrink evicts the oldest entries while the cache is over its byte bound,
// keeping the newest whatever its size, and returns how many.
func (c *Cache) shrink() int {
	evicted := 0
	for c.maxBytes > 0 && c.size > c.maxBytes && c.n > 1 {
		c.evictOldest()
		c.byBytes++
		evicted++
	}
	return evicted
}

// store makes a copy of keys in the current chunk e's keys.
func (c *Cache) store(e *joinSlot, keys []string) {
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
func (c *Cache) newChunk(n int) *keyChunk {
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
func (c *Cache) release(e *joinSlot) {
	ch := e.chunk
	// Its keys' strings go now, not with the chunk: a chunk lives while any
	// of its entries does, and a content ID posted again and again under new
	// hashtags left each post's keys behind in chunks kept alive by their
	// other entries (the heap grew by 495 MiB where the bound counted 0.1).
	clear(e.keys)
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
func (c *Cache) evictOldest() {
	e := &c.ring[c.first]
	if i, ok := c.m.Get(e.h); ok && int(i) == c.first {
		c.m.Remove(e.h)
	}
	c.size -= EntryBytes(e.id, e.keys)
	c.release(e)
	e.id, e.h = "", 0
	if c.first++; c.first == len(c.ring) {
		c.first = 0
	}
	c.n--
}

// GetHash returns the term keys of the content ID whose hash is h, and
// whether it is known at all: a content without terms is known but has none.
// The slice is the cache's: it changes with the next Put.
func (c *Cache) GetHash(contentID string, h uint64) ([]string, bool) {
	i, ok := c.m.Get(h)
	if !ok || c.ring[i].id != contentID {
		return nil, false
	}
	return c.ring[i].keys, true
}

// Len is how many entries the cache holds.
func (c *Cache) Len() int { return c.n }

// Bytes is the approximate memory the entries hold.
func (c *Cache) Bytes() int { return c.size }

// Each calls f with every entry, oldest first.
func (c *Cache) Each(f func(id string, keys []string)) {
	for i := range c.n {
		e := &c.ring[(c.first+i)%len(c.ring)]
		f(e.id, e.keys)
	}
}

// Touch reads the slot of content hash h ahead of PutHash or GetHash, and,
// when the cache is full, the slot of the entry PutHash will evict: its
// index entry is as far from anything read lately as the new one's, and
// read only at the eviction it was 4 % of the engine's time on the
// generator's steady stream. What it returns means nothing, but must be
// kept.
func (c *Cache) Touch(h uint64) uint64 {
	x := c.m.Touch(h)
	if c.n == len(c.ring) {
		x ^= c.m.Touch(c.ring[c.first].h)
	}
	return x
}
