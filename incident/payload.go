package incident

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/family"
)

// PagerDuty Events API v2 limits: longer fields are rejected with a 400, which
// is not retried, so they are cut here instead.
const (
	pdMaxSummary  = 1024
	pdMaxDedupKey = 255
)

// pagerDutySeverity maps trendwatch's five severities onto PagerDuty's four:
//
//	critical → critical
//	high     → error
//	medium   → warning
//	low      → info
//	info     → info
func pagerDutySeverity(s alert.Severity) string {
	switch {
	case s >= alert.SeverityCritical:
		return "critical"
	case s == alert.SeverityHigh:
		return "error"
	case s == alert.SeverityMedium:
		return "warning"
	default:
		return "info"
	}
}

type pdEvent struct {
	RoutingKey  string     `json:"routing_key"`
	EventAction string     `json:"event_action"`
	DedupKey    string     `json:"dedup_key"`
	Payload     *pdPayload `json:"payload,omitempty"`
}

type pdPayload struct {
	Summary       string     `json:"summary"`
	Source        string     `json:"source"`
	Severity      string     `json:"severity"`
	Timestamp     string     `json:"timestamp,omitempty"`
	Component     string     `json:"component,omitempty"`
	Group         string     `json:"group,omitempty"`
	Class         string     `json:"class,omitempty"`
	CustomDetails *alertJSON `json:"custom_details"`
}

// pagerDutyBody is the Events API v2 request for one transition: open and
// escalated trigger (PagerDuty folds a trigger for an open dedup_key into the
// incident it already has), resolved resolves.
func pagerDutyBody(routingKey, source string, ev *alert.Event) ([]byte, error) {
	e := pdEvent{RoutingKey: routingKey, DedupKey: dedupKey(ev.Alert.Key)}
	if ev.To == alert.StatusResolved {
		e.EventAction = "resolve"
		return json.Marshal(e)
	}
	e.EventAction = "trigger"
	a := &ev.Alert
	e.Payload = &pdPayload{
		Summary:   truncate(summary(ev), pdMaxSummary),
		Source:    source,
		Severity:  pagerDutySeverity(a.Severity),
		Timestamp: isoTime(eventTime(ev)),
		Component: a.Term,
		// group is PagerDuty's field for what belongs together: the
		// incident (Of), so that its content-based grouping can fold one
		// challenge's alerts, every detector and spelling, into one.
		Group:         OfAlert(a),
		Class:         a.Detector,
		CustomDetails: newAlertJSON(ev),
	}
	return json.Marshal(e)
}

// dedupKey is the alert's key, or for a key too long for PagerDuty a prefix of it
// and a hash of all of it, so two long keys still differ.
func dedupKey(key string) string {
	if len(key) <= pdMaxDedupKey {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	return truncate(key, pdMaxDedupKey-len(h)-1) + "#" + h
}

func summary(ev *alert.Event) string {
	s := ev.Alert.Summary
	if s == "" {
		s = fmt.Sprintf("%s alert on %s", ev.Alert.Detector, ev.Alert.Term)
	}
	if ev.To == alert.StatusEscalated {
		s = "[escalated to " + ev.Alert.Severity.String() + "] " + s
	}
	return s
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func eventTime(ev *alert.Event) time.Time {
	if !ev.At.IsZero() {
		return ev.At
	}
	return ev.Alert.UpdatedAt
}

func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// webhookType is the Standard Webhooks event type of a transition to status.
func webhookType(to alert.Status) string {
	switch to {
	case alert.StatusOpen:
		return "alert.opened"
	case alert.StatusEscalated:
		return "alert.escalated"
	case alert.StatusResolved:
		return "alert.resolved"
	}
	return ""
}

type webhookMessage struct {
	Type      string     `json:"type"`
	Timestamp string     `json:"timestamp"`
	Data      *alertJSON `json:"data"`
}

func webhookBody(ev *alert.Event) ([]byte, error) {
	return json.Marshal(webhookMessage{
		Type:      webhookType(ev.To),
		Timestamp: isoTime(eventTime(ev)),
		Data:      newAlertJSON(ev),
	})
}

// alertJSON is a transition as incident systems see it: the webhook's data and
// PagerDuty's custom_details. Zero times are left out rather than sent as year 1.
type alertJSON struct {
	EventID        string    `json:"event_id"`
	Key            string    `json:"key"`
	Detector       string    `json:"detector"`
	Term           string    `json:"term"`
	From           string    `json:"from,omitempty"`
	To             string    `json:"to"`
	Seq            uint64    `json:"seq"`
	At             string    `json:"at,omitempty"`
	Status         string    `json:"status"`
	Severity       string    `json:"severity"`
	OpenedAt       string    `json:"opened_at,omitempty"`
	UpdatedAt      string    `json:"updated_at,omitempty"`
	ResolvedAt     string    `json:"resolved_at,omitempty"`
	Bucket         string    `json:"bucket,omitempty"`
	Score          jsonFloat `json:"score"`
	Observed       jsonFloat `json:"observed"`
	Expected       jsonFloat `json:"expected"`
	Growth         jsonFloat `json:"growth"`
	UniqueCreators uint64    `json:"unique_creators"`
	Reports        jsonFloat `json:"reports"`
	ReportRate     jsonFloat `json:"report_rate"`
	TopRegions     []string  `json:"top_regions"`
	Samples        []string  `json:"samples"`
	Watchlisted    bool      `json:"watchlisted"`
	// Family is a hashtag's term family, whatever its spelling, and a
	// family's alert its own (the Alertmanager label of that name): a
	// receiver groups one challenge's alerts by it.
	Family string `json:"family,omitempty"`
	// Incident names the incident the alert belongs to, as the
	// Alertmanager label of that name: its family for a hashtag or a
	// family, the term itself otherwise. One surge raises several alerts
	// (detectors, spellings); they share it.
	Incident string `json:"incident"`
	// Early: the alert stands on a bucket still open; its final judgement
	// confirms it (no further message), escalates it or retracts it (a
	// resolve with reason "retracted").
	Early       bool   `json:"early,omitempty"`
	Reason      string `json:"reason,omitempty"`
	Summary     string `json:"summary"`
	Explanation string `json:"explanation"`
}

func newAlertJSON(ev *alert.Event) *alertJSON {
	a := &ev.Alert
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return &alertJSON{
		EventID: ev.ID(), Key: a.Key, Detector: a.Detector, Term: a.Term,
		From: string(ev.From), To: string(ev.To), Seq: ev.Seq, At: isoTime(ev.At),
		Status: string(a.Status), Severity: a.Severity.String(),
		OpenedAt: isoTime(a.OpenedAt), UpdatedAt: isoTime(a.UpdatedAt), ResolvedAt: isoTime(a.ResolvedAt), Bucket: isoTime(a.Bucket),
		Score: jsonFloat(a.Score), Observed: jsonFloat(a.Observed), Expected: jsonFloat(a.Expected), Growth: jsonFloat(a.Growth),
		UniqueCreators: a.UniqueCreators, Reports: jsonFloat(a.Reports), ReportRate: jsonFloat(a.ReportRate),
		TopRegions: nonNil(a.TopRegions), Samples: nonNil(a.Samples), Watchlisted: a.Watchlisted,
		Family: family.OfTerm(a.Term), Incident: OfAlert(a), Early: a.Early, Reason: ev.Reason,
		Summary: a.Summary, Explanation: a.Explanation,
	}
}

// jsonFloat encodes NaN and ±Inf, which JSON has no numbers for and which a
// growth over an expected 0 produces, as null rather than failing the request.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}
