package detectors

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/event"
)

// kinds a pattern may name; "" is any kind.
var termKinds = [...]string{event.KindHashtag.String(), event.KindChallenge.String(), event.KindSound.String()}

// pattern is one parsed watchlist entry.
type pattern struct {
	kind  string   // "" matches any kind
	parts []string // the value split at '*', each piece normalised; one piece = exact
	// folded are the pieces folded (Set.WatchFolded), for a glob of hashtags;
	// loose their loose folds, nil where a piece is too short for one, and
	// deva whether a piece is written in Devanagari.
	folded []string
	loose  []string
	deva   bool
	match  WatchMatch
}

// parsePattern reads "kind:value", "value" (any kind) or a glob of either, where
// '*' matches any run of characters. Hashtag and any-kind values are normalised
// as hashtags are (event.NormaliseHashtag), so the entry matches what the
// pipeline counts; challenge and sound IDs are opaque and compared as written.
func parsePattern(s string) (pattern, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return pattern{}, errors.New("empty watchlist entry")
	}
	var p pattern
	value := s
	if k, v, ok := strings.Cut(s, ":"); ok {
		if !slices.Contains(termKinds[:], k) {
			return pattern{}, fmt.Errorf("watchlist entry %q: unknown kind %q (want hashtag, challenge or sound)", s, k)
		}
		p.kind, value = k, v
	}
	normalise := p.kind == "" || p.kind == event.KindHashtag.String()
	if normalise {
		value = strings.TrimLeft(value, "#＃")
	}
	for i, piece := range strings.Split(value, "*") {
		if piece != "" && normalise {
			n, err := event.NormaliseHashtag(piece, event.DefaultLimits().MaxHashtagRunes)
			if err != nil {
				return pattern{}, fmt.Errorf("watchlist entry %q: piece %d: %w", s, i, err)
			}
			piece = n
		}
		p.parts = append(p.parts, piece)
	}
	if strings.Join(p.parts, "") == "" {
		return pattern{}, fmt.Errorf("watchlist entry %q: matches everything or nothing", s)
	}
	return p, nil
}

// matches reports whether a normalised value fits the glob.
func (p *pattern) matches(v string) bool { return fits(p.parts, v) }

// fits reports whether v fits the glob whose pieces between '*' are parts.
func fits(parts []string, v string) bool {
	if len(parts) == 1 {
		return v == parts[0]
	}
	if !strings.HasPrefix(v, parts[0]) {
		return false
	}
	v = v[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(v, mid)
		if i < 0 {
			return false
		}
		v = v[i+len(mid):]
	}
	return len(v) >= len(last) && strings.HasSuffix(v, last)
}

// watchlist matches term keys against the configured entries.
type watchlist struct {
	exact map[string]*WatchMatch // "kind:value"
	bare  map[string]*WatchMatch // normalised value, any kind
	globs []pattern
	// family holds "family:key" for the hashtag entries once a family key is
	// set (Set.WatchFamilies): a watched hashtag watches its other spellings.
	family map[string]*WatchMatch
	// spelling is family's matches for a hashtag in a watched family
	// (WatchMatch.Spelling), by family term; familyOf makes that term from
	// a hashtag value.
	spelling map[string]*WatchMatch
	familyOf func(hashtag string) string
	// fold and loose fold a hashtag value for the globs (Set.WatchFolded);
	// nil for none.
	fold  func(hashtag string) string
	loose func(hashtag string) (string, bool)
}

func newWatchlist(c WatchlistConfig) (*watchlist, error) {
	w := &watchlist{exact: map[string]*WatchMatch{}, bare: map[string]*WatchMatch{}}
	defRisk, err := alert.ParseSeverity(c.Risk)
	if err != nil {
		return nil, fmt.Errorf("detectors.watchlist.risk: %w", err)
	}
	entries := make([]WatchEntry, 0, len(c.Terms)+len(c.Entries))
	for _, t := range c.Terms {
		entries = append(entries, WatchEntry{Term: t})
	}
	entries = append(entries, c.Entries...)
	for i, e := range entries {
		p, err := parsePattern(e.Term)
		if err != nil {
			return nil, fmt.Errorf("detectors.watchlist: entry %d: %w", i, err)
		}
		p.match = WatchMatch{Pattern: strings.TrimSpace(e.Term), Risk: defRisk, Category: c.Category}
		if e.Risk != "" {
			if p.match.Risk, err = alert.ParseSeverity(e.Risk); err != nil {
				return nil, fmt.Errorf("detectors.watchlist: entry %d (%q) risk: %w", i, e.Term, err)
			}
		}
		if e.Category != "" {
			p.match.Category = e.Category
		}
		switch {
		case len(p.parts) > 1:
			p.match.Glob = true
			w.globs = append(w.globs, p)
		case p.kind != "":
			addRiskier(w.exact, p.kind+":"+p.parts[0], p.match)
		default:
			addRiskier(w.bare, p.parts[0], p.match)
		}
	}
	return w, nil
}

// addRiskier keeps, of two entries for the same term, the riskier.
func addRiskier(m map[string]*WatchMatch, key string, wm WatchMatch) {
	if old, ok := m[key]; ok && old.Risk >= wm.Risk {
		return
	}
	m[key] = &wm
}

// watchFamilies adds the family of every exact hashtag and any-kind entry; prefix
// and key make the family's term key.
func (w *watchlist) watchFamilies(prefix string, key func(hashtag string) string) {
	w.family = map[string]*WatchMatch{}
	w.familyOf = func(v string) string { return prefix + key(v) }
	for k, m := range w.exact {
		if v, ok := strings.CutPrefix(k, event.KindHashtag.String()+":"); ok {
			addRiskier(w.family, prefix+key(v), *m)
		}
	}
	for v, m := range w.bare {
		addRiskier(w.family, prefix+key(v), *m)
	}
	w.spelling = make(map[string]*WatchMatch, len(w.family))
	for k, m := range w.family {
		s := *m
		s.Spelling = true
		w.spelling[k] = &s
	}
}

// watchFolded makes the globs of hashtags also match a hashtag whose fold
// fits their folded pieces, and, where the hashtag or the glob is written in
// Devanagari, one whose loose fold fits their loose pieces; loose may be nil.
func (w *watchlist) watchFolded(fold func(hashtag string) string, loose func(hashtag string) (string, bool)) {
	w.fold, w.loose = fold, loose
	for i := range w.globs {
		g := &w.globs[i]
		if g.kind != "" && g.kind != event.KindHashtag.String() {
			continue
		}
		g.folded = make([]string, len(g.parts))
		if loose != nil {
			g.loose = make([]string, len(g.parts))
		}
		for j, piece := range g.parts {
			if piece == "" {
				continue
			}
			g.folded[j] = fold(piece)
			if g.loose == nil {
				continue
			}
			l, deva := loose(piece)
			g.deva = g.deva || deva
			if l == "" {
				// A short piece ("cat") would meet any transliteration
				// that happens to hold it: the glob is matched strictly.
				g.loose = nil
				continue
			}
			g.loose[j] = l
		}
	}
}

func (w *watchlist) empty() bool {
	return len(w.exact) == 0 && len(w.bare) == 0 && len(w.globs) == 0
}

// match returns the entry a term key matches, the riskiest where several do;
// exact entries are looked up first, globs scanned last. A term an entry
// names is named (WatchMatch.Named) whichever entry is the riskiest.
func (w *watchlist) match(term string) *WatchMatch {
	var named, open *WatchMatch // entries naming the term; globs and spellings
	better := func(best **WatchMatch, m *WatchMatch) {
		if m != nil && (*best == nil || m.Risk > (*best).Risk) {
			*best = m
		}
	}
	better(&named, w.exact[term])
	better(&named, w.family[term])
	if len(w.family) > 0 {
		// Each spelling of a watched hashtag is watched as well as the
		// family: a family is judged only when its bucket came by several
		// spellings, so a variant that surges alone (#bl4ckoutchallenge)
		// would otherwise be judged as an unwatched term.
		if v, ok := strings.CutPrefix(term, event.KindHashtag.String()+":"); ok {
			better(&open, w.spelling[w.familyOf(v)])
		}
	}
	if len(w.bare) > 0 || len(w.globs) > 0 {
		if kind, value, ok := strings.Cut(term, ":"); ok {
			if kind != event.KindHashtag.String() {
				// Any-kind entries are normalised; an ID that is not a
				// valid hashtag cannot match one.
				value, ok = normalisedOrEmpty(value)
			}
			if ok {
				better(&named, w.bare[value])
				var folded string // the value's fold, made for the first glob that asks
				var loose struct {
					done, deva bool
					fold       string
				}
				ascii := isASCII(value) // no Devanagari in it
				for i := range w.globs {
					g := &w.globs[i]
					if g.kind != "" && g.kind != kind {
						continue
					}
					if g.matches(value) {
						better(&open, &g.match)
						continue
					}
					if g.folded != nil && kind == event.KindHashtag.String() {
						if folded == "" {
							folded = w.fold(value)
						}
						if fits(g.folded, folded) {
							better(&open, &g.match)
							continue
						}
					}
					// An ASCII tag against a glob without Devanagari is no
					// comparison across scripts: its loose fold is not made.
					if g.loose != nil && kind == event.KindHashtag.String() && (g.deva || !ascii) {
						if !loose.done {
							loose.fold, loose.deva = w.loose(value)
							loose.done = true
						}
						// Only across scripts: Latin spellings meet as the
						// strict fold reads them, where the loose tier would
						// make more of them meet than a family key lets.
						if (loose.deva || g.deva) && loose.fold != "" && fits(g.loose, loose.fold) {
							better(&open, &g.match)
						}
					}
				}
			}
		}
	}
	switch {
	case named == nil:
		return open
	case open == nil || open.Risk <= named.Risk:
		return named
	}
	// A riskier glob or family sets the risk and category; the term is
	// named all the same.
	m := *open
	m.Spelling, m.Glob = false, false
	return &m
}

// isASCII reports whether s is all ASCII.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// normalisedOrEmpty is value as a hashtag normalises it; ok is false when it
// is not a valid hashtag.
func normalisedOrEmpty(value string) (string, bool) {
	n, err := event.NormaliseHashtag(value, 0)
	return n, err == nil
}

// terms lists the exact terms to track always: exact entries, and any-kind
// entries under each kind.
func (w *watchlist) terms() []string {
	out := make([]string, 0, len(w.exact)+len(termKinds)*len(w.bare)+len(w.family))
	for k := range w.exact {
		out = append(out, k)
	}
	for k := range w.family {
		out = append(out, k)
	}
	for v := range w.bare {
		for _, k := range termKinds {
			out = append(out, k+":"+v)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Watchlist finds watched terms (Observation.Watch) whose mentions or reports
// rise, at thresholds lower than the other detectors' (watchlist.min_z,
// min_growth, min_support for mentions, min_reports for reports): the team
// already knows these terms mean harm, so less evidence is enough.
type Watchlist struct {
	cfg WatchlistConfig
	mp  mentionParams
	rp  reportParams
}

func newWatchlistDetector(c Config) *Watchlist {
	return &Watchlist{cfg: c.Watchlist, mp: newMentionParams(c), rp: newReportParams(c)}
}

func (d *Watchlist) Name() string { return NameWatchlist }

func (d *Watchlist) Detect(o *Observation) (Finding, bool) {
	return d.judge(&analysis{o: o, mp: &d.mp, rp: &d.rp})
}

func (d *Watchlist) judge(a *analysis) (Finding, bool) {
	o := a.o
	if o.Watch == nil {
		return Finding{}, false
	}
	var rm, rr float64
	var em, er evidence
	// A watched spelling of a challenge already paging under another
	// spelling joins the open incident once it leaves its normal range (the
	// tail's threshold, exceeded by 2.3 % of a calm term's buckets) rather
	// than at the page bar: the team fears the challenge in every spelling,
	// the evidence that it surges is in, and a spelling's alert adds a line
	// to the incident rather than a page (incident.per_term_interval and
	// Alertmanager group by the incident). Only to join: a term with an
	// alert of its own is held to the page bar, or two spellings at 2 σ
	// would keep each other open. On the generator's dangerous ramp the
	// Devanagari spelling, which rides on a share of the Latin one's posts,
	// paged a median 4 buckets after onset at the page bar and 3 with this,
	// no false alert more over 10 seeds.
	bar := d.cfg.MinZ
	if o.IncidentOpen {
		bar = min(bar, tailLevel)
	}
	if o.Mentions >= d.cfg.MinSupport {
		rm, em = a.mentionStrength(bar, d.cfg.MinGrowth, d.cfg.MinSupport, a.spiky(bar))
	}
	if o.Reports >= d.cfg.MinReports && !tooFewReporters(o, d.cfg.MinReporters) {
		rr, er = a.reportStrength(d.cfg.MinZ, d.cfg.MinGrowth, d.cfg.MinReports)
	}
	if math.Max(rm, rr) < 1 {
		return Finding{}, false
	}
	if rr > rm {
		return reportFinding(NameWatchlist, "WATCHLIST", a, rr, er), true
	}
	return mentionFinding(NameWatchlist, "WATCHLIST", a, rm, em, ""), true
}
