package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/sketches"
	"github.com/trendwatch/trendwatch/trend"
)

// stallingSink takes minute rows until its stallAt-th write, which waits
// for the run's context to end as a sink whose queue is full does
// (clickhouse.Sink.enqueue while ClickHouse catches up), then fails.
type stallingSink struct {
	memSink
	stallAt, writes int
	stalled         chan struct{}
}

func (s *stallingSink) WriteMinutes(ctx context.Context, rows []trend.Minute) error {
	if s.writes++; s.writes == s.stallAt {
		close(s.stalled)
		<-ctx.Done()
		return fmt.Errorf("queue full: %w", ctx.Err())
	}
	return s.memSink.WriteMinutes(ctx, rows)
}

// countingStore is a checkpoint directory that counts what it made current.
type countingStore struct{ commits int }

func (s *countingStore) Stage(write func(io.Writer) error) error { return write(io.Discard) }
func (s *countingStore) Commit() (int, error)                    { s.commits++; return 0, nil }

// offsetLog is a consumer group that records the offsets committed.
type offsetLog struct {
	mu      sync.Mutex
	commits [][]ingest.Offset
}

func (o *offsetLog) Commit(_ context.Context, offsets []ingest.Offset) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.commits = append(o.commits, offsets)
	return nil
}

// TestNoCheckpointAfterUnwrittenBucket: a shutdown that cuts short a closed
// bucket's write (the sink's queue full, SIGTERM) must not save a
// checkpoint or commit offsets past it. The window has let the bucket go
// and its record is counted, so such a checkpoint would lose the bucket's
// rows for good: a restart would skip its records as counted. The run says
// why it saved nothing; the last good checkpoint is where a restart begins.
func TestNoCheckpointAfterUnwrittenBucket(t *testing.T) {
	tests := []struct {
		name    string
		stallAt int
	}{
		{"the first bucket's write", 1},
		{"a later bucket's write", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &stallingSink{stallAt: tt.stallAt, stalled: make(chan struct{})}
			cfg := DefaultConfig()
			cfg.CommitInterval = time.Hour // only the shutdown's commit
			e, err := New(cfg, sketches.DefaultWindowConfig(), detectors.DefaultConfig(), []Sink{sink}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			// One partition, known: the start-up hold ends with its first
			// record, so buckets close as records arrive, in Run's process.
			e.Expect([]ingest.Partition{{Topic: "content-events"}})
			start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
			recs := minutePosts(start, 20, func(int) int { return 20 })
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			in := make(chan ingest.Record)
			go func() {
				for _, r := range recs {
					select {
					case in <- r:
					case <-ctx.Done():
						return
					}
				}
			}()
			store, group := &countingStore{}, &offsetLog{}
			done := make(chan error, 1)
			go func() { done <- e.Run(ctx, in, group, store) }()
			select {
			case <-sink.stalled:
			case <-time.After(10 * time.Second):
				t.Fatal("no bucket write stalled")
			}
			cancel() // SIGTERM
			var runErr error
			select {
			case runErr = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("run did not stop")
			}
			if runErr == nil || !strings.Contains(runErr.Error(), "not saved") || !errors.Is(runErr, context.Canceled) {
				t.Errorf("run ended with %v, want the refused checkpoint, wrapping the write's error", runErr)
			}
			if store.commits != 0 {
				t.Errorf("%d checkpoints made current after the bucket's write failed, want 0", store.commits)
			}
			if len(group.commits) != 0 {
				t.Errorf("offsets committed after the bucket's write failed: %v", group.commits)
			}
		})
	}
}

// orderLog records, in order, the input's flushes and the checkpoints made
// current.
type orderLog struct {
	mu    sync.Mutex
	steps []string
}

func (l *orderLog) add(step string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.steps = append(l.steps, step)
}

func (l *orderLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.steps)
}

// flushingGroup is a consumer group whose input has writes of its own.
type flushingGroup struct {
	offsetLog
	log *orderLog
}

func (g *flushingGroup) Flush(context.Context) error {
	g.log.add("flush input")
	return nil
}

// orderedStore is a checkpoint directory that logs what it makes current.
type orderedStore struct{ log *orderLog }

func (s orderedStore) Stage(write func(io.Writer) error) error { return write(io.Discard) }
func (s orderedStore) Commit() (int, error) {
	s.log.add("checkpoint")
	return 0, nil
}

// TestInputFlushedBeforeCheckpoint: the input's own writes (ingest.Consumer's
// dead letters) are flushed before a checkpoint is made current, in the
// commit rounds and in the last commit: the checkpoint covers the refused
// records, and a restart from it never refuses them again.
func TestInputFlushedBeforeCheckpoint(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CommitInterval = 20 * time.Millisecond
	e, err := New(cfg, sketches.DefaultWindowConfig(), detectors.DefaultConfig(), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	log := &orderLog{}
	in := make(chan ingest.Record)
	go func() {
		// Fed until a commit round has made a checkpoint current, then
		// closed for the last commit.
		recs := minutePosts(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), 240, func(int) int { return 5 })
		for i := 0; i < len(recs) && log.len() < 2; i++ {
			in <- recs[i]
			time.Sleep(5 * time.Millisecond)
		}
		close(in)
	}()
	if err := e.Run(context.Background(), in, &flushingGroup{log: log}, orderedStore{log}); err != nil {
		t.Fatal(err)
	}
	if len(log.steps) < 4 {
		t.Fatalf("steps %v: want a commit round before the last commit", log.steps)
	}
	for i := 0; i < len(log.steps); i += 2 {
		if log.steps[i] != "flush input" || log.steps[i+1] != "checkpoint" {
			t.Fatalf("steps %v: want each checkpoint right after a flush of the input", log.steps)
		}
	}
}

// TestIntakeAcrossRestart: the invalid events counted after the last bucket's
// intake row and before a checkpoint reach the next intake row after a
// restart from it. The restart took the totals for reported, and lost them.
func TestIntakeAcrossRestart(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	recs := minutePosts(start, 12, func(int) int { return 10 })
	half := len(recs) / 2
	invalid := make([]ingest.Record, 3)
	for i := range invalid {
		invalid[i] = ingest.Record{Source: ingest.Source{Topic: "content-events", Offset: int64(half + i)}, Kind: ingest.KindInvalid}
	}
	for i := half; i < len(recs); i++ {
		recs[i].Source.Offset += int64(len(invalid))
	}
	before, after := &memSink{}, &memSink{}
	a := newTestEngine(t, before)
	run(t, a, append(append([]ingest.Record(nil), recs[:half]...), invalid...), false)
	snap := mustSnapshot(t, a)
	b := newTestEngine(t, after)
	if err := b.Restore(snap); err != nil {
		t.Fatal(err)
	}
	run(t, b, recs[half:], true)
	var got uint64
	for _, in := range append(before.intake, after.intake...) {
		got += in.Invalid
	}
	if got != uint64(len(invalid)) {
		t.Errorf("intake rows count %d invalid events, want %d", got, len(invalid))
	}
}

// TestDetectCommitsNoInputOffsets: a detect process restored from its
// checkpoint (input offsets) that has read no relay record yet commits
// nothing to its relay group, rather than the input topics' offsets.
func TestDetectCommitsNoInputOffsets(t *testing.T) {
	a := newTestEngine(t, &memSink{})
	run(t, a, minutePosts(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), 3, func(int) int { return 5 }), false)
	snap := mustSnapshot(t, a)
	for _, tt := range []struct {
		role string
		want int
	}{{RoleAll, 1}, {RoleDetect, 0}} {
		t.Run(tt.role, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Role = tt.role
			b, err := New(cfg, sketches.DefaultWindowConfig(), detectors.DefaultConfig(), nil, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Restore(snap); err != nil {
				t.Fatal(err)
			}
			if got := b.CommitOffsets(); len(got) != tt.want {
				t.Errorf("commits %v, want %d offsets", got, tt.want)
			}
		})
	}
}

// TestReportAtItsPostsTime: a report stamped the same time as the post it
// reports (a classifier that reports at posting time, timestamps in whole
// seconds) counts for the post's terms whichever of the two is read first.
// Read first, it was applied at once, before the post, and counted for none.
func TestReportAtItsPostsTime(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 30, 0, time.UTC)
	post := func(n int, ts time.Time) ingest.Record {
		id := fmt.Sprint("c", n)
		return ingest.Record{Source: ingest.Source{Topic: "content-events", Offset: int64(n)}, Kind: ingest.KindContent,
			Content: event.Content{EventID: "e" + id, ContentID: id, CreatorID: "u" + id, TS: ts, Hashtags: []string{"reported"}}}
	}
	report := ingest.Record{Source: ingest.Source{Topic: "report-events"}, Kind: ingest.KindReport,
		Report: event.Report{EventID: "r1", ContentID: "c20", ReporterID: "x", Reason: "dangerous", TS: at}}
	var posts []ingest.Record
	for n := range 30 {
		posts = append(posts, post(n, at))
	}
	for _, tt := range []struct {
		name  string
		order []ingest.Record
	}{
		{"post first", append(slices.Clone(posts), report)},
		{"report first", append(append(slices.Clone(posts[:16]), report), posts[16:]...)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sink := &memSink{}
			e := newTestEngine(t, sink)
			e.Expect([]ingest.Partition{{Topic: "content-events"}, {Topic: "report-events"}})
			recs := append(tt.order, post(30, at.Add(5*time.Minute)))
			run(t, e, recs, true)
			var reports uint64
			for _, r := range sink.rows {
				if r.Term == "hashtag:reported" {
					reports += r.Reports
				}
			}
			if reports != 1 {
				t.Errorf("hashtag:reported counted %d reports, want 1", reports)
			}
		})
	}
}

// TestGapInEventTime: a jump in event time past the fine ring (two hours of
// one-minute buckets) closes the buckets open before it as a smaller step
// would: their rows are written and their terms let go in time. Rolled up
// unreturned, they were never judged, their tracked terms kept their open
// bucket and their slot for good, and the platform's buckets leaked.
func TestGapInEventTime(t *testing.T) {
	sink := &memSink{}
	e := newTestEngine(t, sink)
	e.Expect([]ingest.Partition{{Topic: "content-events"}})
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var recs []ingest.Record
	for i := range 40 {
		id := fmt.Sprint("g", i)
		recs = append(recs, ingest.Record{Source: ingest.Source{Topic: "content-events", Offset: int64(i)}, Kind: ingest.KindContent,
			Content: event.Content{EventID: id, ContentID: id, CreatorID: "u" + id, TS: start.Add(time.Duration(i) * time.Second), Hashtags: []string{"gaptag"}}})
	}
	later := minutePosts(start.Add(3*time.Hour), 90, func(int) int { return 3 })
	for i := range later {
		later[i].Source.Offset += int64(len(recs))
	}
	run(t, e, append(recs, later...), false)
	var mentions uint64
	for _, r := range sink.rows {
		if r.Term == "hashtag:gaptag" && r.Bucket.Equal(start) {
			mentions += r.Mentions
		}
	}
	if mentions != 40 {
		t.Errorf("the bucket before the gap written with %d mentions of gaptag, want 40", mentions)
	}
	if st := e.trackedTerm("hashtag:gaptag"); st != nil && st.OpenBuckets() > 0 {
		t.Errorf("gaptag still holds %d open buckets 90 minutes after the gap", st.OpenBuckets())
	}
}
