//go:build integration

package faults

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/trendwatch/trendwatch/internal/testenv"
)

// badInput is one message that breaks the event contract and the reason it
// must be dead-lettered with.
type badInput struct {
	name   string
	reason string
	topic  string
	value  []byte
}

func badInputs(now time.Time) []badInput {
	ts := now.Format(time.RFC3339)
	content := func(fields string) []byte {
		return []byte(`{"event_id":"bad","ts":"` + ts + `","content_id":"c-bad","creator_id":"u1"` + fields + `}`)
	}
	tags := func(n int, tag string) string {
		q := make([]string, n)
		for i := range q {
			q[i] = strconv.Quote(fmt.Sprint(tag, i))
		}
		return `,"hashtags":[` + strings.Join(q, ",") + `]`
	}
	return []badInput{
		{"invalid JSON", "invalid_json", contentTopic, []byte(`{"event_id":"e1","ts":`)},
		{"wrong type", "wrong_type", contentTopic, content(`,"hashtags":"#notalist"`)},
		{"missing field", "missing_field", contentTopic, []byte(`{"ts":"` + ts + `","content_id":"c","creator_id":"u"}`)},
		{"invalid UTF-8", "invalid_utf8", contentTopic, content(`,"text":"` + "\xff\xfe" + `"`)},
		{"10 MB message", "too_large", contentTopic, content(`,"text":"` + strings.Repeat("x", 10<<20) + `"`)},
		{"10 000 hashtags on one post", "too_many_hashtags", contentTopic, content(tags(10000, "t"))},
		{"timestamp far in the future", "ts_in_future", contentTopic,
			[]byte(`{"event_id":"f","ts":"2100-01-01T00:00:00Z","content_id":"c","creator_id":"u"}`)},
		{"timestamp far in the past", "ts_too_old", contentTopic,
			[]byte(`{"event_id":"p","ts":"2000-01-01T00:00:00Z","content_id":"c","creator_id":"u"}`)},
		{"control characters", "control_characters", contentTopic, content(`,"region":"NP","lang":"ne\u0007"`)},
		{"report with a wrong type", "wrong_type", reportTopic,
			[]byte(`{"event_id":"r","ts":"` + ts + `","content_id":"c","reporter_id":42,"reason":"spam"}`)},
	}
}

// TestBadInput sends one message of each kind of bad input, between good
// ones, into the partitions the pipeline reads. Each must land in the
// dead-letter topic with its reason and source offset and be counted in
// /metrics; the partition must go on, and the good messages after the bad
// ones must be counted in ClickHouse.
func TestBadInput(t *testing.T) {
	t.Parallel()
	chAddr := testenv.ClickHouse(t)
	b := startBroker(t, freeAddr(t), t.TempDir())
	cfg := newRunConfig(t, b.addr, chAddr)
	const tag = "hashtag:afterbad"
	cfg.extra = append(cfg.extra, "TRENDWATCH_DETECTORS_WATCHLIST_TERMS="+tag,
		// The default: a week. This stream is of now, and a week-old
		// timestamp is one of the bad inputs.
		"TRENDWATCH_KAFKA_LIMITS_MAX_AGE=168h")
	cfg.migrate(t)
	p := cfg.start(t, "run")

	// Every message to partition 0 of its topic, in order, so offsets are
	// known and the bad ones sit between good ones in one partition.
	now := time.Now().UTC()
	// Far enough back that the sentinel closing the good messages' bucket
	// (6 minutes on) is behind the clock: live, event time runs at most
	// pipeline.max_ahead ahead of it.
	bucket := now.Add(-9 * time.Minute).Truncate(time.Minute)
	good := func(i int) []byte {
		return []byte(fmt.Sprintf(`{"event_id":"g%d","ts":%q,"content_id":"c%d","creator_id":"u%d","region":"NP","lang":"ne","hashtags":["#AfterBad","#चुनौती"]}`,
			i, bucket.Add(time.Duration(i)*time.Second).Format(time.RFC3339), i, i))
	}
	var msgs []kafka.Message
	offsets := map[string]int64{} // topic → next offset
	want := map[string]badInput{} // topic/offset → the bad input there
	add := func(topic string, v []byte) int64 {
		o := offsets[topic]
		offsets[topic]++
		msgs = append(msgs, kafka.Message{Topic: topic, Key: []byte("k"), Value: v})
		return o
	}
	n := 0
	for _, bad := range badInputs(now) {
		n++
		add(contentTopic, good(n))
		o := add(bad.topic, bad.value)
		want[fmt.Sprintf("%s/0/%d", bad.topic, o)] = bad
	}
	for range 4 {
		n++
		add(contentTopic, good(n))
	}
	w := &kafka.Writer{
		Addr:         kafka.TCP(b.addr),
		Transport:    &kafka.Transport{},
		Balancer:     kafka.BalancerFunc(func(kafka.Message, ...int) int { return 0 }),
		BatchTimeout: time.Millisecond,
		BatchBytes:   16 << 20,
		RequiredAcks: kafka.RequireAll,
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// One message at a time, so each lands at the offset counted for it.
	for _, m := range msgs {
		if err := w.WriteMessages(ctx, m); err != nil {
			t.Fatalf("produce %.60q: %v", m.Value, err)
		}
	}
	sentinel(t, b.addr, bucket.Add(6*time.Minute))
	waitFor(t, 60*time.Second, "the bucket of the good messages to close", func() (bool, error) {
		if !p.running() {
			t.Fatalf("trendwatch run exited on bad input: %v\n%s", p.err, p.tail(30))
		}
		m, err := scrape(cfg.metrics)
		return err == nil && m.sum("trendwatch_pipeline_watermark_seconds") >= float64(bucket.Add(6*time.Minute).Unix()), err
	})
	m, err := scrape(cfg.metrics)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]int{}
	for _, bad := range want {
		reasons[bad.topic+"|"+bad.reason]++
	}
	for k, n := range reasons {
		topic, reason, _ := strings.Cut(k, "|")
		if got := m.sum("trendwatch_ingest_decode_failures_total", `topic="`+topic+`"`, `reason="`+reason+`"`); got != float64(n) {
			t.Errorf("trendwatch_ingest_decode_failures_total{topic=%q,reason=%q} = %v, want %d", topic, reason, got, n)
		}
	}
	if got := m.sum("trendwatch_ingest_decode_failures_total"); got != float64(len(want)) {
		t.Errorf("trendwatch_ingest_decode_failures_total sums to %v, want %d", got, len(want))
	}
	if err := p.stop(60 * time.Second); err != nil {
		t.Fatalf("clean shutdown: %v", err)
	}

	dead := readDeadLetters(t, b.addr)
	if len(dead) != len(want) {
		t.Errorf("%d dead letters, want one per bad input (%d)", len(dead), len(want))
	}
	for _, d := range dead {
		h := map[string]string{}
		for _, x := range d.Headers {
			h[x.Key] = string(x.Value)
		}
		at := h["trendwatch-source-topic"] + "/" + h["trendwatch-source-partition"] + "/" + h["trendwatch-source-offset"]
		bad, ok := want[at]
		if !ok {
			t.Errorf("dead letter from %s, where no bad input was sent (reason %s)", at, h["trendwatch-reason"])
			continue
		}
		delete(want, at)
		if h["trendwatch-reason"] != bad.reason {
			t.Errorf("%s: dead letter reason %q, want %q (error %q)", bad.name, h["trendwatch-reason"], bad.reason, h["trendwatch-error"])
		}
		if h["trendwatch-original-bytes"] != strconv.Itoa(len(bad.value)) {
			t.Errorf("%s: trendwatch-original-bytes %q, want %d", bad.name, h["trendwatch-original-bytes"], len(bad.value))
		}
		if len(d.Value) > 64<<10 {
			t.Errorf("%s: dead letter holds %d bytes, more than kafka.dead_letter_max_bytes", bad.name, len(d.Value))
		}
		t.Logf("%-28s → %s at %s, %s bytes (%d kept)", bad.name, h["trendwatch-reason"], at, h["trendwatch-original-bytes"], len(d.Value))
	}
	for at, bad := range want {
		t.Errorf("%s (%s): no dead letter", bad.name, at)
	}

	conn, err := dial(chAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var (
		mentions uint64
		exact    uint8
	)
	err = conn.QueryRow(context.Background(), "SELECT mentions, exact FROM `"+cfg.database+
		"`.term_history WHERE term = ? AND bucket = ?", tag, bucket).Scan(&mentions, &exact)
	if err != nil {
		t.Fatalf("%s at %s: %v", tag, bucket.Format("15:04"), err)
	}
	if mentions != uint64(n) || exact != 1 {
		t.Errorf("%s at %s: %d mentions (exact=%d), want all %d good messages, exact", tag, bucket.Format("15:04"), mentions, exact, n)
	}
	t.Logf("%d bad inputs dead-lettered; the %d good messages around them counted: %s = %d, exact", len(badInputs(now)), n, tag, mentions)
}

// readDeadLetters reads the whole dead-letter topic.
func readDeadLetters(t *testing.T, addr string) []kafka.Message {
	t.Helper()
	var out []kafka.Message
	for p := 0; p < partitions; p++ {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, Topic: deadTopic, Partition: p, MaxBytes: 16 << 20, MaxWait: 100 * time.Millisecond})
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			m, err := r.ReadMessage(ctx)
			cancel()
			if err != nil {
				break
			}
			out = append(out, m)
		}
		r.Close()
	}
	return out
}
