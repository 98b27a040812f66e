//go:build integration

package faults

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sessionTimeout is the consumer groups' session timeout in the standby
// test: the broker's minimum, so a killed member is dropped quickly.
const sessionTimeout = "TRENDWATCH_KAFKA_SESSION_TIMEOUT=6s"

// standby runs the fail-over operators set up first: a second `trendwatch
// run` in the same group. Without --standby it must exit at once, saying
// what to run instead, while the first goes on undisturbed; with --standby
// it waits, not ready, and after kill -9 of the first takes every partition
// over from the first one's checkpoint and committed offsets. The rows in
// ClickHouse must then equal the generator's and the reference run's, with
// nothing dropped as late.
func standby(t *testing.T, s *stream, chAddr string, ref *reference) {
	b, cfg, first, spare := withSpare(t, chAddr)
	// The same configuration, its own /metrics.
	second := cfg
	second.metrics = freeAddr(t)
	refused := startProc(t, "second", second.env(), "run")
	var standby *proc

	s.play(t, newProducer(t, b.addr), pace, func(i int) {
		switch i {
		case 2:
			standby = spare.start(t, "standby")
		case 4:
			// A live member is not dropped after the session timeout.
			refused.refused(30*time.Second, "consumer group already has a member", "--standby")
			out := refused.output()
			for _, never := range []string{"sole member", "resumed from checkpoint", "checkpoint saved"} {
				if strings.Contains(out, never) {
					t.Errorf("second instance logged %q: it joined or touched the checkpoint", never)
				}
			}
			st := readyz(t, spare.metrics)
			if st.code != http.StatusServiceUnavailable || st.Status != "not ready" || !strings.Contains(st.Reason, "another instance holds the consumer group") {
				t.Errorf("standby /readyz: %d %s %q, want 503 not ready, another instance holds the group", st.code, st.Status, st.Reason)
			}
		case 12:
			waitForCheckpoint(t, cfg)
			first.kill9()
			t.Logf("minute %d: kill -9 of the first instance after a checkpoint and rows in ClickHouse", i)
		}
	})
	spare.finish(t, standby, s)
	out := standby.output()
	for _, want := range []string{"standby: another member holds the consumer group", "standby: took the consumer group over", "resumed from checkpoint"} {
		if !strings.Contains(out, want) {
			t.Errorf("standby did not log %q:\n%s", want, standby.tail(30))
		}
	}
	for _, never := range []string{"another member joined the consumer group", "the checkpoint is behind"} {
		if strings.Contains(first.output()+out, never) {
			t.Errorf("logged %q: two members shared the group", never)
		}
	}
	got := readRows(t, chAddr, cfg.database, s)
	t.Logf("standby after kill -9: %v", checkTotals(t, s, got))
	checkIngestStats(t, chAddr, cfg.database, s)
	checkSameRows(t, got, ref.wait(t))
}

type readyState struct {
	code   int
	Status string `json:"status"`
	Reason string `json:"reason"`
}

func readyz(t *testing.T, addr string) readyState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/readyz", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("/readyz: %v", err)
	}
	defer resp.Body.Close()
	st := readyState{code: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("/readyz: %v", err)
	}
	return st
}

// zombie pauses the primary past its session timeout, as a frozen VM or a
// long stall would, lets the standby take over and write, and then wakes
// the primary beside it. The primary must stop, saying another process took
// its state over, before it saves its checkpoint over the standby's or
// commits; rows it would write meanwhile lose against the standby's (their
// versions carry the older epoch: pipeline.TestRowVersion). ClickHouse must
// end up holding the generator's counts and the reference run's rows.
//
// Both page an incident endpoint that fails until the primary wakes, so the
// primary wakes with an outbox of pages the standby delivers as well (from
// the checkpoint it took over, or by judging the same buckets again): each
// must reach the endpoint once, the primary's copies never.
func zombie(t *testing.T, s *stream, chAddr string, ref *reference) {
	recv, env := newWebhookReceiver(t, time.Now().Add(time.Hour))
	b, cfg, first, spare := withSpare(t, chAddr, env...)
	var standby *proc
	s.play(t, newProducer(t, b.addr), pace, func(i int) {
		switch i {
		case 2:
			standby = spare.start(t, "standby")
		case 12:
			waitFor(t, 60*time.Second, "the first instance to hold a page the endpoint refused", func() (bool, error) {
				m, err := scrape(cfg.metrics)
				return err == nil && m.sum("trendwatch_incident_outbox_size") > 0, err
			})
			waitForCheckpoint(t, cfg)
			first.pause()
			t.Logf("minute %d: the first instance paused after a checkpoint, rows in ClickHouse and pages in its outbox", i)
		case 16:
			waitFor(t, 60*time.Second, "the standby to take over", func() (bool, error) {
				return strings.Contains(standby.output(), "standby: took the consumer group over"), nil
			})
			waitForCheckpoint(t, spare)
			recv.recover()
			first.resume()
			t.Logf("minute %d: the standby took over and wrote; the first instance woken", i)
			first.refused(60*time.Second, "another process took this pipeline's state over")
		}
	})
	spare.finish(t, standby, s)
	for _, want := range []string{"claimed the pipeline's state", "epoch=2", "resumed from checkpoint"} {
		if !strings.Contains(standby.output(), want) {
			t.Errorf("standby did not log %q:\n%s", want, standby.tail(30))
		}
	}
	recv.checkDeliveredOnce(t, chAddr, cfg.database)
	if !strings.Contains(first.output(), "delivering nothing more") {
		t.Errorf("the woken primary did not say it dropped its outbox:\n%s", first.tail(10))
	}
	got := readRows(t, chAddr, cfg.database, s)
	t.Logf("primary paused and woken beside its standby: %v", checkTotals(t, s, got))
	checkIngestStats(t, chAddr, cfg.database, s)
	checkSameRows(t, got, ref.wait(t))
}

// withSpare starts a broker, a database and a first `trendwatch run` that
// owns its group, with the environment extra too, and returns them with the
// configuration of a standby for it: the same but for its /metrics and
// kafka.standby.
func withSpare(t *testing.T, chAddr string, extra ...string) (b *brokerProc, cfg runConfig, first *proc, spare runConfig) {
	t.Helper()
	b = startBroker(t, freeAddr(t), t.TempDir())
	cfg = newRunConfig(t, b.addr, chAddr)
	cfg.extra = append(append(cfg.extra, watchlist(), sessionTimeout), extra...)
	cfg.migrate(t)
	first = cfg.start(t, "first")
	waitFor(t, 30*time.Second, "the first instance to own the group", func() (bool, error) {
		return strings.Contains(first.output(), "sole member of the consumer group"), nil
	})
	spare = cfg
	spare.metrics = freeAddr(t)
	spare.extra = append(append([]string(nil), cfg.extra...), "TRENDWATCH_KAFKA_STANDBY=true")
	return b, cfg, first, spare
}
