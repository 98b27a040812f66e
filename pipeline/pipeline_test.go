package pipeline

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/checkpoint"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/family"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline/tracked"
	"github.com/trendwatch/trendwatch/sketches"
	"github.com/trendwatch/trendwatch/trend"
)

// TestJoinCacheByteBoundWarns: when the byte bound is the one that holds,
// the engine counts what it forgets and says so once a bucket.
func TestJoinCacheByteBoundWarns(t *testing.T) {
	var logs bytes.Buffer
	cfg := DefaultConfig()
	cfg.JoinCacheBytes = 64 << 10
	e, err := New(cfg, sketches.DefaultWindowConfig(), detectors.DefaultConfig(), nil,
		slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})), nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	const posts = 3000 // over two minutes
	for i := range posts {
		id := fmt.Sprint("c", i)
		if err := e.Process(context.Background(), ingest.Record{Kind: ingest.KindContent, Content: event.Content{EventID: id,
			TS: start.Add(time.Duration(i) * 40 * time.Millisecond), ContentID: id, CreatorID: "u", Hashtags: []string{fmt.Sprint("tag", i), "common"}}}); err != nil {
			t.Fatal(err)
		}
	}
	evicted := testutil.ToFloat64(e.m.joinEvicted)
	if got := float64(posts - e.join.Len()); evicted != got {
		t.Errorf("%v evictions counted, %v entries forgotten", evicted, got)
	}
	if e.join.Bytes() > cfg.JoinCacheBytes {
		t.Errorf("join cache holds %d bytes, over its bound %d", e.join.Bytes(), cfg.JoinCacheBytes)
	}
	if n := strings.Count(logs.String(), "content→terms cache at pipeline.join_cache_bytes"); n != 2 {
		t.Errorf("%d warnings over two buckets, want one each:\n%s", n, logs.String())
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"default", func(*Config) {}, ""},
		{"max tracked", func(c *Config) { c.MaxTracked = 0 }, "pipeline.max_tracked"},
		{"history", func(c *Config) { c.History = 1 }, "pipeline.history"},
		{"join cache", func(c *Config) { c.JoinCache = -1 }, "pipeline.join_cache"},
		{"commit", func(c *Config) { c.CommitInterval = 0 }, "pipeline.commit_interval"},
		{"dedup", func(c *Config) { c.DedupMaxIDs = -1 }, "pipeline.dedup_max_ids"},
		{"dedup off", func(c *Config) { c.DedupMaxIDs = 0 }, ""},
		{"shards", func(c *Config) { c.Shards = 0 }, "pipeline.shards"},
		{"too many shards", func(c *Config) { c.Shards = MaxShards + 1 }, "pipeline.shards"},
		{"last shard", func(c *Config) { c.Shard, c.Shards = 3, 4 }, ""},
		{"shard past the last", func(c *Config) { c.Shard, c.Shards = 4, 4 }, "pipeline.shard"},
		{"negative shard", func(c *Config) { c.Shard = -1 }, "pipeline.shard"},
	}
	for _, tt := range tests {
		c := DefaultConfig()
		tt.mod(&c)
		err := c.Validate()
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: got %v, want error naming %q", tt.name, err, tt.want)
		}
	}
}

// memSink keeps what it is given.
type memSink struct {
	rows   []trend.Minute
	alerts []alert.Event
	intake []trend.Intake
	flush  int
}

func (m *memSink) WriteIntake(_ context.Context, in trend.Intake) error {
	m.intake = append(m.intake, in)
	return nil
}

func (m *memSink) WriteMinutes(_ context.Context, rows []trend.Minute) error {
	m.rows = append(m.rows, rows...)
	return nil
}
func (m *memSink) WriteAlerts(_ context.Context, evs []alert.Event) error {
	m.alerts = append(m.alerts, evs...)
	return nil
}
func (m *memSink) Flush(context.Context) error { m.flush++; return nil }
func (m *memSink) Close() error                { return nil }

// feed drives an engine with a background of steady terms and, from minute
// surgeAt on, a surging hashtag posted by many creators with reports on some
// of its posts.
type feed struct {
	start   time.Time
	minutes int
	surgeAt int
}

func (f *feed) records() []ingest.Record {
	var recs []ingest.Record
	id := 0
	content := func(ts time.Time, tags ...string) {
		id++
		recs = append(recs, ingest.Record{
			Source: ingest.Source{Topic: "content-events", Partition: 0, Offset: int64(len(recs))},
			Kind:   ingest.KindContent,
			Content: event.Content{EventID: fmt.Sprint("e", id), TS: ts, ContentID: fmt.Sprint("c", id),
				CreatorID: fmt.Sprint("u", id), Region: "NP", Lang: "ne", Hashtags: tags},
		})
	}
	for m := 0; m < f.minutes; m++ {
		for i := 0; i < 120; i++ {
			ts := f.start.Add(time.Duration(m)*time.Minute + time.Duration(i)*500*time.Millisecond)
			content(ts, fmt.Sprintf("steady%d", i%12))
			if m < f.surgeAt || i%2 != 0 {
				continue
			}
			content(ts.Add(time.Millisecond), "surgingtag")
			if i%6 == 0 {
				// No hashtags on the report: it reaches the term through the
				// content→terms join.
				recs = append(recs, ingest.Record{
					Source: ingest.Source{Topic: "report-events", Partition: 0, Offset: int64(len(recs))},
					Kind:   ingest.KindReport,
					Report: event.Report{EventID: fmt.Sprint("r", id), TS: ts.Add(time.Second), ContentID: fmt.Sprint("c", id),
						ReporterID: fmt.Sprint("rep", id), Reason: "dangerous_acts"},
				})
			}
		}
	}
	return recs
}

func newTestEngine(t *testing.T, sinks ...Sink) *Engine {
	t.Helper()
	wcfg := sketches.DefaultWindowConfig()
	e, err := New(DefaultConfig(), wcfg, detectors.DefaultConfig(), sinks, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEngineRowsAndAlerts(t *testing.T) {
	sink := &memSink{}
	e := newTestEngine(t, sink)
	f := &feed{start: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), minutes: 70, surgeAt: 60}
	run(t, e, f.records(), true)
	var surging, steady uint64
	for _, r := range sink.rows {
		switch r.Term {
		case "hashtag:surgingtag":
			surging += r.Mentions
			if r.UniqueCreators < 40 || r.UniqueCreators > 80 {
				t.Errorf("%s: %d unique creators, want about 60", r.Bucket, r.UniqueCreators)
			}
			if len(r.TopRegions) == 0 || r.TopRegions[0] != "NP" {
				t.Errorf("%s: regions %v", r.Bucket, r.TopRegions)
			}
		case "hashtag:steady0":
			steady += r.Mentions
		}
	}
	// 10 minutes × 60 posts. The count-min estimate may only overcount.
	if surging < 600 || surging > 610 {
		t.Errorf("surgingtag mentions %d, want 600 (±1%% overcount)", surging)
	}
	if steady < 700 || steady > 707 {
		t.Errorf("steady0 mentions %d, want 700", steady)
	}
	var alerted bool
	for _, ev := range sink.alerts {
		if ev.Alert.Term == "hashtag:steady0" {
			t.Errorf("alert on a steady term: %+v", ev.Alert)
		}
		if ev.Alert.Term == "hashtag:surgingtag" && ev.From == "" {
			alerted = true
			if d := ev.At.Sub(f.start.Add(60 * time.Minute)); d > 2*time.Minute {
				t.Errorf("surge alerted %s after onset, want ≤ 2 buckets", d)
			}
		}
	}
	if !alerted {
		t.Errorf("no alert on the surging term; alerts: %d", len(sink.alerts))
	}
}

// TestEngineCountsUnattributedReports checks that a report which reaches no term,
// because its content is unknown and it names no hashtag, is counted, and that
// one reaching its terms, or naming them, or about known content without terms,
// is not; and that a skipped record (a tombstone) only moves the offset.
func TestEngineCountsUnattributedReports(t *testing.T) {
	reg := prometheus.NewRegistry()
	e, err := New(DefaultConfig(), sketches.DefaultWindowConfig(), detectors.DefaultConfig(), nil, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var recs []ingest.Record
	add := func(r ingest.Record) {
		r.Source = ingest.Source{Topic: "t", Offset: int64(len(recs))}
		recs = append(recs, r)
	}
	content := func(id string, tags ...string) {
		add(ingest.Record{Kind: ingest.KindContent, Content: event.Content{EventID: id, TS: start, ContentID: id, CreatorID: "u", Hashtags: tags}})
	}
	report := func(contentID string, tags ...string) {
		// Each report its own event_id: a repeated one is a duplicate.
		add(ingest.Record{Kind: ingest.KindReport, Report: event.Report{EventID: fmt.Sprint("r", len(recs)), TS: start.Add(time.Second), ContentID: contentID,
			ReporterID: "x", Reason: "spam", Hashtags: tags}})
	}
	content("c1", "fyp")
	content("c2") // known, without terms
	report("c1")
	report("c2")
	report("c9", "fyp")
	add(ingest.Record{Kind: ingest.KindSkipped})
	report("c9")
	report("c8")
	run(t, e, recs, true)
	if got := testutil.ToFloat64(e.m.unattrib); got != 2 {
		t.Errorf("trendwatch_reports_unattributed_total = %v, want 2 (c9 and c8 without hashtags)", got)
	}
	if got := testutil.ToFloat64(e.m.records.WithLabelValues("skipped")); got != 1 {
		t.Errorf("records_total{kind=skipped} = %v, want 1", got)
	}
	if offs := e.Offsets(); len(offs) != 1 || offs[0] != (ingest.Offset{Topic: "t", Offset: int64(len(recs) - 1)}) {
		t.Errorf("offsets %v, want t/0 at %d: the skipped record must move it", offs, len(recs)-1)
	}
}

// TestJoinCacheReach: the gauge says how far back in event time the
// content→terms cache reaches at the last closed bucket's rate of posts: its
// entries over posts per second, whether the cache is still filling or full.
func TestJoinCacheReach(t *testing.T) {
	cases := []struct {
		name          string
		entries       int // pipeline.join_cache
		perMinute     int // posts in each of three minutes
		wantReachSecs float64
	}{
		{"filling: three minutes of posts held", 10000, 600, 180},
		{"full: the last 300 posts at 10 a second", 300, 600, 30},
		{"full at a platform's rate", 1000, 60000, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.JoinCache = tc.entries
			e, err := New(cfg, sketches.DefaultWindowConfig(), detectors.DefaultConfig(), nil, nil, prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
			var recs []ingest.Record
			for m := range 3 {
				for i := range tc.perMinute {
					id := fmt.Sprint(len(recs))
					ts := start.Add(time.Duration(m)*time.Minute + time.Duration(i)*time.Minute/time.Duration(tc.perMinute))
					recs = append(recs, ingest.Record{Source: ingest.Source{Topic: "t", Offset: int64(len(recs))}, Kind: ingest.KindContent,
						Content: event.Content{EventID: id, TS: ts, ContentID: id, CreatorID: "u", Hashtags: []string{"fyp"}}})
				}
			}
			run(t, e, recs, true)
			if got := testutil.ToFloat64(e.m.joinReach); math.Abs(got-tc.wantReachSecs) > 0.01*tc.wantReachSecs {
				t.Errorf("trendwatch_pipeline_join_cache_reach_seconds = %v, want %v", got, tc.wantReachSecs)
			}
		})
	}
}

func TestEngineSkipsReplayedOffsets(t *testing.T) {
	sink := &memSink{}
	e := newTestEngine(t, sink)
	f := &feed{start: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), minutes: 5, surgeAt: 99}
	recs := f.records()
	ctx := context.Background()
	for _, r := range recs {
		if err := e.Process(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// A consumer that restarts from an older commit redelivers; nothing counts twice.
	for _, r := range recs[:len(recs)/2] {
		if err := e.Process(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if n := termMentions(sink.rows, "hashtag:steady3"); n != 50 {
		t.Errorf("steady3 mentions %d after a replay, want 50", n)
	}
}

// termMentions sums term's mentions over rows.
func termMentions(rows []trend.Minute, term string) uint64 {
	var n uint64
	for _, r := range rows {
		if r.Term == term {
			n += r.Mentions
		}
	}
	return n
}

// TestEngineRelayedRecords: a detect process reads records an aggregate
// process forwarded (ingest.Record.Via); a record forwarded twice, at a later
// relay offset, counts once, and what it commits is the relay's offsets, not
// the input's.
func TestEngineRelayedRecords(t *testing.T) {
	sink := &memSink{}
	e := newTestEngine(t, sink)
	f := &feed{start: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), minutes: 5, surgeAt: 99}
	recs := f.records()
	ctx := context.Background()
	relay := int64(0)
	forward := func(rs []ingest.Record) {
		for _, r := range rs {
			r.Via = ingest.Source{Topic: "trendwatch-relay.shard-0-of-1", Partition: 1, Offset: relay}
			relay++
			if err := e.Process(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	forward(recs)
	// An aggregate process that took the partition over forwards from the
	// last commit again.
	forward(recs[len(recs)/2:])
	if err := e.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if n := termMentions(sink.rows, "hashtag:steady3"); n != 50 {
		t.Errorf("steady3 mentions %d with records forwarded twice, want 50", n)
	}
	want := []ingest.Offset{{Topic: "trendwatch-relay.shard-0-of-1", Partition: 1, Offset: relay - 1}}
	if got := e.CommitOffsets(); !slices.Equal(got, want) {
		t.Errorf("commits %v, want the relay's %v", got, want)
	}
	if got := e.Offsets(); len(got) != 1 || got[0].Topic != "content-events" || got[0].Offset != int64(len(recs)-1) {
		t.Errorf("input offsets %v, want content-events up to %d", got, len(recs)-1)
	}
}

// TestSnapshotRestore stops an engine half-way, restores its snapshot into a
// new engine, and checks the rows equal those of an engine that never stopped.
func TestSnapshotRestore(t *testing.T) {
	f := &feed{start: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), minutes: 30, surgeAt: 20}
	recs := f.records()
	ctx := context.Background()

	whole := &memSink{}
	e := newTestEngine(t, whole)
	run(t, e, recs, true)

	first, second := &memSink{}, &memSink{}
	a := newTestEngine(t, first)
	half := len(recs) / 2
	for _, r := range recs[:half] {
		if err := a.Process(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b := newTestEngine(t, second)
	if err := b.Restore(snap); err != nil {
		t.Fatal(err)
	}
	// Redeliver from the start, as Kafka would from an older commit: the
	// restored offsets skip what the snapshot already counts.
	for _, r := range recs {
		if err := b.Process(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	sum := func(rows ...[]trend.Minute) map[string]uint64 {
		m := map[string]uint64{}
		for _, rs := range rows {
			for _, r := range rs {
				m[r.Term+"@"+r.Bucket.Format(time.RFC3339)] = r.Mentions
			}
		}
		return m
	}
	want, got := sum(whole.rows), sum(first.rows, second.rows)
	if !reflect.DeepEqual(want, got) {
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %d after restore, want %d", k, got[k], v)
			}
		}
		t.Fatalf("rows differ: %d vs %d keys", len(got), len(want))
	}
}

// TestSnapshotOfAnotherShard: a checkpoint restores only into the shard
// that wrote it; another shard's state would judge terms it does not own.
func TestSnapshotOfAnotherShard(t *testing.T) {
	engine := func(shard, shards int) *Engine {
		cfg := DefaultConfig()
		cfg.Shard, cfg.Shards = shard, shards
		e, err := New(cfg, sketches.DefaultWindowConfig(), detectors.DefaultConfig(), nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	f := &feed{start: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), minutes: 3, surgeAt: 2}
	a := engine(1, 3)
	for _, r := range f.records() {
		if err := a.Process(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		shard, shards int
		ok            bool
	}{{1, 3, true}, {0, 3, false}, {1, 2, false}, {0, 1, false}} {
		err := engine(tt.shard, tt.shards).Restore(snap)
		if tt.ok && err != nil || !tt.ok && (err == nil || !strings.Contains(err.Error(), "shard 1 of 3")) {
			t.Errorf("restore shard 1 of 3 into %d of %d: %v", tt.shard, tt.shards, err)
		}
	}
}

func BenchmarkProcessContent(b *testing.B) {
	benchmarkProcess(b, func(i int) []string {
		return []string{fmt.Sprint("t", i%1000), fmt.Sprint("t", (i*7)%20000), "fyp"}
	})
}

// BenchmarkProcessContentWords has hashtags of words, long enough to have
// families (BenchmarkProcessContent's are too short to): each of its three
// counts into a family too, and some families have two spellings.
func BenchmarkProcessContentWords(b *testing.B) {
	words := []string{"blackoutchallenge", "foryoupage", "trending", "cricket", "football", "motivation",
		"storytime", "skincare", "lifehack", "weekend", "blackout_challenge", "foryou_page"}
	benchmarkProcess(b, func(i int) []string {
		return []string{fmt.Sprint(words[i%len(words)], i%1000), fmt.Sprint(words[(i/3)%len(words)], "x", (i*7)%20000), "foryoupage"}
	})
}

func benchmarkProcess(b *testing.B, tags func(i int) []string) {
	wcfg := sketches.DefaultWindowConfig()
	e, err := New(DefaultConfig(), wcfg, detectors.DefaultConfig(), nil, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	recs := make([]ingest.Record, 100000)
	for i := range recs {
		recs[i] = ingest.Record{Kind: ingest.KindContent, Content: event.Content{
			EventID: fmt.Sprint("e", i), TS: start.Add(time.Duration(i) * 10 * time.Millisecond),
			ContentID: fmt.Sprint("c", i), CreatorID: fmt.Sprint("u", i%5000), Region: "IN", Lang: "hi",
			Hashtags: tags(i), SoundID: fmt.Sprint("s", i%300),
		}}
		recs[i].Hash() // as the consumer's decoders do
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		r := recs[i%len(recs)]
		r.Content.TS = start.Add(time.Duration(i) * 10 * time.Millisecond)
		if err := e.Process(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	// CPU time, the garbage collector's included, does not depend on what
	// else the machine runs as wall time does.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// TestEngineReportKeepsSoundOfContent: a report's hashtags replace its
// content's hashtags, but the content's sound and challenge still get the
// report.
func TestEngineReportKeepsSoundOfContent(t *testing.T) {
	e, err := New(DefaultConfig(), sketches.DefaultWindowConfig(), detectors.DefaultConfig(), nil, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	// Applied directly: the order and hold of records is not what is tested.
	c := ingest.Record{Kind: ingest.KindContent, Content: event.Content{EventID: "e1", TS: start, ContentID: "c1", CreatorID: "u", Hashtags: []string{"fyp"}, SoundID: "s1"}}
	r := ingest.Record{Kind: ingest.KindReport, Report: event.Report{EventID: "r1", TS: start.Add(time.Second), ContentID: "c1", ReporterID: "x", Reason: "spam", Hashtags: []string{"other"}}}
	c.Hash()
	r.Hash()
	e.count.Content(&c.Content, &c.Hashes)
	e.count.Report(&r.Report, &r.Hashes)
	b := e.window.Open(start)
	if b == nil {
		t.Fatal("no open bucket")
	}
	for key, want := range map[string]uint32{"sound:s1": 1, "hashtag:other": 1, "hashtag:fyp": 0} {
		if got := b.Reports.Estimate(sketches.Hash(key)); got != want {
			t.Errorf("reports of %s: %d, want %d", key, got, want)
		}
	}
}

// TestEngineHighTrustReport checks that one report from a regulator opens a high
// alert on a term nothing else mentions, and that one from a user does not.
func TestEngineHighTrustReport(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		channel string
		alert   bool
	}{
		{"regulator", "regulator", true},
		{"law enforcement", "law_enforcement", true},
		{"user", "user", false},
		{"media", "media", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sink := &memSink{}
			e := newTestEngine(t, sink)
			var recs []ingest.Record
			add := func(r ingest.Record) {
				r.Source = ingest.Source{Topic: "t", Offset: int64(len(recs))}
				recs = append(recs, r)
			}
			for m := range 5 {
				for i := range 20 {
					id := fmt.Sprint("c", m, "-", i)
					add(ingest.Record{Kind: ingest.KindContent, Content: event.Content{EventID: id,
						TS: start.Add(time.Duration(m)*time.Minute + time.Duration(i)*time.Second), ContentID: id, CreatorID: "u", Hashtags: []string{"steady"}}})
				}
			}
			add(ingest.Record{Kind: ingest.KindReport, Report: event.Report{EventID: "r1", TS: start.Add(2*time.Minute + 30*time.Second),
				ContentID: "c9", ReporterID: "x", Reason: "illegal", Hashtags: []string{"quietterm"}, Channel: tc.channel}})
			ctx := context.Background()
			for _, r := range recs {
				if err := e.Process(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			var opened []alert.Event
			for _, ev := range sink.alerts {
				if ev.Alert.Term == "hashtag:quietterm" && ev.From == "" {
					opened = append(opened, ev)
				}
			}
			if !tc.alert {
				if len(opened) > 0 {
					t.Fatalf("alert on a %s report: %+v", tc.channel, opened[0].Alert)
				}
				return
			}
			if len(opened) != 1 {
				t.Fatalf("%d alerts opened on the term, want 1", len(opened))
			}
			a := opened[0].Alert
			if a.Detector != detectors.NameTrustedReport || a.Severity < alert.SeverityHigh {
				t.Errorf("alert %s at %v, want %s at high or above", a.Detector, a.Severity, detectors.NameTrustedReport)
			}
			// The report pages as soon as it is counted (early firing), with
			// its bucket still open.
			if !a.Early {
				t.Errorf("alert not early: a high-trust report needs no full bucket")
			}
			if want := "[early] REPORT " + tc.channel + " hashtag:quietterm 1 report from " + tc.channel; !strings.HasPrefix(a.Summary, want) {
				t.Errorf("summary %q, want it to begin %q", a.Summary, want)
			}
			c, _ := event.ParseChannel(tc.channel)
			var row *trend.Minute
			for i := range sink.rows {
				if sink.rows[i].Term == "hashtag:quietterm" {
					row = &sink.rows[i]
				}
			}
			if row == nil || row.Reports != 1 || row.ReportsByChannel[c] != 1 {
				t.Errorf("row %+v, want 1 report, from %s", row, tc.channel)
			}
		})
	}
}

// TestShardsHighTrustReport: a regulator's report pages on the term it names
// in the one shard that owns the term, tracked there from that report, and in
// no other: the shard of its family, as a hashtag's incident is its family.
func TestShardsHighTrustReport(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	recs := []ingest.Record{
		{Kind: ingest.KindContent, Content: event.Content{EventID: "c1", TS: start, ContentID: "c1", CreatorID: "u", Hashtags: []string{"steady"}}},
		{Kind: ingest.KindReport, Report: event.Report{EventID: "r1", TS: start.Add(10 * time.Second), ContentID: "c9", ReporterID: "x",
			Reason: "illegal", Hashtags: []string{"quietterm"}, Channel: "regulator"}},
	}
	const shards = 3
	owner := int(sketches.Hash(family.OfTerm("hashtag:quietterm")) % shards)
	for shard := range shards {
		cfg := DefaultConfig()
		cfg.Shard, cfg.Shards = shard, shards
		sink := &memSink{}
		e, err := New(cfg, sketches.DefaultWindowConfig(), detectors.DefaultConfig(), []Sink{sink}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for i, r := range recs {
			r.Source = ingest.Source{Topic: "t", Offset: int64(i)}
			if err := e.Process(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		paged := false
		for _, ev := range sink.alerts {
			if ev.Alert.Term == "hashtag:quietterm" && ev.From == "" && ev.Alert.Detector == detectors.NameTrustedReport {
				paged = true
			}
		}
		if paged != (shard == owner) {
			t.Errorf("shard %d of %d (the term's is %d): paged %v", shard, shards, owner, paged)
		}
	}
}

// TestSnapshotReportsByChannel checks that an open bucket's reports by channel
// survive a checkpoint, and that a checkpoint from before they were kept (its
// open buckets without ByChannel) restores them as zero.
func TestSnapshotReportsByChannel(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var recs []ingest.Record
	for i, ch := range []string{"regulator", "partner", "partner", "user"} {
		recs = append(recs, ingest.Record{Source: ingest.Source{Topic: "t", Offset: int64(i)}, Kind: ingest.KindReport,
			Report: event.Report{EventID: fmt.Sprint("r", i), TS: start.Add(time.Duration(i) * time.Second), ContentID: "c",
				ReporterID: fmt.Sprint("x", i), Reason: "illegal", Hashtags: []string{"quietterm"}, Channel: ch}})
	}
	cases := []struct {
		name string
		old  bool // drop ByChannel, as a checkpoint written before it
		want [event.NumChannels]uint64
	}{
		{"current", false, [event.NumChannels]uint64{event.ChannelUser: 1, event.ChannelPartner: 2, event.ChannelRegulator: 1}},
		{"older checkpoint", true, [event.NumChannels]uint64{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			a := newTestEngine(t)
			for _, r := range recs {
				if err := a.Process(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			// Apply them, leaving their bucket open: what is checkpointed is
			// then the term's bucket rather than parked records.
			if err := a.Advance(ctx, start.Add(30*time.Second)); err != nil {
				t.Fatal(err)
			}
			if a.parked.Len() != 0 || a.trackedTerm("hashtag:quietterm") == nil {
				t.Fatalf("%d records parked, term tracked: %v", a.parked.Len(), a.trackedTerm("hashtag:quietterm") != nil)
			}
			snap, err := a.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			if tc.old {
				var s snapshot
				if err := decodeInto(snap, &s); err != nil {
					t.Fatal(err)
				}
				for i := range s.Terms {
					for j := range s.Terms[i].Open {
						s.Terms[i].Open[j].ByChannel = nil
					}
				}
				var buf bytes.Buffer
				if err := gob.NewEncoder(&buf).Encode(&s); err != nil {
					t.Fatal(err)
				}
				snap = buf.Bytes()
			}
			sink := &memSink{}
			b := newTestEngine(t, sink)
			if err := b.Restore(snap); err != nil {
				t.Fatal(err)
			}
			if err := b.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			var got *trend.Minute
			for i := range sink.rows {
				if sink.rows[i].Term == "hashtag:quietterm" {
					got = &sink.rows[i]
				}
			}
			if got == nil {
				t.Fatal("no row for the term")
			}
			if got.ReportsByChannel != tc.want {
				t.Errorf("reports by channel %v, want %v", got.ReportsByChannel, tc.want)
			}
		})
	}
}

// cpuTime is the CPU time the process has used, all threads.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestRunBatchesSameAsRun: the engine fed batches of any size derives exactly
// what it derives fed one record at a time.
func TestRunBatchesSameAsRun(t *testing.T) {
	f := &feed{start: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), minutes: 70, surgeAt: 60}
	recs := f.records()
	ctx := context.Background()

	one := &memSink{}
	in := make(chan ingest.Record, len(recs))
	for _, r := range recs {
		in <- r
	}
	close(in)
	if err := newTestEngine(t, one).Run(ctx, in, nil, nil); err != nil {
		t.Fatal(err)
	}

	batched := &memSink{}
	batches := make(chan []ingest.Record, len(recs))
	for i, size := 0, 1; i < len(recs); size = size%300 + 37 {
		n := min(size, len(recs)-i)
		batches <- append([]ingest.Record(nil), recs[i:i+n]...)
		i += n
	}
	close(batches)
	if err := newTestEngine(t, batched).RunBatches(ctx, batches, nil, nil); err != nil {
		t.Fatal(err)
	}

	if len(one.rows) == 0 || len(one.alerts) == 0 {
		t.Fatalf("the feed made %d rows and %d alerts; want some of each", len(one.rows), len(one.alerts))
	}
	if want, got := mentionsByKey(one.rows), mentionsByKey(batched.rows); !reflect.DeepEqual(want, got) {
		t.Errorf("mentions differ: %d keys one at a time, %d in batches", len(want), len(got))
	}
	creators := func(rows []trend.Minute) map[string]uint64 {
		m := map[string]uint64{}
		for _, r := range rows {
			m[r.Term+"@"+r.Bucket.Format(time.RFC3339)] = r.UniqueCreators
		}
		return m
	}
	if !reflect.DeepEqual(creators(one.rows), creators(batched.rows)) {
		t.Error("unique creators differ between one at a time and batches")
	}
	if len(one.alerts) != len(batched.alerts) {
		t.Errorf("%d alert transitions one at a time, %d in batches", len(one.alerts), len(batched.alerts))
	}
}

// supersededStore is a checkpoint directory another process has claimed
// since this one did: every commit is refused as checkpoint.Store refuses it.
type supersededStore struct{ staged int }

func (s *supersededStore) Stage(write func(io.Writer) error) error {
	s.staged++
	return write(io.Discard)
}

func (s *supersededStore) Superseded() error {
	return fmt.Errorf("%w: claimed at epoch 2, this process holds epoch 1", checkpoint.ErrSuperseded)
}

func (s *supersededStore) Commit() (int, error) { return 0, s.Superseded() }

// busyGroup is a consumer group with two members: the paused process, awake
// again, has rejoined beside the one that took over.
type busyGroup struct{}

func (busyGroup) Commit(context.Context, []ingest.Offset) error { return ingest.ErrGroupBusy }
func (busyGroup) Owns(context.Context) error                    { return ingest.ErrGroupBusy }

// TestRunStopsWhenSuperseded: a process whose state another has claimed
// (its standby took over while it was paused) stops within a commit round
// or two, saying why, instead of counting and writing on beside the owner,
// although the group it rejoined has two members, which alone would only
// hold its commits back.
func TestRunStopsWhenSuperseded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CommitInterval = 50 * time.Millisecond
	e, err := New(cfg, sketches.DefaultWindowConfig(), detectors.DefaultConfig(), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := make(chan ingest.Record) // never closed: only the refusal ends the run
	done := make(chan error, 1)
	store := &supersededStore{}
	go func() { done <- e.Run(context.Background(), in, busyGroup{}, store) }()
	select {
	case err := <-done:
		if !errors.Is(err, checkpoint.ErrSuperseded) || !strings.Contains(err.Error(), "stopping") {
			t.Fatalf("run ended with %v, want a stop wrapping checkpoint.ErrSuperseded", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run still going 10 s after its commits were refused as superseded")
	}
	if store.staged < 1 {
		t.Error("no commit round was tried")
	}
}

func TestRowVersion(t *testing.T) {
	at := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	old := uint64(at.Add(time.Hour).UnixNano()) // a release before epochs, an hour later
	tests := []struct {
		name         string
		lower, upper uint64
	}{
		{"a later write of one owner", RowVersion(3, at), RowVersion(3, at.Add(time.Millisecond))},
		{"a later owner, written before", RowVersion(3, at.Add(time.Hour)), RowVersion(4, at)},
		{"an unclaimed run (backtest), then an owner", RowVersion(0, at.Add(time.Hour)), RowVersion(1, at)},
		{"a row of the release before epochs", old, RowVersion(0, at)},
		{"the largest epoch, saturated", RowVersion(1<<18-2, at.Add(time.Hour)), RowVersion(1<<30, at)},
	}
	for _, tt := range tests {
		if tt.lower >= tt.upper {
			t.Errorf("%s: %d is not below %d", tt.name, tt.lower, tt.upper)
		}
	}
}

// TestSupersededWritesNothing: a process whose state another has claimed
// writes no row, alert or page at a bucket close, and stops there, before any
// commit round would have stopped it.
func TestSupersededWritesNothing(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CommitInterval = time.Hour // no round: the write itself must refuse
	sink := &memSink{}
	e, err := New(cfg, sketches.DefaultWindowConfig(), detectors.DefaultConfig(), []Sink{sink}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &feed{start: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), minutes: 20, surgeAt: 15}
	recs := f.records()
	in := make(chan ingest.Record, len(recs))
	for _, r := range recs {
		in <- r
	}
	close(in)
	err = e.Run(context.Background(), in, nil, &supersededStore{})
	if !errors.Is(err, checkpoint.ErrSuperseded) {
		t.Fatalf("run ended with %v, want checkpoint.ErrSuperseded", err)
	}
	if len(sink.rows) > 0 || len(sink.alerts) > 0 {
		t.Errorf("superseded, it still wrote %d rows and %d alert transitions", len(sink.rows), len(sink.alerts))
	}
}

// TestIntakeWrittenWithRows: every closed bucket's intake goes to the sinks
// in the same write as its rows: one row a bucket, in order, whose events
// add up to the content events read and whose invalid count holds the
// refused messages of the buckets they came in.
func TestIntakeWrittenWithRows(t *testing.T) {
	sink := &memSink{}
	e := newTestEngine(t, sink)
	f := &feed{start: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), minutes: 6, surgeAt: 4}
	recs := f.records()
	var content uint64
	for _, r := range recs {
		if r.Kind == ingest.KindContent {
			content++
		}
	}
	// Three refused messages arrive among the first minute's events.
	bad := ingest.Record{Kind: ingest.KindInvalid}
	recs = append(recs[:10:10], append([]ingest.Record{bad, bad, bad}, recs[10:]...)...)
	run(t, e, recs, true)
	if len(sink.intake) < f.minutes {
		t.Fatalf("%d intake rows for %d minutes of events", len(sink.intake), f.minutes)
	}
	var events, invalid uint64
	for i, in := range sink.intake {
		if i > 0 && !in.Bucket.After(sink.intake[i-1].Bucket) {
			t.Errorf("intake of %s after that of %s", in.Bucket, sink.intake[i-1].Bucket)
		}
		if in.Version == 0 || in.Instance != DefaultConfig().Instance {
			t.Errorf("intake %+v: want a version and the instance", in)
		}
		events += in.Events
		invalid += in.Invalid
	}
	if events != content || invalid != 3 {
		t.Errorf("intake counts %d events and %d invalid, want %d and 3", events, invalid, content)
	}
}

// trackedTerm is the tracked state of the term key, nil when not tracked.
func (e *Engine) trackedTerm(key string) *tracked.Term { return e.tracked[sketches.Hash(key)] }
