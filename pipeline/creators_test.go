package pipeline

import (
	"bytes"
	"context"
	"encoding/gob"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/sketches"
)

// recordingSet passes observations on to the real detectors and keeps a copy
// of each: the engine reuses the histories' buffer at the next close.
type recordingSet struct {
	detectorSet
	obs map[string]map[time.Time]detectors.Observation // term → bucket → what the detectors saw
}

func (r *recordingSet) Evaluate(o *detectors.Observation) []detectors.Finding {
	c := *o
	c.MentionHistory = slices.Clone(o.MentionHistory)
	c.ReportHistory = slices.Clone(o.ReportHistory)
	c.CreatorHistory = slices.Clone(o.CreatorHistory)
	if r.obs[o.Term] == nil {
		r.obs[o.Term] = map[time.Time]detectors.Observation{}
	}
	r.obs[o.Term][o.Bucket] = c
	return r.detectorSet.Evaluate(o)
}

// newRecordingEngine is an engine with the default configuration and
// hashtag:steady0 on the watchlist, so tracked from the start.
func newRecordingEngine(t *testing.T) (*Engine, *recordingSet) {
	t.Helper()
	dcfg := detectors.DefaultConfig()
	dcfg.Watchlist.Terms = []string{"hashtag:steady0"}
	e, err := New(DefaultConfig(), sketches.DefaultWindowConfig(), dcfg, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingSet{detectorSet: e.set, obs: map[string]map[time.Time]detectors.Observation{}}
	useDetectors(e, rec)
	return e, rec
}

// useDetectors makes s the detectors e counts and judges with.
func useDetectors(e *Engine, s detectorSet) {
	first, applied := e.count.First(), e.count.MaxApplied()
	e.set = s
	e.count = e.newCounter()
	e.count.SetTimes(first, applied)
	e.judge = e.newJudge()
}

func process(t *testing.T, e *Engine, recs []ingest.Record) {
	t.Helper()
	for _, r := range recs {
		if err := e.Process(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCreatorsReachDetectors checks that every observation carries the term's
// unique creators per history bucket, aligned with MentionHistory, and marks
// the bucket in which the term began being tracked as partial. Each steady
// term has 10 mentions a minute, each by a new creator; an unwatched one
// reaches pipeline.track_min at its 5th mention of minute 0, is held at the
// tracking door then and tracked at its 6th, so that bucket's creators are
// an undercount (5) and its history entry unknown (0).
func TestCreatorsReachDetectors(t *testing.T) {
	f := &feed{start: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), minutes: 8, surgeAt: 4}
	e, rec := newRecordingEngine(t)
	process(t, e, f.records())
	if err := e.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	minute := func(m int) time.Time { return f.start.Add(time.Duration(m) * time.Minute) }
	tests := []struct {
		name        string
		term        string
		minute      int
		partial     bool
		creators    uint64
		creatorHist []float64
	}{
		{"watched: tracked before its first event", "hashtag:steady0", 0, false, 10, []float64{}},
		{"watched: whole buckets in history", "hashtag:steady0", 3, false, 10, []float64{10, 10, 10}},
		{"first bucket is partial", "hashtag:steady1", 0, true, 5, []float64{}},
		{"partial bucket unknown in history", "hashtag:steady1", 1, false, 10, []float64{0}},
		{"whole buckets after it", "hashtag:steady1", 3, false, 10, []float64{0, 10, 10}},
		// Before it was tracked only the count-min knew the term: creators unknown.
		{"surge tracked mid-bucket", "hashtag:surgingtag", 4, true, 55, []float64{0, 0, 0, 0}},
		{"surge's next bucket", "hashtag:surgingtag", 5, false, 60, []float64{0, 0, 0, 0, 0}},
		{"surge's history fills", "hashtag:surgingtag", 7, false, 60, []float64{0, 0, 0, 0, 0, 60, 60}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, ok := rec.obs[tt.term][minute(tt.minute)]
			if !ok {
				t.Fatalf("%s not observed at minute %d", tt.term, tt.minute)
			}
			if o.PartialCreators != tt.partial {
				t.Errorf("PartialCreators %v, want %v", o.PartialCreators, tt.partial)
			}
			if o.UniqueCreators != tt.creators {
				t.Errorf("UniqueCreators %d, want %d", o.UniqueCreators, tt.creators)
			}
			if !slices.Equal(o.CreatorHistory, tt.creatorHist) {
				t.Errorf("CreatorHistory %v, want %v", o.CreatorHistory, tt.creatorHist)
			}
			if len(o.CreatorHistory) != len(o.MentionHistory) {
				t.Errorf("CreatorHistory has %d buckets, MentionHistory %d", len(o.CreatorHistory), len(o.MentionHistory))
			}
		})
	}
}

// TestCreatorHistoryRestored checks that the creator history survives a
// checkpoint, and that a checkpoint written before it was kept restores with
// the creators unknown rather than being refused or misread.
func TestCreatorHistoryRestored(t *testing.T) {
	f := &feed{start: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), minutes: 12, surgeAt: 99}
	recs := f.records()
	whole, wholeRec := newRecordingEngine(t)
	process(t, whole, recs)
	if err := whole.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}

	a, _ := newRecordingEngine(t)
	process(t, a, recs[:len(recs)/2])
	// Close what the first half holds, so the snapshot has history to keep.
	if err := a.endHold(context.Background(), time.Now(), true); err != nil {
		t.Fatal(err)
	}
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var s snapshot
	if err := decodeInto(snap, &s); err != nil {
		t.Fatal(err)
	}
	for i := range s.Terms {
		s.Terms[i].Creators = nil
	}
	var old bytes.Buffer
	if err := gob.NewEncoder(&old).Encode(&s); err != nil {
		t.Fatal(err)
	}

	last := f.start.Add(time.Duration(f.minutes-1) * time.Minute)
	closed := int(s.LastClosed.Sub(f.start)/time.Minute) + 1
	if s.LastClosed.IsZero() || closed >= f.minutes-1 {
		t.Fatalf("the snapshot closed %d buckets of %d; want some before and some after it", closed, f.minutes)
	}
	tests := []struct {
		name  string
		snap  []byte
		known bool // whether the creators before the restore are known
	}{
		{"current checkpoint", snap, true},
		{"checkpoint without creators", old.Bytes(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, rec := newRecordingEngine(t)
			if err := b.Restore(tt.snap); err != nil {
				t.Fatal(err)
			}
			process(t, b, recs)
			if err := b.Drain(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, term := range []string{"hashtag:steady0", "hashtag:steady1"} {
				want := wholeRec.obs[term][last].CreatorHistory
				got := rec.obs[term][last].CreatorHistory
				if len(want) == 0 || len(got) != len(want) {
					t.Fatalf("%s: creator history %v after restore, %v without one", term, got, want)
				}
				if tt.known {
					if !slices.Equal(got, want) {
						t.Errorf("%s: creator history %v after restore, want %v", term, got, want)
					}
					continue
				}
				// History starts at minute 0: buckets closed before the restore
				// are unknown, later ones counted.
				for m, c := range got {
					if w := want[m]; m < closed && c != 0 || m >= closed && c != w {
						t.Errorf("%s: creator history %v after an old checkpoint, want the %d buckets before it unknown, then as %v",
							term, got, closed, want)
						break
					}
				}
			}
		})
	}
}

// TestCoordinationJudgedByTermNorm runs a term that a few accounts always carry
// (20 mentions a minute by 2 creators for 40 minutes) into a surge, through
// the engine: a surge at its usual mentions per creator is not a coordinated
// push, which the platform's norm alone (1 per creator here) would call it;
// one far above its own norm is.
func TestCoordinationJudgedByTermNorm(t *testing.T) {
	tests := []struct {
		name          string
		surgeCreators int // creators of the 100 mentions a minute of the surge
		coordinated   bool
	}{
		{"surge at the term's own norm", 10, false},
		{"surge by fewer accounts than ever", 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &memSink{}
			e := newTestEngine(t, sink)
			start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
			var recs []ingest.Record
			content := func(ts time.Time, creator, tag string) {
				id := fmt.Sprint("c", len(recs))
				recs = append(recs, ingest.Record{
					Source: ingest.Source{Topic: "content-events", Offset: int64(len(recs))},
					Kind:   ingest.KindContent,
					Content: event.Content{EventID: "e" + id, TS: ts, ContentID: id, CreatorID: creator,
						Region: "NP", Lang: "ne", Hashtags: []string{tag}},
				})
			}
			const minutes, surgeAt = 45, 40
			for m := range minutes {
				mentions, creators := 20, 2
				if m >= surgeAt {
					mentions, creators = 100, tt.surgeCreators
				}
				for i := range 120 {
					ts := start.Add(time.Duration(m)*time.Minute + time.Duration(i)*500*time.Millisecond)
					content(ts, fmt.Sprint("u", m, "-", i), fmt.Sprint("steady", i%12))
					if i < mentions {
						content(ts.Add(time.Millisecond), fmt.Sprint("few", i%creators), "fewhands")
					}
				}
			}
			process(t, e, recs)
			if err := e.Drain(context.Background()); err != nil {
				t.Fatal(err)
			}
			var surged, coordinated bool
			for _, ev := range sink.alerts {
				if ev.Alert.Term != "hashtag:fewhands" || ev.From != "" {
					continue
				}
				if ev.At.Before(start.Add(surgeAt * time.Minute)) {
					t.Errorf("alert before the surge: %s", ev.Alert.Summary)
				}
				surged = surged || ev.Alert.Detector == detectors.NameSurge
				coordinated = coordinated || ev.Alert.Detector == detectors.NameCoordination
			}
			// Two accounts are too few for a surge (surge.min_creators): such
			// a burst is coordination's alone.
			if wantSurge := uint64(tt.surgeCreators) >= detectors.DefaultConfig().Surge.MinCreators; surged != wantSurge {
				t.Errorf("surge alert %v, want %v", surged, wantSurge)
			}
			if coordinated != tt.coordinated {
				t.Errorf("coordination alert %v, want %v", coordinated, tt.coordinated)
			}
		})
	}
}

// TestObservationsKnowYesterday checks the day-ago levels the engine hands
// the detectors: DayAgo, the term's mean mentions per bucket in the hour
// around this bucket's time yesterday, and LearnDayAgo, the same for the
// bucket Set.Learn folds into the term's tail (Set.LearnLag buckets back),
// both read from the count-min rings. The watched term is posted at a rate
// that changes every hour (2 to 6 a minute), so the two differ, and both are
// NaN until the engine has seen a day and a half-hour.
// minutePosts is minutes of posts of #steady0 from start, perMinute(m) of
// them in minute m, each by its own creator, spread over the minute's first
// half.
func minutePosts(start time.Time, minutes int, perMinute func(m int) int) []ingest.Record {
	var recs []ingest.Record
	for m := range minutes {
		k := perMinute(m)
		for i := range k {
			n := len(recs)
			recs = append(recs, ingest.Record{
				Source: ingest.Source{Topic: "content-events", Offset: int64(n)},
				Kind:   ingest.KindContent,
				Content: event.Content{EventID: fmt.Sprint("e", n), ContentID: fmt.Sprint("c", n), CreatorID: fmt.Sprint("u", n),
					TS: start.Add(time.Duration(m)*time.Minute + time.Duration(i)*30*time.Second/time.Duration(k)), Hashtags: []string{"steady0"}},
			})
		}
	}
	return recs
}

func TestObservationsKnowYesterday(t *testing.T) {
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	perMinute := func(m int) int { return 2 + m/60%5 }
	recs := minutePosts(start, 26*60, perMinute)
	e, rec := newRecordingEngine(t)
	process(t, e, recs)
	if err := e.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	// meanAround is the mean of perMinute over the hour around minute m, a
	// day earlier.
	meanAround := func(m int) float64 {
		from := m - 24*60 - 30
		if from < 0 {
			return math.NaN()
		}
		sum := 0
		for k := from; k < from+60; k++ {
			sum += perMinute(k)
		}
		return float64(sum) / 60
	}
	lag := e.set.LearnLag()
	same := func(got, want float64) bool {
		return math.IsNaN(got) && math.IsNaN(want) || math.Abs(got-want) < 1e-9
	}
	for _, m := range []int{20 * 60, 24*60 + 29, 24*60 + 30 + lag - 1, 24*60 + 30 + lag, 25*60 + 5, 25*60 + 40} {
		o, ok := rec.obs["hashtag:steady0"][start.Add(time.Duration(m)*time.Minute)]
		if !ok {
			t.Fatalf("minute %d: no observation of hashtag:steady0", m)
		}
		if want := meanAround(m); !same(o.DayAgo, want) {
			t.Errorf("minute %d: DayAgo %v, want %v", m, o.DayAgo, want)
		}
		if want := meanAround(m - lag); !same(o.LearnDayAgo, want) {
			t.Errorf("minute %d: LearnDayAgo %v, want %v (the bucket %d back)", m, o.LearnDayAgo, want, lag)
		}
	}
}

// TestObservationsForgetYesterdaysSurge: a surge the engine paged on is left
// out of the next day's day-ago level at its hour (detectors.SurgeMemory), so a
// comeback is judged against an ordinary hour; the hour's raw count would
// hold it.
func TestObservationsForgetYesterdaysSurge(t *testing.T) {
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	const level, surge, surgeFrom, surgeLen = 10, 100, 60, 20
	perMinute := func(m int) int {
		if m >= surgeFrom && m < surgeFrom+surgeLen {
			return surge
		}
		return level
	}
	recs := minutePosts(start, 25*60+30, perMinute)
	e, rec := newRecordingEngine(t)
	process(t, e, recs)
	if err := e.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	mem := e.surges.Buckets(sketches.Hash("hashtag:steady0"))
	if len(mem) < surgeLen/2 {
		t.Fatalf("surges remembered of hashtag:steady0: %+v, want most of its %d surging buckets", mem, surgeLen)
	}
	// The hour around the surge's middle, a day later. Its raw count holds
	// the surge (the window pro-rates it from hourly buckets by then); the
	// buckets the surge paged on are left out, as the window takes them in,
	// so what is left is the level and at most the surge's first bucket,
	// a lone outlier the surge does not page on.
	at := start.Add((24*60 + surgeFrom + surgeLen/2) * time.Minute)
	o, ok := rec.obs["hashtag:steady0"][at]
	if !ok {
		t.Fatal("no observation of hashtag:steady0 the next day")
	}
	from := at.Add(-24*time.Hour - 30*time.Minute)
	raw, _, err := e.window.Count(sketches.Hash("hashtag:steady0"), from, from.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	lone := float64(surge-level) / 60
	if o.DayAgo < level-0.5 || o.DayAgo > level+lone+0.5 {
		t.Errorf("DayAgo the next day at the surge's hour %.2f, want %d to %.2f (the level, and the surge's first bucket at most); the hour's raw mean is %.2f",
			o.DayAgo, level, level+lone, float64(raw)/60)
	}
	if float64(raw)/60 < level+5 {
		t.Errorf("the hour's raw mean %.2f: the surge is not in it, the test tests nothing", float64(raw)/60)
	}
}
