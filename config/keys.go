package config

import (
	"reflect"
	"sort"
	"strings"
	"time"
)

// Units of a key, shown by `trendwatch config` and used to parse its value:
// a bytes key takes sizes with units, a duration key refuses a bare number.
const (
	UnitBytes    = "bytes"
	UnitDuration = "duration"
	UnitBuckets  = "buckets"
	UnitCount    = "count"
	UnitRatio    = "ratio"
	UnitSigma    = "σ"
	UnitBool     = "bool"
	UnitList     = "list"
	UnitText     = "text"
	UnitAddress  = "host:port"
	UnitPath     = "path"
	UnitDays     = "days"
)

// doc is one line of `trendwatch config`: the key's unit and what it means.
type doc struct {
	unit, meaning string
}

// docs describes every key. TestEveryKeyDocumented keeps it in step with the
// config structs, so a new field cannot ship without a line here.
func docs() map[string]doc {
	return map[string]doc{
		"broker.data_dir":          {UnitPath, "embedded broker: keep the log here across restarts; empty keeps it in memory"},
		"broker.listen":            {UnitAddress, "embedded broker: listen address; port 0 picks a free one"},
		"broker.max_message_bytes": {UnitBytes, "embedded broker: largest batch accepted"},
		"broker.partitions":        {UnitCount, "embedded broker: partitions per topic"},
		"broker.topics":            {UnitList, "embedded broker: topics created at start"},

		"checkpoint.dir":   {UnitPath, "directory of the state checkpoint used for exact restarts"},
		"checkpoint.fresh": {UnitBool, "discard an existing checkpoint instead of resuming from it"},

		"clickhouse.addr":                     {UnitList, "ClickHouse native-protocol addresses, host:port"},
		"clickhouse.batch_rows":               {UnitCount, "flush when this many rows are queued"},
		"clickhouse.close_timeout":            {UnitDuration, "bound on the final flush at shutdown"},
		"clickhouse.database":                 {UnitText, "database; migrate creates it if missing"},
		"clickhouse.dial_timeout":             {UnitDuration, "bound on connecting"},
		"clickhouse.flush_interval":           {UnitDuration, "flush when the oldest queued row is this old"},
		"clickhouse.max_retry_delay":          {UnitDuration, "longest wait between retries of a failed INSERT"},
		"clickhouse.password":                 {UnitText, "password; never logged"},
		"clickhouse.queue_rows":               {UnitCount, "unflushed rows before writes block (backpressure)"},
		"clickhouse.retention_days":           {UnitDays, "TTL on servers ≥ 23.8; 0 keeps forever"},
		"clickhouse.tls":                      {UnitBool, "connect with TLS"},
		"clickhouse.tls_ca_file":              {UnitPath, "CA bundle for the server certificate"},
		"clickhouse.tls_insecure_skip_verify": {UnitBool, "do not verify the server certificate (tests only)"},
		"clickhouse.username":                 {UnitText, "user name"},
		"clickhouse.write_timeout":            {UnitDuration, "bound on one INSERT attempt"},

		"detectors.baseline.alpha":        {UnitRatio, "baseline level smoothing, (0,1)"},
		"detectors.baseline.beta":         {UnitRatio, "baseline trend smoothing relative to alpha, [0,1)"},
		"detectors.baseline.clip":         {UnitSigma, "distance from the forecast, in spreads, at which a bucket is an outlier the baseline does not learn"},
		"detectors.baseline.max_surge":    {UnitBuckets, "buckets a surge may last before the baseline takes it as the term's new level"},
		"detectors.baseline.gamma":        {UnitRatio, "baseline spread smoothing, (0,1)"},
		"detectors.baseline.min_expected": {UnitCount, "floor of a bucket's expected count"},
		"detectors.baseline.tail_memory":  {UnitBuckets, "history a term's spikiness estimate remembers"},
		"detectors.baseline.tail_prior":   {UnitBuckets, "weight of the count model's tail in a new term's spikiness"},

		"detectors.early.enabled":           {UnitBool, "judge open buckets every early.interval and page early on evidence the final judgement will almost surely bear out"},
		"detectors.early.false_pages":       {"per 1,000 term-days", "early bar: pages the partial count's own test may make on a term doing nothing unusual; ≤ detectors.false_pages"},
		"detectors.early.first_bucket":      {UnitBool, "let a surge page early in its first bucket, judged whole against the early bar; spikes that end within the bucket are then paged and retracted"},
		"detectors.early.interval":          {UnitDuration, "how often, in event time, open buckets are judged early"},
		"detectors.early.retract":           {UnitRatio, "chance under the count model that the rest of a bucket makes the final judgement retract an early page"},
		"detectors.early.watch_false_pages": {"per 1,000 term-days", "early bar of watchlist terms, lower than early.false_pages"},
		"detectors.early.watch_interval":    {UnitDuration, "how often, in event time, urgent open buckets are judged early (watched terms', those with a high-trust report, a term's bucket after one that jumped); at most early.interval"},

		"detectors.false_pages": {"per 1,000 term-days", "surge pages tolerated on terms doing nothing unusual; sets surge.min_z for the bucket width"},

		"detectors.coordination.enabled":                    {UnitBool, "detect surges carried by few accounts"},
		"detectors.coordination.min_growth":                 {UnitRatio, "least observed/expected growth of a push"},
		"detectors.coordination.min_mentions":               {UnitCount, "least mentions in the bucket"},
		"detectors.coordination.min_ratio":                  {UnitRatio, "least mentions per unique creator"},
		"detectors.coordination.min_z":                      {UnitSigma, "least significance of the mentions' surge"},
		"detectors.coordination.norm_factor":                {UnitRatio, "how far above the platform's and the term's norm mentions per creator must be"},
		"detectors.coordination.spreading.enabled":          {UnitBool, "detect surges spreading across many creators and regions"},
		"detectors.coordination.spreading.min_creators":     {UnitCount, "least unique creators in the bucket"},
		"detectors.coordination.spreading.min_region_share": {UnitRatio, "share of the bucket's mentions for a region to count"},
		"detectors.coordination.spreading.min_regions":      {UnitCount, "least regions"},

		"detectors.lifecycle.cooldown_buckets":      {UnitBuckets, "after resolving, a new finding pages again only if more severe"},
		"detectors.lifecycle.escalate_min_severity": {UnitText, "least severity worth paging again for an escalation"},
		"detectors.lifecycle.escalate_steps":        {UnitCount, "severity steps a finding must rise to escalate an alert"},
		"detectors.lifecycle.max_regions":           {UnitCount, "top regions kept on an alert"},
		"detectors.lifecycle.max_samples":           {UnitCount, "sample content IDs kept on an alert"},
		"detectors.lifecycle.quiet_buckets":         {UnitBuckets, "buckets without a finding that resolve an alert"},

		"detectors.novelty.enabled":        {UnitBool, "detect new terms that cross a count and keep growing"},
		"detectors.novelty.growth_buckets": {UnitBuckets, "consecutive rises ending with the bucket"},
		"detectors.novelty.max_prior":      {UnitCount, "largest typical count per bucket for a term to be new"},
		"detectors.novelty.min_count":      {UnitCount, "least mentions in the bucket"},
		"detectors.novelty.min_creators":   {UnitCount, "least unique creators of a new term's bucket"},
		"detectors.novelty.min_history":    {UnitBuckets, "least history counted before anything is called new"},
		"detectors.novelty.min_z":          {UnitSigma, "least significance"},

		"detectors.report_rate.enabled":             {UnitBool, "detect waves of user reports on a term"},
		"detectors.report_rate.high_trust_channels": {UnitList, "report channels (partner, regulator, law_enforcement, media, internal) one report from which pages at high; empty disables"},
		"detectors.report_rate.min_expected":        {UnitCount, "floor of expected reports per bucket"},
		"detectors.report_rate.min_growth":          {UnitRatio, "least reports/expected reports"},
		"detectors.report_rate.min_reports":         {UnitCount, "least reports in the bucket"},
		"detectors.report_rate.min_reporters":       {UnitCount, "least unique reporters of the bucket's reports (when known)"},
		"detectors.report_rate.min_z":               {UnitSigma, "least significance"},
		"detectors.report_rate.prior_mentions":      {UnitCount, "mentions' worth of the platform's report rate a term's rate is shrunk towards"},
		"detectors.report_rate.prior_rate":          {UnitRatio, "reports per mention assumed before the platform's rate is known"},
		"detectors.report_rate.window":              {UnitBuckets, "short window tested beside the bucket"},

		"detectors.surge.enabled":      {UnitBool, "detect a tracked term far above its own history"},
		"detectors.surge.history":      {UnitBuckets, "most history the baseline reads"},
		"detectors.surge.min_growth":   {UnitRatio, "least observed/expected"},
		"detectors.surge.min_history":  {UnitBuckets, "least history before the mention baseline is trusted"},
		"detectors.surge.min_support":  {UnitCount, "least mentions in the bucket"},
		"detectors.surge.min_creators": {UnitCount, "least unique creators of a surging bucket; one or two accounts are coordination's to judge"},
		"detectors.surge.min_z":        {UnitSigma, "significance to page at; 0 derives it from detectors.false_pages"},
		"detectors.surge.shift_window": {UnitBuckets, "level-shift window: a change that holds without one standout bucket"},
		"detectors.surge.hold_window":  {UnitBuckets, "sustained test: clipped forecast errors summed, a trend holds where a burst fades"},
		"detectors.surge.window":       {UnitBuckets, "short window tested beside the bucket; 1 tests the bucket only"},

		"detectors.watchlist.category":      {UnitText, "category of watchlist alerts unless an entry sets its own"},
		"detectors.watchlist.enabled":       {UnitBool, "judge watched terms at lower thresholds and higher severity"},
		"detectors.watchlist.entries":       {UnitList, "entries {term, risk, category} with their own risk or category"},
		"detectors.watchlist.min_growth":    {UnitRatio, "least observed/expected for a watched term"},
		"detectors.watchlist.min_reports":   {UnitCount, "least reports in the bucket for a watched term"},
		"detectors.watchlist.min_reporters": {UnitCount, "least unique reporters of a watched term's reports (when known)"},
		"detectors.watchlist.min_support":   {UnitCount, "least mentions in the bucket for a watched term"},
		"detectors.watchlist.min_z":         {UnitSigma, "least significance for a watched term"},
		"detectors.watchlist.risk":          {UnitText, "least severity of any alert on a watched term: info … critical"},
		"detectors.watchlist.terms":         {UnitList, "watched terms: kind:value, bare value (any kind) or *glob*"},

		"incident.allowed_hosts":     {UnitList, "hosts, host:port, IPs or CIDR ranges incidents may be sent to; empty allows incident.url's host only"},
		"incident.allowed_schemes":   {UnitList, "URL schemes allowed: http, https"},
		"incident.backoff_base":      {UnitDuration, "first retry waits up to this"},
		"incident.backoff_max":       {UnitDuration, "no retry waits longer, Retry-After aside"},
		"incident.enabled":           {UnitBool, "open incidents for alerts"},
		"incident.generator_url":     {UnitText, "Alertmanager generatorURL base: a link back from the alert; empty for none"},
		"incident.history_table":     {UnitText, "table or view the Alertmanager history_query annotation reads"},
		"incident.kind":              {UnitText, "pagerduty (Events API v2), webhook (Standard Webhooks) or alertmanager (API v2)"},
		"incident.max_open":          {UnitCount, "open alerts Alertmanager re-sends are kept for; past it the oldest expires"},
		"incident.max_attempts":      {UnitCount, "delivery attempts; 0 retries until delivered or pushed out of the outbox"},
		"incident.min_severity":      {UnitText, "alerts below it open no incident"},
		"incident.outbox":            {UnitCount, "pending deliveries kept"},
		"incident.per_term_interval": {UnitDuration, "one trigger per term (a hashtag's spellings count as one) per interval; 0 no limit"},
		"incident.resend_interval":   {UnitDuration, "how often an open alert is re-sent to Alertmanager"},
		"incident.routing_key":       {UnitText, "PagerDuty integration key; set it from the environment"},
		"incident.secret":            {UnitText, "webhook signing secret, whsec_ + base64"},
		"incident.secret_file":       {UnitPath, "file holding incident.secret"},
		"incident.source":            {UnitText, "PagerDuty payload.source"},
		"incident.timeout":           {UnitDuration, "bound on one HTTP attempt"},
		"incident.url":               {UnitText, "endpoint"},

		"kafka.brokers":                  {UnitList, "bootstrap brokers, host:port"},
		"kafka.client_id":                {UnitText, "client ID sent to the brokers"},
		"kafka.decoders":                 {UnitCount, "goroutines decoding messages; 0: one per CPU (order is kept either way)"},
		"kafka.dead_letter_max_bytes":    {UnitBytes, "most of a bad message copied to the dead-letter topic (at most 512 KiB)"},
		"kafka.fetch_max_bytes":          {UnitBytes, "bound on one fetch"},
		"kafka.group":                    {UnitText, "consumer group; instances of one group share the partitions"},
		"kafka.limits.max_age":           {UnitDuration, "events older than this are dead-lettered; 0 disables (replays)"},
		"kafka.limits.max_future":        {UnitDuration, "events further ahead of now are dead-lettered; 0 disables"},
		"kafka.limits.max_hashtag_runes": {UnitCount, "longest hashtag after normalisation"},
		"kafka.limits.max_hashtags":      {UnitCount, "most hashtags per content event"},
		"kafka.limits.max_id_bytes":      {UnitBytes, "longest ID, region, language or reason"},
		"kafka.limits.max_message_bytes": {UnitBytes, "largest message"},
		"kafka.limits.max_text_bytes":    {UnitBytes, "longest free text"},
		"kafka.max_wait":                 {UnitDuration, "how long the broker may hold a fetch of an empty partition; kafka-go also waits no longer for a fetch's answer, so below 250ms a slow one may never be read (warned at start)"},
		"kafka.sasl.mechanism":           {UnitText, "plain, scram-sha-256 or scram-sha-512; empty disables SASL"},
		"kafka.sasl.password":            {UnitText, "SASL password; set it from the environment"},
		"kafka.sasl.password_file":       {UnitPath, "file holding the SASL password"},
		"kafka.sasl.username":            {UnitText, "SASL user name"},
		"kafka.start_offset":             {UnitText, "where a group without committed offsets starts: earliest or latest (a detect process's relay group, and a process resuming a checkpoint, at earliest: the checkpoint's offsets say what it counted)"},
		"kafka.startup_timeout":          {UnitDuration, "start-up fails, naming the brokers, when none answers by then; 0 waits for ever"},
		"kafka.session_timeout":          {UnitDuration, "a member silent this long is dropped from the group: how long a standby or a restart after a crash waits"},
		"kafka.standby":                  {UnitBool, "when another member holds the group, wait as a hot standby instead of exiting"},
		"kafka.tls.ca_file":              {UnitPath, "CA bundle for the brokers' certificates"},
		"kafka.tls.cert_file":            {UnitPath, "client certificate"},
		"kafka.tls.enabled":              {UnitBool, "connect to the brokers with TLS"},
		"kafka.tls.insecure_skip_verify": {UnitBool, "do not verify the brokers' certificates (tests only)"},
		"kafka.tls.key_file":             {UnitPath, "client key"},
		"kafka.topics.content":           {UnitText, "topic of content events"},
		"kafka.topics.dead_letter":       {UnitText, "topic for messages that cannot be counted"},
		"kafka.topics.relay":             {UnitText, "prefix of the topics aggregate processes forward to, one per detect shard (.shard-I-of-N)"},
		"kafka.relay_retention":          {UnitDuration, "how long the relay topics keep a record, set when they are created; 0: the brokers' default"},
		"kafka.topics.reports":           {UnitText, "topic of report events"},

		"log.format": {UnitText, "text or json"},
		"log.level":  {UnitText, "debug, info, warn or error"},

		"metrics.listen": {UnitAddress, "/metrics and /healthz; empty disables"},

		"parquet.dir":               {UnitPath, "root of the Parquet dataset"},
		"parquet.roll":              {UnitDuration, "partition width: whole hours dividing a day"},
		"parquet.max_buffered_rows": {UnitCount, "rows held in memory while flushes fail; past it writes are refused and the pipeline stops"},

		"pipeline.commit_interval":    {UnitDuration, "how often sinks flush, a checkpoint is written and offsets committed"},
		"pipeline.dedup_max_ids":      {UnitCount, "event ids remembered per process to drop retried copies (about 40 bytes each); 0 off"},
		"pipeline.admission_slots":    {UnitCount, "per open bucket, terms held at the tracking door until their second sighting at the bar (8 bytes each, a power of two >= 1024); 0 off"},
		"pipeline.families":           {UnitCount, "hashtags whose family (term families) is kept at hand, 32 bytes each; 0 turns families off"},
		"pipeline.evict_after":        {UnitBuckets, "quiet buckets before an untracked-worthy term is dropped"},
		"pipeline.history":            {UnitBuckets, "history of a term the detectors see; ≤ window.fine_buckets"},
		"pipeline.idle_advance":       {UnitDuration, "move event time with the clock after this long without events"},
		"pipeline.idle_close":         {UnitDuration, "close every open bucket after this long with every partition quiet; 0 bucket + lateness, negative never"},
		"pipeline.instance":           {UnitText, "name of this process in ingest statistics"},
		"pipeline.join_cache":         {UnitCount, "content IDs remembered to attribute reports to terms"},
		"pipeline.join_cache_bytes":   {UnitBytes, "memory bound of the same cache, keys included; oldest forgotten first; 0 entries only"},
		"pipeline.max_commit_failure": {UnitDuration, "/healthz fails when no commit round succeeded for this long past the commit interval; 0 never"},
		"pipeline.max_lag_growth":     {UnitDuration, "/healthz fails when consumer lag has risen this long without a dip; 0 never"},
		"pipeline.max_parked":         {UnitCount, "records held back to apply partitions in event-time order; 0 none"},
		"pipeline.max_ahead":          {UnitDuration, "how far past this process's clock event time may run; later-stamped records wait for the clock; 0 no bound (set by --replay and the demo)"},
		"pipeline.max_tracked":        {UnitCount, "terms followed in detail; the sketches count all"},
		"pipeline.partition_idle":     {UnitDuration, "a partition quiet this long whose high-water mark shows nothing more stops holding the watermark back"},
		"pipeline.samples":            {UnitCount, "content IDs kept per term and bucket as examples"},
		"pipeline.shard":              {UnitCount, "which shard of the terms this process judges, 0 to pipeline.shards-1 (run --shard I/N)"},
		"pipeline.shards":             {UnitCount, "processes sharing the terms, each reading the whole stream in a group of its own; 1 one process for all"},
		"pipeline.role":               {UnitText, "all (read and detect), aggregate (read, forward to the detect shards) or detect (read a relay topic)"},
		"pipeline.top_labels":         {UnitCount, "regions, languages and report reasons kept per row"},
		"pipeline.track_min":          {UnitCount, "mentions in a bucket at which a term is tracked"},
		"pipeline.track_min_reports":  {UnitCount, "reports in a bucket at which a term is tracked"},

		"memory_limit": {UnitBytes, "the process's memory budget and Go soft memory limit; the window, join cache, event_id filter and door at their bounds must fit; 0 none"},

		"sinks": {UnitList, "clickhouse, parquet or both; empty: clickhouse if clickhouse.addr was given, else parquet"},

		"window.allowed_lateness": {UnitDuration, "how late an event may be and still count"},
		"window.bucket":           {UnitDuration, "width of a bucket of event time"},
		"window.cms_depth":        {UnitCount, "rows of the count-min sketches"},
		"window.cms_report_width": {UnitCount, "reports sketch width, a power of two; 0 = cms_width/4"},
		"window.cms_width":        {UnitCount, "mentions sketch width, a power of two; 0 = the widest memory_budget allows"},
		"window.coarse_bucket":    {UnitDuration, "width of a coarse bucket, a multiple of window.bucket"},
		"window.coarse_buckets":   {UnitCount, "coarse buckets kept; must cover ≥ 25h"},
		"window.fine_buckets":     {UnitCount, "fine buckets kept"},
		"window.max_key_bytes":    {UnitBytes, "longest term key counted"},
		"window.memory_budget":    {UnitBytes, "worst-case size of the sketch window; picks the count-min width"},
		"window.open_buckets":     {UnitCount, "buckets open at once; 0 = from allowed_lateness"},
		"window.top_k":            {UnitCount, "heavy hitters kept per bucket"},
	}
}

// Key is one configuration key as `trendwatch config` lists it.
type Key struct {
	Name    string
	Env     string
	Default string // as it would be written in the file
	Unit    string
	Meaning string
}

// Keys lists every configuration key, sorted, with its default, unit and meaning.
func Keys() []Key {
	d := docs()
	var out []Key
	for _, l := range leaves(reflect.TypeOf(Config{})) {
		def := lookup(reflect.ValueOf(Default()), l.path)
		out = append(out, Key{
			Name: l.key, Env: EnvVar(l.key), Default: formatValue(def, d[l.key].unit),
			Unit: d[l.key].unit, Meaning: d[l.key].meaning,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// leaf is one key and where its field sits in Config.
type leaf struct {
	key  string
	path []int
	typ  reflect.Type
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	timeType     = reflect.TypeOf(time.Time{})
)

// leaves walks the config structs as mapstructure does: squashed embeddings
// add their fields to the parent, nested structs make dotted keys.
func leaves(t reflect.Type) []leaf {
	var out []leaf
	var walk func(t reflect.Type, prefix string, path []int)
	walk = func(t reflect.Type, prefix string, path []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
			p := append(append([]int(nil), path...), i)
			if opts == "squash" || (f.Anonymous && name == "") {
				walk(f.Type, prefix, p)
				continue
			}
			if name == "" || name == "-" {
				continue
			}
			key := name
			if prefix != "" {
				key = prefix + "." + name
			}
			if f.Type.Kind() == reflect.Struct && f.Type != timeType {
				walk(f.Type, key, p)
				continue
			}
			out = append(out, leaf{key: key, path: p, typ: f.Type})
		}
	}
	walk(t, "", nil)
	return out
}

func lookup(v reflect.Value, path []int) reflect.Value {
	for _, i := range path {
		v = v.Field(i)
	}
	return v
}
