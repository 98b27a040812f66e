package faults

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/trendwatch/trendwatch/config"
	"github.com/trendwatch/trendwatch/ingest"
)

// testCA is a certificate authority of the test's own and a server
// certificate it signed for 127.0.0.1.
type testCA struct {
	caFile string
	server tls.Certificate
}

func newTestCA(t testing.TB) testCA {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "trendwatch test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return testCA{caFile: caFile, server: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}}
}

// secureBroker is an in-process Kafka-protocol broker that takes only TLS
// connections authenticated with SCRAM-SHA-256.
func secureBroker(t testing.TB, ca testCA, user, pass string) string {
	t.Helper()
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-256", user, pass),
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{ca.server}, MinVersion: tls.VersionTLS12}),
		kfake.SeedTopics(2, contentTopic, reportTopic, deadTopic),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

func secureConfig(addr, caFile, user, pass string) ingest.Config {
	cfg := ingest.DefaultConfig()
	cfg.Brokers = []string{addr}
	cfg.Group = "secure"
	cfg.MaxWait = 100 * time.Millisecond
	cfg.SASL = ingest.SASL{Mechanism: "scram-sha-256", Username: user, Password: pass}
	cfg.TLS = ingest.TLS{Enabled: true, CAFile: caFile}
	return cfg
}

// TestKafkaSCRAMOverTLS runs the ingest consumer against a broker that takes
// only TLS with SCRAM-SHA-256: the right password reads messages, a wrong
// one and an untrusted certificate fail with errors that say so.
func TestKafkaSCRAMOverTLS(t *testing.T) {
	const user, pass = "trendwatch", "s3cret-scram-pass"
	ca := newTestCA(t)
	addr := secureBroker(t, ca, user, pass)
	cfg := secureConfig(addr, ca.caFile, user, pass)

	w, err := cfg.NewWriter(cfg.Topics.Content)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msg := `{"event_id":"e1","ts":"` + time.Now().UTC().Format(time.RFC3339) + `","content_id":"c1","creator_id":"u1","hashtags":["#secure"]}`
	if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("c1"), Value: []byte(msg)}); err != nil {
		t.Fatalf("produce over TLS with SCRAM: %v", err)
	}

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := ingest.NewConsumer(cfg, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Partitions(ctx); err != nil {
		t.Fatalf("list partitions with the right password: %v", err)
	}
	out := make(chan ingest.Record, 1)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx, out) }()
	select {
	case r := <-out:
		if r.Kind != ingest.KindContent || r.Content.EventID != "e1" {
			t.Errorf("read %+v, want content e1", r)
		}
	case <-ctx.Done():
		t.Fatal("nothing read over TLS with SCRAM")
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c.Close()

	for _, tc := range []struct {
		name string
		cfg  ingest.Config
		want string
	}{
		{"wrong password", secureConfig(addr, ca.caFile, user, "not-the-password"), "SASL Authentication Failed"},
		{"unknown user", secureConfig(addr, ca.caFile, "mallory", pass), "SASL Authentication Failed"},
		{"untrusted certificate", secureConfig(addr, "", user, pass), "certificate signed by unknown authority"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ingest.NewConsumer(tc.cfg, log, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err = c.Partitions(ctx)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Partitions = %v, want an error saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), tc.cfg.SASL.Password) {
				t.Errorf("the error quotes the password: %v", err)
			}
			if tc.name != "untrusted certificate" && !errors.Is(err, kafka.SASLAuthenticationFailed) {
				t.Errorf("error %v does not wrap kafka.SASLAuthenticationFailed", err)
			}
			if !ingest.Refused(err) {
				t.Errorf("ingest.Refused(%v) = false; trendwatch run would not stop on it", err)
			}
		})
	}
}

// TestMetricsLoopbackByDefault: /metrics and /healthz are for the host's own
// scraper unless an operator says otherwise.
func TestMetricsLoopbackByDefault(t *testing.T) {
	listen := config.Default().Metrics.Listen
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		t.Errorf("metrics.listen defaults to %q, not a loopback address", listen)
	}
	if b := config.Default().Broker.Listen; !strings.HasPrefix(b, "127.0.0.1:") {
		t.Errorf("broker.listen defaults to %q, not loopback", b)
	}
}
