package detectors

import (
	"math"
	"time"
)

// diurnal is the platform's daily rhythm, ±amp around 1, phase in minutes.
func diurnal(minute, phase, amp float64) float64 {
	return 1 + amp*math.Sin(2*math.Pi*(minute+phase)/1440)
}

// track is one term's simulated counts, bucket by bucket.
type track struct {
	term     string
	mentions []float64
	reports  []float64
	creators []float64
	regions  [][]Count
	watch    *WatchMatch
}

func newTrack(term string, n int) *track {
	return &track{term: term, mentions: make([]float64, n), reports: make([]float64, n),
		creators: make([]float64, n), regions: make([][]Count, n)}
}

var simStart = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// observe is what the pipeline would hand the detectors for bucket i.
func (t *track) observe(i, history int, p Platform) *Observation {
	lo := max(0, i-history)
	return &Observation{
		Term:            t.term,
		Bucket:          simStart.Add(time.Duration(i) * time.Minute),
		Width:           time.Minute,
		Mentions:        t.mentions[i],
		Reports:         t.reports[i],
		UniqueCreators:  uint64(t.creators[i]),
		UniqueReporters: uint64(t.reports[i]),
		Regions:         t.regions[i],
		Samples:         []string{t.term + "#1", t.term + "#2"},
		MentionHistory:  t.mentions[lo:i],
		ReportHistory:   t.reports[lo:i],
		CreatorHistory:  t.creators[lo:i],
		DayAgo:          math.NaN(),
		Watch:           t.watch,
		Platform:        p,
	}
}

// spread splits n mentions over regions in fixed Zipf shares, the first the
// largest; the detectors only compare shares with a threshold.
func spread(n float64, labels ...string) []Count {
	w := 0.0
	for i := range labels {
		w += 1 / float64(i+1)
	}
	out := make([]Count, len(labels))
	for i, l := range labels {
		out[i] = Count{Label: l, N: uint64(math.Round(n / float64(i+1) / w))}
	}
	return out
}

// platform is the platform context for simulated buckets.
func platform(minute, phase float64) Platform {
	d := diurnal(minute, phase, 0.5)
	return Platform{Mentions: 9000 * d, Events: 3000 * d,
		MentionsPerCreator: 1.1, Reports: 6 * d, ReportRate: 0.002}
}
