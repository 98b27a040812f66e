// Package pipeline is trendwatch's engine: it counts decoded events into the
// sketch window, tracks the terms worth watching, closes buckets of event time,
// runs the detectors and hands rows and alert transitions to the sinks. One
// goroutine owns all of its state, so there are no locks on the hot path.
package pipeline

import (
	"errors"
	"fmt"
	"time"

	"github.com/trendwatch/trendwatch/pipeline/dedup"
	"github.com/trendwatch/trendwatch/pipeline/families"
)

// Config is the pipeline section.
type Config struct {
	// MaxTracked bounds the terms followed in detail (unique creators, regions,
	// samples, history); the sketches count every term regardless.
	MaxTracked int `mapstructure:"max_tracked"`
	// TrackMin is the count of mentions in one bucket at which a term starts
	// being tracked; TrackMinReports the same for reports.
	TrackMin        uint32 `mapstructure:"track_min"`
	TrackMinReports uint32 `mapstructure:"track_min_reports"`
	// EvictAfter is how many quiet buckets a term may spend below the tracking
	// thresholds, with no open alert and not on the watchlist, before it is dropped.
	EvictAfter int `mapstructure:"evict_after"`
	// History is how many buckets of a term's past the detectors see.
	History int `mapstructure:"history"`
	// JoinCache bounds the content→terms cache that attributes reports to terms.
	JoinCache int `mapstructure:"join_cache"`
	// JoinCacheBytes bounds the same cache by memory, keys included: in a
	// flood of posts with many one-off hashtags an entry costs several times
	// an ordinary one, and the entry bound alone let the cache hold 140 MiB.
	// The oldest entries go first; a report on content forgotten early is
	// attributed through its own hashtags only. 0: the entry bound alone.
	JoinCacheBytes int `mapstructure:"join_cache_bytes"`
	// TopLabels is how many regions, languages and report reasons a row keeps.
	TopLabels int `mapstructure:"top_labels"`
	// Samples is how many content IDs a term keeps per bucket as examples.
	Samples int `mapstructure:"samples"`
	// IdleAdvance moves event time forward with the wall clock when no event has
	// arrived for this long, so the last buckets of a quiet stream still close.
	IdleAdvance time.Duration `mapstructure:"idle_advance"`
	// IdleClose closes every open bucket once no record has arrived for this
	// long of wall-clock time: the last minutes of a finished stream, or of a
	// replay, are written and their alerts raised instead of waiting for
	// events that are not coming. An event for them that comes after all is
	// late, and counted as such. 0 means window.bucket +
	// window.allowed_lateness; a negative value never closes early.
	IdleClose time.Duration `mapstructure:"idle_close"`
	// PartitionIdle is how long an input partition may go without a record
	// before it stops holding the watermark back, once the brokers' high-water
	// mark shows it has nothing more (see eventtime.Inputs.Watermark).
	PartitionIdle time.Duration `mapstructure:"partition_idle"`
	// MaxParked bounds the records held back because their partition is ahead
	// of the slowest one: records are applied in event-time order across
	// partitions. When it is full the earliest are applied anyway. 0 holds
	// nothing: records count in the order they arrive.
	MaxParked int `mapstructure:"max_parked"`
	// MaxAhead bounds how far ahead of this process's clock event time may
	// run (eventtime.Inputs.SetAhead): a record stamped later waits, parked,
	// until the clock reaches it, so that a producer whose clock runs ahead,
	// or a forged stamp, cannot close the minutes still under way and make
	// every other post in them late. When the holding area is full of such
	// records the earliest are dropped, not let move event time. 0: no
	// bound, as a replay or a speeded-up stream needs (the commands set it
	// to 0 wherever kafka.limits.max_future is 0).
	MaxAhead time.Duration `mapstructure:"max_ahead"`
	// DedupMaxIDs bounds the event ids remembered, all partitions together, to
	// drop a second copy of an event (a producer's retry, a range produced
	// twice) read from any partition of its topic while its bucket is open. Each costs
	// about 40 bytes; when full, the ids of the oldest open bucket are
	// forgotten early. 0 turns deduplication off.
	DedupMaxIDs int `mapstructure:"dedup_max_ids"`
	// AdmissionSlots bounds the door a term passes before it is tracked (see
	// package admission): per open bucket, the hashes of terms whose count-min estimate
	// reached the bar once, 8 bytes each, a power of two. 0 turns the door
	// off: a term is then tracked on its first sighting at the bar, and in a
	// flood one-off tags with inflated estimates are tracked and written.
	AdmissionSlots int `mapstructure:"admission_slots"`
	// Families bounds the hashtags whose family (package family) is kept at
	// hand, a few hundred bytes each with the family's record: a hashtag not
	// among them has its family key computed again. It should hold the
	// hashtags of an hour or so and their spellings. 0 turns families off:
	// hashtags are counted and tracked alone, and rows carry no family.
	Families int `mapstructure:"families"`
	// CommitInterval is how often sinks are flushed, a checkpoint written and
	// offsets committed.
	CommitInterval time.Duration `mapstructure:"commit_interval"`
	// MaxCommitFailure is how long past CommitInterval commit rounds may keep
	// failing (a full or read-only checkpoint directory, brokers refusing the
	// commit) or not finish at all (a sink taking nothing) before /healthz
	// answers 503. 0 never does.
	MaxCommitFailure time.Duration `mapstructure:"max_commit_failure"`
	// MaxLagGrowth is how long consumer lag may keep rising without ever
	// falling back before /healthz answers 503: the consumer is falling
	// behind for good. 0 never does.
	MaxLagGrowth time.Duration `mapstructure:"max_lag_growth"`
	// Instance names this process in ingest statistics.
	Instance string `mapstructure:"instance"`
	// Shards cuts the terms into this many shards by the hash of their key,
	// and Shard is the one this process judges: it reads the whole stream
	// (the platform's counts, the sketches, the joins and the event-time
	// order are the same in every shard) but tracks, judges, writes and
	// pages only its own terms. One process per shard, each its own
	// consumer group; see docs/scaling.md. 1 (the default) is one process
	// for every term.
	Shards int `mapstructure:"shards"`
	Shard  int `mapstructure:"shard"`
	// Role is what of the pipeline this process runs: RoleAll, RoleAggregate
	// or RoleDetect (see docs/scaling.md). An aggregate process forwards to
	// pipeline.shards detect shards; a detect process is shard
	// pipeline.shard of them.
	Role string `mapstructure:"role"`
}

// The roles of pipeline.role.
const (
	// RoleAll reads the input topics and detects: one process for the
	// whole pipeline, or a term shard of it.
	RoleAll = "all"
	// RoleAggregate reads, decodes and validates its share of the input
	// topics' partitions and forwards the records to the detect shards.
	RoleAggregate = "aggregate"
	// RoleDetect reads its shard's relay topic and detects.
	RoleDetect = "detect"
)

// MaxShards bounds pipeline.shards: every shard reads the whole stream, so
// beyond a few dozen the brokers' fan-out costs more than the shards save.
const MaxShards = 64

// Sharded reports whether the terms are cut into shards.
func (c Config) Sharded() bool { return c.Shards > 1 }

// ShardName names this process's shard, as in "shard-1-of-3"; empty when
// the terms are not cut.
func (c Config) ShardName() string {
	switch {
	case c.Role == RoleDetect:
		return fmt.Sprintf("detect-%d-of-%d", c.Shard, c.Shards)
	case c.Role == RoleAggregate:
		return fmt.Sprintf("aggregate-of-%d", c.Shards)
	case !c.Sharded():
		return ""
	}
	return fmt.Sprintf("shard-%d-of-%d", c.Shard, c.Shards)
}

// DefaultConfig keeps thousands of terms in detail within a few hundred MiB.
func DefaultConfig() Config {
	return Config{
		MaxTracked:      20000,
		TrackMin:        5,
		TrackMinReports: 3,
		EvictAfter:      30,
		History:         120,
		JoinCache:       200000,
		JoinCacheBytes:  48 << 20,
		TopLabels:       5,
		Samples:         5,
		IdleAdvance:     30 * time.Second,
		PartitionIdle:   5 * time.Second,
		MaxParked:       200000,
		MaxAhead:        10 * time.Second,
		DedupMaxIDs:     1600000,
		AdmissionSlots:  1 << 20,
		Families:        1 << 19,
		CommitInterval:  10 * time.Second,
		Shards:          1,
		Role:            RoleAll,

		MaxCommitFailure: time.Minute,
		MaxLagGrowth:     5 * time.Minute,
	}
}

// BoundedBytes is the most the pipeline's structures bounded by bytes may
// hold with openBuckets buckets open: the join cache, the event_id filter,
// the tracking door and the families' tables. It is what the pipeline brings
// to the process's memory_limit beside the sketch window.
func (c Config) BoundedBytes(openBuckets int) int64 {
	return int64(c.JoinCacheBytes) + int64(c.DedupMaxIDs)*dedup.BytesPerID + int64(c.AdmissionSlots)*8*int64(openBuckets) + c.FamiliesBytes()
}

// FamiliesBytes is the size of the families' two tables: a slot of 16 bytes
// in each per hashtag, pipeline.families rounded up to a power of two.
func (c Config) FamiliesBytes() int64 { return families.Bytes(c.Families) }

// Validate names the first bad key.
func (c Config) Validate() error {
	switch {
	case c.MaxTracked <= 0:
		return fmt.Errorf("pipeline.max_tracked: must be > 0, got %d", c.MaxTracked)
	case c.TrackMin == 0:
		return errors.New("pipeline.track_min: must be > 0")
	case c.TrackMinReports == 0:
		return errors.New("pipeline.track_min_reports: must be > 0")
	case c.EvictAfter <= 0:
		return fmt.Errorf("pipeline.evict_after: must be > 0, got %d", c.EvictAfter)
	case c.History < 2:
		return fmt.Errorf("pipeline.history: must be >= 2, got %d", c.History)
	case c.JoinCache <= 0:
		return fmt.Errorf("pipeline.join_cache: must be > 0, got %d", c.JoinCache)
	case c.JoinCacheBytes < 0:
		return fmt.Errorf("pipeline.join_cache_bytes: must be >= 0, got %d", c.JoinCacheBytes)
	case c.TopLabels <= 0:
		return fmt.Errorf("pipeline.top_labels: must be > 0, got %d", c.TopLabels)
	case c.Samples < 0:
		return fmt.Errorf("pipeline.samples: must be >= 0, got %d", c.Samples)
	case c.IdleAdvance < 0:
		return fmt.Errorf("pipeline.idle_advance: must be >= 0, got %v", c.IdleAdvance)
	case c.PartitionIdle <= 0:
		return fmt.Errorf("pipeline.partition_idle: must be > 0, got %v", c.PartitionIdle)
	case c.MaxParked < 0:
		return fmt.Errorf("pipeline.max_parked: must be >= 0, got %d", c.MaxParked)
	case c.MaxAhead < 0:
		return fmt.Errorf("pipeline.max_ahead: must be >= 0, got %v", c.MaxAhead)
	case c.DedupMaxIDs < 0:
		return fmt.Errorf("pipeline.dedup_max_ids: must be >= 0, got %d", c.DedupMaxIDs)
	case c.AdmissionSlots != 0 && (c.AdmissionSlots < 1024 || c.AdmissionSlots&(c.AdmissionSlots-1) != 0):
		return fmt.Errorf("pipeline.admission_slots: must be 0 or a power of two >= 1024, got %d", c.AdmissionSlots)
	case c.Families < 0:
		return fmt.Errorf("pipeline.families: must be >= 0, got %d", c.Families)
	case c.CommitInterval <= 0:
		return fmt.Errorf("pipeline.commit_interval: must be > 0, got %v", c.CommitInterval)
	case c.MaxCommitFailure < 0:
		return fmt.Errorf("pipeline.max_commit_failure: must be >= 0, got %v", c.MaxCommitFailure)
	case c.MaxLagGrowth < 0:
		return fmt.Errorf("pipeline.max_lag_growth: must be >= 0, got %v", c.MaxLagGrowth)
	case c.Shards < 1 || c.Shards > MaxShards:
		return fmt.Errorf("pipeline.shards: must be 1 to %d, got %d", MaxShards, c.Shards)
	case c.Shard < 0 || c.Shard >= c.Shards:
		return fmt.Errorf("pipeline.shard: must be 0 to pipeline.shards-1 (%d), got %d", c.Shards-1, c.Shard)
	case c.Role != RoleAll && c.Role != RoleAggregate && c.Role != RoleDetect:
		return fmt.Errorf("pipeline.role: want %s, %s or %s, got %q", RoleAll, RoleAggregate, RoleDetect, c.Role)
	case c.Role == RoleAggregate && c.Shard != 0:
		return fmt.Errorf("pipeline.shard: an aggregate process forwards to every detect shard; set pipeline.shards (--shards N) alone, got shard %d", c.Shard)
	}
	return nil
}
