//go:build integration

package faults

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/alert"
)

// shards runs the stream through two `trendwatch run --shard I/2` processes
// writing into one database, kills shard 1 with -9 after a checkpoint and
// restarts it, and wants what they wrote together to be what the single
// reference process wrote: the same rows, exact where it was exact and equal
// to the generator's counts, every event counted once in ingest_stats (which
// shard 0 writes), and the same alerts, each transition once.
func shards(t *testing.T, s *stream, chAddr string, ref *reference) {
	b := startBroker(t, freeAddr(t), t.TempDir())
	base := newRunConfig(t, b.addr, chAddr)
	base.extra = append(base.extra, watchlist())
	base.migrate(t)
	const n = 2
	cfgs := make([]runConfig, n)
	procs := make([]*proc, n)
	for i := range cfgs {
		cfgs[i] = base.another(t, fmt.Sprintf("TRENDWATCH_PIPELINE_SHARD=%d", i), fmt.Sprintf("TRENDWATCH_PIPELINE_SHARDS=%d", n))
		procs[i] = cfgs[i].start(t, fmt.Sprintf("shard%d", i))
	}
	// shardView is cfgs[i] as the process derives it: its own group and
	// checkpoint directory.
	shardView := func(i int) runConfig { return cfgs[i].derived(fmt.Sprintf("shard-%d-of-%d", i, n)) }
	restarted := 0
	s.play(t, newProducer(t, b.addr), pace, func(i int) {
		switch i {
		case 2:
			// A run for every term in the shards' kafka.group would page
			// what they page: it must refuse to start, saying why.
			startProc(t, "single", base.another(t).env(), "run").refused(30*time.Second, "term shards of 2")
		case 12:
			waitForCheckpoint(t, shardView(1))
			procs[1].kill9()
			t.Logf("minute %d: kill -9 of shard 1 after a checkpoint and rows in ClickHouse", i)
		case 16:
			procs[1] = cfgs[1].start(t, "shard1-restarted")
			restarted++
			t.Logf("minute %d: shard 1 restarted with the same configuration", i)
		}
	})
	if restarted != 1 {
		t.Fatal("the stream ended before shard 1 was restarted")
	}
	at := s.end.Add(5 * time.Minute)
	sentinel(t, b.addr, at)
	for i, p := range procs {
		shardView(i).waitPast(t, p, at)
	}
	for i, p := range procs {
		shardView(i).stopCommitted(t, p)
		out := p.output()
		for _, want := range []string{"sharded: judging the terms of one shard", "shard-" + fmt.Sprint(i) + "-of-2"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s did not log %q", p.name, want)
			}
		}
	}
	if !strings.Contains(procs[1].output(), "resumed from checkpoint") {
		t.Errorf("restarted shard 1 did not resume from its checkpoint:\n%s", procs[1].tail(20))
	}
	sameAsReference(t, chAddr, base.database, s, ref, "two shards, one killed")
}

// sameAsReference checks what processes wrote into db together against the
// single reference process: the rows, exact where it was exact and equal to
// the generator's counts, every event once in ingest_stats, and the alert
// transitions that page, each once.
func sameAsReference(t *testing.T, chAddr, db string, s *stream, ref *reference, what string) {
	t.Helper()
	got := readRows(t, chAddr, db, s)
	t.Logf("%s: %v", what, checkTotals(t, s, got))
	checkIngestStats(t, chAddr, db, s)
	checkSameRows(t, got, ref.wait(t))
	alerts := readAlerts(t, chAddr, db)
	if len(ref.alerts) == 0 {
		t.Fatal("the reference run wrote no alerts; nothing to compare")
	}
	if !slices.Equal(alerts, ref.alerts) {
		t.Errorf("alert transitions differ from the reference run's:\n got %s\nwant %s", strings.Join(alerts, "\n     "), strings.Join(ref.alerts, "\n     "))
	}
	t.Logf("alerts: %d transitions, as the reference run", len(alerts))
}

// readAlerts lists a run's alert transitions that page or escalate, each as
// key, status it went to and severity, sorted: what an incident desk sees
// whatever the wall clock did meanwhile.
func readAlerts(t *testing.T, chAddr, db string) []string {
	t.Helper()
	conn, err := dial(chAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.Query(context.Background(), "SELECT key, to_status, severity_level FROM `"+db+
		"`.alert_events FINAL WHERE to_status != ?", string(alert.StatusResolved))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var (
			key, to string
			level   uint8
		)
		if err := rows.Scan(&key, &to, &level); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %s %s", key, to, alert.Severity(level)))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}
