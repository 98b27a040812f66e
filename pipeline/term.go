package pipeline

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/family"
	"github.com/trendwatch/trendwatch/sketches"
)

// series holds the last size per-bucket counts, oldest first, contiguous:
// every close hands each tracked term's histories to the detectors, and a
// ring would have to be copied out in order each time (a tenth of the
// engine's time at 120 buckets). It keeps a quarter of size spare and moves
// the last values back to the front when that fills, a copy of size values
// every size/4 pushes.
type series struct {
	buf  []float64
	size int
}

func newSeries(size int) *series {
	return &series{buf: make([]float64, 0, size+size/4+1), size: size}
}

func (s *series) push(v float64) {
	if len(s.buf) == cap(s.buf) {
		s.buf = s.buf[:copy(s.buf, s.buf[len(s.buf)-(s.size-1):])]
	}
	s.buf = append(s.buf, v)
}

// view returns the held values, oldest first. It is the series' own memory,
// valid until the next push; appending to it copies.
func (s *series) view() []float64 {
	v := s.buf[max(0, len(s.buf)-s.size):]
	return v[:len(v):len(v)]
}

// appendTo appends the held values, oldest first.
func (s *series) appendTo(dst []float64) []float64 {
	return append(dst, s.view()...)
}

// labels counts the distinct labels of a bucket (regions, languages, reasons,
// a family's spellings): exactly up to a cap, and past it as the Space-Saving
// algorithm does (Metwally, Agrawal and El Abbadi, 2005): a new label takes
// the place of the least counted and its count plus one. Any label on more
// than 1/maxLabels of the bucket's events is then listed, with a count high
// by at most the one it replaced. Before, labels past the cap were dropped,
// so a region whose surge began after 32 others had posted in the bucket
// never showed.
type labels []detectors.Count

const maxLabels = 32

func (l *labels) add(label string) {
	if label == "" {
		return
	}
	least := 0
	for i := range *l {
		if (*l)[i].Label == label {
			(*l)[i].N++
			return
		}
		if (*l)[i].N < (*l)[least].N {
			least = i
		}
	}
	if len(*l) < maxLabels {
		*l = append(*l, detectors.Count{Label: label, N: 1})
		return
	}
	(*l)[least] = detectors.Count{Label: label, N: (*l)[least].N + 1}
}

// top returns the labels most first, ties by name so output is stable.
func (l labels) top(n int) []detectors.Count {
	return l.appendTop(nil, n)
}

// appendTop appends the n labels with the most counts to dst, most first,
// ties by name, and returns the extended slice. It inserts each label into the
// n kept so far rather than sorting a copy of all of them: a term's bucket
// holds up to maxLabels, a row keeps a handful, and copying every label
// (strings, so with write barriers) to sort it took 1.8 % of the CPU samples
// in BenchmarkEngineSteady's profile, where selecting takes 1.0 %.
func (l labels) appendTop(dst []detectors.Count, n int) []detectors.Count {
	n = min(n, len(l))
	if n <= 0 {
		return dst
	}
	from := len(dst)
	for _, c := range l {
		top := dst[from:]
		if len(top) == n && compareCounts(c, top[n-1]) >= 0 {
			continue
		}
		if len(top) < n {
			dst = append(dst, c)
			top = dst[from:]
		}
		i := len(top) - 1
		for ; i > 0 && compareCounts(c, top[i-1]) < 0; i-- {
			top[i] = top[i-1]
		}
		top[i] = c
	}
	return dst
}

// compareCounts orders labels most first, ties by name. Labels are unique
// in a labels list, so any sort gives the same order.
func compareCounts(a, b detectors.Count) int {
	if c := cmp.Compare(b.N, a.N); c != 0 {
		return c
	}
	return strings.Compare(a.Label, b.Label)
}

// countScratch holds the top labels of the observations of one judgement
// (a bucket's close, or one early look): every tracked term's observation
// needs its top regions and reasons, and a slice for each was a third of
// the engine's allocations. The observations do not outlive the judgement
// (the lifecycle copies what it keeps), so the next one reuses the memory.
type countScratch []detectors.Count

// reset makes the memory handed out so far free for reuse.
func (s *countScratch) reset() { *s = (*s)[:0] }

// top is l.top(n) in the scratch memory: valid until the next reset.
func (s *countScratch) top(l labels, n int) []detectors.Count {
	if len(l) == 0 {
		return nil
	}
	from := len(*s)
	*s = l.appendTop(*s, n)
	return (*s)[from:len(*s):len(*s)]
}

// stringSlab hands out the rows' label lists (regions, languages, reasons)
// from shared chunks, where a slice of their own cost three allocations per
// row. Unlike countScratch it never reuses memory: a chunk's handed-out part
// is not written again, so a sink may keep the rows' slices.
type stringSlab []string

// stringSlabChunk is the strings of a chunk: a few hundred rows' lists.
const stringSlabChunk = 1024

// names returns the labels of cs, in order, in the slab; never nil, so a row
// without labels writes an empty list.
func (s *stringSlab) names(cs []detectors.Count) []string {
	if *s == nil || cap(*s)-len(*s) < len(cs) {
		*s = make([]string, 0, max(stringSlabChunk, len(cs)))
	}
	from := len(*s)
	for _, c := range cs {
		*s = append(*s, c.Label)
	}
	return (*s)[from:len(*s):len(*s)]
}

// termBucket is what a tracked term gathers in one open bucket beyond the counts
// the sketches already hold.
type termBucket struct {
	mentions uint64
	reports  uint64
	// byChannel counts reports by event.Channel: a handful of fixed slots, where
	// a map would cost an allocation per term and bucket.
	byChannel [event.NumChannels]uint64
	creators  distinct
	reporters distinct
	regions   labels
	langs     labels
	reasons   labels
	// members counts, for a family, the posts each spelling came on: a post
	// that carries two spellings counts once in mentions and for both here.
	// For a challenge it counts the hashtags its posts carry (see sameAs).
	members labels
	samples []string
	// inline backs the first creators, regions, languages and samples, so
	// that a term's bucket costs one allocation where growing each slice
	// from nothing cost a dozen: most tracked terms see few of each.
	inline struct {
		creators      [8]uint64
		regions, lang [2]detectors.Count
		samples       [5]string
	}
	// early is what the bucket's last early judgement saw (see
	// Engine.candidate).
	early struct {
		looked, complete bool
		mentions         float64
		// mark is the early look whose touched list holds the term
		// (earlyState.touch).
		mark uint32
	}
}

// describe fills o with what the bucket knows beyond its counts: unique
// creators and reporters, top regions and reasons, samples, reports by channel.
// The top labels are in scratch.
func (tb *termBucket) describe(o *detectors.Observation, topLabels int, scratch *countScratch) {
	o.UniqueCreators = tb.creators.estimate()
	o.UniqueReporters = tb.reporters.estimate()
	o.Regions = scratch.top(tb.regions, topLabels)
	o.ReportReasons = scratch.top(tb.reasons, topLabels)
	o.Samples = tb.samples
	for c, n := range tb.byChannel {
		o.ReportsByChannel[c] = float64(n)
	}
}

// newTermBucket returns an empty bucket whose slices start in its own
// inline arrays.
func newTermBucket() *termBucket {
	tb := &termBucket{}
	tb.creators.small = tb.inline.creators[:0]
	tb.regions = tb.inline.regions[:0]
	tb.langs = tb.inline.lang[:0]
	tb.samples = tb.inline.samples[:0]
	return tb
}

// reset empties tb as newTermBucket makes it, but keeps the lists that grew
// past their inline arrays: a recycled bucket takes a busy term's mentions
// without growing them again (see Engine.takeBucket).
func (tb *termBucket) reset() {
	creators, reporters := tb.creators.small, tb.reporters.small
	regions, langs, reasons, members := tb.regions, tb.langs, tb.reasons, tb.members
	samples := tb.samples
	*tb = termBucket{}
	tb.creators.small = emptied(creators, tb.inline.creators[:0])
	tb.reporters.small = emptied(reporters, nil)
	tb.regions = emptied(regions, tb.inline.regions[:0])
	tb.langs = emptied(langs, tb.inline.lang[:0])
	tb.reasons = emptied(reasons, nil)
	tb.members = emptied(members, nil)
	tb.samples = emptied(samples, tb.inline.samples[:0])
}

// emptied returns s emptied for reuse when it grew larger than inline, else
// inline (which s may be).
func emptied[S ~[]E, E any](s, inline S) S {
	if cap(s) <= cap(inline) {
		return inline
	}
	clear(s) // let go of what it points to
	return s[:0]
}

// maxSpareBuckets bounds the closed term buckets kept for reuse, a few MiB.
const maxSpareBuckets = 8192

// takeBucket returns an empty term bucket, a closed one if any is spare.
func (e *Engine) takeBucket() *termBucket {
	n := len(e.spareBuckets)
	if n == 0 {
		return newTermBucket()
	}
	tb := e.spareBuckets[n-1]
	e.spareBuckets[n-1] = nil
	e.spareBuckets = e.spareBuckets[:n-1]
	return tb
}

// recycle keeps st's bucket tb, just closed and out of st.open, for reuse:
// a bucket per tracked term and bucket was a tenth of the engine's
// allocations. Nothing refers to it any more: observations copy what they
// keep, and the term's cached last bucket is let go.
func (e *Engine) recycle(st *termState, tb *termBucket) {
	if st.last == tb {
		st.last = nil
	}
	if len(e.spareBuckets) >= maxSpareBuckets {
		return
	}
	tb.reset()
	e.spareBuckets = append(e.spareBuckets, tb)
}

// termState is one tracked term.
type termState struct {
	key   string
	kind  event.Kind
	hash  uint64
	watch *detectors.WatchMatch
	// family is the row's family column: the hashtag's family, a family itself,
	// "" for other kinds.
	family string

	open map[time.Time]*termBucket
	// last is the open bucket bucketOf returned last, which starts at lastStart.
	last      *termBucket
	lastStart time.Time

	mentions *series
	reports  *series
	// creators holds the unique creators of the same buckets as mentions, 0
	// where unknown: buckets from before the term was tracked (the sketches
	// keep no per-term creators) and partial ones, whose HLL undercounts. The
	// coordination detector skips such buckets when it learns the term's own
	// mentions per creator.
	creators *series
	// histEnd is the start of the bucket right after the last one in the series.
	histEnd time.Time
	// exactFrom is the first bucket whose every event the term saw tracked:
	// before it, mentions come from the count-min and unique creators are
	// only those since tracking began.
	exactFrom time.Time
	quiet     int
	// tail is the detectors' memory of how spiky the term is (see detectors.Tail).
	tail detectors.Tail
}

// recentLevel is the median of the term's last five closed buckets, 0 when
// it has none: a cheap stand-in for its expected count.
func (st *termState) recentLevel() float64 {
	var buf [5]float64
	h := st.mentions.view()
	n := copy(buf[:], h[max(0, len(h)-len(buf)):])
	v := buf[:n]
	slices.Sort(v)
	if n == 0 {
		return 0
	}
	return v[n/2]
}

// pushHistory appends one closed bucket to the term's history; creators is 0
// when not known.
func (st *termState) pushHistory(mentions, reports, creators float64) {
	st.mentions.push(mentions)
	st.reports.push(reports)
	st.creators.push(creators)
}

func (e *Engine) bucketOf(st *termState, start time.Time) *termBucket {
	// Nearly every mention falls in the bucket of the term's previous one,
	// and a map keyed by time.Time is slow to hash. The cached bucket is
	// still st.open's: an entry is removed only when its bucket closes, and
	// no mention reaches a closed bucket (the window refuses it as late).
	if st.last != nil && st.lastStart.Equal(start) {
		return st.last
	}
	tb := st.open[start]
	if tb == nil {
		tb = e.takeBucket()
		st.open[start] = tb
	}
	st.last, st.lastStart = tb, start
	return tb
}

// keyCacheSize is the slots of the engine's term-key cache: 2^16 slots of 40
// bytes (2.5 MiB) and their keys, for the terms that make most mentions.
const keyCacheSize = 1 << 16

// cachedKey is one slot of the term-key cache. For a hashtag it also holds
// its family's hash once known (famOK; fam 0 for its own family): the slot is
// in the processor's cache already, where the families' tables are not.
type cachedKey struct {
	hash  uint64
	key   string
	fam   uint64
	famOK bool
}

// termKey returns t's key (Term.String) and its hash (sketches.Hash), hashed
// without making the key; only when its cache slot holds another term is the
// key made, into a new string (see hashedTermKey). Every mention needs its term's
// key, and a popular term is mentioned thousands of times a minute: making
// the key anew each time was an allocation per term and event.
//
// A slot is the term's when it holds the term's 64-bit hash: the count-min
// sketches, the tracking door and the families' tables know a term by that
// hash alone, so two terms whose hashes collide (a chance in 2^64 for a pair)
// are one term to them already. Comparing the bytes too read the cached key's
// from wherever the heap put them, a cache miss on most mentions.
func (e *Engine) termKey(t event.Term) (string, uint64) {
	h := sketches.HashTerm(t.Kind.String(), t.Value)
	return e.hashedTermKey(t, h), h
}

// hashedTermKey is termKey of t, whose key's hash h the decoders made
// (ingest.Hashes.Terms): the key is built only when the cache does not hold it.
func (e *Engine) hashedTermKey(t event.Term, h uint64) string {
	kind := t.Kind.String()
	slot := &e.keyCache[h&(keyCacheSize-1)]
	if slot.hash != h || len(slot.key) != len(kind)+1+len(t.Value) {
		e.keyBuf = append(append(append(e.keyBuf[:0], kind...), ':'), t.Value...)
		*slot = cachedKey{hash: h, key: string(e.keyBuf)}
	}
	return slot.key
}

// hashtagFamily returns the family hash of the hashtag value v whose term key
// (just made by termKey) hashes to h, 0 for its own family, and reports
// whether this is a spelling the families' tables did not hold.
func (e *Engine) hashtagFamily(h uint64, v string) (fam uint64, spelling bool) {
	slot := &e.keyCache[h&(keyCacheSize-1)]
	if slot.hash == h && slot.famOK {
		return slot.fam, false
	}
	fam, spelling = e.families.tag(h, v)
	if slot.hash == h {
		slot.fam, slot.famOK = fam, true
	}
	return fam, spelling
}

// termHLLPrecision is lower than the window's: thousands of terms each hold
// several, and ±1.6% on unique creators is plenty to tell 6 accounts from 600.
const termHLLPrecision = 12

func kindOf(key string) event.Kind {
	for i := 0; i < len(key); i++ {
		if key[i] == ':' {
			k, err := event.ParseKind(key[:i])
			if err != nil {
				return 0
			}
			return k
		}
	}
	return 0
}

// termFamily is the family column of key's rows.
func (e *Engine) termFamily(key string) string {
	switch kindOf(key) {
	case event.KindHashtag:
		if !e.families.on() {
			return ""
		}
		// Once per tracked term: the key is made anew rather than looked up,
		// so that the row's family does not depend on what the tables hold.
		return family.OfTerm(key)
	case event.KindFamily:
		return key
	}
	return ""
}

// withMembers names, in the summary and explanation of a family's alert
// transitions, the spellings that made the bucket tb and the share of its
// posts each came on: the analyst sees at once that #bl4ckoutchallenge is a
// third of the surge. Spellings tagged together on posts add up to more than
// 100 %.
func withMembers(evs []alert.Event, tb *termBucket, top int) {
	if len(evs) == 0 || tb == nil || len(tb.members) == 0 {
		return
	}
	members, total := tb.members, tb.mentions // each post once
	var sum, exp strings.Builder
	for i, m := range members.top(top) {
		share := 100 * float64(m.N) / float64(total)
		if i > 0 {
			sum.WriteString(", ")
			exp.WriteByte(',')
		}
		fmt.Fprintf(&sum, "#%s %.0f%%", m.Label, share)
		fmt.Fprintf(&exp, "%s:%.0f%%", m.Label, share)
	}
	if len(members) > top {
		fmt.Fprintf(&sum, " and %d more", len(members)-top)
	}
	for i := range evs {
		a := &evs[i].Alert
		a.Summary += "; spellings: " + sum.String()
		a.Explanation += " members=" + exp.String()
	}
}

// maxMemberShare is the share of a family's posts above which one spelling
// is the family: the family is then not judged, because that hashtag's own
// alert already says everything, and a page for each would double every surge.
// A spelling tagged on every post beside others is the family as much as one
// used alone.
const maxMemberShare = 0.9

// sameAs is the hashtag term a challenge's bucket tb (of bucket b) is a copy
// of, "" when none: a hashtag on at least maxMemberShare of the challenge's
// posts whose own posts carry the challenge at least as often (its count in
// b's count-min, which never undercounts, is at most the shared posts over
// maxMemberShare). A platform names its challenge by an ID and people tag it
// with its hashtag, so one surge alerted as two incidents; the challenge's
// alerts now join the hashtag's incident (alert.SameAs). A hashtag also on
// other posts (#fyp on every challenge's) is not the challenge. The count-min
// is every process's, so a term shard decides as one process would.
func sameAs(st *termState, tb *termBucket, b *sketches.Bucket) string {
	if st.kind != event.KindChallenge || tb == nil || tb.mentions == 0 || len(tb.members) == 0 {
		return ""
	}
	top := tb.members.top(1)[0]
	shared := float64(top.N)
	if shared < maxMemberShare*float64(tb.mentions) {
		return ""
	}
	term := event.KindHashtag.String() + ":" + top.Label
	if shared < maxMemberShare*float64(b.Mentions.Estimate(sketches.Hash(term))) {
		return ""
	}
	return term
}

// withSameAs adds to the findings fs on challenge st, judged on its bucket tb
// of bucket b, the hashtag its posts are (sameAs). An alert's incident must
// not change while it is open (Alertmanager knows an alert by its labels,
// the incident among them), so a finding on an open alert says what the
// alert said when it opened, and only a new alert is decided on this bucket.
func (e *Engine) withSameAs(fs []detectors.Finding, st *termState, tb *termBucket, b *sketches.Bucket) {
	if st.kind != event.KindChallenge || len(fs) == 0 {
		return
	}
	fresh, decided := "", false
	for i := range fs {
		f := &fs[i]
		term := ""
		if expl, open := e.life.OpenExplanation(f.Detector, st.key); open {
			term = alert.Fields(expl)[alert.SameAs]
		} else {
			if !decided {
				fresh, decided = sameAs(st, tb, b), true
			}
			term = fresh
		}
		if term == "" {
			continue
		}
		f.Summary += "; the posts of #" + strings.TrimPrefix(term, event.KindHashtag.String()+":")
		f.Explanation += " " + alert.SameAs + "=" + term
	}
}

// spread reports whether a family's bucket came by several spellings, none of
// them on over maxMemberShare of its posts.
func spread(tb *termBucket) bool {
	if tb == nil || len(tb.members) < 2 {
		return false
	}
	var top uint64
	for _, m := range tb.members {
		top = max(top, m.N)
	}
	return float64(top) < maxMemberShare*float64(tb.mentions)
}
