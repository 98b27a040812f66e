package detectors

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/sim/dist"
)

// A topic series is three days of two-minute counts of one topic, the layout of
// the trending/non-trending topic sets trend detectors are judged on: a daily
// rhythm (±50 %), negative binomial noise (shape 10) and two ordinary one-bucket
// spikes a day of Pareto size (shape 1.5). A trending topic rises, from a time
// on its third day, to g times its level (3 to 10, and at least 20 a bucket:
// nobody calls a topic at two posts a bucket a trend) over 3 to 15 buckets (6
// to 30 minutes), holds for three hours and fades. A rise that takes hours is
// the generator's slow_trend, which must not page. onset is -1 for a topic
// that never trends. noisyTopicSeries makes one, with defaultTopicNoise or
// rougher noise.

// topicNoise is how unruly a topic's counts are: the negative binomial's
// shape (smaller is noisier), the daily rhythm's amplitude, the ordinary
// spikes a day, and excite, the share of each bucket's mean that the counts
// before it bring (0: none; see noisyTopicSeries).
type topicNoise struct{ shape, rhythm, spikes, excite float64 }

var defaultTopicNoise = topicNoise{shape: 10, rhythm: 0.5, spikes: 2}

// cascadeBuckets is the mean lag, in buckets, at which a post brings the
// posts it excites: replies and reshares within minutes.
const cascadeBuckets = 3

// noisyTopicSeries is a topic series with noise n: three days, a trend on
// the third.
func noisyTopicSeries(r *rand.Rand, base float64, trending bool, n topicNoise) (ts []time.Time, values []float64, onset int) {
	return topicSeries(r, base, trending, n, 3, 2*topicDay)
}

// topicDay is a day of a topic series' two-minute buckets.
const topicDay = 720

// topicSeries is a topic series of days days with noise n; a trending one's
// onset is from bucket from on, within the day it falls in.
func topicSeries(r *rand.Rand, base float64, trending bool, n topicNoise, days, from int) (ts []time.Time, values []float64, onset int) {
	const perDay = topicDay
	rows := days * perDay
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	onset, ramp, hold := -1, 0, 90
	g := 1.0
	if trending {
		onset = from + r.IntN(perDay-from%perDay-hold-60)
		ramp = 3 + r.IntN(13)
		g = math.Max(3+7*r.Float64(), 20/base)
	}
	phase := r.Float64() * 2 * math.Pi
	// A self-exciting topic (a discrete Hawkes process): each bucket's mean
	// is 1-excite of what the day, the spikes and the trend bring and excite
	// of a geometric memory of the counts before it, so the level is the same
	// and a spike no longer comes alone: the replies and reshares it brings
	// decay over the buckets after it.
	decay := math.Exp(-1.0 / cascadeBuckets)
	memory := base
	for i := range rows {
		mu := base * (1 + n.rhythm*math.Sin(2*math.Pi*float64(i)/perDay+phase))
		if r.Float64() < n.spikes/perDay {
			mu *= 1 + math.Pow(1-r.Float64(), -1/1.5)
		}
		if onset >= 0 && i >= onset {
			k := float64(i - onset)
			switch {
			case k < float64(ramp):
				mu *= 1 + (g-1)*(k+1)/float64(ramp)
			case k < float64(ramp+hold):
				mu *= g
			default:
				mu *= 1 + (g-1)*math.Exp(-(k-float64(ramp+hold))/30)
			}
		}
		if n.excite > 0 {
			mu = (1-n.excite)*mu + n.excite*memory
		}
		c := dist.NegBinomial(r, mu, n.shape)
		memory = decay*memory + (1-decay)*c
		ts = append(ts, start.Add(time.Duration(i)*2*time.Minute))
		values = append(values, c)
	}
	return ts, values, onset
}

// topicVolumes are the mean counts a bucket of the topic sets.
var topicVolumes = []float64{0.2, 2, 20, 200}

// topicsPer is TRENDWATCH_TOPICS, the topics per volume and kind; def when
// it is not set.
func topicsPer(t *testing.T, def int) int {
	env := os.Getenv("TRENDWATCH_TOPICS")
	if env == "" {
		return def
	}
	n, err := strconv.Atoi(env)
	if err != nil || n < 1 {
		t.Fatalf("TRENDWATCH_TOPICS=%q: want a positive integer", env)
	}
	return n
}

// evalTopicsPer is TRENDWATCH_TOPICS for the evaluations only make eval runs:
// the test is skipped without it.
func evalTopicsPer(t *testing.T) int {
	t.Helper()
	if os.Getenv("TRENDWATCH_TOPICS") == "" {
		t.Skip("TRENDWATCH_TOPICS is not set: make eval runs it")
	}
	return topicsPer(t, 0)
}

// topicVerdict is how per trending and per never-trending topics of one
// volume fared: a trending topic is found when it pages between its onset and
// three hours later, a never-trending one falsely paged when it pages at all
// after its first day (the warm-up a new term gets from the count-min rings).
// maxTrending and maxQuiet are each topic's highest anomaly score after its
// first day, to rank them as the issue ranked real topics (ROC AUC).
//
// wholePaged counts the never-trending topics paged anywhere, their first day
// included: a new term's first day, with no yesterday to know its daily
// rhythm by and its tail still mostly the count model's, is what `backtest
// --series` judges an export's first day on, and what a series shorter than
// the count-min rings' memory holds.
type topicVerdict struct {
	found, falsePaged     int
	wholePaged            int
	maxTrending, maxQuiet []float64
}

// judgeTopics runs per topics of each kind at volume base, with noise n,
// their generators seeded from seed on.
func judgeTopics(t *testing.T, cfg Config, base float64, per int, n topicNoise, seed uint64) topicVerdict {
	var v topicVerdict
	for k := range per {
		for _, trending := range []bool{true, false} {
			r := rand.New(rand.NewPCG(seed+uint64(k), math.Float64bits(base)^boolBits(trending)))
			ts, vals, onset := noisyTopicSeries(r, base, trending, n)
			scores, alerts, err := RunSeries(cfg, ts, vals)
			if err != nil {
				t.Fatal(err)
			}
			from, to := 720, len(vals)
			if trending {
				from, to = onset, min(len(vals), onset+90)
			}
			paged := slices.Contains(alerts[from:to], true)
			if trending {
				v.maxTrending = append(v.maxTrending, slices.Max(scores[720:]))
				if paged {
					v.found++
				}
			} else {
				v.maxQuiet = append(v.maxQuiet, slices.Max(scores[720:]))
				if paged {
					v.falsePaged++
				}
				if slices.Contains(alerts, true) {
					v.wholePaged++
				}
			}
		}
	}
	return v
}

// TestTopics: trending against non-trending topics at four volumes, as
// `make eval` reports them (see judgeTopics). TRENDWATCH_TOPICS sets topics
// per volume and kind (20 in the unit suite). The bounds are the targets (95 %
// and 5 %) with a margin for 20 topics a volume.
func TestTopics(t *testing.T) {
	per := topicsPer(t, 20)
	cfg := DefaultConfig()
	var b strings.Builder
	b.WriteString("| mean per bucket | trending topics paged | non-trending topics paged |\n|---|---|---|\n")
	var found, falsePaged, whole, total int
	var maxTrending, maxQuiet []float64
	for _, base := range topicVolumes {
		v := judgeTopics(t, cfg, base, per, defaultTopicNoise, 0)
		tp, fp := v.found, v.falsePaged
		whole += v.wholePaged
		maxTrending, maxQuiet = append(maxTrending, v.maxTrending...), append(maxQuiet, v.maxQuiet...)
		found += tp
		falsePaged += fp
		total += per
		fmt.Fprintf(&b, "| %g | %d/%d (%.0f %%) | %d/%d (%.0f %%) |\n", base, tp, per, 100*float64(tp)/float64(per), fp, per, 100*float64(fp)/float64(per))
	}
	fmt.Fprintf(&b, "| all | %d/%d (%.1f %%) | %d/%d (%.1f %%) |\n", found, total, 100*float64(found)/float64(total), falsePaged, total, 100*float64(falsePaged)/float64(total))
	t.Logf("topics, two-minute buckets, two days judged each\n%s", b.String())
	t.Logf("EVAL | topics (%d per volume): trending paged / non-trending paged | %.1f %% / %.1f %% | targets ≥ 95 %% / ≤ 5 %%; non-trending paged over all three days, the first included: %.1f %% |", per,
		100*float64(found)/float64(total), 100*float64(falsePaged)/float64(total), 100*float64(whole)/float64(total))
	t.Logf("EVAL | topics: ROC AUC of each topic's highest anomaly score, trending against not | %.3f | |", rocAUC(maxTrending, maxQuiet))
	if float64(found) < minTrendingPaged*float64(total) {
		t.Errorf("trending topics paged: %d of %d, want at least %.0f %%", found, total, 100*minTrendingPaged)
	}
	if float64(falsePaged) > maxQuietPaged*float64(total) {
		t.Errorf("non-trending topics paged: %d of %d, want at most %.0f %%", falsePaged, total, 100*maxQuietPaged)
	}
}

// TestTopicsHarder runs the topics of TestTopics with unrulier noise than
// theirs (negative binomial shape 10, a ±50 % day, 2 spikes a day): noisier
// counts, a stronger day and five times the spikes, in the combinations
// below, as `make eval` reports them (TRENDWATCH_TOPICS topics per volume and
// kind; skipped without it). The detector's constants were not chosen on
// these; they show how trending and never-trending topics fare where real
// series are rougher than the synthetic ones.
func TestTopicsHarder(t *testing.T) {
	per := evalTopicsPer(t)
	cfg := DefaultConfig()
	var b strings.Builder
	b.WriteString("| shape | day ± | spikes a day | trending topics paged | non-trending topics paged |\n|---|---|---|---|---|\n")
	var found, falsePaged, whole, total int
	for _, n := range []topicNoise{{10, 0.7, 2, 0}, {5, 0.6, 4, 0}, {10, 0.5, 10, 0}, {3, 0.7, 10, 0}} {
		var tp, fp, all int
		for _, base := range topicVolumes {
			v := judgeTopics(t, cfg, base, per, n, 99)
			tp, fp, all = tp+v.found, fp+v.falsePaged, all+per
			whole += v.wholePaged
		}
		found, falsePaged, total = found+tp, falsePaged+fp, total+all
		fmt.Fprintf(&b, "| %g | %.0f %% | %g | %d/%d (%.1f %%) | %d/%d (%.1f %%) |\n", n.shape, 100*n.rhythm, n.spikes,
			tp, all, 100*float64(tp)/float64(all), fp, all, 100*float64(fp)/float64(all))
	}
	t.Logf("topics with harder noise, two-minute buckets\n%s", b.String())
	t.Logf("EVAL | topics with harder noise (4 kinds, %d per volume): trending paged / non-trending paged | %.1f %% / %.1f %% | noisier counts, a stronger day, five times the spikes; non-trending paged over all three days: %.1f %% |", per,
		100*float64(found)/float64(total), 100*float64(falsePaged)/float64(total), 100*float64(whole)/float64(total))
}

// TestTopicsCascades runs the topics of TestTopics as self-exciting series
// (see noisyTopicSeries): real topics' spikes bring replies and reshares in
// the buckets after them, and a spike with its aftermath is two or more
// outlying buckets, which the lone-outlier rule does not hold back. `make
// eval` reports it (TRENDWATCH_TOPICS topics per volume and kind; skipped
// without it). No constant was chosen on these: they show what cascades do
// to never-trending topics (detectors/README.md, "Cascades").
func TestTopicsCascades(t *testing.T) {
	per := evalTopicsPer(t)
	cfg := DefaultConfig()
	var b strings.Builder
	b.WriteString("| excitation | mean per bucket | trending topics paged | non-trending topics paged |\n|---|---|---|---|\n")
	var found, falsePaged, whole, total int
	var maxTrending, maxQuiet []float64
	for _, excite := range []float64{0.5, 0.8} {
		n := defaultTopicNoise
		n.excite = excite
		for _, base := range topicVolumes {
			v := judgeTopics(t, cfg, base, per, n, 7)
			maxTrending, maxQuiet = append(maxTrending, v.maxTrending...), append(maxQuiet, v.maxQuiet...)
			found, falsePaged, total = found+v.found, falsePaged+v.falsePaged, total+per
			whole += v.wholePaged
			fmt.Fprintf(&b, "| %g | %g | %d/%d (%.0f %%) | %d/%d (%.0f %%) |\n", excite, base,
				v.found, per, 100*float64(v.found)/float64(per), v.falsePaged, per, 100*float64(v.falsePaged)/float64(per))
		}
	}
	t.Logf("self-exciting topics, two-minute buckets, a post's aftermath %d buckets on average\n%s", cascadeBuckets, b.String())
	t.Logf("EVAL | self-exciting topics (excitation 0.5 and 0.8, %d per volume): trending paged / non-trending paged | %.1f %% / %.1f %% | a spike brings its aftermath; ROC AUC %.3f; non-trending paged over all three days: %.1f %% |", per,
		100*float64(found)/float64(total), 100*float64(falsePaged)/float64(total), rocAUC(maxTrending, maxQuiet), 100*float64(whole)/float64(total))
}

// Bounds: the targets with a margin for 20 topics a volume (96.2 % and 3.8 %
// measured). Before lone outliers were clipped (see holt.step) the quiet
// topics' false pages were 25 %, nearly all on one-bucket spikes.
const (
	minTrendingPaged = 0.9
	maxQuietPaged    = 0.08
)

func boolBits(b bool) uint64 {
	if b {
		return 1 << 63
	}
	return 0
}

// rocAUC is the probability that a positive's score is above a negative's,
// ties counting half (the Mann-Whitney statistic).
func rocAUC(pos, neg []float64) float64 {
	if len(pos) == 0 || len(neg) == 0 {
		return math.NaN()
	}
	var wins float64
	for _, p := range pos {
		for _, n := range neg {
			switch {
			case p > n:
				wins++
			case p == n:
				wins += 0.5
			}
		}
	}
	return wins / float64(len(pos)*len(neg))
}

func TestROCAUC(t *testing.T) {
	cases := []struct {
		pos, neg []float64
		want     float64
	}{
		{[]float64{2, 3}, []float64{0, 1}, 1},
		{[]float64{0, 1}, []float64{2, 3}, 0},
		{[]float64{1, 2}, []float64{0, 3}, 0.5},
		{[]float64{1}, []float64{1}, 0.5},
	}
	for _, tc := range cases {
		if got := rocAUC(tc.pos, tc.neg); got != tc.want {
			t.Errorf("rocAUC(%v, %v) = %v, want %v", tc.pos, tc.neg, got, tc.want)
		}
	}
}

// TestTopicsWatched runs the topics of TestTopics and TestTopicsHarder as
// watched terms, through the whole Set and the lifecycle as the engine
// judges them: watched terms are judged at lower bars (the watchlist's own,
// lone spikes whole), and this is what that costs on topics that never
// trend. `make eval` reports it (TRENDWATCH_TOPICS topics per volume and
// kind of noise; skipped without it).
func TestTopicsWatched(t *testing.T) {
	per := evalTopicsPer(t)
	cfg := DefaultConfig()
	cfg.Watchlist.Terms = []string{"hashtag:watched"}
	s, err := NewSet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := s.Watch("hashtag:watched")
	var b strings.Builder
	b.WriteString("| shape | day ± | spikes a day | mean per bucket | watched trending topics paged | watched never-trending topics paged |\n|---|---|---|---|---|---|\n")
	var found, falsePaged, total int
	for _, n := range []topicNoise{defaultTopicNoise, {10, 0.7, 2, 0}, {5, 0.6, 4, 0}, {3, 0.7, 10, 0}} {
		for _, base := range topicVolumes {
			tp, fp := 0, 0
			for k := range per {
				for _, trending := range []bool{true, false} {
					r := rand.New(rand.NewPCG(7+uint64(k), math.Float64bits(base)^boolBits(trending)))
					ts, vals, onset := noisyTopicSeries(r, base, trending, n)
					from, to := 720, len(vals)
					if trending {
						from, to = onset, min(len(vals), onset+90)
					}
					if watchedPages(s, cfg, w, ts, vals, from, to) {
						if trending {
							tp++
						} else {
							fp++
						}
					}
				}
			}
			found, falsePaged, total = found+tp, falsePaged+fp, total+per
			fmt.Fprintf(&b, "| %g | %.0f %% | %g | %g | %d/%d | %d/%d |\n", n.shape, 100*n.rhythm, n.spikes, base, tp, per, fp, per)
		}
	}
	t.Logf("topics as watched terms, two-minute buckets\n%s", b.String())
	t.Logf("EVAL | topics as watched terms (4 kinds of noise, %d per volume): trending paged / never-trending paged | %.1f %% / %.1f %% | the watchlist's lower bars on busy terms |", per,
		100*float64(found)/float64(total), 100*float64(falsePaged)/float64(total))
}

// watchedPages reports whether the series, judged as the watched term w
// through s and a lifecycle, opens an alert in rows [from, to).
func watchedPages(s *Set, cfg Config, w *WatchMatch, ts []time.Time, vals []float64, from, to int) bool {
	lc := NewLifecycle(cfg.Lifecycle)
	var tl Tail
	width := ts[1].Sub(ts[0])
	// Yesterday's levels as the engine hands them over (RunSeries' dayAgo):
	// a term's daily rise is judged against yesterday's, not as growth.
	day := newDayAgo(ts, vals, medianStep(ts))
	var surges SurgeMemory
	for i := range vals {
		o := Observation{Term: "hashtag:watched", Bucket: ts[i], Width: width, Mentions: vals[i],
			MentionHistory: vals[max(0, i-cfg.Surge.History):i], DayAgo: day.at(ts[i], &surges), LearnDayAgo: math.NaN(),
			Tail: tl, Watch: w, UniqueCreators: uint64(vals[i])}
		if j := i - s.LearnLag(); j >= 0 {
			o.LearnDayAgo = day.at(ts[j], &surges)
		}
		fs := s.Evaluate(&o)
		tl = s.Learn(&o)
		for _, ev := range lc.Observe(&o, fs) {
			if ev.To == alert.StatusOpen && i >= from && i < to {
				return true
			}
		}
		lc.EndBucket(ts[i])
	}
	return false
}

// TestTopicsFirstDay judges topics on their first day, which the other topic
// sets leave out (their trends come on the third day, and their quiet topics
// are judged after the first): `backtest --series` judges an export from its
// first row, so a series a day or two long is mostly a first day, with no
// yesterday to know the term's rhythm by and a tail still mostly the count
// model's. A trending topic is two days long, its trend rising from three
// hours in on the first (found when it pages within three hours of its
// onset); a quiet one is its first day alone (falsely paged when it pages at
// all). Four kinds of noise: TestTopics', the second of TestTopicsHarder's,
// and TestTopicsCascades' two excitations. `make eval` reports it
// (TRENDWATCH_TOPICS topics per volume and kind; skipped without it); the
// bounds are those of TestTopics, for its noise alone.
func TestTopicsFirstDay(t *testing.T) {
	per := evalTopicsPer(t)
	cfg := DefaultConfig()
	kinds := []struct {
		name string
		n    topicNoise
	}{
		{"plain", defaultTopicNoise},
		{"harder", topicNoise{5, 0.6, 4, 0}},
		{"excitation 0.5", topicNoise{10, 0.5, 2, 0.5}},
		{"excitation 0.8", topicNoise{10, 0.5, 2, 0.8}},
	}
	var b strings.Builder
	b.WriteString("| noise | trending topics paged on their first day | quiet topics paged on their first day |\n|---|---|---|\n")
	var detail []string
	var found, paged, total int
	// Each topic's highest anomaly score: a trending one's within three
	// hours of its onset, a quiet one's over its day, to rank them.
	var maxTrending, maxQuiet []float64
	for ki, k := range kinds {
		var kf, kp, kt int
		for _, base := range topicVolumes {
			for i := range per {
				seed := uint64(ki)<<40 | uint64(i)
				r := rand.New(rand.NewPCG(seed, math.Float64bits(base)^boolBits(true)))
				ts, vals, onset := topicSeries(r, base, true, k.n, 2, 90)
				scores, alerts, err := RunSeries(cfg, ts, vals)
				if err != nil {
					t.Fatal(err)
				}
				end := min(len(alerts), onset+90)
				if slices.Contains(alerts[onset:end], true) {
					kf++
				}
				maxTrending = append(maxTrending, slices.Max(scores[onset:end]))
				r = rand.New(rand.NewPCG(seed, math.Float64bits(base)^boolBits(false)))
				ts, vals, _ = topicSeries(r, base, false, k.n, 1, 0)
				if scores, alerts, err = RunSeries(cfg, ts, vals); err != nil {
					t.Fatal(err)
				}
				if slices.Contains(alerts, true) {
					kp++
				}
				maxQuiet = append(maxQuiet, slices.Max(scores))
				kt++
			}
		}
		fmt.Fprintf(&b, "| %s | %d/%d (%.1f %%) | %d/%d (%.1f %%) |\n", k.name, kf, kt, 100*float64(kf)/float64(kt), kp, kt, 100*float64(kp)/float64(kt))
		detail = append(detail, fmt.Sprintf("%s %.1f / %.1f", k.name, 100*float64(kf)/float64(kt), 100*float64(kp)/float64(kt)))
		if ki == 0 {
			if float64(kf) < minTrendingPaged*float64(kt) {
				t.Errorf("plain trending topics paged on their first day: %d of %d, want at least %.0f %%", kf, kt, 100*minTrendingPaged)
			}
			if float64(kp) > maxQuietPaged*float64(kt) {
				t.Errorf("plain quiet topics paged on their first day: %d of %d, want at most %.0f %%", kp, kt, 100*maxQuietPaged)
			}
		}
		found, paged, total = found+kf, paged+kp, total+kt
	}
	t.Logf("topics on their first day, two-minute buckets\n%s", b.String())
	t.Logf("EVAL | topics on their first day (4 kinds of noise, %d per volume): trending paged / never-trending paged | %.1f %% / %.1f %% | %s; ROC AUC %.3f |", per,
		100*float64(found)/float64(total), 100*float64(paged)/float64(total), strings.Join(detail, "; "), rocAUC(maxTrending, maxQuiet))
}
