package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/sim/broker"
)

// TestForwarderRelays: an aggregate process's forwarder puts every record it
// read, the refused ones as KindInvalid, on the relay topic of each detect
// shard, where a detect process's consumer reads back what the aggregate
// decoded with its input coordinates (Source) and its relay ones (Via); and
// it commits the input offsets once they are on the relay.
func TestForwarderRelays(t *testing.T) {
	_, cfg := startBroker(t)
	now := time.Now().UTC().Truncate(time.Second)
	var contents [][]byte
	for i := range 20 {
		contents = append(contents, contentJSON(i, now, "#FYP", fmt.Sprintf("#tag%d", i%3), "#ब्लैकआउटचैलेंज"))
	}
	contents = append(contents, []byte(`{"event_id":`)) // refused: dead-lettered, relayed as invalid
	produce(t, cfg, cfg.Topics.Content, contents...)
	produce(t, cfg, cfg.Topics.Reports, []byte(fmt.Sprintf(`{"event_id":"r1","ts":%q,"content_id":"c1","reporter_id":"x","reason":"spam","channel":"regulator"}`, now.Format(time.RFC3339))))
	want := len(contents) + 1
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	const shards = 2
	agg := cfg
	agg.Group += ".aggregate-of-2"
	agg.RelayRetention = 2 * time.Hour
	fw, err := NewForwarder(agg, shards, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	if err := fw.EnsureTopics(ctx); err != nil {
		t.Fatal(err)
	}
	// The relay topics keep records as long as kafka.relay_retention says.
	cl := &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: &kafka.Transport{}}
	dc, err := cl.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{
		{ResourceType: kafka.ResourceTypeTopic, ResourceName: cfg.Topics.RelayTopic(1, shards), ConfigNames: []string{"retention.ms"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(dc.Resources) != 1 || len(dc.Resources[0].ConfigEntries) != 1 || dc.Resources[0].ConfigEntries[0].ConfigValue != "7200000" {
		t.Errorf("relay topic config %+v, want retention.ms 7200000", dc.Resources)
	}
	c, err := NewConsumer(agg, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	parts, err := c.Partitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	actx, stop := context.WithCancel(ctx)
	batches := make(chan []Record, 4)
	direct := make(chan []Record, 64) // what the aggregate decoded, to compare with
	go func() {
		defer close(batches)
		in := make(chan []Record)
		go func() { _ = c.RunBatches(actx, in); close(in) }()
		for b := range in {
			direct <- b
			batches <- b
		}
	}()
	fwErr := make(chan error, 1)
	go func() { fwErr <- fw.Run(actx, batches, c, 20*time.Millisecond) }()

	// The input offsets are committed once on the relay.
	committed := func() bool {
		got, err := agg.Committed(ctx, parts)
		if err != nil {
			return false
		}
		n := 0
		for _, o := range got {
			n += int(o)
		}
		return n == want
	}
	for !committed() {
		select {
		case <-ctx.Done():
			t.Fatal("the aggregate's input offsets were not all committed")
		case <-time.After(50 * time.Millisecond):
		}
	}
	stop()
	if err := <-fwErr; err != nil {
		t.Fatal(err)
	}
	read := map[Source]Record{}
	for len(direct) > 0 {
		for _, r := range <-direct {
			read[r.Source] = r
		}
	}
	if len(read) != want {
		t.Fatalf("the aggregate decoded %d records, want %d", len(read), want)
	}

	for i := range shards {
		det := cfg
		det.Group += fmt.Sprintf(".detect-%d-of-2", i)
		det.ReadRelay = cfg.Topics.RelayTopic(i, shards)
		dc, err := NewConsumer(det, log, nil)
		if err != nil {
			t.Fatal(err)
		}
		dctx, dstop := context.WithCancel(ctx)
		out := make(chan Record, 64)
		go func() { _ = dc.Run(dctx, out) }()
		got := map[Source]bool{}
		for len(got) < want {
			var r Record
			select {
			case r = <-out:
			case <-ctx.Done():
				t.Fatalf("shard %d: %d of %d records relayed", i, len(got), want)
			}
			if r.Via.Topic != det.ReadRelay {
				t.Errorf("shard %d: record via %q, want the relay topic %q", i, r.Via.Topic, det.ReadRelay)
			}
			if got[r.Source] {
				t.Errorf("shard %d: %v relayed twice", i, r.Source)
			}
			got[r.Source] = true
			d, ok := read[r.Source]
			switch {
			case !ok:
				t.Errorf("shard %d: %v was never read from the input", i, r.Source)
			case d.Kind != r.Kind || fmt.Sprint(d.Content) != fmt.Sprint(r.Content) || fmt.Sprint(d.Report) != fmt.Sprint(r.Report) || d.Hashes != r.Hashes:
				t.Errorf("shard %d: %v relayed as\n %+v\nwant\n %+v", i, r.Source, r, d)
			}
		}
		dstop()
		dc.Close()
	}
}

// recordingCommitter keeps the offsets it was asked to commit; the first
// fail commits are refused, as a coordinator refuses them in a rebalance.
type recordingCommitter struct {
	mu   sync.Mutex
	last map[Partition]int64
	fail int
}

func (c *recordingCommitter) Commit(_ context.Context, offsets []Offset) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail > 0 {
		c.fail--
		return errors.New("rebalance in progress")
	}
	for _, o := range offsets {
		c.last[Partition{o.Topic, o.Partition}] = o.Offset
	}
	return nil
}

func (c *recordingCommitter) offset(p Partition) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last[p]
}

// newTestForwarder is a forwarder to shards detect shards whose relay topics
// exist, closed when the test ends.
func newTestForwarder(t *testing.T, ctx context.Context, cfg Config, shards int) *Forwarder {
	t.Helper()
	fw, err := NewForwarder(cfg, shards, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fw.Close() })
	if err := fw.EnsureTopics(ctx); err != nil {
		t.Fatal(err)
	}
	return fw
}

// forwarderRun is a forwarder running on a broker of its own, committing
// into c (TestForwarderCommitRefused, TestForwarderCommitsOften,
// TestForwarderBufferShrinks).
type forwarderRun struct {
	t    *testing.T
	ctx  context.Context
	cfg  Config
	fw   *Forwarder
	c    *recordingCommitter
	in   chan []Record
	done chan error
	stop context.CancelFunc
}

// runForwarder starts a forwarder to shards detect shards that commits into
// c at most every every, within timeout.
func runForwarder(t *testing.T, timeout time.Duration, shards int, c *recordingCommitter, every time.Duration) *forwarderRun {
	_, cfg := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	r := &forwarderRun{t: t, ctx: ctx, cfg: cfg, fw: newTestForwarder(t, ctx, cfg, shards), c: c, in: make(chan []Record, 1), done: make(chan error, 1)}
	rctx, stop := context.WithCancel(ctx)
	r.stop = stop
	go func() { r.done <- r.fw.Run(rctx, r.in, c, every) }()
	return r
}

// waitCommitted waits until offset is committed on content partition p.
func (r *forwarderRun) waitCommitted(p int, offset int64) {
	r.t.Helper()
	for r.c.offset(Partition{r.cfg.Topics.Content, p}) != offset {
		select {
		case err := <-r.done:
			r.t.Fatalf("the forwarder stopped: %v", err)
		case <-r.ctx.Done():
			r.t.Fatalf("offset %d never committed", offset)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// end stops the forwarder and wants it to have ended cleanly.
func (r *forwarderRun) end() {
	r.t.Helper()
	r.stop()
	if err := <-r.done; err != nil {
		r.t.Fatal(err)
	}
}

// TestForwarderCommitRefused: a commit the group refuses (a rebalance) is
// tried again at the next tick, and the forwarder goes on.
func TestForwarderCommitRefused(t *testing.T) {
	r := runForwarder(t, 30*time.Second, 2, &recordingCommitter{last: map[Partition]int64{}, fail: 3}, 10*time.Millisecond)
	r.in <- []Record{{Source: Source{Topic: r.cfg.Topics.Content, Partition: 1, Offset: 7}, Kind: KindSkipped}}
	r.waitCommitted(1, 7)
	r.end()
}

// TestForwarderCommitsOften: a forwarder commits within about MaxCommitEvery
// of a record reaching the relay, however long pipeline.commit_interval is:
// what it has not committed, the partition's next owner forwards again.
func TestForwarderCommitsOften(t *testing.T) {
	r := runForwarder(t, 30*time.Second, 1, &recordingCommitter{last: map[Partition]int64{}}, time.Hour)
	r.in <- []Record{{Source: Source{Topic: r.cfg.Topics.Content, Partition: 0, Offset: 3}, Kind: KindSkipped}}
	sent := time.Now()
	r.waitCommitted(0, 3)
	// The record's write and the tick's commit take a little beyond the
	// tick, more on a loaded machine: the bound is loose, as an hour's
	// interval would not have committed within the test at all.
	if took := time.Since(sent); took > 10*time.Second {
		t.Errorf("committed %v after the record was forwarded, want about %v", took, MaxCommitEvery)
	}
	r.end()
}

// TestForwarderRidesOutBrokerRestart: records to forward while the broker is
// down wait, retried, until it is back, and go to the relay then; the
// forwarder neither stops nor commits what the relay does not hold.
func TestForwarderRidesOutBrokerRestart(t *testing.T) {
	b, bc, cfg := restartableBroker(t, 2)
	defer func() { b.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	fw := newTestForwarder(t, ctx, cfg, 1)
	batch := func(from int) []Record {
		var out []Record
		for i := from; i < from+50; i++ {
			r := Record{Source: Source{Topic: cfg.Topics.Content, Partition: 0, Offset: int64(i)}, Kind: KindContent,
				Content: event.Content{EventID: fmt.Sprint("e", i), TS: time.Now().UTC(), ContentID: fmt.Sprint("c", i), CreatorID: "u", Hashtags: []string{"fyp"}}}
			r.Hash()
			out = append(out, r)
		}
		return out
	}
	in := make(chan []Record)
	c := &recordingCommitter{last: map[Partition]int64{}}
	done := make(chan error, 1)
	go func() { done <- fw.Run(ctx, in, c, 20*time.Millisecond) }()
	relay := Partition{Topic: cfg.Topics.RelayTopic(0, 1)}
	relayed := func() int64 {
		cl := &kafka.Client{Addr: kafka.TCP(b.Addr()), Transport: &kafka.Transport{}}
		n := int64(0)
		for p := range bc.Partitions {
			resp, err := cl.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{relay.Topic: {kafka.LastOffsetOf(p)}}})
			if err != nil {
				return -1
			}
			for _, po := range resp.Topics[relay.Topic] {
				n += po.LastOffset
			}
		}
		return n
	}
	in <- batch(0)
	for relayed() < 50 {
		time.Sleep(20 * time.Millisecond)
	}
	b.Close()
	in <- batch(50) // the forwarder retries it while the broker is down
	time.Sleep(1500 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("the forwarder stopped while the broker was down: %v", err)
	default:
	}
	if got := c.offset(Partition{cfg.Topics.Content, 0}); got >= 50 {
		t.Fatalf("committed offset %d while the broker was down, past what the relay held (49)", got)
	}
	var err error
	if b, err = broker.Start(bc, nil); err != nil {
		t.Fatal(err)
	}
	close(in)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := relayed(); n < 100 {
		t.Errorf("the relay holds %d records after the restart, want the 100 forwarded", n)
	}
	if got := c.offset(Partition{cfg.Topics.Content, 0}); got != 99 {
		t.Errorf("committed offset %d at the end, want 99", got)
	}
}

// TestChunk: a run of relay messages holds whole records, at most a
// writer's batch of them per topic, by count and by bytes, and always one.
func TestChunk(t *testing.T) {
	msgs := func(records, shards, size int) []kafka.Message {
		var out []kafka.Message
		for range records {
			for range shards {
				out = append(out, kafka.Message{Key: []byte("k"), Value: make([]byte, size-1)})
			}
		}
		return out
	}
	for _, tt := range []struct {
		name                        string
		records, shards, size       int
		batchSize, batchBytes, want int
	}{
		{"under both bounds", 5, 2, 10, 1000, 1 << 20, 10},
		{"the count bounds", 2500, 1, 10, 1000, 1 << 20, 1000},
		{"the count bounds, per topic", 2500, 3, 10, 1000, 1 << 20, 3000},
		{"the bytes bound, as the writer counts them (23 bytes of framing each)", 100, 2, 77, 1000, 1000, 20},
		{"one record over the bytes bound goes alone", 3, 2, 5000, 1000, 1000, 2},
		{"no bounds", 2500, 2, 10, 0, 0, 5000},
		{"empty", 0, 2, 10, 1000, 1000, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := chunk(msgs(tt.records, tt.shards, tt.size), tt.shards, tt.batchSize, tt.batchBytes); got != tt.want {
				t.Errorf("chunk = %d messages, want %d", got, tt.want)
			}
		})
	}
}

// TestChunkOneBatchPerPartition writes runs cut by bytes through the
// forwarder's own writer to the embedded broker: each run must go out as one
// batch per relay partition, or a failed batch could leave a hole behind a
// later one that landed (see Forwarder.write). One input partition, so each
// relay topic gets one partition's batch a run; the records are sized so that
// counting keys and values alone would put 21 in a run the writer splits at 17.
func TestChunkOneBatchPerPartition(t *testing.T) {
	_, cfg := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const shards = 2
	fw, err := NewForwarder(cfg, shards, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	if err := fw.EnsureTopics(ctx); err != nil {
		t.Fatal(err)
	}
	fw.w.BatchBytes = 2000
	var msgs []kafka.Message
	offsets := map[Partition]int64{}
	for i := range 100 {
		var r Record
		r.Kind = KindContent
		r.Source = Source{Topic: cfg.Topics.Content, Partition: 0, Offset: int64(i)}
		r.Content.EventID = fmt.Sprintf("e%03d", i)
		fw.add(&msgs, []Record{r}, offsets)
	}
	fw.w.Stats() // from zero
	for len(msgs) > 0 {
		n := chunk(msgs, shards, fw.w.BatchSize, int(fw.w.BatchBytes))
		if err := fw.writeRun(ctx, msgs[:n]); err != nil {
			t.Fatal(err)
		}
		if s := fw.w.Stats(); s.Writes != shards || s.Messages != int64(n) {
			t.Fatalf("a run of %d records went out in %d batches (%d messages), want %d batches, one per relay topic",
				n/shards, s.Writes, s.Messages, shards)
		}
		msgs = msgs[n:]
	}
}

// TestAhead: the forwarder commits only offsets that move the group's
// committed ones on; one committed past by the partition's next owner (this
// process's commit refused in the rebalance, retried after it) is left out.
func TestAhead(t *testing.T) {
	p0, p1, p2 := Partition{"content-events", 0}, Partition{"content-events", 1}, Partition{"report-events", 0}
	for _, tt := range []struct {
		name      string
		offsets   map[Partition]int64
		committed map[Partition]int64
		want      []Offset
	}{
		{"nothing committed yet", map[Partition]int64{p0: 5, p1: 3}, nil,
			[]Offset{{"content-events", 0, 5}, {"content-events", 1, 3}}},
		{"behind what this process forwarded", map[Partition]int64{p0: 5}, map[Partition]int64{p0: 2},
			[]Offset{{"content-events", 0, 5}}},
		{"at what this process forwarded", map[Partition]int64{p0: 5}, map[Partition]int64{p0: 5},
			[]Offset{{"content-events", 0, 5}}},
		{"already committed to the same place", map[Partition]int64{p0: 5}, map[Partition]int64{p0: 6}, []Offset{}},
		{"committed past by the next owner", map[Partition]int64{p0: 1000, p2: 7}, map[Partition]int64{p0: 3001, p2: 1},
			[]Offset{{"report-events", 0, 7}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ahead(tt.offsets, tt.committed); !slices.Equal(got, tt.want) {
				t.Errorf("ahead = %v, want %v", got, tt.want)
			}
		})
	}
}

// restartableBroker starts an embedded broker of partitions partitions that
// keeps its log on disk, and returns it, the configuration that starts it
// again on the same address and log, and a consumer configuration for it.
func restartableBroker(t *testing.T, partitions int) (*broker.Broker, broker.Config, Config) {
	t.Helper()
	bc := broker.DefaultConfig()
	bc.Listen, bc.Partitions, bc.DataDir = "127.0.0.1:0", partitions, t.TempDir()
	b, err := broker.Start(bc, nil)
	if err != nil {
		t.Fatal(err)
	}
	bc.Listen = b.Addr()
	cfg := DefaultConfig()
	cfg.Brokers = []string{b.Addr()}
	return b, bc, cfg
}

// TestForwardTooLargeGoesOnRefused: a record whose relay message exceeds the
// writer's BatchBytes (limits raised past what one relay message carries),
// which kafka-go refuses on every attempt, goes on as a refused message with
// its input coordinates, so the detect shards count it and step past it
// instead of the aggregate retrying it for good. A post's text is not
// relayed (no detect shard reads it), so a long text no longer makes its
// post too large: until 7 December a 1.2 MB text made it a refused one.
func TestForwardTooLargeGoesOnRefused(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Brokers = []string{"127.0.0.1:1"} // never dialled
	cfg.Limits.MaxMessageBytes = 4 << 20
	cfg.Limits.MaxTextBytes = 2 << 20
	cfg.Limits.MaxIDBytes = 2 << 20
	dec := event.Decoder{Limits: cfg.Limits, Now: time.Now}
	now := time.Now().UTC().Truncate(time.Second)
	for _, tc := range []struct {
		name          string
		text, content int // bytes of text and of content_id
		refused       bool
	}{
		{"fits", 100_000, 2, false},
		{"a long text", 1_200_000, 2, false},
		{"too large", 10, 1_200_000, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := fmt.Sprintf(`{"event_id":"e1","ts":%q,"content_id":%q,"creator_id":"u1","hashtags":["#x"],"text":%q}`,
				now.Format(time.RFC3339), "c"+strings.Repeat("1", tc.content-1), strings.Repeat("a", tc.text))
			c, err := dec.DecodeContent([]byte(msg))
			if err != nil {
				t.Fatalf("decoder refused the message: %v", err)
			}
			src := Source{Topic: cfg.Topics.Content, Partition: 1, Offset: 41}
			fw, err := NewForwarder(cfg, 2, slog.New(slog.DiscardHandler), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer fw.Close()
			var msgs []kafka.Message
			offsets := map[Partition]int64{}
			fw.add(&msgs, []Record{{Source: src, Kind: KindContent, Content: c}}, offsets)
			if len(msgs) != 2 {
				t.Fatalf("%d relay messages, want one per shard", len(msgs))
			}
			for _, m := range msgs {
				if n := batchBytes(&m); n > int(fw.w.BatchBytes) {
					t.Fatalf("relay message of %d bytes, over the writer's %d", n, fw.w.BatchBytes)
				}
				var got Record
				if err := DecodeRelay(m.Value, &got); err != nil {
					t.Fatal(err)
				}
				if want := map[bool]Kind{false: KindContent, true: KindInvalid}[tc.refused]; got.Kind != want || got.Source != src {
					t.Errorf("relayed kind %v from %+v, want %v from %+v", got.Kind, got.Source, want, src)
				}
				if !tc.refused && (got.Content.Text != "" || got.Content.ContentID != c.ContentID || !slices.Equal(got.Content.Hashtags, c.Hashtags)) {
					t.Errorf("relayed text of %d bytes, content %q, hashtags %v; want no text and the post's own", len(got.Content.Text), got.Content.ContentID, got.Content.Hashtags)
				}
			}
			if offsets[Partition{src.Topic, src.Partition}] != src.Offset {
				t.Errorf("input offsets %v, want %d", offsets, src.Offset)
			}
		})
	}
}

// TestRelayGroupStartsAtEarliest: with kafka.start_offset latest, a detect
// process whose relay group has no committed offsets still reads what the
// aggregate forwarded, and committed on the input, before it first joined.
func TestRelayGroupStartsAtEarliest(t *testing.T) {
	_, cfg := startBroker(t)
	now := time.Now().UTC().Truncate(time.Second)
	log := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cfg.StartOffset = "latest"
	agg := cfg
	agg.Group += ".aggregate-of-1"
	fw := newTestForwarder(t, ctx, agg, 1)
	c, err := NewConsumer(agg, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	actx, stop := context.WithCancel(ctx)
	defer stop()
	in := make(chan []Record, 4)
	go func() { _ = c.RunBatches(actx, in); close(in) }()
	go func() { _ = fw.Run(actx, in, c, 20*time.Millisecond) }()
	for !c.Assigned() {
		if ctx.Err() != nil {
			t.Fatal("aggregate never assigned")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The aggregate began at the input's end too: it takes what comes
	// after it joined.
	time.Sleep(2 * time.Second)
	parts := []Partition{{cfg.Topics.Content, 0}, {cfg.Topics.Content, 1}}
	forward := func(first, n int) {
		t.Helper()
		var vals [][]byte
		for i := first; i < first+n; i++ {
			vals = append(vals, contentJSON(i, now, "#x"))
		}
		produce(t, cfg, cfg.Topics.Content, vals...)
		for {
			got, _ := agg.Committed(ctx, parts)
			var sum int64
			for _, o := range got {
				sum += o
			}
			if sum >= int64(first+n) {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("the aggregate did not commit %d records", first+n)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	forward(0, 10)

	det := cfg
	det.Group += ".detect-0-of-1"
	det.ReadRelay = cfg.Topics.RelayTopic(0, 1)
	dc, err := NewConsumer(det, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	dctx, dstop := context.WithCancel(ctx)
	defer dstop()
	out := make(chan Record, 64)
	go func() { _ = dc.Run(dctx, out) }()
	for !dc.Assigned() {
		if ctx.Err() != nil {
			t.Fatal("detect never assigned")
		}
		time.Sleep(50 * time.Millisecond)
	}
	forward(10, 3)
	got := 0
	deadline := time.After(30 * time.Second)
	for got < 13 {
		select {
		case <-out:
			got++
		case <-deadline:
			t.Fatalf("the detect process read %d of the 13 records the aggregate forwarded and committed on the input", got)
		}
	}
}

// TestForwarderBufferShrinks: the buffer the relay messages are encoded into
// is not kept at the size a flush of large posts took it to: after an
// ordinary flush it is back to what such a flush needs.
func TestForwarderBufferShrinks(t *testing.T) {
	r := runForwarder(t, 60*time.Second, 1, &recordingCommitter{last: map[Partition]int64{}}, 10*time.Millisecond)
	post := func(offset int64, text int) Record {
		return Record{Source: Source{Topic: r.cfg.Topics.Content, Partition: 0, Offset: offset}, Kind: KindContent,
			Content: event.Content{EventID: fmt.Sprint("e", offset), TS: time.Now().UTC(), ContentID: "c", CreatorID: "u",
				Hashtags: []string{"x"}, Text: strings.Repeat("a", text)}}
	}
	var large []Record
	for i := range 64 {
		large = append(large, post(int64(i), 64<<10))
	}
	r.in <- large // 4 MiB of encodings in one flush
	r.waitCommitted(0, 63)
	r.in <- []Record{post(64, 100)}
	r.waitCommitted(0, 64)
	r.end()
	if cap(r.fw.buf) > 1<<20 {
		t.Errorf("the relay buffer kept %d KiB after an ordinary flush", cap(r.fw.buf)>>10)
	}
}
