package pipeline

import (
	"strings"
	"time"

	"github.com/trendwatch/trendwatch/family"
	"github.com/trendwatch/trendwatch/sketches"
)

// maxFamilies bounds the families remembered; they are forgotten all at once
// when it is reached, which costs only recomputing the keys of the tags still
// in use and seeing two spellings again of families not yet tracked.
const maxFamilies = 1 << 18

// familyRec is one family as the engine knows it.
type familyRec struct {
	term string // "family:<key>"
	hash uint64 // of term
	// first is the hash of the term key of the one spelling seen so far, 0
	// once a second one was.
	first uint64
	// track is set once the family was seen under two spellings, is watched,
	// or is tracked already. A family of one spelling is that hashtag over
	// again: tracking it would double the work of every bucket close and page
	// twice for one surge. The sketches count every family regardless, so one
	// tracked late has its whole history.
	track bool
	// own is set for a term too short to have other spellings (family.KeyOf):
	// its family is the hashtag itself, and is neither counted nor tracked.
	own bool
}

// spelled notes a mention of the family by the hashtag whose term key hashes
// to h.
func (r *familyRec) spelled(h uint64) {
	if r.first != h && r.first != 0 {
		r.first, r.track = 0, true
	}
}

// families are the families of the hashtags seen lately.
type families struct {
	// byHashtag is keyed by the hash of the hashtag's term key, which the
	// engine has at hand: a string key would cost a second hash and a compare.
	// Two hashtags whose 64-bit hashes collide would share a family; at 2^16
	// entries that is one chance in 2^29.
	byHashtag map[uint64]*familyRec
	byTerm    map[string]*familyRec // by family term
}

// tracks reports whether the family term may be tracked.
func (f *families) tracks(term string) bool {
	r := f.byTerm[term]
	return r != nil && r.track
}

// familyOf returns the family of a normalised hashtag value, whose term key
// hashes to h. family.Key costs a few hundred nanoseconds; a lookup, a few dozen.
func (e *Engine) familyOf(h uint64, value string) *familyRec {
	f := &e.families
	if r := f.byHashtag[h]; r != nil {
		return r
	}
	if f.byHashtag == nil || len(f.byHashtag) >= maxFamilies {
		f.byHashtag = make(map[uint64]*familyRec)
		f.byTerm = make(map[string]*familyRec)
	}
	k, own := family.KeyOf(value)
	term := family.Prefix + k
	r := f.byTerm[term]
	if r == nil {
		r = e.newFamilyRec(term, h)
		r.own = own
		f.byTerm[term] = r
	}
	f.byHashtag[h] = r
	return r
}

func (e *Engine) newFamilyRec(term string, first uint64) *familyRec {
	r := &familyRec{term: term, hash: sketches.Hash(term), first: first}
	r.track = first == 0 || e.tracked[term] != nil || e.set.Watch(term) != nil
	return r
}

// spellings is what the checkpoint keeps of the families: each one's first
// spelling (hashed), 0 for those seen under two.
func (f *families) spellings() map[string]uint64 {
	out := make(map[string]uint64, len(f.byTerm))
	for t, r := range f.byTerm {
		out[t] = r.first
	}
	return out
}

// restoreFamilies takes back what spellings kept.
func (e *Engine) restoreFamilies(spellings map[string]uint64) {
	e.families = families{byHashtag: make(map[uint64]*familyRec), byTerm: make(map[string]*familyRec, len(spellings))}
	for t, first := range spellings {
		r := e.newFamilyRec(t, first)
		// An own family's key is its hashtag's value, so it is its own key.
		_, r.own = family.KeyOf(strings.TrimPrefix(t, family.Prefix))
		e.families.byTerm[t] = r
	}
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
