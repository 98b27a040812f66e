package parquet

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// Config says where the Parquet files go and how wide a partition is. Viper keys
// parquet.*.
type Config struct {
	Dir  string        `mapstructure:"dir"`  // root of the dataset
	Roll time.Duration `mapstructure:"roll"` // partition width: whole hours dividing a day
	// MaxBuffered bounds the rows held in memory while flushes fail (a full
	// disk, a read-only remount): past it, writes are refused, which stops
	// the pipeline without a checkpoint past them, rather than growing
	// until the process is killed for memory. Between flushes that succeed
	// it does not apply.
	MaxBuffered int `mapstructure:"max_buffered_rows"`
}

// ShardDirs matches the directories the processes of a sharded pipeline
// (pipeline.shards) write into under Dir, one each ("shard-1-of-3"): a
// process compacts and cleans up only its own. Readers take them with Dir as
// one dataset: a query reads DIR/shard-*/trend_minute/ as it reads
// DIR/trend_minute/.
const ShardDirs = "shard-*-of-*"

// DetectDirs matches the directories the detect processes of a two-stage
// pipeline (pipeline.role detect) write into under Dir, as ShardDirs does
// the term shards'.
const DetectDirs = "detect-*-of-*"

// Roots are the directories under which one dataset's tables lie: dir, and
// each process's own directory of a sharded or two-stage pipeline, as glob
// patterns.
func Roots(dir string) []string {
	return []string{dir, filepath.Join(dir, ShardDirs), filepath.Join(dir, DetectDirs)}
}

// DefaultConfig is an hourly dataset under ./trendwatch-data.
func DefaultConfig() Config {
	return Config{Dir: "./trendwatch-data", Roll: time.Hour, MaxBuffered: 250_000}
}

// Validate reports the first key that is wrong.
func (c Config) Validate() error {
	if c.Dir == "" {
		return errors.New("parquet.dir: must not be empty")
	}
	// The layout is date=/hour=, so a partition must start on a whole hour and a
	// day must hold a whole number of them, or one directory would mix two days.
	if c.Roll < time.Hour || c.Roll%time.Hour != 0 || (24*time.Hour)%c.Roll != 0 {
		return fmt.Errorf("parquet.roll: %v is not a whole number of hours dividing a day (1h, 2h, 3h, 4h, 6h, 8h, 12h or 24h)", c.Roll)
	}
	if c.MaxBuffered <= 0 {
		return fmt.Errorf("parquet.max_buffered_rows: must be > 0, got %d", c.MaxBuffered)
	}
	return nil
}
