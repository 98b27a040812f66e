package ingest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
)

// An aggregate process (trendwatch run --role aggregate) is one of any number
// of members of an ordinary consumer group on the input topics: each reads,
// decodes, validates and dead-letters its share of the partitions, and
// forwards every record it read, with the input partition and offset it came
// from, to the relay topic of each detect shard (Topics.RelayTopic). A detect
// process reads its relay topic and runs the engine on the records as if it
// had read the input itself: it deduplicates and orders by the input
// coordinates, so a record forwarded twice (an aggregate process killed
// before it committed, its partitions taken over by another that reads them
// again) counts once. The aggregate processes keep no state: what they have
// forwarded is on the relay, and what they have committed only bounds how
// much is forwarded again.
//
// Every record goes to every shard, terms and all. A shard counts the whole
// stream into its sketches and judges its own terms, exactly as a term shard
// that reads the input topics does (docs/scaling.md), so N detect shards
// write the rows and alerts one process would.

// Forwarder forwards decoded records to the relay topics.
type Forwarder struct {
	cfg    Config
	shards int
	log    *slog.Logger
	w      *kafka.Writer
	topics []string
	// keys keep each input partition's records on one relay partition, in
	// input order: a detect process skips a record at or below the last
	// offset it counted of its input partition, which is a replay only if
	// they arrive in order.
	keys map[Partition][]byte
	buf  []byte

	forwarded prometheus.Counter
	tooLarge  prometheus.Counter
	commits   *prometheus.CounterVec
	// OnCommit, when set, hears how each commit round ended: a round with
	// nothing new to commit succeeds.
	OnCommit func(at time.Time, err error)
}

// forwardBatch is the most records written to the relay at once: a round
// trip to the brokers per this many, per shard.
const forwardBatch = 4096

// NewForwarder writes to the relay topics of shards detect shards.
func NewForwarder(cfg Config, shards int, log *slog.Logger, reg prometheus.Registerer) (*Forwarder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if shards < 1 {
		return nil, fmt.Errorf("relay to %d detect shards: want at least one", shards)
	}
	w, err := cfg.NewWriter("")
	if err != nil {
		return nil, err
	}
	// A few quick attempts inside kafka-go; write retries for as long as
	// it takes, and says so.
	w.MaxAttempts = 3
	f := &Forwarder{cfg: cfg, shards: shards, log: log, w: w, keys: make(map[Partition][]byte),
		forwarded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trendwatch_relay_forwarded_total", Help: "Records an aggregate process forwarded to the relay, counted once however many shards they went to.",
		}),
		tooLarge: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trendwatch_relay_too_large_total", Help: "Records too large for one relay message, forwarded as refused messages instead (see kafka.limits).",
		}),
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trendwatch_relay_commits_total", Help: "Input offset commits of an aggregate process, by result.",
		}, []string{"result"}),
	}
	if reg != nil {
		f.forwarded, f.tooLarge, f.commits = register(reg, f.forwarded), register(reg, f.tooLarge), register(reg, f.commits)
	}
	for i := range shards {
		f.topics = append(f.topics, cfg.Topics.RelayTopic(i, shards))
	}
	return f, nil
}

// Topics lists the relay topics, one per detect shard.
func (f *Forwarder) Topics() []string { return f.topics }

// EnsureTopics creates the relay topics that do not exist (see
// Config.EnsureRelay).
func (f *Forwarder) EnsureTopics(ctx context.Context) error {
	return f.cfg.EnsureRelay(ctx, f.topics...)
}

// EnsureRelay creates those of the relay topics that do not exist, each with
// as many partitions as the content topic, so the relay spreads as the input
// does, at the brokers' default replication. Aggregate and detect processes
// both ask, whichever starts first.
func (c Config) EnsureRelay(ctx context.Context, topics ...string) error {
	tr, err := c.Transport()
	if err != nil {
		return err
	}
	defer tr.CloseIdleConnections()
	cl := &kafka.Client{Addr: kafka.TCP(c.Brokers...), Transport: tr, Timeout: 10 * time.Second}
	md, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{c.Topics.Content}})
	if err != nil {
		return fmt.Errorf("read the partitions of %s, to give the relay topics as many: %w", c.Topics.Content, err)
	}
	// Without the content topic's partition count the relay topics would be
	// made with one partition for good: every detect process would then read
	// its relay from one partition, however many the input has.
	partitions := 0
	for _, t := range md.Topics {
		if t.Name != c.Topics.Content {
			continue
		}
		if t.Error != nil {
			return fmt.Errorf("read the partitions of %s, to give the relay topics as many: %w", c.Topics.Content, t.Error)
		}
		partitions = len(t.Partitions)
	}
	if partitions == 0 {
		return fmt.Errorf("read the partitions of %s, to give the relay topics as many: the brokers list none", c.Topics.Content)
	}
	var entries []kafka.ConfigEntry
	if c.RelayRetention > 0 {
		entries = append(entries, kafka.ConfigEntry{ConfigName: "retention.ms", ConfigValue: strconv.FormatInt(c.RelayRetention.Milliseconds(), 10)})
	}
	req := &kafka.CreateTopicsRequest{}
	for _, t := range topics {
		req.Topics = append(req.Topics, kafka.TopicConfig{Topic: t, NumPartitions: partitions, ReplicationFactor: -1, ConfigEntries: entries})
	}
	resp, err := cl.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("create relay topics %v: %w", topics, err)
	}
	for t, err := range resp.Errors {
		if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			return fmt.Errorf("create relay topic %s: %w", t, err)
		}
	}
	return nil
}

// MaxCommitEvery bounds the interval between an aggregate process's commits,
// whatever pipeline.commit_interval says. Its commit is no checkpoint, only
// the input offsets of what the relay holds, two requests to the group's
// coordinator; and what it has not committed, a partition's next owner
// forwards again. Each process that joins an aggregate group rebalances it,
// so as the processes of a deployment start, at the commit interval's 10 s
// most of a backlog's first seconds went to the relay twice (464,096 records
// of 500,000 under four processes in one run of make bench); at 1 s, some
// 80,000 under two processes or four; at a quarter of a second (and a
// heartbeat a second, Config.Heartbeat), about 26,000 (make bench's
// two-stage rows, five runs each, 7 December).
const MaxCommitEvery = 250 * time.Millisecond

// Run forwards the batches from in until in closes or ctx ends, committing
// c's offsets every interval (at most MaxCommitEvery) once what they cover
// is on every relay topic, and once more on the way out.
func (f *Forwarder) Run(ctx context.Context, in <-chan []Record, c Committer, every time.Duration) error {
	every = min(every, MaxCommitEvery)
	// pending are the input offsets of the records in msgs, offsets those
	// of the records on the relay, not committed yet.
	pending, offsets := make(map[Partition]int64), make(map[Partition]int64)
	var msgs []kafka.Message
	commit := func(ctx context.Context) (err error) {
		if f.OnCommit != nil {
			defer func() { f.OnCommit(time.Now(), err) }()
		}
		if len(offsets) == 0 {
			return nil
		}
		parts := make([]Partition, 0, len(offsets))
		for p := range offsets {
			parts = append(parts, p)
		}
		// Unread, the group's committed offsets filter nothing: the commit
		// goes out as before, and may move one back (see ahead).
		committed, err := f.cfg.Committed(ctx, parts)
		if err != nil {
			f.log.Debug("could not read the group's committed offsets; committing without comparing", "err", err)
		}
		out := ahead(offsets, committed)
		if len(out) == 0 {
			clear(offsets)
			return nil
		}
		if err := c.Commit(ctx, out); err != nil {
			f.commits.WithLabelValues("error").Inc()
			return err
		}
		f.commits.WithLabelValues("ok").Inc()
		clear(offsets)
		return nil
	}
	flush := func(ctx context.Context) error {
		if len(msgs) == 0 {
			return nil
		}
		if err := f.write(ctx, msgs); err != nil {
			return err
		}
		f.forwarded.Add(float64(len(msgs) / f.shards))
		for p, o := range pending {
			offsets[p] = o // pending holds the later offsets
		}
		clear(pending)
		clear(msgs) // the messages' keys and values are f.buf's
		msgs = msgs[:0]
		// A flood of the largest posts takes a flush's encodings to
		// hundreds of MiB, which a buffer kept for good would hold: one
		// less than half used goes, and the next flush grows what it needs.
		if cap(f.buf) > 2*len(f.buf) {
			f.buf = nil
		} else {
			f.buf = f.buf[:0]
		}
		return nil
	}
	defer func() {
		// Commit what is on the relay even when stopped: a context of its
		// own, as ctx may be what stopped us.
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := commit(cctx); err != nil {
			f.log.Warn("could not commit the input offsets forwarded last; another aggregate process forwards them again, and the detect processes skip them", "err", err)
		}
	}()
	tick := time.NewTicker(every)
	defer tick.Stop()
	var commitWarned time.Time
	for {
		closed := false
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			// A commit refused in a rebalance, or while the coordinator
			// moves, is tried again at the next tick: what it covers is on
			// the relay, and at worst forwarded again by the partition's
			// next owner. OnCommit hears of it, and /healthz turns
			// unhealthy if it goes on.
			if err := commit(ctx); err != nil && ctx.Err() == nil && time.Since(commitWarned) >= 10*time.Second {
				commitWarned = time.Now()
				f.log.Warn("could not commit the input offsets forwarded; trying again", "err", err)
			}
			continue
		case batch, ok := <-in:
			if !ok {
				return nil
			}
			f.add(&msgs, batch, pending)
		}
		// Take what else is queued, up to forwardBatch: one write for many
		// small batches of a live stream.
	drain:
		for len(msgs) < forwardBatch*f.shards {
			select {
			case batch, ok := <-in:
				if !ok {
					closed = true
					break drain
				}
				f.add(&msgs, batch, pending)
			default:
				break drain
			}
		}
		if err := flush(ctx); err != nil {
			// What was not written is not committed: the deferred commit
			// covers only what is on the relay.
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if closed {
			return nil
		}
	}
}

// ahead lists the offsets (the last forwarded of each partition) that move
// the group's committed ones (the next to read) on. The others were
// committed past already, by the process the group gave the partition to
// after a commit of this one's was refused in the rebalance: committed
// again, they would move the group back, and the partition's next owner
// would forward again what was forwarded.
func ahead(offsets, committed map[Partition]int64) []Offset {
	out := make([]Offset, 0, len(offsets))
	for p, o := range offsets {
		if next, ok := committed[p]; ok && next > o {
			continue
		}
		out = append(out, Offset{Topic: p.Topic, Partition: p.Partition, Offset: o})
	}
	slices.SortFunc(out, func(a, b Offset) int {
		return cmp.Or(strings.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return out
}

// write writes msgs to the relay, a run at a time (chunk), each retried
// until it succeeds or ctx ends: brokers that restart or move a
// partition's leadership must not end an aggregate process, as they do not
// end a consumer. Writing again what a failed attempt wrote in part is
// safe only where the part is, for each relay partition, a head of what
// the attempt held: the detect processes skip a record at or below the
// last input offset they counted, so a record written after one whose
// write failed would hide it once that one is written again. A run fills
// at most one of the writer's batches per relay partition, and a batch is
// written whole or not at all. kafka-go's BatchTimeout cannot cut it in two:
// a call appends its messages for a partition under that partition's lock,
// which the timer takes too, and a synchronous call returns only once its
// batches are written, so the next run starts a batch of its own. Unchunked (a write held up to 4,096 records
// a shard, several batches of a partition), a broker restart failed 1,000
// of a write's 1,280 records, exactly one batch, and the detect process
// never counted those 1,000 although they were written again
// (TestFaults/group/stages_broker_restart, once on 2026-12-07): records of
// their partitions with later offsets had been written the first time.
func (f *Forwarder) write(ctx context.Context, msgs []kafka.Message) error {
	for len(msgs) > 0 {
		n := chunk(msgs, f.shards, f.w.BatchSize, int(f.w.BatchBytes))
		if err := f.writeRun(ctx, msgs[:n]); err != nil {
			return err
		}
		msgs = msgs[n:]
	}
	return nil
}

// chunk is how many of msgs, each record's messages to the shards' topics
// in turn (shards of them), the next run holds: whole records, at most size
// of them and at most maxBytes of one topic's messages as the writer counts
// them (batchBytes; the writer's BatchSize and BatchBytes, 0 for no bound),
// and at least one record.
func chunk(msgs []kafka.Message, shards, size, maxBytes int) int {
	records, bytes := 0, 0
	for i := 0; i < len(msgs); i += shards {
		b := batchBytes(&msgs[i])
		if records > 0 && (size > 0 && records >= size || maxBytes > 0 && bytes+b > maxBytes) {
			return i
		}
		records, bytes = records+1, bytes+b
	}
	return len(msgs)
}

// batchBytes is what m adds to a kafka-go batch against its BatchBytes
// (Message.totalSize in kafka-go v0.4): the record's framing, a 4-byte length
// before its key and value, its timestamp and its headers. Counting keys and
// values alone would let a run that fits by that count spill over into a
// second batch of a partition, the very split chunk is there to prevent
// (TestChunkOneBatchPerPartition writes runs at the bound).
func batchBytes(m *kafka.Message) int {
	const framing = 4 + 1 + 1 + 4 + 4 + 8 // size, magic, attributes, key and value lengths, timestamp
	n := framing + len(m.Key) + len(m.Value) + varintLen(len(m.Headers))
	for _, h := range m.Headers {
		n += varintLen(len(h.Key)) + len(h.Key) + varintLen(len(h.Value)) + len(h.Value)
	}
	return n
}

// varintLen is the length of n as a zig-zag varint, as Kafka's record
// format writes lengths.
func varintLen(n int) int {
	u := uint64(n<<1) ^ uint64(n>>63)
	l := 1
	for ; u >= 0x80; u >>= 7 {
		l++
	}
	return l
}

// writeRun writes msgs, one run, retrying until it succeeds or ctx ends.
func (f *Forwarder) writeRun(ctx context.Context, msgs []kafka.Message) error {
	backoff := 100 * time.Millisecond
	var warned time.Time
	for failures := 0; ; failures++ {
		err := f.w.WriteMessages(ctx, msgs...)
		if err == nil {
			if failures > 0 {
				f.log.Info("relay writable again", "records", len(msgs)/f.shards, "failed_attempts", failures)
			}
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("forward %d records to the relay topics %v: %w", len(msgs)/f.shards, f.topics, ctx.Err())
		}
		if time.Since(warned) >= 10*time.Second {
			warned = time.Now()
			f.log.Warn("could not forward to the relay; retrying, the input's offsets stay uncommitted meanwhile",
				"records", len(msgs)/f.shards, "relay", f.topics, "attempts", failures+1, "err", firstWriteError(err))
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// firstWriteError is err, or, for kafka-go's error per message, the first
// of them: a batch's are mostly one error many times.
func firstWriteError(err error) error {
	var we kafka.WriteErrors
	if errors.As(err, &we) {
		for _, e := range we {
			if e != nil {
				return fmt.Errorf("%d of %d messages failed, the first: %w", we.Count(), len(we), e)
			}
		}
	}
	return err
}

// add appends batch's relay messages, one per shard per record, to msgs and
// notes their input offsets.
func (f *Forwarder) add(msgs *[]kafka.Message, batch []Record, offsets map[Partition]int64) {
	for i := range batch {
		r := &batch[i]
		start := len(f.buf)
		rec := r
		if r.Content.Text != "" {
			// No detect shard reads a post's text (its engine drops it
			// before it holds the record): relayed, up to
			// kafka.limits.max_text_bytes of it went to every shard, and a
			// long one made its post too large to relay at all, though the
			// post counts in one process that reads the input. A copy, as
			// the batch is the caller's.
			c := *r
			c.Content.Text = ""
			rec = &c
		}
		f.buf = AppendRelay(f.buf, rec)
		p := Partition{r.Source.Topic, r.Source.Partition}
		key, ok := f.keys[p]
		if !ok {
			key = []byte(p.Topic + "/" + strconv.Itoa(p.Partition))
			f.keys[p] = key
		}
		if m := (kafka.Message{Key: key, Value: f.buf[start:]}); batchBytes(&m) > int(f.w.BatchBytes) {
			// kafka-go refuses a message above the writer's BatchBytes on
			// every attempt, and a retried write would hold this input
			// partition, and every detect shard's event time, for good.
			// Limits raised past what a relay message carries let such a
			// record through the decoder (the hashtags', the IDs'): it goes
			// on as a refused message, which the detect shards count as one
			// and step past.
			f.log.Warn("a record too large for one relay message goes on as refused; lower kafka.limits.max_hashtags, max_hashtag_runes or max_id_bytes",
				"input", p.Topic, "partition", p.Partition, "offset", r.Source.Offset, "bytes", batchBytes(&m), "max", f.w.BatchBytes)
			f.tooLarge.Inc()
			f.buf = AppendRelay(f.buf[:start], &Record{Source: r.Source, Lag: r.Lag, Kind: KindInvalid})
		}
		for _, t := range f.topics {
			*msgs = append(*msgs, kafka.Message{Topic: t, Key: key, Value: f.buf[start:len(f.buf):len(f.buf)]})
		}
		// A partition's records come in offset order.
		offsets[p] = r.Source.Offset
	}
}

// Close closes the relay writer.
func (f *Forwarder) Close() error { return f.w.Close() }

// Committer commits input offsets (Consumer.Commit).
type Committer interface {
	Commit(ctx context.Context, offsets []Offset) error
}
