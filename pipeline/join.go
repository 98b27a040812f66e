package pipeline

// joinCache maps content IDs to the term keys of their content, so a report that
// names only a content ID is attributed to its terms. It is bounded twice, by
// entries and by bytes, and evicts the oldest entry first: reports mostly
// arrive soon after the content. The byte bound is the one that holds in a
// flood: posts with many one-off hashtags cost several times an ordinary
// post's entry, and 500,000 of them held 140 MiB of keys nothing else
// referenced.
type joinCache struct {
	m map[string][]string
	// ring holds the IDs oldest first from ring[first], n of them.
	ring     []string
	first, n int
	// size is the bytes the entries hold (see entryBytes), maxBytes its
	// bound (0: none).
	size, maxBytes int
	// byBytes counts the entries evicted by the byte bound while the entry
	// bound still had room.
	byBytes uint64
}

// Approximate costs, for the byte bound: a map entry (the ID's and the keys'
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
	// The map grows as entries come rather than being sized for the entry
	// bound up front: the byte bound may never let it get there.
	return &joinCache{m: make(map[string][]string), ring: make([]string, size), maxBytes: maxBytes}
}

// put remembers a copy of keys as contentID's. The copy goes into the slice
// of the entry it replaces or evicts, so a full cache allocates nothing.
// evicted is how many entries the byte bound made it forget that the entry
// bound would have kept.
func (c *joinCache) put(contentID string, keys []string) (evicted int) {
	if cur, ok := c.m[contentID]; ok {
		c.size += entryBytes(contentID, keys) - entryBytes(contentID, cur)
		c.m[contentID] = append(cur[:0], keys...)
		return c.shrink()
	}
	var spare []string
	if c.n == len(c.ring) {
		spare = c.evictOldest()
	}
	c.ring[(c.first+c.n)%len(c.ring)] = contentID
	c.n++
	c.m[contentID] = append(spare, keys...)
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

// evictOldest forgets the oldest entry and returns its slice for reuse.
func (c *joinCache) evictOldest() []string {
	id := c.ring[c.first]
	c.ring[c.first] = ""
	c.first = (c.first + 1) % len(c.ring)
	c.n--
	keys := c.m[id]
	c.size -= entryBytes(id, keys)
	delete(c.m, id)
	clear(keys) // let go of the keys' strings
	return keys[:0]
}

// get returns the term keys of a content ID, and whether it is known at all: a
// content without terms is known but has none. The slice is the cache's: it
// changes with the next put.
func (c *joinCache) get(contentID string) ([]string, bool) {
	keys, ok := c.m[contentID]
	return keys, ok
}

func (c *joinCache) len() int { return len(c.m) }

// bytes is the approximate memory the entries hold.
func (c *joinCache) bytes() int { return c.size }

// each calls f with every entry, oldest first.
func (c *joinCache) each(f func(id string, keys []string)) {
	for i := range c.n {
		id := c.ring[(c.first+i)%len(c.ring)]
		f(id, c.m[id])
	}
}
