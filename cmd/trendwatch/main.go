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

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/trendwatch/trendwatch/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "trendwatch:", err)
		os.Exit(1)
	}
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
	mustBind(a.loader, "log.level", pf.Lookup("log-level"))
	mustBind(a.loader, "log.format", pf.Lookup("log-format"))

	root.AddCommand(a.runCmd(), a.brokerCmd(), a.genCmd(), a.migrateCmd(), a.demoCmd(), a.backtestCmd(), a.configCmd())
	return root
}

// mustBind ties a flag to a configuration key. The pairs are fixed in code, so a
// failure is a programming error.
func mustBind(l *config.Loader, key string, f *pflag.Flag) {
	if err := l.BindFlag(key, f); err != nil {
		panic(err)
	}
}

func (a *app) load() (*config.Config, error) { return a.loader.Load(a.cfgFile) }
