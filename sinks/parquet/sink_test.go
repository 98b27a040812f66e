package parquet

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/trend"
)

// The pipeline's sink interface, restated so a change to the Sink's method set
// breaks this package's build rather than the pipeline's.
var _ interface {
	WriteMinutes(context.Context, []trend.Minute) error
	WriteAlerts(context.Context, []alert.Event) error
	Flush(context.Context) error
	Close() error
} = (*Sink)(nil)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"default", func(*Config) {}, ""},
		{"two hours", func(c *Config) { c.Roll = 2 * time.Hour }, ""},
		{"a day", func(c *Config) { c.Roll = 24 * time.Hour }, ""},
		{"no dir", func(c *Config) { c.Dir = "" }, "parquet.dir"},
		{"zero roll", func(c *Config) { c.Roll = 0 }, "parquet.roll"},
		{"sub-hour roll", func(c *Config) { c.Roll = 30 * time.Minute }, "parquet.roll"},
		{"not whole hours", func(c *Config) { c.Roll = 90 * time.Minute }, "parquet.roll"},
		{"does not divide a day", func(c *Config) { c.Roll = 5 * time.Hour }, "parquet.roll"},
		{"more than a day", func(c *Config) { c.Roll = 48 * time.Hour }, "parquet.roll"},
		{"no buffer", func(c *Config) { c.MaxBuffered = 0 }, "parquet.max_buffered_rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr+":")):
				t.Fatalf("Validate() = %v, want an error naming %s", err, tt.wantErr)
			}
		})
	}
}

func TestPartitionDir(t *testing.T) {
	kathmandu := time.FixedZone("NPT", 5*3600+45*60)
	tests := []struct {
		table string
		t     time.Time
		roll  time.Duration
		want  string
	}{
		{TableMinutes, time.Date(2025, 3, 9, 14, 37, 12, 0, time.UTC), time.Hour, "trend_minute/date=2025-03-09/hour=14"},
		{TableAlerts, time.Date(2025, 3, 9, 0, 0, 0, 0, time.UTC), time.Hour, "alert_events/date=2025-03-09/hour=00"},
		{TableMinutes, time.Date(2025, 3, 9, 23, 59, 59, 999999999, time.UTC), time.Hour, "trend_minute/date=2025-03-09/hour=23"},
		// Partitions are UTC whatever zone the time carries: 05:30 in Kathmandu is
		// 23:45 the day before.
		{TableMinutes, time.Date(2025, 3, 10, 5, 30, 0, 0, kathmandu), time.Hour, "trend_minute/date=2025-03-09/hour=23"},
		{TableMinutes, time.Date(2025, 3, 9, 15, 10, 0, 0, time.UTC), 2 * time.Hour, "trend_minute/date=2025-03-09/hour=14"},
		{TableMinutes, time.Date(2025, 3, 9, 11, 10, 0, 0, time.UTC), 6 * time.Hour, "trend_minute/date=2025-03-09/hour=06"},
		{TableMinutes, time.Date(2025, 3, 9, 23, 10, 0, 0, time.UTC), 24 * time.Hour, "trend_minute/date=2025-03-09/hour=00"},
		{TableMinutes, time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC), time.Hour, "trend_minute/date=2024-02-29/hour=12"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := partitionDir(tt.table, tt.t, tt.roll)
			if got != filepath.FromSlash(tt.want) {
				t.Fatalf("partitionDir(%s, %v, %v) = %s, want %s", tt.table, tt.t, tt.roll, got, tt.want)
			}
			start, err := partitionStart(got)
			if err != nil {
				t.Fatal(err)
			}
			if want := tt.t.UTC().Truncate(tt.roll); !start.Equal(want) {
				t.Fatalf("partitionStart(%s) = %v, want %v", got, start, want)
			}
		})
	}
	for _, bad := range []string{"trend_minute/2025-03-09/14", "trend_minute/date=2025-13-01/hour=00", "trend_minute/date=2025-03-09/hour=xx"} {
		if _, err := partitionStart(filepath.FromSlash(bad)); err == nil {
			t.Errorf("partitionStart(%s) = nil error", bad)
		}
	}
}

var t0 = time.Date(2025, 3, 9, 14, 0, 0, 0, time.UTC)

func sampleMinutes() []trend.Minute {
	return []trend.Minute{
		{Bucket: t0, Term: "hashtag:fyp", Kind: "hashtag", Mentions: 1200, UniqueCreators: 900, Reports: 3, UniqueReporters: 2,
			TopRegions: []string{"NP", "IN"}, Langs: []string{"ne", "en"}, ReportReasons: []string{"spam"}, Exact: true, Family: "family:fyp", Version: 1,
			ReportsByChannel: [event.NumChannels]uint64{event.ChannelUser: 1, event.ChannelRegulator: 1, event.ChannelLawEnforcement: 1}},
		{Bucket: t0.Add(time.Minute), Term: "hashtag:नेपाल", Kind: "hashtag", Mentions: 42, UniqueCreators: 40,
			TopRegions: []string{"NP"}, Langs: []string{"ne", "bho"}, Version: 3},
		{Bucket: t0.Add(59 * time.Minute), Term: "challenge:c-991", Kind: "challenge", Mentions: math.MaxUint64, UniqueCreators: 1,
			Reports: 1 << 40, UniqueReporters: 7, Version: math.MaxUint64},
		// The next hour: a second partition.
		{Bucket: t0.Add(time.Hour), Term: "sound:s-1", Kind: "sound", Mentions: 5, Langs: []string{}, Version: 1},
	}
}

func sampleAlerts() []alert.Event {
	a := alert.Alert{
		Key: "surge|hashtag:blackoutchallenge", Detector: "surge", Term: "hashtag:blackoutchallenge",
		Status: alert.StatusOpen, Severity: alert.SeverityHigh,
		OpenedAt: t0.Add(3 * time.Minute), UpdatedAt: t0.Add(3 * time.Minute), Bucket: t0.Add(2 * time.Minute),
		Score: 9.5, Observed: 300, Expected: 12.5, Growth: 24, UniqueCreators: 250, Reports: 4, ReportRate: 4.0 / 300,
		TopRegions: []string{"NP", "IN"}, Samples: []string{"c1", "c2"}, Watchlisted: true, Early: true,
		Summary: "hashtag:blackoutchallenge mentions ×24", Explanation: "observed=300 expected=12.5",
	}
	esc := a
	esc.Status, esc.Severity, esc.UpdatedAt, esc.Score = alert.StatusEscalated, alert.SeverityCritical, t0.Add(5*time.Minute), math.Inf(1)
	res := esc
	res.Status, res.ResolvedAt, res.Growth, res.TopRegions, res.Samples = alert.StatusResolved, t0.Add(70*time.Minute), math.NaN(), nil, nil
	return []alert.Event{
		{Alert: a, From: "", To: alert.StatusOpen, At: t0.Add(2 * time.Minute), Seq: 1},
		{Alert: esc, From: alert.StatusOpen, To: alert.StatusEscalated, At: t0.Add(4 * time.Minute), Seq: 2},
		{Alert: res, From: alert.StatusEscalated, To: alert.StatusResolved, At: t0.Add(69 * time.Minute), Seq: 3, Reason: alert.ReasonRetracted},
	}
}

func newTestSink(t testing.TB, dir string) (*Sink, *memory.CheckedAllocator) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Dir = dir
	s, err := New(cfg, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	s.mem = mem
	return s, mem
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, mem := newTestSink(t, dir)
	ctx := context.Background()
	minutes, alerts := sampleMinutes(), sampleAlerts()
	if err := s.WriteMinutes(ctx, minutes[:2]); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteMinutes(ctx, minutes[2:]); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteAlerts(ctx, alerts); err != nil {
		t.Fatal(err)
	}
	intake := []trend.Intake{
		{Bucket: minutes[0].Bucket, Instance: "tw-1", Events: 1234, Invalid: 2, Late: 1, Version: 7},
		{Bucket: minutes[len(minutes)-1].Bucket, Instance: "tw-1", Events: 987, Version: 8},
	}
	for _, in := range intake {
		if err := s.WriteIntake(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	// The caller owns its slices again once Write returns.
	minutes[0].TopRegions[0] = "XX"
	minutes, alerts = sampleMinutes(), sampleAlerts()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	mem.AssertSize(t, 0)

	files := dataFiles(t, dir)
	want := []string{
		"alert_events/date=2025-03-09/hour=14/part-*.parquet",
		"alert_events/date=2025-03-09/hour=15/part-*.parquet",
		"ingest_stats/date=2025-03-09/hour=14/part-*.parquet",
		"ingest_stats/date=2025-03-09/hour=15/part-*.parquet",
		"trend_minute/date=2025-03-09/hour=14/part-*.parquet",
		"trend_minute/date=2025-03-09/hour=15/part-*.parquet",
	}
	if len(files) != len(want) {
		t.Fatalf("files = %v, want one per partition %v", files, want)
	}
	for i, f := range files {
		if ok, _ := filepath.Match(filepath.FromSlash(want[i]), f); !ok {
			t.Errorf("file %s does not match %s", f, want[i])
		}
	}

	gotMinutes := readMinutes(t, filepath.Join(dir, TableMinutes))
	normaliseMinutes(minutes)
	if !reflect.DeepEqual(gotMinutes, minutes) {
		t.Errorf("minutes read back:\n%+v\nwant\n%+v", gotMinutes, minutes)
	}
	gotAlerts := readAlerts(t, filepath.Join(dir, TableAlerts))
	normaliseAlerts(alerts)
	if !reflect.DeepEqual(gotAlerts, alerts) {
		t.Errorf("alerts read back:\n%+v\nwant\n%+v", gotAlerts, alerts)
	}
	for i := range intake {
		intake[i].Bucket = intake[i].Bucket.UTC()
	}
	if got := readIntake(t, filepath.Join(dir, TableIntake)); !reflect.DeepEqual(got, intake) {
		t.Errorf("intake read back:\n%+v\nwant\n%+v", got, intake)
	}
}

func readIntake(t testing.TB, dir string) []trend.Intake {
	t.Helper()
	var out []trend.Intake
	readRecords(t, dir, func(rec arrow.Record) {
		bucket := col[*array.Timestamp](t, rec, "bucket")
		for i := range int(rec.NumRows()) {
			out = append(out, trend.Intake{
				Bucket:   timeAt(bucket, i),
				Instance: col[*array.String](t, rec, "instance").Value(i),
				Events:   col[*array.Uint64](t, rec, "events").Value(i),
				Invalid:  col[*array.Uint64](t, rec, "invalid").Value(i),
				Late:     col[*array.Uint64](t, rec, "late").Value(i),
				Version:  col[*array.Uint64](t, rec, "version").Value(i),
			})
		}
	})
	return out
}

func TestColumnTypes(t *testing.T) {
	dir := t.TempDir()
	s, _ := newTestSink(t, dir)
	if err := s.WriteMinutes(context.Background(), sampleMinutes()[:1]); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	pf, err := file.OpenParquetFile(filepath.Join(dir, dataFiles(t, dir)[0]), false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	// What a reader without the stored Arrow schema sees: the Parquet logical
	// types themselves.
	sc := pf.MetaData().Schema
	for _, c := range []struct{ col, logical string }{
		{"bucket", "Timestamp(isAdjustedToUTC=true, timeUnit=milliseconds"},
		{"term", "String"},
		{"mentions", "Int(bitWidth=64, isSigned=false)"},
	} {
		col := sc.Column(sc.ColumnIndexByName(c.col))
		if got := col.LogicalType().String(); !strings.HasPrefix(got, c.logical) {
			t.Errorf("column %s logical type %s, want %s", c.col, got, c.logical)
		}
	}
	cc, err := pf.MetaData().RowGroup(0).ColumnChunk(0)
	if err != nil {
		t.Fatal(err)
	}
	if got := cc.Compression().String(); got != "ZSTD" {
		t.Errorf("compression %s, want ZSTD", got)
	}
}

// TestFlushFailureKeepsRows checks a Flush that fails keeps the rows for the next
// one: here the partition directory cannot be created because a file is in the way.
func TestFlushFailureKeepsRows(t *testing.T) {
	dir := t.TempDir()
	s, mem := newTestSink(t, dir)
	ctx := context.Background()
	rows := sampleMinutes()[:2]
	blocker := filepath.Join(dir, partitionDir(TableMinutes, t0, time.Hour))
	if err := os.MkdirAll(filepath.Dir(blocker), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteMinutes(ctx, rows[:1]); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err == nil {
		t.Fatal("Flush succeeded with a file where the partition directory goes")
	}
	if err := s.WriteMinutes(ctx, rows[1:]); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	mem.AssertSize(t, 0)
	got := readMinutes(t, filepath.Join(dir, TableMinutes))
	normaliseMinutes(rows)
	if !reflect.DeepEqual(got, rows) {
		t.Fatalf("after a failed and a good Flush read\n%+v\nwant\n%+v", got, rows)
	}
	if err := s.WriteMinutes(ctx, rows); err == nil {
		t.Fatal("WriteMinutes after Close succeeded")
	}
}

func TestNoTemporaryFileVisible(t *testing.T) {
	dir := t.TempDir()
	// A crashed process left a half-written file.
	part := filepath.Join(dir, partitionDir(TableMinutes, t0, time.Hour))
	if err := os.MkdirAll(part, 0o755); err != nil {
		t.Fatal(err)
	}
	leftover := filepath.Join(part, tmpPrefix+"part-1-1-123")
	if err := os.WriteFile(leftover, []byte("PAR1 half"), 0o644); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-staleTemp - time.Minute)
	if err := os.Chtimes(leftover, past, past); err != nil {
		t.Fatal(err)
	}
	// The owner of the directory writing a part as another process opens it.
	writing := filepath.Join(part, tmpPrefix+"part-2-1-456")
	if err := os.WriteFile(writing, []byte("PAR1 being written"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, _ := newTestSink(t, dir)
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Fatalf("leftover temporary file still there after New: %v", err)
	}
	if _, err := os.Stat(writing); err != nil {
		t.Fatalf("a temporary file being written was removed by New: %v", err)
	}
	if err := os.Remove(writing); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 3 {
		rows := sampleMinutes()
		for k := range rows {
			rows[k].Bucket = rows[k].Bucket.Add(time.Duration(i) * time.Hour)
		}
		if err := s.WriteMinutes(ctx, rows); err != nil {
			t.Fatal(err)
		}
		if err := s.WriteAlerts(ctx, sampleAlerts()); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		var files int
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(d.Name(), tmpPrefix) {
				t.Errorf("temporary file visible after Flush: %s", path)
			}
			if !d.IsDir() && d.Name() != lockName { // the compaction lock holds no data
				files++
				if info, err := d.Info(); err != nil || info.Size() == 0 || info.Mode().Perm() != 0o644 {
					t.Errorf("%s: %v %v", path, info, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if files == 0 {
			t.Fatal("no files written")
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCompaction(t *testing.T) {
	dir := t.TempDir()
	s, mem := newTestSink(t, dir)
	ctx := context.Background()
	hour := func(h int, min int, term string) trend.Minute {
		return trend.Minute{Bucket: t0.Add(time.Duration(h)*time.Hour + time.Duration(min)*time.Minute), Term: term, Kind: "hashtag", Mentions: uint64(h*100 + min), Version: 1}
	}
	write := func(rows ...trend.Minute) {
		t.Helper()
		writeFlush(t, s, rows...)
	}
	part0 := filepath.Join(dir, partitionDir(TableMinutes, t0, time.Hour))
	// Three flushes in hour 0, then the pipeline moves into hour 1: hour 0 may
	// still get late rows, so it stays as parts.
	write(hour(0, 1, "hashtag:a"))
	write(hour(0, 2, "hashtag:b"))
	write(hour(0, 3, "hashtag:c"), hour(1, 0, "hashtag:a"))
	if got := names(t, part0); len(got) != 3 || !isPart(got[0]) {
		t.Fatalf("hour 0 one partition width behind: %v, want three parts", got)
	}
	// Two widths past: hour 0 is complete.
	write(hour(2, 0, "hashtag:a"))
	got := names(t, part0)
	if !reflect.DeepEqual(got, []string{mergedName}) {
		t.Fatalf("hour 0 two widths behind: %v, want only %s", got, mergedName)
	}
	if got := terms(readMinutes(t, part0)); !reflect.DeepEqual(got, []string{"hashtag:a", "hashtag:b", "hashtag:c"}) {
		t.Fatalf("merged rows %v", got)
	}
	if got := names(t, filepath.Join(dir, partitionDir(TableMinutes, t0.Add(time.Hour), time.Hour))); len(got) != 1 || !isPart(got[0]) {
		t.Fatalf("hour 1 one width behind was touched: %v", got)
	}
	// A late row for hour 0 becomes a part beside data.parquet and is merged in on
	// the next Flush.
	if err := s.WriteMinutes(ctx, []trend.Minute{hour(0, 4, "hashtag:d")}); err != nil {
		t.Fatal(err)
	}
	write(hour(2, 1, "hashtag:b"))
	if got := names(t, part0); !reflect.DeepEqual(got, []string{mergedName}) {
		t.Fatalf("after a late row: %v", got)
	}
	if got := terms(readMinutes(t, part0)); !reflect.DeepEqual(got, []string{"hashtag:a", "hashtag:b", "hashtag:c", "hashtag:d"}) {
		t.Fatalf("merged rows after a late row %v", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	mem.AssertSize(t, 0)
}

// TestCompactionAfterCrash leaves a partition as a crash between the rename of
// data.parquet and the removal of its parts would, and checks the next process
// finishes the job without counting those parts twice.
func TestCompactionAfterCrash(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, _ := newTestSink(t, dir)
	part0 := filepath.Join(dir, partitionDir(TableMinutes, t0, time.Hour))
	for _, term := range []string{"hashtag:a", "hashtag:b"} {
		if err := s.WriteMinutes(ctx, []trend.Minute{{Bucket: t0, Term: term, Mentions: 1}}); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	saved := map[string][]byte{}
	for _, n := range names(t, part0) {
		b, err := os.ReadFile(filepath.Join(part0, n))
		if err != nil {
			t.Fatal(err)
		}
		saved[n] = b
	}
	if err := s.WriteMinutes(ctx, []trend.Minute{{Bucket: t0.Add(2 * time.Hour), Term: "hashtag:z", Mentions: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := names(t, part0); !reflect.DeepEqual(got, []string{mergedName}) {
		t.Fatalf("not compacted: %v", got)
	}
	// The "crash": the merged parts are back, and a part nobody merged appears.
	for n, b := range saved {
		if err := os.WriteFile(filepath.Join(part0, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	s2, _ := newTestSink(t, dir)
	if err := s2.WriteMinutes(ctx, []trend.Minute{{Bucket: t0.Add(30 * time.Minute), Term: "hashtag:c", Mentions: 1}, {Bucket: t0.Add(3 * time.Hour), Term: "hashtag:z", Mentions: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if got := names(t, part0); !reflect.DeepEqual(got, []string{mergedName}) {
		t.Fatalf("not compacted after restart: %v", got)
	}
	if got := terms(readMinutes(t, part0)); !reflect.DeepEqual(got, []string{"hashtag:a", "hashtag:b", "hashtag:c"}) {
		t.Fatalf("rows after restart %v, want each once", got)
	}
}

// TestCompactionOlderSchema merges a part written before report_reasons and
// exact existed: its rows read back with no reasons and not exact.
func TestCompactionOlderSchema(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, mem := newTestSink(t, dir)
	part0 := filepath.Join(dir, partitionDir(TableMinutes, t0, time.Hour))
	if err := os.MkdirAll(part0, 0o755); err != nil {
		t.Fatal(err)
	}
	full := minuteSchema()
	var fields []arrow.Field
	for _, f := range full.Fields() {
		if f.Name != "report_reasons" && f.Name != "exact" && f.Name != "family" && !strings.HasPrefix(f.Name, "reports_") {
			fields = append(fields, f)
		}
	}
	old := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(mem, old)
	b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(t0.UnixMilli()))
	b.Field(1).(*array.StringBuilder).Append("hashtag:old")
	b.Field(2).(*array.StringBuilder).Append("hashtag")
	b.Field(3).(*array.Uint64Builder).Append(7)
	for i := 4; i < len(fields); i++ {
		b.Field(i).AppendEmptyValue()
	}
	rec := b.NewRecord()
	b.Release()
	if _, err := writeAtomic(part0, partName(1, 0), func(w io.Writer) error {
		fw, err := s.newWriter(old, w)
		if err != nil {
			return err
		}
		if err := fw.Write(rec); err != nil {
			return err
		}
		return fw.Close()
	}); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	rows := []trend.Minute{
		{Bucket: t0.Add(time.Minute), Term: "hashtag:new", Kind: "hashtag", Mentions: 3, ReportReasons: []string{"spam"}, Exact: true},
		{Bucket: t0.Add(2 * time.Hour), Term: "hashtag:later", Kind: "hashtag", Mentions: 1},
	}
	if err := s.WriteMinutes(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := names(t, part0); !reflect.DeepEqual(got, []string{mergedName}) {
		t.Fatalf("not compacted: %v", got)
	}
	got := readMinutes(t, part0)
	want := []trend.Minute{
		{Bucket: t0, Term: "hashtag:old", Kind: "hashtag", Mentions: 7},
		rows[0],
	}
	normaliseMinutes(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("merged\n%+v\nwant\n%+v", got, want)
	}
	mem.AssertSize(t, 0)
}

func TestMetricsHaveNoSurprises(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := DefaultConfig()
	cfg.Dir = t.TempDir()
	s, err := New(cfg, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteMinutes(context.Background(), sampleMinutes()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case m.Counter != nil:
				vals[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				vals[key] = m.Gauge.GetValue()
			}
		}
	}
	for key, want := range map[string]float64{
		"trendwatch_parquet_rows_written_total,table=trend_minute":  4,
		"trendwatch_parquet_files_written_total,table=trend_minute": 2,
		"trendwatch_parquet_buffered_rows,table=trend_minute":       0,
	} {
		if vals[key] != want {
			t.Errorf("%s = %v, want %v (all: %v)", key, vals[key], want, vals)
		}
	}
	// A second sink on the same registry is a configuration error, not a panic.
	if _, err := New(cfg, nil, reg); err == nil {
		t.Error("New registered the same metrics twice without an error")
	}
}

func BenchmarkWriteMinutesFlush(b *testing.B) {
	const n = 100_000
	rows := make([]trend.Minute, n)
	for i := range rows {
		rows[i] = trend.Minute{
			Bucket: t0.Add(time.Duration(i%60) * time.Minute), Term: fmt.Sprintf("hashtag:term%06d", i/60), Kind: "hashtag",
			Mentions: uint64(i), UniqueCreators: uint64(i / 2), Reports: uint64(i % 7), UniqueReporters: uint64(i % 5),
			TopRegions: []string{"NP", "IN", "US"}, Langs: []string{"ne", "en"}, ReportReasons: []string{"spam"}, Version: 1,
		}
	}
	cfg := DefaultConfig()
	cfg.Dir = b.TempDir()
	s, err := New(cfg, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := s.WriteMinutes(ctx, rows); err != nil {
			b.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "rows/s")
}

// dataFiles lists the visible data files under dir, relative to it, sorted.
func dataFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ext) {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func names(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func terms(ms []trend.Minute) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Term)
	}
	sort.Strings(out)
	return out
}

// readRecords calls fn with every record of every Parquet file under dir, the
// files in name order.
func readRecords(t testing.TB, dir string, fn func(arrow.Record)) {
	t.Helper()
	for _, rel := range dataFiles(t, dir) {
		path := filepath.Join(dir, rel)
		pf, err := file.OpenParquetFile(path, false)
		if err != nil {
			t.Fatal(err)
		}
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 20}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := fr.ReadTable(context.Background())
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		tr := array.NewTableReader(tbl, -1)
		for tr.Next() {
			fn(tr.Record())
		}
		tr.Release()
		tbl.Release()
		pf.Close()
	}
}

func col[T arrow.Array](t testing.TB, rec arrow.Record, name string) T {
	t.Helper()
	idx := rec.Schema().FieldIndices(name)
	if len(idx) != 1 {
		t.Fatalf("no column %s in %s", name, rec.Schema())
	}
	c, ok := rec.Column(idx[0]).(T)
	if !ok {
		t.Fatalf("column %s is %T (%s)", name, rec.Column(idx[0]), rec.Column(idx[0]).DataType())
	}
	return c
}

func timeAt(c *array.Timestamp, i int) time.Time {
	if c.IsNull(i) {
		return time.Time{}
	}
	return time.UnixMilli(int64(c.Value(i))).UTC()
}

func stringsAt(c *array.List, i int) []string {
	start, end := c.ValueOffsets(i)
	vals := c.ListValues().(*array.String)
	out := []string{}
	for k := start; k < end; k++ {
		out = append(out, vals.Value(int(k)))
	}
	return out
}

func readMinutes(t testing.TB, dir string) []trend.Minute {
	t.Helper()
	var out []trend.Minute
	readRecords(t, dir, func(rec arrow.Record) {
		bucket := col[*array.Timestamp](t, rec, "bucket")
		if tz := bucket.DataType().(*arrow.TimestampType); tz.TimeZone != "UTC" || tz.Unit != arrow.Millisecond {
			t.Fatalf("bucket is %s, want timestamp[ms, tz=UTC]", tz)
		}
		for i := range int(rec.NumRows()) {
			out = append(out, trend.Minute{
				Bucket:          timeAt(bucket, i),
				Term:            col[*array.String](t, rec, "term").Value(i),
				Kind:            col[*array.String](t, rec, "kind").Value(i),
				Mentions:        col[*array.Uint64](t, rec, "mentions").Value(i),
				UniqueCreators:  col[*array.Uint64](t, rec, "unique_creators").Value(i),
				Reports:         col[*array.Uint64](t, rec, "reports").Value(i),
				UniqueReporters: col[*array.Uint64](t, rec, "unique_reporters").Value(i),
				TopRegions:      stringsAt(col[*array.List](t, rec, "top_regions"), i),
				Langs:           stringsAt(col[*array.List](t, rec, "langs"), i),
				ReportReasons:   stringsAt(col[*array.List](t, rec, "report_reasons"), i),
				Exact:           col[*array.Boolean](t, rec, "exact").Value(i),
				Version:         col[*array.Uint64](t, rec, "version").Value(i),
				Family:          col[*array.String](t, rec, "family").Value(i),
			})
			readChannels(&out[len(out)-1], rec, i)
		}
	})
	return out
}

func readAlerts(t testing.TB, dir string) []alert.Event {
	t.Helper()
	var out []alert.Event
	readRecords(t, dir, func(rec arrow.Record) {
		str := func(name string, i int) string { return col[*array.String](t, rec, name).Value(i) }
		ts := func(name string, i int) time.Time { return timeAt(col[*array.Timestamp](t, rec, name), i) }
		f64 := func(name string, i int) float64 { return col[*array.Float64](t, rec, name).Value(i) }
		for i := range int(rec.NumRows()) {
			sev, err := alert.ParseSeverity(str("severity", i))
			if err != nil {
				t.Fatal(err)
			}
			ev := alert.Event{
				Alert: alert.Alert{
					Key: str("key", i), Detector: str("detector", i), Term: str("term", i),
					Status: alert.Status(str("status", i)), Severity: sev,
					OpenedAt: ts("opened_at", i), UpdatedAt: ts("updated_at", i), ResolvedAt: ts("resolved_at", i), Bucket: ts("bucket", i),
					Score: f64("score", i), Observed: f64("observed", i), Expected: f64("expected", i), Growth: f64("growth", i),
					UniqueCreators: col[*array.Uint64](t, rec, "unique_creators").Value(i),
					Reports:        f64("reports", i), ReportRate: f64("report_rate", i),
					TopRegions:  stringsAt(col[*array.List](t, rec, "top_regions"), i),
					Samples:     stringsAt(col[*array.List](t, rec, "samples"), i),
					Watchlisted: col[*array.Boolean](t, rec, "watchlisted").Value(i),
					Early:       col[*array.Boolean](t, rec, "early").Value(i),
					Summary:     str("summary", i), Explanation: str("explanation", i),
				},
				From: alert.Status(str("from_status", i)), To: alert.Status(str("to_status", i)),
				At: ts("event_at", i), Seq: col[*array.Uint64](t, rec, "seq").Value(i),
				Reason: str("reason", i),
			}
			if id := str("event_id", i); id != ev.ID() {
				t.Errorf("event_id %q, want %q", id, ev.ID())
			}
			out = append(out, ev)
		}
	})
	normaliseAlerts(out)
	return out
}

// normaliseMinutes makes rows comparable with what is read back: nil lists read
// back empty, and rows come back partition by partition.
// normaliseMinutes makes rows as they read back: empty lists, not nil, and
// user's reports what the other channels leave.
func normaliseMinutes(ms []trend.Minute) {
	for i := range ms {
		var others uint64
		for ch := event.ChannelUser + 1; ch < event.NumChannels; ch++ {
			others += ms[i].ReportsByChannel[ch]
		}
		ms[i].ReportsByChannel[event.ChannelUser] = ms[i].Reports - others
		for _, l := range []*[]string{&ms[i].TopRegions, &ms[i].Langs, &ms[i].ReportReasons} {
			if *l == nil {
				*l = []string{}
			}
		}
	}
}

// nanMark stands in for NaN, which reflect.DeepEqual never finds equal to itself.
const nanMark = -math.MaxFloat64

func normaliseAlerts(evs []alert.Event) {
	for i := range evs {
		a := &evs[i].Alert
		for _, l := range []*[]string{&a.TopRegions, &a.Samples} {
			if *l == nil {
				*l = []string{}
			}
		}
		for _, f := range []*float64{&a.Score, &a.Observed, &a.Expected, &a.Growth, &a.Reports, &a.ReportRate} {
			if math.IsNaN(*f) {
				*f = nanMark
			}
		}
	}
}

// TestBufferBoundedWhileFlushesFail: while flushes fail (here the table's
// directory is a file, as a full or read-only disk fails them) the rows they
// could not write stay held, and past parquet.max_buffered_rows writes are
// refused instead of held without bound; once a flush succeeds the bound
// lifts and every row held is in the files.
func TestBufferBoundedWhileFlushesFail(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.Dir, cfg.MaxBuffered = dir, 10
	s, err := New(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	row := func(i int) []trend.Minute {
		return []trend.Minute{{Bucket: t0.Add(time.Duration(i) * time.Minute), Term: "hashtag:a", Kind: "hashtag", Mentions: uint64(i + 1), Version: 1}}
	}
	blocker := filepath.Join(dir, TableMinutes)
	if err := os.RemoveAll(blocker); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// Before any flush failed the bound does not apply.
	for i := range 12 {
		if err := s.WriteMinutes(ctx, row(i)); err != nil {
			t.Fatalf("row %d before a flush failed: %v", i, err)
		}
	}
	if err := s.Flush(ctx); err == nil {
		t.Fatal("flush succeeded with the table's directory a file")
	}
	err = s.WriteMinutes(ctx, row(12))
	if err == nil || !strings.Contains(err.Error(), "parquet.max_buffered_rows") {
		t.Fatalf("a write past the bound while flushes fail: %v, want it refused naming parquet.max_buffered_rows", err)
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("flush once the disk is back: %v", err)
	}
	if err := s.WriteMinutes(ctx, row(12)); err != nil {
		t.Fatalf("a write once a flush succeeded: %v", err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.TermMinutes(ctx, "hashtag:a", t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 13 {
		t.Errorf("%d rows in the files, want the 13 written", len(got))
	}
}

// TestCompactionWaitsForLock: while another process holds the dataset's
// compaction lock (a primary woken beside the standby that took over), a
// complete partition keeps its parts, and the next flush after the lock is
// free merges them, every row once.
func TestCompactionWaitsForLock(t *testing.T) {
	dir := t.TempDir()
	s, _ := newTestSink(t, dir)
	part0 := filepath.Join(dir, partitionDir(TableMinutes, t0, time.Hour))
	write := func(rows ...trend.Minute) {
		t.Helper()
		writeFlush(t, s, rows...)
	}
	write(trend.Minute{Bucket: t0, Term: "hashtag:a", Mentions: 1})
	write(trend.Minute{Bucket: t0.Add(time.Minute), Term: "hashtag:b", Mentions: 1})

	unlock, ok, err := lockCompaction(dir)
	if err != nil || !ok {
		t.Fatalf("lockCompaction = %v, %v", ok, err)
	}
	write(trend.Minute{Bucket: t0.Add(2 * time.Hour), Term: "hashtag:z", Mentions: 1})
	if got := names(t, part0); len(got) != 2 || !isPart(got[0]) || !isPart(got[1]) {
		t.Fatalf("compacted while another held the lock: %v", got)
	}
	if _, ok, err := lockCompaction(dir); ok || err != nil {
		t.Fatalf("a second lock = %v, %v; want held", ok, err)
	}
	unlock()

	write(trend.Minute{Bucket: t0.Add(2*time.Hour + time.Minute), Term: "hashtag:y", Mentions: 1})
	if got := names(t, part0); !reflect.DeepEqual(got, []string{mergedName}) {
		t.Fatalf("after the lock was freed: %v, want only %s", got, mergedName)
	}
	if got := terms(readMinutes(t, part0)); !reflect.DeepEqual(got, []string{"hashtag:a", "hashtag:b"}) {
		t.Fatalf("merged rows %v", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCompactionTwoSinksOneDir runs two sinks on one directory, as a primary
// and the standby that took over from it do for a moment, each flushing late
// rows into one complete partition and compacting it at once: no row is lost.
func TestCompactionTwoSinksOneDir(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	part0 := filepath.Join(dir, partitionDir(TableMinutes, t0, time.Hour))
	const rounds = 30
	var want []string
	var sinks [2]*Sink
	for i := range sinks {
		sinks[i], _ = newTestSink(t, dir)
		if err := sinks[i].WriteMinutes(ctx, []trend.Minute{{Bucket: t0.Add(3 * time.Hour), Term: "hashtag:now", Mentions: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	for r := range rounds {
		var wg sync.WaitGroup
		for i, s := range sinks {
			term := fmt.Sprintf("hashtag:s%d-r%02d", i, r)
			want = append(want, term)
			if err := s.WriteMinutes(ctx, []trend.Minute{{Bucket: t0.Add(time.Duration(r) * time.Second), Term: term, Mentions: 1}}); err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.Flush(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	for _, s := range sinks {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	got := terms(readMinutes(t, part0))
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%d rows read, want %d each once:\n got %v\nwant %v", len(got), len(want), got, want)
	}
}

// writeFlush writes rows to s and flushes them.
func writeFlush(t testing.TB, s *Sink, rows ...trend.Minute) {
	t.Helper()
	ctx := context.Background()
	if err := s.WriteMinutes(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}
