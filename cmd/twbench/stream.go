package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline"
	"github.com/trendwatch/trendwatch/sim/broker"
	"github.com/trendwatch/trendwatch/sim/gen"
	"github.com/trendwatch/trendwatch/sketches"
)

// stream is the generated stream, in the embedded broker and, its first
// messages, in memory for the per-event rows.
type stream struct {
	br          *broker.Broker
	addr        string
	partitions  int
	produced    int
	content     int
	reports     int
	produceTook time.Duration
	// sample holds the first content messages' values, in stream order.
	sample [][]byte
}

func (s *stream) close() { s.br.Close() }

// startStream starts the embedded broker on a free loopback port and produces
// cfg.events messages of the generator's default platform (every scenario) to
// its topics, as fast as it takes them.
func startStream(ctx context.Context, cfg config, log *slog.Logger) (*stream, error) {
	bc := broker.DefaultConfig()
	bc.Listen = "127.0.0.1:0"
	br, err := broker.Start(bc, log)
	if err != nil {
		return nil, err
	}
	s := &stream{br: br, addr: br.Addr(), partitions: bc.Partitions}
	if err := s.produce(ctx, cfg); err != nil {
		br.Close()
		return nil, err
	}
	return s, nil
}

func (s *stream) produce(ctx context.Context, cfg config) error {
	g, err := gen.New(streamConfig(cfg.events))
	if err != nil {
		return fmt.Errorf("generator: %w", err)
	}
	icfg := ingest.DefaultConfig()
	icfg.Brokers = []string{s.addr}
	w, err := icfg.NewWriter("")
	if err != nil {
		return err
	}
	defer w.Close()
	began := time.Now()
	batch := make([]kafka.Message, 0, 5000)
	flush := func() error {
		if err := w.WriteMessages(ctx, batch...); err != nil {
			return fmt.Errorf("produce: %w", err)
		}
		batch = batch[:0]
		return nil
	}
	for s.produced < cfg.events {
		m, ok := g.Next()
		if !ok {
			break
		}
		topic := icfg.Topics.Content
		if m.Topic == gen.Report {
			topic, s.reports = icfg.Topics.Reports, s.reports+1
		} else {
			s.content++
			if len(s.sample) < cfg.sample {
				s.sample = append(s.sample, append([]byte(nil), m.Value...))
			}
		}
		batch = append(batch, kafka.Message{Topic: topic, Key: append([]byte(nil), m.Key...), Value: append([]byte(nil), m.Value...)})
		s.produced++
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	s.produceTook = time.Since(began)
	return nil
}

// microRow is one per-event row.
type microRow struct {
	what, how  string
	ns, allocs float64
}

// streamConfig is the generator's default platform, every scenario, with
// event time enough for n messages at about 50 content events a second, ending
// at the last whole minute so the events are of today.
func streamConfig(n int) gen.Config {
	gc := gen.DefaultConfig()
	gc.Speedup = 0
	gc.Duration = max(time.Hour, time.Duration(float64(n)/50*float64(time.Second))).Truncate(time.Minute)
	gc.Start = time.Now().UTC().Add(-gc.Duration).Truncate(time.Minute)
	return gc
}

// measureMicro measures decoding, normalising and the engine on the sample.
func measureMicro(r *report, s *stream, profile string) error {
	if len(s.sample) == 0 {
		return fmt.Errorf("the stream has no content events")
	}
	dec := event.Decoder{Limits: replayLimits()}
	res := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := dec.DecodeContent(s.sample[i%len(s.sample)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	r.micro = append(r.micro, microRow{what: "decode + validate + normalise a content event", how: "event.Decoder.DecodeContent round and round over the sample",
		ns: float64(res.NsPerOp()), allocs: float64(res.AllocsPerOp())})

	// The hashtags as users typed them, for NormaliseHashtag alone.
	var raw []string
	for _, v := range s.sample {
		var m struct{ Hashtags []string }
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("sample: %w", err)
		}
		raw = append(raw, m.Hashtags...)
	}
	if len(raw) > 0 {
		max := event.DefaultLimits().MaxHashtagRunes
		res = testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := event.NormaliseHashtag(raw[i%len(raw)], max); err != nil {
					b.Fatal(err)
				}
			}
		})
		r.micro = append(r.micro, microRow{what: "normalise a hashtag", how: "event.NormaliseHashtag on the sample's hashtags as typed",
			ns: float64(res.NsPerOp()), allocs: float64(res.AllocsPerOp())})
	}

	row, err := measureEngine(s.sample, profile)
	if err != nil {
		return err
	}
	r.micro = append(r.micro, row)
	return nil
}

// measureEngine processes the sample's content events once, in stream order,
// through a fresh engine with the default configuration: counting, tracking,
// the bucket closes and the detectors, amortised over the events.
func measureEngine(sample [][]byte, profile string) (microRow, error) {
	dec := event.Decoder{Limits: replayLimits()}
	recs := make([]ingest.Record, 0, len(sample))
	for _, v := range sample {
		c, err := dec.DecodeContent(v)
		if err != nil {
			continue // late-arriving copies the generator makes are still valid; nothing else fails
		}
		rec := ingest.Record{Kind: ingest.KindContent, Content: c, Lag: -1}
		rec.Hash() // as the consumer's decoders do, off the engine's goroutine
		recs = append(recs, rec)
	}
	eng, err := pipeline.New(pipeline.DefaultConfig(), sketches.DefaultWindowConfig(), detectors.DefaultConfig(), nil, nil, nil)
	if err != nil {
		return microRow{}, err
	}
	ctx := context.Background()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return microRow{}, fmt.Errorf("engine profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return microRow{}, fmt.Errorf("engine profile: %w", err)
		}
	}
	began := time.Now()
	if err := eng.ProcessBatch(ctx, recs); err != nil {
		return microRow{}, err
	}
	took := time.Since(began)
	if profile != "" {
		pprof.StopCPUProfile()
		// And where the engine allocated, beside it.
		f, err := os.Create(profile + ".allocs")
		if err != nil {
			return microRow{}, fmt.Errorf("engine profile: %w", err)
		}
		defer f.Close()
		runtime.GC() // the profile is as of the last collection
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return microRow{}, fmt.Errorf("engine profile: %w", err)
		}
	}
	runtime.ReadMemStats(&after)
	n := float64(len(recs))
	return microRow{what: "engine per content event", how: fmt.Sprintf("a fresh pipeline.Engine, defaults, over the sample's %d content events once: bucket closes and detectors included; their IDs hashed beforehand, as the consumer's decoders do", len(recs)),
		ns: float64(took.Nanoseconds()) / n, allocs: float64(after.Mallocs-before.Mallocs) / n}, nil
}

// replayLimits are the decoder's limits of trendwatch run --replay.
func replayLimits() event.Limits {
	l := event.DefaultLimits()
	l.MaxAge, l.MaxFuture = 0, 0
	return l
}
