// Command trendwatch detects surging and risky terms in a stream of content and
// report events: one binary for the pipeline, the embedded broker, the traffic
// generator, schema migrations, the demo and offline backtests.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/trendwatch/trendwatch/config"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx := stopOnSignal(context.Background(), sigs, time.Second, func(s os.Signal) {
		// The default handling of s ends the process as s would have.
		signal.Reset()
		if p, err := os.FindProcess(os.Getpid()); err != nil || p.Signal(s) != nil {
			os.Exit(1)
		}
	})
	if err := newRoot().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "trendwatch:", err)
		os.Exit(1)
	}
}

// stopOnSignal is parent, ended by the first signal from sigs: a clean stop
// (the last commit, the sinks flushed: up to tens of seconds). A signal more
// than debounce after it is the operator's "now", which now gives. One closer
// is the same stop: GNU timeout -s INT signals the command and then its
// process group, and a demo under it, given both at once, took the second
// for "now" one run in three and ended without its summary.
func stopOnSignal(parent context.Context, sigs <-chan os.Signal, debounce time.Duration, now func(os.Signal)) context.Context {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		<-sigs
		cancel()
		first := time.Now()
		for s := range sigs {
			if time.Since(first) > debounce {
				now(s)
				return
			}
		}
	}()
	return ctx
}

// app carries what every command shares: the config loader and the --config flag.
type app struct {
	loader  *config.Loader
	cfgFile string
}

func newRoot() *cobra.Command {
	a := &app{loader: config.NewLoader()}
	root := &cobra.Command{
		Use:   "trendwatch",
		Short: "Trend and emerging-risk detection on Kafka event streams",
		Long: `trendwatch counts hashtags, challenges and sounds in content and report
events from Kafka, detects surges, new terms, coordinated pushes, report waves
and watchlisted risks, and writes per-minute aggregates and alerts to ClickHouse
or Parquet files, and incidents to PagerDuty or a webhook.

Configuration: defaults < YAML file (--config) < TRENDWATCH_* environment
variables (clickhouse.addr -> TRENDWATCH_CLICKHOUSE_ADDR) < flags.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.cfgFile, "config", "", "YAML configuration file")
	pf.String("log-level", "info", "log level: debug, info, warn, error")
	pf.String("log-format", "text", "log format: text or json")
	configKey(pf, "log-level", "log.level")
	configKey(pf, "log-format", "log.format")

	root.AddCommand(a.runCmd(), a.brokerCmd(), a.genCmd(), a.migrateCmd(), a.demoCmd(), a.backtestCmd(), a.configCmd(), a.reviewCmd(), a.verdictCmd())
	return root
}

// configKey marks flag as setting a configuration key. The binding is made
// when the command runs, not here: several commands have a --brokers or
// --clickhouse flag, and viper keeps one flag per key.
func configKey(f *pflag.FlagSet, flag, key string) {
	if err := f.SetAnnotation(flag, annotation, []string{key}); err != nil {
		panic(err) // a flag name fixed in code
	}
}

const annotation = "trendwatch-config-key"

// load binds the running command's flags (its own and inherited) to their
// keys and reads the configuration.
func (a *app) load(cmd *cobra.Command) (*config.Config, error) {
	var err error
	bind := func(f *pflag.Flag) {
		if keys := f.Annotations[annotation]; len(keys) == 1 && err == nil {
			err = a.loader.BindFlag(keys[0], f)
		}
	}
	cmd.Flags().VisitAll(bind)
	cmd.InheritedFlags().VisitAll(bind)
	if err != nil {
		return nil, err
	}
	cfg, err := a.loader.Load(a.cfgFile)
	if err != nil {
		return nil, err
	}
	for _, w := range a.loader.Warnings() {
		cfg.Log.Logger().Warn(w)
	}
	return cfg, nil
}
