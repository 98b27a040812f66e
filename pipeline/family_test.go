package pipeline

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/family"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline/families"
	"github.com/trendwatch/trendwatch/pipeline/tracked"
	"github.com/trendwatch/trendwatch/sketches"
)

// spellings are five ways one challenge is typed, as decode hands them on
// (normalised: "#bIackoutchallenge" arrives as "biackoutchallenge").
var spellings = []string{"blackoutchallenge", "blackout_challenge", "bl4ckoutchallenge", "biackoutchallenge", "ब्लैकआउटचैलेंज"}

// splitSurge is a steady background with the five spellings seldom seen, then
// from minute surgeAt on perSpelling posts a minute of each: the family surges
// while no spelling reaches the detectors' supports (surge 10, novelty 15).
func splitSurge(start time.Time, minutes, surgeAt, perSpelling int) []ingest.Record {
	var recs posts
	for m := 0; m < minutes; m++ {
		base := start.Add(time.Duration(m) * time.Minute)
		recs.steady(base)
		if m%5 == 0 {
			recs.add(base.Add(250*time.Millisecond), spellings[(m/5)%len(spellings)])
		}
		if m < surgeAt {
			continue
		}
		for i := 0; i < perSpelling; i++ {
			for j, s := range spellings {
				recs.add(base.Add(time.Duration(i*len(spellings)+j)*time.Second+300*time.Millisecond), s)
			}
		}
	}
	return recs
}

// posts is a stream of posts in the order added, each by an account of its own.
type posts []ingest.Record

func (p *posts) add(ts time.Time, tags ...string) {
	id := len(*p)
	*p = append(*p, ingest.Record{
		Source: ingest.Source{Topic: "content-events", Offset: int64(id)}, Kind: ingest.KindContent,
		Content: event.Content{EventID: fmt.Sprint("e", id), TS: ts, ContentID: fmt.Sprint("c", id),
			CreatorID: fmt.Sprint("u", id), Region: "IN", Lang: "hi", Hashtags: tags},
	})
}

// steady adds the minute from base of a steady background: 120 posts of
// twelve tags.
func (p *posts) steady(base time.Time) {
	for i := range 120 {
		p.add(base.Add(time.Duration(i)*500*time.Millisecond), fmt.Sprintf("steady%d", i%12))
	}
}

// surge adds 70 minutes from start of the steady background and, in each,
// posts tagged tags(i), one every gap: calm a minute, then surging from
// minute 60 on.
func (p *posts) surge(start time.Time, calm, surging int, gap time.Duration, tags func(i int) []string) {
	for m := range 70 {
		base := start.Add(time.Duration(m) * time.Minute)
		p.steady(base)
		n := calm
		if m >= 60 {
			n = surging
		}
		for i := range n {
			p.add(base.Add(time.Duration(i)*gap+300*time.Millisecond), tags(i)...)
		}
	}
}

var shareRE = regexp.MustCompile(`#(\S+) (\d+)%`)

func TestFamilySurgeSplitAcrossSpellings(t *testing.T) {
	key := family.Prefix + family.Key(spellings[0])
	for _, s := range spellings[1:] {
		if k := family.Prefix + family.Key(s); k != key {
			t.Fatalf("%q is in %s, %q in %s", s, k, spellings[0], key)
		}
	}
	if surge, novelty := detectors.DefaultConfig().Surge.MinSupport, detectors.DefaultConfig().Novelty.MinCount; 8 >= surge || 8 >= novelty {
		t.Fatalf("8 mentions a spelling reach the supports (surge %v, novelty %v): the test would not split the surge", surge, novelty)
	}
	sink := &memSink{}
	e := newTestEngine(t, sink)
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	const surgeAt = 60
	ctx := context.Background()
	for _, r := range splitSurge(start, 70, surgeAt, 8) {
		if err := e.Process(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	onset := start.Add(surgeAt * time.Minute)
	paged := false
	for _, ev := range sink.alerts {
		a := ev.Alert
		if strings.HasPrefix(a.Term, "hashtag:") {
			t.Errorf("alert on a single spelling: %s %s %s", a.Detector, a.Term, a.Summary)
		}
		if a.Term != key || ev.From != "" {
			continue
		}
		if paged {
			continue
		}
		paged = true
		if d := a.Bucket.Sub(onset); d < 0 || d >= 2*time.Minute {
			t.Errorf("family paged on bucket %s, %s after onset; want within 2 buckets", a.Bucket.Format("15:04"), d)
		}
		shares := map[string]int{}
		for _, m := range shareRE.FindAllStringSubmatch(a.Summary, -1) {
			shares[m[1]], _ = strconv.Atoi(m[2])
		}
		for _, s := range spellings {
			// 8 posts a spelling: a fifth each, give or take the mentions
			// before the family was tracked in the bucket.
			if sh := shares[s]; sh < 15 || sh > 25 {
				t.Errorf("summary %q gives #%s %d%%, want about 20%%", a.Summary, s, sh)
			}
		}
		if !strings.Contains(a.Explanation, "members=") {
			t.Errorf("explanation %q lacks the members", a.Explanation)
		}
	}
	if !paged {
		t.Fatalf("no alert on %s; alerts: %d", key, len(sink.alerts))
	}
	var fam, rows int
	for _, r := range sink.rows {
		switch {
		case r.Term == key:
			fam++
			if r.Family != key || r.Kind != "family" {
				t.Errorf("family row: kind %q family %q", r.Kind, r.Family)
			}
		case r.Term == "hashtag:"+spellings[1]:
			rows++
			if r.Family != key {
				t.Errorf("hashtag row family %q, want %q", r.Family, key)
			}
		case strings.HasPrefix(r.Term, "hashtag:steady"):
			if r.Family != "family:"+strings.TrimPrefix(r.Term, "hashtag:") {
				t.Errorf("%s row family %q", r.Term, r.Family)
			}
		}
	}
	if fam == 0 || rows == 0 {
		t.Errorf("%d family rows, %d rows of %s", fam, rows, spellings[1])
	}
}

// TestFamilyOfOneSpellingIsNotJudged: a surge under one spelling pages on the
// hashtag only, not a second time on its family.
func TestFamilyOfOneSpellingIsNotJudged(t *testing.T) {
	sink := &memSink{}
	e := newTestEngine(t, sink)
	f := &feed{start: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), minutes: 70, surgeAt: 60}
	run(t, e, f.records(), true)
	var hashtag bool
	fam := family.Prefix + family.Key("surgingtag")
	for _, ev := range sink.alerts {
		switch ev.Alert.Term {
		case "hashtag:surgingtag":
			hashtag = true
		case fam:
			t.Errorf("family of one spelling paged: %s", ev.Alert.Summary)
		}
	}
	if !hashtag {
		t.Error("no alert on the surging hashtag")
	}
}

func TestWatchlistWatchesFamily(t *testing.T) {
	dcfg := detectors.DefaultConfig()
	dcfg.Watchlist.Enabled = true
	dcfg.Watchlist.Terms = []string{"hashtag:BlackoutChallenge"}
	e, err := New(DefaultConfig(), sketches.DefaultWindowConfig(), dcfg, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	key := family.Prefix + family.Key("blackoutchallenge")
	st := e.trackedTerm(key)
	if st == nil || st.Watch == nil {
		t.Fatalf("%s not tracked as watched: %+v", key, st)
	}
}

// TestWatchGlobMeetsLookAlikes: a watchlist glob meets the spellings that
// evade it letter by letter (digits, Cyrillic look-alikes), which the engine
// folds as the family key's strict tier does, and the Devanagari spellings of
// its words, whose transliteration the loose tier reads (family.Loose); a
// glob written in Devanagari meets the Latin spelling the same way. Until 7
// December the Devanagari spellings were left to the family.
func TestWatchGlobMeetsLookAlikes(t *testing.T) {
	for _, tt := range []struct {
		glob  string
		typed string
		watch bool
	}{
		{"*blackout*", "#BlackoutChallenge", true},
		{"*blackout*", "#bl4ck0utchallenge", true},
		{"*blackout*", "#blасkоutchallenge", true}, // Cyrillic а, с, о
		{"*blackout*", "#ʙʟᴀᴄᴋᴏᴜᴛ", true},          // small capitals
		{"*blackout*", "#whiteoutchallenge", false},
		{"*blackout*", "#ब्लैकआउटचैलेंज", true},    // Hindi
		{"*blackout*", "#ब्ल्याकआउट", true},        // Nepali
		{"*blackout*", "#ब्लैकचैलेंज", false},      // "black challenge"
		{"*challenge*", "#स्कलब्रेकरचैलेंज", true}, // "skullbreaker challenge"
		{"blackout*", "#चैलेंजब्लैकआउट", false},    // the piece is a prefix
		{"*ब्लैकआउट*", "#blackoutchallenge", true},
		{"*ब्लैकआउट*", "#bl4ckoutchallenge", true},
		{"*ब्लैकआउट*", "#blackcat", false},
		// A piece of four letters or fewer is matched strictly: "tide"
		// would meet any transliteration that holds it.
		{"*tide*", "#टाइडपॉडचैलेंज", false},
		// Latin against Latin stays strict: the loose tier reads
		// "blakaut" into "blackout" and "blakout" alike, which a family
		// key allows only from ten letters.
		{"*blackout*", "#blakautchallenge", false},
	} {
		dcfg := detectors.DefaultConfig()
		dcfg.Watchlist.Enabled = true
		dcfg.Watchlist.Terms = []string{tt.glob}
		e, err := New(DefaultConfig(), sketches.DefaultWindowConfig(), dcfg, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		v, err := event.NormaliseHashtag(tt.typed, 100)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.set.Watch("hashtag:"+v) != nil; got != tt.watch {
			t.Errorf("%s against %s (%s): watched %v, want %v", tt.glob, tt.typed, v, got, tt.watch)
		}
	}
}

// TestFamilySnapshotRestore stops an engine in the middle of a split surge and
// checks that the restored one writes the family's rows as one that never
// stopped: the families seen under two spellings and the family mentions of
// the open buckets travel in the checkpoint.
func TestFamilySnapshotRestore(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	recs := splitSurge(start, 30, 20, 8)
	ctx := context.Background()
	run := func(e *Engine, recs []ingest.Record) {
		t.Helper()
		for _, r := range recs {
			if err := e.Process(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	whole := &memSink{}
	e := newTestEngine(t, whole)
	run(e, recs)
	if err := e.Drain(ctx); err != nil {
		t.Fatal(err)
	}

	first, second := &memSink{}, &memSink{}
	a := newTestEngine(t, first)
	run(a, recs[:len(recs)*3/4])
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b := newTestEngine(t, second)
	if err := b.Restore(snap); err != nil {
		t.Fatal(err)
	}
	run(b, recs)
	if err := b.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	key := family.Prefix + family.Key(spellings[0])
	rows := func(sinks ...*memSink) map[string]uint64 {
		m := map[string]uint64{}
		for _, s := range sinks {
			for _, r := range s.rows {
				if r.Term == key {
					m[r.Bucket.Format("15:04")] = r.Mentions
				}
			}
		}
		return m
	}
	want, got := rows(whole), rows(first, second)
	if len(want) == 0 {
		t.Fatal("no family rows")
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s %s: %d mentions after restore, want %d", key, k, got[k], v)
		}
	}
}

// TestFamiliesOff: with pipeline.families 0 the split surge of
// TestFamilySurgeSplitAcrossSpellings pages nowhere, no family is counted or
// written, and rows carry no family.
func TestFamiliesOff(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Families = 0
	sink := &memSink{}
	e, err := New(cfg, sketches.DefaultWindowConfig(), detectors.DefaultConfig(), []Sink{sink}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	ctx := context.Background()
	for _, r := range splitSurge(start, 70, 60, 8) {
		if err := e.Process(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	for _, ev := range sink.alerts {
		t.Errorf("alert with families off: %s %s", ev.Alert.Term, ev.Alert.Summary)
	}
	for _, r := range sink.rows {
		if strings.HasPrefix(r.Term, family.Prefix) || r.Family != "" {
			t.Errorf("row %s (family %q) with families off", r.Term, r.Family)
		}
	}
	if len(sink.rows) == 0 {
		t.Fatal("no rows")
	}
}

// TestFamilyTrackedAfterForgotten: a family pushed out of the tables while
// tracked goes on counting into its tracked state at its next mention.
func TestFamilyTrackedAfterForgotten(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Families = 8
	e, err := New(cfg, sketches.DefaultWindowConfig(), detectors.DefaultConfig(), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	v := spellings[0]
	h := sketches.Hash("hashtag:" + v)
	fam, _ := e.families.Tag(h, v)
	term := family.Prefix + family.Key(v)
	if fam != sketches.Hash(term) {
		t.Fatalf("family hash %x, want the hash of %s", fam, term)
	}
	e.tracked[fam] = &tracked.Term{Key: term, Hash: fam}
	e.families = families.New(cfg.Families, familyOwner{e}) // everything forgotten
	fam, fresh := e.families.Tag(h, v)
	if got := e.families.Spelled(fam, h, v, fresh); got != term {
		t.Errorf("spelled = %q after the family was forgotten, want %q: a tracked family must stay tracked", got, term)
	}
}

// surgingLog notes every term a bucket report lists among the fastest-growing.
type surgingLog struct{ terms map[string]int }

func (s *surgingLog) Bucket(r *BucketReport) {
	for _, ts := range r.Surging {
		s.terms[ts.Term]++
	}
}
func (s *surgingLog) Alert(alert.Event) {}

// TestFastestGrowingFamilies: the bucket reports (the demo's screen) list a
// family among the fastest-growing terms when its surge came by several
// spellings, and not when one spelling brought it and the others rode along
// on the same posts, where the family is that hashtag's copy.
func TestFastestGrowingFamilies(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	key := family.Prefix + family.Key(spellings[0])
	riding := func() []ingest.Record {
		var recs posts
		recs.surge(start, 2, 40, time.Second, func(i int) []string {
			if i%3 == 0 {
				return []string{spellings[0], spellings[4]} // the Devanagari spelling on a third of the posts
			}
			return []string{spellings[0]}
		})
		return recs
	}
	for _, tc := range []struct {
		name   string
		recs   []ingest.Record
		listed bool
	}{
		{"spread over five spellings", splitSurge(start, 70, 60, 8), true},
		{"one spelling, another riding along", riding(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEngine(t, &memSink{})
			log := &surgingLog{terms: map[string]int{}}
			e.AddObserver(log)
			run(t, e, tc.recs, true)
			if _, tracked := e.tracked[sketches.Hash(key)]; !tracked {
				t.Fatalf("%s not tracked: the test does not reach the bucket reports' choice", key)
			}
			if got := log.terms[key] > 0; got != tc.listed {
				t.Errorf("%s listed among the fastest-growing: %v, want %v (listed: %v)", key, got, tc.listed, log.terms)
			}
			if !tc.listed && log.terms["hashtag:"+spellings[0]] == 0 {
				t.Errorf("hashtag:%s not listed among the fastest-growing: %v", spellings[0], log.terms)
			}
		})
	}
}

// TestFamilySpellingFirstSeenBesideAnother: abusers tag one post with several
// spellings at once. A spelling first met beside another of its family is a
// second spelling all the same, so that when the two are later used apart
// and a surge is split between them, the family is tracked and pages.
func TestFamilySpellingFirstSeenBesideAnother(t *testing.T) {
	a, b := spellings[0], spellings[1]
	key := family.Prefix + family.Key(a)
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var recs posts
	post := recs.add
	const surgeAt = 60
	for m := range 70 {
		base := start.Add(time.Duration(m) * time.Minute)
		recs.steady(base)
		switch {
		case m == 0:
			post(base.Add(300*time.Millisecond), a, b) // b's first sighting
		case m < surgeAt && m%5 == 0:
			post(base.Add(300*time.Millisecond), a)
		case m < surgeAt && m%5 == 2:
			post(base.Add(300*time.Millisecond), b)
		case m >= surgeAt:
			for i := range 8 { // under every detector's support, for each spelling
				post(base.Add(time.Duration(2*i)*time.Second+300*time.Millisecond), a)
				post(base.Add(time.Duration(2*i+1)*time.Second+300*time.Millisecond), b)
			}
		}
	}
	sink := &memSink{}
	e := newTestEngine(t, sink)
	run(t, e, recs, true)
	onset := start.Add(surgeAt * time.Minute)
	var first *alert.Alert
	for _, ev := range sink.alerts {
		if ev.Alert.Term == key && ev.From == "" && first == nil {
			first = &ev.Alert
		}
	}
	if first == nil {
		t.Fatalf("no alert on %s, the surge split between #%s and #%s", key, a, b)
	}
	if d := first.Bucket.Sub(onset); d < 0 || d >= 2*time.Minute {
		t.Errorf("family paged on bucket %s, %s after onset; want within 2 buckets", first.Bucket.Format("15:04"), d)
	}
}

// TestWatchlistWatchesSpellings: a watchlist entry for a hashtag watches each
// of its spellings, not only their family, which is judged only when its
// bucket came by several: a variant that surges alone is a watched term,
// with the watchlist's bars and severity.
func TestWatchlistWatchesSpellings(t *testing.T) {
	dcfg := detectors.DefaultConfig()
	dcfg.Watchlist.Enabled = true
	dcfg.Watchlist.Entries = []detectors.WatchEntry{{Term: "hashtag:blackoutchallenge", Category: "dangerous_challenge"}}
	sink := &memSink{}
	e, err := New(DefaultConfig(), sketches.DefaultWindowConfig(), dcfg, []Sink{sink}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	variant := "bl4ckoutchallenge"
	var recs posts
	recs.surge(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), 1, 12, 4*time.Second, func(int) []string { return []string{variant} })
	run(t, e, recs, true)
	var watched bool
	for _, ev := range sink.alerts {
		if ev.Alert.Term == "hashtag:"+variant && ev.Alert.Watchlisted {
			watched = true
			if ev.Alert.Severity < alert.SeverityHigh || !strings.Contains(ev.Alert.Summary, "dangerous_challenge, another spelling of hashtag:blackoutchallenge") {
				t.Errorf("alert on the variant: severity %s, summary %q; want the watchlist's", ev.Alert.Severity, ev.Alert.Summary)
			}
		}
	}
	if !watched {
		var got []string
		for _, ev := range sink.alerts {
			got = append(got, ev.Alert.Summary)
		}
		t.Fatalf("no watchlisted alert on hashtag:%s; alerts: %q", variant, got)
	}
}

// TestFamilyForgottenSpellingRegistersAgain: a hashtag in use never looks its
// family up, so when the family's entry is pushed out of the tables (other
// families came and went), the hashtag must register again at its next
// mention: else a new spelling of the family, seen after, is taken for the
// first, and the family never becomes one that may be tracked. A family known
// under two spellings is kept before one known under one.
func TestFamilyForgottenSpellingRegistersAgain(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Families = 4 // one set in each table: a fifth family pushes one out
	e, err := New(cfg, sketches.DefaultWindowConfig(), detectors.DefaultConfig(), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var recs posts
	post := func(tags ...string) { recs.add(start.Add(time.Duration(len(recs))*time.Second), tags...) }
	a, b := spellings[0], spellings[1]
	post("dancechallenge", "dance_challenge") // a family known under two spellings
	post(a)
	for _, v := range []string{"cookingvideos", "travelstories", "footballhighlights", "makeuptutorial"} {
		post(v, a) // a in use all along, while four other families pass through
	}
	post(b)
	post(a)
	run(t, e, recs, true)
	if fam := sketches.Hash(family.Prefix + family.Key(a)); !e.families.Tracks(fam) {
		t.Errorf("#%s and #%s seen, but their family may not be tracked: #%s passed as known after its family was pushed out", a, b, a)
	}
	if fam := sketches.Hash(family.Prefix + family.Key("dancechallenge")); !e.families.Tracks(fam) {
		t.Error("the family known under two spellings was pushed out before those known under one")
	}
}

// TestFamilyBackAfterPushedOut: a family known under two spellings, pushed
// out of the families' tables by four others known under two (not tracked
// meanwhile), may be tracked again once two of its spellings are posted
// again, though both are known to the term-key cache, which answers for a
// spelling in use without asking the tables. Across a restart it is back
// as well: the snapshot keeps neither table of spellings, so each registers
// again.
func TestFamilyBackAfterPushedOut(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Families = 4 // one set in each table: a fifth family pushes one out
			newEngine := func() *Engine {
				e, err := New(cfg, sketches.DefaultWindowConfig(), detectors.DefaultConfig(), nil, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				return e
			}
			e := newEngine()
			start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
			var recs posts
			at := start
			post := func(tags ...string) { recs.add(at.Add(time.Duration(len(recs))*time.Second), tags...) }
			a, b := spellings[0], spellings[1]
			post(a, b)
			for _, v := range []string{"cookingvideos", "travelstories", "footballhighlights"} {
				post(v, v+"_")
			}
			post("makeuptutorial") // pushes out the least recently used: a's family
			run(t, e, recs, true)
			fam := sketches.Hash(family.Prefix + family.Key(a))
			if e.families.Tracks(fam) || !e.families.Gone(fam) {
				t.Fatal("the family was not pushed out: the test proves nothing")
			}
			if restart {
				snap, err := e.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				e = newEngine()
				if err := e.Restore(snap); err != nil {
					t.Fatal(err)
				}
			}
			n, at := len(recs), start.Add(10*time.Minute)
			post(a)
			post(b)
			run(t, e, recs[n:], true)
			if !e.families.Tracks(fam) {
				t.Errorf("#%s and #%s posted again after their family was pushed out, but it may not be tracked", a, b)
			}
		})
	}
}

// TestFamilyPagesEarly: a surge split over five spellings, none of them
// crossing its own bar, is the evasion families are for, and it pages early,
// by the deadline TestEarlyFiring sets a 10x surge on one hashtag beginning
// as a bucket does (in its second bucket: the surge detector waits for a
// second outlier), where it paged 4 minutes after onset at the close: a
// family is judged in an open bucket once the mentions so far are spread
// over its spellings. The final judgement confirms it.
func TestFamilyPagesEarly(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	key := family.Prefix + family.Key(spellings[0])
	const surgeAt = 60
	onset := start.Add(surgeAt * time.Minute)
	e, log := newEarlyEngine(t, detectors.DefaultConfig(), nil)
	run(t, e, splitSurge(start, 70, surgeAt, 8), true)
	evs, at := log.of(key)
	if len(evs) == 0 {
		t.Fatalf("no page on %s", key)
	}
	first := evs[0]
	t.Logf("%s paged %s after onset, early=%v: %s", first.Alert.Detector, at[0].Sub(onset), first.Alert.Early, first.Alert.Summary)
	if !first.Alert.Early || first.To != alert.StatusOpen {
		t.Errorf("first page %s early=%v, want an early open", first.To, first.Alert.Early)
	}
	if d := at[0].Sub(onset); d > 90*time.Second {
		t.Errorf("paged %s after onset, want within 90 s", d)
	}
	if !strings.Contains(first.Alert.Summary, "spellings: #") {
		t.Errorf("early page %q does not name the spellings", first.Alert.Summary)
	}
	for _, ev := range evs {
		if ev.Reason == alert.ReasonRetracted {
			t.Errorf("%s retracted at %s", ev.Alert.Key, ev.At)
		}
	}
}

// TestWatchedSpellingsFlood: made-up terms are free to post. Another spelling
// of a watched hashtag (an underscore anywhere is one) and a tag a glob entry
// matches are watched, but tracked at the tracking bar as any term is, not on
// first sight as a term an entry names: a flood of them cannot fill the
// tracked terms.
func TestWatchedSpellingsFlood(t *testing.T) {
	const tag = "blackoutchallenge"
	spelling := func(i int) string {
		// Underscores where the bits of i say: 2,000 spellings of one family.
		var b strings.Builder
		for j := range len(tag) {
			b.WriteByte(tag[j])
			if j < len(tag)-1 && i>>j&1 == 1 {
				b.WriteByte('_')
			}
		}
		return b.String()
	}
	for _, tc := range []struct {
		name  string
		entry string
		tag   func(i int) string
	}{
		{"spellings of a watched hashtag", "hashtag:" + tag, spelling},
		{"tags a glob matches", "hashtag:*challenge*", func(i int) string { return fmt.Sprintf("x%dchallenge", i) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dcfg := detectors.DefaultConfig()
			dcfg.Watchlist.Enabled = true
			dcfg.Watchlist.Entries = []detectors.WatchEntry{{Term: tc.entry, Category: "dangerous_challenge"}}
			e, err := New(DefaultConfig(), sketches.DefaultWindowConfig(), dcfg, nil, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
			var recs posts
			for i := range 2000 {
				recs.add(start.Add(time.Duration(i)*20*time.Millisecond), tc.tag(i))
			}
			run(t, e, recs, true)
			var hashtags int
			for _, st := range e.tracked {
				if st.Kind == event.KindHashtag {
					hashtags++
				}
			}
			if hashtags > 1 {
				t.Errorf("%d of 2,000 made-up tags tracked after one post each, want at most the entry's own", hashtags)
			}
		})
	}
}

// TestFamiliesFillBeforeForgetting: a set with room takes a new family without
// pushing one out, whatever the others are.
func TestFamiliesFillBeforeForgetting(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Families = 4 // one set
	e, err := New(cfg, sketches.DefaultWindowConfig(), detectors.DefaultConfig(), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var recs posts
	recs.add(start, "dancechallenge", "dance_challenge") // two spellings
	recs.add(start.Add(time.Second), "cookingvideos")    // one
	recs.add(start.Add(2*time.Second), "travelstories")  // one, with a slot still free
	run(t, e, recs, true)
	if n := e.families.Len(); n != 3 {
		t.Errorf("%d families in a set of 4 after 3 came, want 3", n)
	}
}

// TestFamilyOfCoTaggedSpellings: two spellings tagged together on every post,
// in either order, are each the family: it is not judged (each hashtag's own
// alert says it all), however the posts order them.
func TestFamilyOfCoTaggedSpellings(t *testing.T) {
	a, b := spellings[0], spellings[1]
	key := family.Prefix + family.Key(a)
	var recs posts
	recs.surge(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), 2, 40, time.Second, func(i int) []string {
		if i%2 == 1 {
			return []string{b, a}
		}
		return []string{a, b}
	})
	sink := &memSink{}
	e := newTestEngine(t, sink)
	run(t, e, recs, true)
	if st := e.trackedTerm(key); st == nil {
		t.Fatalf("%s not tracked: the test does not reach the family's judgement", key)
	}
	var hashtag bool
	for _, ev := range sink.alerts {
		switch ev.Alert.Term {
		case "hashtag:" + a:
			hashtag = true
		case key:
			t.Errorf("family of co-tagged spellings paged: %s", ev.Alert.Summary)
		}
	}
	if !hashtag {
		t.Error("no alert on the surging hashtag")
	}
}

// TestFamilySecondSpellingMetOddly: a family's second spelling first reaches
// the engine in a way other than alone on a post, then posts carry both
// spellings. The family is tracked under its own term:
//   - beside another hashtag new to the engine: the engine looks up every tag
//     of a post before it notes any, and the families' table once made the
//     family's term from the last one looked up;
//   - on a report: a report's hashtag is looked up, not noted as seen; once it
//     was entered as seen, and the posts' use of it passed for known.
func TestFamilySecondSpellingMetOddly(t *testing.T) {
	a, b := spellings[0], spellings[1]
	key := family.Prefix + family.Key(a)
	const other = "weekendvibesxyz"
	tests := []struct {
		name string
		// first adds what carries b first, in the minute from base.
		first func(recs *posts, base time.Time)
	}{
		{"beside another new tag", func(recs *posts, base time.Time) {
			recs.add(base.Add(300*time.Millisecond), b, other)
		}},
		{"on a report", func(recs *posts, base time.Time) {
			id := len(*recs)
			*recs = append(*recs, ingest.Record{
				Source: ingest.Source{Topic: "report-events", Offset: int64(id)}, Kind: ingest.KindReport,
				Report: event.Report{EventID: fmt.Sprint("r", id), TS: base.Add(300 * time.Millisecond), ContentID: "c0",
					ReporterID: "x", Reason: "dangerous", Hashtags: []string{b}},
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
			var recs posts
			for m := range 6 {
				base := start.Add(time.Duration(m) * time.Minute)
				recs.steady(base)
				switch m {
				case 0:
					recs.add(base.Add(300*time.Millisecond), a)
				case 1:
					tt.first(&recs, base)
				default: // enough for the family to be tracked
					for i := range 10 {
						recs.add(base.Add(time.Duration(2*i)*time.Second+300*time.Millisecond), a)
						recs.add(base.Add(time.Duration(2*i+1)*time.Second+300*time.Millisecond), b)
					}
				}
			}
			sink := &memSink{}
			e := newTestEngine(t, sink)
			run(t, e, recs, true)
			got := map[string]uint64{}
			for _, r := range sink.rows {
				if strings.HasPrefix(r.Term, family.Prefix) {
					got[r.Term] += r.Mentions
				}
			}
			if got[key] == 0 {
				t.Errorf("no rows of %s; family rows: %v", key, got)
			}
			if wrong := family.Prefix + family.Key(other); got[wrong] != 0 {
				t.Errorf("the family's mentions went to %s, the other tag's term: %v", wrong, got)
			}
		})
	}
}

// TestFamilyTransitionsNameSpellings: every transition of a family's alert,
// its resolve included, names the spellings of the bucket whose evidence it
// carries. The resolve came from the lifecycle's own copy of the alert, to
// which only the transitions' copies had the spellings added.
func TestFamilyTransitionsNameSpellings(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	key := family.Prefix + family.Key(spellings[0])
	var recs []ingest.Record
	for _, r := range splitSurge(start, 90, 60, 8) {
		if len(r.Content.Hashtags) > 0 && slices.Contains(spellings, r.Content.Hashtags[0]) && !r.Content.TS.Before(start.Add(63*time.Minute)) {
			continue // the surge lasts three minutes, and its alert resolves
		}
		recs = append(recs, r)
	}
	for i := range recs {
		recs[i].Source.Offset = int64(i)
	}
	e, log := newEarlyEngine(t, detectors.DefaultConfig(), nil)
	e.Expect([]ingest.Partition{{Topic: recs[0].Source.Topic, Partition: recs[0].Source.Partition}})
	run(t, e, recs, true)
	evs, _ := log.of(key)
	resolved := false
	for _, ev := range evs {
		resolved = resolved || ev.To == alert.StatusResolved
		if !strings.Contains(ev.Alert.Summary, "spellings: #") || strings.Count(ev.Alert.Summary, "spellings:") != 1 ||
			strings.Count(ev.Alert.Explanation, "members=") != 1 {
			t.Errorf("%s of %s names its spellings other than once: %q / %q", ev.To, ev.Alert.Key, ev.Alert.Summary, ev.Alert.Explanation)
		}
	}
	if !resolved {
		t.Fatalf("%s: %d transitions and no resolve: the test tests nothing", key, len(evs))
	}
}
