package families

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/trendwatch/trendwatch/family"
	"github.com/trendwatch/trendwatch/sketches"
)

// owner is a Table's owner in tests: the families it tracks.
type owner map[uint64]bool

func (o owner) Tracked(fam uint64) bool { return o[fam] }
func (o owner) Watching() bool          { return false }
func (o owner) Watched([]byte) bool     { return false }
func (o owner) Forgot(uint64)           {}

// TestFamiliesForgetLeastRecent: the tables forget one entry at a time, the
// least recently used of its set, so hashtags in use keep their families
// however many others pass through.
func TestFamiliesForgetLeastRecent(t *testing.T) {
	f := New(64, owner{})
	keep := sketches.Hash("hashtag:blackoutchallenge")
	want, fresh := f.Tag(keep, "blackoutchallenge")
	if !fresh || want == 0 {
		t.Fatalf("first sighting: fam %x, fresh %v", want, fresh)
	}
	for i := range 10_000 {
		v := fmt.Sprintf("passingtag%d", i)
		f.Tag(sketches.Hash("hashtag:"+v), v)
		if i%3 == 0 {
			// In use: seen again every few tags.
			if fam, fresh := f.Tag(keep, "blackoutchallenge"); fam != want || fresh {
				t.Fatalf("after %d other tags: fam %x (want %x), key made anew %v", i, fam, want, fresh)
			}
		}
	}
	// One not seen since is forgotten, and its key made again.
	first := sketches.Hash("hashtag:passingtag0")
	if _, fresh := f.Tag(first, "passingtag0"); !fresh {
		t.Error("a tag last seen 10,000 tags ago is still remembered by a 64-entry table")
	}
}

// TestFamilyTermKeptWhileTracked: a family entry pushed out of the table
// keeps its term while the family is tracked, so that its spellings' mentions
// (which no longer look the family up) still reach its tracked state; the
// term goes when the engine stops tracking it (Untracked).
func TestFamilyTermKeptWhileTracked(t *testing.T) {
	terms := owner{}
	f := New(4, terms) // one set: the fifth family pushes the first out
	keys := []string{"family:a", "family:b", "family:c", "family:d", "family:e"}
	for i, term := range keys {
		fam := sketches.Hash(term)
		s := set(f.fams, fam)
		if old := s[ways-1]; old.fam != 0 {
			f.forget(old.fam)
		}
		copy(s[1:], s[:ways-1])
		s[0] = famSlot{fam, 0}
		f.terms[fam] = term
		if i == 0 {
			terms[fam] = true
		}
	}
	a := sketches.Hash("family:a")
	if f.terms[a] != "family:a" {
		t.Fatal("a tracked family lost its term when pushed out of the table")
	}
	f.Untracked(a)
	if _, ok := f.terms[a]; ok {
		t.Error("the term of a family pushed out and no longer tracked is kept")
	}
	e := sketches.Hash("family:e")
	f.Untracked(e)
	if f.terms[e] != "family:e" {
		t.Error("untracked dropped the term of a family still in the table")
	}
}

// TestSpelledBesideAnotherNewTag: a post tags a family's second spelling and
// another hashtag new to the table. The engine looks up every tag's family
// before it notes any of them, so the family's term must be its own, not the
// last one looked up.
func TestSpelledBesideAnotherNewTag(t *testing.T) {
	f := New(64, owner{})
	tag := func(v string) (uint64, uint64, bool) {
		h := sketches.Hash("hashtag:" + v)
		fam, spelling := f.Tag(h, v)
		return h, fam, spelling
	}
	h1, fam, sp := tag("blackout_challenge")
	if got := f.Spelled(fam, h1, "blackout_challenge", sp); got != "" {
		t.Fatalf("first spelling: %q, want no term yet", got)
	}
	// One post: the second spelling, then another new tag, each looked up
	// before either is noted.
	h2, fam2, sp2 := tag("blackoutchallenge")
	h3, fam3, sp3 := tag("weekendvibesxyz")
	if fam2 != fam || fam3 == fam {
		t.Fatalf("families %x %x %x", fam, fam2, fam3)
	}
	want := family.Prefix + family.Key("blackoutchallenge")
	if got := f.Spelled(fam2, h2, "blackoutchallenge", sp2); got != want {
		t.Errorf("second spelling beside another new tag: term %q, want %q", got, want)
	}
	if got := f.Spelled(fam3, h3, "weekendvibesxyz", sp3); got != "" {
		t.Errorf("the other tag's family, seen once: %q, want no term", got)
	}
	if got, gfam := f.Term(h2, "blackoutchallenge"); got != want || gfam != fam {
		t.Errorf("Term: %q %x, want %q %x", got, gfam, want, fam)
	}
}

// watcher is an owner whose watchlist matches the family terms in it.
type watcher map[string]bool

func (w watcher) Tracked(uint64) bool   { return false }
func (w watcher) Watching() bool        { return true }
func (w watcher) Watched(t []byte) bool { return w[string(t)] }
func (w watcher) Forgot(uint64)         {}

// TestSpelledWatched: a watched family may be tracked from its first
// spelling, with its own term however many tags the post's other tags made
// the table look up in between; an unwatched one waits for a second.
func TestSpelledWatched(t *testing.T) {
	watched := family.Prefix + family.Key("blackoutchallenge")
	tide := family.Prefix + family.Key("tidepodchallenge")
	f := New(64, watcher{watched: true, tide: true})
	tests := []struct {
		v, beside, want string
	}{
		{"blackout_challenge", "", watched},
		{"weekendvibesxyz", "", ""},
		{"bl4ckoutchallenge", "anothernewtagxyz", watched},
		{"tidepodchallenge", "yetanothertagxyz", tide},
	}
	for _, tt := range tests {
		h := sketches.Hash("hashtag:" + tt.v)
		fam, sp := f.Tag(h, tt.v)
		if tt.beside != "" {
			f.Tag(sketches.Hash("hashtag:"+tt.beside), tt.beside)
		}
		if got := f.Spelled(fam, h, tt.v, sp); got != tt.want {
			t.Errorf("%s (beside %q): term %q, want %q", tt.v, tt.beside, got, tt.want)
		}
	}
}

// TestTermLeavesSpellingsUnseen: a report's hashtag is looked up (Term) but
// is not a post's spelling: a spelling first met on a report is still new to
// the table when a post carries it, so it counts as the family's second.
func TestTermLeavesSpellingsUnseen(t *testing.T) {
	f := New(64, owner{})
	post := func(v string) string {
		h := sketches.Hash("hashtag:" + v)
		fam, sp := f.Tag(h, v)
		return f.Spelled(fam, h, v, sp)
	}
	post("blackout_challenge")
	want := family.Prefix + family.Key("blackoutchallenge")
	if got, _ := f.Term(sketches.Hash("hashtag:blackoutchallenge"), "blackoutchallenge"); got != want {
		t.Fatalf("report's family term %q, want %q", got, want)
	}
	if got := post("blackoutchallenge"); got != want {
		t.Errorf("a spelling first met on a report, then posted: term %q, want %q (the family's second spelling)", got, want)
	}
}

// TestTouch: reading a set ahead changes nothing, on a table that is off
// too.
func TestTouch(t *testing.T) {
	var off Table
	if off.Touch(1) != 0 || off.TouchFamily(1) != 0 {
		t.Error("an off table read something")
	}
	f := New(64, owner{})
	fam, _ := f.Tag(42, "blackoutchallenge")
	f.Touch(42)
	f.TouchFamily(fam)
	if again, spelling := f.Tag(42, "blackoutchallenge"); again != fam || spelling {
		t.Errorf("after Touch: Tag = %x, %v; want %x, known", again, spelling, fam)
	}
}

// TestFamilyBackAfterPushedOut: a family known under two spellings and
// pushed out of the table while not tracked (its set full of such families)
// comes back the way a new one does: its spellings, still known to the tags,
// register again, and two of them make it one that may be tracked, where
// before they passed as known for as long as they stayed in use, and the
// family could never be tracked again. So does a family pushed out while
// tracked, once the engine lets it go.
func TestFamilyBackAfterPushedOut(t *testing.T) {
	tracked := owner{}
	f := New(4, tracked) // one set in each table
	spell := func(v string) (fam uint64, term string) {
		h := sketches.Hash("hashtag:" + v)
		fam, spelling := f.Tag(h, v)
		return fam, f.Spelled(fam, h, v, spelling)
	}
	// Families noted without their tags, which must stay in the tags' one set.
	twice := func(v string) {
		fam := sketches.Hash(family.Prefix + family.Key(v))
		f.Spelled(fam, 1, v, true)
		f.Spelled(fam, 2, v, true)
	}
	fam, _ := spell("dancechallenge")
	if _, term := spell("dance_challenge"); term == "" || !f.Tracks(fam) {
		t.Fatal("a family seen under two spellings may not be tracked")
	}
	for _, v := range []string{"cookingvideos", "travelstories", "footballhighlights"} {
		twice(v)
	}
	// A fifth family: the set holds only families known under two spellings,
	// and the least recently used, dancechallenge's, goes.
	f.Spelled(sketches.Hash(family.Prefix+family.Key("makeuptutorial")), 3, "makeuptutorial", true)
	if f.Tracks(fam) || !f.Gone(fam) {
		t.Fatalf("pushed out: tracks %v, gone %v; want false, true", f.Tracks(fam), f.Gone(fam))
	}
	if _, term := spell("dancechallenge"); term != "" || f.Tracks(fam) {
		t.Fatalf("back under one spelling: term %q; want none until a second", term)
	}
	if _, term := spell("dance_challenge"); term == "" || !f.Tracks(fam) || f.Gone(fam) {
		t.Fatalf("back under two known spellings: term %q, tracks %v, gone %v; want the family's term, true, false", term, f.Tracks(fam), f.Gone(fam))
	}
	if h := sketches.Hash("hashtag:dancechallenge"); func() bool { _, s := f.Tag(h, "dancechallenge"); return s }() {
		t.Error("once back, a known spelling still looks its family up")
	}

	// Pushed out while tracked: its term stays until the engine lets it go.
	tracked[fam] = true
	for _, v := range []string{"cookingvideos", "travelstories", "footballhighlights", "makeuptutorial"} {
		twice(v)
	}
	if !f.Tracks(fam) || f.Gone(fam) {
		t.Fatalf("pushed out while tracked: tracks %v, gone %v; want true, false", f.Tracks(fam), f.Gone(fam))
	}
	delete(tracked, fam)
	f.Untracked(fam)
	if f.Tracks(fam) || !f.Gone(fam) {
		t.Fatalf("let go: tracks %v, gone %v; want false, true", f.Tracks(fam), f.Gone(fam))
	}
	spell("dancechallenge")
	if _, term := spell("dance_challenge"); term == "" {
		t.Error("a family let go after it was pushed out is not back under two known spellings")
	}
}

// TestFamiliesComeBack drives a small table with random mentions of a few
// families' spellings, tracking and letting families go as the engine does,
// and restarting from what a snapshot keeps, and holds it to two things after every step: the count of gone families
// is the table's, and two different spellings of a family mentioned one
// after the other make it one that may be tracked, whatever came before.
func TestFamiliesComeBack(t *testing.T) {
	const families, spellingsEach = 12, 3
	var words [families][spellingsEach]string
	var hashes [families]uint64
	slots := map[uint64]int{}
	for i := range families {
		// Families that share a slot of the gone table lose track of each
		// other, as the table says; these do not share one.
		var base string
		for k := 0; ; k++ {
			base = fmt.Sprintf("challenge%c%cdance", 'a'+i, 'a'+k)
			hashes[i] = sketches.Hash(family.Prefix + family.Key(base))
			if _, taken := slots[hashes[i]&(goneSlots-1)]; !taken {
				break
			}
		}
		slots[hashes[i]&(goneSlots-1)] = i
		for j := range spellingsEach {
			words[i][j] = base + strings.Repeat("_", j)
		}
	}
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		tracked := owner{}
		f := New(8, tracked) // two sets in each table: families push each other out
		spell := func(v string) {
			h := sketches.Hash("hashtag:" + v)
			fam, spelling := f.Tag(h, v)
			f.Spelled(fam, h, v, spelling)
		}
		for step := range 3000 {
			i := rng.IntN(families)
			switch r := rng.IntN(20); {
			case r == 0 && f.Tracks(hashes[i]):
				tracked[hashes[i]] = true
			case r == 1 && tracked[hashes[i]]:
				delete(tracked, hashes[i])
				f.Untracked(hashes[i])
			case r == 3:
				// A restart: the families come back from the snapshot, the
				// spellings known and the families gone do not.
				var entries []Entry
				if err := f.Each(func(e Entry) error { entries = append(entries, e); return nil }); err != nil {
					t.Fatal(err)
				}
				f = New(8, tracked)
				f.Restore(entries, func(en Entry, fam uint64) bool { return en.First == 0 || tracked[fam] })
			case r == 2:
				a := rng.IntN(spellingsEach)
				b := (a + 1 + rng.IntN(spellingsEach-1)) % spellingsEach
				spell(words[i][a])
				spell(words[i][b])
				if !f.Tracks(hashes[i]) {
					t.Fatalf("seed %d step %d: #%s then #%s, and their family may not be tracked (gone %v)", seed, step, words[i][a], words[i][b], f.Gone(hashes[i]))
				}
			default:
				spell(words[i][rng.IntN(spellingsEach)])
			}
			n := 0
			for _, g := range f.gone {
				if g != 0 {
					n++
				}
			}
			if n != f.nGone {
				t.Fatalf("seed %d step %d: %d gone families counted, %d in the table", seed, step, f.nGone, n)
			}
		}
	}
}
