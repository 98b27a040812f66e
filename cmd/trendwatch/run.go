package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/checkpoint"
	"github.com/trendwatch/trendwatch/config"
	"github.com/trendwatch/trendwatch/incident"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline"
	"github.com/trendwatch/trendwatch/pipeline/eventtime"
	"github.com/trendwatch/trendwatch/sinks/clickhouse"
	"github.com/trendwatch/trendwatch/sinks/parquet"
)

func (a *app) runCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Consume content and report events, detect, and write to the sinks",
		Long: `run joins the consumer group on the content and report topics, counts terms
into the sketches, runs the detectors at every bucket close, and writes
aggregates and alerts to the configured sinks. Offsets are committed only after
the sinks have flushed and a checkpoint holds the state, so a crash neither loses
nor double-counts. SIGTERM or Ctrl-C shuts down cleanly.

--replay reads history: events of any age count (kafka.limits.max_age=0 and
kafka.limits.max_future=0, where by default events over 7 days old or an hour
ahead are dead-lettered), a group without committed offsets starts at the
earliest (kafka.start_offset=earliest), and no incident is paged for alerts
on past events (incident.enabled=false; alerts still go to the sinks). Give
a replay its own --group and --checkpoint-dir, or it moves the live run's
offsets and resumes from its state. Into the live run's database a replay's
rows replace the live run's of the same minutes: their versions carry the
largest epoch (see docs/scaling.md).

One process owns a consumer group: a second one in the same group would
split the partitions and overwrite the first one's rows. A process that
finds a live member in its group exits saying so, after waiting
kafka.session_timeout for a crashed one to be dropped. With --standby
(kafka.standby) it waits instead, not ready, and takes every partition over
when the other leaves the group, resuming from the checkpoint the other
saved last: give both the same checkpoint.dir on shared storage.

--shard I/N (pipeline.shard, pipeline.shards) runs one of N processes that
share the terms between them, each judging, writing and paging the terms
whose key hashes to its shard. Each reads the whole stream in a consumer
group of its own (kafka.group + ".shard-I-of-N"), keeps its checkpoint in
checkpoint.dir/shard-I-of-N and its Parquet files in parquet.dir/shard-I-of-N;
--standby works per shard. Together they write the rows and alerts one
process would. See docs/scaling.md.

--role (pipeline.role) cuts the pipeline in two stages, each an ordinary
consumer group: "aggregate" processes (any number, in the group
kafka.group + ".aggregate-of-N") read, decode, validate and dead-letter the
input topics' partitions between them, and forward every record to the relay
topic of each of N detect shards (--shards N); each "detect" process
(--shard I/N) reads its relay topic in the group kafka.group + ".detect-I-of-N",
keeps its checkpoint in checkpoint.dir/detect-I-of-N and judges, writes and
pages its shard's terms. An aggregate process keeps no state: kill one and the
others take its partitions over; a detect process resumes from its checkpoint
and skips what it already counted. "all" (the default) is both in one process.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.load(cmd)
			if err != nil {
				return err
			}
			log := cfg.Log.Logger()
			replay, _ := cmd.Flags().GetBool("replay")
			if replay {
				applyReplay(cfg, log)
			}
			shard, _ := cmd.Flags().GetString("shard")
			shardGiven := a.loader.Given("pipeline.shard") || a.loader.Given("pipeline.shards")
			if err := checkRoleFlags(cfg.Pipeline.Role, shard, cmd.Flags().Changed("shards"), shardGiven); err != nil {
				return err
			}
			if cfg.Pipeline.Role == pipeline.RoleAggregate {
				if err := applyShard(cfg, "", log); err != nil {
					return err
				}
				return runAggregate(cmd.Context(), cfg, log)
			}
			if err := applyShard(cfg, shard, log); err != nil {
				return err
			}
			if cfg.Kafka.Standby && cfg.Checkpoint.Fresh {
				// The standby would discard the very state it is there to take over.
				return errors.New("kafka.standby with checkpoint.fresh (--fresh): a standby resumes from the checkpoint its predecessor saved; drop one of them")
			}
			return runPipeline(cmd.Context(), cfg, log, replay, []pipeline.Observer{alertLog{log}})
		},
	}
	a.pipelineFlags(cmd.Flags())
	cmd.Flags().Bool("replay", false, "replay history: accept any event time, start at the earliest offsets, page no one (see above)")
	cmd.Flags().String("shard", "", "I/N: be shard I of N, judging the terms that hash to it (pipeline.shard, pipeline.shards; see above)")
	cmd.Flags().String("role", pipeline.RoleAll, "all, aggregate or detect: the stage of the pipeline to run (pipeline.role; see above)")
	cmd.Flags().Int("shards", 1, "with --role aggregate: the number of detect shards to forward to (pipeline.shards)")
	configKey(cmd.Flags(), "role", "pipeline.role")
	configKey(cmd.Flags(), "shards", "pipeline.shards")
	cmd.Flags().Bool("standby", false, "when another instance holds the consumer group, wait as its hot standby instead of exiting (kafka.standby; see above)")
	configKey(cmd.Flags(), "standby", "kafka.standby")
	return cmd
}

// checkRoleFlags refuses the --role, --shard and --shards that would run
// another layout than the one meant: --shards counts the detect shards an
// aggregate process forwards to, and anywhere else pipeline.shards made the
// process shard 0 of N, with a group, checkpoint and terms of its own; a
// detect process given no shard would judge every term from the relay
// topic of shard 0 of 1, which no aggregate of N > 1 writes. shard is the
// --shard flag ("" when not given), shardsFlag whether --shards was given
// and shardConfigured whether pipeline.shard or pipeline.shards was set
// (file, environment or flag).
func checkRoleFlags(role, shard string, shardsFlag, shardConfigured bool) error {
	switch {
	case role == pipeline.RoleAggregate && shard != "":
		return fmt.Errorf("--shard %q with --role aggregate: an aggregate process forwards to every detect shard; give --shards N, the number of detect shards", shard)
	case role != pipeline.RoleAggregate && shardsFlag:
		return fmt.Errorf("--shards with --role %s: --shards is the number of detect shards an aggregate process forwards to; run `trendwatch run --role aggregate --shards N` for that stage, --role detect --shard I/N for each detect shard, or --shard I/N alone for one of N term shards", role)
	case role == pipeline.RoleDetect && shard == "" && !shardConfigured:
		return errors.New("--role detect without --shard I/N: a detect process judges one shard of the terms, from that shard's relay topic; give --shard I/N, I from 0 to N-1 and N the --shards of the aggregate processes")
	}
	return nil
}

// applyShard reads --shard (flag, "" when not given) into pipeline.shard
// and pipeline.shards and, for
// a sharded pipeline, gives the process the consumer group, checkpoint and
// Parquet directories of its shard: each shard reads every partition, so
// shards sharing a group would split them, and sharing a checkpoint or a
// Parquet directory they would overwrite or compact away each other's files.
func applyShard(cfg *config.Config, flag string, log *slog.Logger) error {
	if flag != "" {
		i, n, err := parseShard(flag)
		if err != nil {
			return err
		}
		cfg.Pipeline.Shard, cfg.Pipeline.Shards = i, n
	}
	if err := cfg.Pipeline.Validate(); err != nil {
		return err
	}
	name := cfg.Pipeline.ShardName()
	if name == "" {
		return nil
	}
	cfg.Kafka.Group += "." + name
	cfg.Checkpoint.Dir = filepath.Join(cfg.Checkpoint.Dir, name)
	cfg.Parquet.Dir = filepath.Join(cfg.Parquet.Dir, name)
	if cfg.Pipeline.Instance != "" {
		cfg.Pipeline.Instance += "/" + name
	}
	switch cfg.Pipeline.Role {
	case pipeline.RoleAggregate:
		log.Info("aggregate: reading a share of the input partitions, forwarding to the detect shards",
			"detect_shards", cfg.Pipeline.Shards, "kafka.group", cfg.Kafka.Group)
	case pipeline.RoleDetect:
		cfg.Kafka.ReadRelay = cfg.Kafka.Topics.RelayTopic(cfg.Pipeline.Shard, cfg.Pipeline.Shards)
		log.Info("detect: judging the terms of one shard, reading its relay topic",
			"shard", name, "relay", cfg.Kafka.ReadRelay, "kafka.group", cfg.Kafka.Group, "checkpoint.dir", cfg.Checkpoint.Dir, "parquet.dir", cfg.Parquet.Dir)
	default:
		log.Info("sharded: judging the terms of one shard, reading the whole stream",
			"shard", name, "kafka.group", cfg.Kafka.Group, "checkpoint.dir", cfg.Checkpoint.Dir, "parquet.dir", cfg.Parquet.Dir)
	}
	return nil
}

// checkLayout refuses to start beside processes of another layout of the
// same deployment: a single `trendwatch run` (kafka.group) beside term
// shards (kafka.group.shard-I-of-N), or shards of another N. Each judges
// terms the others judge too, so both would write their rows and page
// their alerts, and with shards of different N some terms would be judged
// by none. A crashed process's member is still listed until
// kafka.session_timeout: stopping the old layout cleanly leaves at once.
func checkLayout(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	base := cfg.Kafka.Group
	if name := cfg.Pipeline.ShardName(); name != "" {
		base = strings.TrimSuffix(base, "."+name)
	}
	live, err := cfg.Kafka.LiveGroups(ctx, base)
	if err != nil {
		// The one-owner check that follows still holds; this one only
		// guards against a mistake, and a broker that cannot list groups
		// (an ACL) must not stop the pipeline.
		log.Warn("could not list the consumer groups to check that no other layout of this deployment runs", "err", err)
		return nil
	}
	return layoutConflict(base, cfg.Kafka.Group, live)
}

// layoutConflict is checkLayout's judgement on the live groups of base; own
// is this process's group.
func layoutConflict(base, own string, live map[string]ingest.Group) error {
	mine, _ := parseLayout(base, own)
	ids := slices.Sorted(maps.Keys(live))
	for _, id := range ids {
		if id == own {
			continue // the one-owner check's business
		}
		other, ok := parseLayout(base, id)
		if !ok || other == mine {
			continue // another deployment that shares the prefix, or a part of this layout
		}
		return fmt.Errorf("consumer group %s has %d live member(s): kafka.group %q already runs as %s, and this process, of %s, would judge terms judged there too, so both would write their rows and page their alerts. Stop every process of the other layout first (a clean stop leaves its group at once; a killed one is dropped after kafka.session_timeout)",
			id, len(live[id].Members), base, other, mine)
	}
	return nil
}

// layout is how a deployment cuts its work: one run for every term (n 1),
// term shards of n, or two stages with n detect shards. Every process of a
// deployment must be of one layout.
type layout struct {
	kind string
	n    int
}

func (l layout) String() string {
	switch l.kind {
	case "shard":
		return fmt.Sprintf("term shards of %d (--shard I/%d)", l.n, l.n)
	case "stages":
		return fmt.Sprintf("two stages with %d detect shards (--role aggregate --shards %d, --role detect --shard I/%d)", l.n, l.n, l.n)
	}
	return "a trendwatch run for every term"
}

// parseLayout reads the layout of consumer group id of the deployment whose
// kafka.group is base; false when id is not one of its groups.
func parseLayout(base, id string) (layout, bool) {
	if id == base {
		return layout{"all", 1}, true
	}
	rest, ok := strings.CutPrefix(id, base+".")
	if !ok {
		return layout{}, false
	}
	var i, n int
	for _, f := range []struct{ format, kind string }{{"shard-%d-of-%d", "shard"}, {"detect-%d-of-%d", "stages"}} {
		if _, err := fmt.Sscanf(rest, f.format, &i, &n); err == nil && rest == fmt.Sprintf(f.format, i, n) {
			return layout{f.kind, n}, true
		}
	}
	if _, err := fmt.Sscanf(rest, "aggregate-of-%d", &n); err == nil && rest == fmt.Sprintf("aggregate-of-%d", n) {
		return layout{"stages", n}, true
	}
	return layout{}, false
}

// everyTerm makes what (a demo, a backtest) judge every term: term shards
// are processes of `trendwatch run`, and a shared configuration file that
// sets them must not leave a demo showing a third of its alerts.
func everyTerm(cfg *config.Config, log *slog.Logger, what string) {
	if !cfg.Pipeline.Sharded() && cfg.Pipeline.Role == pipeline.RoleAll {
		return
	}
	log.Warn(what+" judges every term in one process; pipeline.role, pipeline.shard and pipeline.shards apply to trendwatch run",
		"pipeline.role", cfg.Pipeline.Role, "pipeline.shards", cfg.Pipeline.Shards)
	cfg.Pipeline.Shard, cfg.Pipeline.Shards, cfg.Pipeline.Role = 0, 1, pipeline.RoleAll
}

// parseShard reads "I/N".
func parseShard(v string) (shard, shards int, err error) {
	a, b, ok := strings.Cut(v, "/")
	if ok {
		shard, err = strconv.Atoi(strings.TrimSpace(a))
		if err == nil {
			shards, err = strconv.Atoi(strings.TrimSpace(b))
		}
	}
	if !ok || err != nil {
		return 0, 0, fmt.Errorf("--shard %q: want I/N, e.g. 0/3 for the first of three shards", v)
	}
	if shards < 1 || shards > pipeline.MaxShards || shard < 0 || shard >= shards {
		return 0, 0, fmt.Errorf("--shard %q: want 0 <= I < N <= %d", v, pipeline.MaxShards)
	}
	return shard, shards, nil
}

// applyReplay sets what reading history needs; see the run command's help.
func applyReplay(cfg *config.Config, log *slog.Logger) {
	cfg.Kafka.Limits.MaxAge, cfg.Kafka.Limits.MaxFuture = 0, 0
	cfg.Kafka.StartOffset = "earliest"
	cfg.Incident.Enabled = false
	log.Info("replay: accepting events of any age, starting at the earliest offsets, paging no one",
		"kafka.limits.max_age", 0, "kafka.limits.max_future", 0, "kafka.start_offset", "earliest", "incident.enabled", false)
}

// pipelineFlags are the flags of every command that runs the pipeline.
func (a *app) pipelineFlags(f *pflag.FlagSet) {
	// The flags show the configuration's defaults; an unset flag does not
	// override the file or the environment, so showing them costs nothing.
	d := config.Default()
	f.StringSlice("brokers", d.Kafka.Brokers, "Kafka bootstrap brokers (kafka.brokers)")
	f.String("group", d.Kafka.Group, "consumer group (kafka.group)")
	f.String("clickhouse", "", "ClickHouse native address host:port; enables the ClickHouse sink (clickhouse.addr)")
	f.String("checkpoint-dir", d.Checkpoint.Dir, "checkpoint directory (checkpoint.dir)")
	f.Bool("fresh", false, "discard an existing checkpoint instead of resuming from it (checkpoint.fresh)")
	f.String("metrics-listen", d.Metrics.Listen, "address for /metrics, /healthz and /readyz, empty to disable (metrics.listen)")
	for flag, key := range map[string]string{
		"brokers": "kafka.brokers", "group": "kafka.group", "clickhouse": "clickhouse.addr",
		"checkpoint-dir": "checkpoint.dir", "fresh": "checkpoint.fresh", "metrics-listen": "metrics.listen",
	} {
		configKey(f, flag, key)
	}
}

// startProcess does what every process of `trendwatch run` does first: its
// memory limit, and its metrics and health endpoints.
//
// The /metrics and health server outlives ctx: a stop (ctx ended) goes on
// for up to tens of seconds, the last commit, the outbox drained, the sinks
// flushed, and a scraper and a health check see it through. The returned
// stop ends the server; the caller defers it first, so it runs last.
func startProcess(ctx context.Context, cfg *config.Config, log *slog.Logger) (*prometheus.Registry, *health, context.CancelFunc, error) {
	applyMemoryLimit(cfg.MemoryLimit, log)
	reg := newRegistry()
	h := newHealth(cfg.Pipeline)
	opsCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	if err := serveOps(opsCtx, cfg.Metrics.Listen, reg, h, log); err != nil {
		stop()
		return nil, nil, nil, fmt.Errorf("metrics.listen %s: %w", cfg.Metrics.Listen, err)
	}
	return reg, h, stop, nil
}

// runPipeline runs consumer and engine until ctx ends or the consumer fails.
// A replay (run --replay) claims no epoch: its rows carry the largest, so
// they replace what the live run wrote of the same minutes, as a replay is
// run to rewrite them, and it fences no one.
func runPipeline(ctx context.Context, cfg *config.Config, log *slog.Logger, replay bool, observers []pipeline.Observer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	reg, h, stopOps, err := startProcess(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer stopOps()
	sinks, err := openSinks(ctx, cfg, log, reg)
	if err != nil {
		return err
	}
	pager, err := openNotifier(ctx, cfg, log, reg)
	if err != nil {
		closeSinks(sinks, log)
		return err
	}
	// Closed before the consumer leaves the group where the run gets that
	// far (below), on every other way out here.
	outputsOpen := true
	closeOutputs := func() {
		if outputsOpen {
			outputsOpen = false
			closeNotifier(pager, log)
			closeSinks(sinks, log)
		}
	}
	defer closeOutputs()

	if cfg.Kafka.Limits.MaxFuture == 0 && cfg.Pipeline.MaxAhead != 0 {
		// Where any stamp is accepted (--replay, the demo's speeded-up
		// stream, a config that says so), event time may run ahead of the
		// clock as well.
		log.Info("kafka.limits.max_future is 0: event time may run ahead of the clock", "pipeline.max_ahead", 0)
		cfg.Pipeline.MaxAhead = 0
	}
	eng, err := pipeline.New(cfg.Pipeline, cfg.Window, cfg.Detectors, sinks, log, reg)
	if err != nil {
		return err
	}
	if pager != nil {
		eng.SetNotifier(pager)
	}
	eng.AddObserver(h)
	for _, o := range observers {
		eng.AddObserver(o)
	}
	store, err := checkpoint.Open(cfg.Checkpoint.Dir)
	if err != nil {
		return err
	}

	if err := cfg.Kafka.WaitForBroker(ctx, log); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while waiting: nothing loaded, nothing to save
		}
		return err
	}
	if err := checkLayout(ctx, cfg, log); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if cfg.Kafka.ReadRelay != "" {
		if err := cfg.Kafka.EnsureRelay(ctx, cfg.Kafka.ReadRelay); err != nil {
			return err
		}
	}
	// The checkpoint is loaded only once this process owns the group: a
	// standby takes over the state its predecessor saved last, and a process
	// that must not run never writes it.
	consumer, parts, err := joinAlone(ctx, resumeFrom(cfg, store, log), log, reg, h)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	// Owning the group, this process claims the state before it loads it:
	// one it took over from, paused past the session timeout and waking
	// later, then saves no checkpoint over it and writes rows that lose
	// against its rows (checkpoint.Store.Claim, pipeline.RowVersion).
	epoch := uint64(checkpoint.MaxEpoch)
	if !replay {
		if epoch, err = store.Claim(); err != nil {
			return errors.Join(err, consumer.Close())
		}
		// The engine asks the fence before it hands pages over; the
		// notifier asks it again before each request, so what a paused
		// process queued before it was paused stays undelivered too.
		if pager != nil {
			pager.SetFence(takeover{store})
		}
	}
	eng.SetEpoch(epoch)
	if err := resume(eng, store, cfg.Checkpoint.Fresh, log); err != nil {
		return errors.Join(err, consumer.Close())
	}
	if replay {
		log.Info("replay: no epoch claimed; its rows carry the largest and replace the live run's of the same minutes", "epoch", epoch)
	} else {
		log.Info("claimed the pipeline's state", "epoch", epoch, "checkpoint", store.Path())
	}
	if parts != nil {
		eng.Expect(parts)
		if cfg.Kafka.ReadRelay == "" {
			// A detect process's group commits the relay's offsets, not
			// the input's that its checkpoint holds.
			checkState(ctx, cfg, eng, parts, log)
		}
	}
	log.Info("consuming", "kafka", cfg.Kafka, "sinks", cfg.Sinks, "checkpoint", store.Path())
	// 16 batches of up to 256 records: as much as the 4096 records queued
	// when records came one at a time.
	records := make(chan []ingest.Record, 16)
	cctx, stopConsumer := context.WithCancel(ctx)
	defer stopConsumer()
	var consumerErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := consumer.RunBatches(cctx, records); err != nil {
			consumerErr = err
			cancel()
		}
	}()
	err = eng.RunBatches(ctx, records, consumer, store)
	stopConsumer()
	<-done
	// The sinks close (Parquet's last flush and compaction) while this
	// process still holds the group: once it leaves, a standby sharing the
	// dataset takes over at once, and two compacting one partition lose
	// rows.
	closeOutputs()
	return errors.Join(err, consumerErr, consumer.Close())
}

// The consumer tells the engine how far each partition reaches, so a
// partition that reconnects late is not taken for one with nothing to say.
var _ eventtime.Ends = (*ingest.Consumer)(nil)

// joinAlone joins the consumer group once it has no other member and
// returns the consumer, owning every input partition, with the partitions
// (nil when the brokers could not list them). See ingest.WaitForGroup.
func joinAlone(ctx context.Context, kcfg ingest.Config, log *slog.Logger, reg prometheus.Registerer, h *health) (*ingest.Consumer, []ingest.Partition, error) {
	for {
		err := kcfg.WaitForGroup(ctx, log, func(ingest.Group) { h.standby.Store(true) })
		if err != nil {
			return nil, nil, err
		}
		consumer, err := ingest.NewConsumer(kcfg, log, reg)
		if err != nil {
			return nil, nil, err
		}
		assigned := consumer.Assigned
		h.assigned.Store(&assigned)
		parts, err := consumer.Partitions(ctx)
		if err != nil {
			if ingest.Refused(err) {
				// Wrong credentials or an untrusted broker: the consumer would
				// retry forever without a word beyond warnings.
				return nil, nil, errors.Join(fmt.Errorf("kafka: %w", err), consumer.Close())
			}
			// Not fatal: the topics may not exist yet. Event time then follows the
			// partitions as they deliver.
			log.Warn("could not list input partitions", "err", err)
			parts = nil
		}
		// A detect process owns its relay topic's partitions, whatever
		// their number; it reads the input's through them.
		want := parts
		if kcfg.ReadRelay != "" {
			want = nil
		}
		err = consumer.Acquire(ctx, want)
		if err == nil {
			if h.standby.Swap(false) {
				log.Info("standby: took the consumer group over", "group", kcfg.Group, "partitions", len(parts))
			}
			return consumer, parts, nil
		}
		// Closing leaves the group; nothing was read or committed.
		err = errors.Join(err, consumer.Close())
		if !errors.Is(err, ingest.ErrGroupBusy) || ctx.Err() != nil {
			return nil, nil, err
		}
		// Two processes that join at once both leave. Each tries again after
		// a random pause; the one that comes second finds the other's member,
		// waits as a standby or exits, as it would have had it come later.
		log.Warn("another process joined the consumer group at the same moment; left it, trying again", "err", err)
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(ingest.Jitter(4 * time.Second)):
		}
	}
}

// resumeFrom is the consumer's configuration for a process about to resume
// from store's checkpoint: kafka.start_offset latest, which decides where a
// partition without a committed offset starts, becomes earliest when there is
// a checkpoint to resume, as its offsets say where counting stopped and the
// engine skips what they cover. Started at the end, such a partition (the
// group's offsets expired over a long stop, or the group renamed) never
// counted what came after the checkpoint.
func resumeFrom(cfg *config.Config, store *checkpoint.Store, log *slog.Logger) ingest.Config {
	kcfg := cfg.Kafka
	if kcfg.StartOffset != "latest" || cfg.Checkpoint.Fresh {
		return kcfg
	}
	if _, err := os.Stat(store.Path()); err != nil {
		return kcfg
	}
	log.Info("a checkpoint to resume: partitions without a committed offset start at the earliest, not at the end as kafka.start_offset says; what the checkpoint counted is skipped",
		"checkpoint", store.Path())
	kcfg.StartOffset = "earliest"
	return kcfg
}

// checkState warns when the checkpoint is behind the group's committed
// offsets: the messages between were counted by another process (a standby
// given its own checkpoint.dir, a checkpoint restored from an old backup),
// and the open buckets' rows will lack them.
func checkState(ctx context.Context, cfg *config.Config, eng *pipeline.Engine, parts []ingest.Partition, log *slog.Logger) {
	committed, err := cfg.Kafka.Committed(ctx, parts)
	if err != nil {
		log.Warn("could not compare the checkpoint with the committed offsets", "err", err)
		return
	}
	if behind := ingest.Behind(committed, eng.Offsets()); len(behind) > 0 && !cfg.Checkpoint.Fresh {
		log.Warn("the checkpoint is behind the consumer group's committed offsets: messages counted by the process that committed them are not in this state, and rows of the buckets still open will lack them; a standby needs the same checkpoint.dir as the process it takes over from",
			"checkpoint", cfg.Checkpoint.Dir, "partitions", len(behind), "first", behind[0])
	}
}

// resume loads the checkpoint into eng, or starts fresh when asked to. A
// checkpoint that cannot be used stops start-up: silently starting over would
// recount everything since the committed offsets' predecessors.
func resume(eng *pipeline.Engine, store *checkpoint.Store, fresh bool, log *slog.Logger) error {
	if fresh {
		// Only a checkpoint actually thrown away is worth a warning; a demo
		// starts fresh in a new directory every time.
		if _, err := os.Stat(store.Path()); err == nil {
			log.Warn("starting fresh: discarding the checkpoint", "path", store.Path())
		}
		return store.Remove()
	}
	state, saved, err := store.Load()
	switch {
	case errors.Is(err, checkpoint.ErrNotFound):
		log.Info("no checkpoint; starting from the group's committed offsets", "path", store.Path())
		return nil
	case err != nil:
		return err
	}
	if err := eng.Restore(state); err != nil {
		return fmt.Errorf("checkpoint %s: %w; start with --fresh to discard it", store.Path(), err)
	}
	log.Info("resumed from checkpoint", "path", store.Path(), "saved", saved.Format(time.RFC3339), "watermark", eng.Watermark(), "open_alerts", len(eng.OpenAlerts()))
	return nil
}

func openSinks(ctx context.Context, cfg *config.Config, log *slog.Logger, reg prometheus.Registerer) ([]pipeline.Sink, error) {
	var sinks []pipeline.Sink
	fail := func(err error) ([]pipeline.Sink, error) {
		closeSinks(sinks, log)
		return nil, err
	}
	for _, name := range cfg.Sinks {
		switch name {
		case "clickhouse":
			s, err := clickhouse.Open(ctx, cfg.ClickHouse, log, reg)
			if err != nil {
				return fail(fmt.Errorf("clickhouse sink: %w", err))
			}
			sinks = append(sinks, s)
		case "parquet":
			s, err := parquet.New(cfg.Parquet, log, reg)
			if err != nil {
				return fail(fmt.Errorf("parquet sink: %w", err))
			}
			sinks = append(sinks, s)
			log.Info("writing Parquet files", "dir", cfg.Parquet.Dir)
		}
	}
	return sinks, nil
}

func closeSinks(sinks []pipeline.Sink, log *slog.Logger) {
	for _, s := range sinks {
		if err := s.Close(); err != nil {
			log.Warn("closing sink", "err", err)
		}
	}
}

// takeover is the checkpoint store as the incident notifier's fence: a
// process that took the state over stops this one's deliveries; a failed
// read of the epoch does not (it stops the engine at its next write, and the
// checkpoint keeps the outbox), where dropping the outbox would lose pages.
type takeover struct{ store *checkpoint.Store }

func (t takeover) Superseded() error {
	if err := t.store.Superseded(); errors.Is(err, checkpoint.ErrSuperseded) {
		return err
	}
	return nil
}

// openNotifier starts the incident notifier when incident.enabled; nil
// otherwise.
func openNotifier(ctx context.Context, cfg *config.Config, log *slog.Logger, reg prometheus.Registerer) (*incident.Notifier, error) {
	if !cfg.Incident.Enabled {
		return nil, nil
	}
	n, err := incident.New(cfg.Incident.Config, log, reg)
	if err != nil {
		return nil, fmt.Errorf("incident notifier: %w", err)
	}
	// Deliveries outlive the run context: on shutdown the engine's last
	// commit drains the outbox with a deadline, and what is left goes into
	// the checkpoint.
	n.Start(context.WithoutCancel(ctx))
	return n, nil
}

// closeNotifier stops n's deliveries. It does not drain the outbox: the
// engine's last commit did (pipeline.Engine.Run), and what was left then is
// in the checkpoint, or comes again from judging again what the checkpoint
// did not cover. A delivery here, after the checkpoint took the outbox,
// would go out a second time from the restarted process.
func closeNotifier(n *incident.Notifier, log *slog.Logger) {
	if n == nil {
		return
	}
	if err := n.Close(); err != nil {
		log.Warn("closing the incident notifier", "err", err)
	}
}

// alertLog puts every alert transition in the process log, so an operator
// without a sink at hand still sees what fired.
type alertLog struct{ log *slog.Logger }

func (alertLog) Bucket(*pipeline.BucketReport) {}

func (l alertLog) Alert(ev alert.Event) {
	a := ev.Alert
	l.log.Info("alert", "status", ev.To, "severity", a.Severity.String(), "detector", a.Detector,
		"term", a.Term, "bucket", ev.At.UTC().Format(time.RFC3339), "summary", a.Summary)
}
