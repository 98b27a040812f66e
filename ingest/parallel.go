package ingest

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// maxBatch bounds the messages decoded as one unit of work. A batch is cut as
// soon as the fetched messages run out, so a live stream is never held back to
// fill one; in a backlog it is full, and 256 messages (some 0.5 ms of decoding)
// make the hand-offs between goroutines a rounding error per message.
const maxBatch = 256

// maxFillWait bounds how long a batch waits to fill while its messages say
// more are behind them; a backlog fills 256 in a fraction of it.
const maxFillWait = 2 * time.Millisecond

// msgBufs recycles the message slices of batches: a batch of 256 messages is
// some 40 KiB, freed as soon as it is decoded.
type msgBufs struct{ p sync.Pool }

func (b *msgBufs) get() []kafka.Message {
	if s, ok := b.p.Get().(*[]kafka.Message); ok {
		return (*s)[:0]
	}
	return make([]kafka.Message, 0, maxBatch)
}

func (b *msgBufs) put(s []kafka.Message) {
	clear(s) // drop the values, so the pool does not keep them alive
	s = s[:0]
	b.p.Put(&s)
}

// batch is one unit of decoding: messages in the order they were fetched,
// and their records once done is closed.
type batch struct {
	msgs []kafka.Message
	recs []Record
	done chan struct{}
}

// Run is RunBatches one record at a time, for callers that want a channel of
// records.
func (c *Consumer) Run(ctx context.Context, out chan<- Record) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []Record, 4)
	errc := make(chan error, 1)
	go func() {
		errc <- c.RunBatches(ctx, batches)
		close(batches)
	}()
	defer func() {
		cancel()
		for range batches { // let RunBatches end
		}
	}()
	for recs := range batches {
		for _, r := range recs {
			select {
			case out <- r:
			case <-ctx.Done():
				return nil
			}
		}
	}
	return <-errc
}

// RunBatches fetches, decodes and sends records to out, in batches, until ctx
// ends or the reader fails for good. Decoding, validation and normalisation
// cost more than fetching, so they run on Config.Decoders goroutines; the
// batches come out in the order their messages were fetched, so the pipeline
// sees exactly the sequence one goroutine would have produced: per-partition
// order, and with it event time, deduplication and committed offsets, do not
// depend on how many cores decoded. A full out blocks RunBatches, which pauses
// consumption: that is the backpressure when a sink is slow. The receiver owns
// each slice sent.
func (c *Consumer) RunBatches(ctx context.Context, out chan<- []Record) error {
	c.dlq.start(ctx)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	// Every goroutine ends with ctx, and none outlives the call.
	defer func() {
		cancel()
		wg.Wait()
	}()
	wg.Go(func() {
		t := time.NewTicker(c.refusals.period / 4)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c.refusals.tick(c.dec.Now())
			}
		}
	})

	workers := c.cfg.Decoders
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// fetched decouples the blocking FetchMessage from cutting batches: the
	// cutter takes what has arrived without waiting for more.
	fetched := make(chan kafka.Message, maxBatch)
	fetchErr := make(chan error, 1)
	wg.Go(func() {
		defer close(fetched)
		for {
			m, err := c.reader.FetchMessage(ctx)
			if err != nil {
				if ctx.Err() == nil {
					fetchErr <- fmt.Errorf("fetch from %v: %w", c.cfg.Brokers, err)
				}
				return
			}
			c.assigned.Store(true)
			select {
			case fetched <- m:
			case <-ctx.Done():
				return
			}
		}
	})

	// Each batch goes both to the decoders (any free one) and, in fetch
	// order, to the loop below, which waits for each in turn.
	work := make(chan *batch, workers)
	ordered := make(chan *batch, 2*workers+2)
	wg.Go(func() {
		defer close(ordered)
		defer close(work)
		fill := time.NewTimer(time.Hour)
		defer fill.Stop()
		for m := range fetched {
			b := &batch{msgs: append(c.msgBufs.get(), m), done: make(chan struct{})}
			fill.Reset(maxFillWait)
			for open := true; open && len(b.msgs) < maxBatch; {
				last := &b.msgs[len(b.msgs)-1]
				if last.HighWaterMark-last.Offset-1 > 0 {
					// Behind its partition's end: more is on its way, and
					// a full batch costs less per message than a scrap.
					select {
					case m, ok := <-fetched:
						if open = ok; ok {
							b.msgs = append(b.msgs, m)
						}
					case <-fill.C:
						fill.Reset(time.Hour) // drained; the next batch resets it
						open = false
					}
					continue
				}
				// Caught up: cut the batch with what has arrived, so a live
				// stream is never held back to fill one.
				select {
				case m, ok := <-fetched:
					if open = ok; ok {
						b.msgs = append(b.msgs, m)
					}
				default:
					open = false
				}
			}
			select {
			case ordered <- b:
			case <-ctx.Done():
				return
			}
			select {
			case work <- b:
			case <-ctx.Done():
				return
			}
		}
	})
	for range workers {
		wg.Go(func() {
			for b := range work {
				c.decodeBatch(ctx, b)
				close(b.done)
			}
		})
	}

	lags := make(map[Partition]int64)
	for b := range ordered {
		select {
		case <-b.done:
		case <-ctx.Done():
			return nil
		}
		c.setLags(b.recs, lags)
		select {
		case out <- b.recs:
		case <-ctx.Done():
			return nil
		}
	}
	// The fetcher stopped and everything it fetched was sent on.
	select {
	case err := <-fetchErr:
		return err
	default:
		return nil
	}
}

// decodeBatch decodes b's messages into b.recs and counts the accepted ones.
func (c *Consumer) decodeBatch(ctx context.Context, b *batch) {
	b.recs = make([]Record, len(b.msgs))
	var content, reports uint64
	for i := range b.msgs {
		if c.decodeInto(ctx, &b.msgs[i], &b.recs[i]) {
			if b.recs[i].Kind == KindContent {
				content++
			} else {
				reports++
			}
		}
	}
	c.msgBufs.put(b.msgs) // the records hold what is needed of them
	b.msgs = nil
	if content > 0 {
		c.metrics.events.WithLabelValues(c.cfg.Topics.Content, "ok").Add(float64(content))
	}
	if reports > 0 {
		c.metrics.events.WithLabelValues(c.cfg.Topics.Reports, "ok").Add(float64(reports))
	}
	c.refusals.accepted(c.dec.Now(), content+reports)
}

// setLags sets the lag gauge of each partition in recs to its last record's
// lag. lags is scratch space, emptied on return.
func (c *Consumer) setLags(recs []Record, lags map[Partition]int64) {
	for i := range recs {
		if r := &recs[i]; r.Lag >= 0 {
			lags[Partition{r.Source.Topic, r.Source.Partition}] = r.Lag
		}
	}
	for p, lag := range lags {
		c.metrics.lag.WithLabelValues(p.Topic, strconv.Itoa(p.Partition)).Set(float64(lag))
	}
	clear(lags)
}
