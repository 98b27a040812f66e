package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/sketches"
)

// Kind says what a Record holds.
type Kind uint8

const (
	KindContent Kind = iota + 1
	KindReport
	// KindInvalid is a message that went to the dead-letter topic. It still flows
	// to the pipeline so its offset is committed with the others and the partition
	// moves past it.
	KindInvalid
	// KindSkipped is a message that holds no event and is no error: a tombstone
	// (null value). Like KindInvalid it flows on only to have its offset committed.
	KindSkipped
)

// Source locates a message in Kafka.
type Source struct {
	Topic     string
	Partition int
	Offset    int64
}

// Record is one decoded message.
type Record struct {
	Source Source
	// Via is where a detect process read a relayed record (the relay topic's
	// partition and offset); zero for a record read from its input topic.
	// Source stays the input topic's, which every instance sees the same, so
	// a relayed record is deduplicated and ordered as the record itself is.
	Via Source
	// Lag is how many messages of the partition were still behind this one when
	// it was fetched, or -1 when unknown. 0 means the consumer is caught up.
	Lag     int64
	Kind    Kind
	Content event.Content
	Report  event.Report
	// Hashes are set by the decoding goroutines (see Hash).
	Hashes Hashes
}

// Hashes are a record's IDs hashed as the pipeline's tables know them
// (sketches.Hash): Event its event_id, Content the content_id it is or
// reports, Actor its creator or reporter. The pipeline needs all three for
// every event on the one goroutine that owns its state, where hashing them
// was 4 % of its time (the IDs' bytes are no longer in cache there); the
// decoding goroutines, one per core, make them instead. Terms are the keys
// of a content's first HashedTerms terms (event.Content.Terms, in its order)
// hashed the same way, NTerms of them; building and hashing each key was
// another 4 %. Set says they are made; a record built by hand has them made
// by the pipeline.
type Hashes struct {
	Event, Content, Actor uint64
	Terms                 [HashedTerms]uint64
	NTerms                uint8
	Set                   bool
}

// HashedTerms is how many of a content's terms the decoders hash: a post
// rarely carries more, and the pipeline hashes the rest itself.
const HashedTerms = 8

// Hash makes r.Hashes from its event.
func (r *Record) Hash() {
	switch r.Kind {
	case KindContent:
		c := &r.Content
		r.Hashes = Hashes{Event: sketches.Hash(c.EventID), Content: sketches.Hash(c.ContentID), Actor: sketches.Hash(c.CreatorID), Set: true}
		var buf [HashedTerms]event.Term
		terms := c.Terms(buf[:0])
		n := min(len(terms), HashedTerms)
		for i, t := range terms[:n] {
			r.Hashes.Terms[i] = sketches.HashTerm(t.Kind.String(), t.Value)
		}
		r.Hashes.NTerms = uint8(n)
	case KindReport:
		rp := &r.Report
		r.Hashes = Hashes{Event: sketches.Hash(rp.EventID), Content: sketches.Hash(rp.ContentID), Actor: sketches.Hash(rp.ReporterID), Set: true}
	}
}

// Partition names one partition of a topic.
type Partition struct {
	Topic     string
	Partition int
}

// Partitions lists the partitions of the input topics, from the brokers'
// metadata. In a group of several instances each gets only some of them; the
// pipeline treats the others as idle once they stay silent.
func (c *Consumer) Partitions(ctx context.Context) ([]Partition, error) {
	dialer, err := c.cfg.Dialer()
	if err != nil {
		return nil, err
	}
	var lastErr error
	for _, b := range c.cfg.Brokers {
		conn, err := dialer.DialContext(ctx, "tcp", b)
		if err != nil {
			lastErr = err
			continue
		}
		ps, err := conn.ReadPartitions(c.cfg.Topics.Content, c.cfg.Topics.Reports)
		conn.Close()
		if err != nil {
			lastErr = err
			continue
		}
		out := make([]Partition, len(ps))
		for i, p := range ps {
			out[i] = Partition{Topic: p.Topic, Partition: p.ID}
		}
		return out, nil
	}
	return nil, fmt.Errorf("read partitions of %s and %s from %v: %w", c.cfg.Topics.Content, c.cfg.Topics.Reports, c.cfg.Brokers, lastErr)
}

// Offset is the last processed offset of a partition.
type Offset struct {
	Topic     string
	Partition int
	Offset    int64
}

type metrics struct {
	events     *prometheus.CounterVec
	failures   *prometheus.CounterVec
	tombstones *prometheus.CounterVec
	lag        *prometheus.GaugeVec
	dlqWrites  *prometheus.CounterVec
	commits    *prometheus.CounterVec
	// tagsDropped counts the hashtags left out of events kept
	// (event.Decoder.TagDropped), by reason.
	tagsDropped *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, cfg Config) *metrics {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trendwatch_ingest_events_total", Help: "Messages read, by topic and result (ok or invalid).",
		}, []string{"topic", "result"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trendwatch_ingest_decode_failures_total", Help: "Messages refused and dead-lettered, by topic and reason.",
		}, []string{"topic", "reason"}),
		tombstones: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trendwatch_ingest_tombstones_total", Help: "Messages with a null value (tombstones), skipped, by topic.",
		}, []string{"topic"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "trendwatch_ingest_lag_messages", Help: "Messages behind the partition's high-water mark when last read.",
		}, []string{"topic", "partition"}),
		dlqWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trendwatch_ingest_dead_letter_writes_total", Help: "Dead-letter writes, by result.",
		}, []string{"result"}),
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trendwatch_ingest_commits_total", Help: "Offset commits, by result.",
		}, []string{"result"}),
		tagsDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trendwatch_ingest_hashtags_dropped_total", Help: "Hashtags that cannot be a term (invalid, too long, a control character), left out of events otherwise kept, by reason.",
		}, []string{"reason"}),
	}
	if reg != nil {
		// A standby that lost a race for the group makes a new consumer;
		// it counts on in the first one's series.
		m.events, m.failures, m.tombstones = register(reg, m.events), register(reg, m.failures), register(reg, m.tombstones)
		m.lag, m.dlqWrites, m.commits = register(reg, m.lag), register(reg, m.dlqWrites), register(reg, m.commits)
		m.tagsDropped = register(reg, m.tagsDropped)
	}
	for _, r := range []event.Reason{event.ReasonInvalidTag, event.ReasonTagTooLong, event.ReasonControlChars} {
		m.tagsDropped.WithLabelValues(string(r))
	}
	// Pre-create the label values so a dashboard shows zero rather than nothing.
	for _, t := range []string{cfg.Topics.Content, cfg.Topics.Reports} {
		m.events.WithLabelValues(t, "ok")
		m.events.WithLabelValues(t, "invalid")
		m.tombstones.WithLabelValues(t)
		for _, r := range event.Reasons {
			m.failures.WithLabelValues(t, string(r))
		}
	}
	return m
}

// tagDropped counts a hashtag left out of an event for reason.
func (m *metrics) tagDropped(reason event.Reason) {
	m.tagsDropped.WithLabelValues(string(reason)).Inc()
}

// register registers c, or returns the collector already registered under
// its name.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if ex, ok := are.ExistingCollector.(C); ok {
			return ex
		}
	}
	panic(err)
}

// messageReader is the part of *kafka.Reader the consumer uses; tests of the
// decode path feed it without a broker.
type messageReader interface {
	FetchMessage(ctx context.Context) (kafka.Message, error)
	CommitMessages(ctx context.Context, msgs ...kafka.Message) error
	Close() error
}

// Consumer reads both input topics in one consumer group. Offsets are committed
// only by Commit, which the pipeline calls once what it derived from them is durable.
type Consumer struct {
	cfg     Config
	log     *slog.Logger
	reader  messageReader
	dec     event.Decoder
	dlq     *deadLetter
	metrics *metrics
	// assigned is set once the group has given this member its partitions.
	assigned *atomic.Bool
	refusals *refusalLog
	// lenient decodes without the event-time limits, to tell the refusal
	// summary what event times the refused messages had.
	lenient event.Decoder
	msgBufs msgBufs

	// exclusive is set once Acquire found this consumer the group's only
	// member; from then on every commit checks that it still is.
	exclusive atomic.Bool
	// ends asks the brokers for the partitions' high-water marks.
	ends ends
}

// Assigned reports whether the consumer group has assigned this member its
// partitions (or it has read a message, which proves it).
func (c *Consumer) Assigned() bool { return c.assigned.Load() }

// NewConsumer joins cfg.Group on the content and report topics.
func NewConsumer(cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Consumer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dialer, err := cfg.Dialer()
	if err != nil {
		return nil, err
	}
	if cfg.MaxWait < MinSafeMaxWait {
		log.Warn("kafka.max_wait is also kafka-go's deadline for a fetch's answer: a fetch answered slower (large messages, a slow link) is asked again and never read",
			"kafka.max_wait", cfg.MaxWait, "at_least", MinSafeMaxWait, "default", DefaultConfig().MaxWait)
	}
	assigned := new(atomic.Bool)
	start := kafka.FirstOffset
	if cfg.StartOffset == "latest" && cfg.ReadRelay == "" {
		// Not for a relay: the aggregate processes commit their input
		// offsets once a record is on the relay, so a detect group that
		// began at the end would never count what they forwarded before
		// it first joined (or after its offsets expired).
		start = kafka.LastOffset
	}
	topics := []string{cfg.Topics.Content, cfg.Topics.Reports}
	if cfg.ReadRelay != "" {
		topics = []string{cfg.ReadRelay}
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:               cfg.Brokers,
		GroupID:               cfg.Group,
		GroupTopics:           topics,
		Dialer:                dialer,
		MinBytes:              1,
		MaxBytes:              cfg.FetchMaxBytes,
		MaxWait:               cfg.MaxWait,
		StartOffset:           start,
		WatchPartitionChanges: true,
		SessionTimeout:        cfg.SessionTimeout,
		HeartbeatInterval:     cfg.Heartbeat(),
		// kafka-go reads a fetched batch lazily from the socket; a batch the
		// pipeline has not drained within this time is abandoned and fetched
		// again, so it must outlast the slowest drain of FetchMaxBytes.
		ReadBatchTimeout: time.Minute,
		// A broker that goes away must not end the process: kafka-go retries.
		MaxAttempts:    1 << 30,
		ReadBackoffMin: 100 * time.Millisecond,
		ReadBackoffMax: 2 * time.Second,
		ErrorLogger:    kafka.LoggerFunc(func(f string, a ...any) { log.Warn("kafka reader: " + fmt.Sprintf(f, a...)) }),
		// kafka-go says when a generation's partitions are assigned only in
		// its informational log; the rest of that log is noise.
		Logger: kafka.LoggerFunc(func(f string, a ...any) {
			if strings.HasPrefix(f, "subscribed to topics and partitions") {
				assigned.Store(true)
				// At INFO: after a rebalance (a member of an aggregate
				// group killed, say) it is what a process took over.
				log.Info("kafka reader: " + fmt.Sprintf(f, a...))
			}
		}),
	})
	w, err := cfg.NewWriter(cfg.Topics.DeadLetter)
	if err != nil {
		r.Close()
		return nil, err
	}
	m := newMetrics(reg, cfg)
	c := newConsumer(cfg, log, r, newDeadLetter(w, log, m), m)
	c.assigned = assigned
	return c, nil
}

func newConsumer(cfg Config, log *slog.Logger, r messageReader, dlq *deadLetter, m *metrics) *Consumer {
	return &Consumer{
		cfg: cfg, log: log, reader: r, dlq: dlq, metrics: m,
		dec:      event.Decoder{Limits: cfg.Limits, Now: time.Now, TagDropped: m.tagDropped},
		assigned: new(atomic.Bool),
		refusals: newRefusalLog(log, time.Minute, cfg.Topics.DeadLetter),
		lenient:  event.Decoder{Limits: lenientLimits(cfg.Limits), Now: time.Now},
	}
}

// decode turns one message into a Record, dead-lettering it when it is
// refused, and counts it at once: the one-message path of tests and
// benchmarks. RunBatches decodes with decodeInto and counts per batch.
func (c *Consumer) decode(ctx context.Context, m kafka.Message) Record {
	var rec Record
	if c.decodeInto(ctx, &m, &rec) {
		c.metrics.events.WithLabelValues(m.Topic, "ok").Inc()
		c.refusals.accepted(c.dec.Now(), 1)
	}
	if rec.Lag >= 0 {
		c.metrics.lag.WithLabelValues(m.Topic, strconv.Itoa(m.Partition)).Set(float64(rec.Lag))
	}
	return rec
}

// decodeInto decodes m into rec, which must be the zero Record, and reports
// whether it was accepted. A refused message is dead-lettered and counted here
// (refusals are rare); accepted ones and the lag gauge are left to the caller,
// which counts them in bulk, since a metric update per message costs more than
// decoding on many cores at once. It is safe for concurrent use.
func (c *Consumer) decodeInto(ctx context.Context, m *kafka.Message, rec *Record) bool {
	// Fields one by one, not a Record literal: rec lies in a batch on the heap, and
	// overwriting all of its 400 bytes (write barriers included while the collector
	// runs) took 110 of decodeInto's 800 ms in a profile of BenchmarkKafkaToDetectors.
	rec.Source = Source{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset}
	rec.Lag = -1
	if m.HighWaterMark > 0 {
		rec.Lag = max(0, m.HighWaterMark-m.Offset-1)
	}
	if m.Value == nil && (m.Topic == c.cfg.Topics.Content || m.Topic == c.cfg.Topics.Reports) {
		// A tombstone deletes its key from a compacted topic: no event, and not a
		// malformed one either. kafka-go (v0.4.51) reads a zero-length value as nil
		// too, so an empty message from the broker is counted here; the decoder
		// refuses one as "empty" wherever it still arrives as a non-nil slice.
		c.metrics.tombstones.WithLabelValues(m.Topic).Inc()
		rec.Kind = KindSkipped
		return false
	}
	if m.Topic == c.cfg.ReadRelay && m.Topic != "" {
		return c.decodeRelay(ctx, m, rec)
	}
	var err error
	switch m.Topic {
	case c.cfg.Topics.Content:
		rec.Kind = KindContent
		rec.Content, err = c.dec.DecodeContent(m.Value)
	case c.cfg.Topics.Reports:
		rec.Kind = KindReport
		rec.Report, err = c.dec.DecodeReport(m.Value)
	default:
		err = &event.DecodeError{Reason: event.ReasonUnknownSource, Err: fmt.Errorf("topic %q is not an input topic", m.Topic)}
	}
	if err == nil {
		rec.Hash()
		return true
	}
	reason := event.ReasonOf(err)
	if reason == "" {
		reason = event.ReasonInvalidJSON
	}
	var ts time.Time
	if c.refusals.wantTS(reason) {
		ts = c.eventTime(*m)
	}
	c.refusals.observe(c.dec.Now(), reason, ts)
	c.metrics.events.WithLabelValues(m.Topic, "invalid").Inc()
	c.metrics.failures.WithLabelValues(m.Topic, string(reason)).Inc()
	c.dlq.send(ctx, *m, reason, err, c.cfg.DeadLetterMaxBytes)
	*rec = Record{Source: rec.Source, Lag: rec.Lag, Kind: KindInvalid}
	return false
}

// decodeRelay decodes a record an aggregate process forwarded: already
// validated, it keeps its input coordinates (Source) and its own are Via.
// One that does not decode is dead-lettered, as any refused message is, with
// no input coordinates, so that the engine commits past it and counts it
// nowhere else.
func (c *Consumer) decodeRelay(ctx context.Context, m *kafka.Message, rec *Record) bool {
	relayLag := rec.Lag
	rec.Via = rec.Source
	if err := DecodeRelay(m.Value, rec); err != nil {
		c.metrics.events.WithLabelValues(m.Topic, "invalid").Inc()
		c.metrics.failures.WithLabelValues(m.Topic, string(event.ReasonInvalidRelay)).Inc()
		c.dlq.send(ctx, *m, event.ReasonInvalidRelay, err, c.cfg.DeadLetterMaxBytes)
		*rec = Record{Via: rec.Via, Lag: relayLag, Kind: KindInvalid}
		return false
	}
	// Behind on the relay is behind on the input, whatever the aggregate
	// process saw when it read the record.
	if relayLag > rec.Lag {
		rec.Lag = relayLag
	}
	return rec.Kind == KindContent || rec.Kind == KindReport
}

// eventTime decodes m without the event-time limits, for its ts; zero when
// it fails for another reason too.
func (c *Consumer) eventTime(m kafka.Message) time.Time {
	switch m.Topic {
	case c.cfg.Topics.Content:
		if ev, err := c.lenient.DecodeContent(m.Value); err == nil {
			return ev.TS
		}
	case c.cfg.Topics.Reports:
		if ev, err := c.lenient.DecodeReport(m.Value); err == nil {
			return ev.TS
		}
	}
	return time.Time{}
}

func lenientLimits(l event.Limits) event.Limits {
	l.MaxAge, l.MaxFuture = 0, 0
	return l
}

// Commit commits the last processed offset of each partition. Call it only once
// what was derived from those messages is durable.
func (c *Consumer) Commit(ctx context.Context, offsets []Offset) error {
	if len(offsets) == 0 {
		return nil
	}
	// Dead letters for these offsets must be written before the offsets move on.
	if err := c.dlq.flush(ctx); err != nil {
		return err
	}
	if err := c.checkSole(ctx); err != nil {
		c.metrics.commits.WithLabelValues("error").Inc()
		return fmt.Errorf("commit %d partition offsets: %w", len(offsets), err)
	}
	msgs := make([]kafka.Message, len(offsets))
	for i, o := range offsets {
		msgs[i] = kafka.Message{Topic: o.Topic, Partition: o.Partition, Offset: o.Offset}
	}
	if err := c.reader.CommitMessages(ctx, msgs...); err != nil {
		c.metrics.commits.WithLabelValues("error").Inc()
		return fmt.Errorf("commit %d partition offsets for group %s: %w", len(offsets), c.cfg.Group, err)
	}
	c.metrics.commits.WithLabelValues("ok").Inc()
	return nil
}

// Flush returns once the dead letters of every message decoded so far are on
// the dead-letter topic. What a checkpoint covers must be: a restart from it
// skips those messages and never refuses them again. Commit flushes too.
func (c *Consumer) Flush(ctx context.Context) error { return c.dlq.flush(ctx) }

// Close leaves the group and closes the dead-letter writer.
func (c *Consumer) Close() error {
	c.ends.close()
	return errors.Join(c.reader.Close(), c.dlq.close())
}
