package bench

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline"
	"github.com/trendwatch/trendwatch/sim/broker"
	"github.com/trendwatch/trendwatch/sim/gen"
	"github.com/trendwatch/trendwatch/sketches"
)

// BenchmarkKafkaToDetectors measures the whole consuming path on this machine:
// the embedded broker serving a kafka-go consumer group, decoding and
// validation, the sketch window, tracked terms, bucket closes and detectors.
// One op is one message (content or report); sinks are left out. It runs with
// term families (pipeline.families at its default) and without (0), the
// stream otherwise the same.
func BenchmarkKafkaToDetectors(b *testing.B) {
	for _, fams := range []struct {
		name string
		n    int
	}{{"on", pipeline.DefaultConfig().Families}, {"off", 0}} {
		b.Run("families="+fams.name, func(b *testing.B) { kafkaToDetectors(b, fams.n, 1) })
	}
	// One process of a sharded pipeline: what is left per event when three
	// quarters of the terms are another process's.
	b.Run("shard=0-of-4", func(b *testing.B) { kafkaToDetectors(b, pipeline.DefaultConfig().Families, 4) })
}

func kafkaToDetectors(b *testing.B, families, shards int) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	bc := broker.DefaultConfig()
	bc.Listen = "127.0.0.1:0"
	br, err := broker.Start(bc, log)
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()

	gc := gen.DefaultConfig()
	gc.Speedup = 0
	gc.Rate = 50
	// Enough event time for b.N messages (≈ 50 content events per second).
	gc.Duration = max(time.Hour, time.Duration(float64(b.N)/50*float64(time.Second)))
	gc.Start = time.Now().UTC().Add(-gc.Duration).Truncate(time.Minute)
	gr, err := gen.New(gc)
	if err != nil {
		b.Fatal(err)
	}
	icfg := ingest.DefaultConfig()
	icfg.Brokers = []string{br.Addr()}
	icfg.Limits.MaxAge = 0
	w, err := icfg.NewWriter("")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	batch := make([]kafka.Message, 0, 5000)
	produced := 0
	for produced < b.N {
		m, ok := gr.Next()
		if !ok {
			break
		}
		topic := icfg.Topics.Content
		if m.Topic == gen.Report {
			topic = icfg.Topics.Reports
		}
		batch = append(batch, kafka.Message{Topic: topic, Key: append([]byte(nil), m.Key...), Value: append([]byte(nil), m.Value...)})
		produced++
		if len(batch) == cap(batch) {
			if err := w.WriteMessages(ctx, batch...); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := w.WriteMessages(ctx, batch...); err != nil {
		b.Fatal(err)
	}
	w.Close()

	pcfg := pipeline.DefaultConfig()
	pcfg.Families = families
	pcfg.Shards = shards
	eng, err := pipeline.New(pcfg, sketches.DefaultWindowConfig(), detectors.DefaultConfig(), nil, log, nil)
	if err != nil {
		b.Fatal(err)
	}
	c, err := ingest.NewConsumer(icfg, log, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if parts, err := c.Partitions(ctx); err == nil {
		eng.Expect(parts)
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []ingest.Record, 16)
	go func() { _ = c.RunBatches(rctx, batches) }()
	b.ResetTimer()
	cpu0 := cpuTime()
	var busy time.Duration
	for n := 0; n < produced; {
		recs := <-batches
		t0 := time.Now()
		if err := eng.ProcessBatch(ctx, recs); err != nil {
			b.Fatal(err)
		}
		busy += time.Since(t0)
		n += len(recs)
	}
	b.StopTimer()
	// The share of the time the engine's goroutine was at work: near 1, it
	// is the bound; well below, the consumer is.
	b.ReportMetric(busy.Seconds()/b.Elapsed().Seconds(), "engine-busy")
	b.ReportMetric(float64(produced)/b.Elapsed().Seconds(), "msgs/s")
	// The process's CPU time per message, broker included: with the wall
	// time it says whether the cores were busy or the engine's goroutine
	// was the bound.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(produced), "cpu-ns/msg")
}
