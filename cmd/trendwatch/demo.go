package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/trendwatch/trendwatch/config"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/pipeline"
	"github.com/trendwatch/trendwatch/sim/broker"
	"github.com/trendwatch/trendwatch/sim/gen"
	"github.com/trendwatch/trendwatch/sinks/clickhouse"
)

func (a *app) demoCmd() *cobra.Command {
	var g genFlags
	var wall time.Duration
	var rows int
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Broker, generator and pipeline in one process, for a first look",
		Long: `demo starts the embedded broker, produces synthetic traffic with injected
scenarios into it at a compressed event time, and runs the pipeline on it as
'run' would, over Kafka. It prints one line per alert as it fires, a table of
the fastest-growing terms whenever a new one appears, and a summary at the end
with the review command that writes a page per incident.
Each run writes its Parquet files to a directory of its own,
./trendwatch-data/demo-<time>/ (under parquet.dir), so runs never mix; or to
ClickHouse with --clickhouse. The log shows only warnings and errors unless
--log-level is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case wall < 0:
				return fmt.Errorf("--wall: must be >= 0 (0: until Ctrl-C), got %v", wall)
			case rows < 1:
				return fmt.Errorf("--rows: must be >= 1, got %d", rows)
			}
			cfg, err := a.load(cmd)
			if err != nil {
				return err
			}
			if !a.loader.Given("log.level") {
				// The alert lines are the screen; the log keeps to what is wrong.
				cfg.Log.Level = "warn"
			}
			log := cfg.Log.Logger()
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()

			gc, err := g.demoConfig(wall, cmd.Flags().Changed("duration"))
			if err != nil {
				return err
			}
			gr, err := gen.New(gc)
			if err != nil {
				return err
			}
			if err := g.writeLabels(gr.Labels()); err != nil {
				return err
			}
			runDir := ""
			if contains(cfg.Sinks, "parquet") {
				if runDir, err = makeRunDir(cfg.Parquet.Dir, time.Now()); err != nil {
					return err
				}
				cfg.Parquet.Dir = runDir
			}
			// The demo starts fresh on a broker of its own, so its state is
			// its own too: in a checkpoint.dir from the configuration it
			// would claim the epoch of the pipeline that directory belongs
			// to, stopping it, and leave the demo's state for it to resume.
			if a.loader.Given("checkpoint.dir") {
				log.Warn("the demo keeps its state apart; checkpoint.dir is not used", "checkpoint.dir", cfg.Checkpoint.Dir)
			}
			if runDir != "" {
				cfg.Checkpoint.Dir = filepath.Join(runDir, "checkpoint")
			} else {
				tmp, err := os.MkdirTemp("", "trendwatch-demo-checkpoint-")
				if err != nil {
					return fmt.Errorf("the demo's checkpoint directory: %w", err)
				}
				defer os.RemoveAll(tmp)
				cfg.Checkpoint.Dir = tmp
			}
			bcfg := cfg.Broker
			if !a.loader.Given("broker.listen") {
				bcfg.Listen = "127.0.0.1:0" // a free port: a demo must not collide with a real broker
			}
			b, err := broker.Start(bcfg, log)
			if err != nil {
				return err
			}
			defer b.Close()

			cfg.Kafka.Brokers = []string{b.Addr()}
			cfg.Kafka.Group = "trendwatch-demo"
			everyTerm(cfg, log, "the demo")
			cfg.Checkpoint.Fresh = true // a new broker each time: old offsets mean nothing
			cfg.Pipeline.CommitInterval = 5 * time.Second
			if len(cfg.Detectors.Watchlist.Terms) == 0 && len(cfg.Detectors.Watchlist.Entries) == 0 {
				for _, t := range gen.DefaultWatchlist() {
					cfg.Detectors.Watchlist.Entries = append(cfg.Detectors.Watchlist.Entries,
						detectors.WatchEntry{Term: t, Category: "dangerous_challenge"})
				}
			}
			out := cmd.OutOrStdout()
			if contains(cfg.Sinks, "clickhouse") {
				applied, err := clickhouse.Migrate(ctx, cfg.ClickHouse, log)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "ClickHouse %v: %d migrations applied\n", cfg.ClickHouse.Addr, len(applied))
			}
			pace := fmt.Sprintf("at %g×", gc.Speedup)
			if gc.Speedup == 0 {
				pace = "as fast as possible"
			}
			fmt.Fprintf(out, "trendwatch demo: %.0f events/s, %s of event time from %s UTC %s, broker %s\n",
				gc.Rate, gc.Duration, gc.Start.Format("2006-01-02 15:04"), pace, b.Addr())
			wallWarmup := "as fast as the machine allows"
			if gc.Speedup > 0 {
				wallWarmup = "~" + time.Duration(float64(gc.Warmup)/gc.Speedup).Round(time.Second).String() + " of wall time"
			}
			fmt.Fprintf(out, "scenarios start after %s of event time (%s); Ctrl-C to stop\n", gc.Warmup, wallWarmup)
			if runDir != "" {
				fmt.Fprintf(out, "Parquet files: %s\n", runDir)
			}
			fmt.Fprintln(out)

			// Event time runs ahead of the clock at this speed-up; the demo's own
			// stream is the one place where that is expected.
			cfg.Kafka.Limits.MaxFuture, cfg.Kafka.Limits.MaxAge = 0, 0
			p := newPrinter(out, rows, isTerminal(out), cfg.Detectors.Lifecycle.QuietBuckets)
			go func() {
				// Until Ctrl-C, the generator runs again and again, each cycle a
				// new seed starting where the last ended, so there is always
				// something to watch.
				end := gc.Start.Add(gc.Duration) // of the cycle running
				for cycle := 1; ; cycle++ {
					if err := genToKafka(ctx, gr, cfg, io.Discard); err != nil {
						// Without its generator the demo has nothing to
						// show: it stops rather than wait for ever.
						log.Error("generator stopped", "err", err)
						cancel()
						return
					}
					if wall > 0 || ctx.Err() != nil {
						break
					}
					next := gc
					next.Seed = gc.Seed + int64(cycle)
					next.Start = gc.Start.Add(time.Duration(cycle) * gc.Duration)
					if gr, err = gen.New(next); err != nil {
						log.Error("generator", "err", err)
						cancel()
						return
					}
					end = next.Start.Add(next.Duration)
					p.note(fmt.Sprintf("── generator cycle %d: another %s of event time ──", cycle+1, gc.Duration))
				}
				// The buckets the watermark closes once the pipeline has read
				// the cycle's last events: those that end, with the allowed
				// lateness, a bucket or more before it. The last few minutes
				// of event time close only after pipeline.idle_close of
				// silence, wall-clock minutes the demo does not wait for.
				wc := cfg.Window
				waitClosed(ctx, p, end.Add(-2*wc.Bucket-wc.AllowedLateness).Truncate(wc.Bucket), demoDrainWait)
				cancel()
			}()
			err = runPipeline(ctx, cfg, log, false, []pipeline.Observer{p})
			if err != nil && p.closed() == 0 {
				// It never ran (a port in use, a broker refused): a summary
				// of nothing read as a run, and its directory is empty.
				if rmErr := os.Remove(runDir); rmErr != nil && !os.IsNotExist(rmErr) {
					log.Debug("demo: run directory left", "dir", runDir, "err", rmErr)
				}
				return err
			}
			p.summary(runDir, cfg)
			return err
		},
	}
	f := cmd.Flags()
	addGenFlags(f, &g, genDefaults{rate: gen.DefaultConfig().Rate, duration: 2 * time.Hour, speedup: 60, warmup: 15 * time.Minute})
	f.Lookup("duration").Usage = "event time per generator cycle; cycles repeat until Ctrl-C (with --wall: enough to fill it)"
	f.DurationVar(&wall, "wall", 0, "stop after about this much wall-clock time: the generator runs one cycle sized to fill it, at least the warm-up and 20 minutes of event time so that every scenario runs (35s at the default speed-up), unless --duration sizes it, then the pipeline catches up with it (at most a minute more); default: until Ctrl-C")
	f.IntVar(&rows, "rows", 5, "rows in the top-surging table")
	f.StringSlice("sinks", nil, "sinks: clickhouse, parquet (sinks)")
	f.String("clickhouse", "", "ClickHouse native address host:port; enables the ClickHouse sink (clickhouse.addr)")
	f.String("metrics-listen", config.Default().Metrics.Listen, "address for /metrics and /healthz, empty to disable (metrics.listen)")
	configKey(f, "sinks", "sinks")
	configKey(f, "clickhouse", "clickhouse.addr")
	configKey(f, "metrics-listen", "metrics.listen")
	return cmd
}

// demoDrainWait bounds how long the demo waits, once the generator is done,
// for the pipeline to catch up with it (waitClosed).
const demoDrainWait = time.Minute

// waitClosed waits until p has seen the bucket starting at last closed, ctx
// is done, or limit has passed. A run's shutdown judges no open bucket (a
// service's checkpoint keeps them), so the demo, which stops when its
// generator is done, must first let the pipeline catch up with what the
// generator wrote. A fixed pause of 3 s did not, on a loaded machine, where
// the consumer lags the generator by seconds, minutes of event time at the
// demo's speed-up: the run stopped with its last scenarios' buckets still open
// and never judged (TestDemoCommand with six busy loops on two cores: the
// report wave near the end of the cycle never paged).
func waitClosed(ctx context.Context, p *printer, last time.Time, limit time.Duration) {
	deadline := time.After(limit)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !p.closedThrough(last) {
		select {
		case <-tick.C:
		case <-deadline:
			return
		case <-ctx.Done():
			return
		}
	}
}

// demoConfig compresses time so the first scenarios alert within half a minute.
func (g *genFlags) demoConfig(wall time.Duration, durationGiven bool) (gen.Config, error) {
	if !durationGiven && wall > 0 && g.speedup > 0 {
		// One cycle that fills the wall time, with every scenario after the
		// warm-up.
		g.duration = max(g.warmup+20*time.Minute, time.Duration(float64(wall)*g.speedup))
	}
	return g.config()
}

// makeRunDir makes a directory of its own for one demo run under root, so a
// second run does not add its rows to the first's: each run's event time
// ends at its own start, and a query over both would count the overlap twice.
func makeRunDir(root string, now time.Time) (string, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("demo: parquet.dir %s: %w", root, err)
	}
	base := filepath.Join(root, "demo-"+now.UTC().Format("20060102-150405"))
	dir := base
	for i := 2; ; i++ {
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, fs.ErrExist) || i > 100 {
			return "", fmt.Errorf("demo: run directory %s: %w", dir, err)
		}
		dir = fmt.Sprintf("%s-%d", base, i)
	}
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}
