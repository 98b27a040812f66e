package pipeline

import (
	"time"

	"github.com/trendwatch/trendwatch/family"
	"github.com/trendwatch/trendwatch/pipeline/tracked"
	"github.com/trendwatch/trendwatch/sketches"
)

// families is what the engine remembers of the families (package family) of
// the hashtags it has seen lately, in two tables of fixed size with no
// pointers in them, so that the garbage collector never scans them and a
// hashtag seen once costs no allocation beyond its family term's:
//
//   - tags maps the hash of a hashtag's term key, which the engine has at
//     hand, to the hash of its family term: family.Key, a few hundred
//     nanoseconds, is paid once per hashtag while it stays in use;
//   - fams holds each family's first spelling, to know when a second one
//     comes.
//
// Both are 4-way set associative: an entry found moves to the front of its
// set and a new one enters at the front, pushing out the set's least recently
// used. Forgetting is one entry at a time, never the whole table: a tag not
// seen since has its key computed again, and a family not seen since needs
// two spellings again before it is tracked (the sketches count it all along,
// so its history is whole when it is). Two hashtags whose 64-bit hashes
// collide share a family; with 2^19 entries that is one chance in 2^45.
type families struct {
	tags []tagSlot
	fams []famSlot
	// terms holds the term of each family that may be tracked: seen under two
	// spellings, watched, or tracked already. Only these need their term;
	// a family entry pushed out of fams takes its term with it.
	terms map[uint64]string
	// buf is where a family term is made before it is hashed.
	buf []byte
}

// tagSlot is one hashtag's family. fam is 0 for a hashtag that is its own
// family (family.KeyOf), tag 0 for an empty slot.
type tagSlot struct{ tag, fam uint64 }

// famSlot is one family: first is the hash of the term key of the one spelling
// seen so far, 0 once a second one was; fam is 0 for an empty slot.
type famSlot struct{ fam, first uint64 }

// ways is the associativity of both tables: a set of 4 slots of 16 bytes is
// one cache line.
const ways = 4

func newFamilies(n int) families {
	if n <= 0 {
		return families{}
	}
	size := ways
	for size < n {
		size <<= 1
	}
	return families{tags: make([]tagSlot, size), fams: make([]famSlot, size), terms: make(map[uint64]string)}
}

func (f *families) on() bool { return f.tags != nil }

// set returns the set of slots where hash h lives.
func set[S any](slots []S, h uint64) []S {
	i := int(h&uint64(len(slots)-1)) &^ (ways - 1)
	return slots[i : i+ways : i+ways]
}

// tag returns the family hash of the hashtag whose term key hashes to h and
// value is v, 0 for its own family. spelling reports a hashtag not in the
// table: its family's term is then in f.buf.
func (f *families) tag(h uint64, v string) (fam uint64, spelling bool) {
	s := set(f.tags, h)
	for i := range s {
		if s[i].tag == h {
			fam := s[i].fam
			copy(s[1:i+1], s[:i])
			s[0] = tagSlot{h, fam}
			return fam, false
		}
	}
	if k, own := f.term(v); !own {
		fam = sketches.HashBytes(k)
	}
	copy(s[1:], s[:ways-1])
	s[0] = tagSlot{h, fam}
	return fam, true
}

// term makes the family term of the hashtag value v in f.buf.
func (f *families) term(v string) (k []byte, own bool) {
	f.buf, own = family.AppendKey(append(f.buf[:0], family.Prefix...), v)
	return f.buf, own
}

// spelled notes a mention of family fam by the hashtag whose term key hashes
// to h and value is v, and returns the family's term when it may be tracked,
// "" when not. spelling is tag's: the hashtag was not in the table, and its
// family term is in f.buf. A hashtag that was is a spelling the family has
// seen already, and changes nothing: its family is not looked up at all, only
// whether it may be tracked.
func (e *Engine) spelled(fam, h uint64, v string, spelling bool) string {
	f := &e.families
	if !spelling {
		return f.terms[fam]
	}
	s := set(f.fams, fam)
	for i := range s {
		if s[i].fam != fam {
			continue
		}
		first := s[i].first
		copy(s[1:i+1], s[:i])
		s[0] = famSlot{fam, first}
		if first != 0 && first != h {
			// The second spelling: from now on the family may be tracked.
			s[0].first = 0
			t := string(f.buf)
			f.terms[fam] = t
			return t
		}
		return f.terms[fam]
	}
	// The entry pushed out is the least recently used family seen under one
	// spelling, where the set has one: a family known to have two is rarer
	// and costlier to lose, as its spellings, known to the tables, never
	// look it up again.
	out := ways - 1
	for i := ways - 1; i >= 0 && s[ways-1].fam != 0; i-- {
		if s[i].first != 0 {
			out = i
			break
		}
	}
	if old := s[out]; old.fam != 0 {
		f.forget(old.fam, e.tracked)
		if old.first != 0 {
			// Its one spelling is forgotten with it, so that its next
			// mention registers it again rather than pass as known: a
			// spelling in use never looks its family up, and a new one of
			// the family would otherwise be taken for the first.
			e.forgetSpelling(old.first)
		}
	}
	copy(s[1:out+1], s[:out])
	s[0] = famSlot{fam, h}
	// A family seen under one spelling is tracked only when watched, or
	// when it was tracked before its entry was pushed out. Most are neither,
	// and their term is not made: f.buf is looked up as it is.
	if e.tracked[fam] == nil && (!e.watchFamilies || e.set.Watch(string(f.buf)) == nil) {
		return ""
	}
	t := string(f.buf)
	f.terms[fam] = t
	return t
}

// forgetSpelling drops the hashtag whose term key hashes to h from the tags
// table and the term-key cache's family slot.
func (e *Engine) forgetSpelling(h uint64) {
	s := set(e.families.tags, h)
	for i := range s {
		if s[i].tag == h {
			copy(s[i:], s[i+1:])
			s[ways-1] = tagSlot{}
			break
		}
	}
	if slot := &e.keyCache[h&(keyCacheSize-1)]; slot.hash == h {
		slot.famOK = false
	}
}

// forget drops the term of a family whose entry is pushed out of fams, unless
// the family is tracked: its mentions must keep reaching its tracked state
// (untracked drops it when the engine stops tracking it).
func (f *families) forget(fam uint64, tracked map[uint64]*tracked.Term) {
	if _, ok := f.terms[fam]; ok && tracked[fam] == nil {
		delete(f.terms, fam)
	}
}

// untracked drops the term of a family the engine stopped tracking when its
// entry was pushed out of fams already.
func (f *families) untracked(fam uint64) {
	if _, ok := f.terms[fam]; !ok {
		return
	}
	for _, s := range set(f.fams, fam) {
		if s.fam == fam {
			return
		}
	}
	delete(f.terms, fam)
}

// tracks reports whether the family term t, of hash h, may be tracked.
func (f *families) tracks(h uint64) bool {
	_, ok := f.terms[h]
	return ok
}

// familyTerm returns the family term of the hashtag value v (term key hash h),
// "" for one that is its own family: the term as tracked when it may be, made
// anew otherwise. Reports need it; they are few beside posts.
func (e *Engine) familyTerm(h uint64, v string) (term string, fam uint64) {
	fam, spelling := e.families.tag(h, v)
	if fam == 0 {
		return "", 0
	}
	if t, ok := e.families.terms[fam]; ok {
		return t, fam
	}
	if !spelling {
		e.families.term(v)
	}
	return string(e.families.buf), fam
}

// spellings is what the checkpoint keeps of the families: the first spelling
// (hashed) of each family that may be tracked, by term, 0 for those seen under
// two, and of the others by family hash.
func (f *families) spellings() (byTerm map[string]uint64, byHash map[uint64]uint64) {
	byTerm, byHash = make(map[string]uint64, len(f.terms)), make(map[uint64]uint64)
	for _, s := range f.fams {
		if s.fam == 0 {
			continue
		}
		if t, ok := f.terms[s.fam]; ok {
			byTerm[t] = s.first
		} else {
			byHash[s.fam] = s.first
		}
	}
	return byTerm, byHash
}

// famEntry is one family of a snapshot: its term when it may be tracked, ""
// when it is kept by its hash alone, and the hash of its first spelling (0
// once a second one was seen).
type famEntry struct {
	term       string
	fam, first uint64
}

// eachFamily calls fn with every family held, from the back of the table to
// its front: restoreFamilies, which puts each at the front of its set, then
// puts every set back in the same order (the least recently used last).
func (f *families) eachFamily(fn func(e famEntry) error) error {
	for i := len(f.fams) - 1; i >= 0; i-- {
		s := f.fams[i]
		if s.fam == 0 {
			continue
		}
		e := famEntry{fam: s.fam, first: s.first}
		if t, ok := f.terms[s.fam]; ok {
			e.term = t
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// count is how many families the table holds.
func (f *families) count() int {
	n := 0
	for _, s := range f.fams {
		if s.fam != 0 {
			n++
		}
	}
	return n
}

// restoreFamilies takes back a snapshot's families, in the order eachFamily
// gave them. A family with a term has it as its hash (families.tag). exact
// says that every term was one that could be tracked when written (the
// binary layout); a gob snapshot written before byHash existed had every
// family by term, and only those seen under two spellings, tracked or watched
// get their term back.
func (e *Engine) restoreFamilies(entries []famEntry, exact bool) {
	e.families = newFamilies(e.cfg.Families)
	f := &e.families
	if !f.on() {
		return
	}
	for _, en := range entries {
		fam := en.fam
		if en.term != "" {
			fam = sketches.Hash(en.term)
		}
		s := set(f.fams, fam)
		if old := s[ways-1]; old.fam != 0 {
			f.forget(old.fam, e.tracked)
		}
		copy(s[1:], s[:ways-1])
		s[0] = famSlot{fam, en.first}
		if en.term != "" && (exact || en.first == 0 || e.tracked[fam] != nil || e.set.Watch(en.term) != nil) {
			f.terms[fam] = en.term
		}
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
