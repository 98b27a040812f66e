package review

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/family"
	"github.com/trendwatch/trendwatch/trend"
)

// Page is one alert's review, every value ready to print.
type Page struct {
	Key, Detector, Term string
	// VerdictArgs are the arguments that name the store the review read
	// (--parquet DIR, --clickhouse ADDR, --database DB), for the verdict
	// command an unreviewed page offers; nil for the configured one.
	VerdictArgs []string
	Severity    string // the highest the alert reached
	Status      string // where it ended
	Summary     string // the detector's one line at the first alert
	Lead        string // what happened, in one paragraph of plain words
	// Spellings are, for a term family's alert, its spellings and their
	// shares of the first alerting minute ("#a 60%, #b 40%"); "" otherwise.
	Spellings string
	// SameAs is the hashtag term a challenge's alert is one with (its
	// explanation's same_as): the challenge is in that hashtag's incident.
	SameAs string
	// Family is the term's family ("family:…"): the term itself when it is
	// one, "" for a term without.
	Family string
	// Variants are the spellings of the term's challenge over the episode,
	// most posts first, when there are several (or the term is a family);
	// nil otherwise.
	Variants []Spelling
	// Challenge is the challenge's own count over the episode, from its
	// family's rows: each post once, however many spellings it carries, and
	// the posts of spellings too rare to have rows of their own; nil when the
	// page lists no Variants or the family's rows are not known.
	Challenge *Spelling

	// Early: the alert was raised on a minute still open (early firing),
	// on its posts so far. Retracted: the minute's final count did not bear
	// it out, and the alert was taken back (Resolved is then when).
	Early, Retracted bool

	// Onset is the first minute of the rise (onset); zero where the alert
	// has none, OnsetNote saying why: a trusted channel's report raises one
	// by rule, not on a rise above an expected level, and a retracted
	// alert's rise was an early count the minute's final count did not bear
	// out. OnsetCut: the rise runs back to the first minute read, so it
	// began at or before Onset, and Delay is at least what it says.
	Onset, FirstAlert, Resolved time.Time // Resolved is zero while open
	OnsetCut                    bool
	OnsetNote                   string
	Escalations                 []time.Time
	Delay                       time.Duration // FirstAlert - Onset; 0 without an onset
	Level                       float64       // the alert's expected level: "above normal" means above it
	LevelOf                     string        // the series Level applies to: "mentions" or "reports"

	Peak     float64 // most mentions in one minute of the episode
	PeakAt   time.Time
	Mentions uint64 // over the episode, onset to resolution (or last minute)
	Reports  uint64
	// ByChannel breaks Reports down by the channel they came by, most first;
	// nil when every report was a user's, which the total already says.
	ByChannel      []ChannelReports
	MaxCreators    uint64
	EpisodeMinutes int

	Charts      []Chart
	Timeline    []Step
	Explanation []Phrase
	Regions     []Share
	Langs       []Share
	Reasons     []Share
	Samples     []string
	Verdict     *Verdict
	// Opening is which opening of the alert the page is, from 0
	// (Incident.Opening); PageFileName tells them apart.
	Opening int
}

// ChannelReports is how many of an episode's reports came by one channel.
type ChannelReports struct {
	Channel string // "law enforcement"
	N       uint64
}

// reportsByChannel sums the episode's reports by channel.
func reportsByChannel(episode []trend.Minute) []ChannelReports {
	var sum [event.NumChannels]uint64
	for i := range episode {
		for c, n := range episode[i].ReportsByChannel {
			sum[c] += n
		}
	}
	var out []ChannelReports
	others := false
	for c, n := range sum {
		if n == 0 {
			continue
		}
		others = others || event.Channel(c) != event.ChannelUser
		out = append(out, ChannelReports{Channel: strings.ReplaceAll(event.Channel(c).String(), "_", " "), N: n})
	}
	if !others {
		return nil
	}
	slices.SortStableFunc(out, func(a, b ChannelReports) int { return cmp.Compare(b.N, a.N) })
	return out
}

// Spelling is one spelling of a challenge during an episode, as its own
// rows count it: a spelling the pipeline did not track has no rows and is
// not among them, and a post carrying two spellings counts for each.
type Spelling struct {
	Term  string
	Posts uint64 // over the episode
	// Share is Posts over all the listed spellings' posts, in percent.
	Share float64
	// Busiest is its most posts in one minute of the episode, at BusiestAt.
	Busiest   uint64
	BusiestAt time.Time
	// First is its first minute with a post in the review's span, which
	// begins an hour before the onset: a spelling first seen during the
	// episode is one the challenge spread to.
	First time.Time
}

// variants sums the spellings' minutes (by term, then bucket) over the
// episode [onset, end], most posts first; nil when there are fewer than least
// spellings with posts in it.
func variants(mins []trend.Minute, onset, end time.Time, least int) []Spelling {
	var out []Spelling
	var total uint64
	for i := 0; i < len(mins); {
		j := i
		for j < len(mins) && mins[j].Term == mins[i].Term {
			j++
		}
		s := spelling(mins[i:j], onset, end)
		i = j
		if s.Posts > 0 {
			out = append(out, s)
			total += s.Posts
		}
	}
	if len(out) < least {
		return nil
	}
	for i := range out {
		out[i].Share = round1(100 * float64(out[i].Posts) / float64(total))
	}
	slices.SortStableFunc(out, func(a, b Spelling) int { return cmp.Or(cmp.Compare(b.Posts, a.Posts), cmp.Compare(a.Term, b.Term)) })
	return out
}

// spelling sums one term's minutes (in bucket order) over the episode
// [onset, end]; its first sighting is looked for in all of them.
func spelling(mins []trend.Minute, onset, end time.Time) Spelling {
	var s Spelling
	if len(mins) > 0 {
		s.Term = mins[0].Term
	}
	for i := range mins {
		m := &mins[i]
		if m.Mentions > 0 && s.First.IsZero() {
			s.First = m.Bucket
		}
		if m.Bucket.Before(onset) || m.Bucket.After(end) {
			continue
		}
		s.Posts += m.Mentions
		if m.Mentions > s.Busiest {
			s.Busiest, s.BusiestAt = m.Mentions, m.Bucket
		}
	}
	return s
}

// channels says which channels the episode's reports came by.
func channels(p Page) string {
	if len(p.ByChannel) == 0 {
		return "Every report came from users of the platform; none from a partner, regulator, law enforcement, the media or an internal team."
	}
	parts := make([]string, len(p.ByChannel))
	for i, c := range p.ByChannel {
		name := c.Channel
		if c.Channel == event.ChannelUser.String() {
			name = "users"
		}
		parts[i] = count(c.N) + " from " + name
	}
	return "Reports by channel: " + strings.Join(parts, ", ") + "."
}

// Step is one lifecycle transition in words.
type Step struct {
	At       time.Time
	What     string
	Severity string
	Summary  string
}

// Share is how often a region, language or reason led the term's minutes
// during the episode: the aggregates keep a ranked list per minute, not counts.
type Share struct {
	Label   string
	First   int // minutes it was the top one
	Listed  int // minutes it was among the top few
	Minutes int // minutes of the episode with any data
}

// Chart is one per-minute series drawn as SVG, in a viewBox of Width×Height.
type Chart struct {
	Title      string
	Path       string // SVG path data of the line; empty when there is no data
	Area       string // the same line closed to the baseline, for the fill
	Width      int
	Height     int
	Max        float64 // value at the top of the plot
	LevelY     float64 // y of the expected level, -1 when not drawn
	Markers    []Marker
	From, To   time.Time
	Points     int
	PlotLeft   float64 // x of the y axis
	PlotTop    float64
	PlotBottom float64
}

// Marker is a moment drawn as a vertical line on a chart.
type Marker struct {
	X     float64
	Label string
	Class string // onset, alert, escalated, resolved
}

const (
	chartW, chartH = 1000, 220
	padL, padR     = 56.0, 16.0
	padT, padB     = 22.0, 26.0
	sparkW, sparkH = 160, 32
)

// Build turns an incident into a page.
func Build(inc *Incident) Page {
	first, last := inc.Events[0], inc.Events[len(inc.Events)-1]
	p := Page{
		Key:        last.Alert.Key,
		Detector:   last.Alert.Detector,
		Term:       last.Alert.Term,
		Status:     string(last.Alert.Status),
		Summary:    first.Alert.Summary,
		FirstAlert: first.At,
		Level:      first.Alert.Expected,
		LevelOf:    "mentions",
		Verdict:    inc.Verdict,
		Opening:    inc.Opening,
	}
	if onReports(first.Alert) {
		p.LevelOf = "reports"
	}
	if last.Reason == alert.ReasonRetracted {
		p.Status = alert.ReasonRetracted // it ended taken back, not back to normal
	}
	top := alert.Severity(0)
	samples := map[string]bool{}
	for _, e := range inc.Events {
		top = max(top, e.Alert.Severity)
		switch e.To {
		case alert.StatusOpen:
			p.Early = e.Alert.Early
		case alert.StatusEscalated:
			p.Escalations = append(p.Escalations, e.At)
		case alert.StatusResolved:
			p.Resolved = e.At
			p.Retracted = e.Reason == alert.ReasonRetracted
		}
		p.Timeline = append(p.Timeline, step(e))
		for _, s := range e.Alert.Samples {
			if !samples[s] {
				samples[s] = true
				p.Samples = append(p.Samples, s)
			}
		}
	}
	p.Severity = top.String()
	p.Explanation = Explain(first.Alert.Explanation)

	mins := inc.Minutes
	p.Family = familyOf(p.Term, mins)
	bucket := first.Alert.Bucket
	if bucket.IsZero() {
		bucket = first.At
	}
	// The episode runs from the onset, or from the alert's own minute where
	// there is none, to the resolution.
	start := bucket
	trusted := first.Alert.Detector == detectors.NameTrustedReport
	switch {
	case trusted:
		p.OnsetNote = "a report from a trusted channel raises the alert by rule, not on a rise above an expected level"
	case p.Retracted:
		p.OnsetNote = "an early count suggested a rise that the minute's final count did not bear out"
	default:
		p.Onset, p.OnsetCut = onset(mins, p.LevelOf, p.Level, bucket, readFrom(first))
		p.Delay = p.FirstAlert.Sub(p.Onset)
		start = p.Onset
	}

	end := p.Resolved
	if end.IsZero() && len(mins) > 0 {
		end = mins[len(mins)-1].Bucket
	}
	var episode []trend.Minute
	for _, m := range mins {
		if m.Bucket.Before(start) || m.Bucket.After(end) {
			continue
		}
		episode = append(episode, m)
		// The busiest minute is the episode's: the hour read before it, or
		// another opening of the key, is not this alert's story.
		if v := float64(m.Mentions); v > p.Peak {
			p.Peak, p.PeakAt = v, m.Bucket
		}
	}
	p.EpisodeMinutes = len(episode)
	for _, m := range episode {
		p.Mentions += m.Mentions
		p.Reports += m.Reports
		p.MaxCreators = max(p.MaxCreators, m.UniqueCreators)
	}
	p.Regions = shares(episode, func(m *trend.Minute) []string { return m.TopRegions })
	p.Langs = shares(episode, func(m *trend.Minute) []string { return m.Langs })
	p.Reasons = shares(episode, func(m *trend.Minute) []string { return m.ReportReasons })
	p.ByChannel = reportsByChannel(episode)
	// A family's review lists its spellings even when one carried it all;
	// a hashtag's, the challenge's other spellings when it has any.
	least := 2
	if strings.HasPrefix(p.Term, family.Prefix) {
		least = 1
	}
	p.Variants = variants(inc.Spellings, start, end, least)
	fam := inc.Family
	if p.Term == p.Family {
		fam = mins
	}
	if s := spelling(fam, start, end); p.Variants != nil && s.Posts > 0 {
		p.Challenge = &s
	}

	for _, ph := range p.Explanation {
		if ph.Key == "members" && strings.HasPrefix(p.Term, family.Prefix) {
			p.Spellings = spellingList(ph.Value)
		}
		if ph.Key == alert.SameAs {
			p.SameAs = ph.Value
		}
	}
	p.Lead = p.lead()

	var from, to time.Time
	if len(mins) > 0 {
		from, to = mins[0].Bucket, mins[len(mins)-1].Bucket
	}
	from, to = earliest(from, p.Onset, p.FirstAlert), latest(to, p.FirstAlert, p.Resolved)
	marks := p.marks()
	for _, s := range []struct {
		title string
		v     func(*trend.Minute) float64
		level string
	}{
		{"Posts using the term, per minute", func(m *trend.Minute) float64 { return float64(m.Mentions) }, "mentions"},
		{"Different accounts posting it, per minute", func(m *trend.Minute) float64 { return float64(m.UniqueCreators) }, ""},
		{"User reports, per minute", func(m *trend.Minute) float64 { return float64(m.Reports) }, "reports"},
	} {
		// A trusted report's alert expects none by rule: there is no
		// level to draw.
		level := -1.0
		if s.level == p.LevelOf && !trusted {
			level = p.Level
		}
		p.Charts = append(p.Charts, chart(s.title, mins, s.v, from, to, level, marks, chartW, chartH))
	}
	return p
}

func step(e alert.Event) Step {
	s := Step{At: e.At, Severity: e.Alert.Severity.String(), Summary: e.Alert.Summary}
	switch e.To {
	case alert.StatusOpen:
		s.What = "Alert raised"
		if e.Alert.Early {
			s.What = "Alert raised early, on the minute's posts so far"
		}
	case alert.StatusEscalated:
		s.What = "Escalated"
	case alert.StatusResolved:
		s.What = "Resolved: back to normal"
		if e.Reason == alert.ReasonRetracted {
			s.What = "Retracted: the minute's final count did not bear the early alert out"
		}
	default:
		s.What = "Changed to " + string(e.To)
	}
	return s
}

// onset is the first bucket of the episode: walking back from the bucket that
// raised the alert, the earliest of the unbroken run of buckets above the
// alert's expected level. A gap in the rows ends the run: the term was not
// counted then. Without rows it is the alert's own bucket. cut says the run
// reaches back to the first bucket read (from): whether the bucket before it
// was calm is not known, so the rise began at or before the onset.
func onset(mins []trend.Minute, of string, level float64, alertBucket, from time.Time) (start time.Time, cut bool) {
	i := -1
	for j := range mins {
		if !mins[j].Bucket.After(alertBucket) {
			i = j
		}
	}
	if i < 0 {
		return alertBucket, false
	}
	width := bucketWidth(mins)
	value := func(m *trend.Minute) float64 {
		if of == "reports" {
			return float64(m.Reports)
		}
		return float64(m.Mentions)
	}
	start = alertBucket
	for j := i; j >= 0; j-- {
		if value(&mins[j]) <= level {
			return start, false
		}
		if j < i && mins[j+1].Bucket.Sub(mins[j].Bucket) != width {
			return start, false
		}
		start = mins[j].Bucket
	}
	return start, !from.IsZero() && mins[0].Bucket.Sub(from) < width
}

// onReports says whether a counts reports, not posts: a report_rate or
// trusted_report alert, or one the watchlist raised on reports, whose
// explanation, as every finding on reports writes it, has the reports the
// posts alone would explain (expected_by_mentions).
func onReports(a alert.Alert) bool {
	switch a.Detector {
	case detectors.NameReportRate, detectors.NameTrustedReport:
		return true
	}
	_, ok := alert.Fields(a.Explanation)["expected_by_mentions"]
	return ok
}

// bucketWidth is the smallest step between rows, a minute when it cannot tell.
func bucketWidth(mins []trend.Minute) time.Duration {
	w := time.Duration(0)
	for j := 1; j < len(mins); j++ {
		if d := mins[j].Bucket.Sub(mins[j-1].Bucket); d > 0 && (w == 0 || d < w) {
			w = d
		}
	}
	if w == 0 {
		return time.Minute
	}
	return w
}

func shares(mins []trend.Minute, list func(*trend.Minute) []string) []Share {
	by := map[string]*Share{}
	n := 0
	for i := range mins {
		l := list(&mins[i])
		if len(l) > 0 {
			n++
		}
		for j, label := range l {
			s := by[label]
			if s == nil {
				s = &Share{Label: label}
				by[label] = s
			}
			s.Listed++
			if j == 0 {
				s.First++
			}
		}
	}
	out := make([]Share, 0, len(by))
	for _, s := range by {
		s.Minutes = n
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b Share) int {
		return cmp.Or(cmp.Compare(b.First, a.First), cmp.Compare(b.Listed, a.Listed), strings.Compare(a.Label, b.Label))
	})
	return out[:min(len(out), 5)]
}

func (p *Page) marks() []mark {
	began := "began"
	if p.OnsetCut {
		began = "began at or before"
	}
	ms := []mark{{p.Onset, "onset", began}, {p.FirstAlert, "alert", "first alert"}}
	for _, t := range p.Escalations {
		ms = append(ms, mark{t, "escalated", "escalated"})
	}
	if !p.Resolved.IsZero() {
		ms = append(ms, mark{p.Resolved, "resolved", "resolved"})
	}
	return ms
}

type mark struct {
	at           time.Time
	class, label string
}

func earliest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if !t.IsZero() && (out.IsZero() || t.Before(out)) {
			out = t
		}
	}
	return out
}

func latest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}

// chart lays out one series. The x axis is time, so gaps in the rows show as
// zeros (an untracked term had no counted posts), and markers line up across
// the three charts of a page.
func chart(title string, mins []trend.Minute, v func(*trend.Minute) float64, from, to time.Time, level float64, marks []mark, w, h int) Chart {
	c := Chart{Title: title, Width: w, Height: h, From: from, To: to, LevelY: -1, Points: len(mins)}
	pl, pr, pt, pb := padL, padR, padT, padB
	if w <= sparkW {
		pl, pr, pt, pb = 1, 1, 2, 2
	}
	c.PlotLeft, c.PlotTop, c.PlotBottom = pl, pt, float64(h)-pb
	span := to.Sub(from)
	if span <= 0 {
		span = time.Minute
	}
	x := func(t time.Time) float64 {
		return pl + (float64(w)-pl-pr)*float64(t.Sub(from))/float64(span)
	}
	for i := range mins {
		c.Max = max(c.Max, v(&mins[i]))
	}
	c.Max = max(c.Max, level)
	c.Max = niceCeil(c.Max)
	y := func(f float64) float64 { return c.PlotBottom - (c.PlotBottom-c.PlotTop)*f/c.Max }
	if level >= 0 {
		c.LevelY = round1(y(level))
	}
	var b strings.Builder
	width := bucketWidth(mins)
	for i := range mins {
		m := &mins[i]
		cmd := "L"
		switch {
		case i == 0:
			cmd = "M"
		case m.Bucket.Sub(mins[i-1].Bucket) > width:
			// Drop to zero across a gap rather than drawing a slope through it.
			fmt.Fprintf(&b, "L%s %sL%s %s", num(x(mins[i-1].Bucket.Add(width))), num(y(0)), num(x(m.Bucket.Add(-width))), num(y(0)))
		}
		fmt.Fprintf(&b, "%s%s %s", cmd, num(x(m.Bucket)), num(y(v(m))))
	}
	c.Path = b.String()
	if len(mins) > 0 {
		c.Area = c.Path + fmt.Sprintf("L%s %sL%s %sZ", num(x(mins[len(mins)-1].Bucket)), num(y(0)), num(x(mins[0].Bucket)), num(y(0)))
	}
	for _, m := range marks {
		if m.at.IsZero() {
			continue
		}
		c.Markers = append(c.Markers, Marker{X: round1(x(m.at)), Label: m.label, Class: m.class})
	}
	return c
}

// Spark is a small chart of mentions with the alert's moments, for the digest.
func Spark(p *Page, mins []trend.Minute) Chart {
	from, to := p.Onset, p.Onset
	if len(mins) > 0 {
		from, to = mins[0].Bucket, mins[len(mins)-1].Bucket
	}
	from, to = earliest(from, p.Onset, p.FirstAlert), latest(to, p.FirstAlert, p.Resolved)
	return chart("", mins, func(m *trend.Minute) float64 { return float64(m.Mentions) }, from, to, -1, p.marks(), sparkW, sparkH)
}

// niceCeil rounds a chart's top up to 1, 2 or 5 times a power of ten, so the
// axis label is a number a person reads at a glance.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

func num(f float64) string { return strconv.FormatFloat(round1(f), 'f', -1, 64) }

// OnsetWhen is when activity rose above normal, as the page's facts say it.
func (p Page) OnsetWhen() string {
	if p.Onset.IsZero() && p.OnsetNote != "" {
		return "— (" + p.OnsetNote + ")"
	}
	return onsetWhen(p.Onset, p.OnsetCut)
}

// DelayWords is the detection delay, as the page's facts say it.
func (p Page) DelayWords() string { return delayWords(p.Onset, p.Delay, p.OnsetCut) }

// lead tells the story of the alert in the order it happened.
func (p *Page) lead() string {
	term := isolate(p.Term)
	if p.Spellings != "" {
		// A family is one challenge under several spellings; its key alone
		// reads as a typo.
		term = "one challenge under several spellings (" + p.Spellings + "; counted together as " + isolate(p.Term) + ")"
	}
	what := "Posts using " + term
	if p.LevelOf == "reports" {
		what = "User reports on " + term
	}
	sev := p.Timeline[0].Severity
	atOr := "at"
	if p.OnsetCut {
		atOr = "at or before"
	}
	var b strings.Builder
	switch {
	case p.Retracted:
		// The final count took the rise back: there was none to date.
		fmt.Fprintf(&b, "trendwatch raised a %s alert on %s at %s UTC, when an early count of the posts of a minute still under way suggested a rise above the expected level.", sev, term, clock(p.FirstAlert))
	case p.Onset.IsZero():
		fmt.Fprintf(&b, "trendwatch raised a %s alert on %s at %s UTC on a report from a trusted channel%s, which raises one by rule, not on a rise above an expected level: there is no onset or detection delay to give.", sev, term, clock(p.FirstAlert), trustedChannel(p.Explanation))
	default:
		fmt.Fprintf(&b, "%s rose above the expected level %s %s UTC. ", what, atOr, clock(p.Onset))
		least := ""
		if p.OnsetCut {
			least = "at least "
		}
		if p.Delay > 0 {
			fmt.Fprintf(&b, "trendwatch raised a %s alert %s%s later, at %s.", sev, least, words(p.Delay), clock(p.FirstAlert))
		} else {
			fmt.Fprintf(&b, "trendwatch raised a %s alert in the same minute.", sev)
		}
	}
	for i, t := range p.Escalations {
		if i == 0 {
			fmt.Fprintf(&b, " It was escalated at %s", clock(t))
		} else {
			fmt.Fprintf(&b, " and again at %s", clock(t))
		}
		if i == len(p.Escalations)-1 {
			b.WriteString(".")
		}
	}
	if p.Peak > 0 {
		fmt.Fprintf(&b, " The busiest minute, %s UTC, had %s posts.", clock(p.PeakAt), count(p.Peak))
	}
	switch {
	case p.Retracted:
		fmt.Fprintf(&b, " The alert was retracted at %s UTC, when that minute's final count did not bear it out: a false alarm by trendwatch's own later judgement.", clock(p.Resolved))
	case p.Resolved.IsZero():
		fmt.Fprintf(&b, " The alert was still %s when this review was made.", p.Status)
	case p.Onset.IsZero():
		fmt.Fprintf(&b, " The alert resolved at %s UTC.", clock(p.Resolved))
	case p.OnsetCut:
		fmt.Fprintf(&b, " Activity was back to normal by %s UTC, at least %s after it began.", clock(p.Resolved), words(p.Resolved.Sub(p.Onset)))
	default:
		fmt.Fprintf(&b, " Activity was back to normal by %s UTC, %s after it began.", clock(p.Resolved), words(p.Resolved.Sub(p.Onset)))
	}
	if p.Early && !p.Retracted {
		b.WriteString(" It was raised early, on the posts of a minute still under way, and that minute's final count bore it out.")
	}
	return b.String()
}

// trustedChannel names the channel of a trusted report's alert from its
// explanation (" (regulator)"), "" when it has none.
func trustedChannel(ex []Phrase) string {
	for _, ph := range ex {
		if ph.Key == "channel" {
			return " (" + channelName(ph.Value) + ")"
		}
	}
	return ""
}
