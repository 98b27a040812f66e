package pipeline

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/sketches"
)

// series is a fixed-length ring of per-bucket counts, oldest first when read.
type series struct {
	buf  []float64
	n    int // values held, ≤ len(buf)
	head int // index of the next write
}

func newSeries(size int) *series { return &series{buf: make([]float64, size)} }

func (s *series) push(v float64) {
	s.buf[s.head] = v
	s.head = (s.head + 1) % len(s.buf)
	if s.n < len(s.buf) {
		s.n++
	}
}

// appendTo appends the held values, oldest first.
func (s *series) appendTo(dst []float64) []float64 {
	start := (s.head - s.n + len(s.buf)) % len(s.buf)
	if end := start + s.n; end <= len(s.buf) {
		return append(dst, s.buf[start:end]...)
	}
	dst = append(dst, s.buf[start:]...)
	return append(dst, s.buf[:s.head]...)
}

// labels counts a few distinct labels (regions, languages, reasons) exactly up to
// a cap; past it new labels are lumped, which only the long tail ever reaches.
type labels []detectors.Count

const maxLabels = 32

func (l *labels) add(label string) {
	if label == "" {
		return
	}
	for i := range *l {
		if (*l)[i].Label == label {
			(*l)[i].N++
			return
		}
	}
	if len(*l) < maxLabels {
		*l = append(*l, detectors.Count{Label: label, N: 1})
	}
}

// top returns the labels most first, ties by name so output is stable.
func (l labels) top(n int) []detectors.Count {
	out := append([]detectors.Count(nil), l...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].N != out[j].N {
			return out[i].N > out[j].N
		}
		return out[i].Label < out[j].Label
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

func names(cs []detectors.Count) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Label
	}
	return out
}

// termBucket is what a tracked term gathers in one open bucket beyond the counts
// the sketches already hold.
type termBucket struct {
	mentions uint64
	reports  uint64
	// byChannel counts reports by event.Channel: a handful of fixed slots, where
	// a map would cost an allocation per term and bucket.
	byChannel [event.NumChannels]uint64
	creators  distinct
	reporters distinct
	regions   labels
	langs     labels
	reasons   labels
	// members counts, for a family, the spellings its mentions came by.
	members labels
	samples []string
	// early is what the bucket's last early judgement saw (see
	// Engine.candidate).
	early struct {
		looked, complete bool
		mentions         float64
	}
}

// termState is one tracked term.
type termState struct {
	key   string
	kind  event.Kind
	hash  uint64
	watch *detectors.WatchMatch
	// family is the row's family column: the hashtag's family, a family itself,
	// "" for other kinds.
	family string

	open map[time.Time]*termBucket

	mentions *series
	reports  *series
	// creators holds the unique creators of the same buckets as mentions, 0
	// where unknown: buckets from before the term was tracked (the sketches
	// keep no per-term creators) and partial ones, whose HLL undercounts. The
	// coordination detector skips such buckets when it learns the term's own
	// mentions per creator.
	creators *series
	// histEnd is the start of the bucket right after the last one in the series.
	histEnd time.Time
	// exactFrom is the first bucket whose every event the term saw tracked:
	// before it, mentions come from the count-min and unique creators are
	// only those since tracking began.
	exactFrom time.Time
	quiet     int
	// tail is the detectors' memory of how spiky the term is (see detectors.Tail).
	tail detectors.Tail
}

// recentLevel is the median of the term's last five closed buckets, 0 when
// it has none: a cheap stand-in for its expected count.
func (st *termState) recentLevel() float64 {
	var buf [5]float64
	n := min(st.mentions.n, len(buf))
	for i := range n {
		buf[i] = st.mentions.buf[(st.mentions.head-1-i+2*len(st.mentions.buf))%len(st.mentions.buf)]
	}
	v := buf[:n]
	slices.Sort(v)
	if n == 0 {
		return 0
	}
	return v[n/2]
}

// pushHistory appends one closed bucket to the term's history; creators is 0
// when not known.
func (st *termState) pushHistory(mentions, reports, creators float64) {
	st.mentions.push(mentions)
	st.reports.push(reports)
	st.creators.push(creators)
}

func (e *Engine) bucketOf(st *termState, start time.Time) *termBucket {
	tb := st.open[start]
	if tb == nil {
		tb = &termBucket{}
		st.open[start] = tb
	}
	return tb
}

// termHLLPrecision is lower than the window's: thousands of terms each hold
// several, and ±1.6% on unique creators is plenty to tell 6 accounts from 600.
const termHLLPrecision = 12

func kindOf(key string) event.Kind {
	for i := 0; i < len(key); i++ {
		if key[i] == ':' {
			k, err := event.ParseKind(key[:i])
			if err != nil {
				return 0
			}
			return k
		}
	}
	return 0
}

// termFamily is the family column of key's rows.
func (e *Engine) termFamily(key string) string {
	switch kindOf(key) {
	case event.KindHashtag:
		return e.familyOf(sketches.Hash(key), key[len("hashtag:"):]).term
	case event.KindFamily:
		return key
	}
	return ""
}

// withMembers names, in the summary and explanation of a family's alert
// transitions, the spellings that made the bucket and their shares: the
// analyst sees at once that #bl4ckoutchallenge is a third of the surge.
func withMembers(evs []alert.Event, members labels, top int) {
	if len(evs) == 0 || len(members) == 0 {
		return
	}
	var total uint64
	for _, m := range members {
		total += m.N
	}
	var sum, exp strings.Builder
	for i, m := range members.top(top) {
		share := 100 * float64(m.N) / float64(total)
		if i > 0 {
			sum.WriteString(", ")
			exp.WriteByte(',')
		}
		fmt.Fprintf(&sum, "#%s %.0f%%", m.Label, share)
		fmt.Fprintf(&exp, "%s:%.0f%%", m.Label, share)
	}
	if len(members) > top {
		fmt.Fprintf(&sum, " and %d more", len(members)-top)
	}
	for i := range evs {
		a := &evs[i].Alert
		a.Summary += "; spellings: " + sum.String()
		a.Explanation += " members=" + exp.String()
	}
}

// maxMemberShare is the share of a family's mentions above which one spelling
// is the family: the family is then not judged, because that hashtag's own
// alert already says everything, and a page for each would double every surge.
const maxMemberShare = 0.9

// spread reports whether a family's bucket came by several spellings, none of
// them over maxMemberShare of it.
func spread(tb *termBucket) bool {
	if tb == nil || len(tb.members) < 2 {
		return false
	}
	var total, top uint64
	for _, m := range tb.members {
		total += m.N
		top = max(top, m.N)
	}
	return float64(top) < maxMemberShare*float64(total)
}
