package clickhouse

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Migrate creates the database if missing and applies pending migrations in
// order, recording each in schema_migrations; re-running it is a no-op. The
// DDL flavour follows the server version: LowCardinality, DateTime64, codecs
// and TTL retention from 23.8, plain types before. It returns the migrations
// it applied, as "0001_create_trend_minute".
//
// Retention is fixed when a table is created; to change it on an existing
// database, ALTER TABLE ... MODIFY TTL by hand.
func Migrate(ctx context.Context, cfg Config, log *slog.Logger) (applied []string, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	conn, err := dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer conn.Close()

	var raw string
	if err := conn.QueryRow(ctx, "SELECT version()").Scan(&raw); err != nil {
		return nil, fmt.Errorf("clickhouse: reading server version: %w", err)
	}
	v, err := parseVersion(raw)
	if err != nil {
		return nil, err
	}
	sc := schema{db: cfg.Database, dialect: dialectFor(v), retentionDays: cfg.RetentionDays}
	log.Info("clickhouse migrate", "server_version", raw, "dialect", sc.dialect.String(), "database", cfg.Database)
	if cfg.RetentionDays > 0 && !sc.modern() {
		log.Warn("clickhouse server too old for TTL: clickhouse.retention_days is ignored", "server_version", raw)
	}

	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS `"+cfg.Database+"`"); err != nil {
		return nil, fmt.Errorf("clickhouse: creating database %q: %w", cfg.Database, err)
	}
	if err := conn.Exec(ctx, sc.schemaMigrations()); err != nil {
		return nil, fmt.Errorf("clickhouse: creating %s.schema_migrations: %w", cfg.Database, err)
	}
	done, err := appliedVersions(ctx, conn, cfg.Database)
	if err != nil {
		return nil, err
	}
	for _, m := range migrations() {
		if done[m.version] {
			continue
		}
		if m.columns != nil {
			for _, c := range m.columns(sc) {
				if err := ensureColumn(ctx, conn, sc, c); err != nil {
					return applied, fmt.Errorf("clickhouse: migration %s: %w", m.id(), err)
				}
			}
		}
		for i, stmt := range m.ddl(sc) {
			if err := conn.Exec(ctx, stmt); err != nil {
				return applied, fmt.Errorf("clickhouse: migration %s statement %d: %w", m.id(), i+1, err)
			}
		}
		if err := record(ctx, conn, cfg.Database, m, sc.dialect, raw); err != nil {
			return applied, fmt.Errorf("clickhouse: recording migration %s: %w", m.id(), err)
		}
		log.Info("clickhouse migration applied", "migration", m.id())
		applied = append(applied, m.id())
	}
	return applied, nil
}

func appliedVersions(ctx context.Context, conn driver.Conn, db string) (map[int]bool, error) {
	rows, err := conn.Query(ctx, "SELECT DISTINCT version FROM `"+db+"`.schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("clickhouse: reading %s.schema_migrations: %w", db, err)
	}
	defer rows.Close()
	done := map[int]bool{}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("clickhouse: reading %s.schema_migrations: %w", db, err)
		}
		done[int(v)] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse: reading %s.schema_migrations: %w", db, err)
	}
	return done, nil
}

// ensureColumn adds c unless its table already has it, which is how a re-run
// of a migration that added it finds it.
func ensureColumn(ctx context.Context, conn driver.Conn, sc schema, c tableColumn) error {
	var n uint64
	err := conn.QueryRow(ctx, "SELECT count() FROM system.columns WHERE database = ? AND table = ? AND name = ?",
		sc.db, c.table, c.name).Scan(&n)
	if err != nil {
		return fmt.Errorf("looking for column %s.%s: %w", c.table, c.name, err)
	}
	if n > 0 {
		return nil
	}
	if err := conn.Exec(ctx, sc.addColumn(c)); err != nil {
		return fmt.Errorf("adding column %s.%s: %w", c.table, c.name, err)
	}
	return nil
}

// record inserts through a batch: 18.16 waits for a data block after an INSERT
// whose VALUES are bound parameters.
func record(ctx context.Context, conn driver.Conn, db string, m migration, d dialect, server string) error {
	b, err := conn.PrepareBatch(ctx, "INSERT INTO `"+db+"`.schema_migrations (version, name, dialect, server_version)")
	if err != nil {
		return err
	}
	if err := b.Append(uint32(m.version), m.name, d.String(), server); err != nil {
		_ = b.Abort()
		return err
	}
	return b.Send()
}
