package parquet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// mergedPartsKey is the footer key of data.parquet listing the part files merged
// into it, comma-separated.
const mergedPartsKey = "trendwatch.merged_parts"

// compactBatch bounds the rows held in memory while merging, whatever the size of
// the partition.
const compactBatch = 64 << 10

// compactComplete merges the files of every partition the pipeline has moved two
// partition widths past. Errors are logged and counted, not returned: the parts
// are durable whether or not they are merged, and the partition is tried again
// when it next receives rows or the process restarts.
func (s *Sink) compactComplete(ctx context.Context, watermark time.Time) {
	if watermark.IsZero() {
		return
	}
	cutoff := watermark.UTC().Truncate(s.cfg.Roll).Add(-2 * s.cfg.Roll)
	due := s.due(cutoff)
	if len(due) == 0 {
		return
	}
	// A standby that took over shares the directory with its primary, which
	// may wake from a pause and flush before it learns it was superseded.
	// Two compactions of one partition at once lose rows: each lists the
	// parts, and the data.parquet renamed last holds only the parts it
	// listed while both remove theirs. The lock makes them take turns; a
	// pass that finds it held leaves its partitions dirty for the next.
	unlock, ok, err := lockCompaction(s.cfg.Dir)
	if err != nil {
		s.log.Error("compaction skipped; the partitions keep their parts", "err", err)
		return
	}
	if !ok {
		s.log.Info("another process is compacting this dataset; compaction waits for the next flush")
		for t := range due {
			s.metrics.compactions.WithLabelValues(t.name, "busy").Inc()
		}
		return
	}
	defer unlock()
	for _, t := range s.tables() {
		for _, rel := range due[t] {
			if ctx.Err() != nil {
				return
			}
			merged, err := s.compact(ctx, t, rel)
			result := "ok"
			if err != nil {
				result = "error"
				s.log.Error("compaction failed; the partition keeps its parts", "partition", rel, "err", err)
			} else if merged > 0 {
				s.log.Info("compacted partition", "partition", rel, "files", merged)
			}
			s.metrics.compactions.WithLabelValues(t.name, result).Inc()
			s.mu.Lock()
			delete(t.dirty, rel)
			s.mu.Unlock()
		}
	}
}

// due lists, by table and in name order, the dirty partitions that start at
// or before cutoff, or cannot be read as partitions (compact then says why).
func (s *Sink) due(cutoff time.Time) map[*table][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[*table][]string{}
	for _, t := range s.tables() {
		for rel := range t.dirty {
			if start, err := partitionStart(rel); err != nil || !start.After(cutoff) {
				out[t] = append(out[t], rel)
			}
		}
		sort.Strings(out[t])
	}
	return out
}

// compact merges the files of one partition into data.parquet and returns how
// many files it merged (0 when there was nothing to do).
func (s *Sink) compact(ctx context.Context, t *table, rel string) (int, error) {
	dir := filepath.Join(s.cfg.Dir, rel)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("list %s: %w", dir, err)
	}
	var parts []string
	hasMerged := false
	for _, e := range entries {
		switch name := e.Name(); {
		case name == mergedName:
			hasMerged = true
		case isPart(name):
			parts = append(parts, name)
		}
	}
	if hasMerged {
		// Parts already inside data.parquet are left over from a compaction a crash
		// interrupted between the rename and the removals.
		done, err := mergedParts(filepath.Join(dir, mergedName))
		if err != nil {
			return 0, err
		}
		kept := parts[:0]
		for _, p := range parts {
			if done[p] {
				if err := removeFile(dir, p); err != nil {
					return 0, err
				}
				continue
			}
			kept = append(kept, p)
		}
		if len(kept) < len(parts) {
			if err := syncDir(dir); err != nil {
				return 0, err
			}
		}
		parts = kept
	}
	inputs := append([]string(nil), parts...)
	if hasMerged {
		inputs = append([]string{mergedName}, inputs...)
	}
	if len(inputs) <= 1 {
		return 0, nil
	}
	// ReadDir sorts by name and part names start with their write time, so the
	// merged file keeps rows in the order they were written.
	_, err = writeAtomic(dir, mergedName, func(w io.Writer) error {
		fw, err := s.newWriter(t.schema, w)
		if err != nil {
			return err
		}
		if err := fw.AppendKeyValueMetadata(mergedPartsKey, strings.Join(parts, ",")); err != nil {
			fw.Close()
			return fmt.Errorf("set %s: %w", mergedPartsKey, err)
		}
		for _, in := range inputs {
			if err := s.copyFile(ctx, fw, t.schema, filepath.Join(dir, in)); err != nil {
				fw.Close()
				return err
			}
		}
		return fw.Close()
	})
	if err != nil {
		return 0, fmt.Errorf("merge %d files of %s: %w", len(inputs), dir, err)
	}
	for _, p := range parts {
		if err := removeFile(dir, p); err != nil {
			return 0, err
		}
	}
	if err := syncDir(dir); err != nil {
		return 0, err
	}
	return len(inputs), nil
}

func removeFile(dir, name string) error {
	if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove merged part: %w", err)
	}
	return nil
}

func mergedParts(path string) (map[string]bool, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer pf.Close()
	done := map[string]bool{}
	if v := pf.MetaData().KeyValueMetadata().FindValue(mergedPartsKey); v != nil && *v != "" {
		for _, p := range strings.Split(*v, ",") {
			done[p] = true
		}
	}
	return done, nil
}

// copyFile streams the rows of one Parquet file into fw.
func (s *Sink) copyFile(ctx context.Context, fw *pqarrow.FileWriter, schema *arrow.Schema, path string) error {
	return eachRecord(ctx, path, schema, s.mem, func(rec arrow.Record) error {
		if err := fw.Write(rec); err != nil {
			return fmt.Errorf("copy rows of %s: %w", path, err)
		}
		return nil
	})
}

// eachRecord calls fn with every record of the Parquet file at path,
// conformed to schema so files written before a column existed read the same,
// and releases each record after fn returns.
func eachRecord(ctx context.Context, path string, schema *arrow.Schema, mem memory.Allocator, fn func(arrow.Record) error) error {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer pf.Close()
	if pf.NumRows() == 0 {
		return nil
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: compactBatch}, mem)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer rr.Release()
	for rr.Next() {
		rec, err := conform(rr.Record(), schema, mem)
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		err = fn(rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// conform returns rec with schema's columns in schema's order, so files written
// before a column was added still merge: a missing column is filled with nulls
// where the field is nullable and with empty values (0, "", []) where it is not.
// A column whose type changed is an error; merging it would need a decision.
func conform(rec arrow.Record, schema *arrow.Schema, mem memory.Allocator) (arrow.Record, error) {
	n := int(rec.NumRows())
	cols := make([]arrow.Array, schema.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, f := range schema.Fields() {
		idx := rec.Schema().FieldIndices(f.Name)
		if len(idx) == 0 {
			b := array.NewBuilder(mem, f.Type)
			for range n {
				if f.Nullable {
					b.AppendNull()
				} else {
					b.AppendEmptyValue()
				}
			}
			cols[i] = b.NewArray()
			b.Release()
			continue
		}
		c := rec.Column(idx[0])
		if !arrow.TypeEqual(c.DataType(), f.Type) {
			return nil, fmt.Errorf("column %s is %s, want %s", f.Name, c.DataType(), f.Type)
		}
		c.Retain()
		cols[i] = c
	}
	return array.NewRecord(schema, cols, int64(n)), nil
}
