package ingest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
)

// BenchmarkConsumerDecode is the consumer's whole decode path for one content
// message as kafka-go hands it over: lag gauge, decode, validate, normalise, the
// events counter.
func BenchmarkConsumerDecode(b *testing.B) {
	cfg := DefaultConfig()
	m := newMetrics(prometheus.NewRegistry(), cfg)
	c := newConsumer(cfg, slog.New(slog.DiscardHandler), nil, newDeadLetter(nil, slog.New(slog.DiscardHandler), m), m)
	// The consumer checks ts against the wall clock.
	ts := time.Now().Add(-30 * time.Second).UTC().Format(time.RFC3339Nano)
	msg := kafka.Message{
		Topic: cfg.Topics.Content, Partition: 3, Offset: 1 << 20, HighWaterMark: 1<<20 + 500,
		Key: []byte("7375621843920012345"),
		Value: []byte(`{"event_id":"01J0ZQ8K7W3D5N6P9R2T4V6X8Z","ts":"` + ts + `",` +
			`"content_id":"7375621843920012345","creator_id":"u_6632871920","region":"np","lang":"ne",` +
			`"hashtags":["#fyp","#Nepal","#चुनौती","#dance","#TrendingNow"],` +
			`"challenge_id":"ch_88231","sound_id":"snd_1029384756",` +
			`"text":"नयाँ नृत्य चुनौती! Try it 🔥 #fyp #Nepal #चुनौती"}`),
	}
	ctx := context.Background()
	if rec := c.decode(ctx, msg); rec.Kind != KindContent {
		b.Fatalf("decoded as %v, want content", rec.Kind)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(msg.Value)))
	for b.Loop() {
		if rec := c.decode(ctx, msg); rec.Kind != KindContent {
			b.Fatal(rec.Kind)
		}
	}
}
