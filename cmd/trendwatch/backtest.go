package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trendwatch/trendwatch/backtest"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/gen"
)

func (a *app) backtestCmd() *cobra.Command {
	var events, labels, series, format, out string
	cmd := &cobra.Command{
		Use:   "backtest",
		Short: "Run the detectors offline on an events file or a count series",
		Long: `backtest runs the pipeline offline, as fast as the CPU allows.

  --events FILE --labels FILE   JSON lines of content/report events (as written by
                                'trendwatch gen --out'); prints precision, recall and
                                detection delay per scenario against the labels.
  --series FILE --format nab    a count series (NAB layout: timestamp,value); writes
                                timestamp,value,anomaly_score,alert per row to --out
                                (default stdout), alert being the detector's own decision.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.load(cmd)
			if err != nil {
				return err
			}
			switch {
			case series != "" && events != "":
				return errors.New("give --series or --events, not both")
			case series != "":
				if format != "nab" {
					return fmt.Errorf("--format: only nab is supported, got %q", format)
				}
				return backtestSeries(cfg.Detectors, series, out, cmd.OutOrStdout())
			case events != "":
				f, err := os.Open(events)
				if err != nil {
					return fmt.Errorf("--events: %w", err)
				}
				defer f.Close()
				st, err := f.Stat()
				if err != nil {
					return err
				}
				var ls []gen.Label
				if labels != "" {
					lf, err := os.Open(labels)
					if err != nil {
						return fmt.Errorf("--labels: %w", err)
					}
					ls, err = gen.ReadLabels(lf)
					lf.Close()
					if err != nil {
						return fmt.Errorf("--labels %s: %w", labels, err)
					}
				}
				if len(cfg.Detectors.Watchlist.Terms) == 0 {
					cfg.Detectors.Watchlist.Terms = gen.DefaultWatchlist()
				}
				bar := &progressBar{w: cmd.ErrOrStderr(), total: st.Size(), began: time.Now()}
				limits := cfg.Kafka.Limits
				limits.MaxAge, limits.MaxFuture = 0, 0
				res, err := backtest.Run(cmd.Context(), backtest.Config{
					Pipeline: cfg.Pipeline, Window: cfg.Window, Detectors: cfg.Detectors, Limits: limits,
					Log: cfg.Log.Logger(), Progress: bar.update,
				}, bufio.NewReaderSize(f, 1<<20))
				bar.done()
				if err != nil {
					return err
				}
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "%d lines (%d content, %d reports, %d invalid) in %s: %.0f events/s, %d buckets, %d alert transitions\n",
					res.Lines, res.Content, res.Reports, res.Invalid, res.Took.Round(time.Millisecond),
					float64(res.Lines)/res.Took.Seconds(), res.Buckets, len(res.Alerts))
				if len(ls) == 0 {
					for _, ev := range res.Alerts {
						if ev.From == "" {
							fmt.Fprintf(w, "%s %-8s %s\n", ev.At.UTC().Format("2006-01-02 15:04"), ev.Alert.Severity, ev.Alert.Summary)
						}
					}
					return nil
				}
				backtest.Evaluate(ls, res.Alerts, cfg.Window.Bucket).WriteTable(w)
				return nil
			default:
				return errors.New("give --events FILE (with --labels FILE) or --series FILE --format nab")
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&events, "events", "", "JSON lines of content and report events")
	f.StringVar(&labels, "labels", "", "ground truth written by 'trendwatch gen --labels'")
	f.StringVar(&series, "series", "", "CSV count series (timestamp,value)")
	f.StringVar(&format, "format", "nab", "series format: nab")
	f.StringVar(&out, "out", "", "output CSV for --series (default stdout)")
	return cmd
}

// backtestSeries scores one NAB-layout series with the surge detector.
func backtestSeries(dcfg detectors.Config, in, out string, stdout io.Writer) error {
	f, err := os.Open(in)
	if err != nil {
		return fmt.Errorf("--series: %w", err)
	}
	defer f.Close()
	ts, vals, raw, err := readNAB(f)
	if err != nil {
		return fmt.Errorf("--series %s: %w", in, err)
	}
	scores, alerts, err := detectors.RunSeries(dcfg, ts, vals)
	if err != nil {
		return err
	}
	w := stdout
	if out != "" {
		of, err := os.Create(out)
		if err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		defer of.Close()
		w = of
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "timestamp,value,anomaly_score,alert")
	for i := range ts {
		a := 0
		if alerts[i] {
			a = 1
		}
		fmt.Fprintf(bw, "%s,%s,%s,%d\n", raw[i][0], raw[i][1], strconv.FormatFloat(scores[i], 'g', -1, 64), a)
	}
	return bw.Flush()
}

// readNAB reads "timestamp,value" rows; timestamps as NAB writes them.
func readNAB(r io.Reader) ([]time.Time, []float64, [][2]string, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("header: %w", err)
	}
	if len(header) < 2 || strings.TrimSpace(header[0]) != "timestamp" || strings.TrimSpace(header[1]) != "value" {
		return nil, nil, nil, fmt.Errorf("header %q: want timestamp,value", strings.Join(header, ","))
	}
	var ts []time.Time
	var vals []float64
	var raw [][2]string
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("line %d: %w", line, err)
		}
		if len(rec) < 2 {
			return nil, nil, nil, fmt.Errorf("line %d: want 2 fields, got %d", line, len(rec))
		}
		t, err := parseNABTime(rec[0])
		if err != nil {
			return nil, nil, nil, fmt.Errorf("line %d: timestamp %q: %w", line, rec[0], err)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[1]), 64)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("line %d: value %q: %w", line, rec[1], err)
		}
		if len(ts) > 0 && !t.After(ts[len(ts)-1]) {
			return nil, nil, nil, fmt.Errorf("line %d: timestamp %s is not after the previous row", line, rec[0])
		}
		ts, vals, raw = append(ts, t), append(vals, v), append(raw, [2]string{rec[0], rec[1]})
	}
	if len(ts) == 0 {
		return nil, nil, nil, errors.New("no rows")
	}
	return ts, vals, raw, nil
}

func parseNABTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04:05.000000", time.RFC3339} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("want YYYY-MM-DD HH:MM:SS")
}

// progressBar draws a one-line bar on stderr.
type progressBar struct {
	w     io.Writer
	total int64
	began time.Time
	last  time.Time
}

func (p *progressBar) update(read, lines int64) {
	if time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	frac := 0.0
	if p.total > 0 {
		frac = min(1, float64(read)/float64(p.total))
	}
	const width = 30
	n := int(frac * width)
	rate := float64(lines) / time.Since(p.began).Seconds()
	fmt.Fprintf(p.w, "\r[%s%s] %5.1f%%  %d lines  %.0f lines/s", strings.Repeat("=", n), strings.Repeat(" ", width-n), frac*100, lines, rate)
}

func (p *progressBar) done() { fmt.Fprintln(p.w) }
