// Package backtest runs the pipeline offline over a file of events, as fast as
// the CPU allows, and scores its alerts against the generator's ground truth.
package backtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline"
	"github.com/trendwatch/trendwatch/sketches"
)

// Config is what a backtest runs with.
type Config struct {
	Pipeline  pipeline.Config
	Window    sketches.WindowConfig
	Detectors detectors.Config
	Limits    event.Limits
	Sinks     []pipeline.Sink
	Log       *slog.Logger
	// Progress, when set, is called about every 100k lines with the bytes read.
	Progress func(bytesRead int64, lines int64)
}

// Result is what a run produced.
type Result struct {
	Lines    int64
	Content  int64
	Reports  int64
	Invalid  int64
	Alerts   []alert.Event // every transition, in order
	Buckets  int
	Took     time.Duration
	Invalids map[event.Reason]int64

	// Observations counts the term-buckets the detectors judged.
	Observations int64
}

type collector struct {
	res *Result
}

func (c *collector) Bucket(r *pipeline.BucketReport) {
	c.res.Buckets++
	c.res.Observations += int64(r.Observed)
}

func (c *collector) Alert(ev alert.Event) { c.res.Alerts = append(c.res.Alerts, ev) }

// Run reads JSON lines of content and report events from r (a line holding a
// "reporter_id" key is a report) and runs the pipeline over them. Event-time
// bounds against the wall clock are off: a backtest replays the past.
func Run(ctx context.Context, cfg Config, r io.Reader) (*Result, error) {
	eng, err := pipeline.New(cfg.Pipeline, cfg.Window, cfg.Detectors, cfg.Sinks, cfg.Log, nil)
	if err != nil {
		return nil, err
	}
	res := &Result{Invalids: make(map[event.Reason]int64)}
	eng.AddObserver(&collector{res: res})
	dec := event.Decoder{Limits: cfg.Limits}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), cfg.Limits.MaxMessageBytes+1)
	began := time.Now()
	var read int64
	reportKey := []byte(`"reporter_id"`)
	for sc.Scan() {
		line := sc.Bytes()
		read += int64(len(line)) + 1
		res.Lines++
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var rec ingest.Record
		var derr error
		if bytes.Contains(line, reportKey) {
			rec.Kind = ingest.KindReport
			rec.Report, derr = dec.DecodeReport(line)
		} else {
			rec.Kind = ingest.KindContent
			rec.Content, derr = dec.DecodeContent(line)
		}
		if derr != nil {
			res.Invalid++
			res.Invalids[event.ReasonOf(derr)]++
			continue
		}
		if rec.Kind == ingest.KindReport {
			res.Reports++
		} else {
			res.Content++
		}
		if err := eng.Process(ctx, rec); err != nil {
			return res, fmt.Errorf("line %d: %w", res.Lines, err)
		}
		if cfg.Progress != nil && res.Lines%100000 == 0 {
			cfg.Progress(read, res.Lines)
		}
		if res.Lines%4096 == 0 && ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
	if err := sc.Err(); err != nil {
		return res, fmt.Errorf("read events after line %d: %w", res.Lines, err)
	}
	if err := eng.Drain(ctx); err != nil {
		return res, err
	}
	for _, s := range cfg.Sinks {
		if err := s.Flush(ctx); err != nil {
			return res, err
		}
	}
	if cfg.Progress != nil {
		cfg.Progress(read, res.Lines)
	}
	res.Took = time.Since(began)
	return res, nil
}
