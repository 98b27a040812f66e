// Package config loads trendwatch's configuration: defaults, then a YAML file,
// then TRENDWATCH_* environment variables, then command-line flags, each
// overriding the one before. Every key is validated at start-up and a bad value
// stops the process with a message naming the key.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"slices"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/trendwatch/trendwatch/checkpoint"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/incident"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline"
	"github.com/trendwatch/trendwatch/pipeline/dedup"
	"github.com/trendwatch/trendwatch/sim/broker"
	"github.com/trendwatch/trendwatch/sinks/clickhouse"
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
	// MemoryLimit is the process's one memory budget, and the Go runtime's
	// soft memory limit (runtime/debug.SetMemoryLimit). Without one the
	// collector lets the heap grow to twice what is live before it runs
	// (GOGC=100), so the RSS of a process holding 400 MiB reached 1 GiB in a
	// flood; with it the collector runs as often as it must to stay under,
	// and RSS follows the live heap. The structures bounded by bytes
	// (window.memory_budget, pipeline.join_cache_bytes, the event_id filter
	// and the tracking door at their bounds) must fit in it with room to
	// spare for the rest (tracked terms, parked records, buffers): start-up
	// refuses a configuration where they do not. The default, 432 MiB, keeps
	// the process under 512 MiB with 80 MiB for what the limit does not
	// count (the binary's code, memory freed but not yet returned). 0 turns
	// it off: no soft limit, and no check. GOMEMLIMIT in the environment
	// takes precedence, and is the limit checked then.
	MemoryLimit int64 `mapstructure:"memory_limit"`
	// Sinks lists where aggregates and alerts go: "clickhouse", "parquet" or
	// both. Empty means ClickHouse when clickhouse.addr was given (file, env or
	// flag), else Parquet files.
	Sinks []string `mapstructure:"sinks"`
}

// Default is the configuration of a local run against the embedded broker.
func Default() Config {
	return Config{
		Kafka:       ingest.DefaultConfig(),
		Broker:      broker.DefaultConfig(),
		ClickHouse:  clickhouse.DefaultConfig(),
		Parquet:     parquet.DefaultConfig(),
		Incident:    Incident{Config: incident.DefaultConfig()},
		Window:      sketches.DefaultWindowConfig(),
		Detectors:   detectors.DefaultConfig(),
		Pipeline:    pipeline.DefaultConfig(),
		Checkpoint:  checkpoint.DefaultConfig(),
		Metrics:     Metrics{Listen: "127.0.0.1:9464"},
		Log:         Log{Level: "info", Format: "text"},
		MemoryLimit: 432 << 20,
	}
}

// memoryRoom is the least of memory_limit left for what is not bounded by
// bytes: tracked terms (tens of MiB at pipeline.max_tracked), parked
// records, decode batches, checkpoint buffers.
const memoryRoom = 32 << 20

// Validate checks every section; the error names the key at fault.
func (c *Config) Validate() error {
	checks := []func() error{
		c.Kafka.Validate, c.Broker.Validate, c.Window.Validate, c.Detectors.Validate,
		c.Pipeline.Validate, c.Checkpoint.Validate, c.Parquet.Validate,
	}
	for i, s := range c.Sinks {
		if slices.Contains(c.Sinks[:i], s) {
			return fmt.Errorf("sinks: %q listed twice", s)
		}
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
	if err := c.checkMemory(); err != nil {
		return err
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

// checkMemory checks that the structures bounded by bytes fit in
// memory_limit.
func (c *Config) checkMemory() error {
	if c.MemoryLimit < 0 {
		return fmt.Errorf("memory_limit: must be >= 0, got %d", c.MemoryLimit)
	}
	limit, name := c.MemoryLimit, "memory_limit"
	if env := os.Getenv("GOMEMLIMIT"); env != "" {
		// The runtime read it at start-up and it takes precedence
		// (cmd/trendwatch applyMemoryLimit): checked against memory_limit,
		// GOMEMLIMIT=200MiB passed with 410 MiB bounded.
		limit, name = debug.SetMemoryLimit(-1), "GOMEMLIMIT="+env
		if limit == math.MaxInt64 {
			limit = 0 // off
		}
	}
	if limit == 0 {
		return nil
	}
	plan, err := c.Window.Plan()
	if err != nil {
		return err
	}
	bounded := plan.MaxBytes + c.Pipeline.BoundedBytes(plan.OpenBuckets)
	if bounded+memoryRoom > limit {
		return fmt.Errorf("%s: %d MiB does not hold what is bounded within it, %d MiB: the sketch window's worst case %d MiB (window.memory_budget), pipeline.join_cache_bytes %d MiB, the event_id filter %d MiB (pipeline.dedup_max_ids), the tracking door %d MiB (pipeline.admission_slots, %d open buckets) and the families' tables %d MiB (pipeline.families), and %d MiB for the rest; raise it, lower those, or set 0 for no limit",
			name, limit>>20, bounded>>20, plan.MaxBytes>>20, c.Pipeline.JoinCacheBytes>>20,
			int64(c.Pipeline.DedupMaxIDs)*dedup.BytesPerID>>20, int64(c.Pipeline.AdmissionSlots)*8*int64(plan.OpenBuckets)>>20, plan.OpenBuckets,
			c.Pipeline.FamiliesBytes()>>20, memoryRoom>>20)
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
	v     *viper.Viper
	file  string
	flags map[string]*pflag.Flag // key -> the flag bound to it
	near  []string               // see Warnings
	empty []string               // variables of known keys set to "", see Warnings
}

// Warnings are what the last Load noticed without refusing: each variable
// that sets no key, outside every section, but lies within two edits of one
// that does (a misspelt section or top-level key, such as TRENDWATCH_SINK),
// and each variable of a known key set to the empty string.
// The command logs them once its logger is made.
func (l *Loader) Warnings() []string {
	out := make([]string, 0, len(l.near)+len(l.empty))
	for _, n := range l.near {
		out = append(out, "environment variable "+n+" sets no key and is ignored")
	}
	for _, n := range l.empty {
		out = append(out, "environment variable "+n+" is empty and is ignored: its key keeps the file's value or the default (an empty value cannot unset a key; set it in the config file)")
	}
	return out
}

// NewLoader prepares the defaults and the environment.
func NewLoader() *Loader {
	v := viper.New()
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	// Every leaf needs a default: viper reads the environment only for keys
	// it knows.
	def := reflect.ValueOf(Default())
	for _, l := range leaves(def.Type()) {
		v.SetDefault(l.key, lookup(def, l.path).Interface())
	}
	return &Loader{v: v, flags: map[string]*pflag.Flag{}}
}

// BindFlag makes flag f set key when the user passes it.
func (l *Loader) BindFlag(key string, f *pflag.Flag) error {
	if f == nil {
		return fmt.Errorf("bind flag for %s: no such flag", key)
	}
	l.flags[key] = f
	return l.v.BindPFlag(key, f)
}

// Load reads file (optional) and returns the validated configuration.
func (l *Loader) Load(file string) (*Config, error) {
	if file != "" {
		l.file = file
		if err := checkFile(file); err != nil {
			return nil, fmt.Errorf("config file %s: %w", file, err)
		}
		l.v.SetConfigFile(file)
		if err := l.v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("config file %s: %w", file, err)
		}
		// viper leaves out a key with no value ("brokers:" and nothing
		// after it): neither a typo nor a known key left empty was said.
		raw, err := rawYAML(file)
		if err != nil {
			return nil, fmt.Errorf("config file %s: %w", file, err)
		}
		if err := l.unknownKeys(raw); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if key := emptyKey("", raw, knownKeys()); key != "" {
			return nil, fmt.Errorf("config: %s: no value in file %s; give it one, or remove the line for the default", key, file)
		}
	}
	// Each known key is converted here, naming key, source and value on
	// failure; mapstructure then only places values and catches unknown keys.
	settings := l.v.AllSettings()
	if err := l.unknownKeys(settings); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	bad, near := strayEnv(os.Environ())
	if err := unknownEnv(bad); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	l.near, l.empty = near, nil
	d := docs()
	for _, lf := range leaves(reflect.TypeOf(Config{})) {
		if v, ok := os.LookupEnv(EnvVar(lf.key)); ok && v == "" {
			l.empty = append(l.empty, EnvVar(lf.key))
		}
		raw := l.v.Get(lf.key)
		val, err := convert(raw, lf.typ, d[lf.key].unit)
		if err != nil {
			return nil, fmt.Errorf("config: %s: %s: %w", lf.key, l.describe(lf.key, raw), err)
		}
		setNested(settings, lf.key, val)
	}
	cfg := Default()
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result: &cfg, ErrorUnused: true, ZeroFields: true,
	})
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := dec.Decode(settings); err != nil {
		where := "configuration"
		if l.file != "" {
			where = "config file " + l.file
		}
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if len(cfg.Sinks) == 0 {
		cfg.Sinks = []string{"parquet"}
		if l.Given("clickhouse.addr") {
			cfg.Sinks = []string{"clickhouse"}
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", l.sourced(err))
	}
	return &cfg, nil
}

// checkFile says what is wrong with a config file viper would only call
// of an unsupported type: a directory, or a name without a known extension.
func checkFile(file string) error {
	st, err := os.Stat(file)
	if err != nil {
		return err
	}
	if st.IsDir() {
		return errors.New("is a directory; want a .yaml, .yml, .json or .toml file")
	}
	switch strings.ToLower(filepath.Ext(file)) {
	case ".yaml", ".yml", ".json", ".toml":
		return nil
	}
	return errors.New("want a .yaml, .yml, .json or .toml file (the extension says how it is read)")
}

// rawYAML is a YAML (or JSON, which YAML reads) file's keys, lower-cased
// as viper's are, with the keys that have no value kept as nil; nil for a
// TOML file, which has no such keys.
func rawYAML(file string) (map[string]any, error) {
	if strings.EqualFold(filepath.Ext(file), ".toml") {
		return nil, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return lowerKeys(m), nil
}

func lowerKeys(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			v = lowerKeys(sub)
		}
		out[strings.ToLower(k)] = v
	}
	return out
}

// knownKeys are the configuration's keys.
func knownKeys() map[string]bool {
	known := map[string]bool{}
	for _, lf := range leaves(reflect.TypeOf(Config{})) {
		known[lf.key] = true
	}
	return known
}

// emptyKey is the first key of m, in sorted order, of known that has no
// value. A section with none sets nothing, as it says.
func emptyKey(prefix string, m map[string]any, known map[string]bool) string {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		key := joinKey(prefix, k)
		switch v := m[k].(type) {
		case nil:
			if known[key] {
				return key
			}
		case map[string]any:
			if e := emptyKey(key, v, known); e != "" {
				return e
			}
		}
	}
	return ""
}

// joinKey is key k within section prefix ("" for the top level).
func joinKey(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// unknownKeys names the first key in settings that no field reads: a typo
// that would otherwise leave the setting silently at its default.
func (l *Loader) unknownKeys(settings map[string]any) error {
	known, sections := map[string]bool{}, map[string]bool{}
	for _, lf := range leaves(reflect.TypeOf(Config{})) {
		known[lf.key] = true
		for k := lf.key; strings.Contains(k, "."); {
			k = k[:strings.LastIndex(k, ".")]
			sections[k] = true
		}
	}
	var walk func(prefix string, m map[string]any) error
	walk = func(prefix string, m map[string]any) error {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			key := joinKey(prefix, k)
			switch sub, isMap := m[k].(map[string]any); {
			case known[key]:
			case sections[key] && isMap:
				if err := walk(key, sub); err != nil {
					return err
				}
			case sections[key] && m[k] == nil:
				// "window:" with every key under it commented out.
			case sections[key]:
				return fmt.Errorf("%s: got %v from file %s; want a section of keys", key, m[k], l.file)
			default:
				where := "file " + l.file
				if l.file == "" {
					where = l.Source(key)
				}
				if why := removedKey(key); why != "" {
					return fmt.Errorf("%s: no such key any more (%s): %s", key, where, why)
				}
				return fmt.Errorf("%s: no such key (%s); `trendwatch config` lists them all", key, where)
			}
		}
		return nil
	}
	return walk("", settings)
}

// removedKey says why key, which a release of trendwatch read, is gone and
// what to do; "" for a key that never was. A file written for the older
// release then fails with the reason, not as a typo would.
func removedKey(key string) string {
	switch key {
	case "window.hll_precision":
		return "removed on 7 December 2026 with the sketch it sized, each bucket's count of distinct terms, which nothing read; delete the key"
	}
	return ""
}

// unknownEnv is the error naming bad, the variables that look like a
// setting but set no key (strayEnv): viper reads the environment only for
// the keys it knows, so TRENDWATCH_WINDOW_BUKET would leave window.bucket at
// its default unsaid.
//
// A variable looks like a setting when it starts with a section's prefix
// (TRENDWATCH_WINDOW_, TRENDWATCH_KAFKA_, …), not merely with TRENDWATCH_:
// the prefix is shared by variables that are no configuration (the tests'
// TRENDWATCH_TEST_CLICKHOUSE, TRENDWATCH_TOPICS and the like, and whatever
// a deployment names after the service), and a list of those to allow would
// stop start-up whenever one is added anywhere. A misspelt section, or a
// top-level key (TRENDWATCH_SINKS, TRENDWATCH_MEMORY_LIMIT) misspelt, is
// only warned of (Loader.Warnings): the price of never refusing a variable
// that was not meant for the configuration.
func unknownEnv(bad []string) error {
	if len(bad) == 0 {
		return nil
	}
	what := "environment variable %s: no such key"
	if len(bad) > 1 {
		what = "environment variables %s: no such keys"
	}
	return fmt.Errorf(what+"; `trendwatch config --env` lists every key's variable", strings.Join(bad, ", "))
}

// strayEnv sorts the variables of environ that set no key: bad, those under
// a section's prefix (unknownEnv refuses them), and near, the others within
// two edits of a key's variable (TRENDWATCH_SINK for TRENDWATCH_SINKS, a
// misspelt section), which Loader.Warnings reports without refusing, as a
// variable outside every section may be none of the configuration's. Each is
// named with the variable it likely meant, when one is near.
func strayEnv(environ []string) (bad, near []string) {
	known, sections := map[string]bool{}, map[string]bool{}
	for _, lf := range leaves(reflect.TypeOf(Config{})) {
		known[EnvVar(lf.key)] = true
		if section, _, ok := strings.Cut(lf.key, "."); ok {
			sections[EnvVar(section)+"_"] = true
		}
	}
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if known[name] || !strings.HasPrefix(name, EnvPrefix+"_") {
			continue
		}
		inSection := false
		for prefix := range sections {
			if strings.HasPrefix(name, prefix) {
				inSection = true
				break
			}
		}
		meant := nearest(name, known)
		switch {
		case inSection && meant != "":
			bad = append(bad, name+" ("+meant+"?)")
		case inSection:
			bad = append(bad, name)
		case meant != "":
			near = append(near, name+" ("+meant+"?)")
		}
	}
	sort.Strings(bad)
	sort.Strings(near)
	return bad, near
}

// nearest is the name among known within two edits of name, the likely
// intent of a typo; "" when none is, or when two are equally near.
func nearest(name string, known map[string]bool) string {
	best, bestD, tie := "", 3, false
	for k := range known {
		switch d := editDistance(name, k); {
		case d < bestD:
			best, bestD, tie = k, d, false
		case d == bestD:
			tie = true
		}
	}
	if tie {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes:
// variable names are ASCII.
func editDistance(a, b string) int {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1]
			if a[i-1] != b[j-1] {
				sub++
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, sub)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Source says where key's value comes from: "flag --x", "environment variable
// TRENDWATCH_X", "file F" or "default", in viper's order of precedence.
func (l *Loader) Source(key string) string {
	if f, ok := l.flags[key]; ok && f.Changed {
		return "flag --" + f.Name
	}
	if v, ok := os.LookupEnv(EnvVar(key)); ok && v != "" {
		// viper reads an empty variable as unset (Warnings says so): one
		// taken for set made TRENDWATCH_CLICKHOUSE_ADDR= choose ClickHouse
		// at its default address.
		return "environment variable " + EnvVar(key)
	}
	if l.file != "" && l.v.InConfig(key) {
		return "file " + l.file
	}
	return "default"
}

// describe names a raw value and where it came from, the way a person would
// look for it: TRENDWATCH_WINDOW_BUCKET="abc", flag --brokers="…".
func (l *Loader) describe(key string, raw any) string {
	src := l.Source(key)
	if s, ok := raw.(string); ok {
		return fmt.Sprintf("%q from %s", s, src)
	}
	return fmt.Sprintf("%v from %s", raw, src)
}

// sourced adds to each line of a validation error that starts with a key
// where that key's value came from, so "window.allowed_lateness: …" also says
// which file or variable set it — or that it is the default, when the culprit
// is another key it is checked against.
func (l *Loader) sourced(err error) error {
	known := docs()
	lines := strings.Split(err.Error(), "\n")
	changed := false
	for i, line := range lines {
		key, _, ok := strings.Cut(line, ":")
		if _, isKey := known[key]; !ok || !isKey {
			continue
		}
		src := l.Source(key)
		if src == "default" {
			// "(the default)" after "set 0 for no limit" read as if 0 were it.
			src = key + " left at its default"
		} else {
			src = "set by " + src
		}
		lines[i] = line + " (" + src + ")"
		changed = true
	}
	if !changed {
		return err
	}
	return &sourcedError{msg: strings.Join(lines, "\n"), err: err}
}

type sourcedError struct {
	msg string
	err error
}

func (e *sourcedError) Error() string { return e.msg }
func (e *sourcedError) Unwrap() error { return e.err }

// setNested sets a dotted key in viper's nested settings map.
func setNested(m map[string]any, key string, val any) {
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = val
}

// Given reports whether key was set by the file, the environment or a flag,
// rather than left at its default.
func (l *Loader) Given(key string) bool {
	return l.Source(key) != "default"
}

// EnvVar is the environment variable that sets key.
func EnvVar(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}
