package clickhouse

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strconv"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

// Config configures the sink and Migrate. Keys are under clickhouse.* in the
// trendwatch configuration.
type Config struct {
	Addr                  []string      `mapstructure:"addr"`     // host:port of the native protocol
	Database              string        `mapstructure:"database"` // created by Migrate if missing
	Username              string        `mapstructure:"username"`
	Password              string        `mapstructure:"password"` // never logged
	TLS                   bool          `mapstructure:"tls"`
	TLSCAFile             string        `mapstructure:"tls_ca_file"`
	TLSInsecureSkipVerify bool          `mapstructure:"tls_insecure_skip_verify"`
	DialTimeout           time.Duration `mapstructure:"dial_timeout"`
	BatchRows             int           `mapstructure:"batch_rows"`     // flush when this many rows are queued
	FlushInterval         time.Duration `mapstructure:"flush_interval"` // ...or when the oldest queued row is this old
	QueueRows             int           `mapstructure:"queue_rows"`     // bound on unflushed rows; writes block beyond it
	MaxRetryDelay         time.Duration `mapstructure:"max_retry_delay"`
	// WriteTimeout bounds one INSERT attempt, so a server that accepts the
	// connection and then hangs is retried rather than waited on forever.
	WriteTimeout time.Duration `mapstructure:"write_timeout"`
	// CloseTimeout bounds the final flush in Close.
	CloseTimeout  time.Duration `mapstructure:"close_timeout"`
	RetentionDays int           `mapstructure:"retention_days"` // TTL on servers that support it; 0 keeps forever
}

// DefaultConfig returns a configuration for a local server. The queue holds 20
// batches so that a ClickHouse restart of a minute or so is absorbed without
// pausing consumption.
func DefaultConfig() Config {
	return Config{
		Addr:          []string{"127.0.0.1:9000"},
		Database:      "trendwatch",
		Username:      "default",
		DialTimeout:   5 * time.Second,
		BatchRows:     10_000,
		FlushInterval: 5 * time.Second,
		QueueRows:     200_000,
		MaxRetryDelay: 30 * time.Second,
		WriteTimeout:  60 * time.Second,
		CloseTimeout:  30 * time.Second,
	}
}

// identifier is what Database may be: it is spliced into DDL and queries, where
// a bound parameter cannot stand for a name.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate reports every invalid key, each error naming it.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("clickhouse.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if len(c.Addr) == 0 {
		bad("addr", "at least one host:port is required")
	}
	for _, a := range c.Addr {
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			bad("addr", "%q: %v", a, err)
			continue
		}
		if host == "" {
			bad("addr", "%q: empty host", a)
		}
		if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
			bad("addr", "%q: port must be 1-65535", a)
		}
	}
	if !identifier.MatchString(c.Database) {
		bad("database", "%q must be letters, digits and underscores, not starting with a digit", c.Database)
	}
	if c.Username == "" {
		bad("username", "must not be empty (ClickHouse's own default user is \"default\")")
	}
	if !c.TLS && c.TLSCAFile != "" {
		bad("tls_ca_file", "set but clickhouse.tls is false")
	}
	if !c.TLS && c.TLSInsecureSkipVerify {
		bad("tls_insecure_skip_verify", "set but clickhouse.tls is false")
	}
	if c.DialTimeout <= 0 {
		bad("dial_timeout", "must be positive, got %s", c.DialTimeout)
	}
	if c.BatchRows <= 0 {
		bad("batch_rows", "must be positive, got %d", c.BatchRows)
	}
	if c.FlushInterval <= 0 {
		bad("flush_interval", "must be positive, got %s", c.FlushInterval)
	}
	if c.QueueRows < c.BatchRows {
		bad("queue_rows", "must be at least clickhouse.batch_rows (%d), got %d", c.BatchRows, c.QueueRows)
	}
	if c.MaxRetryDelay <= 0 {
		bad("max_retry_delay", "must be positive, got %s", c.MaxRetryDelay)
	}
	if c.WriteTimeout <= 0 {
		bad("write_timeout", "must be positive, got %s", c.WriteTimeout)
	}
	if c.CloseTimeout <= 0 {
		bad("close_timeout", "must be positive, got %s", c.CloseTimeout)
	}
	if c.RetentionDays < 0 {
		bad("retention_days", "must be 0 (keep forever) or a number of days, got %d", c.RetentionDays)
	}
	return errors.Join(errs...)
}

// LogValue keeps the password out of logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("addr", c.Addr),
		slog.String("database", c.Database),
		slog.String("username", c.Username),
		slog.Bool("password_set", c.Password != ""),
		slog.Bool("tls", c.TLS),
		slog.Int("batch_rows", c.BatchRows),
		slog.Duration("flush_interval", c.FlushInterval),
		slog.Int("queue_rows", c.QueueRows),
		slog.Int("retention_days", c.RetentionDays),
	)
}

// options builds the driver options. Database stays empty: every statement
// names its database, so Migrate can connect before the database exists.
func (c Config) options() (*ch.Options, error) {
	opts := &ch.Options{
		Addr: c.Addr,
		Auth: ch.Auth{Username: c.Username, Password: c.Password},
		// One flusher writes at a time; the rest are for Migrate, Open's checks
		// and a retry racing a connection being torn down.
		MaxOpenConns:    4,
		MaxIdleConns:    2,
		DialTimeout:     c.DialTimeout,
		ReadTimeout:     c.WriteTimeout,
		ConnMaxLifetime: time.Hour,
		Compression:     &ch.Compression{Method: ch.CompressionLZ4},
		ClientInfo: ch.ClientInfo{Products: []struct{ Name, Version string }{
			{Name: "trendwatch", Version: "1"},
		}},
	}
	if c.TLS {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.TLSInsecureSkipVerify}
		if c.TLSCAFile != "" {
			pem, err := os.ReadFile(c.TLSCAFile)
			if err != nil {
				return nil, fmt.Errorf("clickhouse.tls_ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("clickhouse.tls_ca_file: %s holds no PEM certificate", c.TLSCAFile)
			}
			tc.RootCAs = pool
		}
		opts.TLS = tc
	}
	return opts, nil
}
