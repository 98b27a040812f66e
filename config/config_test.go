package config

import (
	"os"
	"path/filepath"
	"reflect"
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
		{"bad log level", map[string]string{"TRENDWATCH_LOG_LEVEL": "loud"}, "", "log.level"},
		{"bad start offset", map[string]string{"TRENDWATCH_KAFKA_START_OFFSET": "middle"}, "", "kafka.start_offset"},
		{"typo in file", nil, "kafka:\n  grup: x\n", "grup"},
		{"history beyond ring", map[string]string{"TRENDWATCH_PIPELINE_HISTORY": "500"}, "", "pipeline.history"},
		{"metrics address", map[string]string{"TRENDWATCH_METRICS_LISTEN": "nowhere"}, "", "metrics.listen"},
		{"negative startup timeout", map[string]string{"TRENDWATCH_KAFKA_STARTUP_TIMEOUT": "-1s"}, "", "kafka.startup_timeout"},
		{"negative lag growth", map[string]string{"TRENDWATCH_PIPELINE_MAX_LAG_GROWTH": "-1m"}, "", "pipeline.max_lag_growth"},
		{"negative commit failure", map[string]string{"TRENDWATCH_PIPELINE_MAX_COMMIT_FAILURE": "-1m"}, "", "pipeline.max_commit_failure"},
		{"negative dedup", map[string]string{"TRENDWATCH_PIPELINE_DEDUP_MAX_IDS": "-5"}, "", "pipeline.dedup_max_ids"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			file := ""
			if tt.file != "" {
				file = writeFile(t, tt.file)
			}
			_, err := NewLoader().Load(file)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error naming %q", err, tt.want)
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	_, err := NewLoader().Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("got %v, want an error naming the file", err)
	}
}

func TestKeysHaveEnvVars(t *testing.T) {
	keys := Keys()
	for _, k := range []string{"kafka.brokers", "kafka.group", "kafka.topics.content", "kafka.topics.reports",
		"clickhouse.addr", "clickhouse.database", "clickhouse.username", "clickhouse.password", "checkpoint.dir", "window.bucket"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("key %s missing", k)
		}
	}
	if got := EnvVar("clickhouse.addr"); got != "TRENDWATCH_CLICKHOUSE_ADDR" {
		t.Errorf("EnvVar: %s", got)
	}
}
