package ingest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/semaphore"

	"github.com/trendwatch/trendwatch/event"
)

// deadLetterKeyBytes and deadLetterHeaderBytes bound what a dead letter keeps
// of a bad message's key and headers.
const (
	deadLetterKeyBytes    = 4 << 10
	deadLetterHeaderBytes = 64 << 10
)

// deadLetterGrace is how long closing waits for the dead letters still
// queued before it stops retrying them (brokers that are away).
const deadLetterGrace = 10 * time.Second

// deadLetter writes refused messages to the dead-letter topic in batches from
// its own goroutine, so a flood of bad input costs one round trip per batch
// rather than one per message. A batch is retried until it is written, as the
// relay's writes are: the offsets of refused messages are committed only once
// their dead letters are on the topic (flush), so a dead letter is never lost
// for an offset that moved on. Decoding goes on meanwhile; only the commits
// wait, and /healthz says so once they have failed for long enough.
type deadLetter struct {
	w       *kafka.Writer
	log     *slog.Logger
	metrics *metrics
	ch      chan deadLetterItem
	// room bounds the bytes queued (maxQueuedDeadLetterBytes): a queue
	// of 4,096 dead letters of up to dead_letter_max_bytes each held 2 GiB
	// while the topic was out of reach. A sender waits for room as it
	// waits for a place in ch.
	room    *semaphore.Weighted
	started atomic.Bool
	once    sync.Once
	stop    context.CancelFunc // ends the retries, at close
	done    chan struct{}

	// closing is held for reading while a message or a flush's marker is
	// sent to ch, and for writing to close ch: none is sent after.
	closing sync.RWMutex
	closed  bool

	mu sync.Mutex
	// err is the first dead letter dropped (queued while the consumer
	// stopped, or given up at close): every flush fails from then on, so no
	// offset past it is committed and a restart refuses the message again.
	err error
}

// deadLetterItem is a dead letter, or a flush's marker: everything queued
// before it has been written (or dropped) when the marker's answer comes.
type deadLetterItem struct {
	msg   kafka.Message
	bytes int64 // what msg holds of room
	mark  chan error
}

// maxQueuedDeadLetterBytes is the most dead letters' bytes queued: 32 at
// the largest kafka.dead_letter_max_bytes allows, thousands of ordinary ones.
const maxQueuedDeadLetterBytes = 16 << 20

func newDeadLetter(w *kafka.Writer, log *slog.Logger, m *metrics) *deadLetter {
	return &deadLetter{w: w, log: log, metrics: m, ch: make(chan deadLetterItem, 4096), done: make(chan struct{}),
		room: semaphore.NewWeighted(maxQueuedDeadLetterBytes)}
}

func (d *deadLetter) start(ctx context.Context) {
	d.once.Do(func() {
		// Retries outlive the run's context: the last commit on the way out
		// flushes the dead letters too. close ends them.
		ctx, d.stop = context.WithCancel(context.WithoutCancel(ctx))
		d.started.Store(true)
		go d.loop(ctx)
	})
}

func (d *deadLetter) send(ctx context.Context, m kafka.Message, reason event.Reason, cause error, maxBytes int) {
	value := m.Value
	if len(value) > maxBytes {
		// A copy: the cut would keep the whole message alive in the queue,
		// a megabyte for each of its thousands of places while the topic
		// is out of reach.
		value = bytes.Clone(value[:maxBytes])
	}
	if value == nil {
		// A null value on a compacted dead-letter topic would be a tombstone,
		// deleting the earlier dead letters of the same key.
		value = []byte{}
	}
	// The original headers (trace context, producer, schema) say where a bad
	// message came from; ours go after them, and an original header with one
	// of our names (a dead letter replayed into an input topic) is dropped so
	// each of ours appears once.
	// The key and the original headers are cut too, so that a dead letter
	// stays within one of the writer's batches (MaxDeadLetterBytes).
	key := m.Key
	if len(key) > deadLetterKeyBytes {
		key = bytes.Clone(key[:deadLetterKeyBytes])
	}
	headers := make([]kafka.Header, 0, len(m.Headers)+6)
	kept := 0
	for _, h := range m.Headers {
		if ownHeader(h.Key) {
			continue
		}
		if kept += len(h.Key) + len(h.Value); kept > deadLetterHeaderBytes {
			break
		}
		headers = append(headers, h)
	}
	msg := kafka.Message{
		Key:   key,
		Value: value,
		Headers: append(headers,
			kafka.Header{Key: "trendwatch-reason", Value: []byte(reason)},
			kafka.Header{Key: "trendwatch-error", Value: []byte(truncate(cause.Error(), 1024))},
			kafka.Header{Key: "trendwatch-source-topic", Value: []byte(m.Topic)},
			kafka.Header{Key: "trendwatch-source-partition", Value: []byte(strconv.Itoa(m.Partition))},
			kafka.Header{Key: "trendwatch-source-offset", Value: []byte(strconv.FormatInt(m.Offset, 10))},
			kafka.Header{Key: "trendwatch-original-bytes", Value: []byte(strconv.Itoa(len(m.Value)))},
		),
	}
	d.closing.RLock()
	defer d.closing.RUnlock()
	if d.closed {
		d.drop(fmt.Errorf("dead letter of %s/%d at offset %d: the consumer is closed", m.Topic, m.Partition, m.Offset))
		return
	}
	// Queued whenever there is room, even once ctx is done: a select
	// between the two would drop a dead letter at random on the way out.
	n := int64(batchBytes(&msg))
	if !d.room.TryAcquire(n) {
		if err := d.room.Acquire(ctx, n); err != nil {
			d.drop(fmt.Errorf("dead letter of %s/%d at offset %d not queued: %w", m.Topic, m.Partition, m.Offset, err))
			return
		}
	}
	it := deadLetterItem{msg: msg, bytes: n}
	select {
	case d.ch <- it:
		return
	default:
	}
	select {
	case d.ch <- it:
	case <-ctx.Done():
		d.room.Release(n)
		d.drop(fmt.Errorf("dead letter of %s/%d at offset %d not queued: %w", m.Topic, m.Partition, m.Offset, ctx.Err()))
	}
}

// ownHeader reports the headers send sets.
func ownHeader(key string) bool {
	switch key {
	case "trendwatch-reason", "trendwatch-error", "trendwatch-source-topic", "trendwatch-source-partition",
		"trendwatch-source-offset", "trendwatch-original-bytes":
		return true
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func (d *deadLetter) loop(ctx context.Context) {
	defer close(d.done)
	batch := make([]kafka.Message, 0, 512)
	var marks []chan error
	for it := range d.ch {
		batch, marks = batch[:0], marks[:0]
		var held int64 // of room, by the batch
		take := func(it deadLetterItem) {
			if it.mark != nil {
				marks = append(marks, it.mark)
			} else {
				batch = append(batch, it.msg)
				held += it.bytes
			}
		}
		take(it)
		// Fill the batch with what is queued, up to a flush's marker: its
		// answer need not wait for what came after it.
	fill:
		for len(batch) < cap(batch) && len(marks) == 0 {
			select {
			case it, ok := <-d.ch:
				if !ok {
					break fill
				}
				take(it)
			default:
				break fill
			}
		}
		if len(batch) > 0 {
			if err := d.write(ctx, batch); err != nil {
				d.drop(err)
			}
			clear(batch) // let go of the messages with their room
			d.room.Release(held)
		}
		for _, m := range marks {
			m <- d.dropped()
		}
	}
}

// write writes batch, retrying until it is written or ctx ends (close).
func (d *deadLetter) write(ctx context.Context, batch []kafka.Message) error {
	backoff := 100 * time.Millisecond
	var warned time.Time
	for attempt := 1; ; attempt++ {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := d.w.WriteMessages(wctx, batch...)
		cancel()
		if err == nil {
			d.metrics.dlqWrites.WithLabelValues("ok").Add(float64(len(batch)))
			if attempt > 1 {
				d.log.Info("dead-letter topic writable again", "topic", d.w.Topic, "messages", len(batch), "failed_attempts", attempt-1)
			}
			return nil
		}
		if ctx.Err() != nil {
			d.metrics.dlqWrites.WithLabelValues("error").Add(float64(len(batch)))
			return fmt.Errorf("write %d dead letters to %s, given up at close after %d attempts: %w", len(batch), d.w.Topic, attempt, firstWriteError(err))
		}
		if time.Since(warned) >= 10*time.Second {
			warned = time.Now()
			d.log.Warn("could not write dead letters; retrying, the offsets they cover stay uncommitted meanwhile",
				"topic", d.w.Topic, "messages", len(batch), "attempts", attempt, "err", firstWriteError(err))
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// drop records a dead letter lost: flush fails from now on.
func (d *deadLetter) drop(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err == nil {
		d.err = err
		d.log.Error("dead letters dropped; offsets are no longer committed, so a restart refuses those messages again", "err", err)
	}
}

func (d *deadLetter) dropped() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

// flush returns once every dead letter queued before it is on the topic, or
// ctx ends, or an error says one was dropped. A marker through the queue,
// rather than a count of those pending, lets it return while refusals keep
// coming: a count fed by a flood need never reach zero.
func (d *deadLetter) flush(ctx context.Context) error {
	if err := d.dropped(); err != nil {
		return err
	}
	if !d.started.Load() {
		return nil // nothing decoded: nothing queued
	}
	mark := make(chan error, 1)
	d.closing.RLock()
	if d.closed {
		d.closing.RUnlock()
		return d.dropped()
	}
	select {
	case d.ch <- deadLetterItem{mark: mark}:
	case <-ctx.Done():
		d.closing.RUnlock()
		return fmt.Errorf("dead-letter flush: queue full: %w", ctx.Err())
	}
	d.closing.RUnlock()
	select {
	case err := <-mark:
		return err
	case <-ctx.Done():
		return fmt.Errorf("dead-letter flush: still writing: %w", ctx.Err())
	}
}

// close writes what is queued, for up to deadLetterGrace, and closes the
// writer. Decoders still sending meanwhile drop theirs (and fail any later
// flush) rather than send on a closed queue.
func (d *deadLetter) close() error {
	if !d.started.Load() {
		d.closing.Lock()
		d.closed = true
		d.closing.Unlock()
		return d.w.Close()
	}
	// A sender blocked on a full queue holds closing; retries that end
	// free the queue, and with it the sender.
	t := time.AfterFunc(deadLetterGrace, d.stop)
	defer t.Stop()
	d.closing.Lock()
	if !d.closed {
		d.closed = true
		close(d.ch)
	}
	d.closing.Unlock()
	<-d.done
	d.stop()
	return d.w.Close()
}
