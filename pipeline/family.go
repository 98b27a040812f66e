package pipeline

import (
	"time"

	"github.com/trendwatch/trendwatch/family"
	"github.com/trendwatch/trendwatch/pipeline/families"
)

// familyOwner is what the families' table asks of the engine.
type familyOwner struct{ e *Engine }

func (o familyOwner) Tracked(fam uint64) bool { return o.e.tracked[fam] != nil }

func (o familyOwner) Watching() bool { return o.e.watchFamilies }

func (o familyOwner) Watched(t []byte) bool { return o.e.set.Watch(string(t)) != nil }

// Forgot drops the hashtag's family from the term-key cache's slot too.
func (o familyOwner) Forgot(h uint64) {
	o.e.termKeys.ForgetFamily(h)
}

// restoreFamilies takes back a snapshot's families, in the order
// families.Table.Each gave them. exact says that every term was one that
// could be tracked when written (the binary layout); a gob snapshot written
// before byHash existed had every family by term, and only those seen under
// two spellings, tracked or watched get their term back.
func (e *Engine) restoreFamilies(entries []families.Entry, exact bool) {
	e.families = families.New(e.cfg.Families, familyOwner{e})
	e.families.Restore(entries, func(en families.Entry, fam uint64) bool {
		return exact || en.First == 0 || e.tracked[fam] != nil || e.set.Watch(en.Term) != nil
	})
}

// bucketCounts counts per open bucket; nearly every event falls in the bucket
// of the one before, so that one's counter is kept at hand.
type bucketCounts struct {
	m    map[time.Time]*uint64
	last time.Time
	n    *uint64
}

func (c *bucketCounts) add(start time.Time) {
	if c.n == nil || !start.Equal(c.last) {
		if c.m == nil {
			c.m = make(map[time.Time]*uint64)
		}
		n := c.m[start]
		if n == nil {
			n = new(uint64)
			c.m[start] = n
		}
		c.last, c.n = start, n
	}
	*c.n++
}

func (c *bucketCounts) get(start time.Time) uint64 {
	if n := c.m[start]; n != nil {
		return *n
	}
	return 0
}

// drop forgets a closed bucket.
func (c *bucketCounts) drop(start time.Time) {
	delete(c.m, start)
	if start.Equal(c.last) {
		c.n = nil
	}
}

// shortASCII reports a hashtag that is its own family (family.KeyOf) without
// looking it up: ASCII of at most family.MaxPlain bytes has at most that many
// letters. fyp, ootd and lol are among the commonest tags of all.
func shortASCII(v string) bool {
	if len(v) > family.MaxPlain {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] >= 0x80 {
			return false
		}
	}
	return true
}
