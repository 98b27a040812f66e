package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/sim/broker"
)

// startedDeadLetter is a dead-letter writer to cfg's dead-letter topic,
// started.
func startedDeadLetter(t *testing.T, cfg Config) *deadLetter {
	t.Helper()
	w, err := cfg.NewWriter(cfg.Topics.DeadLetter)
	if err != nil {
		t.Fatal(err)
	}
	d := newDeadLetter(w, slog.New(slog.DiscardHandler), newMetrics(nil, cfg))
	d.start(context.Background())
	return d
}

// refused is the offset-th refused message of the content topic.
func refused(cfg Config, offset int) kafka.Message {
	return kafka.Message{Topic: cfg.Topics.Content, Offset: int64(offset), Value: []byte(`{"event_id":`)}
}

var errBad = errors.New("unexpected end of JSON input")

// TestDeadLetterFlushDuringFlood: flush returns once what was queued before
// it is written, while refusals keep coming. Waiting for nothing to be
// pending, it waited for the flood to end, and with it every commit.
func TestDeadLetterFlushDuringFlood(t *testing.T) {
	_, cfg := startBroker(t)
	d := startedDeadLetter(t, cfg)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				d.send(ctx, refused(cfg, g<<32|i), event.ReasonInvalidJSON, errBad, 1024)
			}
		})
	}
	time.Sleep(200 * time.Millisecond) // the queue full
	fctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	began := time.Now()
	err := d.flush(fctx)
	stop()
	wg.Wait()
	if err != nil {
		t.Fatalf("flush during a flood of refusals: %v (after %v)", err, time.Since(began))
	}
	if err := d.close(); err != nil {
		t.Fatal(err)
	}
}

// TestDeadLetterHeldUntilWritten: while the brokers are away a dead letter is
// retried, not given up, and flush says it is not written, so the offsets it
// covers are not committed; once they are back it is written and flush
// returns. Given up after five attempts, it was lost and its offset
// committed.
func TestDeadLetterHeldUntilWritten(t *testing.T) {
	b, bc, cfg := restartableBroker(t, 1)
	d := startedDeadLetter(t, cfg)
	ctx := context.Background()
	d.send(ctx, refused(cfg, 0), event.ReasonInvalidJSON, errBad, 1024)
	if err := d.flush(ctx); err != nil {
		t.Fatal(err)
	}
	b.Close()
	d.send(ctx, refused(cfg, 1), event.ReasonInvalidJSON, errBad, 1024)
	fctx, cancel := context.WithTimeout(ctx, 8*time.Second) // past the five attempts given before
	err := d.flush(fctx)
	cancel()
	if err == nil {
		t.Fatal("flush said the dead letter was written while the broker was down")
	}
	if b, err = broker.Start(bc, nil); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	fctx, cancel = context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := d.flush(fctx); err != nil {
		t.Fatalf("flush once the broker is back: %v", err)
	}
	if err := d.close(); err != nil {
		t.Fatal(err)
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.Brokers, Topic: cfg.Topics.DeadLetter, MaxWait: 250 * time.Millisecond})
	defer r.Close()
	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	defer rcancel()
	var offsets []string
	for len(offsets) < 2 {
		m, err := r.ReadMessage(rctx)
		if err != nil {
			t.Fatalf("dead letters read back: %v, after %v", err, offsets)
		}
		offsets = append(offsets, headers(m)["trendwatch-source-offset"])
	}
	if fmt.Sprint(offsets) != "[0 1]" {
		t.Errorf("dead letters of offsets %v, want [0 1]", offsets)
	}
}

// TestDeadLetterDroppedFailsFlush: a dead letter that could not be queued
// (the consumer stopping with the queue full), or sent once the writer is
// closed, fails every later flush, so no offset past it is committed.
func TestDeadLetterDroppedFailsFlush(t *testing.T) {
	cfg := DefaultConfig()
	tests := []struct {
		name string
		drop func(d *deadLetter)
		want string
	}{
		{"queue full when stopping", func(d *deadLetter) {
			for i := range cap(d.ch) {
				d.ch <- deadLetterItem{msg: refused(cfg, i)}
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			d.send(ctx, refused(cfg, cap(d.ch)), event.ReasonInvalidJSON, errBad, 1024)
		}, "not queued"},
		{"sent after close", func(d *deadLetter) {
			if err := d.close(); err != nil {
				t.Fatal(err)
			}
			d.send(context.Background(), refused(cfg, 0), event.ReasonInvalidJSON, errBad, 1024)
		}, "closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Never started: nothing drains the queue.
			d := newDeadLetter(&kafka.Writer{Addr: kafka.TCP("127.0.0.1:1")}, slog.New(slog.DiscardHandler), newMetrics(nil, cfg))
			tt.drop(d)
			err := d.flush(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("flush after a dropped dead letter: %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

// TestDeadLetterCopiesWhatItCuts: a dead letter cut to dead_letter_max_bytes
// (and its key to its bound) is a copy, so the queue does not keep the whole
// refused message alive while the topic is out of reach.
func TestDeadLetterCopiesWhatItCuts(t *testing.T) {
	cfg := DefaultConfig()
	d := newDeadLetter(&kafka.Writer{Addr: kafka.TCP("127.0.0.1:1")}, slog.New(slog.DiscardHandler), newMetrics(nil, cfg))
	m := refused(cfg, 0)
	m.Value = bytes.Repeat([]byte("v"), 4096)
	m.Key = bytes.Repeat([]byte("k"), 2*deadLetterKeyBytes)
	d.send(context.Background(), m, event.ReasonInvalidJSON, errBad, 1024)
	got := (<-d.ch).msg
	if len(got.Value) != 1024 || len(got.Key) != deadLetterKeyBytes {
		t.Fatalf("dead letter of %d value and %d key bytes, want 1024 and %d", len(got.Value), len(got.Key), deadLetterKeyBytes)
	}
	if &got.Value[0] == &m.Value[0] || &got.Key[0] == &m.Key[0] {
		t.Error("the cut dead letter shares the refused message's memory")
	}
}

// TestDeadLetterQueueBoundedByBytes: while nothing is written (the topic out
// of reach), the queue holds at most maxQueuedDeadLetterBytes of dead
// letters, not 4,096 of the largest: a sender then waits for room, and one
// whose context ends first drops its dead letter, which fails the flush.
func TestDeadLetterQueueBoundedByBytes(t *testing.T) {
	cfg := DefaultConfig()
	d := newDeadLetter(&kafka.Writer{Addr: kafka.TCP("127.0.0.1:1")}, slog.New(slog.DiscardHandler), newMetrics(nil, cfg))
	m := refused(cfg, 0)
	m.Value = bytes.Repeat([]byte("v"), MaxDeadLetterBytes)
	queued := 0
	for range 100 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		d.send(ctx, m, event.ReasonInvalidJSON, errBad, MaxDeadLetterBytes)
		cancel()
		if d.dropped() != nil {
			break
		}
		queued++
	}
	if queued == 0 || queued*MaxDeadLetterBytes > maxQueuedDeadLetterBytes {
		t.Errorf("%d dead letters of %d bytes queued, want some and at most %d bytes", queued, MaxDeadLetterBytes, maxQueuedDeadLetterBytes)
	}
	if d.dropped() == nil {
		t.Error("no sender waited for room: the queue took 100 dead letters of the largest size")
	}
}
