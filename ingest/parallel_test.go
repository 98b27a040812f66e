package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
)

// fakeReader hands out msgs, then blocks until ctx ends (or fails with err).
type fakeReader struct {
	mu   sync.Mutex
	msgs []kafka.Message
	err  error
}

func (f *fakeReader) FetchMessage(ctx context.Context) (kafka.Message, error) {
	f.mu.Lock()
	if len(f.msgs) > 0 {
		m := f.msgs[0]
		f.msgs = f.msgs[1:]
		f.mu.Unlock()
		return m, nil
	}
	err := f.err
	f.mu.Unlock()
	if err != nil {
		return kafka.Message{}, err
	}
	<-ctx.Done()
	return kafka.Message{}, ctx.Err()
}

func (f *fakeReader) CommitMessages(context.Context, ...kafka.Message) error { return nil }
func (f *fakeReader) Close() error                                           { return nil }

// fakeStream is n messages over three partitions of each input topic, every
// seventh one refused, every eleventh a tombstone; some behind their
// partition's end, so batches both fill and get cut.
func fakeStream(cfg Config, n int) []kafka.Message {
	now := time.Now().UTC()
	msgs := make([]kafka.Message, n)
	offsets := map[string]int64{}
	for i := range msgs {
		topic := cfg.Topics.Content
		if i%5 == 0 {
			topic = cfg.Topics.Reports
		}
		part := i % 3
		k := fmt.Sprint(topic, part)
		off := offsets[k]
		offsets[k]++
		m := kafka.Message{Topic: topic, Partition: part, Offset: off, HighWaterMark: off + 1 + int64(i%4)}
		switch {
		case i%7 == 0:
			m.Value = []byte(`{"event_id":`)
		case i%11 == 0:
			m.Value = nil
		case topic == cfg.Topics.Reports:
			m.Value = []byte(fmt.Sprintf(`{"event_id":"r%d","ts":%q,"content_id":"c%d","reporter_id":"x","reason":"spam"}`, i, now.Format(time.RFC3339), i))
		default:
			m.Value = contentJSON(i, now, "#Tag"+fmt.Sprint(i%13))
		}
		msgs[i] = m
	}
	return msgs
}

// TestRunBatchesKeepsFetchOrder: whatever the number of decoders, records
// come out in exactly the order their messages were fetched, each decoded as
// one goroutine decodes it, and accepted messages are counted.
func TestRunBatchesKeepsFetchOrder(t *testing.T) {
	for _, decoders := range []int{1, 4} {
		t.Run(fmt.Sprint("decoders=", decoders), func(t *testing.T) {
			// A broker only for the dead letters; the messages come from the fake.
			_, cfg := startBroker(t)
			cfg.Decoders = decoders
			msgs := fakeStream(cfg, 3000)
			reg := prometheus.NewRegistry()
			m := newMetrics(reg, cfg)
			log := slog.New(slog.DiscardHandler)
			w, err := cfg.NewWriter(cfg.Topics.DeadLetter)
			if err != nil {
				t.Fatal(err)
			}
			dlq := newDeadLetter(w, log, m)
			c := newConsumer(cfg, log, &fakeReader{msgs: append([]kafka.Message(nil), msgs...)}, dlq, m)
			defer c.Close()
			// The reference: the one-message path, on its own consumer.
			ref := newConsumer(cfg, log, nil, newDeadLetter(nil, log, newMetrics(nil, cfg)), newMetrics(nil, cfg))

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out := make(chan []Record, 2)
			done := make(chan error, 1)
			go func() { done <- c.RunBatches(ctx, out) }()
			var got []Record
			for len(got) < len(msgs) {
				select {
				case recs := <-out:
					got = append(got, recs...)
				case <-ctx.Done():
					t.Fatalf("%d of %d records before the deadline", len(got), len(msgs))
				}
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("RunBatches: %v", err)
			}
			var accepted float64
			for i, m := range msgs {
				want := ref.decode(context.Background(), m)
				if got[i].Source != want.Source || got[i].Kind != want.Kind || got[i].Lag != want.Lag ||
					got[i].Content.EventID != want.Content.EventID || got[i].Report.EventID != want.Report.EventID {
					t.Fatalf("record %d: got %+v, want %+v", i, got[i].Source, want.Source)
				}
				if want.Kind == KindContent || want.Kind == KindReport {
					accepted++
				}
			}
			ok := testutil.ToFloat64(m.events.WithLabelValues(cfg.Topics.Content, "ok")) + testutil.ToFloat64(m.events.WithLabelValues(cfg.Topics.Reports, "ok"))
			if ok != accepted {
				t.Errorf("events_total ok = %v, want %v", ok, accepted)
			}
			if err := dlq.flush(context.Background()); err != nil {
				t.Errorf("dead letters: %v", err)
			}
		})
	}
}

// TestRunBatchesFetchError: a reader that fails for good ends RunBatches with
// the error, after everything fetched before it was sent on.
func TestRunBatchesFetchError(t *testing.T) {
	_, cfg := startBroker(t)
	cfg.Decoders = 3
	msgs := fakeStream(cfg, 100)
	m := newMetrics(nil, cfg)
	log := slog.New(slog.DiscardHandler)
	boom := errors.New("boom")
	w, err := cfg.NewWriter(cfg.Topics.DeadLetter)
	if err != nil {
		t.Fatal(err)
	}
	c := newConsumer(cfg, log, &fakeReader{msgs: msgs, err: boom}, newDeadLetter(w, log, m), m)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := make(chan []Record, 1000)
	err = c.RunBatches(ctx, out)
	if !errors.Is(err, boom) {
		t.Fatalf("RunBatches = %v, want the fetch error", err)
	}
	n := 0
	for len(out) > 0 {
		n += len(<-out)
	}
	if n != len(msgs) {
		t.Errorf("%d records sent before the error, want %d", n, len(msgs))
	}
}
