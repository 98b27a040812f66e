package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/trendwatch/trendwatch/config"
	"github.com/trendwatch/trendwatch/sim/gen"
)

// genFlags are the generator's knobs, shared by gen and demo.
type genFlags struct {
	rate     float64
	duration time.Duration
	seed     int64
	speedup  float64
	labels   string
	start    string
	warmup   time.Duration
}

func (g *genFlags) config() (gen.Config, error) {
	c := gen.DefaultConfig()
	c.Seed, c.Rate, c.Duration, c.Speedup, c.Warmup = g.seed, g.rate, g.duration, g.speedup, g.warmup
	// By default the stream ends now: event time then never runs ahead of the
	// wall clock by more than the consumer's ts_in_future bound allows.
	c.Start = time.Now().UTC().Add(-c.Duration).Truncate(time.Minute)
	if g.start != "" {
		t, err := time.Parse(time.RFC3339, g.start)
		if err != nil {
			return c, fmt.Errorf("--start %q: want RFC 3339, e.g. 2026-11-22T00:00:00Z: %w", g.start, err)
		}
		c.Start = t.UTC()
	}
	return c, c.Validate()
}

func (g *genFlags) writeLabels(ls []gen.Label) error {
	if g.labels == "" {
		return nil
	}
	f, err := os.Create(g.labels)
	if err != nil {
		return fmt.Errorf("--labels: %w", err)
	}
	if err := gen.WriteLabels(f, ls); err != nil {
		f.Close()
		return fmt.Errorf("--labels %s: %w", g.labels, err)
	}
	return f.Close()
}

func (a *app) genCmd() *cobra.Command {
	var g genFlags
	var out string
	cmd := &cobra.Command{
		Use:   "gen",
		Short: "Produce realistic synthetic traffic with injected scenarios and their ground truth",
		Long: `gen produces content and report events: Zipf popularity over a multilingual
hashtag vocabulary (English, Nepali and Bhojpuri in Devanagari, Indonesian, ...),
a diurnal rhythm, reports at a low base rate, and six injected scenarios: an
organic challenge surge, a dangerous challenge surge with rising reports, a
coordinated push, a report wave on a sound, and a slow trend and a daily peak
that must not alert. --labels writes the ground truth as JSON lines.

With --out FILE it writes JSON lines (the backtest's input) instead of Kafka.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.load(cmd)
			if err != nil {
				return err
			}
			if out != "" && !cmd.Flags().Changed("speedup") {
				g.speedup = 0 // a file is written as fast as possible
			}
			gc, err := g.config()
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
			if out != "" {
				return genToFile(cmd.Context(), gr, out, cmd.ErrOrStderr())
			}
			return genToKafka(cmd.Context(), gr, cfg, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	d := gen.DefaultConfig()
	addGenFlags(f, &g, genDefaults{rate: d.Rate, duration: d.Duration, speedup: 1,
		speedupHelp: "; with --out, 0 unless given", warmupHelp: " (default: a quarter of --duration, at most 45m)"})
	f.StringVar(&out, "out", "", "write events as JSON lines to this file instead of Kafka")
	f.StringSlice("brokers", nil, "Kafka bootstrap brokers (kafka.brokers)")
	configKey(f, "brokers", "kafka.brokers")
	return cmd
}

// genDefaults are the generator flags' defaults, which differ between gen
// and demo; --help shows each command its own.
type genDefaults struct {
	rate                    float64
	duration, warmup        time.Duration
	speedup                 float64
	speedupHelp, warmupHelp string // what a plain default cannot say
}

func addGenFlags(f *pflag.FlagSet, g *genFlags, d genDefaults) {
	f.Float64Var(&g.rate, "rate", d.rate, "content events per second of event time")
	f.DurationVar(&g.duration, "duration", d.duration, "event time to generate")
	f.Int64Var(&g.seed, "seed", 1, "random seed; the same seed gives the same stream")
	f.Float64Var(&g.speedup, "speedup", d.speedup, "event seconds per wall second; 0 = as fast as possible"+d.speedupHelp)
	f.StringVar(&g.labels, "labels", "", "write the injected scenarios' ground truth to this file")
	f.StringVar(&g.start, "start", "", "event time of the first event, RFC 3339 (default: so the stream ends now)")
	f.DurationVar(&g.warmup, "warmup", d.warmup, "event time before the first scenario starts"+d.warmupHelp)
}

// kafkaProducer adapts a kafka-go writer to the generator.
type kafkaProducer struct {
	w       *kafka.Writer
	content string
	reports string
	buf     []kafka.Message
}

func (p *kafkaProducer) Produce(ctx context.Context, msgs []gen.Message) error {
	p.buf = p.buf[:0]
	for _, m := range msgs {
		topic := p.content
		if m.Topic == gen.Report {
			topic = p.reports
		}
		p.buf = append(p.buf, kafka.Message{Topic: topic, Key: m.Key, Value: m.Value, Time: m.TS})
	}
	return p.w.WriteMessages(ctx, p.buf...)
}

func genToKafka(ctx context.Context, gr *gen.Generator, cfg *config.Config, progress io.Writer) error {
	w, err := cfg.Kafka.NewWriter("")
	if err != nil {
		return err
	}
	defer w.Close()
	p := &kafkaProducer{w: w, content: cfg.Kafka.Topics.Content, reports: cfg.Kafka.Topics.Reports}
	err = gr.Run(ctx, p, func(pr gen.Progress) {
		fmt.Fprintf(progress, "\rgen: %d content, %d reports, event time %s", pr.Content, pr.Reports, pr.EventTime.Format("2006-01-02 15:04"))
		if pr.Done {
			fmt.Fprintln(progress)
		}
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("produce to %v: %w", cfg.Kafka.Brokers, err)
	}
	return nil
}

// checkEvery is how many events genToFile writes between looks at its
// context: often enough that Ctrl-C stops it at once, rarely enough to cost
// nothing beside the encoding.
const checkEvery = 4096

// genToFile writes the generator's events to path as JSON lines until the
// stream ends or ctx is done. Stopped, it still flushes what it wrote, which
// is whole lines, and returns ctx's error saying how many: the file is a
// shorter stream, never one cut mid-line.
func genToFile(ctx context.Context, gr *gen.Generator, path string, progress io.Writer) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	n := 0
	var stopped error
	for {
		if n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				stopped = err
				break
			}
		}
		m, ok := gr.Next()
		if !ok {
			break
		}
		w.Write(m.Value)
		w.WriteByte('\n')
		if n++; n%500000 == 0 {
			fmt.Fprintf(progress, "\rgen: %d events, event time %s", n, m.TS.Format("2006-01-02 15:04"))
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("--out %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--out %s: %w", path, err)
	}
	if stopped != nil {
		fmt.Fprintln(progress)
		return fmt.Errorf("--out %s: stopped after %d events, written as whole lines; the stream is incomplete: %w", path, n, stopped)
	}
	fmt.Fprintf(progress, "\rgen: %d events written to %s\n", n, path)
	return nil
}
