package incident

import (
	"encoding/json"
	"maps"
	"net/url"
	"strings"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/family"
)

// alertsPath is Alertmanager's v2 API for posting alerts.
const alertsPath = "/api/v2/alerts"

// termPlaceholder in incident.generator_url stands for the query-escaped term.
const termPlaceholder = "{term}"

// resendMargins is how many resend intervals an alert's endsAt lies ahead of
// the request that carries it. Prometheus uses 4 for the same reason: a few
// re-sends may be lost or late (a retry, a restart) before Alertmanager takes
// silence for a resolve.
const resendMargins = 4

// historyWindow is how far before an alert opened its history_query starts,
// so the reader sees the baseline the surge broke away from.
const historyWindow = 6 * time.Hour

// alertsURL is where alerts are posted: incident.url is the Alertmanager's base
// URL, with its route prefix if it has one; a URL already naming the API is
// taken as it is.
func alertsURL(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base // Validate has refused it already
	}
	if strings.HasSuffix(u.Path, alertsPath) {
		return base
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + alertsPath
	u.RawPath = ""
	return u.String()
}

// amAlert is one postableAlert of Alertmanager's v2 API.
type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     string            `json:"startsAt,omitempty"`
	EndsAt       string            `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// amEncoder makes the request bodies of kind alertmanager. Unlike the other
// kinds' they depend on the time of the attempt, since endsAt must lie ahead of
// it, so they are made for each attempt rather than once.
type amEncoder struct {
	margin       time.Duration
	maxWait      time.Duration // see newAMEncoder
	generatorURL string
	historyTable string
}

func newAMEncoder(cfg Config) *amEncoder {
	margin := resendMargins * cfg.ResendInterval
	// Delivery is one request at a time, so a retry's wait holds back every
	// open alert's re-send. The last one went out up to a resend interval
	// before the failure and the retry may take a timeout of its own: a wait
	// past the rest of the margin (a Retry-After may ask for minutes) would
	// have Alertmanager resolve, and notify, every open alert meanwhile. Never
	// below backoff_base, so a margin too small for the timeout does not
	// retry in a tight loop.
	maxWait := max(margin-cfg.ResendInterval-cfg.Timeout, cfg.BackoffBase)
	return &amEncoder{
		margin:       margin,
		maxWait:      maxWait,
		generatorURL: cfg.GeneratorURL,
		historyTable: cfg.HistoryTable,
	}
}

// body is the request for ev at now. prev is the alert as last posted for ev's
// key, when known: Alertmanager tells alerts apart by their labels only, so a
// transition whose labels differ from prev's (an escalation changes severity,
// the top region may move) must end prev's explicitly, and a resolve must name
// the labels that are firing, not the ones the alert has now.
func (e *amEncoder) body(ev, prev *alert.Event, now time.Time) ([]byte, error) {
	var alerts []amAlert
	if ev.To == alert.StatusResolved {
		a := e.alert(ev)
		if prev != nil {
			a.Labels = amLabels(prev)
		}
		end := ev.Alert.ResolvedAt
		if end.IsZero() {
			end = eventTime(ev)
		}
		if end.After(now) {
			// Event time ahead of the clock would keep the alert firing until then.
			end = now
		}
		a.EndsAt = e.endsAt(ev, end)
		alerts = append(alerts, a)
	} else {
		a := e.alert(ev)
		a.EndsAt = e.endsAt(ev, now.Add(e.margin))
		alerts = append(alerts, a)
		if prev != nil && !maps.Equal(a.Labels, amLabels(prev)) {
			old := e.alert(prev)
			old.EndsAt = e.endsAt(prev, now)
			alerts = append(alerts, old)
		}
	}
	return json.Marshal(alerts)
}

// endsAt keeps endsAt from preceding startsAt, which Alertmanager rejects with
// a 400 that would never succeed on a retry.
func (e *amEncoder) endsAt(ev *alert.Event, t time.Time) string {
	if s := startsAt(ev); t.Before(s) {
		t = s
	}
	return isoTime(t)
}

func startsAt(ev *alert.Event) time.Time {
	if !ev.Alert.OpenedAt.IsZero() {
		return ev.Alert.OpenedAt
	}
	return eventTime(ev)
}

func (e *amEncoder) alert(ev *alert.Event) amAlert {
	a := &ev.Alert
	ann := map[string]string{
		"summary":       a.Summary,
		"description":   a.Explanation,
		"history_query": e.historyQuery(ev),
	}
	if a.Summary == "" {
		ann["summary"] = summary(&alert.Event{Alert: *a})
	}
	if a.Explanation == "" {
		delete(ann, "description")
	}
	if len(a.Samples) > 0 {
		ann["samples"] = strings.Join(a.Samples, " ")
	}
	// Alertmanager's resolved notification says only that the alert ended;
	// a responder paged early needs to read that it was taken back, not that
	// the term calmed down. Annotations, not labels: the alert stays one.
	if a.Early {
		ann["early"] = "raised on a bucket still open: its final count confirms, escalates or retracts it"
	}
	if ev.Reason == alert.ReasonRetracted {
		ann["retracted"] = "the bucket's final count did not bear the early alert out"
	}
	return amAlert{
		Labels:       amLabels(ev),
		Annotations:  ann,
		StartsAt:     isoTime(startsAt(ev)),
		GeneratorURL: e.generator(a.Term),
	}
}

// amLabels identify the alert to Alertmanager, and are what its routes, group_by,
// inhibitions and silences match on. Empty values are left out: Alertmanager
// treats an empty label as an absent one.
func amLabels(ev *alert.Event) map[string]string {
	a := &ev.Alert
	kind, _, _ := strings.Cut(a.Term, ":")
	if kind == a.Term {
		kind = ""
	}
	expl := alert.Fields(a.Explanation)
	lang := expl["lang"]
	if lang == "" {
		lang = firstLabel(expl["langs"])
	}
	region := ""
	if len(a.TopRegions) > 0 {
		region = a.TopRegions[0]
	} else {
		region = firstLabel(expl["regions"])
	}
	l := map[string]string{
		"alertname": a.Detector,
		"term":      a.Term,
		"kind":      kind,
		"family":    family.OfTerm(a.Term),
		"incident":  OfAlert(a),
		"severity":  a.Severity.String(),
		"region":    region,
		"lang":      lang,
		"category":  expl["category"],
	}
	maps.DeleteFunc(l, func(_, v string) bool { return v == "" })
	return l
}

// Of names the incident an alert on term belongs to: its family for
// a hashtag or a family, the term itself otherwise. One surge raises several
// alerts (a surge, the watchlist, a report wave, on each spelling); a route
// grouping by it notifies once per challenge, with every one of them in the
// notification, as the review's digest groups them.
func Of(term string) string {
	if f := family.OfTerm(term); f != "" {
		return f
	}
	return term
}

// OfAlert names the incident alert a belongs to: that of the hashtag its
// explanation says the alerted challenge is (same_as; a platform names its
// challenge by an ID and people tag it with its hashtag, one surge), Of its
// term otherwise. The engine keeps same_as for as long as the alert is open,
// so an alert's incident, an Alertmanager label, never changes.
func OfAlert(a *alert.Alert) string {
	if t := alert.Fields(a.Explanation)[alert.SameAs]; t != "" {
		return Of(t)
	}
	return Of(a.Term)
}

// firstLabel is the top entry of a "label:n,label:n" count list.
func firstLabel(counts string) string {
	first, _, _ := strings.Cut(counts, ",")
	label, _, _ := strings.Cut(first, ":")
	return label
}

// historyQuery is a query a person can paste into clickhouse-client to see the
// term's minutes from before the alert opened until now.
func (e *amEncoder) historyQuery(ev *alert.Event) string {
	from := startsAt(ev).Add(-historyWindow).UTC().Truncate(time.Minute)
	return "SELECT bucket, mentions, unique_creators, reports, report_rate, top_regions, langs FROM " + e.historyTable +
		" WHERE term = " + sqlString(ev.Alert.Term) +
		" AND bucket >= '" + from.Format(time.DateTime) + "' ORDER BY bucket"
}

// sqlString quotes s as a ClickHouse string literal.
func sqlString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func (e *amEncoder) generator(term string) string {
	if e.generatorURL == "" {
		return ""
	}
	if strings.Contains(e.generatorURL, termPlaceholder) {
		return strings.ReplaceAll(e.generatorURL, termPlaceholder, url.QueryEscape(term))
	}
	u, err := url.Parse(e.generatorURL)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("term", term)
	u.RawQuery = q.Encode()
	return u.String()
}
