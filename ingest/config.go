// Package ingest reads content and report events from Kafka in a consumer group,
// decodes and validates them, and sends what it cannot use to a dead-letter topic
// with the reason, so a bad message never crashes the process or stalls a partition.
package ingest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/trendwatch/trendwatch/event"
)

// Topics names the topics trendwatch reads and writes.
type Topics struct {
	Content    string `mapstructure:"content"`
	Reports    string `mapstructure:"reports"`
	DeadLetter string `mapstructure:"dead_letter"`
	// Relay is the prefix of the topics aggregate processes forward decoded
	// records on, one topic per detect shard (RelayTopic).
	Relay string `mapstructure:"relay"`
}

// RelayTopic is the topic that carries detect shard i of n its records.
func (t Topics) RelayTopic(i, n int) string { return fmt.Sprintf("%s.shard-%d-of-%d", t.Relay, i, n) }

// SASL configures authentication. The password comes from the environment
// (TRENDWATCH_KAFKA_SASL_PASSWORD) or a file, never from a flag.
type SASL struct {
	Mechanism    string `mapstructure:"mechanism"` // "", "plain", "scram-sha-256", "scram-sha-512"
	Username     string `mapstructure:"username"`
	Password     string `mapstructure:"password"`
	PasswordFile string `mapstructure:"password_file"`
}

// TLS configures encryption to the brokers.
type TLS struct {
	Enabled            bool   `mapstructure:"enabled"`
	CAFile             string `mapstructure:"ca_file"`
	CertFile           string `mapstructure:"cert_file"`
	KeyFile            string `mapstructure:"key_file"`
	InsecureSkipVerify bool   `mapstructure:"insecure_skip_verify"`
}

// maxHeartbeat is the longest interval between a member's heartbeats.
// kafka-go sends one every 3 s unless told; a member learns that its group
// rebalances only from a heartbeat's answer, and until it rejoins the
// rebalance waits and it goes on reading partitions it is about to lose:
// what it read and did not commit in that time, the partitions' next owners
// read again (an aggregate process forwards it twice). One heartbeat a
// second is one small request a second.
const maxHeartbeat = time.Second

// Heartbeat is the interval between the member's heartbeats: maxHeartbeat,
// or a third of the session timeout where that is shorter, as Kafka asks
// (a member whose heartbeats are late by more than the session timeout is
// dropped from the group).
func (c Config) Heartbeat() time.Duration { return min(maxHeartbeat, c.SessionTimeout/3) }

// Config is the kafka.* section of the configuration.
type Config struct {
	Brokers  []string `mapstructure:"brokers"`
	Group    string   `mapstructure:"group"`
	ClientID string   `mapstructure:"client_id"`
	Topics   Topics   `mapstructure:"topics"`
	// StartOffset is where a group with no committed offset starts: "earliest" or
	// "latest". A detect process reading its relay (ReadRelay) always starts at
	// the earliest: what the aggregates forwarded before it joined is committed
	// on the input already.
	StartOffset string `mapstructure:"start_offset"`
	// MaxWait is how long the broker may hold a fetch of an empty partition.
	// Data returns as soon as there is any, so a long wait costs no latency;
	// a short one makes kafka-go time out and reconnect on quiet partitions.
	// kafka-go also takes it as its deadline for the fetch's answer
	// (segmentio/kafka-go#574): a fetch the broker and the link take longer
	// to answer, a full batch of large messages on a slow link say, fails
	// and is asked again, for ever. NewConsumer warns below MinSafeMaxWait.
	MaxWait time.Duration `mapstructure:"max_wait"`
	// FetchMaxBytes bounds one fetch. Brokers return a first message larger
	// than it whole, so it need not exceed the largest message; kept small, a
	// batch is drained quickly and partitions are read evenly.
	FetchMaxBytes int          `mapstructure:"fetch_max_bytes"`
	SASL          SASL         `mapstructure:"sasl"`
	TLS           TLS          `mapstructure:"tls"`
	Limits        event.Limits `mapstructure:"limits"`
	// DeadLetterMaxBytes bounds the copy of a bad message kept in the dead-letter
	// topic; the rest is cut and the original size recorded in a header.
	DeadLetterMaxBytes int `mapstructure:"dead_letter_max_bytes"`
	// StartupTimeout is how long start-up waits for any broker to answer
	// before the process exits saying which it tried; 0 waits for ever. Once
	// running, a broker that goes away is retried without end.
	StartupTimeout time.Duration `mapstructure:"startup_timeout"`
	// Decoders is how many goroutines decode, validate and normalise messages;
	// 0 means one per CPU (GOMAXPROCS). Records leave them in fetch order
	// whatever the number, so it changes throughput only.
	Decoders int `mapstructure:"decoders"`
	// SessionTimeout is how long the coordinator keeps a member that sends no
	// heartbeat before it gives the member's partitions to another: how long
	// a standby, or a restart after kill -9, waits for a crashed instance.
	SessionTimeout time.Duration `mapstructure:"session_timeout"`
	// Standby makes a process that finds another member in the group wait
	// until the group is empty and then take every partition over, instead
	// of exiting. One process owns a group at a time (see WaitForGroup).
	Standby bool `mapstructure:"standby"`
	// RelayRetention is how long the relay topics keep a record, set when an
	// aggregate or detect process creates them; 0 leaves it to the brokers'
	// default (log.retention.hours, a week unless changed). A detect process
	// stopped for longer than this loses what the relay dropped meanwhile.
	RelayRetention time.Duration `mapstructure:"relay_retention"`
	// ReadRelay, set by a detect process, is the relay topic it reads in
	// place of the input topics (Topics.RelayTopic); empty for every other.
	ReadRelay string `mapstructure:"-"`
}

// MaxDeadLetterBytes is the most of a bad message's value a dead letter may
// keep (kafka.dead_letter_max_bytes). With the key and the original headers
// cut too (deadLetter.send), a dead letter stays inside one of the writer's
// batches (NewWriter's BatchBytes), which kafka-go would otherwise refuse
// before sending, on every attempt.
const MaxDeadLetterBytes = 512 << 10

// MinSafeMaxWait is the kafka.max_wait below which NewConsumer warns that a
// fetch whose answer is slow may never be read (see Config.MaxWait): the
// race detector's slowdown alone took a 10 MiB message's fetch on loopback
// past 50 ms, so that the test consumer never read it.
const MinSafeMaxWait = 250 * time.Millisecond

// DefaultConfig suits the embedded broker on loopback.
func DefaultConfig() Config {
	return Config{
		Brokers:            []string{"127.0.0.1:9092"},
		Group:              "trendwatch",
		ClientID:           "trendwatch",
		Topics:             Topics{Content: "content-events", Reports: "report-events", DeadLetter: "trendwatch-dead-letter", Relay: "trendwatch-relay"},
		StartOffset:        "earliest",
		MaxWait:            2 * time.Second,
		FetchMaxBytes:      1 << 20,
		Limits:             event.DefaultLimits(),
		DeadLetterMaxBytes: 64 << 10,
		StartupTimeout:     time.Minute,
		SessionTimeout:     30 * time.Second,
	}
}

// Validate names the first bad key.
func (c Config) Validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("kafka.brokers: at least one broker address is required")
	}
	for _, b := range c.Brokers {
		if !strings.Contains(b, ":") {
			return fmt.Errorf("kafka.brokers: %q is not host:port", b)
		}
	}
	switch {
	case c.Group == "":
		return errors.New("kafka.group: must not be empty")
	case c.Topics.Content == "":
		return errors.New("kafka.topics.content: must not be empty")
	case c.Topics.Reports == "":
		return errors.New("kafka.topics.reports: must not be empty")
	case c.Topics.DeadLetter == "":
		return errors.New("kafka.topics.dead_letter: must not be empty")
	case c.Topics.Content == c.Topics.Reports:
		return fmt.Errorf("kafka.topics.reports: must differ from kafka.topics.content (both %q)", c.Topics.Content)
	case c.Topics.DeadLetter == c.Topics.Content || c.Topics.DeadLetter == c.Topics.Reports:
		return fmt.Errorf("kafka.topics.dead_letter: %q is also an input topic", c.Topics.DeadLetter)
	case c.Topics.Relay == "":
		return errors.New("kafka.topics.relay: must not be empty")
	case c.Topics.Relay == c.Topics.Content || c.Topics.Relay == c.Topics.Reports || c.Topics.Relay == c.Topics.DeadLetter:
		return fmt.Errorf("kafka.topics.relay: %q is also another of kafka.topics", c.Topics.Relay)
	case c.StartOffset != "earliest" && c.StartOffset != "latest":
		return fmt.Errorf("kafka.start_offset: want earliest or latest, got %q", c.StartOffset)
	case c.MaxWait <= 0:
		return fmt.Errorf("kafka.max_wait: must be > 0, got %v", c.MaxWait)
	case c.FetchMaxBytes < 1024:
		return fmt.Errorf("kafka.fetch_max_bytes: must be >= 1024, got %d", c.FetchMaxBytes)
	case c.DeadLetterMaxBytes <= 0 || c.DeadLetterMaxBytes > MaxDeadLetterBytes:
		return fmt.Errorf("kafka.dead_letter_max_bytes: must be in 1..%d (a dead letter, with its key and headers, must fit in one of the writer's batches), got %d", MaxDeadLetterBytes, c.DeadLetterMaxBytes)
	case c.StartupTimeout < 0:
		return fmt.Errorf("kafka.startup_timeout: must be >= 0, got %v", c.StartupTimeout)
	case c.Decoders < 0:
		return fmt.Errorf("kafka.decoders: must be >= 0 (0: one per CPU), got %d", c.Decoders)
	case c.RelayRetention < 0:
		return fmt.Errorf("kafka.relay_retention: must be >= 0 (0: the brokers' default), got %v", c.RelayRetention)
	case c.RelayRetention > 0 && c.RelayRetention < time.Hour:
		return fmt.Errorf("kafka.relay_retention: %v would drop what a detect process restarting after a crash has yet to read; give at least 1h", c.RelayRetention)
	case c.SessionTimeout < time.Second:
		return fmt.Errorf("kafka.session_timeout: must be >= 1s, got %v", c.SessionTimeout)
	}
	if err := c.Limits.Validate(); err != nil {
		// "kafka.limits.max_age: …", a key the config's errors say the
		// source of.
		return fmt.Errorf("kafka.limits.%w", err)
	}
	switch c.SASL.Mechanism {
	case "":
	case "plain", "scram-sha-256", "scram-sha-512":
		if c.SASL.Username == "" {
			return fmt.Errorf("kafka.sasl.username: required with mechanism %s", c.SASL.Mechanism)
		}
		if c.SASL.Password == "" && c.SASL.PasswordFile == "" {
			return errors.New("kafka.sasl.password: required (set TRENDWATCH_KAFKA_SASL_PASSWORD or kafka.sasl.password_file)")
		}
	default:
		return fmt.Errorf("kafka.sasl.mechanism: want plain, scram-sha-256 or scram-sha-512, got %q", c.SASL.Mechanism)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return errors.New("kafka.tls.cert_file and kafka.tls.key_file: set both or neither")
	}
	return nil
}

// LogValue keeps the SASL password out of logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("brokers", c.Brokers), slog.String("group", c.Group),
		slog.String("content", c.Topics.Content), slog.String("reports", c.Topics.Reports),
		slog.String("dead_letter", c.Topics.DeadLetter), slog.String("sasl", c.SASL.Mechanism),
		slog.Bool("tls", c.TLS.Enabled))
}

func (c Config) mechanism() (sasl.Mechanism, error) {
	if c.SASL.Mechanism == "" {
		return nil, nil
	}
	pass := c.SASL.Password
	if c.SASL.PasswordFile != "" {
		b, err := os.ReadFile(c.SASL.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("kafka.sasl.password_file: %w", err)
		}
		pass = strings.TrimSpace(string(b))
	}
	switch c.SASL.Mechanism {
	case "plain":
		return plain.Mechanism{Username: c.SASL.Username, Password: pass}, nil
	case "scram-sha-256":
		return scram.Mechanism(scram.SHA256, c.SASL.Username, pass)
	default:
		return scram.Mechanism(scram.SHA512, c.SASL.Username, pass)
	}
}

func (c Config) tlsConfig() (*tls.Config, error) {
	if !c.TLS.Enabled {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.TLS.InsecureSkipVerify} //nolint:gosec // opt-in, documented
	if c.TLS.CAFile != "" {
		pem, err := os.ReadFile(c.TLS.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka.tls.ca_file: %s holds no PEM certificate", c.TLS.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka.tls.cert_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// security loads what both the dialer and the transport need.
func (c Config) security() (sasl.Mechanism, *tls.Config, error) {
	mech, err := c.mechanism()
	if err != nil {
		return nil, nil, err
	}
	tc, err := c.tlsConfig()
	return mech, tc, err
}

// Dialer builds the kafka-go dialer for readers and admin calls.
func (c Config) Dialer() (*kafka.Dialer, error) {
	mech, tc, err := c.security()
	if err != nil {
		return nil, err
	}
	return &kafka.Dialer{ClientID: c.ClientID, Timeout: 10 * time.Second, DualStack: true, SASLMechanism: mech, TLS: tc}, nil
}

// Transport builds the kafka-go transport for writers.
func (c Config) Transport() (*kafka.Transport, error) {
	mech, tc, err := c.security()
	if err != nil {
		return nil, err
	}
	return &kafka.Transport{ClientID: c.ClientID, DialTimeout: 10 * time.Second, SASL: mech, TLS: tc}, nil
}

// NewWriter returns a writer for topic (empty: each message names its topic),
// keyed by hash so one content ID always lands on one partition.
func (c Config) NewWriter(topic string) (*kafka.Writer, error) {
	tr, err := c.Transport()
	if err != nil {
		return nil, err
	}
	return &kafka.Writer{
		Addr:         kafka.TCP(c.Brokers...),
		Topic:        topic,
		Balancer:     &kafka.Hash{},
		Transport:    tr,
		BatchTimeout: 5 * time.Millisecond,
		BatchSize:    1000,
		// Under the 1,048,588 bytes a Kafka broker takes in one record
		// batch by default (message.max.bytes), with room for the batch's
		// header: a larger batch is refused whole (MESSAGE_TOO_LARGE) on
		// a cluster left at its defaults. A single message above it still
		// goes alone, as large as the topic allows.
		BatchBytes:             1_000_000,
		RequiredAcks:           kafka.RequireAll,
		AllowAutoTopicCreation: true,
	}, nil
}
