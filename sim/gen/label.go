package gen

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/trendwatch/trendwatch/event"
)

// Label is the ground truth about one term of one injected scenario.
type Label struct {
	Scenario string `json:"scenario"` // organic_surge | dangerous_surge | coordinated_push | report_wave | slow_trend | daily_peak
	// Term is the full key as event.Term.String() writes it: "hashtag:…",
	// "challenge:…", "sound:…".
	Term        string    `json:"term"`
	Start       time.Time `json:"start"` // onset: the first bucket of the anomaly
	Peak        time.Time `json:"peak"`  // the first bucket at the anomaly's highest level
	End         time.Time `json:"end"`   // when the anomaly is over
	ShouldAlert bool      `json:"should_alert"`
	// Detectors are those expected to fire: surge, novelty, coordination,
	// report_rate, watchlist.
	Detectors []string `json:"detectors,omitempty"`
	Watchlist bool     `json:"watchlist,omitempty"` // the term is meant to be on the watchlist
}

var detectorNames = []string{"surge", "novelty", "coordination", "spreading", "report_rate", "watchlist", "trusted_report"}

// Validate reports a label that names nothing trendwatch could match.
func (l *Label) Validate() error {
	if !isScenario(l.Scenario) {
		return fmt.Errorf("scenario %q: want one of %v", l.Scenario, AllScenarios())
	}
	t, err := event.ParseTerm(l.Term)
	if err != nil {
		return fmt.Errorf("term: %w", err)
	}
	if t.String() != l.Term {
		return fmt.Errorf("term %q is not in canonical form %q", l.Term, t.String())
	}
	switch {
	case l.Start.IsZero() || l.Peak.IsZero() || l.End.IsZero():
		return errors.New("start, peak and end are required")
	case l.Peak.Before(l.Start) || l.End.Before(l.Peak):
		return fmt.Errorf("want start <= peak <= end, got %s, %s, %s",
			l.Start.Format(time.RFC3339), l.Peak.Format(time.RFC3339), l.End.Format(time.RFC3339))
	}
	for _, d := range l.Detectors {
		known := false
		for _, n := range detectorNames {
			known = known || n == d
		}
		if !known {
			return fmt.Errorf("detector %q: want some of %v", d, detectorNames)
		}
	}
	return nil
}

// WriteLabels writes labels as JSON lines.
func WriteLabels(w io.Writer, ls []Label) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range ls {
		if err := enc.Encode(&ls[i]); err != nil {
			return fmt.Errorf("write label %d (%s %s): %w", i+1, ls[i].Scenario, ls[i].Term, err)
		}
	}
	return nil
}

// ReadLabels reads labels written by WriteLabels and validates each.
func ReadLabels(r io.Reader) ([]Label, error) {
	dec := json.NewDecoder(r)
	var ls []Label
	for i := 1; ; i++ {
		var l Label
		err := dec.Decode(&l)
		if errors.Is(err, io.EOF) {
			return ls, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read label %d: %w", i, err)
		}
		if err := l.Validate(); err != nil {
			return nil, fmt.Errorf("label %d: %w", i, err)
		}
		ls = append(ls, l)
	}
}
