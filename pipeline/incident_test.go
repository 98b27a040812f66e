package pipeline

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/family"
	"github.com/trendwatch/trendwatch/sketches"
)

// TestIncidentHash: a hashtag's shard is its family's, so that one shard
// judges, writes and pages a challenge under every spelling; the hash made
// from the key alone is the one the families' tables give while counting.
func TestIncidentHash(t *testing.T) {
	e := newTestEngine(t)
	off := DefaultConfig()
	off.Families = 0
	eOff, err := New(off, sketches.DefaultWindowConfig(), detectors.DefaultConfig(), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	fam := sketches.Hash(family.Prefix + family.Key(spellings[0]))
	tests := []struct {
		name string
		e    *Engine
		key  string
		want uint64 // 0: the term's own hash
	}{
		{"a spelling", e, "hashtag:" + spellings[0], fam},
		{"another spelling", e, "hashtag:" + spellings[2], fam},
		{"the Devanagari spelling", e, "hashtag:" + spellings[4], fam},
		{"the family itself", e, family.Prefix + family.Key(spellings[0]), fam},
		{"a short tag is its own family", e, "hashtag:fyp", 0},
		{"a sound has no family", e, "sound:blackoutchallenge", 0},
		{"families off", eOff, "hashtag:" + spellings[0], 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sketches.Hash(tc.key)
			want := tc.want
			if want == 0 {
				want = h
			}
			if got := tc.e.count.IncidentHash(tc.key, h); got != want {
				t.Errorf("IncidentHash(%q) = %x, want %x", tc.key, got, want)
			}
			if v, ok := strings.CutPrefix(tc.key, "hashtag:"); ok && tc.e.families.On() && !family.ShortASCII(v) {
				if got, _ := tc.e.count.HashtagFamily(h, v); got != want {
					t.Errorf("the families' tables give %x for %q, IncidentHash %x", got, tc.key, want)
				}
			}
		})
	}
}

// TestSpellingJoinsIncident: the watched challenge surges under its Latin
// spelling while its Devanagari spelling rises threefold, short of the
// watchlist's page bar. With the Latin spelling alerting, the Devanagari one
// pages in the rise's first bucket as part of the incident, saying so, and
// nothing is retracted; the same rise with the Latin spelling calm pages only
// once its own evidence clears the page bar, buckets later.
func TestSpellingJoinsIncident(t *testing.T) {
	latin, deva := spellings[0], spellings[4]
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	stream := func(latinSurges bool) posts {
		rng := rand.New(rand.NewPCG(7, 9))
		var recs posts
		for m := range 70 {
			base := start.Add(time.Duration(m) * time.Minute)
			recs.steady(base)
			nl, nd := 6, 2
			if m >= 60 {
				nd = 6
				if latinSurges {
					nl = 60
				}
			}
			// A little noise, so the terms' dispersion is that of real counts.
			nl += rng.IntN(3) - 1
			for i := range nl {
				recs.add(base.Add(time.Duration(i)*time.Minute/time.Duration(nl)+100*time.Millisecond), latin)
			}
			for i := range nd {
				recs.add(base.Add(time.Duration(i)*time.Minute/time.Duration(nd)+200*time.Millisecond), deva)
			}
		}
		return recs
	}
	dcfg := detectors.DefaultConfig()
	dcfg.Watchlist.Entries = []detectors.WatchEntry{{Term: "hashtag:" + latin, Category: "dangerous_challenge"}}
	onset := start.Add(60 * time.Minute)
	for _, tc := range []struct {
		name        string
		latinSurges bool
		// within is how soon after the onset the Devanagari spelling
		// must first page, or (late) how soon it must not.
		within time.Duration
		late   bool
	}{
		{"with the Latin spelling surging", true, 0, false},
		{"alone", false, 2 * time.Minute, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, log := newEarlyEngine(t, dcfg, nil)
			run(t, e, stream(tc.latinSurges), true)
			var first *alert.Event
			for i, ev := range log.evs {
				if ev.Reason == alert.ReasonRetracted {
					t.Errorf("%s retracted at %s", ev.Alert.Key, ev.At)
				}
				if ev.Alert.Term == "hashtag:"+deva && ev.To == alert.StatusOpen && first == nil {
					first = &log.evs[i]
				}
			}
			if tc.latinSurges {
				if evs, _ := log.of("hashtag:" + latin); len(evs) == 0 {
					t.Fatalf("the Latin spelling's surge did not page: the test does not reach the rule")
				}
			}
			if first == nil {
				if !tc.late {
					t.Fatalf("%s never paged", deva)
				}
				return
			}
			t.Logf("%s %s at %s: %s | %s", first.Alert.Detector, first.To, first.At.Format("15:04"), first.Alert.Summary, first.Alert.Explanation)
			switch d := first.At.Sub(onset); {
			case d < 0:
				t.Errorf("paged before the rise, at %s", first.At)
			case !tc.late && d > tc.within:
				t.Errorf("paged %s after the rise's onset, want within %s", d, tc.within)
			case tc.late && d < tc.within:
				t.Errorf("paged %s after the rise's onset alone, want not within %s", d, tc.within)
			}
			if opened := strings.Contains(first.Alert.Explanation, "incident_open=1"); opened != tc.latinSurges {
				t.Errorf("explanation says incident_open %v, want %v: %s", opened, tc.latinSurges, first.Alert.Explanation)
			}
		})
	}
}

// TestRestoreDropsDisownedTerms: a shard's checkpoint from before a hashtag
// went to its family's shard may track a spelling another shard owns now; the
// restore leaves it to that shard and keeps the rest.
func TestRestoreDropsDisownedTerms(t *testing.T) {
	const shards = 2
	owner := func(key string) int { return int(sketches.Hash(family.OfTerm(key)) % shards) }
	// A spelling whose term hash and family hash fall in different shards:
	// a term the old rule gave one shard and the new rule the other.
	var key string
	for i := range 100 {
		k := fmt.Sprintf("hashtag:longchallengename%d", i)
		if owner(k) != int(sketches.Hash(k)%shards) {
			key = k
			break
		}
	}
	if key == "" {
		t.Fatal("no spelling whose term and family shards differ among 100")
	}
	old := int(sketches.Hash(key) % shards)
	cfg := DefaultConfig()
	cfg.Shard, cfg.Shards = old, shards
	a, err := New(cfg, sketches.DefaultWindowConfig(), detectors.DefaultConfig(), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// As the old rule did: the shard of the term's own hash tracks it.
	a.count.Track(key, sketches.Hash(key), nil, time.Time{})
	// And a sound of this shard, which has no family and stays.
	var kept string
	for i := 0; kept == ""; i++ {
		if k := fmt.Sprintf("sound:kept%d", i); int(sketches.Hash(k)%shards) == old {
			kept = k
		}
	}
	a.count.Track(kept, sketches.Hash(kept), nil, time.Time{})
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(cfg, sketches.DefaultWindowConfig(), detectors.DefaultConfig(), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if b.trackedTerm(key) != nil {
		t.Errorf("%s restored in shard %d, but its family is shard %d's", key, old, owner(key))
	}
	if b.trackedTerm(kept) == nil {
		t.Errorf("%s, this shard's, was not restored", kept)
	}
}
