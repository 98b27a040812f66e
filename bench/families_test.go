package bench

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline"
	"github.com/trendwatch/trendwatch/sim/gen"
	"github.com/trendwatch/trendwatch/sketches"
)

// familyStreams are the streams BenchmarkFamilies replays, built once.
var familyStreams = sync.OnceValues(func() (map[string][]ingest.Record, error) {
	generated, err := generatedRecords(300_000)
	if err != nil {
		return nil, err
	}
	return map[string][]ingest.Record{"generated": generated, "oneoff": oneOffRecords(240_000)}, nil
})

// BenchmarkFamilies measures what term families cost the engine: the same
// stream through a fresh engine at its defaults, once with families
// (pipeline.families at its default) and once without (0). One op is the
// whole stream; events/s is the figure to compare.
//
//   - generated: the generator's default platform (200 k hashtags, their
//     misspelt and Devanagari variants, every scenario), content and reports,
//     decoded and hashed beforehand, as make bench replays it.
//   - oneoff: the pessimistic case, 240 k posts each with two long hashtags
//     seen nowhere else and one common one: every family key is computed
//     afresh and nearly every family is new.
func BenchmarkFamilies(b *testing.B) {
	streams, err := familyStreams()
	if err != nil {
		b.Fatal(err)
	}
	// The first engine of a process pays for the heap the window's sketches
	// grow into (a second of page faults on this stream); whichever
	// sub-benchmark came first would be the slower. One untimed pass first.
	warm, err := pipeline.New(pipeline.DefaultConfig(), sketches.DefaultWindowConfig(), detectors.DefaultConfig(), nil, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := warm.ProcessBatch(context.Background(), streams["generated"]); err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"generated", "oneoff"} {
		recs := streams[name]
		for _, fams := range []struct {
			name string
			n    int
		}{{"on", pipeline.DefaultConfig().Families}, {"off", 0}} {
			b.Run(name+"/families="+fams.name, func(b *testing.B) {
				cfg := pipeline.DefaultConfig()
				cfg.Families = fams.n
				ctx := context.Background()
				b.ReportAllocs()
				var cpu time.Duration
				for range b.N {
					b.StopTimer()
					e, err := pipeline.New(cfg, sketches.DefaultWindowConfig(), detectors.DefaultConfig(), nil, nil, nil)
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					cpu0 := cpuTime()
					if err := e.ProcessBatch(ctx, recs); err != nil {
						b.Fatal(err)
					}
					cpu += cpuTime() - cpu0
				}
				n := float64(b.N * len(recs))
				b.ReportMetric(n/b.Elapsed().Seconds(), "events/s")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/event")
				// CPU time, the garbage collector's on the other core included,
				// moves less than wall time with what else the machine runs.
				b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/event")
			})
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// generatedRecords decodes the first n messages of the generator's default
// platform.
func generatedRecords(n int) ([]ingest.Record, error) {
	return generatedRecordsAt(n, gen.DefaultConfig().Rate)
}

// generatedRecordsAt decodes the first n messages of the generator's default
// platform at rate posts a second of event time.
func generatedRecordsAt(n int, rate float64) ([]ingest.Record, error) {
	gc := gen.DefaultConfig()
	gc.Speedup = 0
	gc.Rate = rate
	gc.Duration = time.Duration(float64(n)/gc.Rate*float64(time.Second)) + time.Hour
	gc.Start = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	g, err := gen.New(gc)
	if err != nil {
		return nil, err
	}
	l := event.DefaultLimits()
	l.MaxAge, l.MaxFuture = 0, 0
	dec := event.Decoder{Limits: l}
	recs := make([]ingest.Record, 0, n)
	for len(recs) < n {
		m, ok := g.Next()
		if !ok {
			break
		}
		src := ingest.Source{Topic: "content-events", Offset: int64(len(recs))}
		if m.Topic == gen.Report {
			src.Topic = "report-events"
			r, err := dec.DecodeReport(m.Value)
			if err != nil {
				continue
			}
			recs = append(recs, ingest.Record{Source: src, Lag: -1, Kind: ingest.KindReport, Report: r})
			continue
		}
		c, err := dec.DecodeContent(m.Value)
		if err != nil {
			continue
		}
		recs = append(recs, ingest.Record{Source: src, Lag: -1, Kind: ingest.KindContent, Content: c})
	}
	// Hashed as the consumer's decoders hash them, off the engine's goroutine.
	for i := range recs {
		recs[i].Hash()
	}
	return recs, nil
}

// oneOffRecords is n posts at 50 a second, each with two hashtags of 14 to
// 18 letters that no other post has and one that every post has.
func oneOffRecords(n int) []ingest.Record {
	words := []string{"summer", "dance", "cooking", "football", "makeup", "travel", "gaming", "fitness"}
	letters := func(i int) string {
		var b []byte
		for i++; i > 0; i /= 26 {
			b = append(b, byte('a'+i%26))
		}
		return string(b)
	}
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	recs := make([]ingest.Record, n)
	for i := range recs {
		id := fmt.Sprint(i)
		recs[i] = ingest.Record{Source: ingest.Source{Topic: "content-events", Offset: int64(i)}, Lag: -1, Kind: ingest.KindContent,
			Content: event.Content{EventID: id, TS: start.Add(time.Duration(i) * 20 * time.Millisecond), ContentID: id,
				CreatorID: fmt.Sprint("u", i%100_000), Region: "IN", Lang: "hi",
				Hashtags: []string{words[i%len(words)] + "challenge" + letters(i), "my" + words[(i/7)%len(words)] + "story" + letters(i), "foryoupage"}}}
	}
	return recs
}
