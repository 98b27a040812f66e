package termkey

import (
	"fmt"
	"testing"

	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/pipeline/tracked"
	"github.com/trendwatch/trendwatch/sketches"
)

// TestKey: the cached keys are Term.String and their hashes sketches.Hash,
// also for terms that push each other out of the cache.
func TestKey(t *testing.T) {
	c := New()
	for round := range 2 {
		for i := range 3 * Slots {
			term := event.Term{Kind: event.Kind(1 + i%3), Value: fmt.Sprint("v", i)}
			key, h := c.Key(term)
			if want := term.String(); key != want || h != sketches.Hash(want) {
				t.Fatalf("round %d: Key(%v) = %q, %x; want %q, %x", round, term, key, h, want, sketches.Hash(want))
			}
		}
	}
}

// sharedSlot is two hashtags, with their hashes, of one slot of a Cache.
func sharedSlot() (a event.Term, ha uint64, b event.Term, hb uint64) {
	tag := func(v string) (event.Term, uint64) {
		return event.Term{Kind: event.KindHashtag, Value: v}, sketches.HashTerm("hashtag", v)
	}
	a, ha = tag("blackoutchallenge")
	for i := 0; ; i++ {
		if b, hb = tag(fmt.Sprint("other", i)); hb&(Slots-1) == ha&(Slots-1) {
			return a, ha, b, hb
		}
	}
}

// TestFamily: a hashtag's family is noted in its slot, goes when another
// term takes the slot or it is forgotten, and 0 (its own family) is a family
// noted like any other.
func TestFamily(t *testing.T) {
	// Two tags of one slot: the second pushes the first out.
	a, ha, b, hb := sharedSlot()
	tests := []struct {
		name string
		do   func(c *Cache)
		h    uint64
		fam  uint64
		ok   bool
	}{
		{"not noted", func(c *Cache) { c.Hashed(a, ha) }, ha, 0, false},
		{"noted", func(c *Cache) { c.Hashed(a, ha); c.SetFamily(ha, 42) }, ha, 42, true},
		{"its own family", func(c *Cache) { c.Hashed(a, ha); c.SetFamily(ha, 0) }, ha, 0, true},
		{"not in its slot", func(c *Cache) { c.SetFamily(ha, 42) }, ha, 0, false},
		{"pushed out", func(c *Cache) { c.Hashed(a, ha); c.SetFamily(ha, 42); c.Hashed(b, hb) }, ha, 0, false},
		{"the other's slot", func(c *Cache) { c.Hashed(a, ha); c.SetFamily(ha, 42); c.Hashed(b, hb) }, hb, 0, false},
		{"forgotten", func(c *Cache) { c.Hashed(a, ha); c.SetFamily(ha, 42); c.ForgetFamily(ha) }, ha, 0, false},
		{"noted again", func(c *Cache) { c.Hashed(a, ha); c.SetFamily(ha, 42); c.ForgetFamily(ha); c.SetFamily(ha, 7) }, ha, 7, true},
	}
	for _, tt := range tests {
		c := New()
		tt.do(c)
		if fam, ok := c.Family(tt.h); fam != tt.fam || ok != tt.ok {
			t.Errorf("%s: Family = %d, %v; want %d, %v", tt.name, fam, ok, tt.fam, tt.ok)
		}
	}
}

// TestTracked: a term's tracked state is noted in its slot, nil (not
// tracked) included, and goes when another term takes the slot or every
// slot forgets.
func TestTracked(t *testing.T) {
	a, ha, b, hb := sharedSlot()
	st := tracked.NewTerm("hashtag:blackoutchallenge", event.KindHashtag, ha, 4)
	tests := []struct {
		name string
		do   func(c *Cache)
		h    uint64
		st   *tracked.Term
		ok   bool
	}{
		{"not noted", func(c *Cache) { c.Hashed(a, ha) }, ha, nil, false},
		{"noted", func(c *Cache) { c.Hashed(a, ha); c.SetTracked(ha, st) }, ha, st, true},
		{"not tracked", func(c *Cache) { c.Hashed(a, ha); c.SetTracked(ha, nil) }, ha, nil, true},
		{"let go", func(c *Cache) { c.Hashed(a, ha); c.SetTracked(ha, st); c.SetTracked(ha, nil) }, ha, nil, true},
		{"not in its slot", func(c *Cache) { c.SetTracked(ha, st) }, ha, nil, false},
		{"pushed out", func(c *Cache) { c.Hashed(a, ha); c.SetTracked(ha, st); c.Hashed(b, hb) }, ha, nil, false},
		{"the other's slot", func(c *Cache) { c.Hashed(a, ha); c.SetTracked(ha, st); c.Hashed(b, hb) }, hb, nil, false},
		{"forgotten", func(c *Cache) { c.Hashed(a, ha); c.SetTracked(ha, st); c.ForgetTracked() }, ha, nil, false},
		{"family kept", func(c *Cache) { c.Hashed(a, ha); c.SetFamily(ha, 42); c.SetTracked(ha, st); c.ForgetTracked() }, ha, nil, false},
	}
	for _, tt := range tests {
		c := New()
		tt.do(c)
		if got, ok := c.Tracked(tt.h); got != tt.st || ok != tt.ok {
			t.Errorf("%s: Tracked = %p, %v; want %p, %v", tt.name, got, ok, tt.st, tt.ok)
		}
		if tt.name == "family kept" {
			if fam, ok := c.Family(ha); fam != 42 || !ok {
				t.Errorf("%s: Family = %d, %v; want 42, true", tt.name, fam, ok)
			}
		}
	}
}

// BenchmarkHashed is the key of a term the cache holds, as most mentions
// find it.
func BenchmarkHashed(b *testing.B) {
	c := New()
	terms := make([]event.Term, 1000)
	hs := make([]uint64, len(terms))
	for i := range terms {
		terms[i] = event.Term{Kind: event.KindHashtag, Value: fmt.Sprint("tag", i)}
		hs[i] = sketches.HashTerm("hashtag", terms[i].Value)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c.Hashed(terms[i%len(terms)], hs[i%len(terms)])
	}
}

// TestKind: a term key's kind, and none for a key that names no kind.
func TestKind(t *testing.T) {
	for _, tt := range []struct {
		key  string
		want event.Kind
	}{
		{"hashtag:dance", event.KindHashtag},
		{"sound:s1", event.KindSound},
		{"challenge:c9", event.KindChallenge},
		{"family:blackoutchalenge", event.KindFamily},
		{"hashtag:a:b", event.KindHashtag},
		{"nokind", 0},
		{"weather:sunny", 0},
		{"", 0},
	} {
		if got := Kind(tt.key); got != tt.want {
			t.Errorf("Kind(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}
