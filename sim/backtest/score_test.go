package backtest

import (
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/sim/gen"
)

func TestEvaluate(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	minute := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }
	labels := []gen.Label{
		{Scenario: gen.OrganicSurge, Term: "hashtag:surge", Start: minute(10), End: minute(40), ShouldAlert: true},
		{Scenario: gen.SlowTrend, Term: "hashtag:slow", Start: minute(0), End: minute(120), ShouldAlert: false},
	}
	open := func(term string, at int, early bool) alert.Event {
		return alert.Event{Alert: alert.Alert{Key: "surge|" + term, Detector: "surge", Term: term, OpenedAt: minute(at), Early: early},
			To: alert.StatusOpen, At: minute(at)}
	}
	retract := func(term string, opened, at int) alert.Event {
		return alert.Event{Alert: alert.Alert{Key: "surge|" + term, Detector: "surge", Term: term, OpenedAt: minute(opened), Status: alert.StatusResolved},
			From: alert.StatusOpen, To: alert.StatusResolved, At: minute(at), Reason: alert.ReasonRetracted}
	}
	tests := []struct {
		name                        string
		evs                         []alert.Event
		detected                    bool
		delay, opened, tp, fa, retr int
		precision                   float64
	}{
		{"found in the second bucket", []alert.Event{open("hashtag:surge", 12, false)}, true, 2, 1, 1, 0, 0, 1},
		{"a page on a term that must not alert", []alert.Event{open("hashtag:surge", 11, false), open("hashtag:slow", 50, false)}, true, 1, 2, 1, 1, 0, 0.5},
		{"an unlabelled term", []alert.Event{open("hashtag:other", 11, false)}, false, -1, 1, 0, 1, 0, 0},
		// A retracted early page told the team nothing true: it is no
		// detection, and counts against precision, but is not one of the
		// final judgement's false alarms.
		{"retracted early page is no detection", []alert.Event{open("hashtag:surge", 10, true), retract("hashtag:surge", 10, 11)}, false, -1, 1, 0, 0, 1, 0},
		{"the key opens again after its retraction", []alert.Event{
			open("hashtag:surge", 10, true), retract("hashtag:surge", 10, 11), open("hashtag:surge", 13, false)}, true, 3, 2, 1, 0, 1, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Evaluate(labels, tt.evs, time.Minute)
			o := s.Outcomes[0]
			if o.Detected != tt.detected || o.Delay != tt.delay {
				t.Errorf("surge: detected %v delay %d, want %v %d", o.Detected, o.Delay, tt.detected, tt.delay)
			}
			if s.Opened != tt.opened || s.TruePositive != tt.tp || len(s.FalseAlarms) != tt.fa || len(s.Retracted) != tt.retr {
				t.Errorf("opened %d true %d false %d retracted %d, want %d %d %d %d",
					s.Opened, s.TruePositive, len(s.FalseAlarms), len(s.Retracted), tt.opened, tt.tp, tt.fa, tt.retr)
			}
			if s.Precision != tt.precision {
				t.Errorf("precision %v, want %v", s.Precision, tt.precision)
			}
		})
	}
}
