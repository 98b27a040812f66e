package gen

import (
	"fmt"
	"math"
	"time"

	"github.com/trendwatch/trendwatch/event"
)

// Scenario levels are mentions (or reports) per minute at Rate 50, so a surge's
// plateau is at least 20× a detector's minimum support of a couple of mentions a
// minute. Above Rate 50 they grow with Rate so they stand out as much against a
// busier platform; below it they keep these levels.
const referenceRate = 50

const (
	organicBefore, organicLevel, organicAfter = 0.05, 60, 3
	dangerBase, dangerLevel                   = 4, 40
	dangerReportFrac                          = 0.15 // share of dangerous posts reported at the peak
	pushLevel                                 = 48
	pushAccounts                              = 6
	waveMentions                              = 20   // the wave's sound: mean mentions per minute
	waveReportFrac                            = 0.15 // share of the sound's posts reported in the wave
	slowFrom, slowTo                          = 5, 40
	dailyBase                                 = 8
	dailyPeakGain                             = 2 // peak = (1+gain) × base
	dailySigma                                = 90 * time.Minute
	dailyPeakLocal                            = 21 * time.Hour
	dailyRegion                               = regNP
	pushRegion                                = regID
	scenarioGap                               = 2 * time.Minute
)

// Dangerous terms: fixed, because a watchlist names them.
const (
	dangerTag     = "blackoutchallenge"
	dangerTagDeva = "ब्लैकआउटचैलेंज"
)

// DefaultWatchlist returns watchlist entries (term keys) that match the dangerous
// scenario's terms, for the demo and tests.
func DefaultWatchlist() []string {
	return []string{"hashtag:" + dangerTag, "hashtag:" + dangerTagDeva}
}

// organicNames are the organic challenge's hashtag, picked by seed so that runs
// with different seeds bring a hashtag that is new to a running pipeline.
var organicNames = [...]string{
	"SareeTwirlChallenge", "MomoFlipChallenge", "RiceBucketDance", "KitePaperChallenge",
	"TeaPourChallenge", "StairStepDance", "MirrorSwapChallenge", "MangoCatchChallenge",
}

const (
	pushName  = "BersatuUntukNegeri"
	pushText  = "Ayo dukung! Bersatu untuk negeri 🇮🇩 #BersatuUntukNegeri"
	slowName  = "BalconyGarden"
	dailyName = "साँझकोभक्ति"
)

// phases is the time shape of an injected anomaly: a ramp to its level, a hold and
// a decay back.
type phases struct{ ramp, hold, decay time.Duration }

func (p phases) total() time.Duration { return p.ramp + p.hold + p.decay }

// scale shrinks p by k in whole minutes, so every phase starts on a bucket, each
// phase at least a minute long and the whole no longer than limit.
func (p phases) scale(k float64, limit time.Duration) phases {
	f := func(d time.Duration) time.Duration {
		return max(time.Minute, time.Duration(float64(d)*k).Round(time.Minute))
	}
	total := min(limit.Truncate(time.Minute), f(p.total()))
	out := phases{ramp: f(p.ramp), decay: f(p.decay)}
	out.hold = max(time.Minute, total-out.ramp-out.decay)
	return out
}

var nominal = map[string]phases{
	OrganicSurge:    {5 * time.Minute, 20 * time.Minute, 10 * time.Minute},
	DangerousSurge:  {10 * time.Minute, 15 * time.Minute, 10 * time.Minute},
	CoordinatedPush: {2 * time.Minute, 20 * time.Minute, 3 * time.Minute},
	ReportWave:      {1 * time.Minute, 15 * time.Minute, 1 * time.Minute},
}

// layout places anomalies of the given nominal shapes one after another in
// [from, to) with even gaps. When they do not fit, they shrink together, each to no
// less than minScenarioSpan, and then overlap, spread evenly. Onsets fall on whole
// minutes.
func layout(from, to time.Time, shapes []phases) ([]time.Time, []phases) {
	n := len(shapes)
	if n == 0 {
		return nil, nil
	}
	avail := to.Sub(from)
	var sum time.Duration
	for _, p := range shapes {
		sum += p.total()
	}
	k := 1.0
	gaps := time.Duration(n+1) * scenarioGap
	if sum+gaps > avail {
		k = max(0, float64(avail-gaps)/float64(sum))
	}
	scaled := make([]phases, n)
	var total time.Duration
	for i, p := range shapes {
		ki := min(1, max(k, float64(minScenarioSpan)/float64(p.total())), float64(avail)/float64(p.total()))
		scaled[i] = p.scale(ki, avail)
		total += scaled[i].total()
	}
	onsets := make([]time.Time, n)
	if free := avail - total; free >= 0 {
		gap := free / time.Duration(n+1)
		at := from
		for i, p := range scaled {
			at = at.Add(gap)
			onsets[i] = at
			at = at.Add(p.total())
		}
	} else {
		for i, p := range scaled {
			room := avail - p.total()
			if n > 1 {
				onsets[i] = from.Add(time.Duration(float64(room) * float64(i) / float64(n-1)))
			} else {
				onsets[i] = from.Add(room / 2)
			}
		}
	}
	for i, p := range scaled {
		o := ceilMinute(onsets[i])
		if o.Add(p.total()).After(to) {
			o = to.Add(-p.total()).Truncate(time.Minute)
		}
		if o.Before(from) {
			o = from
		}
		onsets[i] = o
	}
	return onsets, scaled
}

func ceilMinute(t time.Time) time.Time {
	f := t.Truncate(time.Minute)
	if f.Before(t) {
		return f.Add(time.Minute)
	}
	return f
}

// envelope is a level over time following phases from onset, in units per minute.
type envelope struct {
	onset, peak, fall, end int64 // unix ns
	before, level, after   float64
}

func newEnvelope(onset time.Time, p phases, before, level, after float64) envelope {
	o := onset.UnixNano()
	return envelope{
		onset: o, peak: o + int64(p.ramp), fall: o + int64(p.ramp+p.hold), end: o + int64(p.total()),
		before: before, level: level, after: after,
	}
}

func (e *envelope) at(t int64) float64 {
	switch {
	case t < e.onset:
		return e.before
	case t < e.peak:
		return lerp(e.before, e.level, float64(t-e.onset)/float64(e.peak-e.onset))
	case t < e.fall:
		return e.level
	case t < e.end:
		return lerp(e.level, e.after, float64(t-e.fall)/float64(e.end-e.fall))
	}
	return e.after
}

// progress is how far the level is between before and level: 0 outside the
// anomaly, 1 on its plateau.
func (e *envelope) progress(t int64) float64 {
	if e.level == e.before || t < e.onset || t >= e.end {
		return 0
	}
	return (e.at(t) - e.before) / (e.level - e.before)
}

func lerp(a, b, f float64) float64 { return a + (b-a)*f }

// scenario is one injected anomaly while the generator runs.
type scenario struct {
	name string
	env  envelope // posts per minute; reports per minute for the report wave
	tag  int      // index into Generator.stags; -1 for none
	tag2 int      // a second tag on some posts; -1 for none
	ring *ring    // recent posts the scenario's extra reports reference

	posts, reports float64 // per second, at the tick being filled
}

// stag is a scenario hashtag and the spellings users type it in.
type stag struct {
	term      string // "hashtag:…", normalised
	spellings []string
	cum       []float64 // cumulative weights of spellings
}

// latinSpellings are the ways a Latin-script hashtag given in CamelCase is typed.
func latinSpellings(camel string) ([]string, []float64) {
	lower := []byte(nil)
	for _, c := range []byte(camel) {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower = append(lower, c)
	}
	full := []byte("＃")
	for _, r := range camel {
		full = append(full, string(rune(r)-0x21+0xFF01)...)
	}
	return []string{
			"#" + camel,
			string(lower),
			"#" + string(lower),
			string(appendSpelling(nil, lower, false, spellShout)),
			string(full),
		},
		[]float64{0.35, 0.25, 0.20, 0.10, 0.10}
}

// devanagariSpellings are the ways a Devanagari hashtag is typed.
func devanagariSpellings(tag string) ([]string, []float64) {
	return []string{
			"#" + tag,
			tag,
			string(appendSpelling(nil, []byte(tag), true, spellShout)),
			string(appendSpelling(nil, []byte(tag), true, spellFullwidth)),
		},
		[]float64{0.45, 0.25, 0.20, 0.10}
}

func newStag(spellings []string, weights []float64) (stag, error) {
	norm, err := event.NormaliseHashtag(spellings[0], event.DefaultLimits().MaxHashtagRunes)
	if err != nil {
		return stag{}, fmt.Errorf("normalise scenario hashtag %q: %w", spellings[0], err)
	}
	s := stag{term: "hashtag:" + norm, spellings: spellings, cum: make([]float64, len(weights))}
	acc := 0.0
	for i, sp := range spellings {
		n, err := event.NormaliseHashtag(sp, event.DefaultLimits().MaxHashtagRunes)
		if err != nil {
			return stag{}, fmt.Errorf("normalise spelling %q: %w", sp, err)
		}
		if n != norm {
			return stag{}, fmt.Errorf("spelling %q normalises to %q, not %q", sp, n, norm)
		}
		acc += weights[i]
		s.cum[i] = acc
	}
	s.cum[len(s.cum)-1] = math.Inf(1)
	return s, nil
}

func (s *stag) pick(u float64) uint8 {
	for i, c := range s.cum {
		if u < c {
			return uint8(i)
		}
	}
	return 0
}

// dailyBump is the daily peak's factor over its base at t: a Gaussian in time of
// day around dailyPeakLocal in dailyRegion's zone, the same every day.
func dailyBump(t int64) float64 {
	d := localHour(t, regions[dailyRegion].utcOffset) - dailyPeakLocal.Hours()
	if d < -12 {
		d += 24
	} else if d >= 12 {
		d -= 24
	}
	s := dailySigma.Hours()
	return 1 + dailyPeakGain*math.Exp(-d*d/(2*s*s))
}

// dailyPeakNear returns the daily peak instant closest to t.
func dailyPeakNear(t time.Time) time.Time {
	utc := dailyPeakLocal - time.Duration(regions[dailyRegion].utcOffset)*time.Minute
	day := t.UTC().Truncate(24 * time.Hour)
	best := day.Add(utc)
	for _, d := range []int{-2, -1, 1, 2} {
		c := day.Add(utc + time.Duration(d)*24*time.Hour)
		if c.Sub(t).Abs() < best.Sub(t).Abs() {
			best = c
		}
	}
	return best
}

func clampTime(t, lo, hi time.Time) time.Time {
	if t.Before(lo) {
		return lo
	}
	if t.After(hi) {
		return hi
	}
	return t
}
