// Package config loads trendwatch's configuration: defaults, then a YAML file,
// then TRENDWATCH_* environment variables, then command-line flags, each
// overriding the one before. Every key is validated at start-up and a bad value
// stops the process with a message naming the key.
package config

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/trendwatch/trendwatch/broker"
	"github.com/trendwatch/trendwatch/checkpoint"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline"
	"github.com/trendwatch/trendwatch/sinks/clickhouse"
	"github.com/trendwatch/trendwatch/sinks/incident"
	"github.com/trendwatch/trendwatch/sinks/parquet"
	"github.com/trendwatch/trendwatch/sketches"
)

// EnvPrefix prefixes every environment variable: clickhouse.addr is read from
// TRENDWATCH_CLICKHOUSE_ADDR.
const EnvPrefix = "TRENDWATCH"

// Incident is the incident section: the sink's own keys plus a switch.
type Incident struct {
	Enabled         bool `mapstructure:"enabled"`
	incident.Config `mapstructure:",squash"`
}

// Metrics is the operability endpoint.
type Metrics struct {
	// Listen serves /metrics, /healthz and /readyz; loopback by default so nothing is
	// exposed beyond the host unless asked. Empty disables it.
	Listen string `mapstructure:"listen"`
}

// Log configures log/slog.
type Log struct {
	Level  string `mapstructure:"level"`  // debug, info, warn, error
	Format string `mapstructure:"format"` // text or json
}

// Config is the whole configuration.
type Config struct {
	Kafka      ingest.Config         `mapstructure:"kafka"`
	Broker     broker.Config         `mapstructure:"broker"`
	ClickHouse clickhouse.Config     `mapstructure:"clickhouse"`
	Parquet    parquet.Config        `mapstructure:"parquet"`
	Incident   Incident              `mapstructure:"incident"`
	Window     sketches.WindowConfig `mapstructure:"window"`
	Detectors  detectors.Config      `mapstructure:"detectors"`
	Pipeline   pipeline.Config       `mapstructure:"pipeline"`
	Checkpoint checkpoint.Config     `mapstructure:"checkpoint"`
	Metrics    Metrics               `mapstructure:"metrics"`
	Log        Log                   `mapstructure:"log"`
	// Sinks lists where aggregates and alerts go: "clickhouse", "parquet" or
	// both. Empty means ClickHouse when clickhouse.addr was given (file, env or
	// flag), else Parquet files.
	Sinks []string `mapstructure:"sinks"`
}

// Default is the configuration of a local run against the embedded broker.
func Default() Config {
	return Config{
		Kafka:      ingest.DefaultConfig(),
		Broker:     broker.DefaultConfig(),
		ClickHouse: clickhouse.DefaultConfig(),
		Parquet:    parquet.DefaultConfig(),
		Incident:   Incident{Config: incident.DefaultConfig()},
		Window:     sketches.DefaultWindowConfig(),
		Detectors:  detectors.DefaultConfig(),
		Pipeline:   pipeline.DefaultConfig(),
		Checkpoint: checkpoint.DefaultConfig(),
		Metrics:    Metrics{Listen: "127.0.0.1:9464"},
		Log:        Log{Level: "info", Format: "text"},
	}
}

// Validate checks every section; the error names the key at fault.
func (c *Config) Validate() error {
	checks := []func() error{
		c.Kafka.Validate, c.Broker.Validate, c.Window.Validate, c.Detectors.Validate,
		c.Pipeline.Validate, c.Checkpoint.Validate, c.Parquet.Validate,
	}
	for _, s := range c.Sinks {
		switch s {
		case "clickhouse":
			checks = append(checks, c.ClickHouse.Validate)
		case "parquet":
		default:
			return fmt.Errorf("sinks: unknown sink %q (want clickhouse or parquet)", s)
		}
	}
	if c.Incident.Enabled {
		checks = append(checks, c.Incident.Config.Validate)
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	if c.Pipeline.History > c.Window.FineBuckets {
		return fmt.Errorf("pipeline.history: %d exceeds window.fine_buckets %d", c.Pipeline.History, c.Window.FineBuckets)
	}
	if c.Metrics.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Metrics.Listen); err != nil {
			return fmt.Errorf("metrics.listen: %q: %w", c.Metrics.Listen, err)
		}
	}
	if _, err := c.Log.level(); err != nil {
		return err
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		return fmt.Errorf("log.format: want text or json, got %q", c.Log.Format)
	}
	return nil
}

func (l Log) level() (slog.Level, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(l.Level)); err != nil {
		return 0, fmt.Errorf("log.level: want debug, info, warn or error, got %q", l.Level)
	}
	return lv, nil
}

// Logger builds the process logger on stderr.
func (l Log) Logger() *slog.Logger {
	lv, _ := l.level()
	opts := &slog.HandlerOptions{Level: lv}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// Loader reads the configuration; flags bound with BindFlag override the rest.
type Loader struct {
	v *viper.Viper
}

// NewLoader prepares the defaults and the environment.
func NewLoader() *Loader {
	v := viper.New()
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	setDefaults(v, "", reflect.ValueOf(Default()))
	return &Loader{v: v}
}

// BindFlag makes flag f set key when the user passes it.
func (l *Loader) BindFlag(key string, f *pflag.Flag) error {
	if f == nil {
		return fmt.Errorf("bind flag for %s: no such flag", key)
	}
	return l.v.BindPFlag(key, f)
}

// Load reads file (optional) and returns the validated configuration.
func (l *Loader) Load(file string) (*Config, error) {
	if file != "" {
		l.v.SetConfigFile(file)
		if err := l.v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("config file %s: %w", file, err)
		}
	}
	cfg := Default()
	err := l.v.UnmarshalExact(&cfg, viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
		mapstructure.StringToSliceHookFunc(","),
	)))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if len(cfg.Sinks) == 0 {
		cfg.Sinks = []string{"parquet"}
		if l.Given("clickhouse.addr") {
			cfg.Sinks = []string{"clickhouse"}
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &cfg, nil
}

// Given reports whether key was set by the file, the environment or a flag,
// rather than left at its default.
func (l *Loader) Given(key string) bool {
	if l.v.InConfig(key) {
		return true
	}
	if _, ok := os.LookupEnv(EnvVar(key)); ok {
		return true
	}
	return l.flagChanged(key)
}

func (l *Loader) flagChanged(key string) bool {
	// viper does not expose bound flags; a value that differs from the default
	// can only have come from a flag once file and env are ruled out.
	d := viper.New()
	setDefaults(d, "", reflect.ValueOf(Default()))
	return !reflect.DeepEqual(d.Get(key), l.v.Get(key))
}

// Keys lists every configuration key with its default, for documentation and
// for `trendwatch config`.
func Keys() map[string]any {
	v := viper.New()
	setDefaults(v, "", reflect.ValueOf(Default()))
	out := make(map[string]any)
	for _, k := range v.AllKeys() {
		out[k] = v.Get(k)
	}
	return out
}

var durationType = reflect.TypeOf(time.Duration(0))

// setDefaults registers every leaf of a config struct as a viper default, so
// that TRENDWATCH_* variables are seen for every key (viper reads the
// environment only for keys it knows).
func setDefaults(v *viper.Viper, prefix string, rv reflect.Value) {
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("mapstructure")
		name, opts, _ := strings.Cut(tag, ",")
		fv := rv.Field(i)
		if opts == "squash" || (f.Anonymous && name == "") {
			setDefaults(v, prefix, fv)
			continue
		}
		if name == "" || name == "-" {
			continue
		}
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		if fv.Kind() == reflect.Struct && fv.Type() != durationType && fv.Type() != reflect.TypeOf(time.Time{}) {
			setDefaults(v, key, fv)
			continue
		}
		v.SetDefault(key, fv.Interface())
	}
}

// EnvVar is the environment variable that sets key.
func EnvVar(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}
