package join

import (
	"fmt"
	"slices"
	"testing"

	"github.com/trendwatch/trendwatch/sketches"
)

func TestJoinCacheEvictsOldest(t *testing.T) {
	c := New(2, 0)
	c.Put("a", []string{"hashtag:a"})
	c.Put("b", []string{"hashtag:b"})
	c.Put("a", []string{"hashtag:a2"}) // update in place, no eviction
	c.Put("c", []string{"hashtag:c"})  // evicts a, the oldest
	if keys, ok := c.get("a"); ok || keys != nil {
		t.Errorf("a should have been evicted")
	}
	if got, ok := c.get("b"); !ok || len(got) != 1 || got[0] != "hashtag:b" {
		t.Errorf("b: got %v, %v", got, ok)
	}
	c.Put("d", nil) // content without terms: known, no keys
	if keys, ok := c.get("d"); !ok || len(keys) != 0 {
		t.Errorf("d: got %v, %v; want known without keys", keys, ok)
	}
	if c.Len() != 2 {
		t.Errorf("len %d, want 2", c.Len())
	}
}

// TestJoinCacheHashCollision: two content IDs whose hashes collide are told
// apart by the ID each slot keeps: the newer is found, the older is not (and
// is never mistaken for the newer), and evicting the older leaves the
// newer's map entry alone.
func TestJoinCacheHashCollision(t *testing.T) {
	c := New(3, 0)
	const h = 42
	c.PutHash("old", h, []string{"hashtag:old"})
	c.PutHash("new", h, []string{"hashtag:new"})
	if keys, ok := c.GetHash("new", h); !ok || len(keys) != 1 || keys[0] != "hashtag:new" {
		t.Errorf("new: got %v, %v", keys, ok)
	}
	if keys, ok := c.GetHash("old", h); ok {
		t.Errorf("old: got %v, found under the newer entry's slot", keys)
	}
	c.Put("x", nil)
	c.Put("y", nil) // evicts "old", the oldest
	if keys, ok := c.GetHash("new", h); !ok || keys[0] != "hashtag:new" {
		t.Errorf("new after the older colliding entry was evicted: got %v, %v", keys, ok)
	}
	if c.Len() != 3 {
		t.Errorf("len %d, want 3", c.Len())
	}
}

// TestJoinCacheChunks: entries keep their own keys while the chunks they
// share are filled, emptied and reused, through evictions, updates in place
// and entries without keys; once warm, a put allocates nothing.
func TestJoinCacheChunks(t *testing.T) {
	const size = 300
	c := New(size, 0)
	want := map[string][]string{}
	var order []string
	put := func(i int) {
		id := fmt.Sprint("c", i%(3*size)) // ids come back: updates in place
		keys := make([]string, i%7)
		for j := range keys {
			keys[j] = fmt.Sprint("hashtag:", i, "-", j)
		}
		if _, ok := want[id]; !ok {
			order = append(order, id)
		}
		c.Put(id, keys)
		want[id] = keys
		for len(order) > size {
			delete(want, order[0])
			order = order[1:]
		}
	}
	for i := range 20 * joinChunkLen / 3 {
		put(i)
		if i%997 != 0 {
			continue
		}
		for id, keys := range want {
			if got, ok := c.get(id); !ok || !slices.Equal(got, keys) {
				t.Fatalf("after put %d: %s holds %v, %v; want %v", i, id, got, ok, keys)
			}
		}
	}
	if c.Len() != len(want) {
		t.Errorf("%d entries, want %d", c.Len(), len(want))
	}
	keys := []string{"hashtag:a", "hashtag:b", "hashtag:c"}
	ids := make([]string, 2*size)
	for i := range ids {
		ids[i] = fmt.Sprint("w", i)
	}
	i := 0
	if n := testing.AllocsPerRun(10*joinChunkLen, func() {
		c.Put(ids[i%len(ids)], keys[:i%4])
		i++
	}); n > 0.01 {
		t.Errorf("a put allocates %v times", n)
	}
}

// TestJoinCacheByteBound: the byte bound evicts the oldest entries while
// the cache is over it, whatever the entry bound would allow, and counts
// them; the newest entry stays even alone over the bound.
func TestJoinCacheByteBound(t *testing.T) {
	small := []string{"hashtag:a"}
	big := []string{"hashtag:fl0000000000000001", "hashtag:fl0000000000000002", "hashtag:fl0000000000000003"}
	one := EntryBytes("c0", small)
	tests := []struct {
		name     string
		maxBytes int
		keys     []string
		puts     int
		wantLen  int
		evicted  uint64
	}{
		{"no byte bound: the entry bound", 0, big, 10, 5, 0},
		{"room for three small ones", 3 * one, small, 10, 3, 7},
		{"big entries take more room", 3 * one, big, 10, 1, 9},
		{"one entry over the bound stays", 1, big, 1, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(5, tt.maxBytes)
			for i := range tt.puts {
				c.Put(fmt.Sprint("c", i), tt.keys)
			}
			if c.Len() != tt.wantLen {
				t.Errorf("%d entries, want %d", c.Len(), tt.wantLen)
			}
			if c.byBytes != tt.evicted {
				t.Errorf("%d evicted by the byte bound, want %d", c.byBytes, tt.evicted)
			}
			if tt.maxBytes > 0 && c.Len() > 1 && c.Bytes() > tt.maxBytes {
				t.Errorf("%d bytes over the bound %d", c.Bytes(), tt.maxBytes)
			}
			// The newest are kept, oldest first.
			var ids []string
			c.Each(func(id string, _ []string) { ids = append(ids, id) })
			for i, id := range ids {
				if want := fmt.Sprint("c", tt.puts-len(ids)+i); id != want {
					t.Errorf("entry %d is %s, want %s", i, id, want)
				}
			}
			want := 0
			c.Each(func(id string, keys []string) { want += EntryBytes(id, keys) })
			if c.Bytes() != want {
				t.Errorf("bytes() %d, the entries hold %d", c.Bytes(), want)
			}
		})
	}
}

// get is GetHash of contentID, hashed as the consumer's decoders hash it.
func (c *Cache) get(contentID string) ([]string, bool) {
	return c.GetHash(contentID, sketches.Hash(contentID))
}

// TestJoinCacheReleasesKeys: an entry written over (its content ID posted
// again) or evicted lets go of its keys' strings at once, although the
// chunk that held them lives on with other entries.
func TestJoinCacheReleasesKeys(t *testing.T) {
	c := New(100, 0)
	c.Put("kept", []string{"hashtag:kept"})
	c.Put("again", []string{"hashtag:first", "hashtag:second"})
	ch := c.cur
	c.Put("again", []string{"hashtag:third"})
	if ch.live != 2 {
		t.Fatalf("the first chunk holds %d live entries, want 2", ch.live)
	}
	for _, k := range ch.keys {
		if k == "hashtag:first" || k == "hashtag:second" {
			t.Errorf("the chunk still holds %q of an entry written over", k)
		}
	}
	if got, ok := c.get("again"); !ok || !slices.Equal(got, []string{"hashtag:third"}) {
		t.Errorf("again holds %v, %v", got, ok)
	}
	if got, ok := c.get("kept"); !ok || !slices.Equal(got, []string{"hashtag:kept"}) {
		t.Errorf("kept holds %v, %v", got, ok)
	}
}
