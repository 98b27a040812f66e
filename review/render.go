package review

import (
	"cmp"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/family"
	"github.com/trendwatch/trendwatch/trend"
)

//go:embed templates
var templateFS embed.FS

// templates parses the page templates. They are fixed at build time, so an
// error is a bug the unit tests catch.
func templates() (*template.Template, error) {
	css, err := templateFS.ReadFile("templates/style.css")
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{
		// The style sheet is ours, not data: it goes in unescaped.
		"css":           func() template.CSS { return template.CSS(css) },
		"when":          when,
		"clock":         clock,
		"clockOn":       clockOn,
		"allSpellings":  func() string { return allSpellings },
		"spellingsNote": spellingsNote,
		"words":         words,
		"count":         count,
		"verdict":       verdictWords,
		"shellquote":    shellQuote,
		"isolate":       isolate,
		"isolates":      isolates,
		"lower":         strings.ToLower,
		"channels":      channels,
		"join":          func(v []string) string { return strings.Join(v, ", ") },
		"labelDY":       func(i int) int { return 12 + 14*(i%3) },
		"dict": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, errors.New("dict: odd number of arguments")
			}
			m := make(map[string]any, len(kv)/2)
			for i := 0; i < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
				}
				m[k] = kv[i+1]
			}
			return m, nil
		},
	}
	return template.New("review").Funcs(funcs).ParseFS(templateFS, "templates/page.html")
}

// WriteHTML writes the page as one self-contained HTML document.
func WriteHTML(w io.Writer, p Page) error {
	t, err := templates()
	if err != nil {
		return fmt.Errorf("review templates: %w", err)
	}
	if err := t.ExecuteTemplate(w, "page", p); err != nil {
		return fmt.Errorf("rendering review of %q: %w", p.Key, err)
	}
	return nil
}

// Day is the digest of the alerts opened on one UTC day.
type Day struct {
	Date time.Time
	Rows []DayRow
	// Incidents are Rows by challenge, in the order each first alerted, and
	// IncidentPages the pages of those that began this day, in the same
	// order.
	Incidents      []DayIncident
	IncidentPages  []IncidentPage
	Reviewed       int
	TruePositives  int
	FalsePositives int
}

// DayRow is one alert of the digest.
type DayRow struct {
	Page  Page
	Spark Chart
	File  string // the alert's own review page, relative to the digest
}

// DayIncident is one challenge's alerts of the day: those on a term family
// and on each of its spellings, or those on one term without a family. One
// surge raises several alerts (a surge, the watchlist, a report wave, on two
// spellings); a desk reads the day as its incidents, each alert keeping its
// own row and page.
//
// A surge does not stop at midnight. An alert opened while another of its
// challenge's alerts was still open belongs to that alert's incident, on
// whichever day it opened: the incident is the day's where its first alert
// opened, its page holds the alerts opened after midnight too (Later), and
// the next day's digest lists those under the incident it continues
// (Continues), linking to that page rather than making a second one.
type DayIncident struct {
	// Challenge names it: the first term alerted on. A family's key alone
	// reads as a typo ("family:blakautchalenj"), so it is not the name.
	Challenge string
	Terms     []string // the terms alerted on, in the order they first alerted
	Detectors []string // the detectors that alerted, in the same order
	First     time.Time
	Severity  string // the highest any of its alerts reached
	Rows      []DayRow
	// Later are its alerts opened after this day, while one of Rows was
	// still open (or one of Later before them).
	Later []DayRow
	// Continues is the day the incident began when that is an earlier day
	// (zero when it began this day): its page is that day's.
	Continues time.Time
	File      string // its page (IncidentPage), relative to the digest
}

// incidents groups rows (in opened order, of this day and of the days either
// side of it) into the incidents of day: those that began on it and those
// that began earlier and go on into it.
func incidents(day time.Time, rows []DayRow) []DayIncident {
	next := day.AddDate(0, 0, 1)
	var order []string
	byChallenge := map[string][]DayRow{}
	keys := challengeKeys(rows)
	for _, r := range rows {
		key := keys(&r.Page)
		if _, ok := byChallenge[key]; !ok {
			order = append(order, key)
		}
		byChallenge[key] = append(byChallenge[key], r)
	}
	var out []DayIncident
	for _, key := range order {
		// Episodes: each alert opened while an earlier one of the episode
		// was still open joins it.
		began := -1 // the index of the incident that began this day, once there is one
		eps := episodes(byChallenge[key])
		for _, ep := range eps {
			first := ep[0].Page.FirstAlert
			switch {
			case !first.Before(day) && first.Before(next):
				// Episodes that began this day are one incident, as they
				// are one challenge's page of the day.
				if began < 0 {
					began = len(out)
					out = append(out, DayIncident{Challenge: ep[0].Page.name(), First: first})
				}
				for _, r := range ep {
					out[began].add(r, !r.Page.FirstAlert.Before(next))
				}
			case first.Before(day):
				in := DayIncident{Challenge: startName(eps, first), First: first, Continues: dayOf(first)}
				for _, r := range ep {
					if !r.Page.FirstAlert.Before(day) && r.Page.FirstAlert.Before(next) {
						in.add(r, false)
					}
				}
				if len(in.Rows) > 0 {
					out = append(out, in)
				}
			}
		}
	}
	slices.SortStableFunc(out, func(a, b DayIncident) int { return a.First.Compare(b.First) })
	return out
}

// name is what an incident whose first alert is p is called: p's term, or
// for a challenge that is one with a hashtag (SameAs) the hashtag, which
// people know it by where the challenge's ID means nothing to them.
func (p *Page) name() string { return cmp.Or(p.SameAs, p.Term) }

// challengeKeys returns what groups the pages of rows into challenges: a
// term's family, or the term when it has none; for a challenge's alert that
// is one with a hashtag (Page.SameAs), the hashtag's, whose family is that of
// the hashtag's own rows when one of rows is its page.
func challengeKeys(rows []DayRow) func(p *Page) string {
	own := map[string]string{}
	for _, r := range rows {
		own[r.Page.Term] = cmp.Or(r.Page.Family, r.Page.Term)
	}
	return func(p *Page) string {
		if p.SameAs == "" {
			return cmp.Or(p.Family, p.Term)
		}
		if k, ok := own[p.SameAs]; ok {
			return k
		}
		return cmp.Or(family.OfTerm(p.SameAs), p.SameAs)
	}
}

// episodes splits one challenge's rows (in opened order) where an alert opened
// after every earlier one had resolved.
func episodes(rows []DayRow) [][]DayRow {
	var out [][]DayRow
	var end time.Time // the latest resolution so far; zero while one is open
	open := false
	for _, r := range rows {
		p := &r.Page
		if len(out) == 0 || (!open && p.FirstAlert.After(end)) {
			out = append(out, nil)
			end, open = time.Time{}, false
		}
		out[len(out)-1] = append(out[len(out)-1], r)
		if p.Resolved.IsZero() {
			open = true
		} else if p.Resolved.After(end) {
			end = p.Resolved
		}
	}
	return out
}

// startName is the name the incident that began at first has on its own day:
// the first term alerted on among the episodes that began that day.
func startName(eps [][]DayRow, first time.Time) string {
	d := dayOf(first)
	for _, ep := range eps {
		if dayOf(ep[0].Page.FirstAlert).Equal(d) {
			return ep[0].Page.name()
		}
	}
	return eps[0][0].Page.name()
}

func dayOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// add counts r into the incident, as one of its later alerts if later.
func (in *DayIncident) add(r DayRow, later bool) {
	p := &r.Page
	if later {
		in.Later = append(in.Later, r)
	} else {
		in.Rows = append(in.Rows, r)
	}
	if !slices.Contains(in.Terms, p.Term) {
		in.Terms = append(in.Terms, p.Term)
	}
	if !slices.Contains(in.Detectors, p.Detector) {
		in.Detectors = append(in.Detectors, p.Detector)
	}
	s, err := alert.ParseSeverity(p.Severity)
	if err != nil {
		return
	}
	if top, err := alert.ParseSeverity(in.Severity); in.Severity == "" || (err == nil && s > top) {
		in.Severity = p.Severity
	}
}

// BuildDay builds the digest of the day that holds date. incs are the alerts
// opened that day and, for the incidents that cross midnight, those of their
// challenges opened the day before and the day after (LoadDay loads them);
// only the day's own count in its rows and tallies.
func BuildDay(date time.Time, incs []*Incident) Day {
	d := Day{Date: dayOf(date)}
	next := d.Date.AddDate(0, 0, 1)
	mins, events := map[string][]trend.Minute{}, map[string][]alert.Event{}
	var all []DayRow
	for _, inc := range incs {
		p := Build(inc)
		r := DayRow{Page: p, Spark: Spark(&p, inc.Minutes), File: PageFileName(&p) + ".html"}
		mins[r.File], events[r.File] = inc.Minutes, inc.Events
		all = append(all, r)
		if p.FirstAlert.Before(d.Date) || !p.FirstAlert.Before(next) {
			continue
		}
		d.Rows = append(d.Rows, r)
		if v := inc.Verdict; v != nil {
			d.Reviewed++
			switch v.Verdict {
			case TruePositive:
				d.TruePositives++
			case FalsePositive:
				d.FalsePositives++
			}
		}
	}
	// Opened order: a day reads as a story.
	byOpened := func(a, b DayRow) int {
		return cmp.Or(a.Page.FirstAlert.Compare(b.Page.FirstAlert), strings.Compare(a.Page.Key, b.Page.Key))
	}
	slices.SortStableFunc(d.Rows, byOpened)
	slices.SortStableFunc(all, byOpened)
	d.Incidents = incidents(d.Date, all)
	for i := range d.Incidents {
		in := &d.Incidents[i]
		if !in.Continues.IsZero() {
			in.File = IncidentFileName(in.Continues, in.Challenge) + ".html"
			continue
		}
		in.File = IncidentFileName(d.Date, in.Challenge) + ".html"
		d.IncidentPages = append(d.IncidentPages, buildIncident(d.Date, *in, mins, events))
	}
	return d
}

// WriteDayHTML writes the digest as one self-contained HTML document.
func WriteDayHTML(w io.Writer, d Day) error {
	t, err := templates()
	if err != nil {
		return fmt.Errorf("review templates: %w", err)
	}
	if err := t.ExecuteTemplate(w, "day", d); err != nil {
		return fmt.Errorf("rendering digest of %s: %w", d.Date.Format(time.DateOnly), err)
	}
	return nil
}

// DayFileName is the digest's file name without extension.
func DayFileName(date time.Time) string { return "digest-" + date.UTC().Format(time.DateOnly) }

// WriteFile writes dir/name through a temporary file renamed into place, so a
// reader opening the page never sees half of it.
func WriteFile(dir, name string, write func(io.Writer) error) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating output directory %s: %w", dir, err)
	}
	final := filepath.Join(dir, name)
	tmp, err := os.CreateTemp(dir, ".tmp-"+name+"-*")
	if err != nil {
		return "", fmt.Errorf("creating %s: %w", final, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if err := write(tmp); err != nil {
		tmp.Close()
		return "", fmt.Errorf("writing %s: %w", final, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("writing %s: %w", final, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return "", fmt.Errorf("writing %s: %w", final, err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", fmt.Errorf("writing %s: %w", final, err)
	}
	return final, nil
}
