//go:build integration

package faults

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/internal/testenv"
	"github.com/trendwatch/trendwatch/sim/gen"
)

// The stream every fault test plays: half an hour of event time with every
// injected scenario, a minute of it every pace.
const (
	streamSeed     = 7
	streamRate     = 20
	streamDuration = 30 * time.Minute
	pace           = 500 * time.Millisecond
)

var streamStart = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

// reference is the run with no fault that the others are compared with.
type reference struct {
	done   chan struct{}
	rows   map[termMinute]row
	alerts []string // readAlerts of its database, which goes when it ends
}

func (r *reference) wait(t *testing.T) map[termMinute]row {
	t.Helper()
	<-r.done
	if r.rows == nil {
		t.Fatal("the reference run failed; nothing to compare with")
	}
	return r.rows
}

// watchlist settings shared by every run, so the dangerous challenge is
// tracked (and counted exactly) from its first mention.
func watchlist() string {
	return "TRENDWATCH_DETECTORS_WATCHLIST_TERMS=" + strings.Join(gen.DefaultWatchlist(), ",")
}

// TestFaults plays one generated stream through the real binaries once
// cleanly and once per fault, in parallel, and checks every run's
// per-term, per-minute totals in ClickHouse against the generator's own
// counts and against the clean run.
func TestFaults(t *testing.T) {
	t.Parallel()
	chAddr := testenv.ClickHouse(t)
	s := generate(t, streamSeed, streamRate, streamDuration, streamStart)
	ref := &reference{done: make(chan struct{})}
	t.Run("group", func(t *testing.T) {
		t.Run("reference", func(t *testing.T) {
			t.Parallel()
			defer close(ref.done)
			rows, db := referenceRun(t, s, chAddr)
			if !t.Failed() {
				ref.rows, ref.alerts = rows, readAlerts(t, chAddr, db)
			}
		})
		t.Run("kill9", func(t *testing.T) {
			t.Parallel()
			kill9(t, s, chAddr, ref)
		})
		t.Run("clickhouse_down", func(t *testing.T) {
			t.Parallel()
			clickhouseDown(t, s, ref)
		})
		t.Run("broker_restart", func(t *testing.T) {
			t.Parallel()
			brokerRestart(t, s, chAddr, ref)
		})
		t.Run("standby", func(t *testing.T) {
			t.Parallel()
			standby(t, s, chAddr, ref)
		})
		t.Run("zombie", func(t *testing.T) {
			t.Parallel()
			zombie(t, s, chAddr, ref)
		})
		t.Run("shards", func(t *testing.T) {
			t.Parallel()
			shards(t, s, chAddr, ref)
		})
		t.Run("stages", func(t *testing.T) {
			t.Parallel()
			stages(t, s, chAddr, ref)
		})
		t.Run("stages_broker_restart", func(t *testing.T) {
			t.Parallel()
			stagesBrokerRestart(t, s, chAddr, ref)
		})
		t.Run("incident_down", func(t *testing.T) {
			t.Parallel()
			incidentDown(t, s, chAddr, ref)
		})
	})
}

func referenceRun(t *testing.T, s *stream, chAddr string) (map[termMinute]row, string) {
	b := startBroker(t, freeAddr(t), t.TempDir())
	cfg := newRunConfig(t, b.addr, chAddr)
	cfg.extra = append(cfg.extra, watchlist())
	cfg.migrate(t)
	p := cfg.start(t, "run")
	s.play(t, newProducer(t, b.addr), pace, nil)
	cfg.finish(t, p, s)
	got := readRows(t, chAddr, cfg.database, s)
	t.Logf("reference: %v", checkTotals(t, s, got))
	checkIngestStats(t, chAddr, cfg.database, s)
	return got, cfg.database
}

// kill9 crashes `trendwatch run` twice: once mid-stream after checkpoints and
// rows were written, and again while it is catching up on what was produced
// while it was down.
func kill9(t *testing.T, s *stream, chAddr string, ref *reference) {
	b := startBroker(t, freeAddr(t), t.TempDir())
	cfg := newRunConfig(t, b.addr, chAddr)
	cfg.extra = append(cfg.extra, watchlist())
	cfg.migrate(t)
	procs := []*proc{cfg.start(t, "run1")}
	p := procs[0]
	restart := func() {
		p = cfg.start(t, fmt.Sprint("run", len(procs)+1))
		procs = append(procs, p)
	}
	s.play(t, newProducer(t, b.addr), pace, func(i int) {
		switch i {
		case 12:
			waitForCheckpoint(t, cfg)
			p.kill9()
			t.Logf("minute %d: kill -9 after a checkpoint and rows in ClickHouse", i)
		case 17:
			restart()
			t.Logf("minute %d: restarted with the same configuration", i)
		case 18:
			// As soon as it takes in records: catching up on what was
			// produced while it was down, before its first checkpoint.
			// (Killed before it has joined the group, it could leave
			// partitions assigned to a dead member for the session timeout,
			// while this stream moves two minutes of event time a second.)
			waitFor(t, 60*time.Second, p.name+" to take in records", func() (bool, error) {
				m, err := scrape(cfg.metrics)
				return err == nil && m.sum("trendwatch_pipeline_records_total") > 0, err
			})
			p.kill9()
			restart()
			t.Logf("minute %d: kill -9 again while catching up, restarted", i)
		}
	})
	cfg.finish(t, p, s)
	for _, r := range procs[1:] {
		if !strings.Contains(r.output(), "resumed from checkpoint") {
			t.Errorf("%s did not resume from the checkpoint:\n%s", r.name, r.tail(20))
		}
	}
	got := readRows(t, chAddr, cfg.database, s)
	t.Logf("kill -9: %v", checkTotals(t, s, got))
	checkIngestStats(t, chAddr, cfg.database, s)
	checkSameRows(t, got, ref.wait(t))
}

// waitForCheckpoint waits until rows are in ClickHouse and a commit round
// (flush, checkpoint, offsets) has completed after them.
func waitForCheckpoint(t *testing.T, cfg runConfig) {
	t.Helper()
	var commits float64
	waitFor(t, 30*time.Second, "rows in ClickHouse", func() (bool, error) {
		m, err := scrape(cfg.metrics)
		if err != nil {
			return false, err
		}
		commits = m.sum("trendwatch_sink_flush_seconds_count")
		return m.sum("trendwatch_clickhouse_rows_written_total", `table="trend_minute"`) > 0, nil
	})
	waitFor(t, 30*time.Second, "a checkpoint after the rows", func() (bool, error) {
		m, err := scrape(cfg.metrics)
		if err != nil {
			return false, err
		}
		if _, err := os.Stat(filepath.Join(cfg.checkpoint, "state.ckpt")); err != nil {
			return false, err
		}
		return m.sum("trendwatch_sink_flush_seconds_count") > commits, nil
	})
}

// clickhouseServer is a ClickHouse server of the test's own, which it can
// stop and start again on its data.
type clickhouseServer struct {
	root, dir, addr string
}

func startClickHouse(t *testing.T) *clickhouseServer {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	c := &clickhouseServer{root: root, dir: t.TempDir(), addr: freeAddr(t)}
	c.start(t)
	t.Cleanup(func() { c.stop(t) })
	return c
}

func (c *clickhouseServer) script(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(c.root, "scripts", "clickhouse.sh"), args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/clickhouse.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func (c *clickhouseServer) start(t *testing.T) {
	_, port, _ := strings.Cut(c.addr, ":")
	c.script(t, "start", c.dir, port)
}

func (c *clickhouseServer) stop(t *testing.T) { c.script(t, "stop", c.dir) }

// clickhouseDown stops ClickHouse for 30 s mid-stream while the stream goes
// on. The pipeline must stop reading rather than buffer, keep its memory
// bounded, say so in /metrics, and catch up with nothing lost.
func clickhouseDown(t *testing.T, s *stream, ref *reference) {
	const outage = 30 * time.Second
	// The bound: the sketch window's worst case (window.memory_budget, 256 MiB
	// by default) and 128 MiB for everything else. It holds with room to spare
	// whatever the backlog, because a stalled pipeline stops reading.
	const rssBound = (256 + 128) << 10 // KiB
	server := startClickHouse(t)
	b := startBroker(t, freeAddr(t), t.TempDir())
	cfg := newRunConfig(t, b.addr, server.addr)
	cfg.extra = append(cfg.extra, watchlist())
	cfg.migrate(t)
	p := cfg.start(t, "run")

	var (
		down     time.Time
		before   int64
		samplers sync.WaitGroup
		stopRSS  = make(chan struct{})
		peak     int64
	)
	s.play(t, newProducer(t, b.addr), pace, func(i int) {
		if i != 10 {
			return
		}
		waitFor(t, 30*time.Second, "rows in ClickHouse", func() (bool, error) {
			m, err := scrape(cfg.metrics)
			return err == nil && m.sum("trendwatch_clickhouse_rows_written_total", `table="trend_minute"`) > 0, err
		})
		var err error
		if before, err = p.rssKiB(); err != nil {
			t.Fatal(err)
		}
		server.stop(t)
		down = time.Now()
		t.Logf("minute %d: ClickHouse stopped; RSS %d MiB", i, before>>10)
		samplers.Add(1)
		go func() {
			defer samplers.Done()
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				if kib, err := p.rssKiB(); err == nil && kib > peak {
					peak = kib
				}
				select {
				case <-stopRSS:
					return
				case <-tick.C:
				}
			}
		}()
	})
	// The whole rest of the stream went to Kafka during the outage. While
	// ClickHouse stays down the pipeline must be stalled: rows queued, inserts
	// failing and retried, no records taken in.
	time.Sleep(3 * time.Second)
	m1, err := scrape(cfg.metrics)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(down.Add(outage - 2*time.Second)))
	m2, err := scrape(cfg.metrics)
	if err != nil {
		t.Fatal(err)
	}
	records := func(m metrics) float64 { return m.sum("trendwatch_pipeline_records_total") }
	queued := m2.sum("trendwatch_clickhouse_queued_rows")
	failed := m2.sum("trendwatch_clickhouse_flush_errors_total", `kind="transient"`)
	between := outage - 5*time.Second
	t.Logf("while ClickHouse is down: %v rows queued, %v failed inserts retried (%v in the %v between samples), %v records taken in of %d produced (%v between samples)",
		queued, failed, failed-m1.sum("trendwatch_clickhouse_flush_errors_total", `kind="transient"`), between,
		records(m2), s.total, records(m2)-records(m1))
	if queued == 0 {
		t.Error("trendwatch_clickhouse_queued_rows is 0 while ClickHouse is down: rows went nowhere")
	}
	if failed <= m1.sum("trendwatch_clickhouse_flush_errors_total", `kind="transient"`) {
		t.Error("trendwatch_clickhouse_flush_errors_total{kind=transient} did not grow while ClickHouse was down")
	}
	if records(m2) != records(m1) {
		t.Errorf("the pipeline took in %v records while ClickHouse was down: it buffers instead of pushing back", records(m2)-records(m1))
	}
	if records(m2) >= float64(s.total) {
		t.Errorf("the pipeline read all %d messages while ClickHouse was down; the stall proves nothing", s.total)
	}
	time.Sleep(time.Until(down.Add(outage)))
	server.start(t)
	t.Logf("ClickHouse back after %v", time.Since(down).Round(time.Second))
	close(stopRSS)
	samplers.Wait()
	t.Logf("RSS: %d MiB before the outage, peak %d MiB during it; bound %d MiB", before>>10, peak>>10, rssBound>>10)
	if peak > rssBound {
		t.Errorf("RSS peaked at %d MiB while ClickHouse was down, above the %d MiB bound", peak>>10, rssBound>>10)
	}
	cfg.finish(t, p, s)
	got := readRows(t, server.addr, cfg.database, s)
	t.Logf("ClickHouse down %v: %v", outage, checkTotals(t, s, got))
	checkIngestStats(t, server.addr, cfg.database, s)
	checkSameRows(t, got, ref.wait(t))
}

// brokerRestart kills the broker process mid-stream and starts it again on
// the same port and log. trendwatch is not touched: it must recover by
// itself.
func brokerRestart(t *testing.T, s *stream, chAddr string, ref *reference) {
	b := startBroker(t, freeAddr(t), t.TempDir())
	cfg := newRunConfig(t, b.addr, chAddr)
	cfg.extra = append(cfg.extra, watchlist())
	cfg.migrate(t)
	p := cfg.start(t, "run")
	prod := newProducer(t, b.addr)
	var deadAt string // where the bad message sent after the restart sits
	s.play(t, prod, pace, func(i int) {
		if i != 13 {
			return
		}
		hwm, committed := brokerState(t, b.addr, cfg.group)
		b.p.kill9()
		time.Sleep(2 * time.Second)
		b.start(t)
		hwm2, committed2 := brokerState(t, b.addr, cfg.group)
		// The pipeline may commit between the look and the kill, so
		// committed offsets may only have moved on.
		for k, v := range hwm {
			if hwm2[k] != v || committed2[k] < committed[k] {
				t.Fatalf("%s across the broker's kill -9: high-water mark %d → %d, committed %d → %d",
					k, v, hwm2[k], committed[k], committed2[k])
			}
		}
		t.Logf("minute %d: broker killed and restarted on its log; high-water marks %v, committed %v", i, hwm2, committed2)
		// A producer with fresh connections, as the platform's would open.
		prod = newProducer(t, b.addr)
		// A bad message after the restart: the dead-letter writer, whose
		// connections went down with the broker, must still deliver it.
		bad := message{topic: contentTopic, key: []byte("bad-after-restart"), value: []byte(`{"event_id":`)}
		ids := make([]int, partitions)
		for i := range ids {
			ids[i] = i
		}
		part := (&kafka.Hash{}).Balance(kafka.Message{Key: bad.key}, ids...)
		deadAt = fmt.Sprintf("%s/%d/%d", contentTopic, part, hwm2[fmt.Sprintf("%s/%d", contentTopic, part)])
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := prod.write(ctx, []message{bad}); err != nil {
			t.Fatalf("produce a bad message after the restart: %v", err)
		}
	})
	cfg.finish(t, p, s)
	if !strings.Contains(p.output(), "kafka reader") {
		t.Error("no kafka reader error in the log: did the broker restart reach the consumer at all?")
	}
	var dead []string
	for _, d := range readDeadLetters(t, b.addr) {
		h := map[string]string{}
		for _, x := range d.Headers {
			h[x.Key] = string(x.Value)
		}
		dead = append(dead, h["trendwatch-source-topic"]+"/"+h["trendwatch-source-partition"]+"/"+h["trendwatch-source-offset"]+" "+h["trendwatch-reason"])
	}
	if len(dead) != 1 || dead[0] != deadAt+" invalid_json" {
		t.Errorf("dead letters after the broker restart: %q, want [%s invalid_json]", dead, deadAt)
	}
	got := readRows(t, chAddr, cfg.database, s)
	t.Logf("broker restart: %v", checkTotals(t, s, got))
	checkIngestStats(t, chAddr, cfg.database, s)
	checkSameRows(t, got, ref.wait(t))
}

// brokerState is what a broker holds for the input partitions: their
// high-water marks and the group's committed offsets.
func brokerState(t *testing.T, addr, group string) (hwm, committed map[string]int64) {
	t.Helper()
	return topicState(t, addr, group, contentTopic, reportTopic)
}

// topicState is what a broker holds for the partitions of topics: their
// high-water marks and the group's committed offsets.
func topicState(t *testing.T, addr, group string, topicNames ...string) (hwm, committed map[string]int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A transport of its own: kafka-go's shared one keeps connections to a
	// broker that was killed and answers EOF on them.
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	cl := &kafka.Client{Addr: kafka.TCP(addr), Transport: tr}
	hwm, committed = map[string]int64{}, map[string]int64{}
	topics := map[string][]int{}
	for _, topic := range topicNames {
		for p := 0; p < partitions; p++ {
			topics[topic] = append(topics[topic], p)
			conn, err := kafka.DialLeader(ctx, "tcp", addr, topic, p)
			if err != nil {
				t.Fatalf("dial %s/%d: %v", topic, p, err)
			}
			last, err := conn.ReadLastOffset()
			conn.Close()
			if err != nil {
				t.Fatalf("high-water mark of %s/%d: %v", topic, p, err)
			}
			hwm[fmt.Sprintf("%s/%d", topic, p)] = last
		}
	}
	res, err := cl.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: topics})
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	for topic, ps := range res.Topics {
		for _, po := range ps {
			committed[fmt.Sprintf("%s/%d", topic, po.Partition)] = po.CommittedOffset
		}
	}
	return hwm, committed
}

// webhookReceiver is an incident endpoint that fails with 503 until a set
// time, and records every request.
type webhookReceiver struct {
	t         *testing.T
	key       []byte
	failUntil time.Time

	mu        sync.Mutex
	attempts  int
	failed    int
	badSig    int
	delivered map[string]int // webhook-id → 2xx responses
}

func (w *webhookReceiver) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id, ts, sig := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature")
	mac := hmac.New(sha256.New, w.key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	w.mu.Lock()
	defer w.mu.Unlock()
	w.attempts++
	if !hmac.Equal([]byte(sig), []byte(want)) {
		w.badSig++
		rw.WriteHeader(http.StatusUnauthorized)
		return
	}
	if time.Now().Before(w.failUntil) {
		w.failed++
		rw.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.delivered[id]++
	rw.WriteHeader(http.StatusNoContent)
}

// recover makes the endpoint answer from now on.
func (w *webhookReceiver) recover() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failUntil = time.Now()
}

// newWebhookReceiver serves a webhookReceiver failing until failUntil, and
// returns it with the environment that points `trendwatch run` at it.
func newWebhookReceiver(t *testing.T, failUntil time.Time) (*webhookReceiver, []string) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	recv := &webhookReceiver{t: t, key: key, failUntil: failUntil, delivered: map[string]int{}}
	srv := httptest.NewServer(recv)
	t.Cleanup(srv.Close)
	return recv, []string{
		"TRENDWATCH_INCIDENT_ENABLED=true",
		"TRENDWATCH_INCIDENT_KIND=webhook",
		"TRENDWATCH_INCIDENT_URL=" + srv.URL,
		"TRENDWATCH_INCIDENT_ALLOWED_SCHEMES=http",
		"TRENDWATCH_INCIDENT_ALLOWED_HOSTS=127.0.0.1",
		"TRENDWATCH_INCIDENT_SECRET=whsec_" + base64.StdEncoding.EncodeToString(key),
		"TRENDWATCH_INCIDENT_MIN_SEVERITY=low",
		// Every transition is to go out: no per-term rate limit.
		"TRENDWATCH_INCIDENT_PER_TERM_INTERVAL=0s",
		"TRENDWATCH_INCIDENT_BACKOFF_BASE=200ms",
		"TRENDWATCH_INCIDENT_BACKOFF_MAX=3s",
	}
}

// checkDeliveredOnce checks that every transition alert_events holds that
// the notifier is to send reached recv exactly once, correctly signed, and
// nothing else did.
func (w *webhookReceiver) checkDeliveredOnce(t *testing.T, chAddr, db string) {
	t.Helper()
	want := expectedDeliveries(t, chAddr, db)
	w.mu.Lock()
	defer w.mu.Unlock()
	t.Logf("incident endpoint: %d requests, %d answered 503, %d bad signatures; %d transitions in alert_events to send, %d delivered",
		w.attempts, w.failed, w.badSig, len(want), len(w.delivered))
	if len(want) == 0 {
		t.Fatal("no alert transition to deliver: the test proves nothing")
	}
	if w.failed == 0 {
		t.Error("no request met the failing endpoint")
	}
	if w.badSig > 0 {
		t.Errorf("%d requests with a wrong webhook-signature", w.badSig)
	}
	for id := range want {
		if n := w.delivered[id]; n != 1 {
			t.Errorf("transition %s delivered %d times, want once", id, n)
		}
	}
	for id := range w.delivered {
		if !want[id] {
			t.Errorf("delivered %s, which alert_events does not hold as one to send", id)
		}
	}
}

// incidentDown makes the incident endpoint fail for the first minute. Every
// transition ClickHouse holds that the sink is to send must reach the
// endpoint once it recovers, exactly once per webhook-id, correctly signed.
func incidentDown(t *testing.T, s *stream, chAddr string, ref *reference) {
	const failFor = time.Minute
	recv, env := newWebhookReceiver(t, time.Now().Add(failFor))
	b := startBroker(t, freeAddr(t), t.TempDir())
	cfg := newRunConfig(t, b.addr, chAddr)
	cfg.extra = append(append(cfg.extra, watchlist()), env...)
	cfg.migrate(t)
	p := cfg.start(t, "run")
	s.play(t, newProducer(t, b.addr), pace, nil)
	time.Sleep(time.Until(recv.failUntil))
	waitFor(t, 60*time.Second, "the incident outbox to empty after the endpoint recovered", func() (bool, error) {
		m, err := scrape(cfg.metrics)
		return err == nil && m.sum("trendwatch_incident_outbox_size") == 0, err
	})
	cfg.finish(t, p, s)
	recv.checkDeliveredOnce(t, chAddr, cfg.database)
	got := readRows(t, chAddr, cfg.database, s)
	t.Logf("incident endpoint down: %v", checkTotals(t, s, got))
	checkIngestStats(t, chAddr, cfg.database, s)
	checkSameRows(t, got, ref.wait(t))
}

// expectedDeliveries is the set of webhook-ids the incident notifier is to send
// for what alert_events holds: every open or escalation at or above the
// minimum severity (low), and the resolve of every alert that sent one.
func expectedDeliveries(t *testing.T, chAddr, db string) map[string]bool {
	t.Helper()
	conn, err := dial(chAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.Query(context.Background(), "SELECT event_id, key, opened_at, to_status, severity_level FROM `"+db+
		"`.alert_events FINAL ORDER BY key, seq")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type instance struct {
		key    string
		opened time.Time
	}
	triggered := map[instance]bool{}
	want := map[string]bool{}
	for rows.Next() {
		var (
			id, key, to string
			opened      time.Time
			level       uint8
		)
		if err := rows.Scan(&id, &key, &opened, &to, &level); err != nil {
			t.Fatal(err)
		}
		in := instance{key, opened}
		switch {
		case to != string(alert.StatusResolved) && alert.Severity(level) >= alert.SeverityLow:
			triggered[in] = true
			want[webhookID(id)] = true
		case to == string(alert.StatusResolved) && triggered[in]:
			want[webhookID(id)] = true
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return want
}

// webhookID is how a transition's ID travels in the webhook-id header:
// bytes outside printable ASCII, and '%', percent-encoded.
func webhookID(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c > ' ' && c < 0x7f && c != '%' {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(strconv.FormatUint(uint64(c)|0x100, 16)[1:]))
	}
	return b.String()
}
