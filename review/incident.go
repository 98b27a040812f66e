package review

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/trend"
)

// IncidentPage is one incident of the digest on a page of its own: every
// alert one challenge raised that day (each detector, each spelling), on one
// timeline, with a chart of each term's posts and the challenge's spellings.
// It is what a write-up for Legal and Comms starts from; each alert's own
// review has the detector's numbers.
type IncidentPage struct {
	Name      string // the first term alerted on
	Date      time.Time
	Terms     []string
	Detectors []string
	Severity  string // the highest any alert reached
	// Onset is the earliest onset of its alerts (zero when none has one,
	// OnsetCut and OnsetOf that alert's); Resolved the last resolution, zero
	// while any alert is still open.
	Onset, FirstAlert, Resolved time.Time
	OnsetCut                    bool
	OnsetOf                     string        // what rose: "mentions" or "reports" (Page.LevelOf)
	Delay                       time.Duration // FirstAlert - Onset; 0 without an onset
	Lead                        string
	Timeline                    []IncidentStep
	Variants                    []Spelling // the challenge's spellings, from the first alert that lists them
	Challenge                   *Spelling  // the challenge's own count, from the same alert
	Charts                      []Chart    // each term's posts per minute
	Alerts                      []DayRow
}

// IncidentStep is one transition of one of the incident's alerts.
type IncidentStep struct {
	Step
	Term, Detector, File string
}

// IncidentFileName is the page's file name, without extension, for the
// incident named name on date.
func IncidentFileName(date time.Time, name string) string {
	return "incident-" + date.UTC().Format(time.DateOnly) + "-" + strings.TrimPrefix(FileName(name), "review-")
}

// buildIncident makes in's page; mins and events are each of its alerts'
// minutes and transitions, by the alert's page (DayRow.File): an alert that
// opened twice is two rows.
func buildIncident(date time.Time, in DayIncident, mins map[string][]trend.Minute, events map[string][]alert.Event) IncidentPage {
	rows := append(slices.Clone(in.Rows), in.Later...)
	p := IncidentPage{Name: in.Challenge, Date: date, Terms: in.Terms, Detectors: in.Detectors, Severity: in.Severity,
		FirstAlert: in.First, Alerts: rows}
	open := false
	for _, r := range rows {
		pg := &r.Page
		if !pg.Onset.IsZero() && (p.Onset.IsZero() || pg.Onset.Before(p.Onset)) {
			p.Onset, p.OnsetCut, p.OnsetOf = pg.Onset, pg.OnsetCut, pg.LevelOf
		}
		if pg.Resolved.IsZero() {
			open = true
		} else if pg.Resolved.After(p.Resolved) {
			p.Resolved = pg.Resolved
		}
		if p.Variants == nil {
			p.Variants, p.Challenge = pg.Variants, pg.Challenge
		}
		for _, e := range events[r.File] {
			p.Timeline = append(p.Timeline, IncidentStep{Step: step(e), Term: pg.Term, Detector: pg.Detector, File: r.File})
		}
	}
	if open {
		p.Resolved = time.Time{}
	}
	if !p.Onset.IsZero() {
		p.Delay = p.FirstAlert.Sub(p.Onset)
	}
	slices.SortStableFunc(p.Timeline, func(a, b IncidentStep) int { return a.At.Compare(b.At) })

	marks := (&Page{Onset: p.Onset, OnsetCut: p.OnsetCut, FirstAlert: p.FirstAlert, Resolved: p.Resolved}).marks()
	for _, term := range p.Terms {
		// The term's minutes are those of its first alert: every alert on a
		// term reads the same rows around itself.
		var tm []trend.Minute
		for _, r := range rows {
			if r.Page.Term == term {
				tm = mins[r.File]
				break
			}
		}
		from, to := p.Onset, p.FirstAlert
		if len(tm) > 0 {
			from, to = tm[0].Bucket, tm[len(tm)-1].Bucket
		}
		from, to = earliest(from, p.Onset, p.FirstAlert), latest(to, p.FirstAlert, p.Resolved)
		p.Charts = append(p.Charts, chart("Posts using "+isolate(term)+", per minute", tm, func(m *trend.Minute) float64 { return float64(m.Mentions) },
			from, to, -1, marks, chartW, chartH))
	}
	p.Lead = p.lead()
	return p
}

// OnsetWhen is when activity rose above normal, as the page's facts say it.
func (p IncidentPage) OnsetWhen() string { return onsetWhen(p.Onset, p.OnsetCut) }

// DelayWords is the detection delay, as the page's facts say it.
func (p IncidentPage) DelayWords() string { return delayWords(p.Onset, p.Delay, p.OnsetCut) }

func (p *IncidentPage) lead() string {
	var b strings.Builder
	// The name is the first term alerted on, or the hashtag a challenge's ID
	// is one with (Page.name), which need not have alerted.
	what, others := isolate(p.Name), p.Terms
	if i := slices.Index(others, p.Name); i >= 0 {
		others = slices.Delete(slices.Clone(others), i, i+1)
	}
	if len(others) > 0 {
		what += " and " + plural(len(others), "more term") + " of the same challenge (" + strings.Join(isolateAll(others), ", ") + ")"
	}
	if p.Onset.IsZero() {
		// Its alerts were a trusted channel's reports or retracted: none
		// dates a rise.
		fmt.Fprintf(&b, "trendwatch raised %s on %s by %s, the first at %s; the highest severity reached was %s.",
			plural(len(p.Alerts), "alert"), what, strings.Join(p.Detectors, ", "), clock(p.FirstAlert), p.Severity)
	} else {
		rose, at := "Posts using", "at"
		if p.OnsetOf == "reports" {
			rose = "User reports on"
		}
		if p.OnsetCut {
			at = "at or before"
		}
		fmt.Fprintf(&b, "%s %s rose above normal %s %s UTC. ", rose, what, at, clock(p.Onset))
		fmt.Fprintf(&b, "trendwatch raised %s by %s, the first at %s, %s after the rise; the highest severity reached was %s.",
			plural(len(p.Alerts), "alert"), strings.Join(p.Detectors, ", "), clock(p.FirstAlert), p.DelayWords(), p.Severity)
	}
	retracted := 0
	for _, r := range p.Alerts {
		if r.Page.Retracted {
			retracted++
		}
	}
	switch {
	case retracted == 1:
		b.WriteString(" One was raised early, on a minute still under way, and retracted when that minute's final count did not bear it out.")
	case retracted > 1:
		fmt.Fprintf(&b, " %d were raised early, on minutes still under way, and retracted when those minutes' final counts did not bear them out.", retracted)
	}
	switch {
	case p.Resolved.IsZero():
		b.WriteString(" An alert was still open when this review was made.")
	case p.Onset.IsZero():
		fmt.Fprintf(&b, " Every alert had resolved by %s UTC.", clockOn(p.Resolved, p.Date))
	default:
		fmt.Fprintf(&b, " Every alert had resolved by %s UTC, %s after the rise.", clockOn(p.Resolved, p.Date), delayWords(p.Onset, p.Resolved.Sub(p.Onset), p.OnsetCut))
	}
	return b.String()
}

// WriteIncidentHTML writes the incident's page as one self-contained HTML
// document.
func WriteIncidentHTML(w io.Writer, p IncidentPage) error {
	t, err := templates()
	if err != nil {
		return fmt.Errorf("review templates: %w", err)
	}
	if err := t.ExecuteTemplate(w, "incident", p); err != nil {
		return fmt.Errorf("rendering incident %q of %s: %w", p.Name, p.Date.Format(time.DateOnly), err)
	}
	return nil
}

// WriteIncidentMarkdown writes the incident's page as Markdown.
func WriteIncidentMarkdown(w io.Writer, p IncidentPage) error {
	m := &mdWriter{w: w}
	m.f("# Incident: %s\n\n", md(p.Name))
	state := "still open"
	if !p.Resolved.IsZero() {
		state = "resolved " + when(p.Resolved)
	}
	m.f("%s · highest severity **%s** · %s\n\n", p.Date.Format("Monday 2 January 2006"), md(p.Severity), state)
	m.f("## What happened\n\n%s\n\n", md(p.Lead))
	m.f("| UTC | Term | Detector | What | Severity | Detector's note |\n|---|---|---|---|---|---|\n")
	for _, s := range p.Timeline {
		m.f("| %s | [%s](%s) | %s | %s | %s | %s |\n", clockOn(s.At, p.Date), md(s.Term), s.File, md(s.Detector), md(s.What), md(s.Severity), md(s.Summary))
	}
	mdVariants(m, p.Onset, p.Variants, p.Challenge)
	m.f("\n## Activity minute by minute\n\nThe charts are in the HTML version of this page.\n")
	return wrap(m.err, "writing Markdown of incident %q", p.Name)
}
