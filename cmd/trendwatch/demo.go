package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/broker"
	"github.com/trendwatch/trendwatch/gen"
	"github.com/trendwatch/trendwatch/pipeline"
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
'run' would, over Kafka. It prints every alert as it fires and a table of the
fastest-growing terms at every bucket close, and writes aggregates and alerts
to Parquet files under ./trendwatch-data/ (or ClickHouse with --clickhouse).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.load(cmd)
			if err != nil {
				return err
			}
			log := cfg.Log.Logger()
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()

			gc, err := g.demoConfig(wall)
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
			cfg.Checkpoint.Fresh = true // a new broker each time: old offsets mean nothing
			cfg.Pipeline.CommitInterval = 5 * time.Second
			if len(cfg.Detectors.Watchlist.Terms) == 0 {
				cfg.Detectors.Watchlist.Terms = gen.DefaultWatchlist()
			}
			out := cmd.OutOrStdout()
			if contains(cfg.Sinks, "clickhouse") {
				applied, err := clickhouse.Migrate(ctx, cfg.ClickHouse, log)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "ClickHouse %v: %d migrations applied\n", cfg.ClickHouse.Addr, len(applied))
			}
			fmt.Fprintf(out, "trendwatch demo: broker %s, %.0f events/s of event time at %gx, %s of event time from %s\n",
				b.Addr(), gc.Rate, gc.Speedup, gc.Duration, gc.Start.Format("2006-01-02 15:04 MST"))
			fmt.Fprintf(out, "scenarios start after %s of event time (~%s of wall time); Ctrl-C to stop\n",
				gc.Warmup, (time.Duration(float64(gc.Warmup) / gc.Speedup)).Round(time.Second))

			// Event time runs ahead of the clock at this speed-up; the demo's own
			// stream is the one place where that is expected.
			cfg.Kafka.Limits.MaxFuture, cfg.Kafka.Limits.MaxAge = 0, 0
			go func() {
				// Until Ctrl-C, the generator runs again and again, each cycle a
				// new seed starting where the last ended, so there is always
				// something to watch.
				for cycle := 1; ; cycle++ {
					if err := genToKafka(ctx, gr, cfg, io.Discard); err != nil {
						log.Error("generator stopped", "err", err)
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
						return
					}
					fmt.Fprintf(out, "── generator cycle %d: another %s of event time ──\n", cycle+1, gc.Duration)
				}
				// Let the last buckets close (idle advance) before stopping.
				select {
				case <-time.After(3 * time.Second):
				case <-ctx.Done():
				}
				cancel()
			}()
			p := &printer{w: out, rows: rows}
			return runPipeline(ctx, cfg, log, []pipeline.Observer{p})
		},
	}
	f := cmd.Flags()
	addGenFlags(f, &g)
	f.DurationVar(&wall, "wall", 0, "stop after this much wall-clock time (default: until Ctrl-C)")
	f.IntVar(&rows, "rows", 5, "rows in the top-surging table")
	f.StringSlice("sinks", nil, "sinks: clickhouse, parquet (sinks)")
	f.String("clickhouse", "", "ClickHouse native address host:port; enables the ClickHouse sink (clickhouse.addr)")
	f.String("metrics-listen", "", "address for /metrics and /healthz (metrics.listen)")
	configKey(f, "sinks", "sinks")
	configKey(f, "clickhouse", "clickhouse.addr")
	configKey(f, "metrics-listen", "metrics.listen")
	return cmd
}

// demoConfig compresses time so the first scenarios alert within half a minute.
func (g *genFlags) demoConfig(wall time.Duration) (gen.Config, error) {
	if g.speedup < 0 {
		g.speedup = 60
	}
	if g.warmup == 0 {
		g.warmup = 15 * time.Minute
	}
	if g.duration == 0 {
		// Two hours of event time hold every scenario after the warm-up; the
		// demo repeats it until Ctrl-C.
		g.duration = 2 * time.Hour
		if wall > 0 && g.speedup > 0 {
			g.duration = max(g.warmup+20*time.Minute, time.Duration(float64(wall)*g.speedup))
		}
	}
	return g.config(g.speedup)
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

// printer writes alerts and the per-bucket table for a person watching.
type printer struct {
	mu   sync.Mutex
	w    io.Writer
	rows int
}

func (p *printer) Alert(ev alert.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a := ev.Alert
	fmt.Fprintf(p.w, "%s  %-8s %-9s %-12s %s\n", ev.At.UTC().Format("15:04"), strings.ToUpper(a.Severity.String()),
		strings.ToUpper(string(ev.To)), a.Detector, a.Summary)
}

func (p *printer) Bucket(r *pipeline.BucketReport) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "── %s UTC · %d events · %d mentions · %d reports · %d terms tracked",
		r.Start.UTC().Format("2006-01-02 15:04"), r.Events, r.Mentions, r.Reports, r.Tracked)
	if r.Late > 0 || r.Invalid > 0 {
		fmt.Fprintf(p.w, " · %d late, %d invalid", r.Late, r.Invalid)
	}
	fmt.Fprintln(p.w, " ──")
	n := min(p.rows, len(r.Surging))
	if n == 0 {
		return
	}
	fmt.Fprintf(p.w, "   %-36s %8s %9s %7s %9s %8s\n", "surging", "mentions", "expected", "growth", "creators", "reports")
	for _, t := range r.Surging[:n] {
		fmt.Fprintf(p.w, "   %-36s %8.0f %9.1f %6.1f× %9d %8.0f\n", clip(t.Term, 36), t.Mentions, t.Expected, t.Growth, t.UniqueCreators, t.Reports)
	}
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
