package pipeline

import (
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
