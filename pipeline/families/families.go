// Package families is what the engine remembers of the families (package
// family) of the hashtags it has seen lately: which family each hashtag is a
// spelling of, and which families have been seen under two spellings and so
// may be tracked as terms of their own (family:<key>).
package families

import (
	"github.com/trendwatch/trendwatch/family"
	"github.com/trendwatch/trendwatch/sketches"
)

// Table is what the engine remembers of the families (package family) of
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
type Table struct {
	tags  []tagSlot
	fams  []famSlot
	owner Owner
	// terms holds the term of each family that may be tracked: seen under two
	// spellings, watched, or tracked already. Only these need their term;
	// a family entry pushed out of fams takes its term with it.
	terms map[uint64]string
	// buf is where a family term is made before it is hashed; bufOf is the
	// hashtag value whose family term it holds. The engine looks up every
	// tag of a post before it notes any (Spelled), so buf may hold another
	// tag's term by then.
	buf   []byte
	bufOf string
	// gone holds families pushed out of fams while known under two
	// spellings and not tracked, until two spellings are seen again: their
	// spellings, known to the tags (and to the engine's caches), never look
	// the family up, so without it such a family could never be tracked
	// again while they stay in use, a challenge back after a quiet spell
	// with its old spellings included. It is small and direct-mapped (a
	// newer family takes an older one's slot, which then stays unknown as
	// before), and nGone, the slots in use, spares the lookup while it is
	// empty, as it nearly always is.
	gone  []uint64
	nGone int
}

// goneSlots is the size of Table.gone: 8 KiB, read on every hashtag only
// while it holds anything.
const goneSlots = 1024

// tagSlot is one hashtag's family. fam is 0 for a hashtag that is its own
// family (family.KeyOf), tag 0 for an empty slot.
type tagSlot struct{ tag, fam uint64 }

// famSlot is one family: first is the hash of the term key of the one spelling
// seen so far, 0 once a second one was; fam is 0 for an empty slot.
type famSlot struct{ fam, first uint64 }

// ways is the associativity of both tables: a set of 4 slots of 16 bytes is
// one cache line.
const ways = 4

// Owner is what a Table asks of the engine that holds it.
type Owner interface {
	// Tracked reports whether the family term of hash fam is tracked: its
	// mentions must keep reaching its tracked state, so the table keeps its
	// term when its entry is pushed out.
	Tracked(fam uint64) bool
	// Watching reports whether a watchlist entry may match a family: only
	// then is Watched asked, and the family term made for it.
	Watching() bool
	// Watched reports whether the family term t may be tracked on one
	// spelling, a watchlist entry matching it. t is the table's own memory,
	// valid for the call only.
	Watched(t []byte) bool
	// Forgot says that the hashtag whose term key hashes to h left the table:
	// whatever caches its family must forget it too, or its next mention
	// passes as a spelling the table knows.
	Forgot(h uint64)
}

// New returns a table of about n entries in each of its two tables (rounded
// up to a power of two), or an off one for n ≤ 0: On is then false and
// nothing may be asked of it.
func New(n int, o Owner) Table {
	if n <= 0 {
		return Table{}
	}
	size := ways
	for size < n {
		size <<= 1
	}
	return Table{owner: o, tags: make([]tagSlot, size), fams: make([]famSlot, size), terms: make(map[uint64]string), gone: make([]uint64, goneSlots)}
}

// Bytes is the size of the two tables of a Table of n entries: a slot of 16
// bytes in each per hashtag, n rounded up to a power of two.
func Bytes(n int) int64 {
	if n <= 0 {
		return 0
	}
	size := int64(ways)
	for size < int64(n) {
		size <<= 1
	}
	return 32 * size
}

// On reports whether families are kept at all (pipeline.families > 0).
func (f *Table) On() bool { return f.tags != nil }

// set returns the set of slots where hash h lives.
func set[S any](slots []S, h uint64) []S {
	i := int(h&uint64(len(slots)-1)) &^ (ways - 1)
	return slots[i : i+ways : i+ways]
}

// Tag returns the family hash of the hashtag whose term key hashes to h and
// value is v, 0 for its own family. spelling reports a hashtag not in the
// table: its family's term is then the table's (Spelled reads it).
func (f *Table) Tag(h uint64, v string) (fam uint64, spelling bool) {
	s := set(f.tags, h)
	for i := range s {
		if s[i].tag == h {
			fam := s[i].fam
			copy(s[1:i+1], s[:i])
			s[0] = tagSlot{h, fam}
			return fam, f.Gone(fam)
		}
	}
	if k, own := f.key(v); !own {
		fam = sketches.HashBytes(k)
	}
	copy(s[1:], s[:ways-1])
	s[0] = tagSlot{h, fam}
	return fam, true
}

// key makes the family term of the hashtag value v in f.buf.
func (f *Table) key(v string) (k []byte, own bool) {
	f.buf, own = family.AppendKey(append(f.buf[:0], family.Prefix...), v)
	f.bufOf = v
	return f.buf, own
}

// keyOf returns the family term of v in f.buf, made anew unless f.buf
// holds it already (a string of the post's own memory: comparing it with
// itself costs a pointer comparison).
func (f *Table) keyOf(v string) []byte {
	if f.bufOf != v {
		f.key(v)
	}
	return f.buf
}

// Spelled notes a mention of family fam by the hashtag whose term key hashes
// to h and value is v, and returns the family's term when it may be tracked,
// "" when not. spelling is Tag's: the hashtag was not in the table. A hashtag
// that was is a spelling the family has seen already, and changes nothing:
// its family is not looked up at all, only whether it may be tracked.
func (f *Table) Spelled(fam, h uint64, v string, spelling bool) string {
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
			f.back(fam)
			t := string(f.keyOf(v))
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
		f.forget(old.fam)
		if old.first != 0 {
			// Its one spelling is forgotten with it, so that its next
			// mention registers it again rather than pass as known: a
			// spelling in use never looks its family up, and a new one of
			// the family would otherwise be taken for the first.
			f.forgetTag(old.first)
		} else if !f.owner.Tracked(old.fam) {
			// Its spellings are many and not at hand: their mentions are
			// taken for new ones until two are seen (gone).
			f.goneAway(old.fam)
		}
	}
	copy(s[1:out+1], s[:out])
	s[0] = famSlot{fam, h}
	// A family seen under one spelling is tracked only when watched, or
	// when it was tracked before its entry was pushed out. Most are neither,
	// and their term is not made.
	if !f.owner.Tracked(fam) && (!f.owner.Watching() || !f.owner.Watched(f.keyOf(v))) {
		return ""
	}
	t := string(f.keyOf(v))
	f.terms[fam] = t
	return t
}

// Gone reports whether family fam was pushed out of the table while known
// under two spellings, and has not been seen under two since: a mention of
// one of its spellings, known or not, is then a spelling to note (Spelled),
// as a new one's is.
func (f *Table) Gone(fam uint64) bool {
	return f.nGone > 0 && fam != 0 && f.gone[fam&(goneSlots-1)] == fam
}

// goneAway notes that family fam went while known under two spellings.
func (f *Table) goneAway(fam uint64) {
	slot := &f.gone[fam&(goneSlots-1)]
	if *slot == 0 {
		f.nGone++
	}
	*slot = fam
}

// back notes that family fam, seen under two spellings again, is no longer
// gone.
func (f *Table) back(fam uint64) {
	if !f.Gone(fam) {
		return
	}
	f.gone[fam&(goneSlots-1)] = 0
	f.nGone--
}

// forgetTag drops the hashtag whose term key hashes to h from the tags
// table, and tells the owner.
func (f *Table) forgetTag(h uint64) {
	s := set(f.tags, h)
	for i := range s {
		if s[i].tag == h {
			copy(s[i:], s[i+1:])
			s[ways-1] = tagSlot{}
			break
		}
	}
	f.owner.Forgot(h)
}

// forget drops the term of a family whose entry is pushed out of fams, unless
// the family is tracked: its mentions must keep reaching its tracked state
// (Untracked drops it when the engine stops tracking it).
func (f *Table) forget(fam uint64) {
	if _, ok := f.terms[fam]; ok && !f.owner.Tracked(fam) {
		delete(f.terms, fam)
	}
}

// Untracked drops the term of a family the engine stopped tracking when its
// entry was pushed out of fams already.
func (f *Table) Untracked(fam uint64) {
	if _, ok := f.terms[fam]; !ok {
		return
	}
	for _, s := range set(f.fams, fam) {
		if s.fam == fam {
			return
		}
	}
	delete(f.terms, fam)
	// Pushed out while tracked: spellings of it may be known, and must
	// register again.
	f.goneAway(fam)
}

// Tracks reports whether the family term of hash h may be tracked.
func (f *Table) Tracks(h uint64) bool {
	_, ok := f.terms[h]
	return ok
}

// Term returns the family term of the hashtag value v (term key hash h), ""
// for one that is its own family: the term as tracked when it may be, made
// anew otherwise. Reports need it; they are few beside posts. It notes
// nothing: a report's hashtag is not a post's spelling, and one entered in
// the table here would be taken for known when a post first carries it, so
// that a family's second spelling, met first on a report, would never count.
func (f *Table) Term(h uint64, v string) (term string, fam uint64) {
	fam, ok := f.peek(h)
	if !ok {
		k, own := f.key(v)
		if own {
			return "", 0
		}
		fam = sketches.HashBytes(k)
	}
	if fam == 0 {
		return "", 0
	}
	if t, ok := f.terms[fam]; ok {
		return t, fam
	}
	return string(f.keyOf(v)), fam
}

// peek returns the family hash of the hashtag whose term key hashes to h,
// as the tags table holds it, and whether it does; it moves nothing.
func (f *Table) peek(h uint64) (fam uint64, ok bool) {
	for _, s := range set(f.tags, h) {
		if s.tag == h {
			return s.fam, true
		}
	}
	return 0, false
}

// Spellings is what the checkpoint keeps of the families: the first spelling
// (hashed) of each family that may be tracked, by term, 0 for those seen under
// two, and of the others by family hash.
func (f *Table) Spellings() (byTerm map[string]uint64, byHash map[uint64]uint64) {
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

// Entry is one family of a snapshot: its term when it may be tracked, ""
// when it is kept by its hash alone, and the hash of its first spelling (0
// once a second one was seen).
type Entry struct {
	Term       string
	Fam, First uint64
}

// Each calls fn with every family held, from the back of the table to
// its front: Restore, which puts each at the front of its set, then
// puts every set back in the same order (the least recently used last).
func (f *Table) Each(fn func(e Entry) error) error {
	for i := len(f.fams) - 1; i >= 0; i-- {
		s := f.fams[i]
		if s.fam == 0 {
			continue
		}
		e := Entry{Fam: s.fam, First: s.first}
		if t, ok := f.terms[s.fam]; ok {
			e.Term = t
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// Len is how many families the table holds.
func (f *Table) Len() int {
	n := 0
	for _, s := range f.fams {
		if s.fam != 0 {
			n++
		}
	}
	return n
}

// Restore takes back a snapshot's families into an empty table, in the order
// Each gave them. A family with a term has it as its hash (Tag). keep says
// whether an entry's term is kept: a family that may be tracked.
func (f *Table) Restore(entries []Entry, keep func(en Entry, fam uint64) bool) {
	if !f.On() {
		return
	}
	for _, en := range entries {
		fam := en.Fam
		if en.Term != "" {
			fam = sketches.Hash(en.Term)
		}
		s := set(f.fams, fam)
		if old := s[ways-1]; old.fam != 0 {
			f.forget(old.fam)
		}
		copy(s[1:], s[:ways-1])
		s[0] = famSlot{fam, en.First}
		if en.Term != "" && keep(en, fam) {
			f.terms[fam] = en.Term
		}
	}
}

// Touch reads the set of the tags table where the hashtag whose term key
// hashes to h lives, ahead of Tag; TouchFamily the families table's set of
// fam, ahead of Spelled. What they return means nothing, but must be kept:
// the tables are megabytes, and a set read early arrives while other work
// goes on.
func (f *Table) Touch(h uint64) uint64 {
	if f.tags == nil {
		return 0
	}
	return set(f.tags, h)[0].tag
}

// TouchFamily: see Touch.
func (f *Table) TouchFamily(fam uint64) uint64 {
	if f.fams == nil || fam == 0 {
		return 0
	}
	return set(f.fams, fam)[0].fam
}
