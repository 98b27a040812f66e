package detectors

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// explanation builds the key=value line behind a finding: every number the
// decision used, so a person can check it without rerunning anything.
type explanation struct {
	b strings.Builder
}

func (x *explanation) str(k, v string) *explanation {
	if x.b.Len() > 0 {
		x.b.WriteByte(' ')
	}
	x.b.WriteString(k)
	x.b.WriteByte('=')
	x.b.WriteString(v)
	return x
}

func (x *explanation) num(k string, v float64) *explanation { return x.str(k, fmtNum(v)) }

func (x *explanation) count(k string, v int) *explanation { return x.str(k, strconv.Itoa(v)) }

func (x *explanation) test(prefix string, e evidence) *explanation {
	x.count(prefix+"window", e.window)
	x.num(prefix+"observed", e.observed)
	x.num(prefix+"expected", e.expected)
	x.num(prefix+"z", e.z)
	return x.num(prefix+"growth", e.growth)
}

// context adds what is known of the term in the bucket besides the test.
func (x *explanation) context(o *Observation) *explanation {
	x.num("mentions", o.Mentions)
	x.str("creators", strconv.FormatUint(o.UniqueCreators, 10))
	if o.UniqueCreators > 0 {
		x.num("mentions_per_creator", o.Mentions/float64(o.UniqueCreators))
	}
	if o.Platform.MentionsPerCreator > 0 {
		// Unknown (0) in an open bucket, whose creators are partial: left
		// out rather than read as "0 posts per account is normal".
		x.num("platform_mentions_per_creator", o.Platform.MentionsPerCreator)
	}
	x.count("history", len(o.MentionHistory))
	x.num("day_ago", o.DayAgo)
	if len(o.Regions) > 0 {
		x.str("regions", fmtCounts(o.Regions, 5))
	}
	x.num("reports", o.Reports)
	x.str("reporters", strconv.FormatUint(o.UniqueReporters, 10))
	if o.Mentions > 0 {
		x.num("report_rate", o.Reports/o.Mentions)
	}
	if len(o.ReportReasons) > 0 {
		x.str("reasons", fmtCounts(o.ReportReasons, 3))
	}
	if w := o.Watch; w != nil {
		x.str("watch", w.Pattern).str("risk", w.Risk.String()).str("category", w.Category)
		if w.Spelling {
			x.str("watch_spelling", "1")
		}
	}
	if o.IncidentOpen {
		x.str("incident_open", "1")
	}
	return x
}

func (x *explanation) String() string { return x.b.String() }

func fmtCounts(cs []Count, k int) string {
	var b strings.Builder
	for i, c := range cs[:min(k, len(cs))] {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(c.Label)
		b.WriteByte(':')
		b.WriteString(strconv.FormatUint(c.N, 10))
	}
	return b.String()
}

// fmtNum writes a number with the precision a person needs: whole counts for big
// numbers, three significant digits for small ones.
func fmtNum(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return strconv.FormatFloat(v, 'f', -1, 64)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

// perBucket names the bucket width in a rate: "/min", "/5m", "/h".
func perBucket(w time.Duration) string {
	switch {
	case w <= 0:
		return "/bucket"
	case w == time.Minute:
		return "/min"
	case w == time.Hour:
		return "/h"
	case w%time.Hour == 0:
		return "/" + strconv.Itoa(int(w/time.Hour)) + "h"
	case w%time.Minute == 0:
		return "/" + strconv.Itoa(int(w/time.Minute)) + "m"
	default:
		return "/" + w.String()
	}
}

// summary is the one line a person reads at 3 a.m.:
//
//	SURGE hashtag:blackoutchallenge 412/min vs 38 expected (10.8×, z=19.2), 380 creators, IN NP US; watchlist dangerous_challenge
//
// what names the counted thing when it is not mentions ("reports"); extra is
// detector-specific context placed before the regions.
func summary(tag string, o *Observation, observed, expected, z float64, what, extra string) string {
	var b strings.Builder
	b.WriteString(tag)
	b.WriteByte(' ')
	b.WriteString(o.Term)
	b.WriteByte(' ')
	if p := o.Projected; p != nil && what == "" {
		// An early look's count is counted so far plus the least the rest
		// of the bucket brings: the number a responder would check
		// against the rows is the first.
		b.WriteString(fmtCount(p.Counted))
		b.WriteString(" in the bucket's first ")
		b.WriteString(p.Elapsed.Round(time.Second).String())
		if fmtCount(observed) != fmtCount(p.Counted) {
			b.WriteString(", at least ")
			b.WriteString(fmtCount(observed))
			b.WriteString(perBucket(o.Width))
			b.WriteString(" by its end")
		}
	} else {
		b.WriteString(fmtCount(observed))
		if what != "" {
			b.WriteByte(' ')
			b.WriteString(what)
		}
		b.WriteString(perBucket(o.Width))
	}
	b.WriteString(" vs ")
	b.WriteString(fmtCount(expected))
	b.WriteString(" expected (")
	b.WriteString(strconv.FormatFloat(observed/expected, 'f', 1, 64))
	b.WriteString("×, z=")
	b.WriteString(strconv.FormatFloat(z, 'f', 1, 64))
	b.WriteString("), ")
	if o.PartialCreators {
		// Counted over part of the bucket only (an open bucket, or a term
		// tracked since within it): a reader takes the number for the
		// bucket's accounts, and it is fewer.
		b.WriteString("at least ")
	}
	b.WriteString(strconv.FormatUint(o.UniqueCreators, 10))
	b.WriteString(" creators")
	if extra != "" {
		b.WriteString(", ")
		b.WriteString(extra)
	}
	if len(o.Regions) > 0 {
		b.WriteString(",")
		for _, r := range o.Regions[:min(3, len(o.Regions))] {
			b.WriteByte(' ')
			b.WriteString(r.Label)
		}
	}
	if w := o.Watch; w != nil {
		b.WriteString("; watchlist ")
		b.WriteString(w.Category)
		if w.Spelling {
			b.WriteString(", another spelling of ")
			b.WriteString(w.Pattern)
		}
	}
	return b.String()
}

// fmtCount writes a count, or an expectation of one: whole numbers and
// anything from 10 up without decimals, below that one decimal, and below 1
// two significant digits. A report wave's expectation is often 0.05 (the
// floor): written "0.1", the summary read "20 reports/min vs 0.1 expected
// (400.0×" where 20 is 200 times 0.1.
func fmtCount(v float64) string {
	switch {
	case v >= 10 || v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v < 1:
		return strconv.FormatFloat(v, 'g', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}
