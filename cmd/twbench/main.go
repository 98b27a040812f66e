// Command twbench measures trendwatch on one generated stream and writes the
// README's benchmark table (make bench): decode, normalise and engine cost per
// event on a sample of the stream, then the whole stream consumed from the
// embedded broker by a child process at 1, 2 and all cores, each with its
// throughput, CPU time and peak RSS. The machine it ran on is printed beside
// the numbers. It needs nothing from the network.
//
// Each Kafka run is a child process (this binary again), so its GOMAXPROCS is
// the core count measured, its RSS is its own and not the broker's, and the
// broker, as a real one would be, runs outside it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func main() {
	if os.Getenv(childEnv) != "" {
		os.Exit(childMain())
	}
	testing.Init() // testing.Benchmark reads the test.* flags
	var cfg config
	flag.IntVar(&cfg.events, "events", 1_000_000, "messages in the generated stream")
	flag.IntVar(&cfg.sample, "sample", 200_000, "messages of the stream the decode, normalise and engine rows use")
	flag.StringVar(&cfg.cpus, "cpus", "1,2,4,8,all", "core counts of the Kafka runs (those above the machine's are left out); all is every core; none skips the Kafka runs")
	flag.StringVar(&cfg.out, "out", "bench.md", "markdown file to write; - for none (the default with -short)")
	flag.DurationVar(&cfg.benchtime, "benchtime", time.Second, "time per decode and normalise measurement")
	flag.DurationVar(&cfg.timeout, "timeout", 10*time.Minute, "bound on the whole run")
	flag.StringVar(&cfg.engineProfile, "engineprofile", "", "write a CPU profile of the engine row to this file")
	flag.IntVar(&cfg.peerEvents, "peer", 500_000, "messages of the backlog for the ClickHouse Kafka-engine peer and trendwatch with its ClickHouse sink; 0 skips it (so does a machine without clickhouse-server)")
	flag.IntVar(&cfg.liveSurges, "live", 16, "surges of the live measurement (real time, about 10 s each plus the history's production and 4 minutes of settling): half tenfold, half threefold; 0 skips it")
	short := flag.Bool("short", false, "a small stream and brief measurements, to prove the harness works (seconds)")
	flag.Parse()
	if *short {
		cfg.shorten()
		// A -short table is no figure to keep: it replaces bench.md only when asked.
		outSet := false
		flag.Visit(func(f *flag.Flag) { outSet = outSet || f.Name == "out" })
		if !outSet {
			cfg.out = "-"
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "twbench:", err)
		os.Exit(1)
	}
}

type config struct {
	events, sample int
	cpus           string
	out            string
	benchtime      time.Duration
	timeout        time.Duration
	short          bool
	engineProfile  string
	peerEvents     int
	liveSurges     int
}

// shorten makes the run take seconds: it proves every row still measures,
// not how fast anything is.
func (c *config) shorten() {
	c.short = true
	c.events = min(c.events, 20_000)
	c.sample = min(c.sample, 5_000)
	c.benchtime = 50 * time.Millisecond
	c.cpus = "1,all"
	c.peerEvents = 0 // starting ClickHouse alone takes seconds
	c.liveSurges = 0 // minutes of real time
}

// coreCounts parses -cpus.
func coreCounts(s string) ([]int, error) {
	var out []int
	if s == "none" {
		return nil, nil
	}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "all" {
			out = append(out, runtime.NumCPU())
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-cpus: %q is neither a positive count nor all", f)
		}
		out = append(out, n)
	}
	// "all" on a 2-core machine is 2 again: measure each count once, and
	// none beyond the machine's cores.
	out = slices.DeleteFunc(out, func(n int) bool { return n > runtime.NumCPU() })
	slices.Sort(out)
	return slices.Compact(out), nil
}

func run(ctx context.Context, cfg config, w io.Writer) error {
	cpus, err := coreCounts(cfg.cpus)
	if err != nil {
		return err
	}
	if err := flagSet("test.benchtime", cfg.benchtime.String()); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	began := time.Now()
	r := &report{machine: describeMachine(), events: cfg.events, sample: cfg.sample, short: cfg.short}
	fmt.Fprintf(w, "machine: %s\n", r.machine)

	st, err := startStream(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.close()
	r.events = st.produced // the generator's event time may end first
	fmt.Fprintf(w, "stream: %d messages (%d content, %d reports) produced in %s\n",
		st.produced, st.content, st.reports, st.produceTook.Round(time.Millisecond))

	if err := measureMicro(r, st, cfg.engineProfile); err != nil {
		return err
	}
	for _, row := range r.micro {
		fmt.Fprintf(w, "%-40s %8.0f ns/event %6.1f allocs/event\n", row.what, row.ns, row.allocs)
	}

	var kinds []childRun
	if len(cpus) > 0 {
		kinds = append(kinds, childRun{mode: modeRead, cores: runtime.NumCPU()})
	}
	for _, n := range cpus {
		kinds = append(kinds, childRun{mode: modeConsume, cores: n})
	}
	if len(cpus) > 0 {
		// One process of a sharded pipeline on one core: on a cluster each
		// shard has cores of its own and reads the whole stream.
		for _, s := range []int{2, 4} {
			kinds = append(kinds, childRun{mode: modeConsume, cores: 1, shards: s})
		}
	}
	// The two stages: aggregate processes of one core each forwarding the
	// stream to two detect shards' relay topics, then one detect shard on
	// the relay the first of them filled.
	var firstRelay string
	if len(cpus) > 0 {
		for _, a := range []int{1, 2, 4} {
			relay := fmt.Sprintf("twbench-%d-relay-%d", os.Getpid(), a)
			if firstRelay == "" {
				firstRelay = relay
			}
			res, again, err := runAggregates(ctx, st.addr, st.produced, a, relay)
			if err != nil {
				return fmt.Errorf("%d aggregate processes: %w", a, err)
			}
			r.stages = append(r.stages, stageRow{aggregates: a, res: res, again: again})
			fmt.Fprintf(w, "%-40s %9.0f events/s  cpu %.1fs  peak RSS %d MiB\n",
				fmt.Sprintf("two stages, %d aggregate process(es)", a), res.rate(), res.CPUSeconds, res.PeakRSS>>20)
		}
	}
	if firstRelay != "" {
		kinds = append(kinds, childRun{mode: modeDetect, cores: 1, shards: stageShards, relay: firstRelay})
	}
	for i, k := range kinds {
		k.group = fmt.Sprintf("twbench-%d-%s-%d", os.Getpid(), k.mode, i)
		res, err := k.run(ctx, st.addr, st.produced)
		if err != nil {
			return fmt.Errorf("%s at %d cores: %w", k.mode, k.cores, err)
		}
		r.kafka = append(r.kafka, kafkaRow{childRun: k, res: res})
		fmt.Fprintf(w, "%-40s %9.0f events/s  cpu %.1fs  peak RSS %d MiB\n",
			k.describe(), res.rate(), res.CPUSeconds, res.PeakRSS>>20)
	}
	if cfg.peerEvents > 0 {
		p, err := measurePeer(ctx, st, min(cfg.peerEvents, cfg.events))
		if err != nil {
			p.skipped = "failed: " + err.Error()
		}
		r.peer = &p
		if p.skipped != "" {
			fmt.Fprintf(w, "ClickHouse Kafka-engine peer: not measured: %s\n", p.skipped)
		} else {
			fmt.Fprintf(w, "ClickHouse Kafka-engine peer: %9.0f events/s  cpu %.1fs  peak RSS %d MiB\n", p.ch.rate(), p.ch.CPUSeconds, p.ch.PeakRSS>>20)
			fmt.Fprintf(w, "trendwatch + ClickHouse sink:   %9.0f events/s  cpu %.1fs  peak RSS %d MiB\n", p.tw.rate(), p.tw.CPUSeconds, p.tw.PeakRSS>>20)
		}
	}
	if cfg.liveSurges > 0 {
		fmt.Fprintf(w, "live: %d surges in real time, about %s\n", cfg.liveSurges, (liveGap*time.Duration(cfg.liveSurges+1) + liveSettle + 2*time.Minute).Round(time.Minute))
		lr, err := measureLive(ctx, st, cfg.liveSurges, log)
		if err != nil {
			return fmt.Errorf("live measurement: %w", err)
		}
		r.live = lr
		for _, sg := range lr.surges {
			fmt.Fprintf(w, "  %s %.0fx: trendwatch %s (early %v), with first_bucket %s (early %v), watched %s (early %v), peer %s\n", sg.term, sg.gain,
				fmtLatency(sg.tw[liveDefaults]), sg.early[liveDefaults], fmtLatency(sg.tw[liveFirstBucket]), sg.early[liveFirstBucket],
				fmtLatency(sg.tw[liveWatched]), sg.early[liveWatched], fmtLatency(sg.peer))
		}
	}
	r.load = loadAverage()
	r.took = time.Since(began)

	md := r.markdown()
	fmt.Fprintln(w)
	fmt.Fprint(w, md)
	if cfg.out != "-" && cfg.out != "" {
		if err := os.WriteFile(cfg.out, []byte(md), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", cfg.out, err)
		}
		fmt.Fprintf(w, "\nwritten to %s\n", cfg.out)
	}
	return nil
}

func flagSet(name, value string) error {
	if err := flag.Set(name, value); err != nil {
		return fmt.Errorf("set -%s: %w", name, err)
	}
	return nil
}

// childRun is one Kafka run in a child process.
type childRun struct {
	mode  string
	cores int
	group string
	// shards, above 1, runs shard 0 of that many (pipeline.shards).
	shards int
	// relay is the relay topics' prefix of the two stages' modes.
	relay string
}

// stageShards is how many detect shards the two stages' runs forward to.
const stageShards = 2

// runAggregates runs a aggregate processes of one core each in one
// consumer group, forwarding the n-message stream to stageShards relay
// topics named from relay, and times them together: from the first batch
// any of them got to the last of the stream handed to a forwarder, and that
// forwarder's write. again is how many records were forwarded a second time,
// by a partition's new owner after a rebalance.
func runAggregates(ctx context.Context, addr string, n, a int, relay string) (res childResult, again int, err error) {
	k := childRun{mode: modeAggregate, cores: 1, shards: stageShards, relay: relay, group: relay + "-group"}
	marks, err := os.MkdirTemp("", "twbench-marks-")
	if err != nil {
		return childResult{}, 0, fmt.Errorf("aggregate processes' marks: %w", err)
	}
	defer os.RemoveAll(marks)
	results := make([]childResult, a)
	errs := make([]error, a)
	var wg sync.WaitGroup
	for i := range a {
		wg.Go(func() { results[i], errs[i] = k.runEnv(ctx, addr, n, "TWBENCH_MARKS="+marks) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return childResult{}, 0, err
	}
	out := childResult{Events: n}
	var first, last int64
	forwarded := 0
	for _, r := range results {
		if r.First > 0 && (first == 0 || r.First < first) {
			first = r.First
		}
		last = max(last, r.Last)
		out.CPUSeconds += r.CPUSeconds
		out.PeakRSS = max(out.PeakRSS, r.PeakRSS)
		forwarded += r.Events
	}
	if forwarded < n {
		return out, 0, fmt.Errorf("the aggregate processes forwarded %d of %d messages", forwarded, n)
	}
	out.Seconds = time.Duration(last - first).Seconds()
	return out, forwarded - n, nil
}

func (k childRun) describe() string {
	switch {
	case k.mode == modeRead:
		return "kafka-go group Reader alone, " + cores1(k.cores)
	case k.mode == modeDetect:
		return fmt.Sprintf("two stages: one of %d detect shards, reading its relay, %s", k.shards, cores1(k.cores))
	case k.shards > 1:
		return fmt.Sprintf("Kafka → detectors, one of %d term shards, %s", k.shards, cores1(k.cores))
	}
	return "Kafka → detectors, " + cores1(k.cores)
}

func cores1(n int) string {
	if n == 1 {
		return "1 core"
	}
	return fmt.Sprintf("%d cores", n)
}

// run starts the child and reads its one line of JSON.
func (k childRun) run(ctx context.Context, addr string, n int) (childResult, error) {
	return k.runEnv(ctx, addr, n)
}

// runEnv is run with more environment for the child; cores 0 is every core.
func (k childRun) runEnv(ctx context.Context, addr string, n int, env ...string) (childResult, error) {
	if k.cores == 0 {
		k.cores = runtime.NumCPU()
	}
	exe, err := os.Executable()
	if err != nil {
		return childResult{}, fmt.Errorf("find own executable: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, exe)
	cmd.Env = append(os.Environ(),
		childEnv+"="+k.mode,
		"GOMAXPROCS="+strconv.Itoa(k.cores),
		"TWBENCH_BROKER="+addr,
		"TWBENCH_GROUP="+k.group,
		"TWBENCH_EVENTS="+strconv.Itoa(n),
		"TWBENCH_SHARDS="+strconv.Itoa(max(k.shards, 1)),
		"TWBENCH_RELAY="+k.relay,
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return childResult{}, fmt.Errorf("child: %w", err)
	}
	var res childResult
	if err := json.Unmarshal(out, &res); err != nil {
		return childResult{}, fmt.Errorf("child said %q: %w", out, err)
	}
	if res.Err != "" {
		return res, errors.New(res.Err)
	}
	return res, nil
}
