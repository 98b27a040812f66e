package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/trendwatch/trendwatch/sinks/clickhouse"
)

func (a *app) migrateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the ClickHouse schema",
		Long: `migrate creates the database if needed and applies every schema migration not
yet recorded in its schema_migrations table, choosing modern column types
(LowCardinality, DateTime64, codecs, TTL) where the server supports them.
Running it again is safe: applied migrations are skipped.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.load(cmd)
			if err != nil {
				return err
			}
			if err := cfg.ClickHouse.Validate(); err != nil {
				return err
			}
			applied, err := clickhouse.Migrate(cmd.Context(), cfg.ClickHouse, cfg.Log.Logger())
			if err != nil {
				return err
			}
			if len(applied) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "schema of %s on %v is up to date\n", cfg.ClickHouse.Database, cfg.ClickHouse.Addr)
				return nil
			}
			for _, m := range applied {
				fmt.Fprintf(cmd.OutOrStdout(), "applied %s\n", m)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.String("clickhouse", "", "ClickHouse native address host:port (clickhouse.addr)")
	f.String("database", "", "database (clickhouse.database)")
	configKey(f, "clickhouse", "clickhouse.addr")
	configKey(f, "database", "clickhouse.database")
	return cmd
}
