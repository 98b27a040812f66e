package ingest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"

	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/sim/broker"
)

// TestHeartbeat: a heartbeat a second, or a third of the session timeout
// where that is shorter, as Kafka asks.
func TestHeartbeat(t *testing.T) {
	for _, tt := range []struct{ session, want time.Duration }{
		{30 * time.Second, time.Second}, // the default: kafka-go would send one every 3 s
		{6 * time.Second, time.Second},
		{3 * time.Second, time.Second},
		{time.Second, time.Second / 3}, // the least kafka.session_timeout may be
	} {
		c := DefaultConfig()
		c.SessionTimeout = tt.session
		if got := c.Heartbeat(); got != tt.want {
			t.Errorf("session timeout %v: heartbeat %v, want %v", tt.session, got, tt.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"default", func(*Config) {}, ""},
		{"no brokers", func(c *Config) { c.Brokers = nil }, "kafka.brokers"},
		{"broker without port", func(c *Config) { c.Brokers = []string{"localhost"} }, "kafka.brokers"},
		{"no group", func(c *Config) { c.Group = "" }, "kafka.group"},
		{"same topics", func(c *Config) { c.Topics.Reports = c.Topics.Content }, "kafka.topics.reports"},
		{"dlq is input", func(c *Config) { c.Topics.DeadLetter = c.Topics.Content }, "kafka.topics.dead_letter"},
		{"start offset", func(c *Config) { c.StartOffset = "middle" }, "kafka.start_offset"},
		{"tiny fetch", func(c *Config) { c.FetchMaxBytes = 10 }, "kafka.fetch_max_bytes"},
		{"sasl unknown", func(c *Config) { c.SASL.Mechanism = "gssapi" }, "kafka.sasl.mechanism"},
		{"sasl no user", func(c *Config) { c.SASL.Mechanism = "scram-sha-512" }, "kafka.sasl.username"},
		{"sasl no password", func(c *Config) { c.SASL.Mechanism = "plain"; c.SASL.Username = "u" }, "kafka.sasl.password"},
		{"tls half", func(c *Config) { c.TLS.CertFile = "x" }, "kafka.tls.cert_file"},
		{"limits", func(c *Config) { c.Limits.MaxHashtags = 0 }, "kafka.limits"},
		{"dead letters cut to nothing", func(c *Config) { c.DeadLetterMaxBytes = 0 }, "kafka.dead_letter_max_bytes"},
		{"dead letters larger than a batch", func(c *Config) { c.DeadLetterMaxBytes = 2 << 20 }, "kafka.dead_letter_max_bytes"},
		{"dead letters at the largest", func(c *Config) { c.DeadLetterMaxBytes = MaxDeadLetterBytes }, ""},
	}
	for _, tt := range tests {
		c := DefaultConfig()
		tt.mod(&c)
		err := c.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: got %v, want an error naming %s", tt.name, err, tt.want)
		}
	}
}

// TestShortMaxWaitWarns: kafka-go takes kafka.max_wait as its deadline for a
// fetch's answer, so a short one is said at start-up, naming the key.
func TestShortMaxWaitWarns(t *testing.T) {
	for _, tt := range []struct {
		wait time.Duration
		warn bool
	}{{50 * time.Millisecond, true}, {MinSafeMaxWait, false}, {DefaultConfig().MaxWait, false}} {
		var b strings.Builder
		cfg := DefaultConfig()
		cfg.Brokers = []string{"127.0.0.1:1"} // never dialled: the consumer is closed at once
		cfg.MaxWait = tt.wait
		c, err := NewConsumer(cfg, slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelWarn})), nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		if got := strings.Contains(b.String(), "kafka.max_wait="+tt.wait.String()); got != tt.warn {
			t.Errorf("kafka.max_wait %v: warned %v, want %v; log: %s", tt.wait, got, tt.warn, b.String())
		}
	}
}

func TestLogValueHidesPassword(t *testing.T) {
	c := DefaultConfig()
	c.SASL = SASL{Mechanism: "plain", Username: "u", Password: "s3cret-value"}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("cfg", "kafka", c)
	if strings.Contains(b.String(), "s3cret") {
		t.Fatalf("password in log line: %s", b.String())
	}
}

// startBroker runs the embedded Kafka-protocol broker; kafka-go talks to it over
// TCP exactly as to a real cluster.
func startBroker(t *testing.T) (*broker.Broker, Config) {
	t.Helper()
	bc := broker.DefaultConfig()
	bc.Listen = "127.0.0.1:0"
	bc.Partitions = 2
	b, err := broker.Start(bc, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	cfg := DefaultConfig()
	cfg.Brokers = []string{b.Addr()}
	cfg.Group = fmt.Sprintf("test-%d", time.Now().UnixNano())
	cfg.MaxWait = 250 * time.Millisecond
	return b, cfg
}

func produce(t *testing.T, cfg Config, topic string, values ...[]byte) {
	t.Helper()
	w, err := cfg.NewWriter(topic)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.BatchBytes = 16 << 20 // a producer of 10 MB messages, for the too_large dead letter
	msgs := make([]kafka.Message, len(values))
	for i, v := range values {
		msgs[i] = kafka.Message{Key: []byte(strconv.Itoa(i)), Value: v}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
}

func contentJSON(id int, ts time.Time, tags ...string) []byte {
	q := make([]string, len(tags))
	for i, s := range tags {
		q[i] = strconv.Quote(s)
	}
	return []byte(fmt.Sprintf(`{"event_id":"e%d","ts":%q,"content_id":"c%d","creator_id":"u%d","region":"np","lang":"ne","hashtags":[%s]}`,
		id, ts.Format(time.RFC3339), id, id, strings.Join(q, ",")))
}

// TestConsumerDeadLettersAndCommits feeds good and hostile messages through the
// real broker: good ones come out decoded, bad ones land in the dead-letter topic
// with their reason and source offset, nothing stalls, and a second consumer in
// the group resumes after the committed offsets.
func TestConsumerDeadLettersAndCommits(t *testing.T) {
	_, cfg := startBroker(t)
	now := time.Now().UTC()
	good := [][]byte{
		contentJSON(1, now, "#FYP", "#चुनौती"),
		contentJSON(2, now, "＃ＣＨＡＬＬＥＮＧＥ"),
		[]byte(fmt.Sprintf(`{"event_id":"r1","ts":%q,"content_id":"c1","reporter_id":"x","reason":"SPAM"}`, now.Format(time.RFC3339))),
	}
	bad := map[string][]byte{
		string(event.ReasonInvalidJSON):  []byte(`{"event_id":`),
		string(event.ReasonWrongType):    []byte(`{"event_id":"e9","ts":"2026-11-22T00:00:00Z","content_id":"c","creator_id":"u","hashtags":"x"}`),
		string(event.ReasonMissingField): []byte(`{"ts":"2026-11-22T00:00:00Z","content_id":"c","creator_id":"u"}`),
		string(event.ReasonInvalidUTF8):  []byte("{\"event_id\":\"\xff\xfe\"}"),
		string(event.ReasonTooLarge):     []byte(`{"event_id":"` + strings.Repeat("a", 10<<20) + `"}`),
		string(event.ReasonTSFuture):     contentJSON(3, now.Add(48*time.Hour), "ok"),
		string(event.ReasonControlChars): []byte(fmt.Sprintf(`{"event_id":"e4","ts":%q,"content_id":"c4","creator_id":"u\u0007"}`, now.Format(time.RFC3339))),
	}
	produce(t, cfg, cfg.Topics.Content, good[0], good[1])
	produce(t, cfg, cfg.Topics.Reports, good[2])
	var badValues [][]byte
	for _, v := range bad {
		badValues = append(badValues, v)
	}
	produce(t, cfg, cfg.Topics.Content, badValues...)

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := NewConsumer(cfg, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out := make(chan Record, 16)
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx, out) }()

	var contents, reports, invalid int
	last := map[string]map[int]int64{}
	for contents+reports+invalid < len(good)+len(bad) {
		select {
		case r := <-out:
			switch r.Kind {
			case KindContent:
				contents++
				if r.Content.Region != "NP" {
					t.Errorf("region not upper-cased: %q", r.Content.Region)
				}
			case KindReport:
				reports++
			case KindInvalid:
				invalid++
			}
			if last[r.Source.Topic] == nil {
				last[r.Source.Topic] = map[int]int64{}
			}
			if r.Source.Offset > last[r.Source.Topic][r.Source.Partition] || last[r.Source.Topic][r.Source.Partition] == 0 {
				last[r.Source.Topic][r.Source.Partition] = r.Source.Offset
			}
		case <-ctx.Done():
			t.Fatalf("got %d content, %d reports, %d invalid before timeout", contents, reports, invalid)
		}
	}
	if contents != 2 || reports != 1 || invalid != len(bad) {
		t.Fatalf("got %d content, %d reports, %d invalid; want 2, 1, %d", contents, reports, invalid, len(bad))
	}
	var offs []Offset
	for topic, parts := range last {
		for p, o := range parts {
			offs = append(offs, Offset{Topic: topic, Partition: p, Offset: o})
		}
	}
	if err := c.Commit(ctx, offs); err != nil {
		t.Fatal(err)
	}

	// Every bad message is in the dead-letter topic with its reason and source.
	reasons := map[string]bool{}
	for len(reasons) < len(bad) {
		m, err := readDeadLetters(ctx, cfg)
		if err != nil {
			t.Fatalf("dead-letter topic: %v (have %v)", err, reasons)
		}
		for _, mm := range m {
			h := headers(mm)
			reasons[h["trendwatch-reason"]] = true
			if h["trendwatch-source-topic"] != cfg.Topics.Content || h["trendwatch-source-offset"] == "" {
				t.Errorf("dead letter lacks its source: %v", h)
			}
			if len(mm.Value) > cfg.DeadLetterMaxBytes {
				t.Errorf("dead letter of %d bytes exceeds the %d limit", len(mm.Value), cfg.DeadLetterMaxBytes)
			}
		}
	}
	for r := range bad {
		if !reasons[r] {
			t.Errorf("no dead letter with reason %s (got %v)", r, reasons)
		}
	}
	cancel()
	if err := <-runErr; err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	// A new consumer in the same group starts after the committed offsets.
	produce(t, cfg, cfg.Topics.Content, contentJSON(10, now, "after"))
	c2, err := NewConsumer(cfg, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel2()
	out2 := make(chan Record, 16)
	go func() { _ = c2.Run(ctx2, out2) }()
	select {
	case r := <-out2:
		if r.Kind != KindContent || r.Content.EventID != "e10" {
			t.Fatalf("after restart got %+v, want only the new message e10", r)
		}
	case <-ctx2.Done():
		t.Fatal("no message after restart")
	}
}

// readDeadLetters reads every partition of the dead-letter topic from the start.
func readDeadLetters(ctx context.Context, cfg Config) ([]kafka.Message, error) {
	conn, err := kafka.DialContext(ctx, "tcp", cfg.Brokers[0])
	if err != nil {
		return nil, err
	}
	parts, err := conn.ReadPartitions(cfg.Topics.DeadLetter)
	conn.Close()
	if err != nil {
		return nil, err
	}
	var out []kafka.Message
	for _, p := range parts {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.Brokers, Topic: p.Topic, Partition: p.ID, MaxWait: 250 * time.Millisecond, MaxBytes: 16 << 20})
		for {
			rctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			m, err := r.ReadMessage(rctx)
			cancel()
			if err != nil {
				break
			}
			out = append(out, m)
		}
		r.Close()
	}
	return out, nil
}

func headers(m kafka.Message) map[string]string {
	h := map[string]string{}
	for _, x := range m.Headers {
		h[x.Key] = string(x.Value)
	}
	return h
}

// decodeConsumer is a Consumer whose dead letters stay in its queue, for tests of
// the decode path without a broker.
func decodeConsumer(t *testing.T) (*Consumer, *prometheus.Registry) {
	t.Helper()
	cfg := DefaultConfig()
	reg := prometheus.NewRegistry()
	m := newMetrics(reg, cfg)
	return newConsumer(cfg, slog.New(slog.DiscardHandler), nil, newDeadLetter(nil, slog.New(slog.DiscardHandler), m), m), reg
}

// TestDecodeKeepsPostWithoutBadHashtag: a hashtag that cannot be a term is
// left out and counted in trendwatch_ingest_hashtags_dropped_total, and the
// post counts with its other hashtags; it was dead-lettered whole, the
// challenge beside "#🔥" with it.
func TestDecodeKeepsPostWithoutBadHashtag(t *testing.T) {
	c, reg := decodeConsumer(t)
	topic := c.cfg.Topics.Content
	rec := c.decode(context.Background(), kafka.Message{Topic: topic, Value: contentJSON(1, time.Now().UTC(), "#blackoutchallenge", "#🔥", "#"+strings.Repeat("x", 5000))})
	if rec.Kind != KindContent || !slices.Equal(rec.Content.Hashtags, []string{"blackoutchallenge"}) {
		t.Fatalf("record kind %d, hashtags %q; want the post with #blackoutchallenge", rec.Kind, rec.Content.Hashtags)
	}
	if n := len(c.dlq.ch); n != 0 {
		t.Errorf("%d dead letters, want none", n)
	}
	for reason, want := range map[event.Reason]float64{event.ReasonInvalidTag: 1, event.ReasonTagTooLong: 1, event.ReasonControlChars: 0} {
		if got := testutil.ToFloat64(c.metrics.tagsDropped.WithLabelValues(string(reason))); got != want {
			t.Errorf("hashtags_dropped_total{reason=%s} = %v, want %v", reason, got, want)
		}
	}
	if n, err := testutil.GatherAndCount(reg, "trendwatch_ingest_hashtags_dropped_total"); err != nil || n != 3 {
		t.Errorf("%d series of trendwatch_ingest_hashtags_dropped_total (%v), want 3", n, err)
	}
}

func TestDecodeTombstonesAndEmpty(t *testing.T) {
	tests := []struct {
		name      string
		value     []byte
		kind      Kind
		reason    event.Reason // of the dead letter; "" for none
		tombstone float64
	}{
		{"tombstone", nil, KindSkipped, "", 1},
		{"empty", []byte{}, KindInvalid, event.ReasonEmpty, 0},
		{"whitespace", []byte(" "), KindInvalid, event.ReasonInvalidJSON, 0},
		{"JSON null", []byte("null"), KindInvalid, event.ReasonMissingField, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := decodeConsumer(t)
			topic := c.cfg.Topics.Content
			rec := c.decode(context.Background(), kafka.Message{Topic: topic, Partition: 1, Offset: 7, Key: []byte("k"), Value: tt.value})
			if rec.Kind != tt.kind || rec.Source.Offset != 7 {
				t.Fatalf("record kind %d offset %d, want kind %d offset 7", rec.Kind, rec.Source.Offset, tt.kind)
			}
			if got := testutil.ToFloat64(c.metrics.tombstones.WithLabelValues(topic)); got != tt.tombstone {
				t.Errorf("tombstones_total = %v, want %v", got, tt.tombstone)
			}
			if tt.reason == "" {
				if n := len(c.dlq.ch); n != 0 {
					t.Fatalf("%d dead letters, want none", n)
				}
				if got := testutil.ToFloat64(c.metrics.events.WithLabelValues(topic, "invalid")); got != 0 {
					t.Errorf("events_total{result=invalid} = %v, want 0", got)
				}
				return
			}
			dl := (<-c.dlq.ch).msg
			if h := headers(dl); h["trendwatch-reason"] != string(tt.reason) {
				t.Errorf("dead-letter reason %q, want %q", h["trendwatch-reason"], tt.reason)
			}
			if dl.Value == nil || string(dl.Value) != string(tt.value) {
				t.Errorf("dead-letter value %#v, want %#v (never nil: that would be a tombstone)", dl.Value, tt.value)
			}
			if got := testutil.ToFloat64(c.metrics.failures.WithLabelValues(topic, string(tt.reason))); got != 1 {
				t.Errorf("decode_failures_total{reason=%s} = %v, want 1", tt.reason, got)
			}
		})
	}
}

func TestDeadLetterKeepsHeaders(t *testing.T) {
	c, _ := decodeConsumer(t)
	orig := []kafka.Header{
		{Key: "traceparent", Value: []byte("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")},
		{Key: "producer", Value: []byte("upload-svc")},
		{Key: "trendwatch-reason", Value: []byte("stale")}, // a replayed dead letter
		{Key: "producer", Value: []byte("second")},         // repeats are kept
		{Key: "empty", Value: nil},
	}
	c.decode(context.Background(), kafka.Message{Topic: c.cfg.Topics.Reports, Offset: 3, Value: []byte(`{"event_id":`), Headers: orig})
	dl := (<-c.dlq.ch).msg
	var got []string
	for _, h := range dl.Headers {
		got = append(got, h.Key+"="+string(h.Value))
	}
	want := []string{
		"traceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "producer=upload-svc", "producer=second", "empty=",
		"trendwatch-reason=invalid_json",
	}
	if len(got) < len(want)+5 || !reflect.DeepEqual(got[:len(want)], want) {
		t.Fatalf("dead-letter headers\n%q\nwant them to start with\n%q\nand hold the other five trendwatch-* once", got, want)
	}
	seen := map[string]int{}
	for _, h := range dl.Headers {
		seen[h.Key]++
	}
	for _, k := range []string{"trendwatch-reason", "trendwatch-error", "trendwatch-source-topic", "trendwatch-source-partition", "trendwatch-source-offset", "trendwatch-original-bytes"} {
		if seen[k] != 1 {
			t.Errorf("header %s appears %d times, want once", k, seen[k])
		}
	}
}

// TestConsumerTombstonesAndHeaders runs tombstones, an empty message and headers
// through the real broker and kafka-go.
func TestConsumerTombstonesAndHeaders(t *testing.T) {
	_, cfg := startBroker(t)
	now := time.Now().UTC()
	w, err := cfg.NewWriter(cfg.Topics.Content)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = w.WriteMessages(ctx,
		kafka.Message{Key: []byte("c1"), Value: nil},      // tombstone
		kafka.Message{Key: []byte("c2"), Value: []byte{}}, // empty
		kafka.Message{Key: []byte("c3"), Value: []byte(`{"event_id":`), Headers: []kafka.Header{{Key: "traceparent", Value: []byte("tp-1")}}},
		kafka.Message{Key: []byte("c4"), Value: contentJSON(4, now, "ok")},
	)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	c, err := NewConsumer(cfg, slog.New(slog.DiscardHandler), reg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out := make(chan Record, 16)
	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	go func() { _ = c.Run(rctx, out) }()
	kinds := map[Kind]int{}
	for range 4 {
		select {
		case r := <-out:
			kinds[r.Kind]++
		case <-ctx.Done():
			t.Fatalf("records by kind before timeout: %v", kinds)
		}
	}
	// kafka-go v0.4.51 reads a zero-length value as nil, so the empty message
	// arrives as a tombstone. Should this change, it arrives as a non-nil empty
	// slice and is dead-lettered as "empty": then expect 1 skipped, 2 invalid.
	if kinds[KindSkipped] != 2 || kinds[KindInvalid] != 1 || kinds[KindContent] != 1 {
		t.Fatalf("records by kind %v; want 2 skipped, 1 invalid, 1 content", kinds)
	}
	if got := testutil.ToFloat64(c.metrics.tombstones.WithLabelValues(cfg.Topics.Content)); got != 2 {
		t.Errorf("tombstones_total = %v, want 2", got)
	}
	if err := c.dlq.flush(ctx); err != nil {
		t.Fatal(err)
	}
	dls, err := readDeadLetters(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dls))
	}
	if h := headers(dls[0]); h["traceparent"] != "tp-1" || h["trendwatch-reason"] != string(event.ReasonInvalidJSON) {
		t.Errorf("dead-letter headers %v lack the original traceparent or the reason", h)
	}
}
