package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// HighWaterMarks asks the brokers for the high-water mark of each of parts:
// the offset the next message produced to it will get. The pipeline judges
// a silent partition caught up only on this, read after its last record:
// the lag a record carried says where the partition stood when it was
// fetched, not whether it has received anything since (see eventtime.Ends).
// A partition the brokers do not answer for is left out.
func (c *Consumer) HighWaterMarks(ctx context.Context, parts []Partition) (map[Partition]int64, error) {
	return c.ends.highWaterMarks(ctx, c.cfg, parts)
}

// ends holds the client HighWaterMarks asks with, its connections reused
// from call to call.
type ends struct {
	mu sync.Mutex
	tr *kafka.Transport
}

func (e *ends) highWaterMarks(ctx context.Context, cfg Config, parts []Partition) (map[Partition]int64, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.tr == nil {
		tr, err := cfg.Transport()
		if err != nil {
			return nil, err
		}
		e.tr = tr
	}
	cl := &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: e.tr, Timeout: 5 * time.Second}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for _, p := range parts {
		req.Topics[p.Topic] = append(req.Topics[p.Topic], kafka.LastOffsetOf(p.Partition))
	}
	resp, err := cl.ListOffsets(ctx, req)
	if err != nil {
		// A restarted broker leaves the transport's connections answering
		// EOF: the next call starts on fresh ones.
		e.tr.CloseIdleConnections()
		return nil, fmt.Errorf("high-water marks from %v: %w", cfg.Brokers, err)
	}
	out := make(map[Partition]int64, len(parts))
	var errs []error
	for topic, ps := range resp.Topics {
		for _, p := range ps {
			if p.Error != nil {
				errs = append(errs, fmt.Errorf("%s/%d: %w", topic, p.Partition, p.Error))
				continue
			}
			out[Partition{Topic: topic, Partition: p.Partition}] = p.LastOffset
		}
	}
	if len(errs) > 0 {
		e.tr.CloseIdleConnections()
		if len(out) == 0 {
			return nil, fmt.Errorf("high-water marks: %w", errors.Join(errs...))
		}
	}
	return out, nil
}

// close lets go of the connections.
func (e *ends) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.tr != nil {
		e.tr.CloseIdleConnections()
	}
}
