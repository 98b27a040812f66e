// Package clickhouse stores trendwatch's per-minute term aggregates, alerts and
// intake statistics in ClickHouse, and owns the schema analysts query.
//
// Writes are queued, batched into columnar INSERTs and retried until they land:
// every table is a ReplacingMergeTree keyed so that a row written twice (a retry
// whose first attempt did land, a replay after a restart, a late event that
// rewrites a bucket) is stored once, and the views read the latest version. The
// queue is bounded: while ClickHouse is down, writes block and Flush does not
// return, so the pipeline stops committing offsets and pauses consumption
// instead of dropping rows or growing without bound.
package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/trend"
)

// inserter sends one columnar INSERT; tests replace the server with a fake.
type inserter interface {
	insert(ctx context.Context, b *block) error
}

type chInserter struct {
	conn driver.Conn
	db   string
}

func (c chInserter) insert(ctx context.Context, b *block) error {
	batch, err := c.conn.PrepareBatch(ctx, b.query(c.db))
	if err != nil {
		return err
	}
	for i, col := range b.cols {
		if err := batch.Column(i).Append(col); err != nil {
			_ = batch.Abort()
			// The driver refused our own values for the server's column type:
			// the schema and this build disagree, and will on every retry.
			return permanent(fmt.Errorf("column %s: %w", b.names[i], err))
		}
	}
	return batch.Send()
}

// pending is what is queued and not yet taken by a flush.
type pending struct {
	minutes []trend.Minute
	events  []alert.Event
	stats   []IngestStats
}

// Sink writes to ClickHouse in the background. Its methods are safe for
// concurrent use.
type Sink struct {
	cfg       Config
	log       *slog.Logger
	m         *metrics
	ins       inserter
	closeConn func() error

	// ctx ends when Close gives up on the final flush; it aborts retries.
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the flusher has exited
	wake   chan struct{} // nudges the flusher to look at the queue again

	mu         sync.Mutex
	pend       pending
	pendRows   int       // rows in pend
	inflight   int       // rows taken by the flush in progress
	firstAt    time.Time // when the oldest row in pend was queued
	flushReq   bool      // flush pend now, regardless of size and age
	enqSeq     uint64    // write calls accepted
	durableSeq uint64    // write calls all of whose rows ClickHouse acknowledged
	err        error     // permanent failure; the sink writes nothing more
	lastErr    error     // latest transient failure, for whoever is waiting
	closing    bool
	stopped    bool
	changed    chan struct{} // closed and replaced on every change waiters care about
}

// Open connects, checks that the schema is in place and starts the background
// flusher. A nil reg registers no metrics.
func Open(ctx context.Context, cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	conn, err := dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := checkSchema(ctx, conn, cfg.Database); err != nil {
		_ = conn.Close()
		return nil, err
	}
	m, err := newMetrics(reg)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("clickhouse: registering metrics: %w", err)
	}
	log.Info("clickhouse sink open", "config", cfg)
	return newSink(cfg, log, m, chInserter{conn: conn, db: cfg.Database}, conn.Close), nil
}

func dial(ctx context.Context, cfg Config) (driver.Conn, error) {
	opts, err := cfg.options()
	if err != nil {
		return nil, err
	}
	conn, err := ch.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: connecting to %s: %w", strings.Join(cfg.Addr, ","), err)
	}
	if err := conn.Ping(ctx); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("clickhouse: ping %s: %w", strings.Join(cfg.Addr, ","), err)
	}
	return conn, nil
}

func checkSchema(ctx context.Context, conn driver.Conn, db string) error {
	var v uint32
	err := conn.QueryRow(ctx, "SELECT max(version) FROM `"+db+"`.schema_migrations").Scan(&v)
	switch {
	case isSchemaError(err):
		return fmt.Errorf("clickhouse: database %q has no trendwatch schema: run `trendwatch migrate`: %w", db, err)
	case err != nil:
		return fmt.Errorf("clickhouse: reading schema version of %q: %w", db, err)
	case int(v) < latestVersion():
		return fmt.Errorf("clickhouse: database %q is at schema version %d, this build needs %d: run `trendwatch migrate`", db, v, latestVersion())
	}
	return nil
}

func newSink(cfg Config, log *slog.Logger, m *metrics, ins inserter, closeConn func() error) *Sink {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sink{
		cfg: cfg, log: log, m: m, ins: ins, closeConn: closeConn,
		ctx: ctx, cancel: cancel,
		done:    make(chan struct{}),
		wake:    make(chan struct{}, 1),
		changed: make(chan struct{}),
	}
	go s.run()
	return s
}

// WriteMinutes queues per-bucket term aggregates. It copies rows before
// returning. While the queue holds queue_rows unwritten rows it blocks until
// there is room or ctx is done; a call is queued whole or not at all.
func (s *Sink) WriteMinutes(ctx context.Context, rows []trend.Minute) error {
	if len(rows) == 0 {
		return nil
	}
	cp, err := copyMinutes(rows)
	if err != nil {
		return fmt.Errorf("clickhouse: %w", err)
	}
	return s.enqueue(ctx, len(cp), func(p *pending) { p.minutes = append(p.minutes, cp...) })
}

// WriteAlerts queues alert transitions: each upserts the alert's current state
// (version Event.Seq) and appends to its history, where a resent transition
// (same Event.ID) is stored once. It blocks like WriteMinutes.
func (s *Sink) WriteAlerts(ctx context.Context, evs []alert.Event) error {
	if len(evs) == 0 {
		return nil
	}
	cp, err := copyEvents(evs)
	if err != nil {
		return fmt.Errorf("clickhouse: %w", err)
	}
	return s.enqueue(ctx, len(cp), func(p *pending) { p.events = append(p.events, cp...) })
}

// WriteIntake queues a closed bucket's intake as its ingest_stats row, for
// every topic and partition together (topic "*", partition -1). It blocks
// like WriteMinutes.
func (s *Sink) WriteIntake(ctx context.Context, in trend.Intake) error {
	return s.WriteIngestStats(ctx, []IngestStats{{
		Bucket: in.Bucket, Instance: in.Instance, Topic: "*", Partition: -1,
		Events: in.Events, Invalid: in.Invalid, Late: in.Late, Version: in.Version,
	}})
}

// WriteIngestStats queues intake statistics. It blocks like WriteMinutes.
func (s *Sink) WriteIngestStats(ctx context.Context, rows []IngestStats) error {
	if len(rows) == 0 {
		return nil
	}
	cp, err := copyStats(rows)
	if err != nil {
		return fmt.Errorf("clickhouse: %w", err)
	}
	return s.enqueue(ctx, len(cp), func(p *pending) { p.stats = append(p.stats, cp...) })
}

func (s *Sink) enqueue(ctx context.Context, n int, add func(*pending)) error {
	var blockedAt time.Time
	defer func() {
		if !blockedAt.IsZero() {
			s.m.blocked.Add(time.Since(blockedAt).Seconds())
		}
	}()
	s.mu.Lock()
	for {
		if s.err != nil {
			s.mu.Unlock()
			return s.err
		}
		if s.closing {
			s.mu.Unlock()
			return ErrClosed
		}
		queued := s.pendRows + s.inflight
		// An empty queue takes any call, so that a call larger than the whole
		// queue is slow rather than stuck forever.
		if queued == 0 || queued+n <= s.cfg.QueueRows {
			break
		}
		if blockedAt.IsZero() {
			blockedAt = time.Now()
		}
		if s.pendRows > 0 {
			s.flushReq = true
			s.kick()
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("clickhouse: queue full (%d rows unwritten, clickhouse.queue_rows %d): %w%s",
				queued, s.cfg.QueueRows, ctx.Err(), s.lastErrSuffix())
		}
		s.mu.Lock()
	}
	add(&s.pend)
	if s.pendRows == 0 {
		s.firstAt = time.Now()
		s.kick() // arm the flush_interval timer
	}
	s.pendRows += n
	s.enqSeq++
	if s.pendRows >= s.cfg.BatchRows {
		s.kick()
	}
	s.m.queuedRows.Set(float64(s.pendRows + s.inflight))
	s.mu.Unlock()
	return nil
}

// Flush returns nil once every row queued before the call is acknowledged by
// ClickHouse. While ClickHouse is unreachable it keeps waiting (the flusher
// retries with backoff) until ctx is done; a permanent failure is returned at
// once.
func (s *Sink) Flush(ctx context.Context) error {
	s.mu.Lock()
	target := s.enqSeq
	for {
		if s.durableSeq >= target {
			s.mu.Unlock()
			return nil
		}
		if s.err != nil {
			s.mu.Unlock()
			return s.err
		}
		if s.stopped {
			n := s.pendRows + s.inflight
			s.mu.Unlock()
			return fmt.Errorf("clickhouse: flush: %d rows not written: %w", n, ErrClosed)
		}
		if s.pendRows > 0 {
			s.flushReq = true
			s.kick()
		}
		n := s.pendRows + s.inflight
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("clickhouse: flush: %d rows not yet written: %w%s", n, ctx.Err(), s.lastErrSuffix())
		}
		s.mu.Lock()
	}
}

// Close flushes for at most close_timeout, stops the flusher and closes the
// connection. Rows still unwritten then are reported in the error.
func (s *Sink) Close() error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		<-s.done
		return nil
	}
	s.closing = true
	s.broadcast() // writers blocked on a full queue return ErrClosed now
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.CloseTimeout)
	ferr := s.Flush(ctx)
	cancel()
	s.cancel()
	<-s.done
	cerr := s.closeConn()
	if ferr != nil {
		return fmt.Errorf("clickhouse: close: %w", ferr)
	}
	if cerr != nil {
		return fmt.Errorf("clickhouse: close: %w", cerr)
	}
	return nil
}

func (s *Sink) lastErrSuffix() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastErr == nil {
		return ""
	}
	return " (last write error: " + s.lastErr.Error() + ")"
}

// kick wakes the flusher; callers hold mu.
func (s *Sink) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// broadcast wakes every waiter; callers hold mu.
func (s *Sink) broadcast() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// due says whether to flush now, or else how long until the oldest queued row
// reaches flush_interval (0: nothing queued). Callers hold mu.
func (s *Sink) due(now time.Time) (bool, time.Duration) {
	if s.err != nil || s.pendRows == 0 {
		s.flushReq = false
		return false, 0
	}
	if s.flushReq || s.pendRows >= s.cfg.BatchRows {
		return true, 0
	}
	age := now.Sub(s.firstAt)
	if age >= s.cfg.FlushInterval {
		return true, 0
	}
	return false, s.cfg.FlushInterval - age
}

// run is the flusher: one flush at a time, each taking everything queued.
func (s *Sink) run() {
	defer func() {
		s.mu.Lock()
		s.stopped = true
		s.broadcast()
		s.mu.Unlock()
		close(s.done)
	}()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		s.mu.Lock()
		flush, wait := s.due(time.Now())
		var batch pending
		var seq uint64
		if flush {
			batch, s.pend = s.pend, pending{}
			s.inflight, s.pendRows = s.pendRows, 0
			s.flushReq = false
			seq = s.enqSeq
		}
		s.mu.Unlock()

		if !flush {
			if wait > 0 {
				timer.Reset(wait)
			}
			select {
			case <-s.wake:
			case <-timer.C:
			case <-s.ctx.Done():
				return
			}
			timer.Stop()
			continue
		}

		start := time.Now()
		err := s.write(&batch)
		s.mu.Lock()
		switch {
		case err == nil:
			s.durableSeq = seq
			s.inflight = 0
			s.lastErr = nil
			s.m.flushDuration.Observe(time.Since(start).Seconds())
		case s.ctx.Err() != nil:
			// Closing gave up; the rows stay counted as unwritten.
		default:
			s.err = err
			s.log.Error("clickhouse sink stopped on a permanent error; queued rows are kept but not written",
				"rows", s.inflight+s.pendRows, "err", err)
		}
		s.m.queuedRows.Set(float64(s.pendRows + s.inflight))
		s.broadcast()
		s.mu.Unlock()
		if s.ctx.Err() != nil {
			return
		}
	}
}

// write inserts a taken batch table by table. Blocks are built once from the
// sink's own copy of the rows and resent as they are on every retry.
func (s *Sink) write(p *pending) error {
	var blocks []*block
	if len(p.minutes) > 0 {
		blocks = append(blocks, minuteBlock(p.minutes))
	}
	if len(p.events) > 0 {
		// History first: an alert whose state landed without its transition
		// would show in alerts but not in alert_timeline.
		blocks = append(blocks, alertEventsBlock(p.events), alertsBlock(p.events))
	}
	if len(p.stats) > 0 {
		blocks = append(blocks, statsBlock(p.stats))
	}
	for _, b := range blocks {
		if err := s.insert(b); err != nil {
			return err
		}
	}
	return nil
}

// insert retries one block with capped exponential backoff and jitter until
// it lands, fails permanently or the sink is closed.
func (s *Sink) insert(b *block) error {
	delay := min(100*time.Millisecond, s.cfg.MaxRetryDelay)
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(s.ctx, s.cfg.WriteTimeout)
		err := s.ins.insert(ctx, b)
		cancel()
		if err == nil {
			s.m.rowsWritten.WithLabelValues(b.table).Add(float64(b.rows))
			if attempt > 1 {
				s.log.Info("clickhouse insert succeeded after retries", "table", b.table, "rows", b.rows, "attempts", attempt)
			}
			return nil
		}
		if s.ctx.Err() != nil {
			return fmt.Errorf("clickhouse: writing %d rows to %s: %w", b.rows, b.table, errors.Join(s.ctx.Err(), err))
		}
		if !isTransient(err) {
			s.m.flushErrors.WithLabelValues(b.table, "permanent").Inc()
			return fmt.Errorf("clickhouse: writing %d rows to %s: %w", b.rows, b.table, describe(err))
		}
		s.m.flushErrors.WithLabelValues(b.table, "transient").Inc()
		s.mu.Lock()
		s.lastErr = err
		s.mu.Unlock()
		// Jitter keeps a fleet of consumers from retrying in lockstep after
		// a shared outage.
		wait := delay/2 + rand.N(delay/2+1)
		s.log.Warn("clickhouse insert failed; retrying", "table", b.table, "rows", b.rows,
			"attempt", attempt, "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return fmt.Errorf("clickhouse: writing %d rows to %s: %w", b.rows, b.table, errors.Join(s.ctx.Err(), err))
		}
		s.m.retries.WithLabelValues(b.table).Inc()
		delay = min(delay*2, s.cfg.MaxRetryDelay)
	}
}
