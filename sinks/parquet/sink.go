// Package parquet writes trendwatch's per-minute aggregates and alert transitions
// as a Hive-partitioned Parquet dataset that notebooks, DuckDB and ClickHouse's
// file() read directly. It is the embedded default when no ClickHouse is
// configured.
//
// Layout, partitioned by the row's event time in UTC:
//
//	<dir>/trend_minute/date=YYYY-MM-DD/hour=HH/part-<unixnano>-<seq>.parquet
//	<dir>/alert_events/date=YYYY-MM-DD/hour=HH/part-<unixnano>-<seq>.parquet
//
// Rows are buffered in memory and every Flush writes one new part per partition
// that has rows, through a hidden temporary name that is fsynced and renamed, so a
// reader never sees half a file and a crash never leaves one visible.
//
// Once the pipeline's event time is two partition widths past a partition, its
// files are merged into one data.parquet. The merged file is renamed into place
// before the parts it replaces are removed, so a reader listing the directory in
// between sees those rows twice. That is harmless by design: trend_minute rows are
// already read "largest version per (bucket, term)" because late events and replays
// rewrite rows, and alert_events rows carry event_id. A reader that wants to avoid
// even the moment of overlap can prefer data.parquet: its footer key
// "trendwatch.merged_parts" lists the parts it contains, which is also how a
// compaction interrupted by a crash is finished without merging a part twice.
//
// A dataset directory belongs to one process, but for the moment a standby
// takes over from a paused primary the two share it. Compactions take turns
// under an advisory lock on Dir/.compact.lock (flock, released by the kernel
// when its holder dies), as two merging one partition at once would lose the
// rows of the parts only one of them listed; temporary files are removed only
// once they are older than any write takes.
package parquet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/trend"
)

// Sink buffers rows and writes them as Parquet files. It is safe for concurrent
// use.
type Sink struct {
	cfg     Config
	log     *slog.Logger
	mem     memory.Allocator
	metrics *metrics
	now     func() time.Time

	flushMu sync.Mutex // serialises Flush, compaction and Close

	mu        sync.Mutex // guards what follows
	minutes   *table
	alerts    *table
	intake    *table
	watermark time.Time // latest event time written: how far the pipeline has moved
	seq       uint64
	closed    bool
	// buffered is the rows held, written to no file yet; failed is the last
	// flush's error while the rows it could not write are held, nil once
	// one succeeds (see Config.MaxBuffered).
	buffered int
	failed   error
}

type table struct {
	name   string
	schema *arrow.Schema
	parts  map[time.Time]*partition // by partition start
	dirty  map[string]bool          // partitions, relative to Dir, that may need compacting
}

// partition is what is buffered for one partition: rows being appended, and
// records a failed Flush could not write yet.
type partition struct {
	b       *array.RecordBuilder
	minute  *minuteCols
	alert   *alertCols
	intake  *intakeCols
	pending []arrow.Record
}

// New checks cfg, creates the dataset directory and removes temporary files an
// earlier process left behind when it crashed mid-write.
func New(cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	s := &Sink{
		cfg:     cfg,
		log:     log.With("sink", "parquet", "dir", cfg.Dir),
		mem:     memory.NewGoAllocator(),
		metrics: m,
		now:     time.Now,
		minutes: &table{name: TableMinutes, schema: minuteSchema(), parts: map[time.Time]*partition{}, dirty: map[string]bool{}},
		alerts:  &table{name: TableAlerts, schema: alertSchema(), parts: map[time.Time]*partition{}, dirty: map[string]bool{}},
		intake:  &table{name: TableIntake, schema: intakeSchema(), parts: map[time.Time]*partition{}, dirty: map[string]bool{}},
	}
	if err := mkdirDurable(cfg.Dir); err != nil {
		return nil, fmt.Errorf("parquet.dir: %w", err)
	}
	for _, t := range s.tables() {
		if err := s.scan(t); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// staleTemp is how old a temporary file must be for New to take it for one a
// killed process left: writing a part or a compaction takes seconds.
const staleTemp = 10 * time.Minute

// tables are the sink's tables, in the order they are flushed.
func (s *Sink) tables() []*table { return []*table{s.minutes, s.alerts, s.intake} }

// scan removes leftover temporary files and marks every partition holding more
// than one file (or an unfinished compaction) for compaction once it is complete.
func (s *Sink) scan(t *table) error {
	root := filepath.Join(s.cfg.Dir, t.name)
	hours, err := filepath.Glob(filepath.Join(root, "date=*", "hour=*"))
	if err != nil {
		return fmt.Errorf("list partitions under %s: %w", root, err)
	}
	for _, dir := range hours {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("list partition %s: %w", dir, err)
		}
		files := 0
		for _, e := range entries {
			switch name := e.Name(); {
			case strings.HasPrefix(name, tmpPrefix):
				// Only a file older than any write under way: a standby, or
				// a second process refused a moment later, opens the
				// directory its owner is writing in, and removing the
				// owner's file would fail its rename.
				if info, err := e.Info(); err != nil || s.now().Sub(info.ModTime()) < staleTemp {
					continue
				}
				if err := os.Remove(filepath.Join(dir, name)); err != nil {
					return fmt.Errorf("remove leftover temporary file: %w", err)
				}
				s.log.Info("removed leftover temporary file", "file", filepath.Join(dir, name))
			case name == mergedName || isPart(name):
				files++
			}
		}
		if files > 1 {
			rel, err := filepath.Rel(s.cfg.Dir, dir)
			if err != nil {
				return fmt.Errorf("partition %s: %w", dir, err)
			}
			t.dirty[rel] = true
		}
	}
	return nil
}

// WriteMinutes buffers rows; they are copied into Arrow builders, so rows may be
// reused as soon as it returns.
func (s *Sink) WriteMinutes(ctx context.Context, rows []trend.Minute) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("parquet sink: WriteMinutes after Close")
	}
	if err := s.room(len(rows)); err != nil {
		return err
	}
	for i := range rows {
		p := s.partition(s.minutes, rows[i].Bucket)
		p.minute.append(&rows[i])
		s.advance(rows[i].Bucket)
	}
	s.metrics.buffered.WithLabelValues(TableMinutes).Add(float64(len(rows)))
	return nil
}

// WriteIntake buffers a closed bucket's intake, partitioned by its bucket.
func (s *Sink) WriteIntake(ctx context.Context, in trend.Intake) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("parquet sink: WriteIntake after Close")
	}
	if err := s.room(1); err != nil {
		return err
	}
	s.partition(s.intake, in.Bucket).intake.append(&in)
	s.advance(in.Bucket)
	s.metrics.buffered.WithLabelValues(TableIntake).Inc()
	return nil
}

// WriteAlerts buffers alert transitions, partitioned by the transition's event
// time (Event.At).
func (s *Sink) WriteAlerts(ctx context.Context, evs []alert.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("parquet sink: WriteAlerts after Close")
	}
	if err := s.room(len(evs)); err != nil {
		return err
	}
	for i := range evs {
		p := s.partition(s.alerts, evs[i].At)
		p.alert.append(&evs[i])
		s.advance(evs[i].At)
	}
	s.metrics.buffered.WithLabelValues(TableAlerts).Add(float64(len(evs)))
	return nil
}

// room takes n more rows into the buffer, or refuses them once flushes fail
// and the buffer holds Config.MaxBuffered. s.mu is held.
func (s *Sink) room(n int) error {
	if s.failed != nil && s.buffered+n > s.cfg.MaxBuffered {
		return fmt.Errorf("parquet sink: %d rows held since flushes began to fail, at parquet.max_buffered_rows (%d): %w",
			s.buffered, s.cfg.MaxBuffered, s.failed)
	}
	s.buffered += n
	return nil
}

func (s *Sink) partition(t *table, at time.Time) *partition {
	start := at.UTC().Truncate(s.cfg.Roll)
	p := t.parts[start]
	if p != nil && p.b != nil {
		return p
	}
	if p == nil {
		p = &partition{}
		t.parts[start] = p
	}
	p.b = array.NewRecordBuilder(s.mem, t.schema)
	switch t {
	case s.minutes:
		p.minute = newMinuteCols(p.b)
	case s.alerts:
		p.alert = newAlertCols(p.b)
	default:
		p.intake = newIntakeCols(p.b)
	}
	return p
}

func (s *Sink) advance(at time.Time) {
	if at.After(s.watermark) {
		s.watermark = at
	}
}

type job struct {
	t     *table
	start time.Time
	recs  []arrow.Record
	rows  int64
}

// Flush writes every buffered row to a new part file per partition and then
// compacts the partitions the pipeline has left behind. It returns nil only when
// every row written before it is in a durable, fully visible file; on error the
// rows that were not written stay buffered for the next Flush. A failed compaction
// does not fail Flush: the parts it would have merged are durable already.
func (s *Sink) Flush(ctx context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	return s.flush(ctx)
}

func (s *Sink) flush(ctx context.Context) error {
	began := time.Now()
	s.mu.Lock()
	var jobs []job
	for _, t := range s.tables() {
		for start, p := range t.parts {
			j := job{t: t, start: start, recs: p.pending}
			if p.b != nil {
				rec := p.b.NewRecord()
				p.b.Release()
				if rec.NumRows() > 0 {
					j.recs = append(j.recs, rec)
				} else {
					rec.Release()
				}
			}
			for _, r := range j.recs {
				j.rows += r.NumRows()
			}
			if j.rows > 0 {
				jobs = append(jobs, j)
			}
			// Past partitions stop receiving rows; dropping their builders keeps
			// memory to what is waiting to be written.
			delete(t.parts, start)
		}
	}
	watermark := s.watermark
	s.mu.Unlock()
	// Older partitions first, so a Flush cut short by ctx leaves the newest rows
	// buffered rather than a hole in the past.
	sort.Slice(jobs, func(i, k int) bool { return jobs[i].start.Before(jobs[k].start) })

	var errs []error
	for i, j := range jobs {
		err := ctx.Err()
		if err == nil {
			err = s.writePart(j)
		}
		if err != nil {
			errs = append(errs, err)
			s.metrics.errors.WithLabelValues(j.t.name).Inc()
			s.requeue(jobs[i])
			continue
		}
		for _, r := range j.recs {
			r.Release()
		}
		s.metrics.buffered.WithLabelValues(j.t.name).Sub(float64(j.rows))
		s.mu.Lock()
		s.buffered -= int(j.rows)
		s.mu.Unlock()
	}
	s.metrics.flushSeconds.Observe(time.Since(began).Seconds())
	s.mu.Lock()
	s.failed = errors.Join(errs...)
	s.mu.Unlock()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	s.compactComplete(ctx, watermark)
	return nil
}

func (s *Sink) requeue(j job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := j.t.parts[j.start]
	if p == nil {
		p = &partition{}
		j.t.parts[j.start] = p
	}
	p.pending = append(j.recs, p.pending...)
}

func (s *Sink) writePart(j job) error {
	rel := partitionDir(j.t.name, j.start, s.cfg.Roll)
	dir := filepath.Join(s.cfg.Dir, rel)
	if err := mkdirDurable(dir); err != nil {
		return fmt.Errorf("parquet %s: %w", j.t.name, err)
	}
	s.mu.Lock()
	s.seq++
	name := partName(s.now().UnixNano(), s.seq)
	s.mu.Unlock()
	size, err := writeAtomic(dir, name, func(w io.Writer) error {
		fw, err := s.newWriter(j.t.schema, w)
		if err != nil {
			return err
		}
		for _, r := range j.recs {
			if err := fw.Write(r); err != nil {
				fw.Close()
				return fmt.Errorf("encode %d rows: %w", r.NumRows(), err)
			}
		}
		return fw.Close()
	})
	if err != nil {
		return fmt.Errorf("parquet %s partition %s: %w", j.t.name, rel, err)
	}
	s.metrics.rows.WithLabelValues(j.t.name).Add(float64(j.rows))
	s.metrics.files.WithLabelValues(j.t.name).Inc()
	s.metrics.bytes.WithLabelValues(j.t.name).Add(float64(size))
	s.log.Debug("wrote part", "file", filepath.Join(rel, name), "rows", j.rows, "bytes", size)
	s.mu.Lock()
	j.t.dirty[rel] = true
	s.mu.Unlock()
	return nil
}

func (s *Sink) newWriter(schema *arrow.Schema, w io.Writer) (*pqarrow.FileWriter, error) {
	props := parquet.NewWriterProperties(
		parquet.WithAllocator(s.mem),
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithCreatedBy("trendwatch"),
	)
	// The stored Arrow schema brings back uint64 and the UTC zone exactly when
	// the files are read by Arrow (and by compaction).
	arrProps := pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(s.mem))
	fw, err := pqarrow.NewFileWriter(schema, w, props, arrProps)
	if err != nil {
		return nil, fmt.Errorf("new parquet writer: %w", err)
	}
	return fw, nil
}

// Close flushes what is buffered and refuses writes afterwards. When that flush
// fails, calling Close again retries it.
func (s *Sink) Close() error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return s.flush(context.Background())
}
