// Package broker runs the embedded Kafka-protocol broker (franz-go's kfake) that
// the demo, the tests and a first look use instead of a Kafka cluster. Clients,
// kafka-go and kcat alike, speak the real protocol to it over TCP.
package broker

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Config is the broker section: where to listen and which topics to create.
type Config struct {
	Listen     string   `mapstructure:"listen"` // host:port; port 0 picks a free one
	Topics     []string `mapstructure:"topics"`
	Partitions int      `mapstructure:"partitions"`
	// DataDir keeps the log on disk so a restarted broker has its messages and
	// committed offsets back; empty keeps everything in memory.
	DataDir string `mapstructure:"data_dir"`
	// MaxMessageBytes is the largest batch the broker accepts; above the
	// pipeline's own limit so an oversized message reaches the dead-letter path.
	MaxMessageBytes int `mapstructure:"max_message_bytes"`
}

// DefaultConfig listens on the usual Kafka port on loopback only.
func DefaultConfig() Config {
	return Config{
		Listen:          "127.0.0.1:9092",
		Topics:          []string{"content-events", "report-events", "trendwatch-dead-letter"},
		Partitions:      4,
		MaxMessageBytes: 16 << 20,
	}
}

// Validate names the first bad key.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("broker.listen: %q: %w", c.Listen, err)
	}
	if c.Partitions <= 0 {
		return fmt.Errorf("broker.partitions: must be > 0, got %d", c.Partitions)
	}
	if c.MaxMessageBytes <= 0 {
		return fmt.Errorf("broker.max_message_bytes: must be > 0, got %d", c.MaxMessageBytes)
	}
	return nil
}

// Broker is a running embedded broker.
type Broker struct {
	cluster *kfake.Cluster
	addr    string
}

// Start listens and creates the topics. kfake itself binds 127.0.0.1; the
// listener function makes it honour the configured host as well.
func Start(cfg Config, log *slog.Logger) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	host, portStr, _ := net.SplitHostPort(cfg.Listen)
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("broker.listen: port %q: %w", portStr, err)
	}
	opts := []kfake.Opt{
		kfake.Ports(port),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, net.JoinHostPort(host, strconv.Itoa(port)))
		}),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(cfg.Partitions),
		kfake.BrokerConfigs(map[string]string{"message.max.bytes": strconv.Itoa(cfg.MaxMessageBytes)}),
		kfake.WithLogger(slogLogger{log}),
	}
	if len(cfg.Topics) > 0 {
		opts = append(opts, kfake.SeedTopics(int32(cfg.Partitions), cfg.Topics...))
	}
	if cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.DataDir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start embedded broker on %s: %w", cfg.Listen, err)
	}
	addrs := c.ListenAddrs()
	if len(addrs) == 0 {
		c.Close()
		return nil, errors.New("embedded broker: no listen address")
	}
	return &Broker{cluster: c, addr: addrs[0]}, nil
}

// Addr is the bootstrap address clients dial.
func (b *Broker) Addr() string { return b.addr }

// Close stops the broker; with a data dir its state survives for the next Start.
func (b *Broker) Close() { b.cluster.Close() }

type slogLogger struct{ log *slog.Logger }

func (l slogLogger) Logf(level kfake.LogLevel, msg string, args ...any) {
	if level > kfake.LogLevelWarn || l.log == nil {
		return
	}
	l.log.Warn("embedded broker: " + fmt.Sprintf(msg, args...))
}
