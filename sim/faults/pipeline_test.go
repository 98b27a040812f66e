//go:build integration

package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// runConfig is the configuration of one `trendwatch run`, given as the
// TRENDWATCH_* environment an operator would set.
type runConfig struct {
	brokers    string
	group      string
	clickhouse string
	database   string
	checkpoint string
	metrics    string
	extra      []string // more KEY=value settings
}

func newRunConfig(t *testing.T, brokers, clickhouse string) runConfig {
	name := strings.ToLower(strings.NewReplacer("/", "_", "-", "_").Replace(t.Name()))
	return runConfig{
		brokers:    brokers,
		group:      "trendwatch-" + name,
		clickhouse: clickhouse,
		database:   fmt.Sprintf("tw_%s_%d", name, rand.Uint32()),
		checkpoint: filepath.Join(t.TempDir(), "checkpoint"),
		metrics:    freeAddr(t),
	}
}

// another is c for one more process of the same deployment: a metrics
// address of its own, and extra settings after c's.
func (c runConfig) another(t *testing.T, extra ...string) runConfig {
	c.metrics = freeAddr(t)
	c.extra = append(slices.Clone(c.extra), extra...)
	return c
}

// derived is c as a process whose layout names it (a term shard
// "shard-1-of-2", a detect process "detect-1-of-2") derives it: the consumer
// group and checkpoint directory of its own.
func (c runConfig) derived(name string) runConfig {
	c.group += "." + name
	c.checkpoint = filepath.Join(c.checkpoint, name)
	return c
}

func (c runConfig) env() []string {
	env := []string{
		"TRENDWATCH_KAFKA_BROKERS=" + c.brokers,
		"TRENDWATCH_KAFKA_GROUP=" + c.group,
		// The stream's timestamps are fixed in the past so that every run
		// sees the same minutes.
		"TRENDWATCH_KAFKA_LIMITS_MAX_AGE=0",
		"TRENDWATCH_CLICKHOUSE_ADDR=" + c.clickhouse,
		"TRENDWATCH_CLICKHOUSE_DATABASE=" + c.database,
		"TRENDWATCH_CLICKHOUSE_FLUSH_INTERVAL=500ms",
		"TRENDWATCH_CLICKHOUSE_MAX_RETRY_DELAY=2s",
		"TRENDWATCH_CHECKPOINT_DIR=" + c.checkpoint,
		"TRENDWATCH_METRICS_LISTEN=" + c.metrics,
		"TRENDWATCH_PIPELINE_COMMIT_INTERVAL=1s",
		"TRENDWATCH_PIPELINE_IDLE_ADVANCE=2s",
		"TRENDWATCH_LOG_LEVEL=debug",
	}
	return append(env, c.extra...)
}

// migrate creates the run's database with `trendwatch migrate`.
func (c runConfig) migrate(t *testing.T) {
	t.Helper()
	p := startProc(t, "migrate", c.env(), "migrate")
	<-p.done
	if p.err != nil {
		t.Fatalf("migrate: %v\n%s", p.err, p.output())
	}
	t.Cleanup(func() {
		conn, err := dial(c.clickhouse)
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS `"+c.database+"`")
	})
}

func (c runConfig) start(t *testing.T, name string) *proc {
	t.Helper()
	p := startProc(t, name, c.env(), "run")
	waitFor(t, 30*time.Second, name+" to serve /metrics", func() (bool, error) {
		if !p.running() {
			t.Fatalf("%s exited: %v\n%s", name, p.err, p.tail(30))
		}
		_, err := scrape(c.metrics)
		return err == nil, err
	})
	return p
}

// finish sends the sentinels, waits until the pipeline has closed every
// minute of the stream and stops it cleanly, which flushes what it wrote.
func (c runConfig) finish(t *testing.T, p *proc, s *stream) {
	t.Helper()
	at := s.end.Add(5 * time.Minute)
	sentinel(t, c.brokers, at)
	began := time.Now()
	defer func() {
		t.Logf("%s: stream closed and stopped %v after the sentinels", p.name, time.Since(began).Round(100*time.Millisecond))
	}()
	c.waitPast(t, p, at)
	c.stopCommitted(t, p)
}

// waitPast waits until p's watermark has passed at.
func (c runConfig) waitPast(t *testing.T, p *proc, at time.Time) {
	t.Helper()
	waitFor(t, 90*time.Second, p.name+"'s watermark to pass the end of the stream", func() (bool, error) {
		if !p.running() {
			t.Fatalf("%s exited: %v\n%s", p.name, p.err, p.tail(30))
		}
		m, err := scrape(c.metrics)
		if err != nil {
			return false, err
		}
		return m.sum("trendwatch_pipeline_watermark_seconds") >= float64(at.Unix()), nil
	})
}

// stopCommitted stops p cleanly and checks that its group committed every
// partition to its end: a run that passed the sentinels on some partitions
// only would compare numbers of a stream it never finished.
func (c runConfig) stopCommitted(t *testing.T, p *proc) {
	t.Helper()
	if err := p.stop(60 * time.Second); err != nil {
		t.Fatalf("%s: clean shutdown: %v", p.name, err)
	}
	hwm, committed := brokerState(t, c.brokers, c.group)
	checkCommitted(t, p.name, hwm, committed)
}

// checkCommitted wants every partition's committed offset at its high-water
// mark after who stopped cleanly.
func checkCommitted(t *testing.T, who string, hwm, committed map[string]int64) {
	t.Helper()
	for k, v := range hwm {
		if committed[k] != v {
			t.Errorf("%s: committed offset %d of %s after the clean shutdown, high-water mark %d", who, committed[k], k, v)
		}
	}
}

func dial(addr string) (driver.Conn, error) {
	return ch.Open(&ch.Options{Addr: []string{addr}, Auth: ch.Auth{Username: "default"}, DialTimeout: 5 * time.Second})
}

// row is what trend_minute holds for one term and minute, rewrites resolved.
type row struct {
	mentions, reports uint64
	exact             bool
}

func readRows(t *testing.T, addr, db string, s *stream) map[termMinute]row {
	t.Helper()
	conn, err := dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.Query(context.Background(), "SELECT term, bucket, mentions, reports, exact FROM `"+db+
		"`.trend_minute FINAL WHERE bucket >= ? AND bucket < ?", s.start, s.end)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[termMinute]row{}
	for rows.Next() {
		var (
			k     termMinute
			r     row
			exact uint8
		)
		if err := rows.Scan(&k.term, &k.bucket, &r.mentions, &r.reports, &exact); err != nil {
			t.Fatal(err)
		}
		k.bucket = k.bucket.UTC()
		r.exact = exact == 1
		if _, dup := out[k]; dup {
			t.Errorf("%s at %s: two rows after FINAL", k.term, k.bucket.Format("15:04"))
		}
		out[k] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkIngestStats compares the per-minute intake ClickHouse holds with the
// stream: every content event counted in its minute, none dropped as late.
// It covers what the rows of tracked terms cannot: events whose terms were
// never tracked.
func checkIngestStats(t *testing.T, addr, db string, s *stream) {
	t.Helper()
	var events, late, want uint64
	conn, err := dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.Query(context.Background(), "SELECT bucket, events, late FROM `"+db+
		"`.ingest_stats FINAL WHERE bucket >= ? AND bucket < ?", s.start, s.end)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[time.Time]uint64{}
	for rows.Next() {
		var (
			b    time.Time
			n, l uint64
		)
		if err := rows.Scan(&b, &n, &l); err != nil {
			t.Fatal(err)
		}
		got[b.UTC()] += n
		events += n
		late += l
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for b, n := range s.events {
		want += n
		if got[b] != n {
			t.Errorf("ingest_stats at %s: %d content events, the generator sent %d", b.Format("15:04"), got[b], n)
		}
	}
	if late != 0 {
		t.Errorf("ingest_stats: %d events dropped as late", late)
	}
	t.Logf("ingest_stats: %d content events counted in %d minutes (the generator sent %d), %d late", events, len(got), want, late)
}

// summary is what a run wrote, measured against the generator's counts.
type summary struct {
	rows, exact           int
	exactMentions         uint64 // summed over exact rows
	exactReports          uint64
	estimateExcess        uint64 // over the truth, summed over estimated rows
	estimateTruthMentions uint64
}

func (s summary) String() string {
	return fmt.Sprintf("%d rows, %d exact (%d mentions, %d reports, all equal to the generator's); %d estimated rows overcount %d mentions of %d",
		s.rows, s.exact, s.exactMentions, s.exactReports, s.rows-s.exact, s.estimateExcess, s.estimateTruthMentions)
}

// checkTotals compares a run's rows with the generator's counts: exact rows
// equal them, estimated rows are never below them.
func checkTotals(t *testing.T, s *stream, got map[termMinute]row) summary {
	t.Helper()
	var sum summary
	bad := 0
	report := func(format string, args ...any) {
		if bad++; bad <= 20 {
			t.Errorf(format, args...)
		}
	}
	for k, r := range got {
		want := s.truth[k]
		sum.rows++
		if r.exact {
			sum.exact++
			sum.exactMentions += r.mentions
			sum.exactReports += r.reports
			if r.mentions != want.mentions || r.reports != want.reports {
				report("%s at %s (exact): %d mentions, %d reports; the generator sent %d, %d",
					k.term, k.bucket.Format("15:04"), r.mentions, r.reports, want.mentions, want.reports)
			}
			continue
		}
		sum.estimateTruthMentions += want.mentions
		sum.estimateExcess += r.mentions - min(r.mentions, want.mentions)
		if r.mentions < want.mentions || r.reports < want.reports {
			report("%s at %s (estimate): %d mentions, %d reports; below the generator's %d, %d",
				k.term, k.bucket.Format("15:04"), r.mentions, r.reports, want.mentions, want.reports)
		}
	}
	if bad > 20 {
		t.Errorf("... and %d more", bad-20)
	}
	if sum.exact == 0 {
		t.Error("no exact rows: the comparison proves nothing")
	}
	return sum
}

// checkSameRows compares a run's rows with the reference run's: the same
// (term, minute) rows, exact in the same places.
func checkSameRows(t *testing.T, got, ref map[termMinute]row) {
	t.Helper()
	var missing, extra, flipped []string
	for k, r := range ref {
		g, ok := got[k]
		switch {
		case !ok:
			missing = append(missing, k.term+"@"+k.bucket.Format("15:04"))
		case g.exact != r.exact:
			flipped = append(flipped, fmt.Sprintf("%s@%s exact=%v, reference %v", k.term, k.bucket.Format("15:04"), g.exact, r.exact))
		}
	}
	for k := range got {
		if _, ok := ref[k]; !ok {
			extra = append(extra, k.term+"@"+k.bucket.Format("15:04"))
		}
	}
	for _, l := range []struct {
		what string
		keys []string
	}{{"missing", missing}, {"not in the reference run", extra}, {"exact differs from the reference run", flipped}} {
		if len(l.keys) == 0 {
			continue
		}
		sort.Strings(l.keys)
		if len(l.keys) > 20 {
			l.keys = append(l.keys[:20], fmt.Sprintf("... %d in all", len(l.keys)))
		}
		t.Errorf("rows %s: %s", l.what, strings.Join(l.keys, ", "))
	}
}
