package incident

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// testSecret is the Standard Webhooks specification's test vector secret.
const (
	testSecret     = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	testRoutingKey = "R0UT1NGK3Y0000000000000000000042"
)

func webhookConfig(url string) Config {
	c := DefaultConfig()
	c.Kind = KindWebhook
	c.URL = url
	c.Secret = testSecret
	c.AllowedSchemes = []string{"http", "https"}
	return c
}

func alertmanagerConfig(url string) Config {
	c := DefaultConfig()
	c.Kind = KindAlertmanager
	c.URL = url
	c.AllowedSchemes = []string{"http", "https"}
	return c
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string // exact message, or a prefix ending in ':'
	}{
		{"pagerduty default", func(c *Config) { c.RoutingKey = testRoutingKey }, ""},
		{"webhook", func(c *Config) { *c = webhookConfig("https://hooks.example.org/trendwatch") }, ""},
		{"webhook secret file", func(c *Config) {
			*c = webhookConfig("https://hooks.example.org/x")
			c.Secret, c.SecretFile = "", "/run/secrets/hook"
		}, ""},
		{"allowed host", func(c *Config) {
			*c = webhookConfig("https://Hooks.Example.org:8443/x")
			c.AllowedHosts = []string{"hooks.example.org"}
		}, ""},
		{"allowed host and port", func(c *Config) {
			*c = webhookConfig("https://hooks.example.org:8443/x")
			c.AllowedHosts = []string{"hooks.example.org:8443"}
		}, ""},
		{"unknown kind", func(c *Config) { c.Kind = "slack" }, "incident.kind:"},
		{"http refused by default", func(c *Config) {
			c.RoutingKey = testRoutingKey
			c.URL = "http://events.pagerduty.com/v2/enqueue"
		}, "incident.url: scheme http not in incident.allowed_schemes [https]"},
		{"file scheme", func(c *Config) {
			*c = webhookConfig("file:///etc/passwd")
		}, "incident.url: scheme file not in incident.allowed_schemes [http https]"},
		{"host not allowed", func(c *Config) {
			*c = webhookConfig("https://evil.example.com/x")
			c.AllowedHosts = []string{"hooks.example.org"}
		}, "incident.url: host evil.example.com:443 not in incident.allowed_hosts [hooks.example.org]"},
		{"port not allowed", func(c *Config) {
			*c = webhookConfig("https://hooks.example.org:9999/x")
			c.AllowedHosts = []string{"hooks.example.org:8443"}
		}, "incident.url:"},
		{"allowed host on the default port", func(c *Config) {
			*c = webhookConfig("https://hooks.example.org/x")
			c.AllowedHosts = []string{"hooks.example.org:443"}
		}, ""},
		{"cloud metadata address", func(c *Config) {
			*c = webhookConfig("https://169.254.169.254/latest/meta-data/")
		}, "incident.url: host 169.254.169.254 is a link-local address; list it in incident.allowed_hosts to send there"},
		{"cloud metadata address, IPv4-mapped", func(c *Config) {
			*c = webhookConfig("https://[::ffff:a9fe:a9fe]/x")
		}, "incident.url: host 169.254.169.254 is a link-local address; list it in incident.allowed_hosts to send there"},
		{"cloud metadata address, host name listed", func(c *Config) {
			*c = webhookConfig("https://169.254.169.254/x")
			c.AllowedHosts = []string{"hooks.example.org", "169.254.169.254.nip.io"}
		}, "incident.url: host 169.254.169.254:443 not in incident.allowed_hosts [hooks.example.org 169.254.169.254.nip.io]"},
		{"IPv6 link-local", func(c *Config) { *c = webhookConfig("https://[fe80::1%25eth0]:8443/x") }, "incident.url: host fe80::1 is a link-local address; list it in incident.allowed_hosts to send there"},
		{"loopback", func(c *Config) { *c = webhookConfig("http://127.0.0.1:8080/x") }, "incident.url: host 127.0.0.1 is a loopback address; list it in incident.allowed_hosts to send there"},
		{"IPv6 loopback", func(c *Config) { *c = webhookConfig("http://[::1]:8080/x") }, "incident.url: host ::1 is a loopback address; list it in incident.allowed_hosts to send there"},
		{"private 10/8", func(c *Config) { *c = webhookConfig("https://10.1.2.3/x") }, "incident.url: host 10.1.2.3 is a private address; list it in incident.allowed_hosts to send there"},
		{"private 172.16/12", func(c *Config) { *c = webhookConfig("https://172.20.0.1/x") }, "incident.url: host 172.20.0.1 is a private address; list it in incident.allowed_hosts to send there"},
		{"private 192.168/16", func(c *Config) { *c = webhookConfig("https://192.168.0.10/x") }, "incident.url: host 192.168.0.10 is a private address; list it in incident.allowed_hosts to send there"},
		{"unique local fc00::/7", func(c *Config) { *c = webhookConfig("https://[fd00::10]/x") }, "incident.url: host fd00::10 is a private address; list it in incident.allowed_hosts to send there"},
		{"shared 100.64/10", func(c *Config) { *c = webhookConfig("https://100.100.100.200/x") }, "incident.url: host 100.100.100.200 is a shared (100.64.0.0/10) address; list it in incident.allowed_hosts to send there"},
		{"unspecified", func(c *Config) { *c = webhookConfig("http://0.0.0.0:8080/x") }, "incident.url: host 0.0.0.0 is an unspecified address; list it in incident.allowed_hosts to send there"},
		{"loopback listed", func(c *Config) {
			*c = webhookConfig("http://127.0.0.1:8080/x")
			c.AllowedHosts = []string{"127.0.0.1"}
		}, ""},
		{"loopback listed with its port", func(c *Config) {
			*c = webhookConfig("http://127.0.0.1:8080/x")
			c.AllowedHosts = []string{"127.0.0.1:8080"}
		}, ""},
		{"private address in a listed range", func(c *Config) {
			*c = webhookConfig("https://10.1.2.3/x")
			c.AllowedHosts = []string{"10.0.0.0/8"}
		}, ""},
		{"private address outside the listed range", func(c *Config) {
			*c = webhookConfig("https://10.1.2.3/x")
			c.AllowedHosts = []string{"10.9.0.0/16"}
		}, "incident.url: host 10.1.2.3:443 not in incident.allowed_hosts [10.9.0.0/16]"},
		{"public address", func(c *Config) { *c = webhookConfig("https://203.0.113.10/x") }, ""},
		{"allowed_hosts bad range", func(c *Config) {
			*c = webhookConfig("https://hooks.example.org/x")
			c.AllowedHosts = []string{"10.0.0.0/33"}
		}, "incident.allowed_hosts:"},
		{"allowed_hosts empty entry", func(c *Config) {
			*c = webhookConfig("https://hooks.example.org/x")
			c.AllowedHosts = []string{"hooks.example.org", " "}
		}, "incident.allowed_hosts: empty entry"},
		{"allowed_hosts bad port", func(c *Config) {
			*c = webhookConfig("https://hooks.example.org/x")
			c.AllowedHosts = []string{"hooks.example.org:99999"}
		}, `incident.allowed_hosts: "hooks.example.org:99999" has no valid port`},
		{"allowed_hosts URL instead of host", func(c *Config) {
			*c = webhookConfig("https://hooks.example.org/x")
			c.AllowedHosts = []string{"user@hooks.example.org"}
		}, `incident.allowed_hosts: "user@hooks.example.org" is not a host, host:port or CIDR range`},
		{"no host", func(c *Config) { *c = webhookConfig("https:///x") }, "incident.url:"},
		{"credentials in url", func(c *Config) { *c = webhookConfig("https://user:pw@hooks.example.org/x") }, "incident.url:"},
		{"unparsable url", func(c *Config) { *c = webhookConfig("https://hooks.example.org/%zz") }, "incident.url:"},
		{"webhook on PagerDuty's url", func(c *Config) { *c = webhookConfig(PagerDutyURL) }, "incident.url:"},
		{"ftp scheme allowed", func(c *Config) {
			c.RoutingKey = testRoutingKey
			c.AllowedSchemes = []string{"ftp"}
		}, "incident.allowed_schemes:"},
		{"no schemes", func(c *Config) {
			c.RoutingKey = testRoutingKey
			c.AllowedSchemes = nil
		}, "incident.allowed_schemes:"},
		{"no routing key", func(*Config) {}, "incident.routing_key:"},
		{"no source", func(c *Config) { c.RoutingKey, c.Source = testRoutingKey, "" }, "incident.source:"},
		{"no secret", func(c *Config) { *c = webhookConfig("https://h.example.org/"); c.Secret = "" }, "incident.secret:"},
		{"secret and file", func(c *Config) { *c = webhookConfig("https://h.example.org/"); c.SecretFile = "/x" }, "incident.secret_file:"},
		{"secret not base64", func(c *Config) { *c = webhookConfig("https://h.example.org/"); c.Secret = "whsec_not*base64!" }, "incident.secret:"},
		{"secret too short", func(c *Config) { *c = webhookConfig("https://h.example.org/"); c.Secret = "whsec_c2hvcnQ=" }, "incident.secret:"},
		{"min severity", func(c *Config) { c.RoutingKey, c.MinSeverity = testRoutingKey, "urgent" }, "incident.min_severity:"},
		{"negative interval", func(c *Config) { c.RoutingKey, c.PerTermInterval = testRoutingKey, -time.Second }, "incident.per_term_interval:"},
		{"zero timeout", func(c *Config) { c.RoutingKey, c.Timeout = testRoutingKey, 0 }, "incident.timeout:"},
		{"negative attempts", func(c *Config) { c.RoutingKey, c.MaxAttempts = testRoutingKey, -1 }, "incident.max_attempts:"},
		{"zero backoff", func(c *Config) { c.RoutingKey, c.BackoffBase = testRoutingKey, 0 }, "incident.backoff_base:"},
		{"backoff max below base", func(c *Config) { c.RoutingKey, c.BackoffMax = testRoutingKey, time.Millisecond }, "incident.backoff_max:"},
		{"zero outbox", func(c *Config) { c.RoutingKey, c.Outbox = testRoutingKey, 0 }, "incident.outbox:"},
		{"alertmanager", func(c *Config) { *c = alertmanagerConfig("https://alertmanager.example.org") }, ""},
		{"alertmanager with a generator template", func(c *Config) {
			*c = alertmanagerConfig("https://alertmanager.example.org")
			c.GeneratorURL = "https://grafana.example.org/d/term?var-term={term}"
		}, ""},
		{"alertmanager on PagerDuty's url", func(c *Config) { *c = alertmanagerConfig(PagerDutyURL) }, "incident.url: required for kind alertmanager (the default is PagerDuty's)"},
		{"alertmanager private address", func(c *Config) { *c = alertmanagerConfig("http://10.0.0.9:9093") }, "incident.url: host 10.0.0.9 is a private address; list it in incident.allowed_hosts to send there"},
		{"alertmanager zero resend interval", func(c *Config) {
			*c = alertmanagerConfig("https://alertmanager.example.org")
			c.ResendInterval = 0
		}, "incident.resend_interval: 0s must be positive"},
		{"alertmanager zero max open", func(c *Config) {
			*c = alertmanagerConfig("https://alertmanager.example.org")
			c.MaxOpen = 0
		}, "incident.max_open: 0 must be positive"},
		{"alertmanager history table not a name", func(c *Config) {
			*c = alertmanagerConfig("https://alertmanager.example.org")
			c.HistoryTable = "term_history; DROP TABLE alerts"
		}, `incident.history_table: "term_history; DROP TABLE alerts" is not a table or database.table name`},
		{"alertmanager generator not http", func(c *Config) {
			*c = alertmanagerConfig("https://alertmanager.example.org")
			c.GeneratorURL = "javascript:alert(1)"
		}, "incident.generator_url: not an absolute http or https URL"},
		{"alertmanager generator relative", func(c *Config) {
			*c = alertmanagerConfig("https://alertmanager.example.org")
			c.GeneratorURL = "/d/term"
		}, "incident.generator_url: not an absolute http or https URL"},
		{"resend interval ignored by other kinds", func(c *Config) { c.RoutingKey, c.ResendInterval = testRoutingKey, 0 }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tt.wantErr)
			}
			if strings.HasSuffix(tt.wantErr, ":") {
				if !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("Validate() = %q, want it to start with %q", err, tt.wantErr)
				}
			} else if err.Error() != tt.wantErr {
				t.Fatalf("Validate() = %q, want %q", err, tt.wantErr)
			}
			for _, secret := range []string{testSecret, c.Secret, "pw@", "not*base64"} {
				if secret != "" && strings.Contains(err.Error(), secret) {
					t.Fatalf("error %q quotes a credential", err)
				}
			}
			if _, nerr := New(c, nil, nil); nerr == nil || nerr.Error() != err.Error() {
				t.Fatalf("New() = %v, want the Validate error", nerr)
			}
		})
	}
}

// TestConfigRedacts formats a Config every way a log line or an error might.
func TestConfigRedacts(t *testing.T) {
	c := webhookConfig("https://hooks.example.org/services/T0KEN1NPATH?sig=QUERYT0KEN")
	c.RoutingKey = testRoutingKey
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "cfg", c)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "cfg", c)
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", c),
		"%+v":  fmt.Sprintf("%+v", c),
		"%#v":  fmt.Sprintf("%#v", c),
		"Str":  c.String(),
		"ptr":  fmt.Sprintf("%v", &c),
		"slog": logged.String(),
	}
	for how, out := range outputs {
		for _, secret := range []string{strings.TrimPrefix(testSecret, "whsec_"), testRoutingKey, "T0KEN1NPATH", "QUERYT0KEN"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s prints %q: %s", how, secret, out)
			}
		}
		if !strings.Contains(out, "hooks.example.org") {
			t.Errorf("%s drops the host, which an operator needs: %s", how, out)
		}
	}
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{EnvRoutingKey: "from-env", EnvSecret: testSecret}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	c := DefaultConfig()
	c.RoutingKey = "from-file"
	c = c.FromEnv(lookup)
	if c.RoutingKey != "from-env" || c.Secret != testSecret {
		t.Fatalf("FromEnv: routing key %q, secret set %v", c.RoutingKey, c.Secret != "")
	}
	c = DefaultConfig()
	c.RoutingKey = "kept"
	if got := c.FromEnv(func(string) (string, bool) { return "", false }); got.RoutingKey != "kept" {
		t.Fatalf("FromEnv without env changed the routing key to %q", got.RoutingKey)
	}
}

func TestSecretFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	if err := os.WriteFile(good, []byte(testSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("whsec_TOOSHORTBUTSECRET="), 0o600); err != nil {
		t.Fatal(err)
	}
	c := webhookConfig("https://hooks.example.org/x")
	c.Secret, c.SecretFile = "", good
	s, err := New(c, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := parseSecret(testSecret); !bytes.Equal(s.key, want) {
		t.Fatal("the key read from incident.secret_file differs from the secret")
	}
	for _, path := range []string{bad, filepath.Join(dir, "missing")} {
		c.SecretFile = path
		_, err := New(c, nil, nil)
		if err == nil || !strings.HasPrefix(err.Error(), "incident.secret_file:") {
			t.Fatalf("New with secret file %s = %v, want an incident.secret_file error", path, err)
		}
		if strings.Contains(err.Error(), "TOOSHORTBUTSECRET") {
			t.Fatalf("error quotes the file's content: %v", err)
		}
	}
}
