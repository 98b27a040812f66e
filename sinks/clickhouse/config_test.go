package clickhouse

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   []string // substrings of the error; none: valid
	}{
		{"default", func(*Config) {}, nil},
		{"several addrs", func(c *Config) { c.Addr = []string{"ch-1:9000", "[::1]:9440"} }, nil},
		{"tls with ca", func(c *Config) { c.TLS, c.TLSCAFile = true, "/etc/ca.pem" }, nil},
		{"no addr", func(c *Config) { c.Addr = nil }, []string{"clickhouse.addr: at least one"}},
		{"addr without port", func(c *Config) { c.Addr = []string{"localhost"} }, []string{"clickhouse.addr: \"localhost\""}},
		{"addr port 0", func(c *Config) { c.Addr = []string{"localhost:0"} }, []string{"clickhouse.addr: \"localhost:0\": port"}},
		{"addr port text", func(c *Config) { c.Addr = []string{"localhost:native"} }, []string{"clickhouse.addr"}},
		{"addr without host", func(c *Config) { c.Addr = []string{":9000"} }, []string{"clickhouse.addr: \":9000\": empty host"}},
		{"empty database", func(c *Config) { c.Database = "" }, []string{"clickhouse.database"}},
		{"database injection", func(c *Config) { c.Database = "tw`; DROP DATABASE x; --" }, []string{"clickhouse.database"}},
		{"database starting with digit", func(c *Config) { c.Database = "1tw" }, []string{"clickhouse.database"}},
		{"empty username", func(c *Config) { c.Username = "" }, []string{"clickhouse.username"}},
		{"ca without tls", func(c *Config) { c.TLSCAFile = "/etc/ca.pem" }, []string{"clickhouse.tls_ca_file"}},
		{"skip verify without tls", func(c *Config) { c.TLSInsecureSkipVerify = true }, []string{"clickhouse.tls_insecure_skip_verify"}},
		{"dial timeout", func(c *Config) { c.DialTimeout = 0 }, []string{"clickhouse.dial_timeout"}},
		{"batch rows", func(c *Config) { c.BatchRows = 0 }, []string{"clickhouse.batch_rows"}},
		{"flush interval", func(c *Config) { c.FlushInterval = -time.Second }, []string{"clickhouse.flush_interval"}},
		{"queue below batch", func(c *Config) { c.BatchRows, c.QueueRows = 100, 99 }, []string{"clickhouse.queue_rows: must be at least clickhouse.batch_rows (100)"}},
		{"retry delay", func(c *Config) { c.MaxRetryDelay = 0 }, []string{"clickhouse.max_retry_delay"}},
		{"write timeout", func(c *Config) { c.WriteTimeout = 0 }, []string{"clickhouse.write_timeout"}},
		{"close timeout", func(c *Config) { c.CloseTimeout = 0 }, []string{"clickhouse.close_timeout"}},
		{"negative retention", func(c *Config) { c.RetentionDays = -1 }, []string{"clickhouse.retention_days"}},
		{"several at once", func(c *Config) { c.Addr, c.BatchRows = nil, 0 }, []string{"clickhouse.addr", "clickhouse.batch_rows"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.change(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error with %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestConfigLogValueHidesPassword(t *testing.T) {
	c := DefaultConfig()
	c.Password = "hunter2-secret"
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("open", "config", c)
	out := buf.String()
	if strings.Contains(out, "hunter2") {
		t.Errorf("log line holds the password: %s", out)
	}
	if !strings.Contains(out, "password_set=true") || !strings.Contains(out, "database=trendwatch") {
		t.Errorf("log line lacks the config: %s", out)
	}
}

func TestConfigOptions(t *testing.T) {
	c := DefaultConfig()
	c.TLS, c.TLSCAFile = true, "/nonexistent/ca.pem"
	if _, err := c.options(); err == nil || !strings.Contains(err.Error(), "clickhouse.tls_ca_file") {
		t.Errorf("options() with a missing CA file = %v, want an error naming clickhouse.tls_ca_file", err)
	}
	c.TLSCAFile = ""
	opts, err := c.options()
	if err != nil {
		t.Fatal(err)
	}
	if opts.TLS == nil || opts.Auth.Database != "" || opts.Auth.Username != "default" {
		t.Errorf("options() = TLS %v, database %q, user %q", opts.TLS, opts.Auth.Database, opts.Auth.Username)
	}
}
