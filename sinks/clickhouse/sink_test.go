package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	dto "github.com/prometheus/client_model/go"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/trend"
)

// fakeServer stands in for ClickHouse: it records blocks, fails on demand and
// can hold inserts until released.
type fakeServer struct {
	mu      sync.Mutex
	fail    []error // returned by the next calls, in order
	down    error   // returned while set
	gate    chan struct{}
	discard bool // count rows but keep no blocks, for benchmarks
	calls   int
	written int
	blocks  []*block
}

func (f *fakeServer) insert(ctx context.Context, b *block) error {
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.down != nil {
		return f.down
	}
	if len(f.fail) > 0 {
		err := f.fail[0]
		f.fail = f.fail[1:]
		return err
	}
	f.written += b.rows
	if !f.discard {
		f.blocks = append(f.blocks, b)
	}
	return nil
}

func (f *fakeServer) setDown(err error) {
	f.mu.Lock()
	f.down = err
	f.mu.Unlock()
}

// rows counts the rows written to table.
func (f *fakeServer) rows(table string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, b := range f.blocks {
		if b.table == table {
			n += b.rows
		}
	}
	return n
}

// written concatenates one column of every block written to table.
func written[T any](f *fakeServer, table, name string) []T {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []T
	for _, b := range f.blocks {
		if b.table != table {
			continue
		}
		for i, n := range b.names {
			if n == name {
				out = append(out, b.cols[i].([]T)...)
			}
		}
	}
	return out
}

func unitConfig() Config {
	cfg := DefaultConfig()
	cfg.BatchRows = 100
	cfg.QueueRows = 1000
	cfg.FlushInterval = time.Hour
	cfg.MaxRetryDelay = 20 * time.Millisecond
	cfg.WriteTimeout = time.Second
	cfg.CloseTimeout = time.Second
	return cfg
}

func newTestSink(t testing.TB, cfg Config, f *fakeServer) *Sink {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	m, err := newMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := newSink(cfg, slog.New(slog.DiscardHandler), m, f, func() error { return nil })
	t.Cleanup(func() { s.Close() })
	return s
}

func refused() error { return &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED} }

func testMinutes(n int, term string) []trend.Minute {
	b := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	out := make([]trend.Minute, n)
	for i := range out {
		out[i] = trend.Minute{
			Bucket: b.Add(time.Duration(i) * time.Minute), Term: term, Mentions: uint64(i + 1), UniqueCreators: 1,
			TopRegions: []string{"NP", "IN"}, Langs: []string{"ne"}, ReportReasons: []string{"spam"}, Version: 1,
		}
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func counter(t *testing.T, c interface{ Write(*dto.Metric) error }) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.GetGauge().GetValue()
}

func TestFlushBySize(t *testing.T) {
	f := &fakeServer{}
	cfg := unitConfig()
	cfg.BatchRows = 3
	s := newTestSink(t, cfg, f)
	ctx := context.Background()
	if err := s.WriteMinutes(ctx, testMinutes(2, "hashtag:a")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	if n := f.rows("trend_minute"); n != 0 {
		t.Fatalf("%d rows written below batch_rows and flush_interval", n)
	}
	if err := s.WriteMinutes(ctx, testMinutes(1, "hashtag:b")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a batch_rows flush", func() bool { return f.rows("trend_minute") == 3 })
}

func TestFlushByAge(t *testing.T) {
	f := &fakeServer{}
	cfg := unitConfig()
	cfg.FlushInterval = 40 * time.Millisecond
	s := newTestSink(t, cfg, f)
	start := time.Now()
	if err := s.WriteMinutes(context.Background(), testMinutes(1, "hashtag:a")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a flush_interval flush", func() bool { return f.rows("trend_minute") == 1 })
	if el := time.Since(start); el < cfg.FlushInterval {
		t.Errorf("flushed after %s, before flush_interval %s", el, cfg.FlushInterval)
	}
}

func TestFlushWaitsForAcknowledgement(t *testing.T) {
	f := &fakeServer{gate: make(chan struct{})}
	s := newTestSink(t, unitConfig(), f)
	ctx := context.Background()
	if err := s.WriteMinutes(ctx, testMinutes(5, "hashtag:a")); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Flush(ctx) }()
	select {
	case err := <-done:
		t.Fatalf("Flush returned %v before the server acknowledged", err)
	case <-time.After(30 * time.Millisecond):
	}
	// A second caller, arriving while the insert is in flight, waits too.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	err := s.Flush(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush during an unacknowledged insert = %v, want it to wait", err)
	}
	close(f.gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := f.rows("trend_minute"); n != 5 {
		t.Errorf("after Flush %d rows written, want 5", n)
	}
	// Nothing queued: Flush returns at once.
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestTransientErrorsRetried(t *testing.T) {
	f := &fakeServer{fail: []error{
		refused(),
		fmt.Errorf("insert: %w", &ch.Exception{Code: 252, Message: "Too many parts"}),
		context.DeadlineExceeded,
	}}
	s := newTestSink(t, unitConfig(), f)
	ctx := context.Background()
	if err := s.WriteMinutes(ctx, testMinutes(4, "hashtag:a")); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush after transient errors: %v", err)
	}
	if n := f.rows("trend_minute"); n != 4 {
		t.Errorf("rows written = %d, want 4 (once)", n)
	}
	if r := counter(t, s.m.retries.WithLabelValues("trend_minute")); r != 3 {
		t.Errorf("retries = %v, want 3", r)
	}
	if e := counter(t, s.m.flushErrors.WithLabelValues("trend_minute", "transient")); e != 3 {
		t.Errorf("transient flush errors = %v, want 3", e)
	}
	if w := counter(t, s.m.rowsWritten.WithLabelValues("trend_minute")); w != 4 {
		t.Errorf("rows written metric = %v, want 4", w)
	}
}

func TestPermanentErrorSurfaces(t *testing.T) {
	f := &fakeServer{down: &ch.Exception{Code: 60, Message: "Table trendwatch.trend_minute doesn't exist."}}
	s := newTestSink(t, unitConfig(), f)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.WriteMinutes(ctx, testMinutes(2, "hashtag:a")); err != nil {
		t.Fatal(err)
	}
	err := s.Flush(ctx)
	if err == nil || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "trendwatch migrate") {
		t.Fatalf("Flush on a missing table = %v, want a permanent error telling to migrate", err)
	}
	var ex *ch.Exception
	if !errors.As(err, &ex) || ex.Code != 60 {
		t.Errorf("error %v does not wrap the server's exception", err)
	}
	f.mu.Lock()
	calls := f.calls
	f.mu.Unlock()
	if calls != 1 {
		t.Errorf("permanent error tried %d times, want 1", calls)
	}
	if err := s.WriteMinutes(ctx, testMinutes(1, "hashtag:b")); err == nil {
		t.Error("write after a permanent error succeeded")
	}
	if err := s.Flush(ctx); err == nil {
		t.Error("second Flush after a permanent error succeeded")
	}
	if e := counter(t, s.m.flushErrors.WithLabelValues("trend_minute", "permanent")); e != 1 {
		t.Errorf("permanent flush errors = %v, want 1", e)
	}
}

func TestBackpressure(t *testing.T) {
	f := &fakeServer{down: refused()}
	cfg := unitConfig()
	cfg.BatchRows, cfg.QueueRows = 5, 10
	s := newTestSink(t, cfg, f)
	ctx := context.Background()
	if err := s.WriteMinutes(ctx, testMinutes(8, "hashtag:a")); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	err := s.WriteMinutes(short, testMinutes(5, "hashtag:b"))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("write past queue_rows while down = %v, want it blocked until its context ended", err)
	}
	if q := counter(t, s.m.queuedRows); q != 8 {
		t.Errorf("queued rows = %v, want 8 (the refused call queued nothing)", q)
	}
	if b := counter(t, s.m.blocked); b <= 0 {
		t.Errorf("blocked seconds = %v, want > 0", b)
	}

	// A write blocked now goes through once the server is back.
	done := make(chan error, 1)
	go func() { done <- s.WriteMinutes(ctx, testMinutes(5, "hashtag:c")) }()
	time.Sleep(20 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("write returned %v while the queue was full", err)
	default:
	}
	f.setDown(nil)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	terms := written[string](f, "trend_minute", "term")
	slices.Sort(terms)
	want := slices.Concat(slices.Repeat([]string{"hashtag:a"}, 8), slices.Repeat([]string{"hashtag:c"}, 5))
	if !slices.Equal(terms, want) {
		t.Errorf("written terms = %q, want 8 of a and 5 of c", terms)
	}
}

func TestOversizedWriteIntoEmptyQueue(t *testing.T) {
	f := &fakeServer{}
	cfg := unitConfig()
	cfg.BatchRows, cfg.QueueRows = 5, 10
	s := newTestSink(t, cfg, f)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.WriteMinutes(ctx, testMinutes(25, "hashtag:a")); err != nil {
		t.Fatalf("a call larger than queue_rows into an empty queue: %v", err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.rows("trend_minute"); n != 25 {
		t.Errorf("rows written = %d, want 25", n)
	}
}

func TestWriteCopiesRows(t *testing.T) {
	f := &fakeServer{down: refused()}
	s := newTestSink(t, unitConfig(), f)
	ctx := context.Background()
	rows := testMinutes(1, "hashtag:a")
	if err := s.WriteMinutes(ctx, rows); err != nil {
		t.Fatal(err)
	}
	// The caller reuses its buffers while the first attempts fail.
	rows[0].Term = "hashtag:changed"
	rows[0].TopRegions[0] = "XX"
	f.setDown(nil)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := written[string](f, "trend_minute", "term"); !slices.Equal(got, []string{"hashtag:a"}) {
		t.Errorf("term written = %q, want the value at Write time", got)
	}
	if got := written[[]string](f, "trend_minute", "top_regions"); len(got) != 1 || !slices.Equal(got[0], []string{"NP", "IN"}) {
		t.Errorf("top_regions written = %q, want [NP IN] as at Write time", got)
	}
}

func TestInvalidRowsRefused(t *testing.T) {
	good := testMinutes(1, "hashtag:a")[0]
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	goodEvent := alert.Event{Alert: alert.Alert{Key: "surge|hashtag:a", Term: "hashtag:a"}, To: alert.StatusOpen, At: at, Seq: 1}
	tests := []struct {
		name  string
		write func(s *Sink) error
	}{
		{"zero bucket", func(s *Sink) error {
			m := good
			m.Bucket = time.Time{}
			return s.WriteMinutes(context.Background(), []trend.Minute{good, m})
		}},
		{"bucket before 1970", func(s *Sink) error {
			m := good
			m.Bucket = time.Unix(-1, 0)
			return s.WriteMinutes(context.Background(), []trend.Minute{m})
		}},
		{"bucket after 2106", func(s *Sink) error {
			m := good
			m.Bucket = time.Unix(1<<32, 0)
			return s.WriteMinutes(context.Background(), []trend.Minute{m})
		}},
		{"term without kind", func(s *Sink) error {
			m := good
			m.Term = "fyp"
			return s.WriteMinutes(context.Background(), []trend.Minute{m})
		}},
		{"term without value", func(s *Sink) error {
			m := good
			m.Term = "hashtag:"
			return s.WriteMinutes(context.Background(), []trend.Minute{m})
		}},
		{"kind contradicts term", func(s *Sink) error {
			m := good
			m.Kind = "sound"
			return s.WriteMinutes(context.Background(), []trend.Minute{m})
		}},
		{"alert without key", func(s *Sink) error {
			e := goodEvent
			e.Alert.Key = ""
			return s.WriteAlerts(context.Background(), []alert.Event{e})
		}},
		{"transition without time", func(s *Sink) error {
			e := goodEvent
			e.At = time.Time{}
			return s.WriteAlerts(context.Background(), []alert.Event{e})
		}},
		{"transition without status", func(s *Sink) error {
			e := goodEvent
			e.To = ""
			return s.WriteAlerts(context.Background(), []alert.Event{e})
		}},
		{"resolved before 1970", func(s *Sink) error {
			e := goodEvent
			e.Alert.ResolvedAt = time.Unix(-100, 0)
			return s.WriteAlerts(context.Background(), []alert.Event{e})
		}},
		{"stats without topic", func(s *Sink) error {
			return s.WriteIngestStats(context.Background(), []IngestStats{{Bucket: at, Instance: "i"}})
		}},
		{"stats without bucket", func(s *Sink) error {
			return s.WriteIngestStats(context.Background(), []IngestStats{{Topic: "content"}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeServer{}
			s := newTestSink(t, unitConfig(), f)
			err := tt.write(s)
			if !errors.Is(err, ErrInvalidRow) {
				t.Fatalf("err = %v, want ErrInvalidRow", err)
			}
			if q := counter(t, s.m.queuedRows); q != 0 {
				t.Errorf("queued rows = %v after a refused call, want 0", q)
			}
		})
	}
}

func TestWriteAlertsBlocks(t *testing.T) {
	f := &fakeServer{}
	s := newTestSink(t, unitConfig(), f)
	at := time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)
	open := alert.Event{
		Alert: alert.Alert{Key: "surge|hashtag:a", Detector: "surge", Term: "hashtag:a", Status: alert.StatusOpen,
			Severity: alert.SeverityHigh, Watchlisted: true, Early: true, Samples: []string{"c1"}},
		To: alert.StatusOpen, At: at, Seq: 1,
	}
	resolved := open
	resolved.Alert.Status, resolved.From, resolved.To, resolved.Seq = alert.StatusResolved, alert.StatusOpen, alert.StatusResolved, 2
	resolved.Reason = alert.ReasonRetracted
	resolved.At = at.Add(time.Minute)
	resolved.Alert.ResolvedAt = resolved.At
	ctx := context.Background()
	if err := s.WriteAlerts(ctx, []alert.Event{open, resolved}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := written[string](f, "alert_events", "event_id"); !slices.Equal(got, []string{"surge|hashtag:a#1", "surge|hashtag:a#2"}) {
		t.Errorf("alert_events event_id = %q", got)
	}
	if got := written[uint64](f, "alerts", "version"); !slices.Equal(got, []uint64{1, 2}) {
		t.Errorf("alerts version = %v, want the sequence numbers", got)
	}
	if got := written[string](f, "alerts", "severity"); !slices.Equal(got, []string{"high", "high"}) {
		t.Errorf("alerts severity = %q", got)
	}
	if got := written[string](f, "alerts", "kind"); !slices.Equal(got, []string{"hashtag", "hashtag"}) {
		t.Errorf("alerts kind = %q", got)
	}
	res := written[*time.Time](f, "alerts", "resolved_at")
	if len(res) != 2 || res[0] != nil || res[1] == nil || !res[1].Equal(resolved.At) {
		t.Errorf("alerts resolved_at = %v, want NULL then %s", res, resolved.At)
	}
	opened := written[time.Time](f, "alerts", "opened_at")
	if len(opened) != 2 || !opened[0].Equal(at) {
		t.Errorf("opened_at of a transition without OpenedAt = %v, want its time %s", opened, at)
	}
	if got := written[uint8](f, "alert_events", "watchlisted"); !slices.Equal(got, []uint8{1, 1}) {
		t.Errorf("watchlisted = %v", got)
	}
	if got := written[string](f, "alert_events", "from_status"); !slices.Equal(got, []string{"", "open"}) {
		t.Errorf("from_status = %q", got)
	}
	if got := written[uint8](f, "alerts", "early"); !slices.Equal(got, []uint8{1, 1}) {
		t.Errorf("alerts early = %v", got)
	}
	if got := written[string](f, "alert_events", "reason"); !slices.Equal(got, []string{"", "retracted"}) {
		t.Errorf("alert_events reason = %q", got)
	}
}

func TestIngestStatsBlock(t *testing.T) {
	f := &fakeServer{}
	s := newTestSink(t, unitConfig(), f)
	ctx := context.Background()
	st := IngestStats{Bucket: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Instance: "tw-1", Topic: "reports", Partition: 7, Events: 9, Lag: -1, Version: 3}
	if err := s.WriteIngestStats(ctx, []IngestStats{st}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := written[int32](f, "ingest_stats", "kafka_partition"); !slices.Equal(got, []int32{7}) {
		t.Errorf("kafka_partition = %v", got)
	}
	if got := written[int64](f, "ingest_stats", "consumer_lag"); !slices.Equal(got, []int64{-1}) {
		t.Errorf("consumer_lag = %v", got)
	}
}

func TestCloseFlushes(t *testing.T) {
	f := &fakeServer{}
	s := newTestSink(t, unitConfig(), f)
	if err := s.WriteMinutes(context.Background(), testMinutes(3, "hashtag:a")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := f.rows("trend_minute"); n != 3 {
		t.Errorf("rows written by Close = %d, want 3", n)
	}
	if err := s.WriteMinutes(context.Background(), testMinutes(1, "hashtag:a")); !errors.Is(err, ErrClosed) {
		t.Errorf("write after Close = %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestCloseGivesUpWhenDown(t *testing.T) {
	f := &fakeServer{down: refused()}
	cfg := unitConfig()
	cfg.CloseTimeout = 50 * time.Millisecond
	s := newTestSink(t, cfg, f)
	if err := s.WriteMinutes(context.Background(), testMinutes(3, "hashtag:a")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := s.Close()
	if err == nil || !strings.Contains(err.Error(), "3 rows") {
		t.Errorf("Close while down = %v, want an error counting the 3 unwritten rows", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("Close took %s with close_timeout %s", el, cfg.CloseTimeout)
	}
	if err := s.Flush(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close = %v, want ErrClosed", err)
	}
}

// TestConcurrentWriters checks that every row of many writers lands once,
// under the race detector too.
func TestConcurrentWriters(t *testing.T) {
	f := &fakeServer{}
	cfg := unitConfig()
	cfg.BatchRows, cfg.QueueRows = 7, 20
	cfg.FlushInterval = time.Millisecond
	s := newTestSink(t, cfg, f)
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 25 {
				if err := s.WriteMinutes(ctx, testMinutes(1+i%3, fmt.Sprintf("hashtag:w%d", w))); err != nil {
					t.Error(err)
					return
				}
				if i%10 == 0 {
					if err := s.Flush(ctx); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// 25 calls of 1, 2, 3, 1, ... rows: 9 threes, 8 twos, 8 ones... per writer.
	per := 0
	for i := range 25 {
		per += 1 + i%3
	}
	if n := f.rows("trend_minute"); n != 8*per {
		t.Errorf("rows written = %d, want %d", n, 8*per)
	}
	if q := counter(t, s.m.queuedRows); q != 0 {
		t.Errorf("queued rows after Flush = %v, want 0", q)
	}
}

func TestIsTransient(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", refused(), true},
		{"wrapped reset", fmt.Errorf("write: %w", syscall.ECONNRESET), true},
		{"attempt timeout", context.DeadlineExceeded, true},
		{"pool exhausted", ch.ErrAcquireConnTimeout, true},
		{"too many parts", &ch.Exception{Code: 252}, true},
		{"memory limit", fmt.Errorf("send: %w", &ch.Exception{Code: 241}), true},
		{"keeper", &ch.Exception{Code: 999}, true},
		{"unknown table", &ch.Exception{Code: 60}, false},
		{"no such column", &ch.Exception{Code: 16}, false},
		{"type mismatch", &ch.Exception{Code: 53}, false},
		{"authentication", &ch.Exception{Code: 516}, false},
		{"encoding", permanent(errors.New("converting string to UInt64")), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isTransient(tt.err); got != tt.want {
				t.Errorf("isTransient(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func BenchmarkWriteMinutes(b *testing.B) {
	f := &fakeServer{discard: true}
	cfg := unitConfig()
	cfg.BatchRows, cfg.QueueRows = 10_000, 200_000
	s := newTestSink(b, cfg, f)
	rows := testMinutes(1000, "hashtag:fyp")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := s.WriteMinutes(ctx, rows); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	f.mu.Lock()
	written := f.written
	f.mu.Unlock()
	if written != b.N*len(rows) {
		b.Fatalf("%d rows written, want %d", written, b.N*len(rows))
	}
	b.ReportMetric(float64(b.N*len(rows))/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkMinuteBlock(b *testing.B) {
	rows, err := copyMinutes(testMinutes(10_000, "hashtag:fyp"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		minuteBlock(rows)
	}
	b.ReportMetric(float64(b.N*len(rows))/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkAlertBlocks(b *testing.B) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	evs := make([]alert.Event, 1000)
	for i := range evs {
		evs[i] = alert.Event{Alert: alert.Alert{Key: fmt.Sprintf("surge|hashtag:t%d", i), Term: fmt.Sprintf("hashtag:t%d", i),
			Status: alert.StatusOpen, Severity: alert.SeverityHigh, TopRegions: []string{"NP"}, Samples: []string{"a", "b", "c"}},
			To: alert.StatusOpen, At: at, Seq: 1}
	}
	cp, err := copyEvents(evs)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		alertEventsBlock(cp)
		alertsBlock(cp)
	}
}

func TestCloseReleasesBlockedWriters(t *testing.T) {
	f := &fakeServer{down: refused()}
	cfg := unitConfig()
	cfg.BatchRows, cfg.QueueRows = 5, 5
	cfg.CloseTimeout = 50 * time.Millisecond
	s := newTestSink(t, cfg, f)
	ctx := context.Background()
	if err := s.WriteMinutes(ctx, testMinutes(5, "hashtag:a")); err != nil {
		t.Fatal(err)
	}
	blocked := make(chan error, 1)
	go func() { blocked <- s.WriteMinutes(ctx, testMinutes(1, "hashtag:b")) }()
	time.Sleep(20 * time.Millisecond)
	_ = s.Close() // fails: 5 rows unwritten
	select {
	case err := <-blocked:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("blocked write after Close = %v, want ErrClosed", err)
		}
	case <-time.After(time.Second):
		t.Fatal("write blocked on a full queue stayed blocked after Close")
	}
}
