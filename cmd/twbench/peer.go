package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/sim/gen"
)

// The peer a team would build instead of trendwatch: ClickHouse's own Kafka
// engine reading the content topic, and a materialized view into per-minute
// term counts with uniq creators. Both it and trendwatch with its ClickHouse
// sink drain one backlog on their own pair of topics.
const (
	peerContent = "peer-content-events"
	peerReports = "peer-report-events"
)

// peerResult is the peer row and trendwatch's beside it.
type peerResult struct {
	messages int // in the backlog
	events   int // content events in it
	mentions int // hashtag mentions in it
	marks    int // readiness marks in the topic before it, which trendwatch reads too
	ch       childResult
	tw       childResult
	skipped  string // why not measured, when it was not
}

// clickhouseScript is the test server's start/stop script, found from the
// working directory (make bench runs in the repository's root).
func clickhouseScript() (string, error) {
	script, err := filepath.Abs("scripts/clickhouse.sh")
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(script); err != nil {
		return "", fmt.Errorf("no scripts/clickhouse.sh here: run from the repository's root")
	}
	if _, err := exec.LookPath("clickhouse-server"); err != nil {
		if _, err := os.Stat("/usr/sbin/clickhouse-server"); err != nil {
			return "", fmt.Errorf("clickhouse-server is not installed")
		}
	}
	if _, err := exec.LookPath("clickhouse-client"); err != nil {
		return "", fmt.Errorf("clickhouse-client is not installed")
	}
	return script, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// chServer is a test ClickHouse server of its own, on a free loopback port.
type chServer struct {
	script, dir string
	port, pid   int
}

// startClickHouse starts one; skipped says why it cannot be (not installed),
// where that is no error.
func startClickHouse(ctx context.Context) (srv *chServer, skipped string, err error) {
	script, err := clickhouseScript()
	if err != nil {
		return nil, err.Error(), nil
	}
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	dir, err := os.MkdirTemp("", "twbench-clickhouse-")
	if err != nil {
		return nil, "", err
	}
	if out, err := exec.CommandContext(ctx, script, "start", dir, strconv.Itoa(port)).CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, "", fmt.Errorf("start ClickHouse: %w: %s", err, out)
	}
	srv = &chServer{script: script, dir: dir, port: port}
	pidb, err := os.ReadFile(filepath.Join(dir, "server.pid"))
	if err != nil {
		srv.stop()
		return nil, "", fmt.Errorf("ClickHouse pid: %w", err)
	}
	srv.pid, _ = strconv.Atoi(strings.TrimSpace(string(pidb)))
	return srv, "", nil
}

func (c *chServer) stop() {
	exec.Command(c.script, "stop", c.dir).Run() //nolint:errcheck // best effort at exit
	os.RemoveAll(c.dir)
}

func (c *chServer) addr() string { return "127.0.0.1:" + strconv.Itoa(c.port) }

// query runs q (several statements allowed) with clickhouse-client.
func (c *chServer) query(ctx context.Context, q string) (string, error) {
	cmd := exec.CommandContext(ctx, "clickhouse-client", "--port", strconv.Itoa(c.port), "--multiquery", "-q", q)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("clickhouse-client: %w: %s", err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// count runs q, which returns one number.
func (c *chServer) count(ctx context.Context, q string) (int, error) {
	out, err := c.query(ctx, q)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(out)
}

// peerSchema is the peer in database db: a Kafka table on topic (consumer
// group group) and a materialized view into per-minute term counts with uniq
// creators, db.term_minutes. block is the Kafka table's kafka_max_block_size,
// 0 for its default (max_block_size, 65,536 rows): 18.16's Kafka engine
// hands a block to the view only once it is full, so a live peer needs a
// small one.
func peerSchema(db, brokers, topic, group string, block int) string {
	settings := ""
	if block > 0 {
		settings = fmt.Sprintf(", kafka_max_block_size = %d", block)
	}
	return `CREATE DATABASE ` + db + `;
CREATE TABLE ` + db + `.content_queue (event_id String, ts String, content_id String, creator_id String, region String, lang String,
  hashtags Array(String), challenge_id String, sound_id String, text String)
  ENGINE = Kafka SETTINGS kafka_broker_list = '` + brokers + `', kafka_topic_list = '` + topic + `', kafka_group_name = '` + group + `', kafka_format = 'JSONEachRow'` + settings + `;
CREATE TABLE ` + db + `.term_minutes (minute DateTime, term String, mentions AggregateFunction(count), creators AggregateFunction(uniq, String))
  ENGINE = AggregatingMergeTree() ORDER BY (term, minute);
CREATE MATERIALIZED VIEW ` + db + `.term_minutes_mv TO ` + db + `.term_minutes AS
  SELECT toStartOfMinute(parseDateTimeBestEffort(ts)) AS minute, arrayJoin(hashtags) AS term,
    countState() AS mentions, uniqState(creator_id) AS creators
  FROM ` + db + `.content_queue GROUP BY minute, term;`
}

// setUpPeer makes the peer in database db (peerSchema) and waits until its
// Kafka table has joined group and consumes topic. Marks, one per partition,
// say when; their hashtags (twbenchready…) are to be left out of the counts.
// A partition without a committed offset would start at its end again after
// a detach, skipping a backlog, so a whole round of marks must come through.
// The topic must also exist before the table subscribes, or the engine waits
// for its next metadata refresh, minutes away: the first round makes it.
// The marks are stamped markAt (zero: the clock), and the topic holds marks
// of them, which whoever else reads it counts.
//
// A backlog produced after them must be stamped markAt or later: trendwatch
// reads the topic from its start, and marks stamped at the clock ahead of a
// backlog of the past moved its event time past all of it, so the sink row
// counted 1,070 of 480,766 events, the rest late (until 7 December).
func (c *chServer) setUpPeer(ctx context.Context, brokers, db, topic, group string, partitions, block int, markAt time.Time) (marks int, err error) {
	round := 0
	mark := func() error {
		round++
		at := markAt
		if at.IsZero() {
			at = time.Now()
		}
		msgs := make([]kafka.Message, partitions)
		for p := range msgs {
			msgs[p] = kafka.Message{Topic: topic, Key: []byte(strconv.Itoa(p)), Value: []byte(fmt.Sprintf(
				`{"event_id":"ready-%d-%d","ts":%q,"content_id":"ready","creator_id":"ready","hashtags":["twbenchready%d"]}`,
				round, p, at.UTC().Format(time.RFC3339), round))}
		}
		if err := produceTo(ctx, brokers, msgs, byKey); err != nil {
			return err
		}
		marks += len(msgs)
		return nil
	}
	if err := mark(); err != nil {
		return marks, err
	}
	if _, err := c.query(ctx, peerSchema(db, brokers, topic, group, block)); err != nil {
		return marks, err
	}
	// A new group starts at the end of the topic: mark until a mark counts.
	lastMark := time.Now()
	err = waitFor(ctx, 90*time.Second, func() (bool, error) {
		n, err := c.count(ctx, fmt.Sprintf("SELECT count() FROM (SELECT term FROM %s.term_minutes WHERE term LIKE 'twbenchready%%' GROUP BY term HAVING countMerge(mentions) >= %d)", db, partitions))
		if err != nil || n > 0 {
			return n > 0, err
		}
		if time.Since(lastMark) > 2*time.Second {
			lastMark = time.Now()
			return false, mark()
		}
		return false, nil
	})
	if err != nil {
		return marks, fmt.Errorf("the Kafka engine consumed nothing: %w", err)
	}
	return marks, nil
}

// measurePeer starts the test ClickHouse server, sets up the peer, and times
// both on a backlog of n messages. The Kafka engine starts a new group at
// the latest offset, so the backlog is produced while its table is detached.
func measurePeer(ctx context.Context, s *stream, n int) (peerResult, error) {
	srv, skipped, err := startClickHouse(ctx)
	if srv == nil {
		return peerResult{skipped: skipped}, err
	}
	defer srv.stop()
	// The marks at the backlog's start, a minute before its first post.
	marks, err := srv.setUpPeer(ctx, s.addr, "peer", peerContent, "twbench-peer", s.partitions, 0, streamConfig(n).Start.Add(-time.Minute))
	if err != nil {
		return peerResult{}, err
	}
	res := peerResult{marks: marks}
	if _, err := srv.query(ctx, "DETACH TABLE peer.content_queue"); err != nil {
		return peerResult{}, err
	}
	// The generator may end its event time before n messages: the backlog is
	// what it produced, and both sides are timed on all of it.
	if res.messages, res.events, res.mentions, err = producePeerBacklog(ctx, s.addr, n); err != nil {
		return res, err
	}
	cpu0 := procCPUSeconds(srv.pid)
	began := time.Now()
	if _, err := srv.query(ctx, "ATTACH TABLE peer.content_queue"); err != nil {
		return res, err
	}
	if err := waitFor(ctx, 5*time.Minute, func() (bool, error) {
		m, err := srv.count(ctx, "SELECT countMerge(mentions) FROM peer.term_minutes WHERE term NOT LIKE 'twbenchready%'")
		return m >= res.mentions, err
	}); err != nil {
		return res, fmt.Errorf("the peer did not count the backlog's %d mentions: %w", res.mentions, err)
	}
	res.ch = childResult{Events: res.events, Seconds: time.Since(began).Seconds(), CPUSeconds: procCPUSeconds(srv.pid) - cpu0, PeakRSS: procPeakRSS(srv.pid)}

	// trendwatch on the same backlog, writing its rows to the same server.
	k := childRun{mode: modeSink, cores: 0, group: fmt.Sprintf("twbench-%d-sink", os.Getpid())}
	// The topic holds the marks before the backlog: trendwatch reads them too.
	res.tw, err = k.runEnv(ctx, s.addr, res.messages+res.marks, "TWBENCH_CLICKHOUSE="+srv.addr())
	if err != nil {
		return res, fmt.Errorf("trendwatch with its ClickHouse sink: %w", err)
	}
	return res, nil
}

// producePeerBacklog produces the stream's first n messages again (fewer
// where the generator's event time ends first), to the peer's topics, and
// counts the messages, their content events and hashtag mentions.
func producePeerBacklog(ctx context.Context, addr string, n int) (messages, events, mentions int, err error) {
	gc := streamConfig(n)
	g, err := gen.New(gc)
	if err != nil {
		return 0, 0, 0, err
	}
	batch := make([]kafka.Message, 0, 5000)
	for i := 0; i < n; i++ {
		m, ok := g.Next()
		if !ok {
			break
		}
		messages++
		topic := peerReports
		if m.Topic == gen.Content {
			topic = peerContent
			events++
			var c struct{ Hashtags []string }
			if err := json.Unmarshal(m.Value, &c); err != nil {
				return 0, 0, 0, err
			}
			mentions += len(c.Hashtags)
		}
		batch = append(batch, kafka.Message{Topic: topic, Key: bytes.Clone(m.Key), Value: bytes.Clone(m.Value)})
		if len(batch) == cap(batch) {
			if err := produceTo(ctx, addr, batch); err != nil {
				return 0, 0, 0, err
			}
			batch = batch[:0]
		}
	}
	return messages, events, mentions, produceTo(ctx, addr, batch)
}

// byKey sends a message whose key is a partition number to that partition.
var byKey = kafka.BalancerFunc(func(m kafka.Message, partitions ...int) int {
	p, _ := strconv.Atoi(string(m.Key))
	return partitions[p%len(partitions)]
})

func produceTo(ctx context.Context, addr string, msgs []kafka.Message, balancer ...kafka.Balancer) error {
	if len(msgs) == 0 {
		return nil
	}
	icfg := ingest.DefaultConfig()
	icfg.Brokers = []string{addr}
	w, err := icfg.NewWriter("")
	if err != nil {
		return err
	}
	if len(balancer) > 0 {
		w.Balancer = balancer[0]
	}
	defer w.Close()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	return nil
}

func waitFor(ctx context.Context, limit time.Duration, done func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	for {
		ok, err := done()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// procCPUSeconds is a process's user and system time, from /proc.
func procCPUSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which may hold spaces, in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ
}

func procPeakRSS(pid int) int64 {
	return statusPeakRSS(fmt.Sprintf("/proc/%d/status", pid))
}
