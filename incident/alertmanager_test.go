package incident

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trendwatch/trendwatch/alert"
)

func TestAlertsURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"http://alertmanager:9093", "http://alertmanager:9093/api/v2/alerts"},
		{"http://alertmanager:9093/", "http://alertmanager:9093/api/v2/alerts"},
		{"https://ops.example.org/alertmanager", "https://ops.example.org/alertmanager/api/v2/alerts"},
		{"https://ops.example.org/alertmanager/api/v2/alerts", "https://ops.example.org/alertmanager/api/v2/alerts"},
	} {
		if got := alertsURL(tt.in); got != tt.want {
			t.Errorf("alertsURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAMLabels(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*alert.Alert)
		want   map[string]string
	}{
		{"sample", func(*alert.Alert) {}, map[string]string{
			"alertname": "surge", "term": "hashtag:blackoutchallenge", "kind": "hashtag", "family": "family:blakautchalenj", "incident": "family:blakautchalenj", "severity": "high", "region": "NP",
		}},
		{"watchlist category and language", func(a *alert.Alert) {
			a.Explanation = "observed=300 watch=*challenge* risk=high category=dangerous_challenge langs=ne:40,hi:3"
		}, map[string]string{
			"alertname": "surge", "term": "hashtag:blackoutchallenge", "kind": "hashtag", "family": "family:blakautchalenj", "incident": "family:blakautchalenj", "severity": "high", "region": "NP",
			"category": "dangerous_challenge", "lang": "ne",
		}},
		{"lang over langs", func(a *alert.Alert) { a.Explanation = "langs=ne:40 lang=hi" }, map[string]string{
			"alertname": "surge", "term": "hashtag:blackoutchallenge", "kind": "hashtag", "family": "family:blakautchalenj", "incident": "family:blakautchalenj", "severity": "high", "region": "NP", "lang": "hi",
		}},
		{"region from the explanation", func(a *alert.Alert) {
			a.TopRegions, a.Explanation = nil, "regions=IN:80,NP:12"
		}, map[string]string{
			"alertname": "surge", "term": "hashtag:blackoutchallenge", "kind": "hashtag", "family": "family:blakautchalenj", "incident": "family:blakautchalenj", "severity": "high", "region": "IN",
		}},
		{"nothing optional", func(a *alert.Alert) {
			a.Detector, a.Term, a.TopRegions, a.Explanation, a.Severity = "novelty", "sound:8812", nil, "", alert.SeverityCritical
		}, map[string]string{"alertname": "novelty", "term": "sound:8812", "kind": "sound", "incident": "sound:8812", "severity": "critical"}},
		{"term without a kind", func(a *alert.Alert) { a.Term = "blackout" }, map[string]string{
			"alertname": "surge", "term": "blackout", "incident": "blackout", "severity": "high", "region": "NP",
		}},
		{"a family's alert", func(a *alert.Alert) { a.Term = "family:blakautchalenj" }, map[string]string{
			"alertname": "surge", "term": "family:blakautchalenj", "kind": "family", "family": "family:blakautchalenj", "incident": "family:blakautchalenj", "severity": "high", "region": "NP",
		}},
		{"another spelling", func(a *alert.Alert) { a.Term = "hashtag:bl4ckout_challenge" }, map[string]string{
			"alertname": "surge", "term": "hashtag:bl4ckout_challenge", "kind": "hashtag", "family": "family:blakautchalenj", "incident": "family:blakautchalenj", "severity": "high", "region": "NP",
		}},
		{"a challenge that is its hashtag's posts", func(a *alert.Alert) {
			a.Term, a.Explanation = "challenge:ch1", "observed=300 same_as=hashtag:bl4ckout_challenge"
		}, map[string]string{
			"alertname": "surge", "term": "challenge:ch1", "kind": "challenge", "incident": "family:blakautchalenj", "severity": "high", "region": "NP",
		}},
		{"empty category", func(a *alert.Alert) { a.Explanation = "category= watch=x" }, map[string]string{
			"alertname": "surge", "term": "hashtag:blackoutchallenge", "kind": "hashtag", "family": "family:blakautchalenj", "incident": "family:blakautchalenj", "severity": "high", "region": "NP",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := sampleEvent(alert.StatusOpen)
			tt.mutate(&ev.Alert)
			if got := amLabels(&ev); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("amLabels = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAMAnnotations(t *testing.T) {
	e := newAMEncoder(alertmanagerConfig("https://am.example.org"))
	ev := sampleEvent(alert.StatusOpen)
	ev.Alert.Term = `hashtag:it's\`
	a := e.alert(&ev)
	want := map[string]string{
		"summary":     ev.Alert.Summary,
		"description": ev.Alert.Explanation,
		"history_query": `SELECT bucket, mentions, unique_creators, reports, report_rate, top_regions, langs FROM trendwatch.term_history` +
			` WHERE term = 'hashtag:it\'s\\' AND bucket >= '2025-03-09 08:02:00' ORDER BY bucket`,
		"samples": "c1",
	}
	if !reflect.DeepEqual(a.Annotations, want) {
		t.Errorf("annotations =\n%v\nwant\n%v", a.Annotations, want)
	}
	ev.Alert.Summary, ev.Alert.Explanation, ev.Alert.Samples = "", "", nil
	a = e.alert(&ev)
	if got := a.Annotations["summary"]; got != `surge alert on hashtag:it's\` {
		t.Errorf("summary without one = %q", got)
	}
	if _, ok := a.Annotations["description"]; ok {
		t.Error("description without an explanation")
	}
	if _, ok := a.Annotations["samples"]; ok {
		t.Error("samples without any")
	}
	for _, k := range []string{"early", "retracted"} {
		if _, ok := a.Annotations[k]; ok {
			t.Errorf("%s on an alert that was neither early nor retracted", k)
		}
	}
	// An early alert says so while it stands; its retraction says it was
	// taken back, where Alertmanager's resolved notification would read as
	// the term calming down.
	ev.Alert.Early = true
	if a = e.alert(&ev); a.Annotations["early"] == "" || a.Annotations["retracted"] != "" {
		t.Errorf("early alert: annotations %v", a.Annotations)
	}
	res := sampleEvent(alert.StatusResolved)
	res.Reason = alert.ReasonRetracted
	if a = e.alert(&res); a.Annotations["retracted"] == "" {
		t.Errorf("retracted alert: annotations %v", a.Annotations)
	}
}

func TestGeneratorURL(t *testing.T) {
	for _, tt := range []struct{ base, want string }{
		{"", ""},
		{"https://grafana.example.org/d/term?var-term={term}", "https://grafana.example.org/d/term?var-term=hashtag%3A%E0%A4%A8"},
		{"https://trends.example.org/term", "https://trends.example.org/term?term=hashtag%3A%E0%A4%A8"},
		{"https://trends.example.org/term?org=2", "https://trends.example.org/term?org=2&term=hashtag%3A%E0%A4%A8"},
	} {
		e := &amEncoder{generatorURL: tt.base}
		if got := e.generator("hashtag:न"); got != tt.want {
			t.Errorf("generator with %q = %q, want %q", tt.base, got, tt.want)
		}
	}
}

func decodeAM(t testing.TB, b []byte) []amAlert {
	t.Helper()
	var as []amAlert
	if err := json.Unmarshal(b, &as); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return as
}

// TestAMBody checks what each transition posts: which label sets, and when each
// ends.
func TestAMBody(t *testing.T) {
	cfg := alertmanagerConfig("https://am.example.org")
	cfg.ResendInterval = time.Minute
	e := newAMEncoder(cfg)
	now := time.Date(2025, 3, 9, 14, 5, 0, 0, time.UTC)
	open := sampleEvent(alert.StatusOpen)
	open.Alert.Severity = alert.SeverityMedium
	esc := sampleEvent(alert.StatusEscalated)
	sameLabels := esc
	sameLabels.Alert.Severity = alert.SeverityMedium
	res := sampleEvent(alert.StatusResolved)
	future := res
	future.Alert.ResolvedAt = now.Add(time.Hour)
	early := open
	early.Alert.OpenedAt = now.Add(time.Hour)

	type posted struct {
		severity string
		endsAt   time.Time
	}
	tests := []struct {
		name     string
		ev, prev *alert.Event
		want     []posted
		startsAt time.Time
	}{
		{"open", &open, nil, []posted{{"medium", now.Add(4 * time.Minute)}}, open.Alert.OpenedAt},
		{"escalation ends the old labels", &esc, &open, []posted{{"high", now.Add(4 * time.Minute)}, {"medium", now}}, open.Alert.OpenedAt},
		{"same labels post once", &sameLabels, &open, []posted{{"medium", now.Add(4 * time.Minute)}}, open.Alert.OpenedAt},
		{"resolve names the labels posted", &res, &open, []posted{{"medium", res.Alert.ResolvedAt}}, open.Alert.OpenedAt},
		{"resolve of an alert not known", &res, nil, []posted{{"high", res.Alert.ResolvedAt}}, res.Alert.OpenedAt},
		{"resolve ahead of the clock ends now", &future, nil, []posted{{"high", now}}, future.Alert.OpenedAt},
		{"endsAt never before startsAt", &early, nil, []posted{{"medium", early.Alert.OpenedAt}}, early.Alert.OpenedAt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := e.body(tt.ev, tt.prev, now)
			if err != nil {
				t.Fatal(err)
			}
			as := decodeAM(t, b)
			if len(as) != len(tt.want) {
				t.Fatalf("posted %d alerts, want %d: %s", len(as), len(tt.want), b)
			}
			for i, w := range tt.want {
				a := as[i]
				if a.Labels["severity"] != w.severity {
					t.Errorf("alert %d: severity %s, want %s", i, a.Labels["severity"], w.severity)
				}
				if end, _ := time.Parse(time.RFC3339, a.EndsAt); !end.Equal(w.endsAt) {
					t.Errorf("alert %d: endsAt %s, want %v", i, a.EndsAt, w.endsAt)
				}
				if start, _ := time.Parse(time.RFC3339, a.StartsAt); !start.Equal(tt.startsAt) {
					t.Errorf("alert %d: startsAt %s, want %v", i, a.StartsAt, tt.startsAt)
				}
			}
		})
	}
}

// amReceiver is an Alertmanager stand-in for the notifier's own behaviour (re-sends,
// retries, checkpoints); the integration test runs the real one.
type amReceiver struct {
	srv  *httptest.Server
	fail atomic.Int32 // answer this many requests with 503 first

	mu    sync.Mutex
	posts [][]amAlert
	at    []time.Time
}

func newAMReceiver(t testing.TB) *amReceiver {
	rc := &amReceiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != alertsPath || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		if rc.fail.Add(-1) >= 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var as []amAlert
		if err := json.Unmarshal(b, &as); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		rc.posts = append(rc.posts, as)
		rc.at = append(rc.at, time.Now())
		rc.mu.Unlock()
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *amReceiver) received() ([][]amAlert, []time.Time) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([][]amAlert(nil), rc.posts...), append([]time.Time(nil), rc.at...)
}

func amTestConfig(rawURL string) Config {
	c := alertmanagerConfig(rawURL)
	c.AllowedHosts = []string{"127.0.0.1"}
	c.PerTermInterval = 0
	c.Timeout = 300 * time.Millisecond
	c.BackoffBase = 5 * time.Millisecond
	c.BackoffMax = 50 * time.Millisecond
	c.ResendInterval = time.Hour // tests that want re-sends lower it
	return c
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAlertmanagerResendsWhileOpen(t *testing.T) {
	rc := newAMReceiver(t)
	cfg := amTestConfig(rc.srv.URL)
	cfg.ResendInterval = 20 * time.Millisecond
	reg := prometheus.NewRegistry()
	s := startNotifier(t, cfg, reg)
	evs := lifecycle("surge|hashtag:a")
	if err := s.Notify(context.Background(), evs[:1]); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "three re-sends", func() bool { p, _ := rc.received(); return len(p) >= 4 })
	if got := testutil.ToFloat64(s.m.open); got != 1 {
		t.Errorf("open alerts gauge = %v, want 1", got)
	}
	if err := s.Notify(context.Background(), evs[1:]); err != nil {
		t.Fatal(err)
	}
	drain(t, s, 5*time.Second)
	time.Sleep(5 * cfg.ResendInterval)
	posts, at := rc.received()
	last := posts[len(posts)-1]
	if len(last) != 1 || last[0].Labels["severity"] != "high" {
		t.Fatalf("last post %+v, want the resolve of the high alert", last)
	}
	if end, _ := time.Parse(time.RFC3339, last[0].EndsAt); !end.Equal(evs[2].Alert.ResolvedAt) {
		t.Errorf("resolve endsAt %s, want %v", last[0].EndsAt, evs[2].Alert.ResolvedAt)
	}
	var prevEnd time.Time
	for i, p := range posts[:len(posts)-1] {
		end, _ := time.Parse(time.RFC3339, p[0].EndsAt)
		// Each firing post reaches four intervals past its own sending.
		if min := at[i].Add(4*cfg.ResendInterval - time.Second); end.Before(min) {
			t.Errorf("post %d: endsAt %v, want at least %v", i, end, min)
		}
		if end.Before(prevEnd) {
			t.Errorf("post %d: endsAt %v moved back from %v", i, end, prevEnd)
		}
		prevEnd = end
	}
	if got := testutil.ToFloat64(s.m.open); got != 0 {
		t.Errorf("open alerts gauge after the resolve = %v, want 0", got)
	}
}

// TestAlertmanagerRetryRefreshesEndsAt: a retry much later must not post the
// endsAt of the first attempt, which may have passed.
func TestAlertmanagerRetryRefreshesEndsAt(t *testing.T) {
	rc := newAMReceiver(t)
	rc.fail.Store(3)
	cfg := amTestConfig(rc.srv.URL)
	s, err := New(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	clock.Store(base.UnixNano())
	s.now = func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	if err := s.Notify(context.Background(), lifecycle("surge|hashtag:a")[:1]); err != nil {
		t.Fatal(err)
	}
	clock.Store(base.Add(3 * time.Hour).UnixNano())
	s.Start(context.Background())
	defer s.Close()
	drain(t, s, 5*time.Second)
	posts, _ := rc.received()
	if len(posts) != 1 {
		t.Fatalf("%d posts delivered, want 1", len(posts))
	}
	if want := isoTime(base.Add(3*time.Hour + 4*cfg.ResendInterval)); posts[0][0].EndsAt != want {
		t.Errorf("endsAt %s, want %s (from the attempt that succeeded)", posts[0][0].EndsAt, want)
	}
}

// TestAlertmanagerCheckpointKeepsOpenAlerts: the open alerts are in Pending, so
// a restarted notifier keeps re-sending them and resolves them with the labels it
// posted.
func TestAlertmanagerCheckpointKeepsOpenAlerts(t *testing.T) {
	rc := newAMReceiver(t)
	cfg := amTestConfig(rc.srv.URL)
	first := startNotifier(t, cfg, nil)
	a, b := lifecycle("surge|hashtag:a"), lifecycle("novelty|hashtag:b")
	if err := first.Notify(context.Background(), []alert.Event{a[0], a[1], b[0], b[1], b[2]}); err != nil {
		t.Fatal(err)
	}
	drain(t, first, 5*time.Second)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	pending := first.Pending()
	if got, want := ids(pending), ids(a[1:2]); !reflect.DeepEqual(got, want) {
		t.Fatalf("Pending() = %v, want the open alert's last trigger %v", got, want)
	}

	second, err := New(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	second.Restore(pending)
	second.Restore(pending) // twice: no duplicates
	second.Start(context.Background())
	defer second.Close()
	// The replayed input brings a's transitions again, then its resolve.
	if err := second.Notify(context.Background(), a[:2]); err != nil {
		t.Fatal(err)
	}
	drain(t, second, 5*time.Second)
	if err := second.Notify(context.Background(), a[2:]); err != nil {
		t.Fatal(err)
	}
	drain(t, second, 5*time.Second)
	posts, _ := rc.received()
	posts = posts[5:] // what the first notifier sent: open, escalation of each, and b's resolve
	if len(posts) != 2 {
		t.Fatalf("second notifier posted %+v, want the restored alert and its resolve", posts)
	}
	if l := posts[0][0].Labels; l["term"] != "hashtag:a" || l["severity"] != "high" {
		t.Errorf("restored post labels %v", l)
	}
	if l := posts[1][0].Labels; l["term"] != "hashtag:a" || l["severity"] != "high" || posts[1][0].EndsAt != isoTime(a[2].Alert.ResolvedAt) {
		t.Errorf("resolve post %+v", posts[1][0])
	}
	if p := second.Pending(); len(p) != 0 {
		t.Errorf("Pending() after everything resolved = %v", ids(p))
	}
}

func TestAlertmanagerMaxOpen(t *testing.T) {
	cfg := amTestConfig("http://127.0.0.1:9")
	cfg.MaxOpen = 2
	cfg.Outbox = 10
	reg := prometheus.NewRegistry()
	s, err := New(cfg, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	var evs []alert.Event
	for i, key := range []string{"surge|hashtag:old", "surge|hashtag:mid", "surge|hashtag:new"} {
		ev := transition(key, 1, alert.StatusOpen, alert.SeverityHigh)
		ev.At = base.Add(time.Duration(i) * time.Minute)
		evs = append(evs, ev)
	}
	if err := s.Notify(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	_, old := s.open["surge|hashtag:old"]
	n := len(s.open)
	s.mu.Unlock()
	if n != 2 || old {
		t.Errorf("open alerts %d (oldest kept: %v), want 2 without the oldest", n, old)
	}
	if got := testutil.ToFloat64(s.m.dropped.WithLabelValues(reasonOpenFull)); got != 1 {
		t.Errorf("dropped{reason=open_full} = %v, want 1", got)
	}
	// Still queued, the forgotten one goes out once; the open ones are not
	// listed twice for being both queued and open.
	if got, want := ids(s.Pending()), ids(evs); !reflect.DeepEqual(got, want) {
		t.Errorf("Pending() = %v, want %v", got, want)
	}
}

func TestAlertmanagerRejectedNotResent(t *testing.T) {
	var posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		http.Error(w, `"start time must be before end time"`, http.StatusBadRequest)
	}))
	defer srv.Close()
	cfg := amTestConfig(srv.URL)
	cfg.ResendInterval = 10 * time.Millisecond
	s := startNotifier(t, cfg, nil)
	if err := s.Notify(context.Background(), lifecycle("surge|hashtag:a")[:1]); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the rejection", func() bool { return posts.Load() >= 1 })
	drain(t, s, 5*time.Second)
	time.Sleep(10 * cfg.ResendInterval)
	if n := posts.Load(); n != 1 {
		t.Errorf("%d posts, want 1: a rejected alert is not re-sent", n)
	}
	if p := s.Pending(); len(p) != 0 {
		t.Errorf("Pending() keeps a rejected alert: %v", ids(p))
	}
}

// TestAlertmanagerCheckpointKeepsPostedLabels: a transition still queued at a
// restart ends or resolves the alert as it was posted, not as it is now.
func TestAlertmanagerCheckpointKeepsPostedLabels(t *testing.T) {
	opened := transition("surge|hashtag:a", 1, alert.StatusOpen, alert.SeverityMedium)
	opened.Alert.TopRegions = []string{"NP"}
	escalated := transition("surge|hashtag:a", 2, alert.StatusEscalated, alert.SeverityHigh)
	escalated.Alert.TopRegions = []string{"NP"}
	retracted := transition("surge|hashtag:a", 2, alert.StatusResolved, alert.SeverityMedium)
	retracted.Alert.TopRegions = []string{"IN"} // the top region moved
	retracted.Reason = alert.ReasonRetracted
	tests := []struct {
		name    string
		pending alert.Event
		// check is given the labels the first notifier posted and the posts
		// of the second.
		check func(t *testing.T, posted map[string]string, posts [][]amAlert, at []time.Time)
	}{
		{"escalation", escalated, func(t *testing.T, posted map[string]string, posts [][]amAlert, at []time.Time) {
			last := posts[len(posts)-1]
			if last[0].Labels["severity"] != "high" {
				t.Errorf("last post %+v, want the high alert firing first", last)
			}
			old := slices.IndexFunc(last, func(a amAlert) bool { return maps.Equal(a.Labels, posted) })
			if old < 0 {
				t.Fatalf("last post %+v does not end the medium alert %v", last, posted)
			}
			if end, _ := time.Parse(time.RFC3339, last[old].EndsAt); end.After(at[len(at)-1]) {
				t.Errorf("medium alert ends at %v, after the post at %v", end, at[len(at)-1])
			}
		}},
		{"retracted resolve", retracted, func(t *testing.T, posted map[string]string, posts [][]amAlert, _ []time.Time) {
			last := posts[len(posts)-1]
			if len(last) != 1 || !maps.Equal(last[0].Labels, posted) {
				t.Fatalf("last post %+v, want the resolve of %v", last, posted)
			}
			if last[0].EndsAt != isoTime(retracted.Alert.ResolvedAt) || last[0].Annotations["retracted"] == "" {
				t.Errorf("resolve %+v, want endsAt %s and the retracted annotation", last[0], isoTime(retracted.Alert.ResolvedAt))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newAMReceiver(t)
			cfg := amTestConfig(rc.srv.URL)
			first := startNotifier(t, cfg, nil)
			if err := first.Notify(context.Background(), []alert.Event{opened}); err != nil {
				t.Fatal(err)
			}
			drain(t, first, 5*time.Second)
			rc.fail.Store(1 << 30)
			if err := first.Notify(context.Background(), []alert.Event{tt.pending}); err != nil {
				t.Fatal(err)
			}
			if err := first.Close(); err != nil {
				t.Fatal(err)
			}
			pending := first.Pending()
			posts, _ := rc.received()
			if len(posts) != 1 {
				t.Fatalf("first notifier posted %+v, want the open alert", posts)
			}
			posted := posts[0][0].Labels

			rc.fail.Store(0)
			second, err := New(cfg, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			second.Restore(pending)
			second.Start(context.Background())
			defer second.Close()
			drain(t, second, 5*time.Second)
			posts, at := rc.received()
			if len(posts) < 2 {
				t.Fatalf("second notifier posted nothing")
			}
			tt.check(t, posted, posts[1:], at[1:])
		})
	}
}

// TestAlertmanagerRetryWaitWithinMargin: delivery is one request at a time,
// so no retry may wait so long that the open alerts' endsAt passes.
func TestAlertmanagerRetryWaitWithinMargin(t *testing.T) {
	tests := []struct {
		name       string
		kind       string
		retryAfter time.Duration
		want       time.Duration
	}{
		{"alertmanager: capped", KindAlertmanager, maxRetryAfter, 4*time.Minute - time.Minute - 10*time.Second},
		{"alertmanager: within the margin", KindAlertmanager, 30 * time.Second, 30 * time.Second},
		{"webhook: as asked", KindWebhook, maxRetryAfter, maxRetryAfter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig("https://hooks.example.org/x")
			if tt.kind == KindAlertmanager {
				cfg = amTestConfig("http://127.0.0.1:9")
			}
			cfg.ResendInterval, cfg.Timeout = time.Minute, 10*time.Second
			s, err := New(cfg, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			ev := transition("surge|hashtag:a", 1, alert.StatusOpen, alert.SeverityHigh)
			d := &delivery{ev: ev, id: ev.ID()}
			wait, again := s.settle(context.Background(), d, result{class: classRetry, status: http.StatusTooManyRequests, retryAfter: tt.retryAfter}, rand.New(rand.NewPCG(1, 2)))
			if !again || wait != tt.want {
				t.Errorf("settle = %v, %v; want %v, true", wait, again, tt.want)
			}
		})
	}
}

// TestAlertmanagerConfirmedNotEarly: an alert paged early is re-sent with
// its "early" annotation until the final judgement confirms it; from then
// on the re-sends carry the confirmed alert, with no new notification.
func TestAlertmanagerConfirmedNotEarly(t *testing.T) {
	rc := newAMReceiver(t)
	cfg := amTestConfig(rc.srv.URL)
	cfg.ResendInterval = 20 * time.Millisecond
	s := startNotifier(t, cfg, prometheus.NewRegistry())
	evs := lifecycle("surge|hashtag:a")
	open := evs[0]
	open.Alert.Early = true
	open.Alert.Summary = "[early] SURGE hashtag:a 40 in 30s, at least 60/min by its end"
	if err := s.Notify(context.Background(), []alert.Event{open}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the early trigger and a re-send", func() bool { p, _ := rc.received(); return len(p) >= 2 })
	if p, _ := rc.received(); p[0][0].Annotations["early"] == "" {
		t.Fatalf("early trigger posted without its early annotation: %v", p[0][0].Annotations)
	}
	confirmed := open.Alert
	confirmed.Early = false
	confirmed.Summary = "SURGE hashtag:a 120/min vs 12 expected"
	s.Confirm([]alert.Alert{confirmed})
	before, _ := rc.received()
	waitUntil(t, "two re-sends after the confirmation", func() bool { p, _ := rc.received(); return len(p) >= len(before)+2 })
	p, _ := rc.received()
	last := p[len(p)-1][0]
	if last.Annotations["early"] != "" || last.Annotations["summary"] != confirmed.Summary {
		t.Errorf("re-sent after the confirmation with annotations %v, want the confirmed alert's", last.Annotations)
	}
	if last.StartsAt != p[0][0].StartsAt || !reflect.DeepEqual(last.Labels, p[0][0].Labels) {
		t.Errorf("the confirmation changed the alert's identity: %v %v, was %v %v", last.StartsAt, last.Labels, p[0][0].StartsAt, p[0][0].Labels)
	}
	// A confirmation of a key the notifier does not hold, or holds as
	// confirmed already, changes nothing.
	other := confirmed
	other.Key = "surge|hashtag:b"
	s.Confirm([]alert.Alert{other, confirmed})
}

// TestConfirmKeepsLabels: the final bucket of a confirmed early alert may
// have another top region or language than the early look. Taken into the
// re-sends, they posted a second alert under new labels beside the early
// one, which stayed active until its endsAt: one alert key, two alerts at
// the desk. The labels stay those posted; the annotations are the
// confirmed alert's.
func TestConfirmKeepsLabels(t *testing.T) {
	rc := newAMReceiver(t)
	cfg := amTestConfig(rc.srv.URL)
	cfg.ResendInterval = 20 * time.Millisecond
	s := startNotifier(t, cfg, prometheus.NewRegistry())
	open := transition("surge|hashtag:a", 1, alert.StatusOpen, alert.SeverityHigh)
	open.Alert.Early = true
	open.Alert.TopRegions = []string{"US", "IN"}
	open.Alert.Explanation = "detector=surge lang=en early=1 observed=30"
	if err := s.Notify(context.Background(), []alert.Event{open}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the early trigger and a re-send", func() bool { p, _ := rc.received(); return len(p) >= 2 })
	confirmed := open.Alert
	confirmed.Early = false
	confirmed.TopRegions = []string{"IN", "US"} // the whole bucket's
	confirmed.Explanation = "detector=surge lang=hi observed=95"
	s.Confirm([]alert.Alert{confirmed})
	before, _ := rc.received()
	waitUntil(t, "re-sends after the confirmation", func() bool { p, _ := rc.received(); return len(p) >= len(before)+2 })
	res := transition("surge|hashtag:a", 3, alert.StatusResolved, alert.SeverityHigh)
	res.Alert.TopRegions = []string{"IN", "US"}
	if err := s.Notify(context.Background(), []alert.Event{res}); err != nil {
		t.Fatal(err)
	}
	drain(t, s, 5*time.Second)
	posts, _ := rc.received()
	for i, post := range posts {
		for _, a := range post {
			if a.Labels["region"] != "US" || a.Labels["lang"] != "en" {
				t.Errorf("post %d: labels %v, want region US and lang en as posted first", i, a.Labels)
			}
			if i >= len(before) && i < len(posts)-1 && (a.Annotations["early"] != "" || !strings.Contains(a.Annotations["description"], "observed=95")) {
				t.Errorf("post %d after the confirmation: annotations %v, want the confirmed alert's", i, a.Annotations)
			}
		}
	}
}
