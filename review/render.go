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
		"css":      func() template.CSS { return template.CSS(css) },
		"when":     when,
		"clock":    clock,
		"words":    words,
		"count":    count,
		"verdict":  verdictWords,
		"lower":    strings.ToLower,
		"channels": channels,
		"join":     func(v []string) string { return strings.Join(v, ", ") },
		"labelDY":  func(i int) int { return 12 + 14*(i%3) },
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
	// IncidentPages their pages, in the same order.
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
type DayIncident struct {
	// Challenge names it: the first term alerted on. A family's key alone
	// reads as a typo ("family:blakautchalenj"), so it is not the name.
	Challenge string
	Terms     []string // the terms alerted on, in the order they first alerted
	Detectors []string // the detectors that alerted, in the same order
	First     time.Time
	Severity  string // the highest any of its alerts reached
	Rows      []DayRow
	File      string // its page (IncidentPage), relative to the digest
}

// incidents groups rows (in opened order) by challenge.
func incidents(rows []DayRow) []DayIncident {
	var out []DayIncident
	at := map[string]int{}
	top := map[string]alert.Severity{}
	for _, r := range rows {
		p := &r.Page
		key := cmp.Or(p.Family, p.Term)
		i, ok := at[key]
		if !ok {
			i = len(out)
			at[key] = i
			out = append(out, DayIncident{Challenge: p.Term, First: p.FirstAlert})
		}
		in := &out[i]
		in.Rows = append(in.Rows, r)
		if !slices.Contains(in.Terms, p.Term) {
			in.Terms = append(in.Terms, p.Term)
		}
		if !slices.Contains(in.Detectors, p.Detector) {
			in.Detectors = append(in.Detectors, p.Detector)
		}
		if s, err := alert.ParseSeverity(p.Severity); err == nil && (in.Severity == "" || s > top[key]) {
			in.Severity, top[key] = p.Severity, s
		}
	}
	return out
}

// BuildDay builds the digest; incs are in the order the rows should appear.
func BuildDay(date time.Time, incs []*Incident) Day {
	d := Day{Date: time.Date(date.Year(), date.Month(), date.Day(), 0, 0, 0, 0, time.UTC)}
	mins, events := map[string][]trend.Minute{}, map[string][]alert.Event{}
	for _, inc := range incs {
		p := Build(inc)
		mins[p.Key], events[p.Key] = inc.Minutes, inc.Events
		d.Rows = append(d.Rows, DayRow{Page: p, Spark: Spark(&p, inc.Minutes), File: FileName(p.Key) + ".html"})
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
	slices.SortStableFunc(d.Rows, func(a, b DayRow) int {
		return cmp.Or(a.Page.FirstAlert.Compare(b.Page.FirstAlert), strings.Compare(a.Page.Key, b.Page.Key))
	})
	d.Incidents = incidents(d.Rows)
	for i := range d.Incidents {
		in := &d.Incidents[i]
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
