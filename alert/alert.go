// Package alert holds what trendwatch tells people: an alert on a term, its
// severity, its lifecycle and the explanation a person reads at 3 a.m. Detectors
// produce alerts; sinks store and deliver their transitions.
package alert

import (
	"fmt"
	"strings"
	"time"
)

// Severity orders how urgently a person must look.
type Severity uint8

const (
	SeverityInfo Severity = iota + 1
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{SeverityInfo: "info", SeverityLow: "low", SeverityMedium: "medium", SeverityHigh: "high", SeverityCritical: "critical"}

func (s Severity) String() string {
	if int(s) < len(severityNames) && severityNames[s] != "" {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", uint8(s))
}

// ParseSeverity is the inverse of Severity.String.
func ParseSeverity(s string) (Severity, error) {
	// Any case and surrounding space: a configuration's "Medium" is medium,
	// in incident.min_severity as in watchlist.risk.
	t := strings.TrimSpace(s)
	for i, n := range severityNames {
		if n != "" && strings.EqualFold(n, t) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want info, low, medium, high or critical)", s)
}

// Status is where an alert is in its lifecycle: open → escalated → resolved.
type Status string

const (
	StatusOpen      Status = "open"
	StatusEscalated Status = "escalated"
	StatusResolved  Status = "resolved"
)

// Alert is the current state of one alert. Key is stable for a term and detector,
// so every store and incident system dedups on it.
type Alert struct {
	Key      string // detector + "|" + term; the dedup key
	Detector string // surge, novelty, coordination, spreading, report_rate, watchlist
	Term     string // "hashtag:blackoutchallenge"
	Status   Status
	Severity Severity

	OpenedAt   time.Time
	UpdatedAt  time.Time
	ResolvedAt time.Time // zero until resolved
	Bucket     time.Time // start of the bucket whose evidence last changed the alert

	Score          float64 // significance (z-like); larger is stronger
	Observed       float64 // mentions (or reports, for report_rate) in the bucket
	Expected       float64 // what the baseline expected
	Growth         float64 // observed / expected
	UniqueCreators uint64
	Reports        float64
	ReportRate     float64 // reports per mention in the bucket
	TopRegions     []string
	Samples        []string // sample content IDs
	Watchlisted    bool
	// Early is set while the alert stands on a bucket still open (early
	// firing): the final judgement of that bucket confirms it (Early is then
	// cleared, without a transition), escalates it or retracts it.
	Early       bool
	Summary     string // one line a person can act on
	Explanation string // the numbers behind the decision, key=value pairs
}

// Event is one lifecycle transition of an alert, with the alert's state after it.
// Sinks append Events to the alert history and upsert Alert as the current state.
type Event struct {
	Alert Alert
	From  Status // "" when the alert was just opened
	To    Status
	At    time.Time // event time of the bucket that caused the transition
	Seq   uint64    // increases with every transition of this key; a version for upserts
	// Reason says why an alert resolved: "" when its term went quiet,
	// ReasonRetracted when it was an early alert the final judgement of its
	// bucket did not bear out.
	Reason string
}

// ReasonRetracted is Event.Reason of an early alert taken back.
const ReasonRetracted = "retracted"

// ID is unique per transition and the same on every replay of it, so an incident
// system or a ReplacingMergeTree absorbs a resend.
func (e Event) ID() string { return fmt.Sprintf("%s#%d", e.Alert.Key, e.Seq) }

// SameAs is the explanation field of a challenge's alert that names the
// hashtag term the challenge is one with (nearly all the posts of each carry
// the other): the alert is in that hashtag's incident. The engine writes it
// and keeps it for as long as the alert is open.
const SameAs = "same_as"

// Fields reads an explanation's key=value pairs, the first of a repeated key.
// Detectors write context there (category=..., the pipeline's language,
// same_as) rather than in fields of their own.
func Fields(explanation string) map[string]string {
	out := map[string]string{}
	for _, f := range strings.Fields(explanation) {
		if k, v, ok := strings.Cut(f, "="); ok && k != "" && v != "" {
			if _, seen := out[k]; !seen {
				out[k] = v
			}
		}
	}
	return out
}
