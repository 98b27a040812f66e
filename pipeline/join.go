package pipeline

// joinCache maps content IDs to the term keys of their content, so a report that
// names only a content ID is attributed to its terms. It is bounded and evicts
// the oldest entry first: reports mostly arrive soon after the content.
type joinCache struct {
	m    map[string][]string
	ring []string
	next int
}

func newJoinCache(size int) *joinCache {
	return &joinCache{m: make(map[string][]string, size), ring: make([]string, size)}
}

// put remembers a copy of keys as contentID's. The copy goes into the slice
// of the entry it replaces or evicts, so a full cache allocates nothing.
func (c *joinCache) put(contentID string, keys []string) {
	if cur, ok := c.m[contentID]; ok {
		c.m[contentID] = append(cur[:0], keys...)
		return
	}
	var spare []string
	if old := c.ring[c.next]; old != "" {
		spare = c.m[old][:0]
		delete(c.m, old)
	}
	c.ring[c.next] = contentID
	c.next = (c.next + 1) % len(c.ring)
	c.m[contentID] = append(spare, keys...)
}

// get returns the term keys of a content ID, and whether it is known at all: a
// content without terms is known but has none. The slice is the cache's: it
// changes with the next put.
func (c *joinCache) get(contentID string) ([]string, bool) {
	keys, ok := c.m[contentID]
	return keys, ok
}

func (c *joinCache) len() int { return len(c.m) }
