package parquet

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/review"
	"github.com/trendwatch/trendwatch/trend"
)

// VerdictsFile holds analysts' verdicts in a run directory, one JSON object a
// line, appended to; the last line for a key is its verdict. JSON lines rather
// than Parquet: a verdict is one small row written by a person, and appending
// a line is atomic where rewriting a Parquet file is not.
const VerdictsFile = "verdicts.jsonl"

// Reader reads a run directory back for post-incident reviews, the way the
// README's queries do: the largest version of each (bucket, term), each
// event_id once. It implements review.Source.
type Reader struct {
	dir string
	mem memory.Allocator
}

// NewReader reads the dataset under dir, which must exist.
func NewReader(dir string) (*Reader, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("parquet.dir: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("parquet.dir: %s is not a directory", dir)
	}
	return &Reader{dir: dir, mem: memory.NewGoAllocator()}, nil
}

// files lists a table's finished files in partitions that may hold rows of
// [from, to); zero times leave that side open. Temporary files never end in
// .parquet, so the glob skips them. A partition is at most a day wide.
func (r *Reader) files(table string, from, to time.Time) ([]string, error) {
	var paths []string
	// Processes of a sharded or two-stage pipeline each write their terms'
	// rows under a directory of their own; together they are one dataset.
	for _, root := range Roots(r.dir) {
		pattern := filepath.Join(root, table, "date=*", "hour=*", "*"+ext)
		found, err := filepath.Glob(pattern)
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", pattern, err)
		}
		paths = append(paths, found...)
	}
	out := paths[:0]
	for _, p := range paths {
		start, err := partitionStart(filepath.Dir(p))
		if err != nil {
			return nil, err
		}
		if !from.IsZero() && start.Add(24*time.Hour).Before(from) || !to.IsZero() && !start.Before(to) {
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

// scan calls fn with every record of the file, conformed to schema so files
// written before a column existed read the same.
func (r *Reader) scan(ctx context.Context, path string, schema *arrow.Schema, fn func(arrow.Record)) error {
	return eachRecord(ctx, path, schema, r.mem, func(rec arrow.Record) error {
		fn(rec)
		return nil
	})
}

func timeOf(a *array.Timestamp, i int) time.Time {
	if a.IsNull(i) {
		return time.Time{}
	}
	return time.UnixMilli(int64(a.Value(i))).UTC()
}

func listOf(a *array.List, i int) []string {
	start, end := a.ValueOffsets(i)
	vals := a.ListValues().(*array.String)
	out := make([]string, 0, end-start)
	for j := start; j < end; j++ {
		out = append(out, vals.Value(int(j)))
	}
	return out
}

// TermMinutes returns the latest version of each of the term's buckets in
// [from, to), in bucket order.
func (r *Reader) TermMinutes(ctx context.Context, term string, from, to time.Time) ([]trend.Minute, error) {
	out, err := r.minutes(ctx, from, to, func(t, _, _ string) bool { return t == term })
	if err != nil {
		return nil, fmt.Errorf("reading minutes of %q: %w", term, err)
	}
	return out, nil
}

// FamilyMinutes returns the latest version of each bucket in [from, to) of
// every spelling whose rows name family, by term, then bucket; the family's
// own rows are not among them.
func (r *Reader) FamilyMinutes(ctx context.Context, family string, from, to time.Time) ([]trend.Minute, error) {
	kind := event.KindFamily.String()
	out, err := r.minutes(ctx, from, to, func(_, k, f string) bool { return f == family && k != kind })
	if err != nil {
		return nil, fmt.Errorf("reading minutes of the spellings of %q: %w", family, err)
	}
	return out, nil
}

// minutes returns the latest version of each (term, bucket) in [from, to) of
// the rows match takes (by term, kind and family), by term, then bucket.
func (r *Reader) minutes(ctx context.Context, from, to time.Time, match func(term, kind, family string) bool) ([]trend.Minute, error) {
	paths, err := r.files(TableMinutes, from, to)
	if err != nil {
		return nil, err
	}
	type key struct {
		term   string
		bucket time.Time
	}
	latest := map[key]trend.Minute{}
	for _, p := range paths {
		err := r.scan(ctx, p, minuteSchema(), func(rec arrow.Record) {
			terms := rec.Column(1).(*array.String)
			kinds := rec.Column(2).(*array.String)
			families := rec.Column(12).(*array.String)
			buckets := rec.Column(0).(*array.Timestamp)
			for i := range int(rec.NumRows()) {
				if !match(terms.Value(i), kinds.Value(i), families.Value(i)) {
					continue
				}
				b := timeOf(buckets, i)
				if b.Before(from) || !b.Before(to) {
					continue
				}
				k := key{terms.Value(i), b}
				vers := rec.Column(11).(*array.Uint64).Value(i)
				if old, ok := latest[k]; ok && old.Version >= vers {
					continue
				}
				m := trend.Minute{
					Bucket: b, Term: k.term,
					Kind:            kinds.Value(i),
					Mentions:        rec.Column(3).(*array.Uint64).Value(i),
					UniqueCreators:  rec.Column(4).(*array.Uint64).Value(i),
					Reports:         rec.Column(5).(*array.Uint64).Value(i),
					UniqueReporters: rec.Column(6).(*array.Uint64).Value(i),
					TopRegions:      listOf(rec.Column(7).(*array.List), i),
					Langs:           listOf(rec.Column(8).(*array.List), i),
					ReportReasons:   listOf(rec.Column(9).(*array.List), i),
					Exact:           rec.Column(10).(*array.Boolean).Value(i),
					Version:         vers,
					Family:          families.Value(i),
				}
				readChannels(&m, rec, i)
				latest[k] = m
			}
		})
		if err != nil {
			return nil, err
		}
	}
	out := make([]trend.Minute, 0, len(latest))
	for _, m := range latest {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b trend.Minute) int {
		return cmp.Or(cmp.Compare(a.Term, b.Term), a.Bucket.Compare(b.Bucket))
	})
	return out, nil
}

// readChannels sets m's reports by channel from row i of a conformed
// trend_minute record: user's is what the other channels leave of reports.
func readChannels(m *trend.Minute, rec arrow.Record, i int) {
	var others uint64
	for ch := event.ChannelUser + 1; ch < event.NumChannels; ch++ {
		n := uint64(rec.Column(minuteChannelCol + int(ch) - 1).(*array.Uint32).Value(i))
		m.ReportsByChannel[ch] = n
		others += n
	}
	if m.Reports > others {
		m.ReportsByChannel[event.ChannelUser] = m.Reports - others
	}
}

// alerts scans every alert transition, each event_id once, keeping those keep
// accepts.
func (r *Reader) alerts(ctx context.Context, keep func(*alert.Event) bool) ([]alert.Event, error) {
	paths, err := r.files(TableAlerts, time.Time{}, time.Time{})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []alert.Event
	for _, p := range paths {
		err := r.scan(ctx, p, alertSchema(), func(rec arrow.Record) {
			str := func(c, i int) string { return rec.Column(c).(*array.String).Value(i) }
			ts := func(c, i int) time.Time { return timeOf(rec.Column(c).(*array.Timestamp), i) }
			f64 := func(c, i int) float64 { return rec.Column(c).(*array.Float64).Value(i) }
			for i := range int(rec.NumRows()) {
				id := str(0, i)
				if seen[id] {
					continue
				}
				sev, _ := alert.ParseSeverity(str(5, i)) // unknown reads as 0, printed as such
				e := alert.Event{
					Alert: alert.Alert{
						Key: str(1, i), Detector: str(2, i), Term: str(3, i), Status: alert.Status(str(4, i)), Severity: sev,
						OpenedAt: ts(6, i), UpdatedAt: ts(7, i), ResolvedAt: ts(8, i), Bucket: ts(9, i),
						Score: f64(10, i), Observed: f64(11, i), Expected: f64(12, i), Growth: f64(13, i),
						UniqueCreators: rec.Column(14).(*array.Uint64).Value(i),
						Reports:        f64(15, i), ReportRate: f64(16, i),
						TopRegions:  listOf(rec.Column(17).(*array.List), i),
						Samples:     listOf(rec.Column(18).(*array.List), i),
						Watchlisted: rec.Column(19).(*array.Boolean).Value(i),
						Summary:     str(20, i), Explanation: str(21, i),
						Early: rec.Column(26).(*array.Boolean).Value(i),
					},
					From: alert.Status(str(22, i)), To: alert.Status(str(23, i)),
					At:     ts(24, i),
					Seq:    rec.Column(25).(*array.Uint64).Value(i),
					Reason: str(27, i),
				}
				if keep(&e) {
					seen[id] = true
					out = append(out, e)
				}
			}
		})
		if err != nil {
			return nil, fmt.Errorf("reading alert events: %w", err)
		}
	}
	return out, nil
}

// AlertHistory returns every transition of the alert once, in Seq order.
func (r *Reader) AlertHistory(ctx context.Context, key string) ([]alert.Event, error) {
	evs, err := r.alerts(ctx, func(e *alert.Event) bool { return e.Alert.Key == key })
	if err != nil {
		return nil, err
	}
	slices.SortFunc(evs, func(a, b alert.Event) int { return cmp.Compare(a.Seq, b.Seq) })
	return evs, nil
}

// AlertsOpened lists the keys of the alerts opened in [from, to), sorted.
func (r *Reader) AlertsOpened(ctx context.Context, from, to time.Time) ([]string, error) {
	evs, err := r.alerts(ctx, func(e *alert.Event) bool {
		o := e.Alert.OpenedAt
		return !o.Before(from) && o.Before(to)
	})
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, e := range evs {
		keys = append(keys, e.Alert.Key)
	}
	slices.Sort(keys)
	return slices.Compact(keys), nil
}

// LatestVerdict returns the last verdict recorded for key.
func (r *Reader) LatestVerdict(_ context.Context, key string) (review.Verdict, bool, error) {
	path := filepath.Join(r.dir, VerdictsFile)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return review.Verdict{}, false, nil
	}
	if err != nil {
		return review.Verdict{}, false, fmt.Errorf("reading verdicts: %w", err)
	}
	defer f.Close()
	var (
		out   review.Verdict
		found bool
	)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var v review.Verdict
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			return review.Verdict{}, false, fmt.Errorf("reading verdicts: %s:%d: %w", path, line, err)
		}
		if v.Key == key {
			out, found = v, true
		}
	}
	if err := sc.Err(); err != nil {
		return review.Verdict{}, false, fmt.Errorf("reading verdicts: %s: %w", path, err)
	}
	return out, found, nil
}

// RecordVerdict appends a verdict to the run directory's verdicts file. A
// zero At is the time of the call. One write of one line to a file opened for
// appending lands whole, so concurrent analysts do not interleave.
func (r *Reader) RecordVerdict(_ context.Context, v review.Verdict) error {
	if _, err := review.ParseVerdict(v.Verdict); err != nil {
		return err
	}
	if v.Key == "" {
		return fmt.Errorf("verdict %s: alert key is empty", v.Verdict)
	}
	if v.At.IsZero() {
		v.At = time.Now()
	}
	v.At = v.At.UTC().Truncate(time.Millisecond)
	line, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("verdict on %q: %w", v.Key, err)
	}
	path := filepath.Join(r.dir, VerdictsFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("recording verdict on %q: %w", v.Key, err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("recording verdict on %q in %s: %w", v.Key, path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("recording verdict on %q in %s: %w", v.Key, path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("recording verdict on %q in %s: %w", v.Key, path, err)
	}
	return nil
}
