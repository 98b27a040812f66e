package review

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// md escapes text for Markdown, where many renderers also pass raw HTML
// through: a term like "<script>" must stay text, and "|" must not end a
// table cell.
func md(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '\n', '\r':
			b.WriteByte(' ')
		case '\\', '`', '*', '_', '[', ']', '|', '#', '!', '{', '}', '~':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdWriter collects the first write error so the page reads top to bottom.
type mdWriter struct {
	w   io.Writer
	err error
}

func (m *mdWriter) f(format string, args ...any) {
	if m.err == nil {
		_, m.err = fmt.Fprintf(m.w, format, args...)
	}
}

// WriteMarkdown writes the page as Markdown, for pasting into a document.
func WriteMarkdown(w io.Writer, p Page) error {
	m := &mdWriter{w: w}
	m.f("# Post-incident review: %s\n\n", md(p.Term))
	state := "still " + md(p.Status)
	switch {
	case p.Retracted:
		state = "retracted " + when(p.Resolved)
	case !p.Resolved.IsZero():
		state = "resolved " + when(p.Resolved)
	}
	m.f("Alert %s · highest severity **%s** · %s\n\n", md(p.Key), md(p.Severity), state)
	m.f("| | |\n|---|---|\n")
	m.f("| Activity rose above normal | %s |\n", md(p.OnsetWhen()))
	m.f("| First alert | %s |\n", when(p.FirstAlert))
	m.f("| Detection delay | %s |\n", p.DelayWords())
	for _, t := range p.Escalations {
		m.f("| Escalated | %s |\n", when(t))
	}
	m.f("| Resolved | %s |\n", when(p.Resolved))
	m.f("| Busiest minute | %s posts at %s |\n", count(p.Peak), clock(p.PeakAt))
	m.f("| Posts during the episode | %s over %d minutes |\n", count(p.Mentions), p.EpisodeMinutes)
	m.f("| Most accounts in one minute | %s |\n", count(p.MaxCreators))
	m.f("| User reports during the episode | %s |\n", count(p.Reports))
	for _, c := range p.ByChannel {
		m.f("| Reports from %s | %s |\n", md(c.Channel), count(c.N))
	}
	m.f("\n")

	m.f("## What happened\n\n%s\n\n", md(p.Lead))
	m.f("| When (UTC) | What | Severity | Detector's note |\n|---|---|---|---|\n")
	for _, s := range p.Timeline {
		m.f("| %s | %s | %s | %s |\n", when(s.At), md(s.What), md(s.Severity), md(s.Summary))
	}
	mdVariants(m, p.Onset, p.Variants, p.Challenge)
	m.f("\n## Activity minute by minute\n\nThe charts are in the HTML version of this review.\n\n")

	m.f("## Why the detector raised it\n\n| What it means | Number |\n|---|---|\n")
	for _, e := range p.Explanation {
		m.f("| %s | `%s=%s` |\n", md(e.Meaning), code(e.Key), code(e.Value))
	}
	m.f("\n## Where and in which languages\n\n")
	mdShares(m, "Region", p.Regions)
	mdShares(m, "Language", p.Langs)
	m.f("## Why users reported it\n\n")
	mdShares(m, "Report reason", p.Reasons)
	if p.Reports > 0 {
		m.f("%s\n\n", md(channels(p)))
	}
	m.f("## Sample content\n\n")
	if len(p.Samples) == 0 {
		m.f("No sample content IDs were kept.\n\n")
	}
	for _, s := range p.Samples {
		m.f("- `%s`\n", code(s))
	}
	m.f("\n## Analysts' verdict\n\n")
	if v := p.Verdict; v != nil {
		// An unknown verdict is shown as stored, and verdicts.jsonl holds
		// whatever was written to it.
		m.f("**%s**", md(verdictWords(v)))
		if v.Reviewer != "" {
			m.f(" — %s", md(v.Reviewer))
		}
		if !v.At.IsZero() {
			m.f(", %s", when(v.At))
		}
		m.f("\n\n")
		if v.Note != "" {
			m.f("> %s\n", md(v.Note))
		}
	} else {
		// As the HTML page says it: an indented block, which no key can
		// break out of (a key holds no line break), where a code span
		// would need its '|' and backticks changed.
		m.f("Not reviewed yet. Record one with\n\n    %s\n\nwhere VERDICT is `true_positive`, `false_positive` or `unsure`.\n", VerdictCommand(&p))
	}
	return wrap(m.err, "writing Markdown review of %q", p.Key)
}

// mdVariants writes the spellings of a challenge (Page.Variants) whose rise
// began at onset; nothing when there are none.
func mdVariants(m *mdWriter, onset time.Time, vs []Spelling, all *Spelling) {
	if len(vs) == 0 {
		return
	}
	m.f("\n## Spellings of this challenge\n\n| Spelling | Posts during the episode | Share | Busiest minute | First seen |\n|---|---|---|---|---|\n")
	for _, v := range vs {
		first := when(v.First)
		if onset.After(v.First) {
			first += " (before the rise)"
		}
		m.f("| %s | %s | %s %% | %s at %s | %s |\n", md(v.Term), count(v.Posts), num(v.Share), count(v.Busiest), clock(v.BusiestAt), first)
	}
	if all != nil {
		m.f("| %s | %s | | %s at %s | %s |\n", allSpellings, count(all.Posts), count(all.Busiest), clock(all.BusiestAt), when(all.First))
	}
	m.f("\n%s\n", spellingsNote(all != nil))
}

// allSpellings names the challenge's own row of the spellings table.
const allSpellings = "All spellings, each post once"

// spellingsNote says how the spellings table counts, with the challenge's
// own row (all) or without.
func spellingsNote(all bool) string {
	const each = "Each spelling as its own rows count it: a post carrying two spellings counts for each"
	const first = "The first sighting is looked for from an hour before the rise."
	if all {
		return each + ". The last row is the challenge itself: each post once, those of spellings too rare to be followed on their own included. " + first
	}
	return each + ", and a spelling too rare to be followed on its own counts only in the challenge's total. " + first
}

// code keeps text inside a code span: a backtick would end it and a pipe the
// table cell.
func code(s string) string {
	return strings.NewReplacer("`", "'", "|", "¦", "\n", " ").Replace(s)
}

func mdShares(m *mdWriter, title string, rows []Share) {
	if len(rows) == 0 {
		m.f("No %s data for this period.\n\n", strings.ToLower(title))
		return
	}
	m.f("| %s | Minutes it led | Minutes among the top |\n|---|---|---|\n", title)
	for _, s := range rows {
		m.f("| %s | %d of %d | %d of %d |\n", md(s.Label), s.First, s.Minutes, s.Listed, s.Minutes)
	}
	m.f("\n")
}

// WriteDayMarkdown writes the digest as Markdown.
func WriteDayMarkdown(w io.Writer, d Day) error {
	m := &mdWriter{w: w}
	m.f("# Alerts of %s\n\n", d.Date.Format("Monday 2 January 2006"))
	m.f("%s opened this day (UTC) · %d reviewed · %d real, %s\n\n", plural(len(d.Rows), "alert"), d.Reviewed, d.TruePositives, plural(d.FalsePositives, "false alarm"))
	if len(d.Rows) == 0 {
		m.f("No alerts were opened this day.\n")
		return wrap(m.err, "writing Markdown digest of %s", d.Date.Format(time.DateOnly))
	}
	m.f("%s: the alerts on one challenge (a hashtag and its other spellings, or one term) are grouped under it.\n", plural(len(d.Incidents), "incident"))
	for _, in := range d.Incidents {
		m.f("\n### [%s](%s)\n\n", md(in.Challenge), in.File)
		if !in.Continues.IsZero() {
			m.f("Continues from %s · ", in.Continues.Format("Monday 2 January"))
		}
		m.f("%s", plural(len(in.Rows), "alert"))
		if len(in.Later) > 0 {
			m.f(" (and %d after midnight)", len(in.Later))
		}
		if len(in.Terms) > 1 {
			m.f(" on %d terms (%s)", len(in.Terms), md(strings.Join(isolateAll(in.Terms), ", ")))
		}
		m.f(" by %s · first at %s · highest **%s**\n\n", md(strings.Join(in.Detectors, ", ")), clockOn(in.First, d.Date), md(in.Severity))
		m.f("| Opened (UTC) | Term | Detector | Peak posts/min | Severity | Detection delay | Verdict |\n|---|---|---|---|---|---|---|\n")
		for _, r := range in.Rows {
			p := r.Page
			// Where the alert ended, as the HTML row says: a retracted one
			// must not pass for one that resolved.
			m.f("| %s | [%s](%s) | %s · %s | %s | %s | %s | %s |\n", clock(p.FirstAlert), md(p.Term), r.File, md(p.Detector), md(p.Status),
				count(p.Peak), md(p.Severity), p.DelayWords(), md(verdictWords(p.Verdict)))
		}
	}
	return wrap(m.err, "writing Markdown digest of %s", d.Date.Format(time.DateOnly))
}

func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
