package gen

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/event"
)

// testStart puts the daily peak (15:15 UTC) inside a 3h run, after the warmup.
var testStart = time.Date(2025, 3, 14, 13, 0, 0, 0, time.UTC)

func testConfig(seed int64, d time.Duration, rate float64) Config {
	cfg := DefaultConfig()
	cfg.Seed = seed
	cfg.Start = testStart
	cfg.Duration = d
	cfg.Rate = rate
	return cfg
}

func mustNew(t testing.TB, cfg Config) *Generator {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return g
}

type ownedMessage struct {
	topic      Topic
	key, value []byte
	ts         time.Time
}

func drain(g *Generator) []ownedMessage {
	var out []ownedMessage
	for {
		m, ok := g.Next()
		if !ok {
			return out
		}
		out = append(out, ownedMessage{m.Topic, bytes.Clone(m.Key), bytes.Clone(m.Value), m.TS})
	}
}

func TestDeterminism(t *testing.T) {
	cfg := testConfig(7, 20*time.Minute, 20)
	a, b := drain(mustNew(t, cfg)), drain(mustNew(t, cfg))
	if len(a) == 0 {
		t.Fatal("no messages")
	}
	if len(a) != len(b) {
		t.Fatalf("same seed: %d messages, then %d", len(a), len(b))
	}
	for i := range a {
		if a[i].topic != b[i].topic || !a[i].ts.Equal(b[i].ts) || !bytes.Equal(a[i].key, b[i].key) || !bytes.Equal(a[i].value, b[i].value) {
			t.Fatalf("same seed: message %d differs:\n%s\n%s", i, a[i].value, b[i].value)
		}
	}
	cfg.Seed = 8
	c := drain(mustNew(t, cfg))
	same := 0
	for i := range min(len(a), len(c)) {
		if bytes.Equal(a[i].value, c[i].value) {
			same++
		}
	}
	if same > 0 || len(a) == len(c) {
		t.Errorf("seeds 7 and 8: %d identical messages, lengths %d and %d", same, len(a), len(c))
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		key  string // "" when valid
	}{
		{"default", func(*Config) {}, ""},
		{"zero start", func(c *Config) { c.Start = time.Time{} }, ""},
		{"no scenarios, short", func(c *Config) { c.Scenarios = nil; c.Duration = time.Minute }, ""},
		{"start not a minute", func(c *Config) { c.Start = testStart.Add(time.Second) }, "gen.start"},
		{"zero duration", func(c *Config) { c.Duration = 0 }, "gen.duration"},
		{"too short for scenarios", func(c *Config) { c.Duration = 19 * time.Minute }, "gen.duration"},
		{"zero rate", func(c *Config) { c.Rate = 0 }, "gen.rate"},
		{"NaN rate", func(c *Config) { c.Rate = math.NaN() }, "gen.rate"},
		{"negative speedup", func(c *Config) { c.Speedup = -1 }, "gen.speedup"},
		{"small vocabulary", func(c *Config) { c.Vocabulary = 10 }, "gen.vocabulary"},
		{"few creators", func(c *Config) { c.Creators = 10 }, "gen.creators"},
		{"report rate above 1", func(c *Config) { c.ReportRate = 2 }, "gen.report_rate"},
		{"unknown scenario", func(c *Config) { c.Scenarios = []string{"flash_mob"} }, "gen.scenarios"},
		{"scenario twice", func(c *Config) { c.Scenarios = []string{SlowTrend, SlowTrend} }, "gen.scenarios"},
		{"negative warmup", func(c *Config) { c.Warmup = -time.Minute }, "gen.warmup"},
		{"warmup covers all", func(c *Config) { c.Warmup = c.Duration }, "gen.warmup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(1, 3*time.Hour, 50)
			tt.edit(&cfg)
			err := cfg.Validate()
			switch {
			case tt.key == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tt.key != "" && err == nil:
				t.Fatalf("want an error naming %s, got none", tt.key)
			case tt.key != "" && !strings.HasPrefix(err.Error(), tt.key+":"):
				t.Fatalf("want an error naming %s, got %v", tt.key, err)
			}
			if _, err := New(cfg); (err == nil) != (tt.key == "") {
				t.Fatalf("New: %v", err)
			}
		})
	}
}

func TestZeroStartEndsNow(t *testing.T) {
	cfg := testConfig(1, time.Hour, 5)
	cfg.Start = time.Time{}
	before := time.Now()
	g := mustNew(t, cfg)
	end := g.Start().Add(cfg.Duration)
	if end.After(before.Add(time.Minute)) || end.Before(before.Add(-2*time.Minute)) {
		t.Errorf("zero Start: run ends %s, want about now (%s)", end, before)
	}
	if !g.Start().Equal(g.Start().Truncate(time.Minute)) {
		t.Errorf("zero Start resolved to %s, not a whole minute", g.Start())
	}
}

// TestLabelsLayout checks where scenarios land for runs of several lengths.
func TestLabelsLayout(t *testing.T) {
	tests := []struct {
		d         time.Duration
		scenarios []string
		sequence  bool // timed scenarios must not overlap
	}{
		{20 * time.Minute, AllScenarios(), false},
		{time.Hour, AllScenarios(), false},
		{3 * time.Hour, AllScenarios(), true},
		{3 * time.Hour, []string{ReportWave, OrganicSurge}, true},
		{24 * time.Hour, AllScenarios(), true},
		{3 * time.Hour, nil, true},
	}
	for _, tt := range tests {
		cfg := testConfig(3, tt.d, 50)
		cfg.Scenarios = tt.scenarios
		g := mustNew(t, cfg)
		ls := g.Labels()
		w0 := ceilMinute(cfg.Start.Add(cfg.warmup()))
		end := cfg.Start.Add(cfg.Duration)
		want := 0
		for _, s := range tt.scenarios {
			want += labelsPer(s)
		}
		if len(ls) != want {
			t.Errorf("%v %v: %d labels, want %d", tt.d, tt.scenarios, len(ls), want)
		}
		type span struct{ start, end time.Time }
		spans := map[string]span{}
		for _, l := range ls {
			if err := l.Validate(); err != nil {
				t.Errorf("%v: label %+v: %v", tt.d, l, err)
			}
			if l.Start.Before(cfg.Start) || l.End.After(end) {
				t.Errorf("%v: %s %s: [%s, %s] outside the run [%s, %s]", tt.d, l.Scenario, l.Term, l.Start, l.End, cfg.Start, end)
			}
			if !l.ShouldAlert {
				continue
			}
			spans[l.Scenario] = span{l.Start, l.End}
			if l.Start.Before(w0) {
				t.Errorf("%v: %s starts %s, before the warmup ends %s", tt.d, l.Scenario, l.Start, w0)
			}
			if !l.Start.Equal(l.Start.Truncate(time.Minute)) {
				t.Errorf("%v: %s starts %s, not a whole minute", tt.d, l.Scenario, l.Start)
			}
			if d := l.End.Sub(l.Start); d < minScenarioSpan-time.Second {
				t.Errorf("%v: %s lasts %v, want at least %v", tt.d, l.Scenario, d, minScenarioSpan)
			}
		}
		if !tt.sequence {
			continue
		}
		var ordered []span
		for _, s := range spans {
			ordered = append(ordered, s)
		}
		slices.SortFunc(ordered, func(a, b span) int { return a.start.Compare(b.start) })
		for i := 1; i < len(ordered); i++ {
			if ordered[i].start.Before(ordered[i-1].end) {
				t.Errorf("%v: a scenario starts %s before the one before it ends %s", tt.d, ordered[i].start, ordered[i-1].end)
			}
		}
	}
}

func labelsPer(scenario string) int {
	switch scenario {
	case OrganicSurge, DangerousSurge:
		return 2 // hashtag and challenge; Latin and Devanagari hashtags
	}
	return 1
}

func TestDefaultWatchlist(t *testing.T) {
	g := mustNew(t, testConfig(1, 3*time.Hour, 50))
	var dangerous []string
	for _, l := range g.Labels() {
		if l.Watchlist {
			dangerous = append(dangerous, l.Term)
		}
	}
	wl := DefaultWatchlist()
	for _, e := range wl {
		term, err := event.ParseTerm(e)
		if err != nil || term.String() != e {
			t.Errorf("watchlist entry %q: parsed %q, %v", e, term, err)
		}
	}
	slices.Sort(dangerous)
	slices.Sort(wl)
	if !slices.Equal(dangerous, wl) || len(wl) < 2 {
		t.Errorf("watchlist %q, dangerous labels %q", wl, dangerous)
	}
}

func TestVocabulary(t *testing.T) {
	limit := event.DefaultLimits().MaxHashtagRunes
	owner := map[string]string{}
	for _, l := range languages {
		for _, w := range l.words {
			if n, err := event.NormaliseHashtag(w, limit); err != nil || n != w {
				t.Errorf("%s word %q normalises to %q, %v; want itself", l.code, w, n, err)
			}
			if strings.ContainsAny(w, "_0123456789") {
				t.Errorf("%s word %q holds '_' or a digit, which rank encoding reserves", l.code, w)
			}
			if o, ok := owner[w]; ok {
				t.Errorf("word %q in both %s and %s", w, o, l.code)
			}
			owner[w] = l.code
		}
	}
	if s := totalShare(); math.Abs(s-1) > 1e-9 {
		t.Errorf("region weights sum to %g, want 1", s)
	}
	for _, n := range []int{minVocabulary, 200_000} {
		sizes := splitVocabulary(n)
		seen := make(map[string]bool, n)
		var buf []byte
		total := 0
		for l, size := range sizes {
			v := vocab{words: languages[l].words}
			for r := range size {
				buf = v.appendTag(buf[:0], r)
				norm, err := event.NormaliseHashtag(string(buf), limit)
				if err != nil {
					t.Fatalf("vocabulary %d: %s rank %d %q: %v", n, languages[l].code, r, buf, err)
				}
				seen[norm] = true
			}
			total += int(size)
		}
		if total != n || len(seen) != n {
			t.Errorf("vocabulary %d: sizes sum to %d, %d distinct terms", n, total, len(seen))
		}
	}
}

func totalShare() float64 {
	s := 0.0
	for _, r := range regions {
		s += r.weight
	}
	return s
}

func TestSpellingsNormalise(t *testing.T) {
	limit := event.DefaultLimits().MaxHashtagRunes
	tests := []struct {
		tag        string
		devanagari bool
	}{
		{"fyp", false}, {"música_abuela12", false}, {"açaí", false}, {"नेपाल", false},
		{"ब्लैकआउटचैलेंज", true}, {"त्योहार_भारत3", true}, {"नेपाल", true},
	}
	for _, tt := range tests {
		seen := map[string]bool{}
		for v := uint8(spellPlain); v <= spellFullwidth; v++ {
			raw := string(appendSpelling(nil, []byte(tt.tag), tt.devanagari, v))
			seen[raw] = true
			n, err := event.NormaliseHashtag(raw, limit)
			if err != nil || n != tt.tag {
				t.Errorf("spelling %d of %q is %q, normalises to %q, %v", v, tt.tag, raw, n, err)
			}
		}
		if len(seen) < 3 {
			t.Errorf("%q: only %d distinct spellings", tt.tag, len(seen))
		}
	}
	if raw := string(appendSpelling(nil, []byte("ब्लैक"), true, spellShout)); !strings.Contains(raw, zwj) {
		t.Errorf("Devanagari shout spelling %q lacks a ZWJ", raw)
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote`, `back\slash`, "line\nbreak\r\t", "ctl\x01\x1f", "नेपाल 🔥 ＃ＦＹＰ", "\u2028"} {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil || got != s {
			t.Errorf("%q: encoded %s, decoded %q, %v", s, b, got, err)
		}
	}
}

func TestHighRateDecodes(t *testing.T) {
	cfg := testConfig(11, time.Minute, 500)
	cfg.Scenarios = nil
	g := mustNew(t, cfg)
	dec := event.Decoder{Limits: event.DefaultLimits()}
	var content int
	for {
		m, ok := g.Next()
		if !ok {
			break
		}
		if m.Topic == Content {
			content++
			if _, err := dec.DecodeContent(m.Value); err != nil {
				t.Fatalf("%s: %v", m.Value, err)
			}
		} else if _, err := dec.DecodeReport(m.Value); err != nil {
			t.Fatalf("%s: %v", m.Value, err)
		}
	}
	// The expected count follows from every region's diurnal factor over the minute.
	want := 0.0
	for tk := cfg.Start; tk.Before(cfg.Start.Add(cfg.Duration)); tk = tk.Add(time.Second) {
		mid := tk.Add(time.Second / 2).UnixNano()
		for _, r := range regions {
			want += cfg.Rate * r.weight * diurnal(localHour(mid, r.utcOffset))
		}
	}
	if d := math.Abs(float64(content) - want); d > 5*math.Sqrt(want) {
		t.Errorf("%d content events, want %.0f ± %.0f", content, want, 5*math.Sqrt(want))
	}
}

// TestDiurnal runs a day at a low rate and checks the hourly platform volume
// follows the diurnal rhythm.
func TestDiurnal(t *testing.T) {
	cfg := testConfig(5, 24*time.Hour, 1)
	cfg.Start = time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	cfg.Scenarios = nil
	g := mustNew(t, cfg)
	var hours [24]float64
	for {
		m, ok := g.Next()
		if !ok {
			break
		}
		if m.Topic == Content {
			hours[m.TS.Hour()]++
		}
	}
	lo, hi := math.Inf(1), 0.0
	for h, got := range hours {
		want := 0.0
		for s := 0; s < 3600; s++ {
			mid := cfg.Start.Add(time.Duration(h)*time.Hour + time.Duration(s)*time.Second + time.Second/2).UnixNano()
			for _, r := range regions {
				want += cfg.Rate * r.weight * diurnal(localHour(mid, r.utcOffset))
			}
		}
		lo, hi = min(lo, want), max(hi, want)
		if math.Abs(got-want) > 5*math.Sqrt(want) {
			t.Errorf("hour %02d: %g content events, want %.0f ± %.0f", h, got, want, 5*math.Sqrt(want))
		}
	}
	if hi/lo < 1.2 {
		t.Errorf("platform volume swings only %.2f× over the day", hi/lo)
	}
}

func BenchmarkNext(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Start = testStart
	g := mustNew(b, cfg)
	b.ReportAllocs()
	bytes := 0
	for b.Loop() {
		m, ok := g.Next()
		if !ok {
			g = mustNew(b, cfg)
			continue
		}
		bytes += len(m.Value)
	}
	b.SetBytes(int64(bytes / max(1, b.N)))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
