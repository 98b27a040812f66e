package detectors

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/alert"
)

func TestWatchMatch(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Watchlist.Risk = "medium"
	cfg.Watchlist.Terms = []string{
		"hashtag:blackoutchallenge",
		"＃ＳｋｕｌｌＢｒｅａｋｅｒ",          // fullwidth, any kind
		"चुनौती",                 // Devanagari, any kind
		"hashtag:#मर\u200dनेखेल", // zero-width joiner inside
		"*tidepod*",
		"sound:Snd-42",
	}
	cfg.Watchlist.Entries = []WatchEntry{
		{Term: "hashtag:blackout*", Risk: "critical", Category: "dangerous_challenge"},
		{Term: "challenge:*skull*", Risk: "low"},
	}
	s := mustSet(t, cfg)
	// named: an entry names the term, which is tracked on first sight; a
	// glob's match is tracked at the tracking bar (WatchMatch.Named).
	cases := []struct {
		term     string
		pattern  string // "" for no match
		risk     alert.Severity
		category string
		named    bool
	}{
		{"hashtag:blackoutchallenge", "hashtag:blackout*", alert.SeverityCritical, "dangerous_challenge", true}, // the riskier entry wins; the term is named all the same
		{"hashtag:blackout2", "hashtag:blackout*", alert.SeverityCritical, "dangerous_challenge", false},
		{"sound:blackoutchallenge", "", 0, "", false},
		{"hashtag:skullbreaker", "＃ＳｋｕｌｌＢｒｅａｋｅｒ", alert.SeverityMedium, "watchlist", true},
		{"sound:SkullBreaker", "＃ＳｋｕｌｌＢｒｅａｋｅｒ", alert.SeverityMedium, "watchlist", true},
		{"challenge:skullbreaker", "＃ＳｋｕｌｌＢｒｅａｋｅｒ", alert.SeverityMedium, "watchlist", true},
		{"challenge:skullbreaker2", "challenge:*skull*", alert.SeverityLow, "watchlist", false},
		{"hashtag:skullbreaker2", "", 0, "", false},
		{"hashtag:चुनौती", "चुनौती", alert.SeverityMedium, "watchlist", true},
		{"hashtag:मरनेखेल", "hashtag:#मर\u200dनेखेल", alert.SeverityMedium, "watchlist", true},
		{"hashtag:eat_tidepod_now", "*tidepod*", alert.SeverityMedium, "watchlist", false},
		{"hashtag:tidepod", "*tidepod*", alert.SeverityMedium, "watchlist", false},
		{"hashtag:tidepo", "", 0, "", false},
		{"sound:Snd-42", "sound:Snd-42", alert.SeverityMedium, "watchlist", true},
		{"sound:snd-42", "", 0, "", false}, // IDs are opaque
		{"hashtag:fyp", "", 0, "", false},
		{"nokind", "", 0, "", false},
	}
	for _, tc := range cases {
		m := s.Watch(tc.term)
		if tc.pattern == "" {
			if m != nil {
				t.Errorf("Watch(%q) = %+v, want no match", tc.term, *m)
			}
			continue
		}
		if m == nil {
			t.Errorf("Watch(%q) = nil, want %q", tc.term, tc.pattern)
			continue
		}
		if m.Pattern != tc.pattern || m.Risk != tc.risk || m.Category != tc.category || m.Named() != tc.named {
			t.Errorf("Watch(%q) = %+v, want pattern %q risk %v category %q named %v", tc.term, *m, tc.pattern, tc.risk, tc.category, tc.named)
		}
	}

	want := []string{
		"challenge:skullbreaker", "challenge:चुनौती",
		"hashtag:blackoutchallenge", "hashtag:skullbreaker", "hashtag:चुनौती", "hashtag:मरनेखेल",
		"sound:Snd-42", "sound:skullbreaker", "sound:चुनौती",
	}
	if got := s.WatchTerms(); !slices.Equal(got, want) {
		t.Errorf("WatchTerms() = %q, want %q", got, want)
	}
}

func TestWatchlistThresholds(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Watchlist.Terms = []string{"hashtag:blackoutchallenge"}
	s := mustSet(t, cfg)
	// Two a minute for two hours, then 6, 8, 9: the window test sees 3.8 times
	// the expected count, but 9 is below the surge's support.
	o := &Observation{
		Term: "hashtag:blackoutchallenge", Mentions: 9, UniqueCreators: 9,
		MentionHistory: append(slices.Repeat([]float64{2}, unitHistory-2), 6, 8),
		DayAgo:         math.NaN(),
	}
	if fs := s.Evaluate(o); len(fs) != 0 {
		t.Fatalf("unwatched: findings %+v, want none", fs)
	}
	o.Watch = s.Watch(o.Term)
	fs := s.Evaluate(o)
	if len(fs) != 1 || fs[0].Detector != NameWatchlist || fs[0].Severity < alert.SeverityHigh {
		t.Fatalf("watched: findings %+v, want one watchlist finding of severity high or more", fs)
	}
	if !strings.HasPrefix(fs[0].Summary, "WATCHLIST hashtag:blackoutchallenge 9") {
		t.Errorf("summary %q", fs[0].Summary)
	}

	// Reports: two where none are expected, on a watched term.
	o.Mentions, o.MentionHistory = 2, slices.Repeat([]float64{2}, unitHistory)
	o.ReportHistory = make([]float64, unitHistory)
	o.Reports, o.UniqueReporters = 2, 2
	o.ReportHistory[unitHistory-1] = 2
	fs = s.Evaluate(o)
	if len(fs) != 1 || fs[0].Detector != NameWatchlist || !strings.HasPrefix(fs[0].Summary, "WATCHLIST hashtag:blackoutchallenge 2 reports") {
		t.Fatalf("watched reports: findings %+v, want one watchlist finding on reports", fs)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	cases := []struct {
		key    string
		mutate func(c *Config)
	}{
		{"detectors.baseline.alpha", func(c *Config) { c.Baseline.Alpha = 1 }},
		{"detectors.baseline.beta", func(c *Config) { c.Baseline.Beta = -0.1 }},
		{"detectors.baseline.min_expected", func(c *Config) { c.Baseline.MinExpected = 0 }},
		{"detectors.baseline.tail_memory", func(c *Config) { c.Baseline.TailMemory = 1 }},
		{"detectors.baseline.tail_prior", func(c *Config) { c.Baseline.TailPrior = 0 }},
		{"detectors.surge.shift_window", func(c *Config) { c.Surge.ShiftWindow = 2 }},
		{"detectors.surge.shift_window", func(c *Config) { c.Surge.ShiftWindow = 111 }},
		{"detectors.surge.min_support", func(c *Config) { c.Surge.MinSupport = 0 }},
		{"detectors.surge.min_z", func(c *Config) { c.Surge.MinZ = math.NaN() }},
		{"detectors.surge.min_growth", func(c *Config) { c.Surge.MinGrowth = 1 }},
		{"detectors.surge.window", func(c *Config) { c.Surge.Window = 0 }},
		{"detectors.surge.min_history", func(c *Config) { c.Surge.MinHistory = 500 }},
		{"detectors.novelty.min_history", func(c *Config) { c.Novelty.MinHistory = 2 }},
		{"detectors.novelty.max_prior", func(c *Config) { c.Novelty.MaxPrior = -1 }},
		{"detectors.coordination.min_ratio", func(c *Config) { c.Coordination.MinRatio = 0.5 }},
		{"detectors.coordination.spreading.min_regions", func(c *Config) { c.Coordination.Spreading.MinRegions = 1 }},
		{"detectors.report_rate.prior_rate", func(c *Config) { c.ReportRate.PriorRate = 2 }},
		{"detectors.report_rate.window", func(c *Config) { c.ReportRate.Window = 0 }},
		{"detectors.watchlist.risk", func(c *Config) { c.Watchlist.Risk = "urgent" }},
		{"detectors.watchlist.terms[1]", func(c *Config) { c.Watchlist.Terms = []string{"ok", "place:x"} }},
		{"detectors.watchlist.terms[0]", func(c *Config) { c.Watchlist.Terms = []string{"*"} }},
		{"detectors.watchlist.terms[0]", func(c *Config) { c.Watchlist.Terms = []string{"hashtag:a-b"} }},
		{"detectors.watchlist.entries[0].risk", func(c *Config) {
			c.Watchlist.Entries = []WatchEntry{{Term: "x", Risk: "severe"}}
		}},
		// A category is an explanation's value and an Alertmanager label.
		{"detectors.watchlist.category", func(c *Config) { c.Watchlist.Category = "dangerous challenge" }},
		{"detectors.watchlist.entries[0].category", func(c *Config) {
			c.Watchlist.Entries = []WatchEntry{{Term: "x", Category: "dangerous challenge"}}
		}},
		{"detectors.lifecycle.quiet_buckets", func(c *Config) { c.Lifecycle.QuietBuckets = 0 }},
		{"detectors.lifecycle.escalate_steps", func(c *Config) { c.Lifecycle.EscalateSteps = 0 }},
		{"detectors.lifecycle.escalate_min_severity", func(c *Config) { c.Lifecycle.EscalateMinSeverity = "" }},
	}
	for _, tc := range cases {
		c := DefaultConfig()
		tc.mutate(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.key+":") {
			t.Errorf("%s: Validate() = %v, want an error naming it", tc.key, err)
		}
		if _, err := NewSet(c); err == nil {
			t.Errorf("%s: NewSet accepted an invalid config", tc.key)
		}
	}
}

// TestWatchedBaselineHasNoTrend: on a ramp, an unwatched term's forecast
// follows the ramp, a watched one's stays at the level the term has
// reached: the team fears the term's growth, so its baseline does not
// get used to it.
func TestWatchedBaselineHasNoTrend(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Watchlist.Terms = []string{"hashtag:blackoutchallenge"}
	s, err := NewSet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var h []float64
	for range 60 {
		h = append(h, 10)
	}
	for i := range 8 {
		h = append(h, 10+2*float64(i+1)) // up 2 a bucket, each step under the clip
	}
	forecast := func(term string) float64 {
		o := &Observation{Term: term, Watch: s.Watch(term), MentionHistory: h, Mentions: 28, DayAgo: math.NaN()}
		mp := s.mentionParams(o)
		b, _ := mp.tests(h, o.Mentions, o.DayAgo, true)
		return b.next
	}
	plain, watched := forecast("hashtag:fyp"), forecast("hashtag:blackoutchallenge")
	t.Logf("after a ramp from 10 to 26: forecast %.1f unwatched, %.1f watched", plain, watched)
	if !(watched < plain-1) {
		t.Errorf("watched forecast %.1f, unwatched %.1f: want the watched one below, without the ramp's trend", watched, plain)
	}
}

// TestWatchedSpikyTermWaits: a watched term's lone jump pages at once, unless
// the term has jumped as hard before and come straight back, within its
// history or its tail's memory of lone spikes; then it waits for a second
// outlying bucket, as every other term's does.
func TestWatchedSpikyTermWaits(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Watchlist.Terms = []string{"hashtag:blackoutchallenge"}
	s, err := NewSet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const term = "hashtag:blackoutchallenge"
	w := s.Watch(term)
	calm := make([]float64, 100)
	for i := range calm {
		calm[i] = 20 + float64(i%3) // 20, 21, 22: no outlier
	}
	spiky := slices.Clone(calm)
	spiky[40] = 120 // a lone spike, straight back to 20 after it
	watchlistPages := func(name string, h []float64, tl Tail) bool {
		t.Helper()
		o := &Observation{Term: term, Watch: w, Width: time.Minute, MentionHistory: h, Mentions: 110,
			UniqueCreators: 110, DayAgo: math.NaN(), Tail: tl}
		for _, f := range s.Evaluate(o) {
			if f.Detector == NameWatchlist {
				return true
			}
		}
		return false
	}
	// The tail of a calm term learnt bucket by bucket, with and without a
	// lone spike long enough ago that the history no longer holds it.
	learn := func(spikeAt int) Tail {
		var tl Tail
		h := make([]float64, 0, 600)
		for i := range 600 {
			x := 20 + float64(i%3)
			if i == spikeAt {
				x = 120
			}
			o := &Observation{Term: term, Watch: w, Width: time.Minute, Mentions: x,
				MentionHistory: tail(h, cfg.Surge.History), DayAgo: math.NaN(), Tail: tl}
			tl = s.Learn(o)
			h = append(h, x)
		}
		return tl
	}
	for _, c := range []struct {
		name  string
		h     []float64
		tl    Tail
		pages bool
	}{
		{"calm term, no tail", calm, Tail{}, true},
		{"spiked within its history", spiky, Tail{}, false},
		{"calm tail", calm, learn(-1), true},
		{"spiked 400 buckets ago, remembered by its tail", calm, learn(200), false},
	} {
		if got := watchlistPages(c.name, c.h, c.tl); got != c.pages {
			t.Errorf("%s: watchlist pages a lone jump to 110 = %v, want %v", c.name, got, c.pages)
		}
	}
	// The same term's jump that holds a second bucket pages, spiky or not.
	h := append(slices.Clone(spiky), 110)
	o := &Observation{Term: term, Watch: w, Width: time.Minute, MentionHistory: h, Mentions: 110,
		UniqueCreators: 110, DayAgo: math.NaN()}
	if fs := s.Evaluate(o); len(fs) == 0 {
		t.Error("spiky watched term: a jump that holds a second bucket did not page")
	}
}

// TestWatchlistJoinsOpenIncident: a watched spelling's rise short of the
// watchlist's bar is a finding when another spelling of its challenge is
// alerting (Observation.IncidentOpen), judged at the tail's threshold, and
// the explanation says why; reports keep the watchlist's bar.
func TestWatchlistJoinsOpenIncident(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Watchlist.Terms = []string{"hashtag:blackoutchallenge"}
	s := mustSet(t, cfg)
	// Two to four a minute, then 9: significance 2.6, between the tail's
	// threshold and the watchlist's bar of 4.
	hist := make([]float64, unitHistory)
	for i := range hist {
		hist[i] = float64(2 + i%3)
	}
	tests := []struct {
		name       string
		mentions   float64
		reports    float64
		incident   bool
		wantDetect bool
	}{
		{"rise alone", 9, 0, false, false},
		{"rise while the incident is open", 9, 0, true, true},
		{"a smaller rise while the incident is open", 7, 0, true, false},
		{"no rise while the incident is open", 3, 0, true, false},
		{"below the watchlist's support", 4, 0, true, false},
		{"one report while the incident is open", 3, 1, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := &Observation{
				Term: "hashtag:ब्लैकआउटचैलेंज", Mentions: tc.mentions, UniqueCreators: uint64(tc.mentions),
				MentionHistory: hist, DayAgo: math.NaN(),
				Reports: tc.reports, UniqueReporters: uint64(tc.reports), ReportHistory: make([]float64, unitHistory),
				Watch: s.Watch("hashtag:blackoutchallenge"), IncidentOpen: tc.incident,
			}
			var got *Finding
			fs := s.Evaluate(o)
			for i := range fs {
				if fs[i].Detector == NameWatchlist {
					got = &fs[i]
				}
			}
			if (got != nil) != tc.wantDetect {
				t.Fatalf("watchlist finding %+v, want one: %v", got, tc.wantDetect)
			}
			if got != nil && !strings.Contains(got.Explanation, "incident_open=1") {
				t.Errorf("explanation does not say the incident was open: %s", got.Explanation)
			}
		})
	}
}
