package gen

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/event"
)

// minuteStats is what the pipeline would count for one term in one bucket.
type minuteStats struct {
	mentions int
	reports  int
	creators map[string]bool
	regions  map[string]int
	reasons  map[string]int
}

// termStats holds a term's buckets, by minutes since the run's start.
type termStats struct {
	minutes  []minuteStats
	creators map[string]bool // over the whole run
	raw      map[string]int  // spellings seen on the wire
}

func (ts *termStats) bucket(i int) *minuteStats {
	m := &ts.minutes[i]
	if m.creators == nil {
		m.creators, m.regions, m.reasons = map[string]bool{}, map[string]int{}, map[string]int{}
	}
	return m
}

// mentions returns the counts of buckets [from, to).
func (ts *termStats) mentions(from, to int) []float64 {
	out := make([]float64, 0, max(0, to-from))
	for i := max(0, from); i < min(to, len(ts.minutes)); i++ {
		out = append(out, float64(ts.minutes[i].mentions))
	}
	return out
}

func (ts *termStats) reports(from, to int) []float64 {
	out := make([]float64, 0, max(0, to-from))
	for i := max(0, from); i < min(to, len(ts.minutes)); i++ {
		out = append(out, float64(ts.minutes[i].reports))
	}
	return out
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// stream is a whole run decoded the way the pipeline decodes it.
type stream struct {
	cfg    Config
	labels []Label
	terms  map[string]*termStats // label terms only
	// background spellings: hashtags seen and how many differ from their
	// normalised form beyond a leading '#'
	bgTags, bgUnnormalised int
	content, late          int
}

func (s *stream) minute(t time.Time) int { return int(t.Sub(s.cfg.Start) / time.Minute) }

func (s *stream) term(t *testing.T, key string) *termStats {
	t.Helper()
	ts, ok := s.terms[key]
	if !ok {
		t.Fatalf("no stats for %s", key)
	}
	return ts
}

func (s *stream) label(t *testing.T, scenario, kind string) Label {
	t.Helper()
	for _, l := range s.labels {
		if l.Scenario == scenario && strings.HasPrefix(l.Term, kind+":") {
			return l
		}
	}
	t.Fatalf("no %s label of kind %s in %v", scenario, kind, s.labels)
	return Label{}
}

// decodeStream generates a run and checks every message on the way: it decodes,
// is keyed by its content ID, arrives in order with its lateness bounded, and a
// report references content already seen.
func decodeStream(t *testing.T, cfg Config) *stream {
	t.Helper()
	g := mustNew(t, cfg)
	s := &stream{cfg: cfg, labels: g.Labels(), terms: map[string]*termStats{}}
	n := int(cfg.Duration/time.Minute) + 1
	for _, l := range s.labels {
		s.terms[l.Term] = &termStats{minutes: make([]minuteStats, n), creators: map[string]bool{}, raw: map[string]int{}}
	}
	dec := event.Decoder{Limits: event.DefaultLimits()}
	contentTerms := map[string][]string{} // content ID → label terms it carries
	contentTS := map[string]time.Time{}
	eventIDs := map[string]bool{}
	end := cfg.Start.Add(cfg.Duration)
	var prev time.Time
	var terms []event.Term
	var raw struct {
		Hashtags []string `json:"hashtags"`
	}
	for i := 0; ; i++ {
		m, ok := g.Next()
		if !ok {
			break
		}
		if m.TS.Before(prev) || m.TS.Before(cfg.Start) || !m.TS.Before(end) {
			t.Fatalf("message %d at %s: previous %s, run [%s, %s)", i, m.TS, prev, cfg.Start, end)
		}
		prev = m.TS
		switch m.Topic {
		case Content:
			c, err := dec.DecodeContent(m.Value)
			if err != nil {
				t.Fatalf("content %s: %v", m.Value, err)
			}
			if string(m.Key) != c.ContentID || eventIDs[c.EventID] {
				t.Fatalf("content %s: key %q, event ID seen before: %v", m.Value, m.Key, eventIDs[c.EventID])
			}
			eventIDs[c.EventID] = true
			lag := m.TS.Sub(c.TS)
			if lag < 0 || lag >= maxLateMs*time.Millisecond || c.TS.Before(cfg.Start) {
				t.Fatalf("content %s emitted at %s: lag %v", m.Value, m.TS, lag)
			}
			if lag > 0 {
				s.late++
			}
			s.content++
			if !slices.ContainsFunc(regionOfCode(t, c.Region).langs, func(l langShare) bool { return languages[l.lang].code == c.Lang }) {
				t.Fatalf("content %s: language %s is not one of region %s", m.Value, c.Lang, c.Region)
			}
			contentTS[c.ContentID] = c.TS
			terms = c.Terms(terms[:0])
			var labelled []string
			for _, tm := range terms {
				if ts, ok := s.terms[tm.String()]; ok {
					labelled = append(labelled, tm.String())
					b := ts.bucket(s.minute(c.TS))
					b.mentions++
					b.creators[c.CreatorID] = true
					b.regions[c.Region]++
					ts.creators[c.CreatorID] = true
				}
			}
			if len(labelled) > 0 {
				contentTerms[c.ContentID] = labelled
			}
			// The wire spellings need a second parse: all of labelled posts, a
			// sample of the rest.
			if len(labelled) == 0 && s.content%8 != 0 {
				continue
			}
			if err := json.Unmarshal(m.Value, &raw); err != nil {
				t.Fatal(err)
			}
			for _, h := range raw.Hashtags {
				n, err := event.NormaliseHashtag(h, dec.Limits.MaxHashtagRunes)
				if err != nil {
					t.Fatal(err)
				}
				if ts, ok := s.terms["hashtag:"+n]; ok {
					ts.raw[h]++
					continue
				}
				s.bgTags++
				if n != strings.TrimPrefix(h, "#") {
					s.bgUnnormalised++
				}
			}
		case Report:
			r, err := dec.DecodeReport(m.Value)
			if err != nil {
				t.Fatalf("report %s: %v", m.Value, err)
			}
			cts, seen := contentTS[r.ContentID]
			if string(m.Key) != r.ContentID || !seen || cts.After(r.TS) || eventIDs[r.EventID] {
				t.Fatalf("report %s: key %q, content seen %v at %s", m.Value, m.Key, seen, cts)
			}
			eventIDs[r.EventID] = true
			for _, term := range contentTerms[r.ContentID] {
				b := s.terms[term].bucket(s.minute(r.TS))
				b.reports++
				b.reasons[r.Reason]++
			}
		default:
			t.Fatalf("message %d: topic %v", i, m.Topic)
		}
	}
	return s
}

func regionOfCode(t *testing.T, code string) region {
	for _, r := range regions {
		if r.code == code {
			return r
		}
	}
	t.Fatalf("unknown region %q", code)
	return region{}
}

// maxJumpZ is the largest minute-to-minute change of counts in units of its
// Poisson standard deviation.
func maxJumpZ(xs []float64) float64 {
	z := 0.0
	for i := 1; i < len(xs); i++ {
		z = max(z, math.Abs(xs[i]-xs[i-1])/math.Sqrt(max(1, xs[i]+xs[i-1])))
	}
	return z
}

// TestStream generates three hours at Rate 12 (scenario levels are those of
// Rate 50) and measures every scenario the way the pipeline would see it.
func TestStream(t *testing.T) {
	cfg := testConfig(42, 3*time.Hour, 12)
	s := decodeStream(t, cfg)

	t.Run("lateness", func(t *testing.T) {
		if share := float64(s.late) / float64(s.content); share < 0.015 || share > 0.05 {
			t.Errorf("%.3f of content events late, want about %.2f", share, lateShare)
		}
	})

	t.Run("spellings", func(t *testing.T) {
		share := float64(s.bgUnnormalised) / float64(s.bgTags)
		if share < 0.02 || share > 0.08 {
			t.Errorf("%.3f of %d background hashtags un-normalised, want about 0.05", share, s.bgTags)
		}
		for _, l := range s.labels {
			if !strings.HasPrefix(l.Term, "hashtag:") {
				continue
			}
			raw := s.term(t, l.Term).raw
			var odd bool // fullwidth or joined: more than case and '#'
			for sp := range raw {
				odd = odd || strings.Contains(sp, "＃") || strings.Contains(sp, zwj)
			}
			if len(raw) < 3 || !odd {
				t.Errorf("%s: spellings %v, want several including fullwidth or ZWJ", l.Term, raw)
			}
		}
	})

	t.Run(OrganicSurge, func(t *testing.T) {
		for _, kind := range []string{"hashtag", "challenge"} {
			l := s.label(t, OrganicSurge, kind)
			ts := s.term(t, l.Term)
			onset, peak, end := s.minute(l.Start), s.minute(l.Peak), s.minute(l.End)
			pre := mean(ts.mentions(0, onset))
			counts := ts.mentions(onset, end)
			top := slices.Max(counts)
			hold := mean(ts.mentions(peak, peak+15))
			if top < 40 || top < 20*pre || hold < 40 {
				t.Errorf("%s: pre-onset mean %.2f, peak minute %g, plateau mean %.1f; want peak >= 40 and >= 20x pre", l.Term, pre, top, hold)
			}
			t.Logf("%s: pre-onset %.2f/min, peak minute %g, plateau %.1f/min", l.Term, pre, top, hold)
			first := slices.IndexFunc(counts, func(c float64) bool { return c >= 40 })
			if first < 0 || first > 6 {
				t.Errorf("%s: first minute >= 40 mentions is %d after onset, want within ~5", l.Term, first)
			}
			total := 0
			regions := map[string]bool{}
			for i := range ts.minutes {
				total += ts.minutes[i].mentions
				for r := range ts.minutes[i].regions {
					regions[r] = true
				}
			}
			if len(ts.creators) != total || len(regions) < 5 {
				t.Errorf("%s: %d posts by %d creators from %d regions; want one creator each, >= 5 regions", l.Term, total, len(ts.creators), len(regions))
			}
			if after := mean(ts.mentions(end+2, len(ts.minutes))); after > 10 {
				t.Errorf("%s: %.1f mentions a minute after the end", l.Term, after)
			}
		}
	})

	t.Run(DangerousSurge, func(t *testing.T) {
		for _, l := range s.labels {
			if l.Scenario != DangerousSurge {
				continue
			}
			ts := s.term(t, l.Term)
			onset, peak, end := s.minute(l.Start), s.minute(l.Peak), s.minute(l.End)
			pre := mean(ts.mentions(0, onset))
			hold := mean(ts.mentions(peak, peak+15))
			early := mean(ts.mentions(onset, onset+3))
			if pre <= 0 || hold/pre < 6 || hold/pre > 16 || early > hold/2 {
				t.Errorf("%s: base %.2f, first ramp minutes %.1f, plateau %.1f; want a ~10 min rise to ~10x", l.Term, pre, early, hold)
			}
			mentions, reports := sum(ts.mentions(peak, end-5)), sum(ts.reports(peak, end-5))
			preM, preR := sum(ts.mentions(0, onset)), sum(ts.reports(0, onset))
			t.Logf("%s: base %.2f/min, plateau %.1f/min, reported %g/%g before, %g/%g on the plateau", l.Term, pre, hold, preR, preM, reports, mentions)
			if f := reports / mentions; f < 0.08 || f > 0.25 || preR/preM > 0.03 {
				t.Errorf("%s: reported share %.3f before, %.3f on the plateau; want under 0.03, then 0.10-0.20", l.Term, preR/preM, f)
			}
			reasons := map[string]int{}
			for i := peak; i < end; i++ {
				for r, n := range ts.minutes[i].reasons {
					reasons[r] += n
				}
			}
			if float64(reasons["dangerous_acts"]) < 0.7*reports {
				t.Errorf("%s: reasons %v", l.Term, reasons)
			}
			if !l.Watchlist || !slices.Contains(DefaultWatchlist(), l.Term) {
				t.Errorf("%s: not on the default watchlist", l.Term)
			}
		}
	})

	t.Run(CoordinatedPush, func(t *testing.T) {
		l := s.label(t, CoordinatedPush, "hashtag")
		ts := s.term(t, l.Term)
		onset, peak, end := s.minute(l.Start), s.minute(l.Peak), s.minute(l.End)
		hold := mean(ts.mentions(peak, end-3))
		regions := map[string]bool{}
		for i := range ts.minutes {
			for r := range ts.minutes[i].regions {
				regions[r] = true
			}
		}
		t.Logf("%s: plateau %.1f/min by %d creators from %d regions", l.Term, hold, len(ts.creators), len(regions))
		if pre := sum(ts.mentions(0, onset)); pre != 0 || hold < 35 || len(ts.creators) > 8 || len(regions) != 1 {
			t.Errorf("%s: %g before onset, plateau %.1f/min, %d creators, regions %v; want 0, ~48, <= 8, one",
				l.Term, pre, hold, len(ts.creators), regions)
		}
	})

	t.Run(ReportWave, func(t *testing.T) {
		l := s.label(t, ReportWave, "sound")
		ts := s.term(t, l.Term)
		onset, peak, end := s.minute(l.Start), s.minute(l.Peak), s.minute(l.End)
		before := mean(ts.mentions(onset-30, onset))
		during := mean(ts.mentions(onset, end))
		if before < 10 || math.Abs(during/before-1) > 0.3 {
			t.Errorf("%s: %.1f mentions/min before, %.1f during; want flat within 30%%", l.Term, before, during)
		}
		baseReports := mean(ts.reports(0, onset))
		waveReports := mean(ts.reports(peak, end-1))
		expected := cfg.ReportRate * before
		t.Logf("%s: mentions %.1f/min before, %.1f during; reports %.3f/min before, %.2f in the wave", l.Term, before, during, baseReports, waveReports)
		if waveReports < 20*expected || waveReports < 20*baseReports {
			t.Errorf("%s: %.3f reports/min before (expected %.3f), %.2f in the wave; want >= 20x", l.Term, baseReports, expected, waveReports)
		}
		reasons := map[string]int{}
		for i := peak; i < end; i++ {
			for r, n := range ts.minutes[i].reasons {
				reasons[r] += n
			}
		}
		if reasons["harassment"] < 20 {
			t.Errorf("%s: wave reasons %v, want mostly harassment", l.Term, reasons)
		}
	})

	t.Run(SlowTrend, func(t *testing.T) {
		l := s.label(t, SlowTrend, "hashtag")
		ts := s.term(t, l.Term)
		from, to := s.minute(l.Start), s.minute(l.End)
		counts := ts.mentions(from, to)
		first, last := mean(counts[:10]), mean(counts[len(counts)-10:])
		t.Logf("%s: %.1f/min first, %.1f/min last, largest jump %.1f sigma", l.Term, first, last, maxJumpZ(counts))
		if first < 3 || first > 9 || last < 32 || last > 48 {
			t.Errorf("%s: first 10 min %.1f/min, last 10 min %.1f/min; want ~5 rising to ~40", l.Term, first, last)
		}
		if z := maxJumpZ(counts); z > 4.5 {
			t.Errorf("%s: a minute-to-minute jump of %.1f sigma", l.Term, z)
		}
		for i := 30; i+30 <= len(counts); i += 30 {
			if mean(counts[i:i+30]) <= mean(counts[i-30:i]) {
				t.Errorf("%s: half hour at +%d min not above the one before", l.Term, i)
			}
		}
		if l.ShouldAlert {
			t.Errorf("%s should not alert", l.Term)
		}
	})

	t.Run(DailyPeak, func(t *testing.T) {
		l := s.label(t, DailyPeak, "hashtag")
		ts := s.term(t, l.Term)
		if want := time.Date(2025, 3, 14, 15, 15, 0, 0, time.UTC); !l.Peak.Equal(want) || l.ShouldAlert {
			t.Fatalf("%s: peak %s (want %s), should alert %v", l.Term, l.Peak, want, l.ShouldAlert)
		}
		counts := ts.mentions(0, len(ts.minutes)-1)
		for i := 0; i+10 <= len(counts); i += 10 {
			want := 0.0
			for j := i; j < i+10; j++ {
				want += dailyBase * dailyBump(cfg.Start.Add(time.Duration(j)*time.Minute+30*time.Second).UnixNano())
			}
			if got := sum(counts[i : i+10]); math.Abs(got/want-1) > 0.25 {
				t.Errorf("%s: %g mentions in minutes %d-%d, want %.0f", l.Term, got, i, i+10, want)
			}
		}
		peak := mean(counts[s.minute(l.Peak)-10 : s.minute(l.Peak)+10])
		t.Logf("%s: %.1f/min around the peak, %.1f/min in the first 10 minutes", l.Term, peak, mean(counts[:10]))
		if peak < 0.8*3*dailyBase || peak > 1.2*3*dailyBase {
			t.Errorf("%s: %.1f/min around the peak, want ~%d", l.Term, peak, 3*dailyBase)
		}
		if z := maxJumpZ(counts); z > 4.5 {
			t.Errorf("%s: a minute-to-minute jump of %.1f sigma", l.Term, z)
		}
	})
}

func sum(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s
}
