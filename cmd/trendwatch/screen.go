package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"golang.org/x/text/width"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/config"
	"github.com/trendwatch/trendwatch/incident"
	"github.com/trendwatch/trendwatch/pipeline"
)

// printer is the demo's screen: one line per alert transition, a table of the
// fastest-growing terms only when a term with an alert first reaches it (the
// table's top rows otherwise churn with noise every bucket), and a summary at
// the end. Bucket reports and alerts arrive from the engine's
// goroutine, notes from the generator's; mu orders them.
type printer struct {
	mu     sync.Mutex
	w      io.Writer
	rows   int
	colour bool
	// quiet is detectors.lifecycle.quiet_buckets: a resolve line says the
	// detector found nothing for that long, as its numbers are those of its
	// last finding and would read as the term still surging.
	quiet int

	alerted   map[string]bool           // terms with an alert this run
	incidents map[string]bool           // the incidents of their alerts (incident.OfAlert)
	tabled    map[string]bool           // alerted terms a table has shown
	alerts    map[string]alert.Severity // highest severity by alert key
	days      map[string]bool           // UTC days alerts opened on, as review --day takes them
	changes   int
	buckets   int // closed buckets told of
	events    uint64
	mentions  uint64
	reports   uint64
	first     time.Time
	last      time.Time
}

func newPrinter(w io.Writer, rows int, colour bool, quiet int) *printer {
	return &printer{w: w, rows: rows, colour: colour, quiet: quiet, alerted: map[string]bool{}, incidents: map[string]bool{}, tabled: map[string]bool{}, alerts: map[string]alert.Severity{}, days: map[string]bool{}}
}

// isTerminal reports whether w is a terminal, where colour helps; in a file or
// a pipe escape codes are noise. NO_COLOR (no-color.org) turns it off.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// ANSI styles by severity: what needs a person now stands out, what does not
// steps back.
func severityStyle(s alert.Severity) string {
	switch s {
	case alert.SeverityCritical:
		return "\x1b[1;97;41m" // bold white on red
	case alert.SeverityHigh:
		return "\x1b[1;31m" // bold red
	case alert.SeverityMedium:
		return "\x1b[33m" // yellow
	case alert.SeverityInfo:
		return "\x1b[2m" // dim
	}
	return ""
}

const timeLayout = "2006-01-02 15:04"

func (p *printer) Alert(ev alert.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a := ev.Alert
	p.changes++
	p.alerts[a.Key] = max(p.alerts[a.Key], a.Severity)
	p.alerted[a.Term] = true
	p.incidents[incident.OfAlert(&a)] = true
	if ev.To == alert.StatusOpen {
		opened := a.OpenedAt
		if opened.IsZero() {
			opened = ev.At
		}
		p.days[opened.UTC().Format(time.DateOnly)] = true
	}
	sev := fmt.Sprintf("%-8s", strings.ToUpper(a.Severity.String()))
	if style := severityStyle(a.Severity); p.colour && style != "" {
		sev = style + sev + "\x1b[0m"
	}
	line := a.Summary
	if ev.To == alert.StatusResolved && ev.Reason == "" && p.quiet > 0 {
		// A novelty alert ends while the term's surge alert goes on: without
		// this the line reads "resolved … 58/min vs 1.1 expected".
		line += fmt.Sprintf(" (no %s finding for %d buckets; the numbers are its last)", a.Detector, p.quiet)
	}
	fmt.Fprintf(p.w, "%s  %s %-9s %s\n", ev.At.UTC().Format(timeLayout), sev, ev.To, line)
}

func (p *printer) Bucket(r *pipeline.BucketReport) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buckets++
	p.events += r.Events
	p.mentions += r.Mentions
	p.reports += r.Reports
	if r.Events > 0 {
		if p.first.IsZero() {
			p.first = r.Start
		}
		p.last = r.Start
	}
	// A term with no baseline yet (expected below one mention) has not
	// surged, it has only just been seen: at start-up that is every term.
	var rows []pipeline.TermStat
	for _, t := range r.Surging {
		if t.Expected >= 1 && len(rows) < p.rows {
			rows = append(rows, t)
		}
	}
	// A bucket's alerts arrive after its report, so a term that alerted in
	// one bucket is tabled at the next one it tops.
	fresh := false
	for _, t := range rows {
		if p.alerted[t.Term] && !p.tabled[t.Term] {
			p.tabled[t.Term], fresh = true, true
		}
	}
	if !fresh {
		return
	}
	fmt.Fprintf(p.w, "── %s UTC · %d events · %d mentions · %d reports · %d terms tracked",
		r.Start.UTC().Format(timeLayout), r.Events, r.Mentions, r.Reports, r.Tracked)
	if r.Late > 0 || r.Invalid > 0 {
		fmt.Fprintf(p.w, " · %d late, %d invalid", r.Late, r.Invalid)
	}
	fmt.Fprintln(p.w, " ──")
	fmt.Fprintf(p.w, "   %-36s %8s %9s %7s %9s %8s\n", "fastest-growing", "mentions", "expected", "growth", "creators", "reports")
	for _, t := range rows {
		fmt.Fprintf(p.w, "   %s %8.0f %9.1f %6.1f× %9d %8.0f\n", cell(t.Term, 36), t.Mentions, t.Expected, t.Growth, t.UniqueCreators, t.Reports)
	}
}

// note prints a line of the demo's own between alerts.
func (p *printer) note(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, line)
}

// closedThrough reports whether the bucket starting at t, or a later one, has
// closed with events in it.
func (p *printer) closedThrough(t time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.last.Before(t)
}

// summary is the last screen: what fired, how much was read and where it is.
// closed is how many buckets the printer was told of.
func (p *printer) closed() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buckets
}

func (p *printer) summary(runDir string, cfg *config.Config) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w)
	fmt.Fprintln(p.w, "── summary ──")
	bySev := map[alert.Severity]int{}
	for _, s := range p.alerts {
		bySev[s]++
	}
	sevs := make([]alert.Severity, 0, len(bySev))
	for s := range bySev {
		sevs = append(sevs, s)
	}
	sort.Slice(sevs, func(i, j int) bool { return sevs[i] > sevs[j] })
	parts := make([]string, 0, len(sevs))
	for _, s := range sevs {
		parts = append(parts, fmt.Sprintf("%d %s", bySev[s], s))
	}
	if len(parts) == 0 {
		parts = append(parts, "none")
	}
	fmt.Fprintf(p.w, "alerts:      %d (%s) by their highest severity, %d transitions\n", len(p.alerts), strings.Join(parts, ", "), p.changes)
	// One surge raises several alerts (detectors, spellings): the desk
	// reads them as incidents, one per challenge, as the review's digest and
	// the Alertmanager label incident group them.
	fmt.Fprintf(p.w, "incidents:   %d (the alerts on one challenge, its spellings, its ID and detectors together, count once)\n", len(p.incidents))
	span := ""
	if !p.first.IsZero() {
		span = fmt.Sprintf(", event time %s – %s UTC", p.first.UTC().Format(timeLayout), p.last.UTC().Format(timeLayout))
	}
	fmt.Fprintf(p.w, "events:      %d (%d mentions, %d reports)%s\n", p.events, p.mentions, p.reports, span)
	if runDir != "" {
		fmt.Fprintf(p.w, "Parquet:     %s  (trend_minute/, alert_events/, ingest_stats/)\n", runDir)
		// What a new user does next: read the incidents as the desk would.
		for _, day := range slices.Sorted(maps.Keys(p.days)) {
			fmt.Fprintf(p.w, "review:      trendwatch review --day %s --parquet %s --out reviews  (a page per incident, for Legal and Comms)\n", day, runDir)
		}
	}
	if contains(cfg.Sinks, "clickhouse") {
		fmt.Fprintf(p.w, "ClickHouse:  %v, database %s\n", cfg.ClickHouse.Addr, cfg.ClickHouse.Database)
	}
}

// cell is s clipped and padded to n terminal columns. fmt pads by runes, but
// many Devanagari vowel signs (े ै), the virama and the anusvara take no
// column of their own, and a CJK or fullwidth letter takes two: a Nepali
// term's numbers stood left of a Latin one's.
func cell(s string, n int) string {
	w, cut := 0, len(s)
	for i, r := range s {
		rw := columns(r)
		if w+rw > n-1 && cut == len(s) {
			cut = i // where "…" goes, should s not fit
		}
		w += rw
	}
	if w > n {
		s = s[:cut] + "…"
		w = 0
		for _, r := range s {
			w += columns(r)
		}
	}
	return s + strings.Repeat(" ", max(n-w, 0))
}

// columns is how many terminal columns r takes, as wcwidth counts them:
// nonspacing and enclosing marks and format characters none, East Asian
// wide and fullwidth characters two, the rest one.
func columns(r rune) int {
	switch {
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf):
		return 0
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}
