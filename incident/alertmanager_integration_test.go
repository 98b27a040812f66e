//go:build integration

package incident

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/alert"
)

// alertmanagerConfig routes everything to a receiver that notifies nobody: the
// test reads Alertmanager's state through its API instead.
const alertmanagerYAML = `route:
  receiver: "null"
receivers:
  - name: "null"
`

// alertmanagerServer is a real Alertmanager, started by the test.
type alertmanagerServer struct {
	url    string
	client *http.Client
}

// alertmanagerBinary finds Debian's prometheus-alertmanager (or upstream's
// alertmanager), or TRENDWATCH_TEST_ALERTMANAGER. Under CI a missing binary is
// a failure: scripts/test.sh installs it.
func alertmanagerBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TRENDWATCH_TEST_ALERTMANAGER"); p != "" {
		return p
	}
	for _, name := range []string{"prometheus-alertmanager", "alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("Alertmanager not found; `make test` installs it (apt-get install prometheus-alertmanager) or set TRENDWATCH_TEST_ALERTMANAGER")
	}
	t.Skip("Alertmanager not found: apt-get install prometheus-alertmanager, or set TRENDWATCH_TEST_ALERTMANAGER to its binary")
	return ""
}

// startAlertmanager runs Alertmanager on a free loopback port, without
// clustering, and waits until it is ready. The port is found by listening on
// :0 and closing, so another process may take it first: a start whose server
// exits is retried on a fresh port.
func startAlertmanager(t *testing.T) *alertmanagerServer {
	t.Helper()
	return startAlertmanagerWith(t, alertmanagerYAML)
}

// startAlertmanagerWith is startAlertmanager with the configuration yaml.
func startAlertmanagerWith(t *testing.T, yaml string) *alertmanagerServer {
	t.Helper()
	bin := alertmanagerBinary(t)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfgFile, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for try := range 3 {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		logFile := filepath.Join(dir, fmt.Sprintf("alertmanager-%d.log", try))
		out, err := os.Create(logFile)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin,
			"--config.file="+cfgFile,
			"--storage.path="+filepath.Join(dir, fmt.Sprintf("data-%d", try)),
			"--cluster.listen-address=",
			"--web.listen-address=127.0.0.1:"+strconv.Itoa(port),
		)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			out.Close()
			t.Fatalf("start %s: %v", bin, err)
		}
		exited := make(chan struct{}) // closed once the process has been waited for
		go func() {
			_ = cmd.Wait()
			close(exited)
		}()
		srv := &alertmanagerServer{url: "http://127.0.0.1:" + strconv.Itoa(port), client: &http.Client{Timeout: 5 * time.Second}}
		lastErr = srv.waitReady(exited, time.Minute)
		if lastErr == nil {
			t.Cleanup(func() {
				_ = cmd.Process.Signal(syscall.SIGTERM)
				select {
				case <-exited:
				case <-time.After(10 * time.Second):
					_ = cmd.Process.Kill()
					<-exited
				}
				out.Close()
			})
			return srv
		}
		_ = cmd.Process.Kill()
		<-exited
		out.Close()
		b, _ := os.ReadFile(logFile)
		t.Logf("Alertmanager on port %d did not start (%v); its log:\n%s", port, lastErr, b)
	}
	t.Fatalf("Alertmanager did not start: %v", lastErr)
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (am *alertmanagerServer) waitReady(exited <-chan struct{}, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("exited")
		default:
		}
		resp, err := am.client.Get(am.url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("not ready within " + within.String())
}

// notifierConfig is a notifier's configuration for this Alertmanager, on
// loopback over plain HTTP, paging every transition at once.
func (am *alertmanagerServer) notifierConfig() Config {
	cfg := DefaultConfig()
	cfg.Kind = KindAlertmanager
	cfg.URL = am.url
	cfg.AllowedSchemes = []string{"http"}
	cfg.AllowedHosts = []string{"127.0.0.1"}
	cfg.PerTermInterval = 0
	cfg.Timeout = 5 * time.Second
	return cfg
}

// gotAlert is a gettableAlert of Alertmanager's v2 API.
type gotAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Status       struct {
		State       string   `json:"state"`
		SilencedBy  []string `json:"silencedBy"`
		InhibitedBy []string `json:"inhibitedBy"`
	} `json:"status"`
}

// alerts lists the alerts Alertmanager holds for term. Resolved alerts are not
// listed: GET /api/v2/alerts leaves out those whose endsAt has passed.
func (am *alertmanagerServer) alerts(t *testing.T, term string) []gotAlert {
	t.Helper()
	resp, err := am.client.Get(am.url + "/api/v2/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v2/alerts: %s", resp.Status)
	}
	var all []gotAlert
	if err := json.NewDecoder(resp.Body).Decode(&all); err != nil {
		t.Fatal(err)
	}
	var out []gotAlert
	for _, a := range all {
		if a.Labels["term"] == term {
			out = append(out, a)
		}
	}
	return out
}

// waitFor polls until ok accepts the alerts for term, and returns them. The
// deadline is generous: the machine may be busy, and only a wrong answer, not
// a slow one, should fail the test.
func (am *alertmanagerServer) waitFor(t *testing.T, term, what string, ok func([]gotAlert) bool) []gotAlert {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := am.alerts(t, term)
		if ok(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s; Alertmanager holds %+v", what, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// silence creates a silence matching labels for an hour and returns its ID.
func (am *alertmanagerServer) silence(t *testing.T, labels map[string]string) string {
	t.Helper()
	type matcher struct {
		Name    string `json:"name"`
		Value   string `json:"value"`
		IsRegex bool   `json:"isRegex"`
		IsEqual bool   `json:"isEqual"`
	}
	var ms []matcher
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		ms = append(ms, matcher{Name: k, Value: labels[k], IsEqual: true})
	}
	now := time.Now().UTC()
	body, _ := json.Marshal(map[string]any{
		"matchers": ms, "startsAt": now.Add(-time.Minute), "endsAt": now.Add(time.Hour),
		"createdBy": "trendwatch integration test", "comment": "known trend, under review",
	})
	resp, err := am.client.Post(am.url+"/api/v2/silences", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		SilenceID string `json:"silenceID"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusOK || got.SilenceID == "" {
		t.Fatalf("POST /api/v2/silences: %s, %v, %+v", resp.Status, err, got)
	}
	return got.SilenceID
}

// TestAlertmanagerLifecycle takes one alert through open, a silence, re-sends,
// an escalation and a resolve against a real Alertmanager, reading what it
// holds through its own API after each step.
func TestAlertmanagerLifecycle(t *testing.T) {
	am := startAlertmanager(t)

	cfg := am.notifierConfig()
	cfg.BackoffBase = 10 * time.Millisecond
	cfg.BackoffMax = 200 * time.Millisecond
	// Short enough to see a re-send within the test, long enough that the
	// margin (four of them) never lapses on a busy machine.
	cfg.ResendInterval = 3 * time.Second
	cfg.GeneratorURL = "https://grafana.example.org/d/trendwatch-term?var-term={term}"
	s := startNotifier(t, cfg, nil)
	ctx := context.Background()

	const term = "hashtag:blackoutchallenge"
	opened := time.Now().UTC().Add(-2 * time.Minute).Truncate(time.Millisecond)
	ev := alert.Event{
		Alert: alert.Alert{
			Key: "surge|" + term, Detector: "surge", Term: term, Status: alert.StatusOpen, Severity: alert.SeverityMedium,
			OpenedAt: opened, UpdatedAt: opened, Bucket: opened,
			Score: 9.5, Observed: 412, Expected: 38, Growth: 10.8, UniqueCreators: 380,
			TopRegions: []string{"NP", "IN"}, Samples: []string{"c1", "c2"}, Watchlisted: true,
			Summary:     "SURGE hashtag:blackoutchallenge 412/min vs 38 expected (10.8×, z=19.2), 380 creators, NP IN; watchlist dangerous_challenge",
			Explanation: "window=30 observed=412 expected=38 z=19.2 growth=10.8 regions=NP:300,IN:80 watch=hashtag:blackoutchallenge risk=high category=dangerous_challenge",
		},
		To: alert.StatusOpen, At: opened, Seq: 1,
	}
	write := func(ev alert.Event) {
		t.Helper()
		if err := s.Notify(ctx, []alert.Event{ev}); err != nil {
			t.Fatal(err)
		}
		drain(t, s, 30*time.Second)
	}

	// Open: the alert fires with its labels and annotations.
	write(ev)
	got := am.waitFor(t, term, "the opened alert", func(as []gotAlert) bool {
		return len(as) == 1 && as[0].Status.State == "active"
	})[0]
	wantLabels := map[string]string{
		"alertname": "surge", "term": term, "kind": "hashtag", "family": "family:blakautchalenj", "incident": "family:blakautchalenj", "severity": "medium",
		"region": "NP", "category": "dangerous_challenge",
	}
	if !reflect.DeepEqual(got.Labels, wantLabels) {
		t.Errorf("labels = %v, want %v", got.Labels, wantLabels)
	}
	wantQuery := "SELECT bucket, mentions, unique_creators, reports, report_rate, top_regions, langs FROM trendwatch.term_history WHERE term = 'hashtag:blackoutchallenge' AND bucket >= '" +
		opened.Add(-6*time.Hour).Truncate(time.Minute).Format(time.DateTime) + "' ORDER BY bucket"
	for k, want := range map[string]string{
		"summary": ev.Alert.Summary, "description": ev.Alert.Explanation, "history_query": wantQuery, "samples": "c1 c2",
	} {
		if got.Annotations[k] != want {
			t.Errorf("annotation %s = %q, want %q", k, got.Annotations[k], want)
		}
	}
	if !got.StartsAt.Equal(opened) {
		t.Errorf("startsAt = %v, want %v", got.StartsAt, opened)
	}
	if want := "https://grafana.example.org/d/trendwatch-term?var-term=hashtag%3Ablackoutchallenge"; got.GeneratorURL != want {
		t.Errorf("generatorURL = %q, want %q", got.GeneratorURL, want)
	}
	if !got.EndsAt.After(time.Now()) {
		t.Errorf("endsAt = %v, not ahead of now", got.EndsAt)
	}

	// A silence on its labels suppresses it: Alertmanager notifies nobody.
	sid := am.silence(t, map[string]string{"alertname": "surge", "term": term})
	am.waitFor(t, term, "the alert silenced", func(as []gotAlert) bool {
		return len(as) == 1 && as[0].Status.State == "suppressed" && slices.Contains(as[0].Status.SilencedBy, sid)
	})

	// While open it is re-sent, each time with endsAt further ahead.
	am.waitFor(t, term, "a re-send moving endsAt ahead", func(as []gotAlert) bool {
		return len(as) == 1 && as[0].EndsAt.After(got.EndsAt)
	})

	// An escalation changes the severity label, so Alertmanager sees a new alert;
	// the medium one must end with it rather than linger until its endsAt.
	esc := ev
	esc.Alert.Status, esc.Alert.Severity = alert.StatusEscalated, alert.SeverityHigh
	esc.From, esc.To, esc.Seq = alert.StatusOpen, alert.StatusEscalated, 2
	esc.At = opened.Add(time.Minute)
	esc.Alert.UpdatedAt = esc.At
	write(esc)
	got = am.waitFor(t, term, "only the escalated alert", func(as []gotAlert) bool {
		return len(as) == 1 && as[0].Labels["severity"] == "high"
	})[0]
	if got.Status.State != "suppressed" || !slices.Contains(got.Status.SilencedBy, sid) {
		t.Errorf("escalated alert status %+v, want suppressed by %s", got.Status, sid)
	}
	if !got.StartsAt.Equal(opened) {
		t.Errorf("escalated startsAt = %v, want %v", got.StartsAt, opened)
	}

	// The resolve ends it now, well before the endsAt of the last re-send.
	expires := got.EndsAt
	res := esc
	res.Alert.Status = alert.StatusResolved
	res.From, res.To, res.Seq = alert.StatusEscalated, alert.StatusResolved, 3
	res.At = time.Now().UTC().Truncate(time.Millisecond)
	res.Alert.UpdatedAt, res.Alert.ResolvedAt = res.At, res.At
	write(res)
	am.waitFor(t, term, "the alert resolved", func(as []gotAlert) bool { return len(as) == 0 })
	if now := time.Now(); !now.Before(expires) {
		t.Errorf("alert gone at %v, not before the last re-send's endsAt %v: it expired rather than resolved", now, expires)
	}

	// Nothing is re-sent after the resolve, so it stays resolved.
	if p := s.Pending(); len(p) != 0 {
		t.Errorf("Pending() after the resolve = %v, want nothing", ids(p))
	}
	time.Sleep(cfg.ResendInterval + time.Second)
	if as := am.alerts(t, term); len(as) != 0 {
		t.Errorf("after the resolve Alertmanager holds %+v", as)
	}
}

// TestAlertmanagerFamilyInhibits runs Alertmanager on the example configuration
// of docs/alertmanager.md, as a reader would copy it, and checks the
// inhibition it documents: while a challenge's family alert fires, the same
// detector's alert on one of its spellings is suppressed, so the desk gets one
// page per challenge; another detector's alert on the spelling still fires.
func TestAlertmanagerFamilyInhibits(t *testing.T) {
	am := startAlertmanagerWith(t, docConfig(t))

	s := startNotifier(t, am.notifierConfig(), nil)

	open := opener()
	const fam, spelling = "family:blakautchalenj", "hashtag:bl4ckoutchallenge"
	if err := s.Notify(context.Background(), []alert.Event{open("surge", fam), open("surge", spelling), open("report_rate", spelling)}); err != nil {
		t.Fatal(err)
	}
	drain(t, s, 30*time.Second)
	am.waitFor(t, fam, "the family's alert, active", func(as []gotAlert) bool {
		return len(as) == 1 && as[0].Status.State == "active"
	})
	am.waitFor(t, spelling, "the spelling's surge suppressed by the family's, its report_rate active", func(as []gotAlert) bool {
		var surge, reports bool
		for _, a := range as {
			switch a.Labels["alertname"] {
			case "surge":
				surge = a.Status.State == "suppressed" && len(a.Status.InhibitedBy) == 1
			case "report_rate":
				reports = a.Status.State == "active"
			}
		}
		return len(as) == 2 && surge && reports
	})
}

// docConfig is the alertmanager.yml of docs/alertmanager.md, as written.
func docConfig(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile("../docs/alertmanager.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := bytes.Cut(doc, []byte("```yaml\n"))
	yaml, _, ok2 := bytes.Cut(rest, []byte("```"))
	if !ok || !ok2 {
		t.Fatal("docs/alertmanager.md has no yaml block")
	}
	return string(yaml)
}

// TestAlertmanagerGroupsByIncident runs a real Alertmanager on the
// alertmanager.yml of docs/alertmanager.md and sends what one surge of a
// challenge raises (a surge on its Latin spelling, a report wave on its
// Devanagari one) beside an alert on a sound: the challenge's two alerts are
// one group, so one notification, and the sound's another.
func TestAlertmanagerGroupsByIncident(t *testing.T) {
	am := startAlertmanagerWith(t, docConfig(t))
	s := startNotifier(t, am.notifierConfig(), nil)
	open := opener()
	// The platform's ID of the challenge, whose posts are the hashtag's.
	ch := open("surge", "challenge:ch1")
	ch.Alert.Explanation += " same_as=hashtag:blackoutchallenge"
	evs := []alert.Event{open("surge", "hashtag:blackoutchallenge"), open("report_rate", "hashtag:ब्लैकआउटचैलेंज"), open("novelty", "sound:8812"), ch}
	if err := s.Notify(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	drain(t, s, 30*time.Second)
	type group struct {
		Labels   map[string]string `json:"labels"`
		Receiver struct {
			Name string `json:"name"`
		} `json:"receiver"`
		Alerts []gotAlert `json:"alerts"`
	}
	want := []string{
		"ts-oncall-pagerduty incident=family:blakautchalenj: report_rate hashtag:ब्लैकआउटचैलेंज, surge challenge:ch1, surge hashtag:blackoutchallenge",
		"ts-oncall-pagerduty incident=sound:8812: novelty sound:8812",
	}
	var got []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := am.client.Get(am.url + "/api/v2/alerts/groups")
		if err != nil {
			t.Fatal(err)
		}
		var groups []group
		err = json.NewDecoder(resp.Body).Decode(&groups)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		for _, g := range groups {
			var as []string
			for _, a := range g.Alerts {
				as = append(as, a.Labels["alertname"]+" "+a.Labels["term"])
			}
			slices.Sort(as)
			got = append(got, fmt.Sprintf("%s incident=%s: %s", g.Receiver.Name, g.Labels["incident"], strings.Join(as, ", ")))
		}
		slices.Sort(got)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Alertmanager's groups\n got %q\nwant %q", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// opener returns a maker of high alerts of a detector on a term, opened two
// minutes ago, as the pipeline sends them.
func opener() func(detector, term string) alert.Event {
	opened := time.Now().UTC().Add(-2 * time.Minute).Truncate(time.Millisecond)
	return func(detector, term string) alert.Event {
		return alert.Event{Alert: alert.Alert{
			Key: detector + "|" + term, Detector: detector, Term: term, Status: alert.StatusOpen, Severity: alert.SeverityHigh,
			OpenedAt: opened, UpdatedAt: opened, Bucket: opened, Observed: 40, Expected: 1, Growth: 40,
			TopRegions: []string{"NP"}, Summary: detector + " " + term, Explanation: "observed=40 expected=1",
		}, To: alert.StatusOpen, At: opened, Seq: 1}
	}
}
