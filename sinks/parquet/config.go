package parquet

import (
	"errors"
	"fmt"
	"time"
)

// Config says where the Parquet files go and how wide a partition is. Viper keys
// parquet.*.
type Config struct {
	Dir  string        `mapstructure:"dir"`  // root of the dataset
	Roll time.Duration `mapstructure:"roll"` // partition width: whole hours dividing a day
}

// DefaultConfig is an hourly dataset under ./trendwatch-data.
func DefaultConfig() Config {
	return Config{Dir: "./trendwatch-data", Roll: time.Hour}
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
	return nil
}
