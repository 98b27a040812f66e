package ingest

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// TestHighWaterMarks on the embedded broker: the high-water marks of the
// input partitions add up to what was produced, and a partition asked for
// that does not exist is left out rather than failing the others.
func TestHighWaterMarks(t *testing.T) {
	_, cfg := startBroker(t)
	c, err := NewConsumer(cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	parts, err := c.Partitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sum := func(hwm map[Partition]int64) int64 {
		var n int64
		for _, v := range hwm {
			n += v
		}
		return n
	}
	for _, produced := range []int{0, 5, 12} {
		if produced > 0 {
			vals := make([][]byte, produced-int(sum(mustHWM(t, ctx, c, parts))))
			for i := range vals {
				vals[i] = contentJSON(i, time.Now(), "tag")
			}
			produce(t, cfg, cfg.Topics.Content, vals...)
		}
		hwm := mustHWM(t, ctx, c, parts)
		if len(hwm) != len(parts) || sum(hwm) != int64(produced) {
			t.Errorf("high-water marks %v of %d partitions, want %d partitions summing to %d", hwm, len(parts), len(parts), produced)
		}
	}
	hwm, err := c.HighWaterMarks(ctx, append(parts, Partition{Topic: cfg.Topics.Content, Partition: 99}))
	if err != nil || len(hwm) != len(parts) {
		t.Errorf("with a partition that does not exist: %v, %v; want the %d that do", hwm, err, len(parts))
	}
}

func mustHWM(t *testing.T, ctx context.Context, c *Consumer, parts []Partition) map[Partition]int64 {
	t.Helper()
	hwm, err := c.HighWaterMarks(ctx, parts)
	if err != nil {
		t.Fatal(err)
	}
	return hwm
}
