//go:build integration

package faults

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/family"
)

// message is one event of the generated stream, as it goes to Kafka.
type message struct {
	topic string
	key   []byte
	value []byte
	ts    time.Time
}

// termMinute names one row of trend_minute.
type termMinute struct {
	term   string
	bucket time.Time
}

type counts struct{ mentions, reports uint64 }

// stream is a generated stream cut into minutes of event time, and the
// generator's own counts of it.
type stream struct {
	minutes [][]message // by minute of event time, each in event-time order
	start   time.Time
	end     time.Time // end of the last minute
	total   int
	truth   map[termMinute]counts
	events  map[time.Time]uint64 // content events per minute
}

// generate runs `trendwatch gen --out` and reads the stream back. The truth
// is what the pipeline must find: every term of every content event in its
// minute, and every report against the terms of its content (or its own
// hashtags when it carries some), decoded by the same decoder the pipeline
// uses.
func generate(t *testing.T, seed int64, rate float64, duration time.Duration, start time.Time) *stream {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "events.jsonl")
	p := startProc(t, "gen", nil, "gen", "--out", file, "--seed", strconv.FormatInt(seed, 10),
		"--rate", strconv.FormatFloat(rate, 'f', -1, 64), "--duration", duration.String(),
		"--start", start.Format(time.RFC3339))
	<-p.done
	if p.err != nil {
		t.Fatalf("gen: %v\n%s", p.err, p.output())
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	dec := event.Decoder{Limits: event.DefaultLimits()}
	var all []message
	terms := map[string][]string{} // content ID → term keys
	var contents []event.Content
	var reports []event.Report
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := append([]byte(nil), sc.Bytes()...)
		m := message{value: line}
		if bytes.Contains(line, []byte(`"reporter_id"`)) {
			r, err := dec.DecodeReport(line)
			if err != nil {
				t.Fatalf("generated report does not decode: %v\n%s", err, line)
			}
			m.topic, m.key, m.ts = reportTopic, []byte(r.ContentID), r.TS
			reports = append(reports, r)
		} else {
			c, err := dec.DecodeContent(line)
			if err != nil {
				t.Fatalf("generated content does not decode: %v\n%s", err, line)
			}
			m.topic, m.key, m.ts = contentTopic, []byte(c.ContentID), c.TS
			contents = append(contents, c)
			var keys []string
			for _, tm := range c.Terms(nil) {
				keys = append(keys, tm.String())
			}
			terms[c.ContentID] = keys
		}
		all = append(all, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}

	s := &stream{start: start, end: start.Add(duration), total: len(all), truth: map[termMinute]counts{}, events: map[time.Time]uint64{}}
	for _, c := range contents {
		b := c.TS.UTC().Truncate(time.Minute)
		s.events[b]++
		for _, k := range withFamilies(terms[c.ContentID]) {
			tm := termMinute{k, b}
			v := s.truth[tm]
			v.mentions++
			s.truth[tm] = v
		}
	}
	for _, r := range reports {
		b := r.TS.UTC().Truncate(time.Minute)
		keys := terms[r.ContentID]
		if len(r.Hashtags) > 0 {
			// The report's hashtags replace the content's hashtags; its
			// sound and challenge still count the report.
			content := keys
			keys = nil
			for _, h := range r.Hashtags {
				keys = append(keys, event.Term{Kind: event.KindHashtag, Value: h}.String())
			}
			for _, k := range content {
				if !strings.HasPrefix(k, event.KindHashtag.String()+":") {
					keys = append(keys, k)
				}
			}
		}
		for _, k := range withFamilies(keys) {
			tm := termMinute{k, b}
			v := s.truth[tm]
			v.reports++
			s.truth[tm] = v
		}
	}

	// Minute by minute of event time, in event-time order: what a platform
	// emits in a minute reaches Kafka before what it emits in the next.
	sort.SliceStable(all, func(i, j int) bool { return all[i].ts.Before(all[j].ts) })
	for i := 0; i < len(all); {
		b := all[i].ts.Truncate(time.Minute)
		j := i
		for j < len(all) && all[j].ts.Truncate(time.Minute).Equal(b) {
			j++
		}
		s.minutes = append(s.minutes, all[i:j])
		i = j
	}
	t.Logf("stream: %d events (%d content, %d reports) over %d minutes from %s; %d (term, minute) pairs",
		len(all), len(contents), len(reports), len(s.minutes), start.Format(time.RFC3339), len(s.truth))
	return s
}

// producer writes to the input topics the way the platform would: keyed by
// content ID, hashed to a partition.
type producer struct {
	w *kafka.Writer
}

func newProducer(t *testing.T, addr string) *producer {
	t.Helper()
	w := &kafka.Writer{
		Addr: kafka.TCP(addr),
		// Connections of its own, not kafka-go's shared pool: a test that
		// kills the broker starts a new producer afterwards.
		Transport:    &kafka.Transport{},
		Balancer:     &kafka.Hash{},
		BatchTimeout: 2 * time.Millisecond,
		BatchSize:    2000,
		BatchBytes:   16 << 20, // the 10 MB bad message goes through
		RequiredAcks: kafka.RequireAll,
		MaxAttempts:  3,
	}
	t.Cleanup(func() { w.Close() })
	return &producer{w: w}
}

func (p *producer) write(ctx context.Context, msgs []message) error {
	out := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		out[i] = kafka.Message{Topic: m.topic, Key: m.key, Value: m.value, Time: m.ts}
	}
	return p.w.WriteMessages(ctx, out...)
}

// play writes the stream a minute at a time, pace apart, calling before(i)
// ahead of minute i: where a test injects its fault.
func (s *stream) play(t *testing.T, p *producer, pace time.Duration, before func(i int)) {
	t.Helper()
	for i, msgs := range s.minutes {
		if before != nil {
			before(i)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := p.write(ctx, msgs)
		cancel()
		if err != nil {
			t.Fatalf("produce minute %d (%s): %v", i, msgs[0].ts.Truncate(time.Minute).Format("15:04"), err)
		}
		time.Sleep(pace)
	}
}

// sentinel moves event time past the end of the stream on every input
// partition, so every minute of the stream closes without waiting for the
// idle clock: the platform's next events would do the same. The sentinels
// carry no terms.
func sentinel(t *testing.T, addr string, at time.Time) {
	t.Helper()
	w := &kafka.Writer{
		Addr:      kafka.TCP(addr),
		Transport: &kafka.Transport{},
		Balancer: kafka.BalancerFunc(func(m kafka.Message, _ ...int) int {
			n, _ := strconv.Atoi(string(m.Key[strings.LastIndexByte(string(m.Key), '-')+1:]))
			return n
		}),
		RequiredAcks: kafka.RequireAll,
	}
	defer w.Close()
	ts := at.UTC().Format(time.RFC3339Nano)
	var msgs []kafka.Message
	for p := 0; p < partitions; p++ {
		key := fmt.Sprintf("sentinel-%d", p)
		msgs = append(msgs,
			kafka.Message{Topic: contentTopic, Key: []byte(key), Value: []byte(fmt.Sprintf(
				`{"event_id":"%s-c","ts":%q,"content_id":%q,"creator_id":"sentinel","hashtags":[]}`, key, ts, key))},
			kafka.Message{Topic: reportTopic, Key: []byte(key), Value: []byte(fmt.Sprintf(
				`{"event_id":"%s-r","ts":%q,"content_id":"sentinel-none","reporter_id":"sentinel","reason":"spam"}`, key, ts))})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("produce sentinels: %v", err)
	}
}

// withFamilies adds to a post's (or report's) terms the family of each of its
// hashtags that has one (family.KeyOf), each family once: what the pipeline
// counts as family:<key>.
func withFamilies(keys []string) []string {
	out := slices.Clone(keys)
	for _, k := range keys {
		v, ok := strings.CutPrefix(k, event.KindHashtag.String()+":")
		if !ok {
			continue
		}
		if key, own := family.KeyOf(v); !own {
			if f := family.Prefix + key; !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}
