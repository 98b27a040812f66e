package incident

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trendwatch/trendwatch/alert"
)

// receiver is an incident endpoint in the test process. It verifies webhook
// signatures on its own (not with the package's sign), counts requests and
// acknowledged deliveries per webhook-id, and lets a test script failures.
type receiver struct {
	t   testing.TB
	srv *httptest.Server
	key []byte // nil for PagerDuty, which signs nothing

	// fail is called for each correctly signed request with the number of earlier
	// requests for the same ID; it returns true once it has answered (a
	// failure), false to let the request be acknowledged with 2xx.
	fail func(w http.ResponseWriter, r *http.Request, id string, try int) bool

	mu     sync.Mutex
	tries  map[string]int
	acked  map[string]int
	order  []string // acknowledged IDs, in order
	bodies map[string][]byte
	times  map[string][]time.Time // arrival of each request, per ID
	badSig int
}

func newReceiver(t testing.TB, key []byte) *receiver {
	rc := &receiver{t: t, key: key, tries: map[string]int{}, acked: map[string]int{}, bodies: map[string][]byte{}, times: map[string][]time.Time{}}
	rc.srv = httptest.NewServer(rc)
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	id := r.Header.Get("webhook-id")
	if rc.key == nil {
		var pd struct {
			DedupKey    string `json:"dedup_key"`
			EventAction string `json:"event_action"`
		}
		if err := json.Unmarshal(body, &pd); err != nil {
			http.Error(w, "not JSON", http.StatusBadRequest)
			return
		}
		id = pd.DedupKey + "/" + pd.EventAction
	} else if !rc.verify(r, body) {
		rc.mu.Lock()
		rc.badSig++
		rc.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	rc.mu.Lock()
	try := rc.tries[id]
	rc.tries[id]++
	rc.times[id] = append(rc.times[id], time.Now())
	fail := rc.fail
	rc.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(body))
	if fail != nil && fail(w, r, id, try) {
		return
	}
	if r.Context().Err() != nil {
		return // the sender gave up waiting: not a delivery
	}
	rc.mu.Lock()
	rc.acked[id]++
	rc.order = append(rc.order, id)
	rc.bodies[id] = body
	rc.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// verify checks a Standard Webhooks request as a receiver would.
func (rc *receiver) verify(r *http.Request, body []byte) bool {
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || id == "" {
		return false
	}
	if d := time.Since(time.Unix(unix, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return false
	}
	mac := hmac.New(sha256.New, rc.key)
	fmt.Fprintf(mac, "%s.%s.", id, ts)
	mac.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(r.Header.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}

// requests returns the arrival times of the requests for id.
func (rc *receiver) requests(id string) []time.Time {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]time.Time(nil), rc.times[id]...)
}

func (rc *receiver) total() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for _, c := range rc.tries {
		n += c
	}
	return n
}

func (rc *receiver) setFail(f func(w http.ResponseWriter, r *http.Request, id string, try int) bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.fail = f
}

// checkExactlyOnce asserts every ID in want was acknowledged exactly once, and
// nothing else was.
func (rc *receiver) checkExactlyOnce(want []string) {
	rc.t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.badSig > 0 {
		rc.t.Errorf("%d requests with a bad signature", rc.badSig)
	}
	for _, id := range want {
		if n := rc.acked[id]; n != 1 {
			rc.t.Errorf("%s delivered %d times, want once", id, n)
		}
	}
	if len(rc.acked) != len(want) {
		rc.t.Errorf("delivered %d distinct IDs %v, want %d", len(rc.acked), rc.order, len(want))
	}
}

// checkOrder asserts the acknowledged transitions of each key came in Seq order.
func (rc *receiver) checkOrder() {
	rc.t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	last := map[string]uint64{}
	for _, id := range rc.order {
		var msg struct {
			Data struct {
				Key string `json:"key"`
				Seq uint64 `json:"seq"`
			} `json:"data"`
		}
		if err := json.Unmarshal(rc.bodies[id], &msg); err != nil {
			rc.t.Fatal(err)
		}
		if prev, ok := last[msg.Data.Key]; ok && msg.Data.Seq <= prev {
			rc.t.Errorf("key %s: seq %d delivered after %d", msg.Data.Key, msg.Data.Seq, prev)
		}
		last[msg.Data.Key] = msg.Data.Seq
	}
}

var base = time.Date(2025, 3, 9, 14, 0, 0, 0, time.UTC)

// transition builds the seq-th transition (1 opens, the last resolves) of the
// alert keyed detector|term.
func transition(key string, seq uint64, to alert.Status, sev alert.Severity) alert.Event {
	detector, term, _ := strings.Cut(key, "|")
	from := map[alert.Status]alert.Status{alert.StatusOpen: "", alert.StatusEscalated: alert.StatusOpen, alert.StatusResolved: alert.StatusOpen}[to]
	at := base.Add(time.Duration(seq) * time.Minute)
	a := alert.Alert{
		Key: key, Detector: detector, Term: term, Status: to, Severity: sev,
		OpenedAt: base, UpdatedAt: at, Bucket: at, Score: float64(seq), Observed: 10, Expected: 1, Growth: 10,
		Summary: fmt.Sprintf("%s on %s", detector, term),
	}
	if to == alert.StatusResolved {
		a.ResolvedAt = at
	}
	return alert.Event{Alert: a, From: from, To: to, At: at, Seq: seq}
}

// lifecycle is open → escalated → resolved of one key.
func lifecycle(key string) []alert.Event {
	return []alert.Event{
		transition(key, 1, alert.StatusOpen, alert.SeverityMedium),
		transition(key, 2, alert.StatusEscalated, alert.SeverityHigh),
		transition(key, 3, alert.StatusResolved, alert.SeverityHigh),
	}
}

// threeLifecycles are the lifecycles of three keys of three kinds, one of them
// Devanagari.
func threeLifecycles() []alert.Event {
	var evs []alert.Event
	for _, k := range []string{"surge|hashtag:fyp", "novelty|hashtag:नेपाल", "watchlist|challenge:c-1"} {
		evs = append(evs, lifecycle(k)...)
	}
	return evs
}

func ids(evs []alert.Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, messageID(ev.ID()))
	}
	return out
}

func testConfig(rawURL string) Config {
	c := webhookConfig(rawURL)
	// httptest servers listen on loopback, which is refused unless listed.
	c.AllowedHosts = []string{"127.0.0.1", "hooks.example.org"}
	c.PerTermInterval = 0
	c.Timeout = 300 * time.Millisecond
	c.BackoffBase = 5 * time.Millisecond
	c.BackoffMax = 50 * time.Millisecond
	return c
}

func startNotifier(t testing.TB, cfg Config, reg *prometheus.Registry) *Notifier {
	t.Helper()
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s, err := New(cfg, slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})), reg)
	if err != nil {
		t.Fatal(err)
	}
	s.Start(context.Background())
	t.Cleanup(func() { s.Close() })
	return s
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func drain(t testing.TB, s *Notifier, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if err := s.Drain(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestDeliversSignedWebhooks(t *testing.T) {
	key, _ := parseSecret(testSecret)
	rc := newReceiver(t, key)
	reg := prometheus.NewRegistry()
	s := startNotifier(t, testConfig(rc.srv.URL), reg)
	evs := threeLifecycles()
	if err := s.Notify(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	drain(t, s, 5*time.Second)
	rc.checkExactlyOnce(ids(evs))
	rc.checkOrder()
	if got := testutil.ToFloat64(s.m.deliveries.WithLabelValues(resultDelivered)); got != float64(len(evs)) {
		t.Errorf("deliveries_total{result=delivered} = %v, want %d", got, len(evs))
	}
	if got := testutil.ToFloat64(s.m.outbox); got != 0 {
		t.Errorf("outbox_size = %v after Drain", got)
	}
	if n := len(s.Pending()); n != 0 {
		t.Errorf("Pending() has %d after Drain", n)
	}
}

// TestEndpointDownForAWhile keeps the endpoint failing for 2 s, every way an
// endpoint fails, while transitions keep coming; after it recovers each one must
// be delivered exactly once and in order per key.
func TestEndpointDownForAWhile(t *testing.T) {
	key, _ := parseSecret(testSecret)
	rc := newReceiver(t, key)
	var requests atomic.Int64
	recovered := time.Now().Add(2 * time.Second)
	rc.setFail(func(w http.ResponseWriter, r *http.Request, id string, try int) bool {
		if time.Now().After(recovered) {
			return false
		}
		switch requests.Add(1) % 5 {
		case 0:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
		case 1:
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			w.WriteHeader(http.StatusBadGateway)
		case 3: // connection reset mid-request
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		case 4: // slower than the notifier's timeout
			select {
			case <-r.Context().Done():
			case <-time.After(time.Second):
			}
		}
		return true
	})
	cfg := testConfig(rc.srv.URL)
	cfg.BackoffMax = 200 * time.Millisecond
	s := startNotifier(t, cfg, nil)
	var all []alert.Event
	// Transitions arrive during the outage, as the pipeline would write them
	// bucket by bucket.
	for round := range 4 {
		var batch []alert.Event
		for k := range 5 {
			key := fmt.Sprintf("surge|hashtag:t%d", k)
			seq := uint64(round + 1)
			switch round {
			case 0:
				batch = append(batch, transition(key, seq, alert.StatusOpen, alert.SeverityMedium))
			case 3:
				batch = append(batch, transition(key, seq, alert.StatusResolved, alert.SeverityHigh))
			default:
				batch = append(batch, transition(key, seq, alert.StatusEscalated, alert.SeverityHigh))
			}
		}
		start := time.Now()
		if err := s.Notify(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("Notify took %v while the endpoint was down", d)
		}
		all = append(all, batch...)
		time.Sleep(300 * time.Millisecond)
	}
	if requests.Load() < 5 {
		t.Fatalf("only %d failed requests during the outage: the test did not test it", requests.Load())
	}
	drain(t, s, 10*time.Second)
	if time.Now().Before(recovered) {
		t.Fatal("drained before the endpoint recovered")
	}
	rc.checkExactlyOnce(ids(all))
	rc.checkOrder()
	t.Logf("%d failed requests during the outage", requests.Load())
}

func TestRetryAfterHonoured(t *testing.T) {
	key, _ := parseSecret(testSecret)
	for _, tt := range []struct {
		name   string
		status int
		header func() string
		min    time.Duration
	}{
		{"503 seconds", http.StatusServiceUnavailable, func() string { return "1" }, 900 * time.Millisecond},
		// An HTTP date has whole seconds: two seconds from now is at least one.
		{"429 date", http.StatusTooManyRequests, func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) }, 900 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, key)
			rc.setFail(func(w http.ResponseWriter, r *http.Request, id string, try int) bool {
				if try > 0 {
					return false
				}
				w.Header().Set("Retry-After", tt.header())
				w.WriteHeader(tt.status)
				return true
			})
			s := startNotifier(t, testConfig(rc.srv.URL), nil)
			ev := transition("surge|hashtag:fyp", 1, alert.StatusOpen, alert.SeverityHigh)
			if err := s.Notify(context.Background(), []alert.Event{ev}); err != nil {
				t.Fatal(err)
			}
			drain(t, s, 5*time.Second)
			rc.checkExactlyOnce(ids([]alert.Event{ev}))
			times := rc.requests(messageID(ev.ID()))
			if len(times) != 2 {
				t.Fatalf("%d requests, want 2", len(times))
			}
			if gap := times[1].Sub(times[0]); gap < tt.min {
				t.Fatalf("retried after %v; Retry-After asked for at least %v (backoff alone is at most 5ms)", gap, tt.min)
			}
		})
	}
}

func TestClientErrorNotRetried(t *testing.T) {
	key, _ := parseSecret(testSecret)
	rc := newReceiver(t, key)
	poisoned := transition("surge|hashtag:poison", 1, alert.StatusOpen, alert.SeverityHigh)
	rc.setFail(func(w http.ResponseWriter, r *http.Request, id string, try int) bool {
		if id == messageID(poisoned.ID()) {
			http.Error(w, `{"error":"payload rejected"}`, http.StatusBadRequest)
			return true
		}
		if try == 0 && strings.Contains(id, "retry-408") {
			w.WriteHeader(http.StatusRequestTimeout)
			return true
		}
		return false
	})
	s := startNotifier(t, testConfig(rc.srv.URL), nil)
	good := []alert.Event{
		transition("surge|hashtag:fine", 1, alert.StatusOpen, alert.SeverityHigh),
		transition("surge|hashtag:retry-408", 1, alert.StatusOpen, alert.SeverityHigh),
	}
	if err := s.Notify(context.Background(), []alert.Event{poisoned, good[0], good[1]}); err != nil {
		t.Fatal(err)
	}
	drain(t, s, 5*time.Second)
	rc.checkExactlyOnce(ids(good))
	if n := len(rc.requests(messageID(poisoned.ID()))); n != 1 {
		t.Errorf("400 was retried: %d requests", n)
	}
	if n := len(rc.requests(messageID(good[1].ID()))); n != 2 {
		t.Errorf("408 got %d requests, want a retry", n)
	}
	if got := testutil.ToFloat64(s.m.deliveries.WithLabelValues(resultRejected)); got != 1 {
		t.Errorf("deliveries_total{result=rejected} = %v, want 1", got)
	}
}

func TestTimeoutRetried(t *testing.T) {
	key, _ := parseSecret(testSecret)
	rc := newReceiver(t, key)
	rc.setFail(func(w http.ResponseWriter, r *http.Request, id string, try int) bool {
		if try > 0 {
			return false
		}
		<-r.Context().Done() // longer than the notifier waits
		return true
	})
	s := startNotifier(t, testConfig(rc.srv.URL), nil)
	ev := transition("surge|hashtag:slow", 1, alert.StatusOpen, alert.SeverityHigh)
	if err := s.Notify(context.Background(), []alert.Event{ev}); err != nil {
		t.Fatal(err)
	}
	drain(t, s, 5*time.Second)
	rc.checkExactlyOnce(ids([]alert.Event{ev}))
	if got := testutil.ToFloat64(s.m.attempts.WithLabelValues(outcomeTimeout)); got != 1 {
		t.Errorf("attempts_total{outcome=timeout} = %v, want 1", got)
	}
}

func TestMaxAttempts(t *testing.T) {
	key, _ := parseSecret(testSecret)
	rc := newReceiver(t, key)
	rc.setFail(func(w http.ResponseWriter, r *http.Request, id string, try int) bool {
		w.WriteHeader(http.StatusInternalServerError)
		return true
	})
	cfg := testConfig(rc.srv.URL)
	cfg.MaxAttempts = 3
	s := startNotifier(t, cfg, nil)
	ev := transition("surge|hashtag:never", 1, alert.StatusOpen, alert.SeverityHigh)
	if err := s.Notify(context.Background(), []alert.Event{ev}); err != nil {
		t.Fatal(err)
	}
	drain(t, s, 5*time.Second)
	if n := len(rc.requests(messageID(ev.ID()))); n != 3 {
		t.Errorf("%d requests, want incident.max_attempts = 3", n)
	}
	if got := testutil.ToFloat64(s.m.deliveries.WithLabelValues(resultExhausted)); got != 1 {
		t.Errorf("deliveries_total{result=exhausted} = %v, want 1", got)
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	key, _ := parseSecret(testSecret)
	target := newReceiver(t, key)
	redirector := httptest.NewServer(http.RedirectHandler(target.srv.URL, http.StatusTemporaryRedirect))
	defer redirector.Close()
	s := startNotifier(t, testConfig(redirector.URL), nil)
	if err := s.Notify(context.Background(), []alert.Event{transition("surge|hashtag:x", 1, alert.StatusOpen, alert.SeverityHigh)}); err != nil {
		t.Fatal(err)
	}
	drain(t, s, 5*time.Second)
	if n := target.total(); n != 0 {
		t.Fatalf("the redirect target got %d requests", n)
	}
	if got := testutil.ToFloat64(s.m.deliveries.WithLabelValues(resultRejected)); got != 1 {
		t.Errorf("deliveries_total{result=rejected} = %v, want 1", got)
	}
}

// TestFilters runs the severity filter, the per-term rate limit and replay
// detection against a notifier that is not started, reading what it queued.
func TestFilters(t *testing.T) {
	type step struct {
		after time.Duration // clock advance before the write
		ev    alert.Event
		sent  bool
		also  string // a held alert the step pages too
	}
	open := func(key string, sev alert.Severity) alert.Event { return transition(key, 1, alert.StatusOpen, sev) }
	esc := func(key string, seq uint64, sev alert.Severity) alert.Event {
		return transition(key, seq, alert.StatusEscalated, sev)
	}
	res := func(key string, seq uint64, sev alert.Severity) alert.Event {
		return transition(key, seq, alert.StatusResolved, sev)
	}
	retract := func(key string, seq uint64, sev alert.Severity) alert.Event {
		ev := res(key, seq, sev)
		ev.Reason = alert.ReasonRetracted
		return ev
	}
	tests := []struct {
		name  string
		min   alert.Severity
		every time.Duration
		steps []step
	}{
		{"severity", alert.SeverityHigh, 0, []step{
			{0, open("surge|hashtag:low", alert.SeverityMedium), false, ""},
			{0, open("surge|hashtag:high", alert.SeverityHigh), true, ""},
			{0, open("surge|hashtag:crit", alert.SeverityCritical), true, ""},
			{0, res("surge|hashtag:low", 2, alert.SeverityMedium), false, ""}, // opened nothing
			{0, res("surge|hashtag:high", 2, alert.SeverityMedium), true, ""}, // opened an incident
			{0, esc("surge|hashtag:rises", 2, alert.SeverityHigh), true, ""},  // first seen escalated
			{0, res("surge|hashtag:unknown", 5, alert.SeverityHigh), true, ""},
			{0, res("surge|hashtag:unknown-low", 5, alert.SeverityLow), false, ""},
		}},
		{"escalation above the minimum triggers", alert.SeverityHigh, 0, []step{
			{0, open("surge|hashtag:x", alert.SeverityMedium), false, ""},
			{0, esc("surge|hashtag:x", 2, alert.SeverityCritical), true, ""},
			{0, res("surge|hashtag:x", 3, alert.SeverityCritical), true, ""},
		}},
		{"per term", alert.SeverityMedium, time.Minute, []step{
			{0, open("surge|hashtag:x", alert.SeverityHigh), true, ""},
			{10 * time.Second, open("novelty|hashtag:x", alert.SeverityHigh), false, ""}, // same term
			{0, open("surge|hashtag:y", alert.SeverityHigh), true, ""},                   // another term
			{10 * time.Second, esc("surge|hashtag:x", 2, alert.SeverityHigh), false, ""},
			{0, esc("surge|hashtag:x", 3, alert.SeverityCritical), true, ""}, // severity rose
			{0, esc("coordination|hashtag:x", 2, alert.SeverityCritical), false, ""},
			{0, res("surge|hashtag:x", 4, alert.SeverityCritical), true, "coordination|hashtag:x#2"}, // resolves always go out; the most severe held one pages now
			{0, res("novelty|hashtag:x", 2, alert.SeverityHigh), false, ""},                          // it opened nothing
			{time.Minute, open("watchlist|hashtag:x", alert.SeverityMedium), true, ""},
		}},
		{"a challenge's spellings are one term", alert.SeverityMedium, time.Minute, []step{
			{0, open("surge|hashtag:blackoutchallenge", alert.SeverityHigh), true, ""},
			{10 * time.Second, open("watchlist|hashtag:ब्लैकआउटचैलेंज", alert.SeverityHigh), false, ""}, // its Devanagari spelling
			{0, open("surge|family:blakautchalenj", alert.SeverityHigh), false, ""},                     // the family itself
			{0, open("surge|hashtag:blackoutparty", alert.SeverityHigh), true, ""},                      // another challenge
			{0, open("surge|sound:8812", alert.SeverityHigh), true, ""},                                 // not a hashtag: its own
			{0, esc("watchlist|hashtag:ब्लैकआउटचैलेंज", 2, alert.SeverityCritical), true, ""},           // severity rose
			{time.Minute, open("report_rate|hashtag:bl4ckoutchallenge", alert.SeverityHigh), true, ""},
		}},
		{"a challenge that is its hashtag's posts is the hashtag's incident", alert.SeverityMedium, time.Minute, []step{
			{0, open("surge|hashtag:stairstepdance", alert.SeverityHigh), true, ""},
			{0, sameAs(open("surge|challenge:ch1", alert.SeverityHigh), "hashtag:stairstepdance"), false, ""},
			{0, open("novelty|challenge:ch1", alert.SeverityHigh), true, ""},                                    // a challenge of its own
			{0, sameAs(open("surge|challenge:ch2", alert.SeverityHigh), "hashtag:stair_step_dance"), false, ""}, // a spelling of it
			{0, sameAs(esc("surge|challenge:ch1", 2, alert.SeverityCritical), "hashtag:stairstepdance"), true, ""},
		}},
		{"a retracted early page gives its term's slot back", alert.SeverityMedium, time.Minute, []step{
			{0, open("surge|hashtag:x", alert.SeverityMedium), true, ""},
			{10 * time.Second, retract("surge|hashtag:x", 2, alert.SeverityMedium), true, ""},
			{10 * time.Second, open("watchlist|hashtag:x", alert.SeverityMedium), true, ""},
			{10 * time.Second, open("novelty|hashtag:x", alert.SeverityMedium), false, ""},        // the slot is the watchlist's now
			{0, res("watchlist|hashtag:x", 2, alert.SeverityMedium), true, "novelty|hashtag:x#1"}, // an ordinary resolve keeps it, and the held novelty pages
			{10 * time.Second, open("coordination|hashtag:x", alert.SeverityMedium), false, ""},
		}},
		{"a retract gives the slot back only when its key alone paged in the interval", alert.SeverityMedium, time.Minute, []step{
			{0, open("surge|hashtag:x", alert.SeverityMedium), true, ""},
			{10 * time.Second, open("novelty|hashtag:x", alert.SeverityHigh), true, ""}, // severity rose
			{10 * time.Second, retract("surge|hashtag:x", 2, alert.SeverityMedium), true, ""},
			{10 * time.Second, open("watchlist|hashtag:x", alert.SeverityMedium), false, ""}, // the novelty's page holds the slot
		}},
		{"a retract of a page from an earlier interval keeps the slot", alert.SeverityMedium, time.Minute, []step{
			{0, open("surge|hashtag:x", alert.SeverityMedium), true, ""},
			{time.Minute, open("novelty|hashtag:x", alert.SeverityMedium), true, ""}, // a new interval
			{10 * time.Second, retract("surge|hashtag:x", 2, alert.SeverityMedium), true, ""},
			{10 * time.Second, open("watchlist|hashtag:x", alert.SeverityMedium), false, ""},
		}},
		{"a retracted page's severity no longer holds the slot", alert.SeverityMedium, time.Minute, []step{
			{0, open("surge|hashtag:x", alert.SeverityMedium), true, ""},
			{10 * time.Second, open("novelty|hashtag:x", alert.SeverityCritical), true, ""},
			{10 * time.Second, retract("novelty|hashtag:x", 2, alert.SeverityCritical), true, ""},
			{10 * time.Second, open("watchlist|hashtag:x", alert.SeverityHigh), true, ""}, // above the medium page that stands
			{0, open("report_rate|hashtag:x", alert.SeverityHigh), false, ""},
		}},
		{"a held alert pages once its incident's page resolves", alert.SeverityMedium, 5 * time.Minute, []step{
			{0, open("surge|hashtag:x", alert.SeverityMedium), true, ""},
			{time.Minute, open("watchlist|hashtag:x", alert.SeverityMedium), false, ""},
			{3 * time.Minute, res("surge|hashtag:x", 2, alert.SeverityMedium), true, "watchlist|hashtag:x#1"},
			{30 * time.Second, open("novelty|hashtag:x", alert.SeverityMedium), false, ""}, // the watchlist holds the slot
			{time.Hour, res("watchlist|hashtag:x", 2, alert.SeverityMedium), true, "novelty|hashtag:x#1"},
			{0, res("novelty|hashtag:x", 2, alert.SeverityMedium), true, ""},
		}},
		{"a held alert that resolved is not paged", alert.SeverityMedium, 5 * time.Minute, []step{
			{0, open("surge|hashtag:x", alert.SeverityMedium), true, ""},
			{time.Minute, open("watchlist|hashtag:x", alert.SeverityMedium), false, ""},
			{time.Minute, esc("novelty|hashtag:x", 2, alert.SeverityMedium), false, ""},
			{0, res("watchlist|hashtag:x", 2, alert.SeverityMedium), false, ""},
			{time.Minute, res("surge|hashtag:x", 2, alert.SeverityMedium), true, "novelty|hashtag:x#2"}, // its last trigger
			{0, res("novelty|hashtag:x", 3, alert.SeverityMedium), true, ""},
		}},
		{"a held alert pages when the interval ends after its incident's page resolved", alert.SeverityMedium, 5 * time.Minute, []step{
			{0, open("surge|hashtag:x", alert.SeverityMedium), true, ""},
			{time.Minute, res("surge|hashtag:x", 2, alert.SeverityMedium), true, ""},
			{time.Minute, open("watchlist|hashtag:x", alert.SeverityMedium), false, ""}, // a repeat within the interval
			{2 * time.Minute, open("surge|hashtag:y", alert.SeverityMedium), true, ""},
			{time.Minute, open("surge|hashtag:z", alert.SeverityMedium), true, "watchlist|hashtag:x#1"},
			{time.Minute, open("novelty|hashtag:x", alert.SeverityMedium), false, ""}, // the watchlist's interval
		}},
		{"the interval's end pages nothing while a page of the incident is open", alert.SeverityMedium, 5 * time.Minute, []step{
			{0, open("surge|hashtag:x", alert.SeverityMedium), true, ""},
			{time.Minute, open("watchlist|hashtag:x", alert.SeverityMedium), false, ""},
			{10 * time.Minute, open("surge|hashtag:y", alert.SeverityMedium), true, ""},
			{0, res("surge|hashtag:x", 2, alert.SeverityMedium), true, "watchlist|hashtag:x#1"},
		}},
		{"replays", alert.SeverityMedium, 0, []step{
			{0, open("surge|hashtag:x", alert.SeverityHigh), true, ""},
			{0, open("surge|hashtag:x", alert.SeverityHigh), false, ""},
			{0, esc("surge|hashtag:x", 2, alert.SeverityHigh), true, ""},
			{0, open("surge|hashtag:x", alert.SeverityHigh), false, ""},
			{0, res("surge|hashtag:x", 3, alert.SeverityHigh), true, ""},
			{0, res("surge|hashtag:x", 3, alert.SeverityHigh), false, ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig("https://hooks.example.org/x")
			cfg.MinSeverity, cfg.PerTermInterval = tt.min.String(), tt.every
			s, err := New(cfg, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			now := base
			s.now = func() time.Time { return now }
			var want []string
			for i, st := range tt.steps {
				now = now.Add(st.after)
				before := len(s.Pending())
				if err := s.Notify(context.Background(), []alert.Event{st.ev}); err != nil {
					t.Fatal(err)
				}
				if sent := len(s.Pending()) > before; sent != st.sent {
					t.Errorf("step %d %s (%s): queued %v, want %v", i, st.ev.ID(), st.ev.Alert.Severity, sent, st.sent)
				}
				if st.sent {
					want = append(want, st.ev.ID())
				}
				if st.also != "" {
					want = append(want, st.also)
				}
			}
			var got []string
			for _, ev := range s.Pending() {
				got = append(got, ev.ID())
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("Pending() = %v, want %v", got, want)
			}
		})
	}
}

// sameAs is ev with the explanation of a challenge's alert whose posts are
// those of hashtag term (pipeline's same_as).
func sameAs(ev alert.Event, term string) alert.Event {
	ev.Alert.Explanation += " same_as=" + term
	return ev
}

// TestReopenAfterResolve opens a key again after it resolved: a new alert, which
// must trigger even though the key's earlier transitions are remembered.
func TestReopenAfterResolve(t *testing.T) {
	cfg := testConfig("https://hooks.example.org/x")
	cfg.PerTermInterval = time.Minute
	s, err := New(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := base
	s.now = func() time.Time { return now }
	if err := s.Notify(context.Background(), lifecycle("surge|hashtag:x")); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	again := transition("surge|hashtag:x", 4, alert.StatusOpen, alert.SeverityMedium)
	again.Alert.OpenedAt = again.At
	if err := s.Notify(context.Background(), []alert.Event{again}); err != nil {
		t.Fatal(err)
	}
	// A replay of the first alert's open must not count as the new one's.
	if err := s.Notify(context.Background(), lifecycle("surge|hashtag:x")[:1]); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range s.Pending() {
		got = append(got, ev.ID())
	}
	if want := "surge|hashtag:x#1 surge|hashtag:x#2 surge|hashtag:x#3 surge|hashtag:x#4"; strings.Join(got, " ") != want {
		t.Fatalf("queued %v, want %s", got, want)
	}
}

// TestHeldAlertPagedWhenIntervalEnds: an alert held back after its
// incident's page resolved is paged when the interval ends, though no
// transition comes to Notify to notice it.
func TestHeldAlertPagedWhenIntervalEnds(t *testing.T) {
	key, _ := parseSecret(testSecret)
	rc := newReceiver(t, key)
	cfg := testConfig(rc.srv.URL)
	cfg.PerTermInterval = 300 * time.Millisecond
	s := startNotifier(t, cfg, nil)
	began := time.Now()
	for _, ev := range []alert.Event{
		transition("surge|hashtag:x", 1, alert.StatusOpen, alert.SeverityMedium),
		transition("surge|hashtag:x", 2, alert.StatusResolved, alert.SeverityMedium),
		transition("watchlist|hashtag:x", 1, alert.StatusOpen, alert.SeverityMedium),
	} {
		if err := s.Notify(context.Background(), []alert.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
	id := messageID("watchlist|hashtag:x#1")
	waitUntil(t, "the held alert's page", func() bool { return len(rc.requests(id)) > 0 })
	if at := rc.requests(id)[0]; at.Sub(began) < cfg.PerTermInterval {
		t.Errorf("held alert paged %v after the incident's first page, within the %v interval", at.Sub(began), cfg.PerTermInterval)
	}
	drain(t, s, 5*time.Second)
	rc.checkExactlyOnce([]string{messageID("surge|hashtag:x#1"), messageID("surge|hashtag:x#2"), id})
}

// TestHeldAlertResolvedInSameBatch: a batch that resolves the incident's page
// and the alert it held back pages nothing more.
func TestHeldAlertResolvedInSameBatch(t *testing.T) {
	cfg := testConfig("https://hooks.example.org/x")
	cfg.PerTermInterval = 5 * time.Minute
	s, err := New(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := base
	s.now = func() time.Time { return now }
	if err := s.Notify(context.Background(), []alert.Event{
		transition("surge|hashtag:x", 1, alert.StatusOpen, alert.SeverityMedium),
		transition("watchlist|hashtag:x", 1, alert.StatusOpen, alert.SeverityMedium),
	}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	resolves := []alert.Event{
		transition("surge|hashtag:x", 2, alert.StatusResolved, alert.SeverityMedium),
		transition("watchlist|hashtag:x", 2, alert.StatusResolved, alert.SeverityMedium),
	}
	if err := s.Notify(context.Background(), resolves); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour) // and the interval's end finds nothing held
	if err := s.Notify(context.Background(), []alert.Event{transition("surge|sound:1", 1, alert.StatusOpen, alert.SeverityMedium)}); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(ids(s.Pending()), " "), "surge|hashtag:x#1 surge|hashtag:x#2 surge|sound:1#1"; got != want {
		t.Errorf("Pending() = %s, want %s", got, want)
	}
}

// TestNotifySortsByKeyOrder writes a batch whose transitions are out of
// order and checks the queue holds each key's in Seq order, and the caller's
// slice untouched.
func TestNotifySortsByKeyOrder(t *testing.T) {
	s, err := New(testConfig("https://hooks.example.org/x"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := lifecycle("surge|hashtag:a"), lifecycle("surge|hashtag:b")
	batch := []alert.Event{a[2], b[1], a[0], b[0], a[1], b[2]}
	orig := append([]alert.Event(nil), batch...)
	if err := s.Notify(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range s.Pending() {
		got = append(got, ev.ID())
	}
	want := []string{a[0].ID(), b[0].ID(), a[1].ID(), b[1].ID(), a[2].ID(), b[2].ID()}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("queued %v, want %v", got, want)
	}
	for i := range batch {
		if batch[i].ID() != orig[i].ID() {
			t.Fatal("Notify reordered the caller's slice")
		}
	}
}

func TestOutboxOverflow(t *testing.T) {
	tests := []struct {
		name    string
		outbox  int
		writes  []alert.Event
		pending []string
	}{
		{"oldest non-resolve goes", 3, []alert.Event{
			transition("surge|hashtag:a", 1, alert.StatusOpen, alert.SeverityHigh),
			transition("surge|hashtag:a", 2, alert.StatusResolved, alert.SeverityHigh),
			transition("surge|hashtag:b", 1, alert.StatusOpen, alert.SeverityHigh),
			transition("surge|hashtag:c", 1, alert.StatusOpen, alert.SeverityHigh),
			transition("surge|hashtag:d", 1, alert.StatusOpen, alert.SeverityHigh),
		}, []string{"surge|hashtag:a#2", "surge|hashtag:c#1", "surge|hashtag:d#1"}},
		{"resolves are kept over a new trigger", 2, []alert.Event{
			transition("surge|hashtag:a", 1, alert.StatusResolved, alert.SeverityHigh),
			transition("surge|hashtag:b", 1, alert.StatusResolved, alert.SeverityHigh),
			transition("surge|hashtag:c", 1, alert.StatusOpen, alert.SeverityHigh),
		}, []string{"surge|hashtag:a#1", "surge|hashtag:b#1"}},
		{"only resolves: the oldest goes", 2, []alert.Event{
			transition("surge|hashtag:a", 1, alert.StatusResolved, alert.SeverityHigh),
			transition("surge|hashtag:b", 1, alert.StatusResolved, alert.SeverityHigh),
			transition("surge|hashtag:c", 1, alert.StatusResolved, alert.SeverityHigh),
		}, []string{"surge|hashtag:b#1", "surge|hashtag:c#1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig("https://hooks.example.org/x")
			cfg.Outbox = tt.outbox
			var logs bytes.Buffer
			s, err := New(cfg, slog.New(slog.NewTextHandler(&logs, nil)), nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range tt.writes {
				if err := s.Notify(context.Background(), []alert.Event{ev}); err != nil {
					t.Fatal(err)
				}
			}
			var got []string
			for _, ev := range s.Pending() {
				got = append(got, ev.ID())
			}
			if strings.Join(got, " ") != strings.Join(tt.pending, " ") {
				t.Errorf("Pending() = %v, want %v", got, tt.pending)
			}
			dropped := len(tt.writes) - tt.outbox
			if got := testutil.ToFloat64(s.m.dropped.WithLabelValues(reasonOutboxFull)); got != float64(dropped) {
				t.Errorf("dropped_total{reason=outbox_full} = %v, want %d", got, dropped)
			}
			if n := strings.Count(logs.String(), "outbox full"); n != dropped {
				t.Errorf("%d drops logged, want %d", n, dropped)
			}
		})
	}
}

// TestPendingRestore hands what one process could not deliver to the next.
func TestPendingRestore(t *testing.T) {
	key, _ := parseSecret(testSecret)
	rc := newReceiver(t, key)
	var down atomic.Bool
	down.Store(true)
	rc.setFail(func(w http.ResponseWriter, r *http.Request, id string, try int) bool {
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	evs := append(lifecycle("surge|hashtag:a"), lifecycle("novelty|hashtag:b")...)
	first := startNotifier(t, testConfig(rc.srv.URL), nil)
	if err := first.Notify(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // some failed attempts
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	pending := first.Pending()
	if len(pending) != len(evs) {
		t.Fatalf("Pending() after Close = %d, want %d", len(pending), len(evs))
	}
	if err := first.Notify(context.Background(), evs); err == nil {
		t.Fatal("Notify after Close succeeded")
	}

	// A request the first gave up on when it closed may still be on its way
	// to the handler. Were it handled once the endpoint is up, the receiver
	// would take it for a delivery the first made after Close (it cannot
	// always tell that the sender stopped listening): closing the server
	// waits for every request of the first, and the second gets a server of
	// its own on the same receiver.
	rc.srv.Close()
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	down.Store(false)
	second, err := New(testConfig(srv.URL), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	second.Restore(pending)
	second.Restore(pending) // twice: no duplicates
	// The replayed input after a restart brings the same transitions again.
	if err := second.Notify(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	second.Start(context.Background())
	defer second.Close()
	drain(t, second, 5*time.Second)
	rc.checkExactlyOnce(ids(evs))
	rc.checkOrder()
}

// TestNotifyNeverBlocks notifies one whose endpoint never answers.
func TestNotifyNeverBlocks(t *testing.T) {
	key, _ := parseSecret(testSecret)
	rc := newReceiver(t, key)
	rc.setFail(func(w http.ResponseWriter, r *http.Request, id string, try int) bool {
		<-r.Context().Done()
		return true
	})
	cfg := testConfig(rc.srv.URL)
	cfg.Timeout = 10 * time.Second
	cfg.Outbox = 50
	s := startNotifier(t, cfg, nil)
	start := time.Now()
	for i := range 200 {
		ev := transition(fmt.Sprintf("surge|hashtag:t%d", i), 1, alert.StatusOpen, alert.SeverityHigh)
		if err := s.Notify(context.Background(), []alert.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("200 Notify took %v against a hung endpoint", d)
	}
	if n := len(s.Pending()); n != cfg.Outbox {
		t.Fatalf("Pending() = %d, want the outbox bound %d", n, cfg.Outbox)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Drain(ctx); err == nil {
		t.Fatal("Drain returned nil with a hung endpoint")
	}
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(2 * time.Second):
		t.Fatal("Close waited for the hung request")
	}
}

func TestPagerDutyEndToEnd(t *testing.T) {
	rc := newReceiver(t, nil)
	rc.setFail(func(w http.ResponseWriter, r *http.Request, id string, try int) bool {
		if try == 0 && strings.HasSuffix(id, "/trigger") {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		}
		return false
	})
	cfg := DefaultConfig()
	cfg.URL, cfg.RoutingKey = rc.srv.URL, testRoutingKey
	cfg.AllowedSchemes = []string{"http"}
	cfg.AllowedHosts = []string{"127.0.0.1"}
	cfg.BackoffBase, cfg.BackoffMax = time.Millisecond, 10*time.Millisecond
	cfg.PerTermInterval = 0
	s := startNotifier(t, cfg, nil)
	evs := lifecycle("surge|hashtag:fyp")
	if err := s.Notify(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	drain(t, s, 5*time.Second)
	// Open and escalation share the dedup_key: one incident, updated.
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if got := strings.Join(rc.order, " "); got != "surge|hashtag:fyp/trigger surge|hashtag:fyp/trigger surge|hashtag:fyp/resolve" {
		t.Fatalf("PagerDuty got %s", got)
	}
	var trig struct {
		RoutingKey string `json:"routing_key"`
		Payload    struct {
			Severity string `json:"severity"`
			Summary  string `json:"summary"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(rc.bodies["surge|hashtag:fyp/trigger"], &trig); err != nil {
		t.Fatal(err)
	}
	if trig.RoutingKey != testRoutingKey || trig.Payload.Severity != "error" || !strings.HasPrefix(trig.Payload.Summary, "[escalated to high]") {
		t.Fatalf("last trigger %s", rc.bodies["surge|hashtag:fyp/trigger"])
	}
}

// TestCredentialsNeverLeak runs deliveries that fail every way and checks no log
// line and no metric carries the routing key, the secret or the URL's token.
func TestCredentialsNeverLeak(t *testing.T) {
	for _, kind := range []string{KindPagerDuty, KindWebhook} {
		t.Run(kind, func(t *testing.T) {
			key, _ := parseSecret(testSecret)
			if kind == KindPagerDuty {
				key = nil
			}
			rc := newReceiver(t, key)
			rc.setFail(func(w http.ResponseWriter, r *http.Request, id string, try int) bool {
				body, _ := io.ReadAll(r.Body)
				switch try {
				case 0:
					w.WriteHeader(http.StatusServiceUnavailable)
				case 1: // an endpoint that echoes the request
					w.WriteHeader(http.StatusBadRequest)
					w.Write(body)
					w.Write([]byte(r.Header.Get("webhook-signature")))
				}
				return true
			})
			u, _ := url.Parse(rc.srv.URL)
			u.Path, u.RawQuery = "/hooks/PATHT0KEN", "token=QUERYT0KEN"
			cfg := testConfig(u.String())
			if kind == KindPagerDuty {
				cfg.Kind, cfg.Secret, cfg.RoutingKey = KindPagerDuty, "", testRoutingKey
			}
			var logs bytes.Buffer
			reg := prometheus.NewRegistry()
			s, err := New(cfg, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), reg)
			if err != nil {
				t.Fatal(err)
			}
			s.Start(context.Background())
			defer s.Close()
			if err := s.Notify(context.Background(), []alert.Event{transition("surge|hashtag:x", 1, alert.StatusOpen, alert.SeverityHigh)}); err != nil {
				t.Fatal(err)
			}
			drain(t, s, 5*time.Second)
			s.log.Info("config", "cfg", cfg)
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			var metrics strings.Builder
			for _, mf := range mfs {
				metrics.WriteString(mf.String())
			}
			if !strings.Contains(metrics.String(), "trendwatch_incident_deliveries_total") {
				t.Fatal("metrics not gathered")
			}
			if !strings.Contains(logs.String(), "rejected") {
				t.Fatalf("the rejection was not logged: %s", logs.String())
			}
			for _, secret := range []string{testRoutingKey, strings.TrimPrefix(testSecret, "whsec_"), "PATHT0KEN", "QUERYT0KEN"} {
				if strings.Contains(logs.String(), secret) {
					t.Errorf("logs contain %q:\n%s", secret, logs.String())
				}
				if strings.Contains(metrics.String(), secret) {
					t.Errorf("metrics contain %q", secret)
				}
			}
		})
	}
}

// BenchmarkNotify is the cost the pipeline pays per transition: filters,
// encoding and queueing, the notifier not started so nothing is sent.
func BenchmarkNotify(b *testing.B) {
	for _, kind := range []string{KindWebhook, KindPagerDuty} {
		b.Run(kind, func(b *testing.B) {
			cfg := testConfig("https://hooks.example.org/x")
			if kind == KindPagerDuty {
				cfg.Kind, cfg.Secret, cfg.RoutingKey = KindPagerDuty, "", testRoutingKey
			}
			cfg.Outbox = 1 << 30
			s, err := New(cfg, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			evs := make([]alert.Event, 1024)
			for i := range evs {
				evs[i] = transition(fmt.Sprintf("surge|hashtag:t%d", i), 1, alert.StatusOpen, alert.SeverityHigh)
			}
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				ev := &evs[i%len(evs)]
				ev.Seq++ // a new transition each time, not a replay
				if err := s.Notify(ctx, evs[i%len(evs):i%len(evs)+1]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkSign(b *testing.B) {
	key, _ := parseSecret(testSecret)
	ev := sampleEvent(alert.StatusOpen)
	body, err := webhookBody(&ev)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		sign(key, ev.ID(), 1614265330, body)
	}
}

// testFence is superseded once took is set.
type testFence struct{ took atomic.Bool }

var errTookOver = errors.New("another process took this pipeline's state over")

func (f *testFence) Superseded() error {
	if f.took.Load() {
		return errTookOver
	}
	return nil
}

// TestFenceStopsDelivery: a standby claims the state while the first of
// nine transitions is on the wire. That one is delivered; the other eight
// are the standby's to page and go nowhere from here, Drain does not wait
// for them, and Notify refuses what comes after.
func TestFenceStopsDelivery(t *testing.T) {
	key, _ := parseSecret(testSecret)
	rc := newReceiver(t, key)
	fence := &testFence{}
	rc.setFail(func(w http.ResponseWriter, r *http.Request, id string, try int) bool {
		fence.took.Store(true)
		return false
	})
	s := startNotifier(t, testConfig(rc.srv.URL), nil)
	s.SetFence(fence)
	evs := threeLifecycles()
	if err := s.Notify(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	drain(t, s, 5*time.Second)
	if n := rc.total(); n != 1 {
		t.Errorf("%d requests reached the endpoint, want the 1 on the wire when the fence moved", n)
	}
	if got := testutil.ToFloat64(s.m.dropped.WithLabelValues(reasonSuperseded)); got != float64(len(evs)-1) {
		t.Errorf("dropped_total{reason=superseded} = %v, want %d", got, len(evs)-1)
	}
	if n := len(s.Pending()); n != 0 {
		t.Errorf("Pending() has %d after the takeover", n)
	}
	err := s.Notify(context.Background(), []alert.Event{transition("surge|hashtag:late", 1, alert.StatusOpen, alert.SeverityHigh)})
	if !errors.Is(err, errTookOver) {
		t.Errorf("Notify after the takeover: %v, want the fence's error", err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := rc.total(); n != 1 {
		t.Errorf("%d requests after the takeover, want 1", n)
	}
}

// TestFenceEndsDrain: a process stopping because another took over does
// not wait out a retry's backoff to learn that its outbox is not its own,
// whether the takeover came while a failed request was on the wire or after.
func TestFenceEndsDrain(t *testing.T) {
	for _, during := range []bool{false, true} {
		t.Run(fmt.Sprintf("during_request=%v", during), func(t *testing.T) {
			key, _ := parseSecret(testSecret)
			rc := newReceiver(t, key)
			fence := &testFence{}
			rc.setFail(func(w http.ResponseWriter, r *http.Request, id string, try int) bool {
				if during {
					// The answer comes after Drain has asked the fence,
					// with the request still on the wire.
					fence.took.Store(true)
					time.Sleep(100 * time.Millisecond)
				}
				http.Error(w, "down", http.StatusServiceUnavailable)
				return true
			})
			cfg := testConfig(rc.srv.URL)
			cfg.BackoffBase, cfg.BackoffMax = 30*time.Second, time.Minute
			cfg.Timeout = time.Second
			s := startNotifier(t, cfg, nil)
			s.SetFence(fence)
			if err := s.Notify(context.Background(), lifecycle("surge|hashtag:fyp")[:1]); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(5 * time.Second); rc.total() == 0; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("no request reached the endpoint")
				}
			}
			fence.took.Store(true)
			began := time.Now()
			drain(t, s, 2*time.Second)
			if took := time.Since(began); took > time.Second {
				t.Errorf("Drain took %v", took)
			}
			if got := testutil.ToFloat64(s.m.dropped.WithLabelValues(reasonSuperseded)); got != 1 {
				t.Errorf("dropped_total{reason=superseded} = %v, want 1", got)
			}
			if n := rc.total(); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

// TestBelowSeverityKeepsNoState: alerts below incident.min_severity that
// never page leave nothing behind, however many terms they are on; one that
// escalates past the bar pages as it did before.
func TestBelowSeverityKeepsNoState(t *testing.T) {
	key, _ := parseSecret(testSecret)
	rc := newReceiver(t, key)
	cfg := testConfig(rc.srv.URL)
	cfg.PerTermInterval = 0
	s := startNotifier(t, cfg, nil)
	var evs []alert.Event
	for i := range 1000 {
		evs = append(evs, transition(fmt.Sprint("surge|hashtag:t", i), 1, alert.StatusOpen, alert.SeverityLow))
	}
	if err := s.Notify(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	n := len(s.keys)
	s.mu.Unlock()
	if n != 0 {
		t.Errorf("%d keys remembered for alerts below min_severity, want none", n)
	}
	if err := s.Notify(context.Background(), []alert.Event{transition("surge|hashtag:t7", 2, alert.StatusEscalated, alert.SeverityHigh)}); err != nil {
		t.Fatal(err)
	}
	drain(t, s, 5*time.Second)
	rc.checkExactlyOnce(ids([]alert.Event{transition("surge|hashtag:t7", 2, alert.StatusEscalated, alert.SeverityHigh)}))
}
