package backtest

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/sim/gen"
)

// Outcome is one labelled scenario term and what the alerts did about it.
type Outcome struct {
	Label     gen.Label
	Detected  bool
	Delay     int       // buckets from onset to the first alert; -1 when not detected
	FirstAt   time.Time // event time of the first alert
	Detectors []string  // detectors that opened an alert on the term in the window
}

// Score compares alerts with the ground truth.
type Score struct {
	Outcomes []Outcome
	// Opened counts alert openings; TruePositive those on a term that should
	// alert, within its window (onset minus a bucket to end plus Slack).
	Opened, TruePositive int
	// FalseAlarms are openings on terms that must not alert or no label names.
	FalseAlarms []alert.Event
	// Retracted are early openings that the final judgement of their bucket
	// took back (alert.ReasonRetracted): pages the team got, so they count in
	// Opened and against Precision, but neither as a detection nor among
	// FalseAlarms, which are the final judgement's mistakes.
	Retracted   []alert.Event
	Recall      float64
	Precision   float64
	MedianDelay float64
}

// Slack is how long after a scenario's end an alert on its term still counts as
// about that scenario (its decay).
const Slack = 30 * time.Minute

// Evaluate scores the alert transitions evs against labels, with buckets of width.
func Evaluate(labels []gen.Label, evs []alert.Event, width time.Duration) Score {
	var s Score
	byTerm := make(map[string][]int)
	for i, l := range labels {
		byTerm[l.Term] = append(byTerm[l.Term], i)
	}
	s.Outcomes = make([]Outcome, len(labels))
	for i, l := range labels {
		s.Outcomes[i] = Outcome{Label: l, Delay: -1}
	}
	// An alert is one opening of a key: the key may open again later.
	type opening struct {
		key string
		at  time.Time
	}
	retracted := make(map[opening]bool)
	for _, ev := range evs {
		if ev.Reason == alert.ReasonRetracted {
			retracted[opening{ev.Alert.Key, ev.Alert.OpenedAt}] = true
		}
	}
	for _, ev := range evs {
		if ev.From != "" { // only openings count as detections
			continue
		}
		s.Opened++
		if retracted[opening{ev.Alert.Key, ev.Alert.OpenedAt}] {
			s.Retracted = append(s.Retracted, ev)
			continue
		}
		matched := false
		for _, i := range byTerm[ev.Alert.Term] {
			l := labels[i]
			if ev.At.Before(l.Start.Add(-width)) || ev.At.After(l.End.Add(Slack)) {
				continue
			}
			o := &s.Outcomes[i]
			if !contains(o.Detectors, ev.Alert.Detector) {
				o.Detectors = append(o.Detectors, ev.Alert.Detector)
			}
			if !l.ShouldAlert {
				continue
			}
			matched = true
			if !o.Detected || ev.At.Before(o.FirstAt) {
				o.Detected, o.FirstAt = true, ev.At
				o.Delay = max(0, int(ev.At.Sub(l.Start)/width))
			}
		}
		if matched {
			s.TruePositive++
		} else {
			s.FalseAlarms = append(s.FalseAlarms, ev)
		}
	}
	var want, got int
	var delays []int
	for _, o := range s.Outcomes {
		if !o.Label.ShouldAlert {
			continue
		}
		want++
		if o.Detected {
			got++
			delays = append(delays, o.Delay)
		}
	}
	if want > 0 {
		s.Recall = float64(got) / float64(want)
	}
	if s.Opened > 0 {
		s.Precision = float64(s.TruePositive) / float64(s.Opened)
	} else if want == 0 {
		s.Precision = 1
	}
	if len(delays) > 0 {
		sort.Ints(delays)
		m := len(delays) / 2
		if len(delays)%2 == 1 {
			s.MedianDelay = float64(delays[m])
		} else {
			s.MedianDelay = float64(delays[m-1]+delays[m]) / 2
		}
	}
	return s
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

// WriteTable prints the per-scenario outcome and the totals.
func (s Score) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "%-18s %-40s %-6s %-8s %-6s %s\n", "scenario", "term", "alert?", "detected", "delay", "detectors")
	for _, o := range s.Outcomes {
		want := "no"
		if o.Label.ShouldAlert {
			want = "yes"
		}
		det, delay := "no", "-"
		if o.Detected {
			det, delay = "yes", fmt.Sprint(o.Delay)
		} else if !o.Label.ShouldAlert && len(o.Detectors) > 0 {
			det = "FALSE"
		}
		fmt.Fprintf(w, "%-18s %-40s %-6s %-8s %-6s %s\n", o.Label.Scenario, o.Label.Term, want, det, delay, strings.Join(o.Detectors, ","))
	}
	fmt.Fprintf(w, "recall %.3f  precision %.3f (%d of %d alerts)  median delay %.1f buckets  false alarms %d  retracted %d\n",
		s.Recall, s.Precision, s.TruePositive, s.Opened, s.MedianDelay, len(s.FalseAlarms), len(s.Retracted))
	for _, ev := range s.FalseAlarms {
		fmt.Fprintf(w, "  false alarm: %s %s %s\n", ev.At.UTC().Format("2006-01-02 15:04"), ev.Alert.Detector, ev.Alert.Summary)
	}
	for _, ev := range s.Retracted {
		fmt.Fprintf(w, "  retracted: %s %s %s\n", ev.At.UTC().Format("2006-01-02 15:04"), ev.Alert.Detector, ev.Alert.Summary)
	}
}
