package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/trendwatch/trendwatch/config"
	"github.com/trendwatch/trendwatch/review"
	"github.com/trendwatch/trendwatch/sinks/clickhouse"
	"github.com/trendwatch/trendwatch/sinks/parquet"
)

func (a *app) reviewCmd() *cobra.Command {
	var (
		day string
		out string
	)
	cmd := &cobra.Command{
		Use:   "review ALERT_KEY | --day YYYY-MM-DD",
		Short: "Write a post-incident review of an alert, or the digest of a day's alerts",
		Long: `review writes a self-contained HTML page and a Markdown twin for readers
outside engineering: the term's posts, accounts and reports per minute as
charts with the onset, first alert, escalations and resolution marked; the
detection delay; the detector's numbers in plain words; top regions, languages
and report reasons and channels; the spellings of a challenge that has several,
with when each was first seen; sample content IDs; and the analysts' verdict.
An alert whose detector alerted on the term again after it resolved reuses its
key: each opening gets a page of its own, the second named with "~2", and so on.

With --day it writes the digest of every alert opened that day (UTC), with a
sparkline, severity, delay and verdict each, grouped into incidents (one per
challenge: a hashtag with its other spellings, or one term); the page of each
incident, its alerts on one timeline; and the review of each alert beside it.

It reads ClickHouse when --clickhouse (or --database) is given, or, without
--parquet, when the sinks write to ClickHouse (clickhouse.addr configured);
else the Parquet files of the run directory parquet.dir (--parquet).
--clickhouse and --parquet together are refused.`,
		Example: `  trendwatch review 'surge|hashtag:blackoutchallenge' --parquet trendwatch-data/demo-20261122-101500 --out reviews
  trendwatch review --day 2026-11-22 --clickhouse 127.0.0.1:9000 --out reviews`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case day == "" && len(args) != 1:
				return fmt.Errorf("want one alert key, such as 'surge|hashtag:blackoutchallenge', or --day YYYY-MM-DD")
			case day != "" && len(args) != 0:
				return fmt.Errorf("--day makes the digest of a day: give no alert key with it")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			// The arguments first: a mistyped date is the user's to fix
			// before a store's error can be.
			var d time.Time
			if day != "" {
				var err error
				if d, err = time.Parse(time.DateOnly, day); err != nil {
					return fmt.Errorf("--day %q: want YYYY-MM-DD: %w", day, err)
				}
			}
			if err := oneStore(cmd.Flags()); err != nil {
				return err
			}
			cfg, err := a.load(cmd)
			if err != nil {
				return err
			}
			src, _, closeSrc, err := openReviewSource(cmd.Context(), cfg, cmd.Flags())
			if err != nil {
				return err
			}
			defer closeSrc()
			if day != "" {
				return writeDigest(cmd.Context(), cmd.OutOrStdout(), src, d, out)
			}
			inc, err := review.Load(cmd.Context(), src, args[0])
			if err != nil {
				return err
			}
			// A page for each opening of the alert, as the digest makes.
			for _, o := range review.Openings(inc) {
				p := review.Build(o)
				p.VerdictArgs = storeArgs(cmd.Flags())
				if err := writeReview(cmd.OutOrStdout(), p, out); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&day, "day", "", "make the digest of the alerts opened on this UTC day, YYYY-MM-DD")
	f.StringVar(&out, "out", ".", "directory for the HTML and Markdown files")
	storeFlags(f)
	return cmd
}

func (a *app) verdictCmd() *cobra.Command {
	var note, reviewer string
	cmd := &cobra.Command{
		Use:   "verdict ALERT_KEY true_positive|false_positive|unsure",
		Short: "Record an analyst's verdict on an alert",
		Long: `verdict records whether an alert was a real problem, a false alarm or unclear,
with a note, in ClickHouse's alert_reviews or in verdicts.jsonl in the Parquet
run directory, chosen as review chooses, and says which. The latest verdict on
an alert wins; reviews show it and notebooks/05_alert_precision.sql turns
verdicts into precision per detector.`,
		Example: `  trendwatch verdict 'surge|hashtag:blackoutchallenge' true_positive --note "dangerous challenge, escalated to policy" --reviewer asha`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			verdict, err := review.ParseVerdict(args[1])
			if err != nil {
				return err
			}
			if err := oneStore(cmd.Flags()); err != nil {
				return err
			}
			cfg, err := a.load(cmd)
			if err != nil {
				return err
			}
			if reviewer == "" {
				if u, err := user.Current(); err == nil {
					reviewer = u.Username
				}
			}
			src, where, closeSrc, err := openReviewSource(cmd.Context(), cfg, cmd.Flags())
			if err != nil {
				return err
			}
			defer closeSrc()
			// A verdict on a key no alert has is a typo, and it would count in
			// no detector's precision.
			evs, err := src.AlertHistory(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if len(evs) == 0 {
				return fmt.Errorf("alert %q: no transitions found; keys look like 'surge|hashtag:blackoutchallenge'", args[0])
			}
			v := review.Verdict{Key: args[0], Verdict: verdict, Reviewer: reviewer, Note: note, At: time.Now()}
			if err := src.RecordVerdict(cmd.Context(), v); err != nil {
				return err
			}
			// Said, as a verdict in the store no precision query reads is
			// lost without a word.
			fmt.Fprintf(cmd.OutOrStdout(), "recorded %s on %s by %s in %s\n", verdict, args[0], reviewer, where)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&note, "note", "", "why: what the analyst found")
	f.StringVar(&reviewer, "reviewer", "", "who reviewed it (default: the current user)")
	storeFlags(f)
	return cmd
}

// storeFlags choose where review and verdict read and write.
func storeFlags(f *pflag.FlagSet) {
	f.String("clickhouse", "", "ClickHouse native address host:port (clickhouse.addr)")
	f.String("database", "", "ClickHouse database (clickhouse.database)")
	f.String("parquet", "", "Parquet run directory (parquet.dir)")
	configKey(f, "clickhouse", "clickhouse.addr")
	configKey(f, "database", "clickhouse.database")
	configKey(f, "parquet", "parquet.dir")
}

// storeArgs are the store flags given on the command line, as arguments
// for the verdict command a page offers.
func storeArgs(f *pflag.FlagSet) []string {
	var args []string
	for _, name := range []string{"parquet", "clickhouse", "database"} {
		if fl := f.Lookup(name); fl != nil && fl.Changed {
			args = append(args, "--"+name, fl.Value.String())
		}
	}
	return args
}

// oneStore refuses --clickhouse (or --database) with --parquet. Either alone
// overrides the configured store, but together one would be dropped unsaid:
// a verdict meant for ClickHouse's alert_reviews would go to a file no
// precision query reads.
func oneStore(f *pflag.FlagSet) error {
	for _, ch := range []string{"clickhouse", "database"} {
		if f.Changed(ch) && f.Changed("parquet") {
			return fmt.Errorf("--%s and --parquet name two stores; give one", ch)
		}
	}
	return nil
}

// reviewStoreKind is the store review and verdict use, "clickhouse" or
// "parquet": the one named on the command line, --parquet, or --clickhouse
// or --database, which mean nothing to a Parquet directory; else ClickHouse
// where the sinks write to it, as they choose. A sinks setting of parquet
// must not override --clickhouse: a verdict meant for alert_reviews would
// go to verdicts.jsonl.
func reviewStoreKind(cfg *config.Config, f *pflag.FlagSet) string {
	switch {
	case f.Changed("parquet"):
		return "parquet"
	case f.Changed("clickhouse"), f.Changed("database"), contains(cfg.Sinks, "clickhouse"):
		return "clickhouse"
	}
	return "parquet"
}

// reviewStore is what review and verdict need of a store.
type reviewStore interface {
	review.Source
	RecordVerdict(ctx context.Context, v review.Verdict) error
}

// openReviewSource opens the store reviewStoreKind picks; where says where
// a verdict recorded in it goes.
func openReviewSource(ctx context.Context, cfg *config.Config, f *pflag.FlagSet) (src reviewStore, where string, closeSrc func(), err error) {
	if reviewStoreKind(cfg, f) == "clickhouse" {
		addr := strings.Join(cfg.ClickHouse.Addr, ",")
		r, err := clickhouse.OpenReader(ctx, cfg.ClickHouse)
		if err != nil {
			return nil, "", nil, fmt.Errorf("opening ClickHouse for reviews and verdicts: %w", err)
		}
		return r, fmt.Sprintf("ClickHouse %s, table %s.alert_reviews", addr, cfg.ClickHouse.Database), func() { r.Close() }, nil
	}
	r, err := parquet.NewReader(cfg.Parquet.Dir)
	if err != nil {
		return nil, "", nil, err
	}
	if err := checkRunDir(cfg.Parquet.Dir); err != nil {
		return nil, "", nil, err
	}
	return r, filepath.Join(cfg.Parquet.Dir, parquet.VerdictsFile), func() {}, nil
}

// checkRunDir refuses a directory that holds no run's Parquet files, such as
// parquet.dir itself when the demo wrote its runs beneath it: read as a run,
// it would give a digest of a day without alerts. A run that never alerted
// still has trend_minute files, and its empty digest is true.
func checkRunDir(dir string) error {
	if isRunDir(dir) {
		return nil
	}
	var runs []string
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			if e.IsDir() && isRunDir(filepath.Join(dir, e.Name())) {
				runs = append(runs, filepath.Join(dir, e.Name()))
			}
		}
	}
	msg := fmt.Sprintf("parquet.dir %s holds no run: a run directory has %s/date=YYYY-MM-DD/hour=HH/*.parquet and %s/… (a sharded run has them under %s, a two-stage run under %s)",
		dir, parquet.TableAlerts, parquet.TableMinutes, parquet.ShardDirs, parquet.DetectDirs)
	switch n := len(runs); {
	case n == 0:
		return errors.New(msg + "; give one with --parquet")
	case n <= 3:
		return fmt.Errorf("%s; give one with --parquet: %s", msg, strings.Join(runs, ", "))
	default:
		// Demo runs are named by their start, so the last are the latest.
		return fmt.Errorf("%s; give one with --parquet, such as the latest of its %d: %s", msg, n, strings.Join(runs[n-3:], ", "))
	}
}

// isRunDir says whether dir holds a Parquet run, read as parquet.Reader
// reads one: its tables' files under dir or under its shards' directories.
func isRunDir(dir string) bool {
	for _, root := range parquet.Roots(dir) {
		for _, table := range []string{parquet.TableAlerts, parquet.TableMinutes} {
			// A bad pattern is the only error Glob returns, and these are fixed.
			if found, _ := filepath.Glob(filepath.Join(root, table, "date=*", "hour=*", "*.parquet")); len(found) > 0 {
				return true
			}
		}
	}
	return false
}

func writeReview(w io.Writer, p review.Page, dir string) error {
	name := review.PageFileName(&p)
	for _, f := range []struct {
		ext   string
		write func(io.Writer) error
	}{
		{".html", func(w io.Writer) error { return review.WriteHTML(w, p) }},
		{".md", func(w io.Writer) error { return review.WriteMarkdown(w, p) }},
	} {
		path, err := review.WriteFile(dir, name+f.ext, f.write)
		if err != nil {
			return err
		}
		fmt.Fprintln(w, path)
	}
	return nil
}

func writeDigest(ctx context.Context, w io.Writer, src review.Source, day time.Time, dir string) error {
	incs, err := review.LoadDay(ctx, src, day)
	if err != nil {
		return err
	}
	d := review.BuildDay(day, incs)
	// The digest links to each alert's page and each incident's, so they are
	// written beside it; an incident's page links to its alerts opened after
	// midnight too.
	written := map[string]bool{}
	rows := d.Rows
	for _, p := range d.IncidentPages {
		rows = append(rows, p.Alerts...)
	}
	for _, r := range rows {
		if written[r.File] {
			continue
		}
		written[r.File] = true
		if err := writeReview(io.Discard, r.Page, dir); err != nil {
			return err
		}
	}
	for _, p := range d.IncidentPages {
		name := review.IncidentFileName(d.Date, p.Name)
		for _, f := range []struct {
			ext   string
			write func(io.Writer) error
		}{
			{".html", func(w io.Writer) error { return review.WriteIncidentHTML(w, p) }},
			{".md", func(w io.Writer) error { return review.WriteIncidentMarkdown(w, p) }},
		} {
			if _, err := review.WriteFile(dir, name+f.ext, f.write); err != nil {
				return err
			}
		}
	}
	name := review.DayFileName(day)
	for _, f := range []struct {
		ext   string
		write func(io.Writer) error
	}{
		{".html", func(w io.Writer) error { return review.WriteDayHTML(w, d) }},
		{".md", func(w io.Writer) error { return review.WriteDayMarkdown(w, d) }},
	} {
		path, err := review.WriteFile(dir, name+f.ext, f.write)
		if err != nil {
			return err
		}
		fmt.Fprintln(w, path)
	}
	fmt.Fprintf(w, "%d alerts opened on %s, %d incidents\n", len(d.Rows), day.Format(time.DateOnly), len(d.Incidents))
	return nil
}
