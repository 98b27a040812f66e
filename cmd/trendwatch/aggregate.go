package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/trendwatch/trendwatch/config"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline"
)

// runAggregate runs an aggregate process (run --role aggregate): a member of
// an ordinary consumer group on the input topics, beside any number of
// others, forwarding what it reads to the detect shards' relay topics until
// ctx ends or the consumer fails. See ingest.Forwarder.
func runAggregate(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	reg, h, stopOps, err := startProcess(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer stopOps()
	if err := cfg.Kafka.WaitForBroker(ctx, log); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if err := checkLayout(ctx, cfg, log); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	fw, err := ingest.NewForwarder(cfg.Kafka, cfg.Pipeline.Shards, log, reg)
	if err != nil {
		return err
	}
	defer fw.Close()
	consumer, err := ingest.NewConsumer(cfg.Kafka, log, reg)
	if err != nil {
		return err
	}
	assigned := consumer.Assigned
	h.assigned.Store(&assigned)
	if err := fw.EnsureTopics(ctx); err != nil {
		return errors.Join(err, consumer.Close())
	}
	began := time.Now()
	h.Status(pipeline.Status{At: began, Ready: true, LastCommit: began, Lag: -1})
	fw.OnCommit = func(at time.Time, err error) {
		s := pipeline.Status{At: at, Ready: true, LastCommit: at, CommitErr: err, Lag: -1}
		if err != nil {
			if last := h.status.Load(); last != nil {
				s.LastCommit = last.LastCommit
			}
		}
		h.Status(s)
	}
	log.Info("aggregate: forwarding", "kafka", cfg.Kafka, "relay", fw.Topics())
	records := make(chan []ingest.Record, 16)
	cctx, stopConsumer := context.WithCancel(ctx)
	defer stopConsumer()
	var consumerErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(records)
		if err := consumer.RunBatches(cctx, records); err != nil {
			consumerErr = err
		}
	}()
	err = fw.Run(ctx, records, consumer, cfg.Pipeline.CommitInterval)
	stopConsumer()
	for range records {
		// Unblock the consumer; what it read is not committed, and is read
		// again by whoever takes its partitions.
	}
	<-done
	return errors.Join(err, consumerErr, consumer.Close())
}
