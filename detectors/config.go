package detectors

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/event"
)

// Config is the detectors.* section of the configuration.
type Config struct {
	// FalsePages is how often the surge detector may page on a term that does
	// nothing unusual: expected false pages per 1,000 term-days. It sets
	// surge.min_z for the bucket width (see PageZ), so one-minute and
	// five-minute buckets page as often per day; a term's own tail then
	// calibrates its evidence to the count model's.
	FalsePages   float64            `mapstructure:"false_pages"`
	Baseline     BaselineConfig     `mapstructure:"baseline"`
	Surge        SurgeConfig        `mapstructure:"surge"`
	Novelty      NoveltyConfig      `mapstructure:"novelty"`
	Coordination CoordinationConfig `mapstructure:"coordination"`
	ReportRate   ReportRateConfig   `mapstructure:"report_rate"`
	Watchlist    WatchlistConfig    `mapstructure:"watchlist"`
	Lifecycle    LifecycleConfig    `mapstructure:"lifecycle"`
	Early        EarlyConfig        `mapstructure:"early"`
}

// BaselineConfig tunes the robust Holt baseline every count detector learns from a
// term's own history (see baseline.go). The defaults follow from the data, not
// from any labelled set: a level that forgets in ~10 buckets, a trend slow enough
// that a 5-minute ramp does not become the new normal, and a spread that needs ~40
// buckets to settle.
type BaselineConfig struct {
	Alpha float64 `mapstructure:"alpha"` // level smoothing, (0,1)
	Beta  float64 `mapstructure:"beta"`  // trend smoothing relative to the level's, [0,1)
	Gamma float64 `mapstructure:"gamma"` // dispersion smoothing, (0,1)
	// Clip is how far from the forecast, in spreads, a bucket is an outlier: part
	// of a surge, which teaches the baseline nothing, so a surge in the history
	// does not teach it that surges are normal.
	Clip float64 `mapstructure:"clip"`
	// MaxSurge is how many buckets a surge (two outliers within three buckets,
	// then every bucket on their side of the forecast) may last; a longer one
	// is the term's new level, which the baseline then takes.
	MaxSurge int `mapstructure:"max_surge"`
	// MinExpected floors the expected count of a bucket: a term at zero is not
	// infinitely surprised by one mention, and count-min estimates are never exact.
	MinExpected float64 `mapstructure:"min_expected"`
	// TailMemory is how many buckets a term's Tail (how spiky the term usually is,
	// see tail.go) remembers: its sums are exponentially weighted by 1-1/TailMemory.
	TailMemory int `mapstructure:"tail_memory"`
	// TailPrior is how many buckets' worth of the count model's own tail a term's
	// Tail is shrunk towards, so that a term with little history is judged by the
	// count model.
	TailPrior float64 `mapstructure:"tail_prior"`
}

// SurgeConfig: a tracked term's count far above what its own history predicts.
type SurgeConfig struct {
	Enabled    bool    `mapstructure:"enabled"`
	MinSupport float64 `mapstructure:"min_support"` // mentions in the bucket
	// MinZ is the significance to page at; 0 (the default) derives it from
	// detectors.false_pages and the bucket width.
	MinZ      float64 `mapstructure:"min_z"`
	MinGrowth float64 `mapstructure:"min_growth"` // observed / expected
	// Window is the short window, in buckets ending with the current one, tested
	// next to the current bucket alone; 1 tests the bucket only.
	Window int `mapstructure:"window"`
	// ShiftWindow is the level-shift window: the sum of this many buckets ending
	// with the current one, against the forecast made before them, catches a
	// change that holds but no single bucket of which stands out from the
	// term's usual spikes. It is made only with surge.min_history buckets of
	// history before it.
	ShiftWindow int `mapstructure:"shift_window"`
	// HoldWindow is the sustained test's span: the forecast errors of this
	// many buckets ending with the current one, each clipped at
	// baseline.clip spreads, summed. A trend holds where a burst and its
	// aftermath fade, so the sum tells them apart where a term's tail has
	// learnt that bursts fill a level-shift window (see testHold).
	HoldWindow int `mapstructure:"hold_window"`
	History    int `mapstructure:"history"`     // most buckets of history the baseline reads
	MinHistory int `mapstructure:"min_history"` // less history: no mention baseline is trusted, only novelty judges
	// MinCreators is the least unique creators of the bucket's mentions for a
	// surge: a term one or two accounts post is not a trend (a push is
	// coordination's to judge), and a flood of one-off hashtags, each posted
	// once, must not page because the sketch overcounts it. 0 creators
	// (unknown, as in a backtest of a count series) is not judged by it.
	MinCreators uint64 `mapstructure:"min_creators"`
}

// NoveltyConfig: a term with no meaningful history that crosses a minimum count
// and keeps growing.
type NoveltyConfig struct {
	Enabled  bool    `mapstructure:"enabled"`
	MinCount float64 `mapstructure:"min_count"` // mentions in the bucket
	// MaxPrior is the largest typical count per bucket (median of the history before
	// the growth) for a term to count as new.
	MaxPrior      float64 `mapstructure:"max_prior"`
	GrowthBuckets int     `mapstructure:"growth_buckets"` // consecutive rises ending with this bucket
	MinZ          float64 `mapstructure:"min_z"`
	// MinHistory is the least history, in buckets, to call a term new. History is
	// as long as the pipeline has counted (count-min rings cover terms before they
	// are tracked), so a short history means the process has just started and
	// every term would look new.
	MinHistory int `mapstructure:"min_history"`
	// MinCreators: as surge.min_creators.
	MinCreators uint64 `mapstructure:"min_creators"`
}

// CoordinationConfig: a surge carried by few accounts, and its opposite, a surge
// spreading across regions.
type CoordinationConfig struct {
	Enabled     bool    `mapstructure:"enabled"`
	MinMentions float64 `mapstructure:"min_mentions"`
	MinZ        float64 `mapstructure:"min_z"`      // the mentions must surge at least this much
	MinGrowth   float64 `mapstructure:"min_growth"` // and grow at least this much
	// MinRatio is the least mentions per unique creator that can be a push at all;
	// NormFactor is how far above the platform's and the term's own norm it must be.
	MinRatio   float64         `mapstructure:"min_ratio"`
	NormFactor float64         `mapstructure:"norm_factor"`
	Spreading  SpreadingConfig `mapstructure:"spreading"`
}

// SpreadingConfig: a surge carried by many creators in many regions.
type SpreadingConfig struct {
	Enabled        bool    `mapstructure:"enabled"`
	MinRegions     int     `mapstructure:"min_regions"`
	MinRegionShare float64 `mapstructure:"min_region_share"` // of the bucket's mentions, for a region to count
	MinCreators    uint64  `mapstructure:"min_creators"`
}

// ReportRateConfig: reports on a term's content against its own report baseline
// and against what its mention volume predicts.
type ReportRateConfig struct {
	Enabled    bool    `mapstructure:"enabled"`
	MinReports float64 `mapstructure:"min_reports"` // reports in the bucket
	// MinReporters is the least unique reporters of the bucket's reports for
	// a wave: six reports by one account are one account's opinion, not a
	// wave (they paged, 27× the expected rate). 0 reporters (unknown, as in
	// a backtest of a count series) is not judged by it; a report from a
	// high-trust channel pages whoever sent it.
	MinReporters uint64  `mapstructure:"min_reporters"`
	MinZ         float64 `mapstructure:"min_z"`
	MinGrowth    float64 `mapstructure:"min_growth"` // reports / expected reports
	Window       int     `mapstructure:"window"`
	// PriorMentions is how many mentions' worth of the platform's report rate a
	// term's own rate is shrunk towards, so a term with little history is judged
	// by the platform's rate.
	PriorMentions float64 `mapstructure:"prior_mentions"`
	// PriorRate is the reports per mention assumed when the platform's rate is
	// not known.
	PriorRate   float64 `mapstructure:"prior_rate"`
	MinExpected float64 `mapstructure:"min_expected"` // floor of expected reports per bucket
	// HighTrustChannels are the report channels (event.Channel names) whose
	// every report pages, whatever the volume: a regulator or the police rarely
	// write twice before they expect an answer. Empty disables it.
	HighTrustChannels []string `mapstructure:"high_trust_channels"`
}

// WatchlistConfig: terms an incident team already fears. Watched terms are
// tracked always, judged at lower thresholds, and alert at a higher severity.
type WatchlistConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// Terms are entries with the default Risk and Category: "hashtag:blackoutchallenge"
	// (one term), "blackoutchallenge" (any kind), "*challenge*" (a glob; '*' matches
	// any run of characters). Values are normalised as hashtags before matching, so
	// "#BlackoutChallenge", fullwidth forms and Devanagari spellings match.
	Terms   []string     `mapstructure:"terms"`
	Entries []WatchEntry `mapstructure:"entries"` // entries with their own risk or category
	// Risk is the least severity of any alert on a watched term: info, low,
	// medium, high or critical.
	Risk     string `mapstructure:"risk"`
	Category string `mapstructure:"category"`

	MinSupport float64 `mapstructure:"min_support"`
	MinZ       float64 `mapstructure:"min_z"`
	MinGrowth  float64 `mapstructure:"min_growth"`
	MinReports float64 `mapstructure:"min_reports"`
	// MinReporters: as report_rate.min_reporters, for a watched term's reports.
	MinReporters uint64 `mapstructure:"min_reporters"`
}

// WatchEntry is one watchlist entry with its own risk and category; empty fields
// take the watchlist's defaults.
type WatchEntry struct {
	Term     string `mapstructure:"term"`
	Risk     string `mapstructure:"risk"`
	Category string `mapstructure:"category"`
}

// LifecycleConfig: how findings become alerts that open, escalate and resolve.
type LifecycleConfig struct {
	// QuietBuckets without a finding resolve an alert. A term that flaps on and
	// off more often than this stays one open alert.
	QuietBuckets int `mapstructure:"quiet_buckets"`
	// CooldownBuckets after resolving, a new finding of the same key does not
	// page again unless it is more severe than the alert that resolved.
	CooldownBuckets int `mapstructure:"cooldown_buckets"`
	// EscalateSteps is how many severity steps above the alert's current severity
	// a finding must be to escalate it, and EscalateMinSeverity the least severity
	// worth paging again for: a rise from low to medium is not news at 3 a.m.
	// Severity never steps down while open.
	EscalateSteps       int    `mapstructure:"escalate_steps"`
	EscalateMinSeverity string `mapstructure:"escalate_min_severity"`
	MaxSamples          int    `mapstructure:"max_samples"` // sample content IDs kept on an alert
	MaxRegions          int    `mapstructure:"max_regions"` // top regions kept on an alert
}

// DefaultConfig returns thresholds chosen for a false-positive rate far below one
// per 100,000 term-buckets on over-dispersed background (TestFalsePositives
// measures it) while real surges alert within one or two buckets.
func DefaultConfig() Config {
	return Config{
		FalsePages: 2,
		Baseline:   BaselineConfig{Alpha: 0.1, Beta: 0.1, Gamma: 0.05, Clip: 3, MaxSurge: 60, MinExpected: 1, TailMemory: 1440, TailPrior: 360},
		Surge: SurgeConfig{
			Enabled: true, MinSupport: 10, MinGrowth: 2,
			Window: 3, ShiftWindow: 10, HoldWindow: 30, History: 120, MinHistory: 10, MinCreators: 3,
		},
		Novelty: NoveltyConfig{Enabled: true, MinCount: 15, MaxPrior: 2, GrowthBuckets: 2, MinZ: 5, MinHistory: 5, MinCreators: 3},
		Coordination: CoordinationConfig{
			Enabled: true, MinMentions: 30, MinZ: 4, MinGrowth: 2, MinRatio: 3, NormFactor: 3,
			Spreading: SpreadingConfig{Enabled: true, MinRegions: 5, MinRegionShare: 0.05, MinCreators: 30},
		},
		ReportRate: ReportRateConfig{
			Enabled: true, MinReports: 3, MinReporters: 3, MinZ: 5, MinGrowth: 3, Window: 3,
			PriorMentions: 500, PriorRate: 0.002, MinExpected: 0.05,
			HighTrustChannels: []string{"regulator", "law_enforcement", "partner"},
		},
		Watchlist: WatchlistConfig{
			Enabled: true, Risk: "high", Category: "watchlist",
			MinSupport: 5, MinZ: 4, MinGrowth: 1.5, MinReports: 2, MinReporters: 2,
		},
		Lifecycle: LifecycleConfig{QuietBuckets: 15, CooldownBuckets: 60, EscalateSteps: 1, EscalateMinSeverity: "high",
			MaxSamples: 5, MaxRegions: 3},
		Early: EarlyConfig{Enabled: true, Interval: 10 * time.Second, WatchInterval: 2 * time.Second, FalsePages: 0.01, WatchFalsePages: 10, Retract: 0.001},
	}
}

// Validate reports every setting that cannot work, each naming its key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("detectors.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	pos := func(key string, v float64) {
		if !(v > 0) || math.IsInf(v, 0) {
			bad(key, "must be > 0, got %v", v)
		}
	}
	frac := func(key string, v float64, zeroOK bool) {
		if !(v > 0 && v < 1) && !(zeroOK && v == 0) {
			bad(key, "must be in (0,1), got %v", v)
		}
	}
	growth := func(key string, v float64) {
		if !(v > 1) || math.IsInf(v, 0) {
			bad(key, "must be > 1, got %v", v)
		}
	}
	atLeast := func(key string, v, min int) {
		if v < min {
			bad(key, "must be >= %d, got %d", min, v)
		}
	}

	b := c.Baseline
	frac("baseline.alpha", b.Alpha, false)
	frac("baseline.beta", b.Beta, true)
	frac("baseline.gamma", b.Gamma, false)
	pos("baseline.clip", b.Clip)
	atLeast("baseline.max_surge", b.MaxSurge, 1)
	pos("baseline.min_expected", b.MinExpected)
	atLeast("baseline.tail_memory", b.TailMemory, 2)
	pos("baseline.tail_prior", b.TailPrior)

	if !(c.FalsePages > 0 && c.FalsePages <= 1000) {
		bad("false_pages", "must be in (0, 1000] pages per 1,000 term-days, got %v", c.FalsePages)
	}
	s := c.Surge
	pos("surge.min_support", s.MinSupport)
	if !(s.MinZ >= 0) || math.IsInf(s.MinZ, 0) {
		bad("surge.min_z", "must be >= 0 (0: from detectors.false_pages), got %v", s.MinZ)
	}
	growth("surge.min_growth", s.MinGrowth)
	atLeast("surge.window", s.Window, 1)
	atLeast("surge.history", s.History, 2)
	atLeast("surge.min_history", s.MinHistory, 2)
	if s.MinHistory > s.History {
		bad("surge.min_history", "must be <= surge.history (%d), got %d", s.History, s.MinHistory)
	}
	if s.Window > s.MinHistory {
		bad("surge.window", "must be <= surge.min_history (%d), got %d", s.MinHistory, s.Window)
	}
	if s.ShiftWindow < s.Window {
		bad("surge.shift_window", "must be >= surge.window (%d), got %d", s.Window, s.ShiftWindow)
	}
	if s.ShiftWindow > s.History-s.MinHistory {
		bad("surge.shift_window", "must be <= surge.history - surge.min_history (%d), got %d", s.History-s.MinHistory, s.ShiftWindow)
	}
	atLeast("surge.hold_window", s.HoldWindow, 2)
	if s.HoldWindow > s.History {
		bad("surge.hold_window", "must be <= surge.history (%d), got %d", s.History, s.HoldWindow)
	}

	n := c.Novelty
	pos("novelty.min_count", n.MinCount)
	if !(n.MaxPrior >= 0) {
		bad("novelty.max_prior", "must be >= 0, got %v", n.MaxPrior)
	}
	atLeast("novelty.growth_buckets", n.GrowthBuckets, 1)
	pos("novelty.min_z", n.MinZ)
	if n.MinHistory <= n.GrowthBuckets {
		bad("novelty.min_history", "must be > novelty.growth_buckets (%d), got %d", n.GrowthBuckets, n.MinHistory)
	}

	co := c.Coordination
	pos("coordination.min_mentions", co.MinMentions)
	pos("coordination.min_z", co.MinZ)
	growth("coordination.min_growth", co.MinGrowth)
	growth("coordination.min_ratio", co.MinRatio)
	growth("coordination.norm_factor", co.NormFactor)
	atLeast("coordination.spreading.min_regions", co.Spreading.MinRegions, 2)
	frac("coordination.spreading.min_region_share", co.Spreading.MinRegionShare, true)
	if co.Spreading.MinCreators < 1 {
		bad("coordination.spreading.min_creators", "must be >= 1, got %d", co.Spreading.MinCreators)
	}

	r := c.ReportRate
	pos("report_rate.min_reports", r.MinReports)
	for _, ch := range r.HighTrustChannels {
		switch c, ok := event.ParseChannel(ch); {
		case !ok || ch == "":
			bad("report_rate.high_trust_channels", "%q is not a report channel (%s)", ch, strings.Join(event.Channels(), ", "))
		case c == event.ChannelUser:
			// Every report would page.
			bad("report_rate.high_trust_channels", "must not hold %q", ch)
		}
	}
	pos("report_rate.min_z", r.MinZ)
	growth("report_rate.min_growth", r.MinGrowth)
	atLeast("report_rate.window", r.Window, 1)
	if r.Window > s.History {
		bad("report_rate.window", "must be <= surge.history (%d), got %d", s.History, r.Window)
	}
	pos("report_rate.prior_mentions", r.PriorMentions)
	frac("report_rate.prior_rate", r.PriorRate, false)
	pos("report_rate.min_expected", r.MinExpected)

	w := c.Watchlist
	if _, err := alert.ParseSeverity(w.Risk); err != nil {
		bad("watchlist.risk", "%v", err)
	}
	// A category is an explanation's category=… and Alertmanager's label:
	// a space cut it there ("dangerous challenge" routed as "dangerous").
	category := func(key, v string) {
		if strings.ContainsFunc(v, unicode.IsSpace) {
			bad(key, "%q holds a space; write it with _ (an explanation's value ends at a space)", v)
		}
	}
	if strings.TrimSpace(w.Category) == "" {
		bad("watchlist.category", "must not be empty")
	}
	category("watchlist.category", w.Category)
	for i, t := range w.Terms {
		if _, err := parsePattern(t); err != nil {
			bad(fmt.Sprintf("watchlist.terms[%d]", i), "%v", err)
		}
	}
	for i, e := range w.Entries {
		if _, err := parsePattern(e.Term); err != nil {
			bad(fmt.Sprintf("watchlist.entries[%d].term", i), "%v", err)
		}
		if e.Risk != "" {
			if _, err := alert.ParseSeverity(e.Risk); err != nil {
				bad(fmt.Sprintf("watchlist.entries[%d].risk", i), "%v", err)
			}
		}
		category(fmt.Sprintf("watchlist.entries[%d].category", i), e.Category)
	}
	pos("watchlist.min_support", w.MinSupport)
	pos("watchlist.min_z", w.MinZ)
	growth("watchlist.min_growth", w.MinGrowth)
	pos("watchlist.min_reports", w.MinReports)

	l := c.Lifecycle
	atLeast("lifecycle.quiet_buckets", l.QuietBuckets, 1)
	atLeast("lifecycle.cooldown_buckets", l.CooldownBuckets, 0)
	atLeast("lifecycle.escalate_steps", l.EscalateSteps, 1)
	if _, err := alert.ParseSeverity(l.EscalateMinSeverity); err != nil {
		bad("lifecycle.escalate_min_severity", "%v", err)
	}
	atLeast("lifecycle.max_samples", l.MaxSamples, 0)
	atLeast("lifecycle.max_regions", l.MaxRegions, 0)

	if ea := c.Early; ea.Enabled {
		if ea.Interval < time.Second {
			bad("early.interval", "must be at least 1s, got %v", ea.Interval)
		}
		if ea.WatchInterval < time.Second {
			bad("early.watch_interval", "must be at least 1s, got %v", ea.WatchInterval)
		}
		if !(ea.FalsePages > 0 && ea.FalsePages <= c.FalsePages) {
			bad("early.false_pages", "must be in (0, detectors.false_pages = %v]: early evidence is held to a stricter bar, got %v", c.FalsePages, ea.FalsePages)
		}
		if !(ea.WatchFalsePages > 0 && ea.WatchFalsePages <= 1000) {
			bad("early.watch_false_pages", "must be in (0, 1000], got %v", ea.WatchFalsePages)
		}
		frac("early.retract", ea.Retract, false)
	}

	return errors.Join(errs...)
}

// PageZ is the significance at which a term that follows the count model
// pages falsePages times per 1,000 term-days with buckets of width w: each of
// the surge's mentionTests tests of each bucket may pass it with probability
// q = falsePages/1000 × w/24h / mentionTests, and PageZ is the standard
// normal's (1-q) quantile, the count model's reference tail (see tail.go). One
// false page per 1,000 term-days is 5.10 for one-minute buckets and 4.78 for
// five-minute ones (the four tests).
func PageZ(falsePages float64, w time.Duration) float64 {
	if w <= 0 {
		w = time.Minute
	}
	q := falsePages / 1000 * w.Hours() / 24 / mentionTests
	return math.Sqrt2 * math.Erfcinv(2*q)
}
