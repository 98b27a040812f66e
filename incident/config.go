package incident

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/trendwatch/trendwatch/alert"
)

// Kinds of incident endpoint.
const (
	KindPagerDuty    = "pagerduty"
	KindWebhook      = "webhook"
	KindAlertmanager = "alertmanager"
)

// PagerDutyURL is the Events API v2 endpoint.
const PagerDutyURL = "https://events.pagerduty.com/v2/enqueue"

// Environment variables FromEnv reads, so secrets need not sit in a config file.
const (
	EnvRoutingKey = "TRENDWATCH_INCIDENT_ROUTING_KEY"
	EnvSecret     = "TRENDWATCH_INCIDENT_SECRET"
)

const redacted = "[redacted]"

// Config says where incidents go and how hard to try. Viper keys incident.*.
//
// RoutingKey and Secret are credentials: Config's String, GoString and LogValue
// redact them, and so the URL's path and query, which some webhook providers use
// as a credential too.
type Config struct {
	Kind            string        `mapstructure:"kind"`              // "pagerduty", "webhook" or "alertmanager"
	URL             string        `mapstructure:"url"`               // endpoint; PagerDutyURL by default; an Alertmanager's base URL for kind alertmanager
	RoutingKey      string        `mapstructure:"routing_key"`       // PagerDuty integration key; from TRENDWATCH_INCIDENT_ROUTING_KEY in practice
	Secret          string        `mapstructure:"secret"`            // webhook signing secret, "whsec_" + base64 (Standard Webhooks)
	SecretFile      string        `mapstructure:"secret_file"`       // file holding Secret, instead of Secret
	Source          string        `mapstructure:"source"`            // PagerDuty payload.source
	MinSeverity     string        `mapstructure:"min_severity"`      // alerts below it open no incident
	PerTermInterval time.Duration `mapstructure:"per_term_interval"` // one trigger per term per interval (0: no limit); see Notifier
	Timeout         time.Duration `mapstructure:"timeout"`           // per HTTP attempt
	MaxAttempts     int           `mapstructure:"max_attempts"`      // 0: retry until delivered or pushed out of the outbox
	BackoffBase     time.Duration `mapstructure:"backoff_base"`      // first retry waits up to this
	BackoffMax      time.Duration `mapstructure:"backoff_max"`       // no retry waits longer, Retry-After aside
	Outbox          int           `mapstructure:"outbox"`            // pending deliveries kept
	AllowedHosts    []string      `mapstructure:"allowed_hosts"`     // host, host:port, IP or CIDR range; empty: incident.url's host only (see hostPolicy)
	AllowedSchemes  []string      `mapstructure:"allowed_schemes"`   // of http and https

	// Kind alertmanager only.
	ResendInterval time.Duration `mapstructure:"resend_interval"` // open alerts are re-sent this often; Alertmanager resolves what is not
	MaxOpen        int           `mapstructure:"max_open"`        // open alerts remembered for re-sending
	GeneratorURL   string        `mapstructure:"generator_url"`   // generatorURL base; "{term}" is replaced, else ?term= is added
	HistoryTable   string        `mapstructure:"history_table"`   // ClickHouse term_history view named in the history_query annotation
}

// DefaultConfig sends to PagerDuty over https, pages from medium severity, and
// retries until delivered.
func DefaultConfig() Config {
	return Config{
		Kind:            KindPagerDuty,
		URL:             PagerDutyURL,
		Source:          "trendwatch",
		MinSeverity:     alert.SeverityMedium.String(),
		PerTermInterval: 5 * time.Minute,
		Timeout:         10 * time.Second,
		MaxAttempts:     0,
		BackoffBase:     time.Second,
		BackoffMax:      time.Minute,
		Outbox:          1000,
		AllowedSchemes:  []string{"https"},
		ResendInterval:  time.Minute,
		MaxOpen:         1000,
		HistoryTable:    "trendwatch.term_history",
	}
}

// FromEnv fills RoutingKey and Secret from EnvRoutingKey and EnvSecret when they
// are set there. lookup is os.LookupEnv outside tests.
func (c Config) FromEnv(lookup func(string) (string, bool)) Config {
	if v, ok := lookup(EnvRoutingKey); ok && v != "" {
		c.RoutingKey = v
	}
	if v, ok := lookup(EnvSecret); ok && v != "" {
		c.Secret = v
	}
	return c
}

// Validate reports the first key that is wrong. It never quotes a credential.
func (c Config) Validate() error {
	switch c.Kind {
	case KindPagerDuty, KindWebhook, KindAlertmanager:
	default:
		return fmt.Errorf("incident.kind: %q is not %s, %s or %s", c.Kind, KindPagerDuty, KindWebhook, KindAlertmanager)
	}
	if len(c.AllowedSchemes) == 0 {
		return errors.New("incident.allowed_schemes: must list at least one scheme")
	}
	for _, s := range c.AllowedSchemes {
		if s != "http" && s != "https" {
			return fmt.Errorf("incident.allowed_schemes: %q is neither http nor https", s)
		}
	}
	if err := c.checkURL(); err != nil {
		return err
	}
	if _, err := alert.ParseSeverity(c.MinSeverity); err != nil {
		return fmt.Errorf("incident.min_severity: %w", err)
	}
	switch {
	case c.PerTermInterval < 0:
		return fmt.Errorf("incident.per_term_interval: %v is negative", c.PerTermInterval)
	case c.Timeout <= 0:
		return fmt.Errorf("incident.timeout: %v must be positive", c.Timeout)
	case c.MaxAttempts < 0:
		return fmt.Errorf("incident.max_attempts: %d is negative (0 retries until delivered)", c.MaxAttempts)
	case c.BackoffBase <= 0:
		return fmt.Errorf("incident.backoff_base: %v must be positive", c.BackoffBase)
	case c.BackoffMax < c.BackoffBase:
		return fmt.Errorf("incident.backoff_max: %v is less than incident.backoff_base %v", c.BackoffMax, c.BackoffBase)
	case c.Outbox <= 0:
		return fmt.Errorf("incident.outbox: %d must be positive", c.Outbox)
	}
	switch c.Kind {
	case KindPagerDuty:
		if c.RoutingKey == "" {
			return fmt.Errorf("incident.routing_key: required for kind %s (set %s)", KindPagerDuty, EnvRoutingKey)
		}
		if c.Source == "" {
			return fmt.Errorf("incident.source: required for kind %s", KindPagerDuty)
		}
	case KindWebhook:
		switch {
		case c.Secret == "" && c.SecretFile == "":
			return fmt.Errorf("incident.secret: required for kind %s (set %s or incident.secret_file)", KindWebhook, EnvSecret)
		case c.Secret != "" && c.SecretFile != "":
			return errors.New("incident.secret_file: set either incident.secret or incident.secret_file, not both")
		case c.Secret != "":
			if _, err := parseSecret(c.Secret); err != nil {
				return fmt.Errorf("incident.secret: %w", err)
			}
		}
	case KindAlertmanager:
		return c.checkAlertmanager()
	}
	return nil
}

// tableName is what incident.history_table may be: it is spliced into a query
// an operator copies and runs.
var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)

func (c Config) checkAlertmanager() error {
	switch {
	case c.ResendInterval <= 0:
		return fmt.Errorf("incident.resend_interval: %v must be positive", c.ResendInterval)
	case c.MaxOpen <= 0:
		return fmt.Errorf("incident.max_open: %d must be positive", c.MaxOpen)
	case !tableName.MatchString(c.HistoryTable):
		return fmt.Errorf("incident.history_table: %q is not a table or database.table name", c.HistoryTable)
	}
	if c.GeneratorURL != "" {
		u, err := url.Parse(strings.ReplaceAll(c.GeneratorURL, termPlaceholder, "x"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("incident.generator_url: not an absolute http or https URL")
		}
	}
	return nil
}

func (c Config) checkURL() error {
	if c.Kind != KindPagerDuty && c.URL == PagerDutyURL {
		return fmt.Errorf("incident.url: required for kind %s (the default is PagerDuty's)", c.Kind)
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		// url's errors quote the whole URL, credentials and all.
		return errors.New("incident.url: not a valid URL")
	}
	scheme := strings.ToLower(u.Scheme)
	if !slices.Contains(c.AllowedSchemes, scheme) {
		return fmt.Errorf("incident.url: scheme %s not in incident.allowed_schemes %v", scheme, c.AllowedSchemes)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("incident.url: no host in %s", redactURL(c.URL))
	}
	if u.User != nil {
		return errors.New("incident.url: credentials in the URL are not allowed; use incident.routing_key or incident.secret")
	}
	p, err := newHostPolicy(c.AllowedHosts, u)
	if err != nil {
		return err
	}
	port := u.Port()
	if port == "" {
		port = defaultPort(scheme)
	}
	return p.checkHost("incident.url", u.Hostname(), port)
}

// secret returns the signing key: Secret, or the content of SecretFile.
func (c Config) secret() ([]byte, error) {
	if c.SecretFile == "" {
		k, err := parseSecret(c.Secret)
		if err != nil {
			return nil, fmt.Errorf("incident.secret: %w", err)
		}
		return k, nil
	}
	b, err := os.ReadFile(c.SecretFile)
	if err != nil {
		return nil, fmt.Errorf("incident.secret_file: %w", err)
	}
	k, err := parseSecret(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("incident.secret_file: %s: %w", c.SecretFile, err)
	}
	return k, nil
}

// redactURL keeps what an operator needs to tell endpoints apart.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return redacted
	}
	out := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		out += "/" + redacted
	}
	return out
}

// plain is Config without its methods, to format it without recursion.
type plain Config

func (c Config) redact() plain {
	p := plain(c)
	p.URL = redactURL(c.URL)
	if p.RoutingKey != "" {
		p.RoutingKey = redacted
	}
	if p.Secret != "" {
		p.Secret = redacted
	}
	return p
}

// String redacts credentials, so %v and %s never print them.
func (c Config) String() string { return fmt.Sprintf("%+v", c.redact()) }

// GoString redacts credentials, so %#v never prints them.
func (c Config) GoString() string { return fmt.Sprintf("incident.Config%+v", c.redact()) }

// LogValue redacts credentials when a Config is logged with slog.
func (c Config) LogValue() slog.Value {
	p := c.redact()
	return slog.GroupValue(
		slog.String("kind", p.Kind),
		slog.String("url", p.URL),
		slog.String("routing_key", p.RoutingKey),
		slog.String("secret", p.Secret),
		slog.String("secret_file", p.SecretFile),
		slog.String("source", p.Source),
		slog.String("min_severity", p.MinSeverity),
		slog.Duration("per_term_interval", p.PerTermInterval),
		slog.Duration("timeout", p.Timeout),
		slog.Int("max_attempts", p.MaxAttempts),
		slog.Duration("backoff_base", p.BackoffBase),
		slog.Duration("backoff_max", p.BackoffMax),
		slog.Int("outbox", p.Outbox),
		slog.Any("allowed_hosts", p.AllowedHosts),
		slog.Any("allowed_schemes", p.AllowedSchemes),
		slog.Duration("resend_interval", p.ResendInterval),
		slog.Int("max_open", p.MaxOpen),
		slog.String("generator_url", p.GeneratorURL),
		slog.String("history_table", p.HistoryTable),
	)
}
