package gen

import (
	"fmt"
	"time"
)

// Scenario names, as Config.Scenarios and Label.Scenario spell them.
const (
	OrganicSurge    = "organic_surge"
	DangerousSurge  = "dangerous_surge"
	CoordinatedPush = "coordinated_push"
	ReportWave      = "report_wave"
	SlowTrend       = "slow_trend"
	DailyPeak       = "daily_peak"
)

// AllScenarios lists every scenario in the order they are laid out in time.
func AllScenarios() []string {
	return []string{OrganicSurge, DangerousSurge, CoordinatedPush, ReportWave, SlowTrend, DailyPeak}
}

// Bounds that keep a run meaningful and its memory bounded.
const (
	minScenarioSpan = 15 * time.Minute // shortest surge a baseline detector can judge
	maxWarmup       = 45 * time.Minute
	minVocabulary   = 1000 // every language list needs its single words plus pairs
	maxVocabulary   = 50_000_000
	minCreators     = 1000        // region pools and the coordinated accounts need room
	maxCreators     = 100_000_000 // reporter IDs (20 per creator) stay within uint32
	maxRate         = 100_000     // one second of events is held in memory at once
)

// Config says what traffic to generate. Keys are those of the lead's loader, under
// "gen.".
type Config struct {
	Seed int64 `mapstructure:"seed"`
	// Start is the event time of the first event and must be a whole minute, so
	// label times name bucket starts. Zero means "Duration before the minute New is
	// called": the run then ends at the present, so a live pipeline's timestamp
	// bounds accept every event however fast it is paced. Give Start for output
	// that is the same on every run.
	Start    time.Time     `mapstructure:"start"`
	Duration time.Duration `mapstructure:"duration"` // event time covered
	// Rate is the daily mean of background content events per second of event
	// time; the diurnal rhythm swings it by ±50%. Scenario posts come on top.
	Rate float64 `mapstructure:"rate"`
	// Speedup is event seconds per wall second for Run; 0 writes as fast as the
	// producer takes messages.
	Speedup    float64 `mapstructure:"speedup"`
	Vocabulary int     `mapstructure:"vocabulary"`  // distinct background hashtags
	Creators   int     `mapstructure:"creators"`    // distinct background creators
	ReportRate float64 `mapstructure:"report_rate"` // base reports per content event
	// Scenarios names the scenarios to inject; empty injects none.
	Scenarios []string `mapstructure:"scenarios"`
	// Warmup is event time before any scenario starts, the history baselines
	// learn from. Zero means Duration/4, at most 45m.
	Warmup time.Duration `mapstructure:"warmup"`
}

// DefaultConfig is three hours of a mid-sized platform with every scenario.
func DefaultConfig() Config {
	return Config{
		Seed:       1,
		Duration:   3 * time.Hour,
		Rate:       50,
		Vocabulary: 200_000,
		Creators:   100_000,
		ReportRate: 0.002,
		Scenarios:  AllScenarios(),
	}
}

// warmup resolves the zero default.
func (c Config) warmup() time.Duration {
	if c.Warmup != 0 {
		return c.Warmup
	}
	return min(maxWarmup, c.Duration/4)
}

// Validate reports the first setting that cannot work, naming its key.
func (c Config) Validate() error {
	switch {
	case !c.Start.IsZero() && !c.Start.Equal(c.Start.Truncate(time.Minute)):
		return fmt.Errorf("gen.start: %s is not a whole minute", c.Start.Format(time.RFC3339Nano))
	case c.Duration < time.Second:
		return fmt.Errorf("gen.duration: must be at least 1s, got %v", c.Duration)
	case !(c.Rate > 0 && c.Rate <= maxRate):
		return fmt.Errorf("gen.rate: must be in (0, %g] events per second, got %g", float64(maxRate), c.Rate)
	case !(c.Speedup >= 0) || c.Speedup > 1e9:
		return fmt.Errorf("gen.speedup: must be in [0, 1e9], got %g", c.Speedup)
	case c.Vocabulary < minVocabulary || c.Vocabulary > maxVocabulary:
		return fmt.Errorf("gen.vocabulary: must be in [%d, %d], got %d", minVocabulary, maxVocabulary, c.Vocabulary)
	case c.Creators < minCreators || c.Creators > maxCreators:
		return fmt.Errorf("gen.creators: must be in [%d, %d], got %d", minCreators, maxCreators, c.Creators)
	case !(c.ReportRate >= 0 && c.ReportRate <= 1):
		return fmt.Errorf("gen.report_rate: must be in [0, 1], got %g", c.ReportRate)
	case c.Warmup < 0 || c.warmup() >= c.Duration:
		return fmt.Errorf("gen.warmup: must be in [0, gen.duration %v), got %v", c.Duration, c.Warmup)
	}
	seen := make(map[string]bool, len(c.Scenarios))
	for _, s := range c.Scenarios {
		if !isScenario(s) {
			return fmt.Errorf("gen.scenarios: unknown scenario %q (want some of %v)", s, AllScenarios())
		}
		if seen[s] {
			return fmt.Errorf("gen.scenarios: %q given twice", s)
		}
		seen[s] = true
	}
	if len(c.Scenarios) > 0 {
		if left := c.Duration - c.warmup(); left < minScenarioSpan {
			return fmt.Errorf("gen.duration: %v leaves %v after gen.warmup %v; scenarios need at least %v",
				c.Duration, left, c.warmup(), minScenarioSpan)
		}
	}
	return nil
}

func isScenario(s string) bool {
	for _, n := range AllScenarios() {
		if n == s {
			return true
		}
	}
	return false
}
