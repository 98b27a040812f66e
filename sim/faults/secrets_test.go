//go:build integration

package faults

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/segmentio/kafka-go"

	"github.com/trendwatch/trendwatch/internal/testenv"
)

// clickhouseUser is the user with a password that scripts/clickhouse.sh
// gives the test server.
const clickhouseUser, clickhousePassword = "trendwatch", "trendwatch-test-clickhouse"

// TestSecretsStayOut runs the binary with every credential it takes, Kafka
// over TLS with SCRAM-SHA-256, ClickHouse with a password and a signed
// incident webhook, at debug log level, then looks for each secret in its
// output, /metrics and /healthz. It also runs it with a wrong Kafka password
// and a wrong ClickHouse password: it must stop, say why, and still not
// quote them.
func TestSecretsStayOut(t *testing.T) {
	t.Parallel()
	chAddr := testenv.ClickHouse(t)
	const kafkaUser, kafkaPass = "trendwatch", "kafka-scram-secret-9f2c"
	key := []byte("webhook-signing-key-of-32-bytes!")
	webhookSecret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	secrets := map[string]string{
		"Kafka SASL password":      kafkaPass,
		"ClickHouse password":      clickhousePassword,
		"webhook secret":           webhookSecret,
		"webhook secret (base64)":  base64.StdEncoding.EncodeToString(key),
		"webhook key (raw)":        string(key),
		"webhook URL path (token)": "hook-token-7d1e",
	}
	conn, err := ch.Open(&ch.Options{Addr: []string{chAddr}, Auth: ch.Auth{Username: clickhouseUser, Password: clickhousePassword}})
	if err == nil {
		err = conn.Ping(context.Background())
		conn.Close()
	}
	if err != nil {
		t.Fatalf("ClickHouse at %s does not know user %s with the test password (%v): start it with the current scripts/clickhouse.sh", chAddr, clickhouseUser, err)
	}
	ca := newTestCA(t)
	addr := secureBroker(t, ca, kafkaUser, kafkaPass)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()

	cfg := newRunConfig(t, addr, chAddr)
	env := func(kafkaPassword, chPassword string) []string {
		return []string{
			"TRENDWATCH_KAFKA_SASL_MECHANISM=scram-sha-256",
			"TRENDWATCH_KAFKA_SASL_USERNAME=" + kafkaUser,
			"TRENDWATCH_KAFKA_SASL_PASSWORD=" + kafkaPassword,
			"TRENDWATCH_KAFKA_TLS_ENABLED=true",
			"TRENDWATCH_KAFKA_TLS_CA_FILE=" + ca.caFile,
			"TRENDWATCH_KAFKA_LIMITS_MAX_AGE=168h",
			"TRENDWATCH_CLICKHOUSE_USERNAME=" + clickhouseUser,
			"TRENDWATCH_CLICKHOUSE_PASSWORD=" + chPassword,
			"TRENDWATCH_INCIDENT_ENABLED=true",
			"TRENDWATCH_INCIDENT_KIND=webhook",
			"TRENDWATCH_INCIDENT_URL=" + hook.URL + "/" + secrets["webhook URL path (token)"],
			"TRENDWATCH_INCIDENT_ALLOWED_SCHEMES=http",
			"TRENDWATCH_INCIDENT_ALLOWED_HOSTS=127.0.0.1",
			"TRENDWATCH_INCIDENT_SECRET=" + webhookSecret,
		}
	}
	cfg.extra = env(kafkaPass, clickhousePassword)
	cfg.migrate(t)
	p := cfg.start(t, "run")

	kcfg := secureConfig(addr, ca.caFile, kafkaUser, kafkaPass)
	w, err := kcfg.NewWriter("")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Minutes back, so that the later messages that close their minute
	// are behind the clock: live, event time runs at most
	// pipeline.max_ahead ahead of it.
	now := time.Now().UTC().Add(-6 * time.Minute)
	var msgs []kafka.Message
	for i := range 20 {
		msgs = append(msgs, kafka.Message{Topic: contentTopic, Key: []byte(fmt.Sprint("c", i)), Value: []byte(fmt.Sprintf(
			`{"event_id":"e%d","ts":%q,"content_id":"c%d","creator_id":"u%d","hashtags":["#secure"]}`, i, now.Format(time.RFC3339), i, i))})
	}
	// A bad message quoting a secret: dead-lettered, and the dead letter is
	// the message's own business, but the process log must not repeat it.
	msgs = append(msgs, kafka.Message{Topic: contentTopic, Key: []byte("bad"), Value: []byte(`{"event_id":"x","password":`)})
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	// Event time moves on everywhere, so the minute closes: rows go to
	// ClickHouse with the password, and the close is logged.
	later := now.Truncate(time.Minute).Add(4 * time.Minute).Format(time.RFC3339)
	var after []kafka.Message
	for p := range 2 {
		after = append(after,
			kafka.Message{Topic: contentTopic, Partition: p, Value: []byte(`{"event_id":"l` + fmt.Sprint(p) + `","ts":"` + later + `","content_id":"l","creator_id":"u"}`)},
			kafka.Message{Topic: reportTopic, Partition: p, Value: []byte(`{"event_id":"r` + fmt.Sprint(p) + `","ts":"` + later + `","content_id":"l","reporter_id":"u","reason":"spam"}`)})
	}
	pw, err := kcfg.NewWriter("")
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	pw.Balancer = kafka.BalancerFunc(func(m kafka.Message, _ ...int) int { return m.Partition })
	if err := pw.WriteMessages(ctx, after...); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the run to read every message over TLS with SCRAM and write a minute", func() (bool, error) {
		m, err := scrape(cfg.metrics)
		return err == nil && m.sum("trendwatch_pipeline_records_total") >= float64(len(msgs)+len(after)) &&
			m.sum("trendwatch_clickhouse_rows_written_total", `table="trend_minute"`) > 0, err
	})
	pages := map[string]string{}
	for _, path := range []string{"/metrics", "/healthz"} {
		resp, err := http.Get("http://" + cfg.metrics + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		pages[path] = string(b)
	}
	if err := p.stop(60 * time.Second); err != nil {
		t.Fatalf("clean shutdown: %v", err)
	}
	pages["log"] = p.output()
	if !strings.Contains(pages["log"], "level=DEBUG") || !strings.Contains(pages["log"], "clickhouse sink open") {
		t.Fatalf("the log lacks debug lines or the sink's configuration; nothing was looked at:\n%s", p.tail(20))
	}
	for where, text := range pages {
		for what, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("%s holds the %s", where, what)
			}
		}
	}
	t.Logf("debug log (%d lines), /metrics (%d bytes) and /healthz hold none of %d secrets", strings.Count(pages["log"], "\n"), len(pages["/metrics"]), len(secrets))

	// Wrong credentials stop start-up with a message that says what failed.
	for _, tc := range []struct {
		name        string
		kafka, ch   string
		want        string
		shouldQuote string
	}{
		{"wrong Kafka password", "not-" + kafkaPass, clickhousePassword, "SASL Authentication Failed", "not-" + kafkaPass},
		{"wrong ClickHouse password", kafkaPass, "not-" + clickhousePassword, "Wrong password", "not-" + clickhousePassword},
	} {
		bad := cfg
		bad.extra = env(tc.kafka, tc.ch)
		bad.metrics = freeAddr(t)
		p := startProc(t, "run-"+strings.ReplaceAll(tc.name, " ", "-"), bad.env(), "run")
		select {
		case <-p.done:
		case <-time.After(60 * time.Second):
			t.Errorf("%s: still running after 60 s; want it to stop at start-up", tc.name)
			continue
		}
		out := p.output()
		if p.err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("%s: exit %v, output does not say %q:\n%s", tc.name, p.err, tc.want, p.tail(10))
		}
		if strings.Contains(out, tc.shouldQuote) {
			t.Errorf("%s: the output quotes the wrong password", tc.name)
		}
		t.Logf("%s: %s", tc.name, lastLine(out))
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
