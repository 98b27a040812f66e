package config

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "trendwatch.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadLayers(t *testing.T) {
	file := writeFile(t, `
kafka:
  brokers: [k1:9092, k2:9092]
  group: from-file
window:
  bucket: 30s
  allowed_lateness: 1m
clickhouse:
  database: from_file
`)
	t.Setenv("TRENDWATCH_KAFKA_GROUP", "from-env")
	t.Setenv("TRENDWATCH_CLICKHOUSE_ADDR", "ch1:9000,ch2:9000")
	t.Setenv("TRENDWATCH_PIPELINE_MAX_TRACKED", "1234")

	l := NewLoader()
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.String("database", "", "")
	if err := l.BindFlag("clickhouse.database", fs.Lookup("database")); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"--database", "from_flag"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := l.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"file list", cfg.Kafka.Brokers, []string{"k1:9092", "k2:9092"}},
		{"env over file", cfg.Kafka.Group, "from-env"},
		{"file duration", cfg.Window.Bucket, 30 * time.Second},
		{"env list", cfg.ClickHouse.Addr, []string{"ch1:9000", "ch2:9000"}},
		{"env int", cfg.Pipeline.MaxTracked, 1234},
		{"flag over file", cfg.ClickHouse.Database, "from_flag"},
		{"default kept", cfg.Kafka.Topics.Content, "content-events"},
		{"clickhouse chosen when its address is given", cfg.Sinks, []string{"clickhouse"}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestDefaultSinkIsParquet(t *testing.T) {
	cfg, err := NewLoader().Load("")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Sinks, []string{"parquet"}) {
		t.Fatalf("sinks %v, want [parquet] when no ClickHouse address is given", cfg.Sinks)
	}
}

func TestBadValuesNameTheKey(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		file string
		want string
	}{
		{"bad duration", map[string]string{"TRENDWATCH_WINDOW_BUCKET": "soon"}, "", "window.bucket"},
		{"zero bucket", map[string]string{"TRENDWATCH_WINDOW_BUCKET": "0s"}, "", "window.bucket"},
		{"bad int", map[string]string{"TRENDWATCH_PIPELINE_MAX_TRACKED": "many"}, "", "max_tracked"},
		{"unknown sink", map[string]string{"TRENDWATCH_SINKS": "s3"}, "", "sinks"},
		{"a sink twice", nil, "sinks: [parquet, parquet]\n", `sinks: "parquet" listed twice`},
		{"negative max age", nil, "kafka:\n  limits:\n    max_age: -1h\n", "kafka.limits.max_age: must not be negative, got -1h0m0s (set by file"},
		{"negative max ahead", map[string]string{"TRENDWATCH_PIPELINE_MAX_AHEAD": "-1s"}, "", "pipeline.max_ahead: must be >= 0"},
		{"no reporters", map[string]string{"TRENDWATCH_DETECTORS_REPORT_RATE_MIN_REPORTERS": "many"}, "", "detectors.report_rate.min_reporters"},
		{"bad log level", map[string]string{"TRENDWATCH_LOG_LEVEL": "loud"}, "", "log.level"},
		{"bad start offset", map[string]string{"TRENDWATCH_KAFKA_START_OFFSET": "middle"}, "", "kafka.start_offset"},
		{"typo in file", nil, "kafka:\n  grup: x\n", "grup"},
		{"history beyond ring", map[string]string{"TRENDWATCH_PIPELINE_HISTORY": "500"}, "", "pipeline.history"},
		{"metrics address", map[string]string{"TRENDWATCH_METRICS_LISTEN": "nowhere"}, "", "metrics.listen"},
		{"negative startup timeout", map[string]string{"TRENDWATCH_KAFKA_STARTUP_TIMEOUT": "-1s"}, "", "kafka.startup_timeout"},
		{"relay retention too short", map[string]string{"TRENDWATCH_KAFKA_RELAY_RETENTION": "10m"}, "", "kafka.relay_retention"},
		{"relay topics like the input", map[string]string{"TRENDWATCH_KAFKA_TOPICS_RELAY": "content-events"}, "", "kafka.topics.relay"},
		{"unknown role", map[string]string{"TRENDWATCH_PIPELINE_ROLE": "detector"}, "", "pipeline.role"},
		{"negative lag growth", map[string]string{"TRENDWATCH_PIPELINE_MAX_LAG_GROWTH": "-1m"}, "", "pipeline.max_lag_growth"},
		{"negative commit failure", map[string]string{"TRENDWATCH_PIPELINE_MAX_COMMIT_FAILURE": "-1m"}, "", "pipeline.max_commit_failure"},
		{"negative dedup", map[string]string{"TRENDWATCH_PIPELINE_DEDUP_MAX_IDS": "-5"}, "", "pipeline.dedup_max_ids"},
		{"negative families", map[string]string{"TRENDWATCH_PIPELINE_FAMILIES": "-1"}, "", "pipeline.families"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := setUp(t, tt.env, tt.file)
			_, err := NewLoader().Load(file)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error naming %q", err, tt.want)
			}
		})
	}
}

// TestIncidentAlertmanager loads the Alertmanager configuration the README
// tells operators to copy, and checks its keys reach the incident notifier.
func TestIncidentAlertmanager(t *testing.T) {
	file := writeFile(t, `
incident:
  enabled: true
  kind: alertmanager
  url: http://alertmanager.monitoring.svc:9093
  allowed_schemes: [http]
  allowed_hosts: [alertmanager.monitoring.svc, 10.0.0.0/8]
  min_severity: medium
  resend_interval: 1m
  generator_url: "https://grafana.example.org/d/trendwatch-term?var-term={term}"
  history_table: trendwatch.term_history
`)
	t.Setenv("TRENDWATCH_INCIDENT_MAX_OPEN", "500")
	cfg, err := NewLoader().Load(file)
	if err != nil {
		t.Fatal(err)
	}
	inc := cfg.Incident
	checks := []struct {
		name      string
		got, want any
	}{
		{"kind", inc.Kind, "alertmanager"},
		{"resend_interval", inc.ResendInterval, time.Minute},
		{"max_open from env", inc.MaxOpen, 500},
		{"generator_url", inc.GeneratorURL, "https://grafana.example.org/d/trendwatch-term?var-term={term}"},
		{"allowed_hosts", inc.AllowedHosts, []string{"alertmanager.monitoring.svc", "10.0.0.0/8"}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}

	t.Setenv("TRENDWATCH_INCIDENT_RESEND_INTERVAL", "0s")
	if _, err := NewLoader().Load(file); err == nil || !strings.Contains(err.Error(), "incident.resend_interval") {
		t.Fatalf("got %v, want an error naming incident.resend_interval", err)
	}
}

func TestMissingFile(t *testing.T) {
	_, err := NewLoader().Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("got %v, want an error naming the file", err)
	}
}

func TestKeysHaveEnvVars(t *testing.T) {
	keys := map[string]Key{}
	for _, k := range Keys() {
		keys[k.Name] = k
	}
	for _, k := range []string{"kafka.brokers", "kafka.group", "kafka.topics.content", "kafka.topics.reports",
		"clickhouse.addr", "clickhouse.database", "clickhouse.username", "clickhouse.password", "checkpoint.dir", "window.bucket"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("key %s missing", k)
		}
	}
	if got := keys["clickhouse.addr"].Env; got != "TRENDWATCH_CLICKHOUSE_ADDR" {
		t.Errorf("EnvVar: %s", got)
	}
}

// TestErrorsNameKeySourceAndValue: a person reading the error must learn which
// key is wrong, where it was set and what it was set to.
func TestErrorsNameKeySourceAndValue(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		file string
		flag []string // --bucket VALUE, bound to window.bucket
		want []string
	}{
		{name: "bucket without a unit in the file", file: "window: {bucket: 5}\n",
			want: []string{"window.bucket", "file ", "5", "needs a unit"}},
		{name: "bucket without a unit in the environment", env: map[string]string{"TRENDWATCH_WINDOW_BUCKET": "5"},
			want: []string{"window.bucket", "TRENDWATCH_WINDOW_BUCKET", `"5"`, "needs a unit"}},
		{name: "bad duration in the environment", env: map[string]string{"TRENDWATCH_WINDOW_BUCKET": "abc"},
			want: []string{"window.bucket", "environment variable TRENDWATCH_WINDOW_BUCKET", `"abc"`, "not a duration"}},
		{name: "bad duration from a flag", flag: []string{"--bucket", "soon"},
			want: []string{"window.bucket", "flag --bucket", `"soon"`}},
		{name: "flag wins over environment", env: map[string]string{"TRENDWATCH_WINDOW_BUCKET": "1m"}, flag: []string{"--bucket", "7"},
			want: []string{"window.bucket", "flag --bucket", `"7"`}},
		{name: "bad size in the file", file: "window:\n  memory_budget: lots\n",
			want: []string{"window.memory_budget", "file ", `"lots"`, "256MiB"}},
		{name: "negative size", env: map[string]string{"TRENDWATCH_KAFKA_FETCH_MAX_BYTES": "-1"},
			want: []string{"kafka.fetch_max_bytes", "TRENDWATCH_KAFKA_FETCH_MAX_BYTES", `"-1"`, "negative"}},
		{name: "size beyond the field", env: map[string]string{"TRENDWATCH_PIPELINE_TRACK_MIN": "5000000000"},
			want: []string{"pipeline.track_min", "TRENDWATCH_PIPELINE_TRACK_MIN", `"5000000000"`, "out of range"}},
		{name: "bad int", env: map[string]string{"TRENDWATCH_PIPELINE_MAX_TRACKED": "many"},
			want: []string{"pipeline.max_tracked", "TRENDWATCH_PIPELINE_MAX_TRACKED", `"many"`}},
		{name: "fraction for a count", file: "pipeline:\n  max_tracked: 1.5\n",
			want: []string{"pipeline.max_tracked", "file ", "1.5", "whole number"}},
		{name: "bad bool", env: map[string]string{"TRENDWATCH_CHECKPOINT_FRESH": "maybe"},
			want: []string{"checkpoint.fresh", "TRENDWATCH_CHECKPOINT_FRESH", `"maybe"`}},
		{name: "map for a list", file: "kafka:\n  brokers: {a: b}\n",
			want: []string{"kafka.brokers", "file "}},
		{name: "typo in the file", file: "kafka:\n  grup: x\n",
			want: []string{"kafka.grup", "no such key", "file "}},
		{name: "a key since removed", file: "window:\n  hll_precision: 14\n",
			want: []string{"window.hll_precision", "no such key any more", "file ", "delete the key"}},
		{name: "scalar for a section", file: "window: 5m\n",
			want: []string{"window", "5m", "file ", "section"}},
		{name: "typo in a watchlist entry", file: "detectors:\n  watchlist:\n    entries: [{term: x, rsik: high}]\n",
			want: []string{"rsik", "file "}},
		{name: "entries from the environment", env: map[string]string{"TRENDWATCH_DETECTORS_WATCHLIST_ENTRIES": "hashtag:x"},
			want: []string{"detectors.watchlist.entries", "TRENDWATCH_DETECTORS_WATCHLIST_ENTRIES", `"hashtag:x"`, "YAML file"}},
		{name: "validation names the source", env: map[string]string{"TRENDWATCH_WINDOW_BUCKET": "0s"},
			want: []string{"window.bucket", "TRENDWATCH_WINDOW_BUCKET"}},
		{name: "validation of a file value", file: "log:\n  level: loud\n",
			want: []string{"log.level", "loud", "file "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := setUp(t, tt.env, tt.file)
			l := NewLoader()
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			fs.String("bucket", "", "")
			if err := l.BindFlag("window.bucket", fs.Lookup("bucket")); err != nil {
				t.Fatal(err)
			}
			if err := fs.Parse(tt.flag); err != nil {
				t.Fatal(err)
			}
			_, err := l.Load(file)
			if err == nil {
				t.Fatalf("loaded; want an error naming %q", tt.want)
			}
			for _, w := range tt.want {
				if w == "file " {
					w += file
				}
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestSizesAndDurations(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		file string
		get  func(*Config) any
		want any
	}{
		{"MiB in the file", nil, "window:\n  memory_budget: 256MiB\n", func(c *Config) any { return c.Window.MemoryBudget }, int64(256 << 20)},
		{"GiB in the environment", map[string]string{"TRENDWATCH_WINDOW_MEMORY_BUDGET": "1GiB", "TRENDWATCH_MEMORY_LIMIT": "2GiB"}, "", func(c *Config) any { return c.Window.MemoryBudget }, int64(1 << 30)},
		{"SI kilobytes", map[string]string{"TRENDWATCH_KAFKA_FETCH_MAX_BYTES": "512KB"}, "", func(c *Config) any { return c.Kafka.FetchMaxBytes }, 512000},
		{"with a space", map[string]string{"TRENDWATCH_KAFKA_FETCH_MAX_BYTES": "2 MiB"}, "", func(c *Config) any { return c.Kafka.FetchMaxBytes }, 2 << 20},
		{"plain bytes in the file", nil, "kafka:\n  fetch_max_bytes: 65536\n", func(c *Config) any { return c.Kafka.FetchMaxBytes }, 65536},
		{"plain bytes in the environment", map[string]string{"TRENDWATCH_KAFKA_LIMITS_MAX_TEXT_BYTES": "4096"}, "", func(c *Config) any { return c.Kafka.Limits.MaxTextBytes }, 4096},
		{"fractional unit", map[string]string{"TRENDWATCH_WINDOW_MEMORY_BUDGET": "1.5GiB", "TRENDWATCH_MEMORY_LIMIT": "0"}, "", func(c *Config) any { return c.Window.MemoryBudget }, int64(3 << 29)},
		{"zero duration needs no unit", map[string]string{"TRENDWATCH_KAFKA_LIMITS_MAX_AGE": "0"}, "", func(c *Config) any { return c.Kafka.Limits.MaxAge }, time.Duration(0)},
		{"zero duration in the file", nil, "kafka:\n  limits: {max_future: 0}\n", func(c *Config) any { return c.Kafka.Limits.MaxFuture }, time.Duration(0)},
		{"duration with a unit", nil, "window:\n  bucket: 30s\n", func(c *Config) any { return c.Window.Bucket }, 30 * time.Second},
		{"uint32", map[string]string{"TRENDWATCH_PIPELINE_TRACK_MIN": "12"}, "", func(c *Config) any { return c.Pipeline.TrackMin }, uint32(12)},
		{"number for a string", nil, "kafka:\n  group: 123\n", func(c *Config) any { return c.Kafka.Group }, "123"},
		{"empty list from the environment", map[string]string{"TRENDWATCH_INCIDENT_ALLOWED_HOSTS": " a , b ,"}, "", func(c *Config) any { return c.Incident.AllowedHosts }, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := setUp(t, tt.env, tt.file)
			cfg, err := NewLoader().Load(file)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.get(cfg); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   any
		want int64
		ok   bool
	}{
		{"256MiB", 256 << 20, true}, {"256mib", 256 << 20, true}, {"1GiB", 1 << 30, true},
		{"512KB", 512000, true}, {"512kB", 512000, true}, {"2KiB", 2048, true}, {"1TB", 1e12, true},
		{"100B", 100, true}, {"100", 100, true}, {100, 100, true}, {float64(100), 100, true},
		{"", 0, false}, {"MiB", 0, false}, {"-1", 0, false}, {"-1MiB", 0, false}, {"1.5", 0, false},
		{"12 apples", 0, false}, {"1e30GiB", 0, false}, {true, 0, false}, {float64(1.5), 0, false},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseSize(%#v) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestEveryKeyDocumented keeps the description table and the config structs
// in step both ways.
func TestEveryKeyDocumented(t *testing.T) {
	d := docs()
	seen := map[string]bool{}
	for _, k := range Keys() {
		seen[k.Name] = true
		if k.Meaning == "" || k.Unit == "" {
			t.Errorf("%s: no meaning or unit in docs()", k.Name)
		}
	}
	for k := range d {
		if !seen[k] {
			t.Errorf("docs() describes %s, which is not a key", k)
		}
	}
}

// TestDefaultsRoundTrip: every default as `trendwatch config` prints it must
// load back to the same value, or the listing misleads.
func TestDefaultsRoundTrip(t *testing.T) {
	for _, k := range Keys() {
		if k.Unit == UnitList || k.Default == `""` {
			continue
		}
		t.Run(k.Name, func(t *testing.T) {
			t.Setenv(k.Env, k.Default)
			if _, err := NewLoader().Load(""); err != nil {
				t.Fatalf("%s=%s: %v", k.Env, k.Default, err)
			}
		})
	}
}

// setUp sets env for the test and writes the config file body, returning its
// path ("" when body is empty).
func setUp(t *testing.T, env map[string]string, body string) string {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	if body == "" {
		return ""
	}
	return writeFile(t, body)
}

// TestMemoryLimitHoldsTheBounds: memory_limit is the process's one budget;
// the structures bounded by bytes must fit in it, or start-up says which.
func TestMemoryLimitHoldsTheBounds(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string // "" for no error
	}{
		{"defaults", nil, ""},
		{"a bigger window needs a bigger limit", map[string]string{"TRENDWATCH_WINDOW_MEMORY_BUDGET": "512MiB"}, "memory_limit: 432 MiB does not hold"},
		{"and gets it", map[string]string{"TRENDWATCH_WINDOW_MEMORY_BUDGET": "512MiB", "TRENDWATCH_MEMORY_LIMIT": "1GiB"}, ""},
		{"join cache over it", map[string]string{"TRENDWATCH_PIPELINE_JOIN_CACHE_BYTES": "256MiB"}, "pipeline.join_cache_bytes 256 MiB"},
		{"no limit, no check", map[string]string{"TRENDWATCH_WINDOW_MEMORY_BUDGET": "4GiB", "TRENDWATCH_MEMORY_LIMIT": "0"}, ""},
		{"negative", map[string]string{"TRENDWATCH_MEMORY_LIMIT": "-1"}, "a size cannot be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := setUp(t, tt.env, "")
			_, err := NewLoader().Load(file)
			switch {
			case tt.want == "" && err != nil:
				t.Fatal(err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestUnknownEnvironment: a variable that looks like a setting but sets no
// key stops start-up naming it; the other TRENDWATCH_ variables (the tests'
// and scripts' own) are left alone.
func TestUnknownEnvironment(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string // words of the error; nil for none
		warn []string // Loader.Warnings when it loads
	}{
		{name: "a known key", env: map[string]string{"TRENDWATCH_WINDOW_BUCKET": "1m", "TRENDWATCH_INCIDENT_SECRET": "s"}},
		{name: "typo in a window key", env: map[string]string{"TRENDWATCH_WINDOW_BUKET": "abc"},
			want: []string{"environment variable TRENDWATCH_WINDOW_BUKET (TRENDWATCH_WINDOW_BUCKET?): no such key", "trendwatch config --env"}},
		{name: "typo in a nested key", env: map[string]string{"TRENDWATCH_KAFKA_LIMITS_MAXAGE": "0"},
			want: []string{"TRENDWATCH_KAFKA_LIMITS_MAXAGE (TRENDWATCH_KAFKA_LIMITS_MAX_AGE?)"}},
		{name: "no key near it", env: map[string]string{"TRENDWATCH_PIPELINE_WHATEVER": "1"},
			want: []string{"environment variable TRENDWATCH_PIPELINE_WHATEVER: no such key"}},
		{name: "two at once", env: map[string]string{"TRENDWATCH_LOG_LEVLE": "debug", "TRENDWATCH_CLICKHOUSE_ADR": "x:9000"},
			want: []string{"environment variables TRENDWATCH_CLICKHOUSE_ADR (TRENDWATCH_CLICKHOUSE_ADDR?), TRENDWATCH_LOG_LEVLE (TRENDWATCH_LOG_LEVEL?): no such keys"}},
		{name: "a section alone", env: map[string]string{"TRENDWATCH_WINDOW_": "1m"},
			want: []string{"TRENDWATCH_WINDOW_"}},
		{name: "the tests' and scripts' own variables", env: map[string]string{
			"TRENDWATCH_TEST_CLICKHOUSE": "127.0.0.1:9000", "TRENDWATCH_TEST_CHDB": "/tmp/chdb", "TRENDWATCH_TEST_FLOOD": "1",
			"TRENDWATCH_TEST_ALERTMANAGER": "1", "TRENDWATCH_CHDB_DIR": "/tmp", "TRENDWATCH_TOPICS": "100",
			"TRENDWATCH_GEN_SEEDS": "10", "TRENDWATCH_SYNTH_SEEDS": "4", "TRENDWATCH_EVAL_REFERENCE": "1",
			"TRENDWATCH_EARLY_EVAL": "1", "TRENDWATCH_EARLY_FIRST_BUCKET": "1", "TRENDWATCH_DEDUP_IDS": "1000",
		}},
		{name: "a deployment's own variable", env: map[string]string{"TRENDWATCH_VERSION": "1.2", "TRENDWATCH": "on"}},
		// Outside every section a variable may be none of the
		// configuration's: loaded, with a warning when it lies near a key.
		{name: "a misspelt top-level key", env: map[string]string{"TRENDWATCH_SINK": "parquet"},
			warn: []string{"environment variable TRENDWATCH_SINK (TRENDWATCH_SINKS?) sets no key and is ignored"}},
		{name: "a known key set empty", env: map[string]string{"TRENDWATCH_CLICKHOUSE_ADDR": ""},
			warn: []string{"environment variable TRENDWATCH_CLICKHOUSE_ADDR is empty and is ignored: its key keeps the file's value or the default (an empty value cannot unset a key; set it in the config file)"}},
		{name: "a misspelt section", env: map[string]string{"TRENDWATCH_WINDWO_BUCKET": "5m", "TRENDWATCH_TOPICS": "100"},
			warn: []string{"environment variable TRENDWATCH_WINDWO_BUCKET (TRENDWATCH_WINDOW_BUCKET?) sets no key and is ignored"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setUp(t, tt.env, "")
			l := NewLoader()
			_, err := l.Load("")
			if tt.want == nil {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				if got := l.Warnings(); !reflect.DeepEqual(got, tt.warn) && (len(got) > 0 || len(tt.warn) > 0) {
					t.Errorf("warnings %q, want %q", got, tt.warn)
				}
				return
			}
			if err == nil {
				t.Fatalf("loaded; want an error saying %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestEmptyEnvIsUnset: viper reads an empty variable as unset, and so does
// the choice of sink: TRENDWATCH_CLICKHOUSE_ADDR= chose ClickHouse at its
// default address until 7 December.
func TestEmptyEnvIsUnset(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"no variable", nil, []string{"parquet"}},
		{"empty", map[string]string{"TRENDWATCH_CLICKHOUSE_ADDR": ""}, []string{"parquet"}},
		{"set", map[string]string{"TRENDWATCH_CLICKHOUSE_ADDR": "10.0.0.1:9000"}, []string{"clickhouse"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			setUp(t, tt.env, "")
			l := NewLoader()
			cfg, err := l.Load("")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.Sinks, tt.want) {
				t.Errorf("sinks %v, want %v", cfg.Sinks, tt.want)
			}
			if got := l.Source("clickhouse.addr"); (got == "default") != (tt.want[0] == "parquet") {
				t.Errorf("clickhouse.addr from %s", got)
			}
		})
	}
}

// TestGOMEMLIMITChecked: GOMEMLIMIT takes precedence over memory_limit (the
// runtime reads it at start-up, cmd/trendwatch leaves memory_limit aside),
// so it is the limit the structures bounded by bytes must fit in: checked
// against memory_limit, GOMEMLIMIT=200MiB passed with about 380 MiB bounded.
func TestGOMEMLIMITChecked(t *testing.T) {
	for _, tt := range []struct {
		name  string
		env   string
		limit int64 // the runtime's, as it read GOMEMLIMIT
		want  string
	}{
		{"too small", "200MiB", 200 << 20, "GOMEMLIMIT=200MiB: 200 MiB does not hold"},
		{"room enough", "4GiB", 4 << 30, ""},
		{"off", "off", math.MaxInt64, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			setUp(t, nil, "")
			t.Setenv("GOMEMLIMIT", tt.env)
			old := debug.SetMemoryLimit(tt.limit)
			defer debug.SetMemoryLimit(old)
			_, err := NewLoader().Load("")
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// TestFileKeysWithoutValue: viper leaves a YAML key with no value out of its
// settings, so "brokers:" alone ran with the default brokers and a typo with
// no value was never said; and a directory or an unknown extension was "an
// unsupported config type".
func TestFileKeysWithoutValue(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "trendwatch.conf")
	if err := os.WriteFile(conf, []byte("log:\n  level: info\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, body, file string
		want             string // "" for none
	}{
		{name: "a known key without value", body: "kafka:\n  brokers:\n", want: "kafka.brokers: no value in file"},
		{name: "a typo without value", body: "window:\n  bukcet:\n", want: "window.bukcet: no such key"},
		{name: "a misspelt section without value", body: "windw:\n", want: "windw: no such key"},
		{name: "an empty section", body: "window:\nlog:\n  level: info\n"},
		{name: "capitals, as viper reads them", body: "Window:\n  Bucket: 5m\n"},
		{name: "a directory", file: dir, want: "is a directory"},
		{name: "an unknown extension", file: conf, want: "want a .yaml, .yml, .json or .toml file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			setUp(t, nil, "")
			file := tt.file
			if file == "" {
				file = writeFile(t, tt.body)
			}
			_, err := NewLoader().Load(file)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}
