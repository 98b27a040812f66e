package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline"
	"github.com/trendwatch/trendwatch/sinks/clickhouse"
	"github.com/trendwatch/trendwatch/sketches"
)

// childEnv, when set, makes the binary a child: it names the mode.
const childEnv = "TWBENCH_CHILD"

const (
	// modeConsume reads the stream with trendwatch's consumer and engine at
	// their defaults, as trendwatch run --replay does without sinks.
	modeConsume = "consume"
	// modeRead reads it with a bare kafka-go group Reader: the ceiling.
	modeRead = "read"
	// modeSink is modeConsume on the peer's topics with the ClickHouse sink,
	// to the end: every bucket closed and its rows flushed.
	modeSink = "sink"
	// modeAggregate is one of the aggregate processes of the two stages
	// (run --role aggregate): it forwards its share of the stream to the
	// relay until the relay holds all of it.
	modeAggregate = "aggregate"
	// modeDetect is a detect process (run --role detect --shard 0/N): the
	// engine on a relay topic an aggregate run filled.
	modeDetect = "detect"
)

// childResult is what a child prints, as one line of JSON.
type childResult struct {
	Events int `json:"events"`
	// Seconds runs from the first message received to the last processed:
	// joining the group is left out, being the same for any throughput.
	Seconds    float64 `json:"seconds"`
	CPUSeconds float64 `json:"cpu_seconds"`
	PeakRSS    int64   `json:"peak_rss_bytes"`
	Err        string  `json:"err,omitempty"`
	// First and Last are Seconds' ends in Unix nanoseconds, to time
	// processes that share a stream together.
	First int64 `json:"first_unix_nano,omitempty"`
	Last  int64 `json:"last_unix_nano,omitempty"`
}

func (r childResult) rate() float64 {
	if r.Seconds <= 0 {
		return 0
	}
	return float64(r.Events) / r.Seconds
}

func childMain() int {
	res, err := child(os.Getenv(childEnv), os.Getenv("TWBENCH_BROKER"), os.Getenv("TWBENCH_GROUP"), os.Getenv("TWBENCH_EVENTS"))
	if err != nil {
		res.Err = err.Error()
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		return 1
	}
	return 0
}

func child(mode, addr, group, events string) (childResult, error) {
	n, err := strconv.Atoi(events)
	if err != nil {
		return childResult{}, fmt.Errorf("TWBENCH_EVENTS: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := ingest.DefaultConfig()
	cfg.Brokers, cfg.Group = []string{addr}, group
	cfg.Limits.MaxAge, cfg.Limits.MaxFuture = 0, 0 // --replay
	if path := os.Getenv("TWBENCH_CPUPROFILE"); path != "" {
		// The whole child, client and decoders included: where a core's
		// time goes beside the engine's.
		stop, err := startCPUProfile(fmt.Sprintf("%s.%s-%s-%s", path, mode, cfg.Topics.Content, os.Getenv("GOMAXPROCS")))
		if err != nil {
			return childResult{}, err
		}
		defer stop()
	}
	var first, last time.Time
	switch mode {
	case modeRead:
		first, last, err = readOnly(ctx, cfg, n)
	case modeConsume:
		pcfg := pipeline.DefaultConfig()
		if v := os.Getenv("TWBENCH_SHARDS"); v != "" {
			if pcfg.Shards, err = strconv.Atoi(v); err != nil {
				return childResult{}, fmt.Errorf("TWBENCH_SHARDS: %w", err)
			}
		}
		first, last, err = consume(ctx, cfg, pcfg, n, log, nil)
	case modeSink:
		first, last, err = consumeToClickHouse(ctx, cfg, n, log, os.Getenv("TWBENCH_CLICKHOUSE"))
	case modeAggregate, modeDetect:
		shards, perr := strconv.Atoi(os.Getenv("TWBENCH_SHARDS"))
		if perr != nil {
			return childResult{}, fmt.Errorf("TWBENCH_SHARDS: %w", perr)
		}
		cfg.Topics.Relay = os.Getenv("TWBENCH_RELAY")
		if mode == modeDetect {
			cfg.ReadRelay = cfg.Topics.RelayTopic(0, shards)
			pcfg := pipeline.DefaultConfig()
			pcfg.Role, pcfg.Shards = pipeline.RoleDetect, shards
			first, last, err = consume(ctx, cfg, pcfg, n, log, nil)
			break
		}
		var own int
		first, last, own, err = aggregate(ctx, cfg, shards, os.Getenv("TWBENCH_MARKS"), log)
		res := childResult{Events: own, Seconds: last.Sub(first).Seconds(), CPUSeconds: cpuSeconds(), PeakRSS: peakRSS(),
			First: first.UnixNano(), Last: last.UnixNano()}
		return res, err
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	res := childResult{Events: n, Seconds: last.Sub(first).Seconds(), CPUSeconds: cpuSeconds(), PeakRSS: peakRSS()}
	return res, err
}

// aggregate runs an aggregate process's consumer and forwarder, as run
// --role aggregate does, until the siblings in its group and it have handed
// the forwarder every input partition's last record, and then until its
// forwarder has written what it was handed; it returns when it got its first
// batch, when its forwarder was done, and how many records it forwarded
// itself.
//
// The relay's size does not tell when the stream is on it: as each sibling
// joins, the group rebalances, and a partition's new owner forwards it again
// from the last commit (pipeline.commit_interval), so the relay holds about
// a fifth of the stream twice before it holds all of it once. A partition's
// last record is handed on only after every record before it, by its
// owner or by the owners before it up to the commit its owner began from, so
// the marks in dir, one per input partition whose last record some sibling
// handed its forwarder, say when the whole stream is on its way.
func aggregate(ctx context.Context, cfg ingest.Config, shards int, dir string, log *slog.Logger) (first, last time.Time, own int, err error) {
	if dir == "" {
		return first, last, 0, errors.New("TWBENCH_MARKS: no directory for the aggregate processes' marks")
	}
	fw, err := ingest.NewForwarder(cfg, shards, log, nil)
	if err != nil {
		return first, last, 0, err
	}
	defer fw.Close()
	if err := fw.EnsureTopics(ctx); err != nil {
		return first, last, 0, err
	}
	c, err := ingest.NewConsumer(cfg, log, nil)
	if err != nil {
		return first, last, 0, err
	}
	defer c.Close()
	parts, err := c.Partitions(ctx)
	if err != nil {
		return first, last, 0, err
	}
	ends, err := c.HighWaterMarks(ctx, parts)
	if err != nil {
		return first, last, 0, err
	}
	// lastOf is each non-empty input partition's last offset: the stream was
	// produced whole before the aggregate processes started.
	lastOf := make(map[ingest.Partition]int64)
	for p, hw := range ends {
		if hw > 0 {
			lastOf[p] = hw - 1
		}
	}
	mark := func(p ingest.Partition) string { return filepath.Join(dir, fmt.Sprintf("%s.%d", p.Topic, p.Partition)) }
	cctx, stopConsumer := context.WithCancel(ctx)
	defer stopConsumer()
	in, counted := make(chan []ingest.Record, 16), make(chan []ingest.Record, 16)
	go func() {
		_ = c.RunBatches(cctx, in)
		close(in)
	}()
	markErr := make(chan error, 1)
	go func() {
		defer close(counted)
		for b := range in {
			if first.IsZero() {
				first = time.Now()
			}
			own += len(b)
			for i := range b {
				p := ingest.Partition{Topic: b[i].Source.Topic, Partition: b[i].Source.Partition}
				if o, ok := lastOf[p]; ok && b[i].Source.Offset == o {
					if err := os.WriteFile(mark(p), nil, 0o644); err != nil {
						select {
						case markErr <- fmt.Errorf("mark %s: %w", mark(p), err):
						default:
						}
					}
				}
			}
			counted <- b
		}
	}()
	// The forwarder outlives the consumer: stopped by its input's end, it
	// writes what it was handed before it returns, where stopped by its
	// context it would drop it.
	done := make(chan error, 1)
	go func() { done <- fw.Run(ctx, counted, c, pipeline.DefaultConfig().CommitInterval) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return first, last, own, fmt.Errorf("forwarder stopped: %v", err)
		case err := <-markErr:
			return first, last, own, err
		case <-ctx.Done():
			return first, last, own, ctx.Err()
		case <-tick.C:
		}
		whole := true
		for p := range lastOf {
			if _, err := os.Stat(mark(p)); err != nil {
				whole = false
				break
			}
		}
		if !whole {
			continue
		}
		stopConsumer()
		if err := <-done; err != nil {
			return first, last, own, fmt.Errorf("forwarder: %w", err)
		}
		return first, time.Now(), own, nil
	}
}

// consume runs the consumer and the engine, the engine configured by pcfg,
// until n records were processed.
func consume(ctx context.Context, cfg ingest.Config, pcfg pipeline.Config, n int, log *slog.Logger, sinks []pipeline.Sink) (first, last time.Time, err error) {
	pcfg.MaxAhead = 0 // --replay, as cfg's limits
	eng, err := pipeline.New(pcfg, sketches.DefaultWindowConfig(), detectors.DefaultConfig(), sinks, log, nil)
	if err != nil {
		return first, last, err
	}
	tally := &bucketTally{}
	eng.AddObserver(tally)
	f, err := startFeed(ctx, cfg, eng, log)
	if err != nil {
		return first, last, err
	}
	defer f.close()
	batches, runErr := f.batches, f.consumed
	for got := 0; got < n; {
		select {
		case recs := <-batches:
			if first.IsZero() {
				first = time.Now()
			}
			if err := eng.ProcessBatch(ctx, recs); err != nil {
				return first, last, err
			}
			got += len(recs)
		case err := <-runErr:
			return first, last, fmt.Errorf("consumer stopped: %v", err)
		case <-ctx.Done():
			return first, last, fmt.Errorf("%d of %d records by the deadline: %w", got, n, ctx.Err())
		}
	}
	if path := os.Getenv("TWBENCH_HEAPPROFILE"); path != "" {
		// What the heap holds at the end of the replay, engine and all, for
		// where the RSS goes.
		if err := writeHeapProfile(fmt.Sprintf("%s.%s-%s", path, cfg.Topics.Content, os.Getenv("GOMAXPROCS"))); err != nil {
			return first, last, err
		}
		runtime.KeepAlive(eng)
	}
	// To the last record counted, and with sinks to the last row written, as
	// the peer's count is: every record applied, every bucket closed. A quiet
	// partition holds event time back, and the records parked behind it were
	// taken in but not yet counted (a sixth of -short's stream).
	if err := eng.Drain(ctx); err != nil {
		return first, last, err
	}
	for _, s := range sinks {
		if err := s.Flush(ctx); err != nil {
			return first, last, err
		}
	}
	// A row that counted nothing must not print a rate: a stream whose
	// event time ran past its backlog counted 1,070 of 480,766 events, the
	// rest late, and read as 365 k events a second.
	if tally.late > uint64(n)/100 {
		return first, last, fmt.Errorf("%d of %d records came late and were not counted (%d events in the closed buckets): the row would time nothing", tally.late, n, tally.events)
	}
	return first, time.Now(), nil
}

// bucketTally sums what the closed buckets took in.
type bucketTally struct{ events, late uint64 }

func (t *bucketTally) Bucket(r *pipeline.BucketReport) { t.events += r.Events; t.late += r.Late }
func (t *bucketTally) Alert(alert.Event)               {}

// feed is a consumer started for an engine: its batches, in fetch order, and
// why it stopped.
type feed struct {
	c        *ingest.Consumer
	batches  chan []ingest.Record
	consumed chan error
	stop     context.CancelFunc
}

// startFeed starts cfg's consumer for eng, which learns its partitions.
func startFeed(ctx context.Context, cfg ingest.Config, eng *pipeline.Engine, log *slog.Logger) (*feed, error) {
	c, err := ingest.NewConsumer(cfg, log, nil)
	if err != nil {
		return nil, err
	}
	if parts, err := c.Partitions(ctx); err == nil {
		eng.Expect(parts)
	}
	rctx, stop := context.WithCancel(ctx)
	f := &feed{c: c, batches: make(chan []ingest.Record, 16), consumed: make(chan error, 1), stop: stop}
	go func() { f.consumed <- c.RunBatches(rctx, f.batches) }()
	return f, nil
}

func (f *feed) close() {
	f.stop()
	f.c.Close()
}

// consumeToClickHouse is consume on the peer's topics with the ClickHouse
// sink at its defaults, timed from joining the group (the peer's time
// includes its own joining) to the last row flushed.
func consumeToClickHouse(ctx context.Context, cfg ingest.Config, n int, log *slog.Logger, addr string) (first, last time.Time, err error) {
	cfg.Topics.Content, cfg.Topics.Reports = peerContent, peerReports
	chcfg := clickhouse.DefaultConfig()
	chcfg.Addr, chcfg.Database = []string{addr}, "twbench"
	if _, err := clickhouse.Migrate(ctx, chcfg, log); err != nil {
		return first, last, err
	}
	sink, err := clickhouse.Open(ctx, chcfg, log, nil)
	if err != nil {
		return first, last, err
	}
	defer sink.Close()
	began := time.Now()
	_, last, err = consume(ctx, cfg, pipeline.DefaultConfig(), n, log, []pipeline.Sink{sink})
	return began, last, err
}

// readOnly fetches n messages with a kafka-go group Reader and does nothing
// with them.
func readOnly(ctx context.Context, cfg ingest.Config, n int) (first, last time.Time, err error) {
	dialer, err := cfg.Dialer()
	if err != nil {
		return first, last, err
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: cfg.Brokers, GroupID: cfg.Group, GroupTopics: []string{cfg.Topics.Content, cfg.Topics.Reports},
		Dialer: dialer, MinBytes: 1, MaxBytes: cfg.FetchMaxBytes, MaxWait: cfg.MaxWait, StartOffset: kafka.FirstOffset,
	})
	defer r.Close()
	for got := 0; got < n; got++ {
		if _, err := r.FetchMessage(ctx); err != nil {
			return first, last, fmt.Errorf("fetch %d of %d: %w", got, n, err)
		}
		if got == 0 {
			first = time.Now()
		}
	}
	return first, time.Now(), nil
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// peakRSS is the process's high-water resident set (VmHWM), 0 where /proc
// does not say.
func peakRSS() int64 { return statusPeakRSS("/proc/self/status") }

func statusPeakRSS(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// startCPUProfile profiles the process into path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile %s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	return nil
}
