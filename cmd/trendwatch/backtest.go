package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trendwatch/trendwatch/bench/nab"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/sim/backtest"
	"github.com/trendwatch/trendwatch/sim/gen"
)

func (a *app) backtestCmd() *cobra.Command {
	var events, labels, series, format, out, windows, plot string
	cmd := &cobra.Command{
		Use:   "backtest",
		Short: "Run the detectors offline on an events file or a count series",
		Long: `backtest runs the pipeline offline, as fast as the CPU allows.

  --events FILE --labels FILE   JSON lines of content/report events (as written by
                                'trendwatch gen --out'); prints precision, recall and
                                detection delay per scenario against the labels.
  --series FILE --format nab    a count series (NAB layout: timestamp,value; or a
                                header naming a time and a value column, e.g.
                                time,count; or none, time first; commas,
                                semicolons or tabs; Unix times too); writes
                                timestamp,value,anomaly_score,alert per distinct
                                timestamp to --out (default stdout), alert being the
                                detector's own decision and value what it read.
                                Exports are repaired, with a warning on stderr for
                                each repair: rows sorted, repeated timestamps summed
                                (averaged for measurements), values shifted up to 0,
                                missing buckets of a count series filled with zeros
                                (a page on one is reported on the next row), a row
                                without a value (empty, NA, NaN, null) read as a
                                missing bucket; a value that is not a finite number
                                is refused.
    --windows FILE              NAB windows (combined_windows.json): also scores the
                                file as NAB does, the table on stderr.
    --plot FILE.svg             draws the series as SVG, its windows shaded, its
                                pages marked.
  --series DIR --windows FILE   a labelled corpus in NAB layout (DIR/<category>/<file>.csv,
                                or a flat DIR of CSV files, read as one category named
                                after DIR; windows keyed "<category>/<file>.csv", or
                                "<file>.csv" where that name is the corpus's only one;
                                profiles.json beside them or NAB's weights): prints
                                NAB scores per category and overall, with the
                                detector's own pages and at NAB's best threshold, as a
                                markdown table.
  --series DIR                  the same files without labels: prints each file's
                                pages, its first, its highest anomaly score, and how
                                many of the files paged, as a markdown table.
    --out DIR                   with either: also writes each file's scores, as
                                --series FILE --out does, to DIR/<category>/<file>.csv.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.load(cmd)
			if err != nil {
				return err
			}
			switch {
			case series != "" && events != "":
				return errors.New("give --series or --events, not both")
			case series != "" && labels != "":
				// Ignored, it read as if the pages had been scored against it.
				return errors.New("--labels goes with --events; a --series is scored with --windows")
			case events != "" && out != "":
				return errors.New("--out goes with --series; --events prints its result")
			case series != "":
				if format != "nab" {
					return fmt.Errorf("--format: only nab is supported, got %q", format)
				}
				st, err := os.Stat(series)
				if err != nil {
					return fmt.Errorf("--series: %w", err)
				}
				if !st.IsDir() {
					return backtestSeries(cfg.Detectors, series, out, windows, plot, cmd.OutOrStdout(), cmd.ErrOrStderr())
				}
				if plot != "" {
					return errors.New("--plot draws one file: give --series FILE")
				}
				return backtestCorpus(cfg.Detectors, series, windows, out, cmd.OutOrStdout(), cmd.ErrOrStderr())
			case windows != "" || plot != "":
				return errors.New("--windows and --plot go with --series")
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
				everyTerm(cfg, cfg.Log.Logger(), "a backtest")
				bar := &progressBar{w: cmd.ErrOrStderr(), total: st.Size(), began: time.Now()}
				limits := cfg.Kafka.Limits
				limits.MaxAge, limits.MaxFuture = 0, 0
				cfg.Pipeline.MaxAhead = 0 // history, at whatever time it was
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
				if res.Content+res.Reports == 0 {
					// A CSV given for JSON lines, or an empty file: no result
					// to stand on, which exit 0 said there was.
					return fmt.Errorf("--events %s: no valid event among %d lines (want JSON lines as 'trendwatch gen' writes them)", events, res.Lines)
				}
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
	f.StringVar(&series, "series", "", "CSV count series (timestamp,value, or a header naming a time and a value column), or a corpus folder in NAB layout")
	f.StringVar(&format, "format", "nab", "series format: nab")
	f.StringVar(&out, "out", "", "output CSV for --series FILE (default stdout), or a folder of them for --series DIR")
	f.StringVar(&windows, "windows", "", "NAB windows JSON for --series: score it as NAB does")
	f.StringVar(&plot, "plot", "", "SVG file to draw a single --series in, with its --windows and pages")
	return cmd
}

// backtestSeries runs the surge detector over one export and writes its
// scores; with windows, it scores the file as NAB does, and plots it.
func backtestSeries(dcfg detectors.Config, in, out, windowsFile, plot string, stdout, stderr io.Writer) error {
	key := filepath.ToSlash(filepath.Join(filepath.Base(filepath.Dir(in)), filepath.Base(in)))
	f, err := backtest.RunFile(dcfg, in, key)
	if err != nil {
		return fmt.Errorf("--series: %w", err)
	}
	printWarnings(stderr, []backtest.CorpusFile{f})
	var windows []nab.Window
	if windowsFile != "" {
		all, profiles, err := backtest.LoadLabels(windowsFile)
		if err != nil {
			return fmt.Errorf("--windows: %w", err)
		}
		var ok bool
		if windows, ok = all[key]; !ok {
			if windows, ok = all[filepath.Base(in)]; !ok {
				return fmt.Errorf("--windows %s: no entry %q for --series %s", windowsFile, key, in)
			}
			f.Name = filepath.Base(in)
		}
		sc, err := backtest.ScoreCorpus([]backtest.CorpusFile{f}, map[string][]nab.Window{f.Name: windows}, profiles)
		if err != nil {
			return err
		}
		if err := sc.WriteMarkdown(stderr); err != nil {
			return err
		}
	}
	if plot != "" {
		if err := writeFile(plot, func(w io.Writer) error { return backtest.WritePlot(w, f.Name, f, windows) }); err != nil {
			return fmt.Errorf("--plot: %w", err)
		}
	}
	if out == "" {
		return writeScores(stdout, f)
	}
	if err := writeFile(out, func(w io.Writer) error { return writeScores(w, f) }); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	return nil
}

// writeScores writes f's rows with their anomaly score and whether they paged.
func writeScores(w io.Writer, f backtest.CorpusFile) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "timestamp,value,anomaly_score,alert")
	for i, t := range f.Series.Text {
		a := 0
		if f.Result.Alerts[i] {
			a = 1
		}
		fmt.Fprintf(bw, "%s,%s,%s,%d\n", t, strconv.FormatFloat(f.Series.Values[i], 'g', -1, 64),
			strconv.FormatFloat(f.Result.Scores[i], 'g', -1, 64), a)
	}
	return bw.Flush()
}

// writeScoresDir writes each file's scores, as --series FILE --out writes
// one's, to dir/<category>/<file>.csv: the corpus's own layout.
func writeScoresDir(dir string, files []backtest.CorpusFile) error {
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		// --out naming the corpus's own folder (or, for a flat one, the
		// folder above it) would write over the exports being read.
		if same, err := samePath(p, f.Path); err != nil || same {
			if err == nil {
				err = fmt.Errorf("%s is the export %s itself: give --out a folder of its own", p, f.Path)
			}
			return err
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := writeFile(p, func(w io.Writer) error { return writeScores(w, f) }); err != nil {
			return err
		}
	}
	return nil
}

// samePath reports whether a and b name one file, by their absolute paths
// and, where both exist, by the file itself.
func samePath(a, b string) (bool, error) {
	aa, err := filepath.Abs(a)
	if err != nil {
		return false, err
	}
	ab, err := filepath.Abs(b)
	if err != nil {
		return false, err
	}
	if aa == ab {
		return true, nil
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb), nil
}

// backtestCorpus runs the surge detector over every file of the corpus at dir
// with a progress bar, optionally writes each file's scores under out, and
// prints a markdown table: NAB's scores by category with windowsFile, each
// file's pages without.
func backtestCorpus(dcfg detectors.Config, dir, windowsFile, out string, stdout, stderr io.Writer) error {
	// The labels are read first, so that a wrong path fails before the
	// corpus runs rather than after.
	var windows map[string][]nab.Window
	var profiles map[string]nab.Profile
	if windowsFile != "" {
		var err error
		if windows, profiles, err = backtest.LoadLabels(windowsFile); err != nil {
			return fmt.Errorf("--windows: %w", err)
		}
	}
	bar := &progressBar{w: stderr, began: time.Now()}
	files, err := backtest.RunCorpus(dcfg, dir, func(read, rows, total int64) {
		bar.total = total
		bar.update(read, rows)
	})
	bar.done()
	if err != nil {
		return fmt.Errorf("--series: %w", err)
	}
	printWarnings(stderr, files)
	if out != "" {
		if err := writeScoresDir(out, files); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	if windowsFile == "" {
		return backtest.WritePages(stdout, files)
	}
	sc, err := backtest.ScoreCorpus(files, windows, profiles)
	if err != nil {
		return fmt.Errorf("--windows %s: %w", windowsFile, err)
	}
	return sc.WriteMarkdown(stdout)
}

// printWarnings tells the user what was repaired in each export: the scores
// are of the repaired series, not of the file as written.
func printWarnings(w io.Writer, files []backtest.CorpusFile) {
	for _, f := range files {
		for _, msg := range f.Series.Warnings {
			fmt.Fprintf(w, "warning: %s: %s\n", f.Name, msg)
		}
		if r := f.Result; r.Moved > 0 {
			fmt.Fprintf(w, "warning: %s: %d of %d pages fell on filled buckets and are reported on the next row of the file (%d on a row that paged already)\n",
				f.Name, r.Moved, r.Pages, r.Merged)
		}
	}
}

// writeFile creates path and writes it with write.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// progressBar draws a one-line bar on stderr.
type progressBar struct {
	w     io.Writer
	total int64
	began time.Time
	last  time.Time
}

func (p *progressBar) update(read, lines int64) {
	// The last call is always drawn, so that the bar ends at what was done.
	if time.Since(p.last) < 200*time.Millisecond && (p.total <= 0 || read < p.total) {
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
