package count

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/family"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline/admission"
	"github.com/trendwatch/trendwatch/pipeline/families"
	"github.com/trendwatch/trendwatch/pipeline/join"
	"github.com/trendwatch/trendwatch/pipeline/looks"
	"github.com/trendwatch/trendwatch/pipeline/platform"
	"github.com/trendwatch/trendwatch/pipeline/termkey"
	"github.com/trendwatch/trendwatch/pipeline/tracked"
	"github.com/trendwatch/trendwatch/sketches"
)

var t0 = time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)

// desk is the watchlist and the trusted report channels a test counts
// against: the real detectors' answers, given by hand.
type desk struct{ watched map[string]bool }

func (d desk) Watch(term string) *detectors.WatchMatch {
	if d.watched[term] {
		return &detectors.WatchMatch{Pattern: term}
	}
	return nil
}

func (desk) HighTrustChannel(c event.Channel) bool { return c == event.ChannelRegulator }

// owner is what the families' table asks, over the test's tracked terms.
type owner struct{ c **Counter }

func (o owner) Tracked(fam uint64) bool { return (*o.c).tracked[fam] != nil }
func (owner) Watching() bool            { return false }
func (owner) Watched([]byte) bool       { return false }
func (o owner) Forgot(h uint64)         { (*o.c).termKeys.ForgetFamily(h) }

// bench is a counter over fresh tables, and the tables.
type bench struct {
	*Counter
	parts Parts
	fams  families.Table
	pool  tracked.Pool
	sound string // the sound of every post; none when empty
}

func newBench(t *testing.T, cfg Config, d desk, familyEntries int) *bench {
	t.Helper()
	w, err := sketches.NewWindow(sketches.DefaultWindowConfig())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Bucket = time.Minute
	if cfg.History == 0 {
		cfg.History = 60
	}
	if cfg.MaxTracked == 0 {
		cfg.MaxTracked = 100
	}
	if cfg.TrackMin == 0 {
		cfg.TrackMin = 3
	}
	if cfg.TrackMinReports == 0 {
		cfg.TrackMinReports = 3
	}
	b := &bench{}
	b.fams = families.New(familyEntries, owner{&b.Counter})
	b.parts = Parts{
		Window: w, Tracked: map[uint64]*tracked.Term{}, Pool: &b.pool, Families: &b.fams,
		TermKeys: termkey.New(), Join: join.New(1000, 1<<20), Door: admission.New(64),
		Platform: platform.New(), Looks: looks.New(detectors.DefaultConfig()),
	}
	m := Metrics{}
	for _, c := range []*prometheus.Counter{&m.Late, &m.Unattributed, &m.JoinEvicted, &m.DoorHeld, &m.DoorLost} {
		*c = prometheus.NewCounter(prometheus.CounterOpts{Name: "c"})
	}
	b.Counter = New(cfg, b.parts, d, m, slog.New(slog.DiscardHandler))
	return b
}

func (b *bench) post(id string, at time.Duration, hashtags ...string) {
	rec := ingest.Record{Kind: ingest.KindContent, Content: event.Content{
		EventID: "e-" + id, TS: t0.Add(at), ContentID: id, CreatorID: "u-" + id, Region: "NP", Lang: "ne", Hashtags: hashtags, SoundID: b.sound,
	}}
	rec.Hash()
	b.Apply(&rec)
}

func (b *bench) report(id, content string, ch event.Channel, hashtags ...string) {
	rec := ingest.Record{Kind: ingest.KindReport, Report: event.Report{
		EventID: "r-" + id, TS: t0.Add(30 * time.Second), ContentID: content, ReporterID: "rep-" + id, Reason: "dangerous", Hashtags: hashtags, Channel: ch.String(),
	}}
	rec.Hash()
	b.Apply(&rec)
}

// mentions and reports are the window's counts of key in the bucket at t0.
func (b *bench) mentions(key string) uint32 {
	return b.parts.Window.Open(t0).Mentions.Estimate(sketches.Hash(key))
}

func (b *bench) reports(key string) uint32 {
	return b.parts.Window.Open(t0).Reports.Estimate(sketches.Hash(key))
}

// open is key's tracked open bucket at t0; nil when it is not tracked.
func (b *bench) open(key string) *tracked.Bucket {
	st := b.parts.Tracked[sketches.Hash(key)]
	if st == nil {
		return nil
	}
	return st.At(t0)
}

// TestTracking: which terms counting starts to track, and when. Every term
// is counted in the window whatever happens to it.
func TestTracking(t *testing.T) {
	// otherShard is a hashtag of shard 1 of 2: its own hash is its incident.
	var otherShard string
	for i := 0; otherShard == ""; i++ {
		if v := fmt.Sprint("t", i); sketches.Hash("hashtag:"+v)%2 == 1 {
			otherShard = v
		}
	}
	for _, tt := range []struct {
		name    string
		cfg     Config
		watched []string
		posts   []string // a post each, with this hashtag
		want    map[string]uint64
		held    float64 // terms held at the door
	}{
		// The third mention reaches the bar (3) and is remembered at the
		// door; the fourth is its second sighting, from which it is counted.
		{name: "at the bar, from the door's second sighting", posts: []string{"dance", "dance", "dance"}, want: map[string]uint64{"hashtag:dance": 0}, held: 1},
		{name: "the mention after", posts: []string{"dance", "dance", "dance", "dance"}, want: map[string]uint64{"hashtag:dance": 1}, held: 1},
		{name: "a named watched term from its first mention", watched: []string{"hashtag:blackout"}, posts: []string{"blackout"}, want: map[string]uint64{"hashtag:blackout": 1}},
		{name: "another shard's term is counted, not tracked", cfg: Config{Shard: Shard{I: 0, N: 2}}, posts: []string{otherShard, otherShard, otherShard, otherShard, otherShard}, want: map[string]uint64{"hashtag:" + otherShard: 0}, held: 0},
		{name: "no room beyond max_tracked", cfg: Config{MaxTracked: 1}, watched: []string{"hashtag:aaaaa", "hashtag:bbbbb"}, posts: []string{"aaaaa", "bbbbb", "bbbbb"}, want: map[string]uint64{"hashtag:aaaaa": 1, "hashtag:bbbbb": 0}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := desk{watched: map[string]bool{}}
			for _, w := range tt.watched {
				d.watched[w] = true
			}
			b := newBench(t, tt.cfg, d, 0)
			for i, h := range tt.posts {
				b.post(fmt.Sprint("c", i), time.Duration(i)*time.Second, h)
			}
			for key, want := range tt.want {
				var n uint32
				for _, h := range tt.posts {
					if "hashtag:"+h == key {
						n++
					}
				}
				if got := b.mentions(key); got != n {
					t.Errorf("%s: window counts %d, want %d", key, got, n)
				}
				tb := b.open(key)
				switch {
				case want == 0 && tb != nil:
					t.Errorf("%s: tracked with %d mentions, want not tracked", key, tb.Mentions)
				case want > 0 && tb == nil:
					t.Errorf("%s: not tracked, want %d mentions in its open bucket", key, want)
				case want > 0 && uint64(tb.Mentions) != want:
					t.Errorf("%s: %d mentions in its open bucket, want %d", key, tb.Mentions, want)
				}
			}
			if got := testutil.ToFloat64(b.m.DoorHeld); got != tt.held {
				t.Errorf("%v held at the door, want %v", got, tt.held)
			}
		})
	}
}

// TestOpenBucket: a tracked term's open bucket holds what its posts said.
func TestOpenBucket(t *testing.T) {
	b := newBench(t, Config{Samples: 2}, desk{watched: map[string]bool{"hashtag:blackout": true}}, 0)
	b.sound = "s1"
	for i := range 5 {
		b.post(fmt.Sprint("c", i), time.Duration(i)*time.Second, "blackout")
	}
	tb := b.open("hashtag:blackout")
	if tb == nil {
		t.Fatal("watched term not tracked")
	}
	if tb.Mentions != 5 || tb.Creators.Estimate() != 5 || len(tb.Samples) != 2 {
		t.Errorf("open bucket: %d mentions, %d creators, samples %v; want 5, 5 and two", tb.Mentions, tb.Creators.Estimate(), tb.Samples)
	}
	if top := tb.Regions.Top(1); len(top) != 1 || top[0].Label != "NP" || top[0].N != 5 {
		t.Errorf("regions %v, want NP 5", top)
	}
	if got := b.parts.Platform.Open(b.parts.Window.Open(t0)); got.Events != 5 || got.Mentions != 10 {
		t.Errorf("platform %+v, want 5 posts and 10 mentions (a hashtag and a sound each)", got)
	}
	if b.First() != t0 || b.MaxApplied() != t0.Add(4*time.Second) {
		t.Errorf("first %s, max applied %s", b.First(), b.MaxApplied())
	}
}

// TestReports: a report counts against its post's terms, from the join
// cache, or against the hashtags it carries (and the post's sound still); a
// report on a post not in the cache without hashtags counts against none;
// one from a high-trust channel tracks its terms at once.
func TestReports(t *testing.T) {
	for _, tt := range []struct {
		name         string
		content      string
		channel      event.Channel
		hashtags     []string
		want         map[string]uint32 // the window's reports
		unattributed float64
		trackedNow   string
	}{
		{name: "through the post's terms", content: "c1", want: map[string]uint32{"hashtag:dance": 1, "sound:s1": 1, "hashtag:other": 0}},
		{name: "its own hashtags win, the sound stays", content: "c1", hashtags: []string{"other"}, want: map[string]uint32{"hashtag:dance": 0, "sound:s1": 1, "hashtag:other": 1}},
		{name: "a post not in the cache", content: "nowhere", want: map[string]uint32{"hashtag:dance": 0, "sound:s1": 0}, unattributed: 1},
		{name: "a regulator's report tracks at once", content: "c1", channel: event.ChannelRegulator, want: map[string]uint32{"hashtag:dance": 1}, trackedNow: "hashtag:dance"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := newBench(t, Config{}, desk{}, 0)
			b.sound = "s1"
			b.post("c1", 0, "dance")
			b.report("r1", tt.content, tt.channel, tt.hashtags...)
			for key, want := range tt.want {
				if got := b.reports(key); got != want {
					t.Errorf("%s: %d reports, want %d", key, got, want)
				}
			}
			if got := testutil.ToFloat64(b.m.Unattributed); got != tt.unattributed {
				t.Errorf("%v unattributed, want %v", got, tt.unattributed)
			}
			if tt.trackedNow != "" {
				tb := b.open(tt.trackedNow)
				if tb == nil || tb.Reports != 1 || tb.ByChannel[event.ChannelRegulator] != 1 {
					t.Errorf("%s: open bucket %+v, want tracked with the regulator's report", tt.trackedNow, tb)
				}
			}
		})
	}
}

// TestFamilyCountedOnce: a post with two spellings of one challenge counts
// once into the family, which the platform's mentions leave out.
func TestFamilyCountedOnce(t *testing.T) {
	b := newBench(t, Config{}, desk{}, 1024)
	b.sound = "s1"
	b.post("c1", 0, "blackoutchallenge", "bl4ckoutchallenge")
	fam := family.Prefix + family.Key("blackoutchallenge")
	if family.Key("bl4ckoutchallenge") != family.Key("blackoutchallenge") {
		t.Fatal("the two spellings are not one family")
	}
	if got := b.mentions(fam); got != 1 {
		t.Errorf("%s: %d mentions, want 1", fam, got)
	}
	if got := b.parts.Platform.Open(b.parts.Window.Open(t0)).Mentions; got != 3 {
		t.Errorf("platform mentions %v, want 3 (two hashtags and a sound, not the family)", got)
	}
}

// TestLate: an event for a bucket that has closed is counted as late, and
// nowhere else.
func TestLate(t *testing.T) {
	b := newBench(t, Config{}, desk{}, 0)
	b.post("c1", 0, "dance")
	wcfg := sketches.DefaultWindowConfig()
	b.parts.Window.Advance(t0.Add(wcfg.Bucket + wcfg.AllowedLateness + time.Minute))
	b.post("c2", time.Second, "dance")
	if got := testutil.ToFloat64(b.m.Late); got != 1 {
		t.Errorf("%v late, want 1", got)
	}
}
