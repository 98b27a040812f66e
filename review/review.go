// Package review builds the post-incident review of an alert and the digest of
// a day's alerts, for readers who are not engineers: what happened to a term,
// when it started, how long detection took, what the detector's numbers mean in
// plain words and what the analysts concluded. Pages are self-contained HTML
// (inline CSS and SVG, nothing fetched) with a Markdown twin.
package review

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/family"
	"github.com/trendwatch/trendwatch/trend"
)

// Verdicts an analyst may give; the strings are what alert_reviews stores and
// notebooks/05_alert_precision.sql counts.
const (
	TruePositive  = "true_positive"
	FalsePositive = "false_positive"
	Unsure        = "unsure"
)

// Verdict is an analyst's conclusion on one alert; the latest one for a key wins.
type Verdict struct {
	Key      string    `json:"key"`
	Verdict  string    `json:"verdict"`
	Reviewer string    `json:"reviewer"`
	Note     string    `json:"note"`
	At       time.Time `json:"reviewed_at"`
}

// ParseVerdict checks that s is one of the verdicts precision is computed from.
func ParseVerdict(s string) (string, error) {
	switch s {
	case TruePositive, FalsePositive, Unsure:
		return s, nil
	}
	return "", fmt.Errorf("verdict %q: want %s, %s or %s", s, TruePositive, FalsePositive, Unsure)
}

// Source is where alerts, aggregates and verdicts are read from: ClickHouse or
// a Parquet run directory.
type Source interface {
	// AlertHistory is every transition of the alert once, in Seq order; empty
	// when the key is unknown.
	AlertHistory(ctx context.Context, key string) ([]alert.Event, error)
	// TermMinutes is the latest version of each of the term's buckets in
	// [from, to), in bucket order.
	TermMinutes(ctx context.Context, term string, from, to time.Time) ([]trend.Minute, error)
	// FamilyMinutes is the latest version of each bucket in [from, to) of
	// every spelling whose rows name family ("family:…"), by term, then
	// bucket; the family's own rows are not among them.
	FamilyMinutes(ctx context.Context, family string, from, to time.Time) ([]trend.Minute, error)
	// LatestVerdict is the key's latest verdict; ok is false when it has none.
	LatestVerdict(ctx context.Context, key string) (v Verdict, ok bool, err error)
	// AlertsOpened lists the keys of the alerts opened in [from, to), sorted.
	AlertsOpened(ctx context.Context, from, to time.Time) ([]string, error)
}

// Incident is everything known about one alert.
type Incident struct {
	Events  []alert.Event  // in Seq order, at least one
	Minutes []trend.Minute // the term's buckets around the alert
	// Spellings are the buckets, over the same span, of the spellings of the
	// term's challenge (its family) that have rows of their own, by term,
	// then bucket; nil for a term without a family.
	Spellings []trend.Minute
	// Family is the buckets of the family itself over the same span, for a
	// spelling's alert (a family's are its Minutes); nil otherwise.
	Family  []trend.Minute
	Verdict *Verdict // nil when no analyst has reviewed it
	// Opening is which opening of its alert this is, from 0, when Events
	// are one opening's (Openings); 0 for an alert's whole history too.
	Opening int
}

// Openings splits an alert's history into its openings: an alert key is
// reused when its detector alerts on the term again after it resolved, and
// each opening is an episode of its own, with its own onset, delay and
// minutes (each opening's span of Minutes, Spellings and Family, from lead
// before it opened to trail after its last transition). The verdict, which
// is the key's, goes to the latest opening it was given after (to the last
// when its time is unknown). An alert that opened once is returned as it is.
func Openings(inc *Incident) []*Incident {
	var starts []int
	for i, e := range inc.Events {
		if i == 0 || e.To == alert.StatusOpen {
			starts = append(starts, i)
		}
	}
	if len(starts) < 2 {
		return []*Incident{inc}
	}
	out := make([]*Incident, len(starts))
	for k, i := range starts {
		j := len(inc.Events)
		if k+1 < len(starts) {
			j = starts[k+1]
		}
		evs := inc.Events[i:j]
		from, to := readFrom(evs[0]), evs[len(evs)-1].At.Add(trail)
		out[k] = &Incident{Events: evs, Minutes: span(inc.Minutes, from, to), Spellings: span(inc.Spellings, from, to),
			Family: span(inc.Family, from, to), Opening: k}
	}
	if v := inc.Verdict; v != nil {
		k := len(out) - 1
		for !v.At.IsZero() && k > 0 && v.At.Before(out[k].Events[0].At) {
			k--
		}
		out[k].Verdict = v
	}
	return out
}

// span is the minutes of mins (of one term or several) in [from, to).
func span(mins []trend.Minute, from, to time.Time) []trend.Minute {
	if mins == nil {
		return nil
	}
	var out []trend.Minute
	for _, m := range mins {
		if !m.Bucket.Before(from) && m.Bucket.Before(to) {
			out = append(out, m)
		}
	}
	return out
}

// How much of the term's history a review shows around the alert: enough
// before it to see the calm the surge broke, and some after the resolution to
// see whether it stayed down.
const (
	lead  = 60 * time.Minute
	trail = 30 * time.Minute
)

// readFrom is where the minutes read for an alert (or an opening of it)
// whose first transition is first begin: lead before it opened.
func readFrom(first alert.Event) time.Time {
	from := first.Alert.OpenedAt
	if from.IsZero() || first.At.Before(from) {
		from = first.At
	}
	return from.Add(-lead)
}

// Load reads one alert's history, its term's buckets around it and its verdict.
func Load(ctx context.Context, src Source, key string) (*Incident, error) {
	evs, err := src.AlertHistory(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("reading history of alert %q: %w", key, err)
	}
	return loadHistory(ctx, src, key, evs)
}

// loadHistory is Load of an alert whose history evs was read already.
func loadHistory(ctx context.Context, src Source, key string, evs []alert.Event) (*Incident, error) {
	if len(evs) == 0 {
		return nil, fmt.Errorf("alert %q: no transitions found (keys look like \"surge|hashtag:blackoutchallenge\")", key)
	}
	first, last := evs[0], evs[len(evs)-1]
	from := readFrom(first)
	to := last.At.Add(trail)
	mins, err := src.TermMinutes(ctx, first.Alert.Term, from, to)
	if err != nil {
		return nil, fmt.Errorf("reading minutes of term %q from %s to %s: %w", first.Alert.Term, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), err)
	}
	inc := &Incident{Events: evs, Minutes: mins}
	if fam := familyOf(first.Alert.Term, mins); fam != "" {
		if inc.Spellings, err = src.FamilyMinutes(ctx, fam, from, to); err != nil {
			return nil, fmt.Errorf("reading minutes of the spellings of %q from %s to %s: %w", fam, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), err)
		}
		if fam != first.Alert.Term {
			if inc.Family, err = src.TermMinutes(ctx, fam, from, to); err != nil {
				return nil, fmt.Errorf("reading minutes of %q from %s to %s: %w", fam, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), err)
			}
		}
	}
	v, ok, err := src.LatestVerdict(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("reading verdict of alert %q: %w", key, err)
	}
	if ok {
		inc.Verdict = &v
	}
	return inc, nil
}

// familyOf is the family of term, whose buckets are mins: the term itself
// when it is a family, else the family its rows name ("" for none).
func familyOf(term string, mins []trend.Minute) string {
	if strings.HasPrefix(term, family.Prefix) {
		return term
	}
	for i := range mins {
		if mins[i].Family != "" {
			return mins[i].Family
		}
	}
	return ""
}

// LoadDay reads every alert opened on the UTC day that holds day, an
// Incident for each of its openings (Openings), and, for
// the incidents that cross midnight (see DayIncident), the alerts of the same
// challenges opened on the incidentDays before and after it. BuildDay counts
// only the day's own, and sorts the others into the day's incidents or none
// by when each was open (episodes).
//
// Every day either side is read, not only up to the first without such an
// alert: an alert open for over a day bridges days on which none opened, and
// an alert of the day opened while it was open continues its incident.
//
// A challenge's alert that is one with a hashtag (same_as) is in that
// hashtag's incident, as BuildDay groups it: the day's alerts bring in the
// days around's alerts on the hashtag's spellings, and a challenge's alert
// of the days around, whose history says what it is one with, comes in when
// that is one of the day's challenges.
func LoadDay(ctx context.Context, src Source, day time.Time) ([]*Incident, error) {
	from := dayOf(day)
	keys, err := src.AlertsOpened(ctx, from, from.AddDate(0, 0, 1))
	if err != nil {
		return nil, fmt.Errorf("listing alerts opened on %s: %w", from.Format(time.DateOnly), err)
	}
	challenges, loaded := map[string]bool{}, map[string]bool{}
	out := make([]*Incident, 0, len(keys))
	for _, k := range keys {
		inc, err := Load(ctx, src, k)
		if err != nil {
			return nil, err
		}
		loaded[k] = true
		for _, c := range alertChallenges(k, inc.Events, inc.Minutes) {
			challenges[c] = true
		}
		// Each opening of an alert is its own row, on the day it opened.
		out = append(out, Openings(inc)...)
	}
	for _, step := range []int{-1, 1} {
		for d := 1; d <= incidentDays && len(challenges) > 0; d++ {
			near := from.AddDate(0, 0, step*d)
			nk, err := src.AlertsOpened(ctx, near, near.AddDate(0, 0, 1))
			if err != nil {
				return nil, fmt.Errorf("listing alerts opened on %s: %w", near.Format(time.DateOnly), err)
			}
			for _, k := range nk {
				// A key opened again another day is one alert, loaded once.
				if loaded[k] {
					continue
				}
				var evs []alert.Event
				ours := challenges[keyChallenge(k)]
				if !ours && isChallengeKey(k) {
					if evs, err = src.AlertHistory(ctx, k); err != nil {
						return nil, fmt.Errorf("reading history of alert %q: %w", k, err)
					}
					for _, c := range alertChallenges(k, evs, nil) {
						ours = ours || challenges[c]
					}
				}
				if !ours {
					continue
				}
				loaded[k] = true
				var inc *Incident
				if evs != nil {
					inc, err = loadHistory(ctx, src, k, evs)
				} else {
					inc, err = Load(ctx, src, k)
				}
				if err != nil {
					return nil, err
				}
				out = append(out, Openings(inc)...)
			}
		}
	}
	return out, nil
}

// alertChallenges are the challenges alert key k, with history evs and
// minutes mins (nil when not read), may be grouped under (challengeKeys):
// its term's family, or the term when it has none, and the hashtag's any of
// its openings is one with (same_as). LoadDay reads an alert when one of
// them is one of the day's; BuildDay then groups what it read.
func alertChallenges(k string, evs []alert.Event, mins []trend.Minute) []string {
	out := []string{keyChallenge(k)}
	if len(evs) > 0 {
		if fam := familyOf(evs[0].Alert.Term, mins); fam != "" {
			out = append(out, fam)
		}
	}
	for _, e := range evs {
		if h := alert.Fields(e.Alert.Explanation)[alert.SameAs]; h != "" {
			out = append(out, cmp.Or(family.OfTerm(h), h))
		}
	}
	return out
}

// isChallengeKey says whether alert key k is on a challenge's ID, the only
// kind of term the engine finds one with a hashtag (same_as).
func isChallengeKey(k string) bool {
	_, term, _ := strings.Cut(k, "|")
	return strings.HasPrefix(term, event.KindChallenge.String()+":")
}

// incidentDays bounds how many days either side LoadDay looks for the rest of
// an incident: a challenge alerting every day for a week is a standing
// concern, not one incident.
const incidentDays = 7

// keyChallenge is the challenge of alert key k ("detector|term"): its term's
// family, or the term when it has none.
func keyChallenge(k string) string {
	_, term, _ := strings.Cut(k, "|")
	return cmp.Or(family.OfTerm(term), term)
}
