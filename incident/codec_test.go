package incident

import (
	"encoding/json"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/trendwatch/trendwatch/alert"
)

// TestSignStandardWebhooksVector is the specification's published example.
func TestSignStandardWebhooksVector(t *testing.T) {
	key, err := parseSecret(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	got := sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("sign = %s, want %s", got, want)
	}
}

func TestParseSecret(t *testing.T) {
	tests := []struct {
		in    string
		bytes int // 0: an error
	}{
		{testSecret, 24},
		{strings.TrimPrefix(testSecret, "whsec_"), 24}, // the prefix is optional, as in the reference libraries
		{"whsec_" + strings.Repeat("A", 84), 63},
		{"whsec_" + strings.Repeat("A", 86) + "==", 64},
		{"whsec_" + strings.Repeat("A", 88), 0}, // 66 bytes: more than Standard Webhooks allows
		{"whsec_", 0},
		{"", 0},
		{"whsec_c2hvcnQ=", 0}, // 5 bytes
		{"whsec_***", 0},      // not base64
		{"whsec_MfKQ9r8GKYqrTwjU PD8ILPZIo2LaLaSw", 0},
	}
	for _, tt := range tests {
		k, err := parseSecret(tt.in)
		switch {
		case tt.bytes == 0 && err == nil:
			t.Errorf("parseSecret(%q) = %d bytes, want an error", tt.in, len(k))
		case tt.bytes != 0 && (err != nil || len(k) != tt.bytes):
			t.Errorf("parseSecret(%q) = %d bytes, %v; want %d bytes", tt.in, len(k), err, tt.bytes)
		}
	}
}

func FuzzParseSecret(f *testing.F) {
	for _, s := range []string{testSecret, "whsec_", "", "whsec_c2hvcnQ=", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := parseSecret(s)
		if err != nil {
			if len(s) >= 8 && strings.Contains(err.Error(), s) {
				t.Fatalf("error %q quotes the secret", err)
			}
			return
		}
		if len(k) < 24 || len(k) > 64 {
			t.Fatalf("accepted a %d-byte key", len(k))
		}
	})
}

func TestMessageID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"surge|hashtag:fyp#3", "surge|hashtag:fyp#3"},
		{"surge|hashtag:नेपाल#1", "surge|hashtag:%E0%A4%A8%E0%A5%87%E0%A4%AA%E0%A4%BE%E0%A4%B2#1"},
		{"a b%c\n", "a%20b%25c%0A"},
		{"", ""},
	}
	for _, tt := range tests {
		got := messageID(tt.in)
		if got != tt.want {
			t.Errorf("messageID(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if back, err := url.PathUnescape(got); err != nil || back != tt.in {
			t.Errorf("messageID(%q) = %q does not decode back: %q, %v", tt.in, got, back, err)
		}
	}
}

func FuzzMessageID(f *testing.F) {
	for _, s := range []string{"surge|hashtag:fyp#3", "surge|hashtag:नेपाल#1", "%", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id := messageID(s)
		for i := 0; i < len(id); i++ {
			if id[i] <= ' ' || id[i] >= 0x7f {
				t.Fatalf("messageID(%q) = %q has byte %#x", s, id, id[i])
			}
		}
		// One-to-one: it must decode back, or two transitions could share an ID.
		if back, err := url.PathUnescape(id); err != nil || back != s {
			t.Fatalf("messageID(%q) = %q decodes to %q, %v", s, id, back, err)
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 9, 14, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"1", time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"600", maxRetryAfter, true},
		{"86400", maxRetryAfter, true},
		{"99999999999999999999999999", maxRetryAfter, true},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{"Sun, 09 Mar 2025 14:00:05 GMT", 5 * time.Second, true},
		{"Sunday, 09-Mar-25 14:00:07 GMT", 7 * time.Second, true}, // RFC 850, which HTTP dates may still be
		{"Sun Mar  9 14:00:09 2025", 9 * time.Second, true},       // asctime
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},    // in the past: now
		{now.Add(48 * time.Hour).Format(http.TimeFormat), maxRetryAfter, true},
		{"", 0, false},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"5s", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "120", "Sun, 09 Mar 2025 14:00:05 GMT", "-1", "18446744073709551616", "Mon, 01 Jan 0001 00:00:00 GMT"} {
		f.Add(s)
	}
	now := time.Date(2025, 3, 9, 14, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseRetryAfter(s, now)
		if d < 0 || d > maxRetryAfter {
			t.Fatalf("parseRetryAfter(%q) = %v, outside [0, %v]", s, d, maxRetryAfter)
		}
		if !ok && d != 0 {
			t.Fatalf("parseRetryAfter(%q) = %v with ok false", s, d)
		}
	})
}

func TestBackoff(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	base, maxWait := 100*time.Millisecond, 2*time.Second
	for attempt, ceil := range map[int]time.Duration{
		1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond,
		5: 1600 * time.Millisecond, 6: 2 * time.Second, 64: 2 * time.Second, 1 << 30: 2 * time.Second,
	} {
		var lo, hi time.Duration = math.MaxInt64, 0
		for range 2000 {
			d := backoff(base, maxWait, attempt, rnd)
			lo, hi = min(lo, d), max(hi, d)
		}
		// Full jitter spreads over the whole of [0, ceil]: 2000 draws land in its
		// bottom and top tenths with certainty short of 2·0.9^2000.
		if lo < 0 || hi > ceil || lo > ceil/10 || hi < ceil*9/10 {
			t.Errorf("attempt %d: backoff in [%v, %v], want spread over [0, %v]", attempt, lo, hi, ceil)
		}
	}
	if d := backoff(time.Hour, math.MaxInt64, 200, rnd); d < 0 {
		t.Errorf("backoff overflowed: %v", d)
	}
}

func sampleEvent(to alert.Status) alert.Event {
	at := time.Date(2025, 3, 9, 14, 3, 0, 0, time.UTC)
	from := map[alert.Status]alert.Status{alert.StatusOpen: "", alert.StatusEscalated: alert.StatusOpen, alert.StatusResolved: alert.StatusEscalated}[to]
	seq := map[alert.Status]uint64{alert.StatusOpen: 1, alert.StatusEscalated: 2, alert.StatusResolved: 3}[to]
	a := alert.Alert{
		Key: "surge|hashtag:blackoutchallenge", Detector: "surge", Term: "hashtag:blackoutchallenge",
		Status: to, Severity: alert.SeverityHigh,
		OpenedAt: at.Add(-time.Minute), UpdatedAt: at, Bucket: at.Add(-time.Minute),
		Score: 9.5, Observed: 300, Expected: 0, Growth: math.Inf(1), UniqueCreators: 250, Reports: 4, ReportRate: math.NaN(),
		TopRegions: []string{"NP", "IN"}, Samples: []string{"c1"}, Watchlisted: true,
		Summary: "hashtag:blackoutchallenge mentions ×24 in Nepal", Explanation: "observed=300 expected=0",
	}
	if to == alert.StatusResolved {
		a.ResolvedAt = at
	}
	return alert.Event{Alert: a, From: from, To: to, At: at, Seq: seq}
}

// TestPagerDutyBody compares the request with the Events API v2 specification:
// https://developer.pagerduty.com/docs/send-alert-event and send-resolve-event.
func TestPagerDutyBody(t *testing.T) {
	for _, to := range []alert.Status{alert.StatusOpen, alert.StatusEscalated} {
		ev := sampleEvent(to)
		b, err := pagerDutyBody(testRoutingKey, "trendwatch-prod", &ev)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if keys := sortedKeys(got); !reflect.DeepEqual(keys, []string{"dedup_key", "event_action", "payload", "routing_key"}) {
			t.Fatalf("%s: top-level fields %v", to, keys)
		}
		if got["routing_key"] != testRoutingKey || got["event_action"] != "trigger" || got["dedup_key"] != ev.Alert.Key {
			t.Fatalf("%s: %s", to, b)
		}
		p := got["payload"].(map[string]any)
		wantSummary := ev.Alert.Summary
		if to == alert.StatusEscalated {
			wantSummary = "[escalated to high] " + wantSummary
		}
		for field, want := range map[string]any{
			"summary": wantSummary, "source": "trendwatch-prod", "severity": "error",
			"timestamp": "2025-03-09T14:03:00.000Z", "component": "hashtag:blackoutchallenge", "group": "family:blakautchalenj", "class": "surge",
		} {
			if p[field] != want {
				t.Errorf("%s: payload.%s = %v, want %v", to, field, p[field], want)
			}
		}
		cd := p["custom_details"].(map[string]any)
		for field, want := range map[string]any{
			"event_id": ev.ID(), "term": ev.Alert.Term, "observed": 300.0, "growth": nil, "report_rate": nil,
			"watchlisted": true, "to": string(to), "seq": float64(ev.Seq), "opened_at": "2025-03-09T14:02:00.000Z",
			"family": "family:blakautchalenj", "incident": "family:blakautchalenj",
		} {
			if cd[field] != want {
				t.Errorf("%s: custom_details.%s = %v, want %v", to, field, cd[field], want)
			}
		}
		if _, ok := cd["resolved_at"]; ok {
			t.Errorf("%s: custom_details has resolved_at for an alert not resolved", to)
		}
	}

	ev := sampleEvent(alert.StatusResolved)
	b, err := pagerDutyBody(testRoutingKey, "trendwatch", &ev)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"routing_key": testRoutingKey, "event_action": "resolve", "dedup_key": ev.Alert.Key}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("resolve = %s, want exactly %v", b, want)
	}
}

func TestPagerDutySeverity(t *testing.T) {
	for sev, want := range map[alert.Severity]string{
		alert.SeverityCritical: "critical", alert.SeverityHigh: "error", alert.SeverityMedium: "warning",
		alert.SeverityLow: "info", alert.SeverityInfo: "info", 0: "info", 9: "critical",
	} {
		if got := pagerDutySeverity(sev); got != want {
			t.Errorf("pagerDutySeverity(%v) = %s, want %s", sev, got, want)
		}
	}
}

func TestPagerDutyLimits(t *testing.T) {
	ev := sampleEvent(alert.StatusOpen)
	ev.Alert.Summary = strings.Repeat("नेपाल", 200) // 3000 bytes
	ev.Alert.Key = "surge|hashtag:" + strings.Repeat("न", 200)
	other := ev
	other.Alert.Key += "x"
	b, err := pagerDutyBody(testRoutingKey, "trendwatch", &ev)
	if err != nil {
		t.Fatal(err)
	}
	var got pdEvent
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if n := len(got.Payload.Summary); n > pdMaxSummary || n < pdMaxSummary-3 || !utf8.ValidString(got.Payload.Summary) {
		t.Errorf("summary is %d bytes, valid UTF-8 %v; want at most %d", n, utf8.ValidString(got.Payload.Summary), pdMaxSummary)
	}
	if n := len(got.DedupKey); n > pdMaxDedupKey || !utf8.ValidString(got.DedupKey) {
		t.Errorf("dedup_key is %d bytes, want at most %d", n, pdMaxDedupKey)
	}
	if dedupKey(other.Alert.Key) == got.DedupKey {
		t.Error("two long keys share a dedup_key")
	}
	if dedupKey(got.DedupKey) != got.DedupKey {
		t.Error("a short key is not its own dedup_key")
	}
}

func TestWebhookBody(t *testing.T) {
	for to, typ := range map[alert.Status]string{alert.StatusOpen: "alert.opened", alert.StatusEscalated: "alert.escalated", alert.StatusResolved: "alert.resolved"} {
		ev := sampleEvent(to)
		b, err := webhookBody(&ev)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Type      string         `json:"type"`
			Timestamp time.Time      `json:"timestamp"`
			Data      map[string]any `json:"data"`
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if got.Type != typ || !got.Timestamp.Equal(ev.At) || got.Data["event_id"] != ev.ID() || got.Data["key"] != ev.Alert.Key {
			t.Errorf("%s: %s", to, b)
		}
		if _, ok := got.Data["resolved_at"]; ok != (to == alert.StatusResolved) {
			t.Errorf("%s: resolved_at present %v", to, ok)
		}
	}
}

// FuzzBodies checks that no alert, however odd its numbers and strings, makes a
// request body that fails to encode or is not JSON.
func FuzzBodies(f *testing.F) {
	f.Add("surge|hashtag:fyp", "summary", 1.0, math.Inf(1), int64(0), uint8(3))
	f.Add("", "\xff\xfe", math.NaN(), math.Copysign(0, -1), int64(-1<<62), uint8(0))
	f.Fuzz(func(t *testing.T, key, text string, score, growth float64, unix int64, status uint8) {
		ev := sampleEvent(alert.StatusOpen)
		ev.Alert.Key, ev.Alert.Summary, ev.Alert.Explanation, ev.Alert.Term = key, text, text, text
		ev.Alert.Score, ev.Alert.Growth = score, growth
		ev.At = time.Unix(unix, 0)
		ev.To = []alert.Status{alert.StatusOpen, alert.StatusEscalated, alert.StatusResolved}[status%3]
		for name, enc := range map[string]func() ([]byte, error){
			"pagerduty": func() ([]byte, error) { return pagerDutyBody(testRoutingKey, "trendwatch", &ev) },
			"webhook":   func() ([]byte, error) { return webhookBody(&ev) },
			"alertmanager": func() ([]byte, error) {
				prev := sampleEvent(alert.StatusOpen)
				return newAMEncoder(DefaultConfig()).body(&ev, &prev, time.Unix(unix, 0).Add(time.Minute))
			},
		} {
			b, err := enc()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !json.Valid(b) {
				t.Fatalf("%s: invalid JSON %s", name, b)
			}
		}
	})
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }
