//go:build integration

package faults

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// stages runs the stream through the two-stage pipeline: three
// `trendwatch run --role aggregate --shards 2` processes sharing the input
// partitions in one consumer group, and two `run --role detect --shard I/2`
// processes reading their relay topics, all writing into one database. Mid
// stream it kills an aggregate process with -9 and leaves it dead (the
// others take its partitions over), and kills detect shard 1 with -9 after
// a checkpoint and restarts it. What they wrote together must be what the
// single reference process wrote: the same rows, exact where it was exact
// and equal to the generator's counts, every event counted once in
// ingest_stats, and the same alerts, each transition once; and every
// offset, of the input and of the relay, committed at the end.
func stages(t *testing.T, s *stream, chAddr string, ref *reference) {
	b := startBroker(t, freeAddr(t), t.TempDir())
	base := newRunConfig(t, b.addr, chAddr)
	base.extra = append(base.extra, watchlist(), sessionTimeout)
	base.migrate(t)
	const n, aggregates = 2, 3
	aggCfgs := make([]runConfig, aggregates)
	aggs := make([]*proc, aggregates)
	for i := range aggCfgs {
		aggCfgs[i] = base.another(t, "TRENDWATCH_PIPELINE_ROLE=aggregate", fmt.Sprintf("TRENDWATCH_PIPELINE_SHARDS=%d", n))
		if i == 0 {
			// The one to be killed commits nothing, so that everything it
			// forwarded is forwarded again by those that take its
			// partitions over, and the detect processes must skip it.
			aggCfgs[i].extra = append(aggCfgs[i].extra, "TRENDWATCH_PIPELINE_COMMIT_INTERVAL=1h")
		}
		aggs[i] = aggCfgs[i].start(t, fmt.Sprintf("aggregate%d", i))
	}
	detCfgs := make([]runConfig, n)
	dets := make([]*proc, n)
	for i := range detCfgs {
		detCfgs[i] = base.another(t, "TRENDWATCH_PIPELINE_ROLE=detect", fmt.Sprintf("TRENDWATCH_PIPELINE_SHARD=%d", i), fmt.Sprintf("TRENDWATCH_PIPELINE_SHARDS=%d", n))
		dets[i] = detCfgs[i].start(t, fmt.Sprintf("detect%d", i))
	}
	// detView is detCfgs[i] as the process derives it: its own group and
	// checkpoint directory.
	detView := func(i int) runConfig { return detCfgs[i].derived(fmt.Sprintf("detect-%d-of-%d", i, n)) }
	restarted := 0
	s.play(t, newProducer(t, b.addr), pace, func(i int) {
		switch i {
		case 2:
			// A run for every term beside the stages would page what they
			// page: it must refuse to start, saying why.
			startProc(t, "single", base.another(t).env(), "run").refused(30*time.Second, "two stages with 2 detect shards")
		case 8:
			aggs[0].kill9()
			t.Logf("minute %d: kill -9 of aggregate 0, not restarted", i)
		case 12:
			waitForCheckpoint(t, detView(1))
			dets[1].kill9()
			t.Logf("minute %d: kill -9 of detect shard 1 after a checkpoint and rows in ClickHouse", i)
		case 16:
			dets[1] = detCfgs[1].start(t, "detect1-restarted")
			restarted++
			t.Logf("minute %d: detect shard 1 restarted with the same configuration", i)
		}
	})
	if restarted != 1 {
		t.Fatal("the stream ended before detect shard 1 was restarted")
	}
	at := s.end.Add(5 * time.Minute)
	sentinel(t, b.addr, at)
	for i, p := range dets {
		detView(i).waitPast(t, p, at)
	}
	m, err := scrape(detCfgs[0].metrics)
	if err != nil {
		t.Fatal(err)
	}
	if replayed := m.sum("trendwatch_pipeline_records_total", `kind="replayed"`); replayed == 0 {
		t.Error("detect shard 0 skipped no record as forwarded twice, though aggregate 0 was killed before it committed anything")
	} else {
		t.Logf("detect shard 0 skipped %.0f records forwarded twice", replayed)
	}
	for i, p := range dets {
		if err := p.stop(60 * time.Second); err != nil {
			t.Fatalf("%s: clean shutdown: %v", p.name, err)
		}
		relay := fmt.Sprintf("trendwatch-relay.shard-%d-of-%d", i, n)
		hwm, committed := topicState(t, b.addr, detView(i).group, relay)
		checkCommitted(t, p.name, hwm, committed)
		if out := p.output(); !strings.Contains(out, "detect: judging the terms of one shard") {
			t.Errorf("%s did not log its role", p.name)
		}
	}
	for _, p := range aggs[1:] {
		if err := p.stop(60 * time.Second); err != nil {
			t.Fatalf("%s: clean shutdown: %v", p.name, err)
		}
	}
	hwm, committed := brokerState(t, b.addr, base.group+fmt.Sprintf(".aggregate-of-%d", n))
	checkCommitted(t, "the aggregate processes", hwm, committed)
	if !strings.Contains(dets[1].output(), "resumed from checkpoint") {
		t.Errorf("restarted detect shard 1 did not resume from its checkpoint:\n%s", dets[1].tail(20))
	}
	sameAsReference(t, chAddr, base.database, s, ref, "3 aggregate and 2 detect processes, one of each killed")
}

// stagesBrokerRestart runs two aggregate processes and one detect process
// while the broker is killed with -9 mid-stream and started again on its
// log 2 s later. No trendwatch process is touched: the aggregate processes
// must retry the relay and the input, the detect process its relay, and
// together they must write what the reference process wrote.
func stagesBrokerRestart(t *testing.T, s *stream, chAddr string, ref *reference) {
	b := startBroker(t, freeAddr(t), t.TempDir())
	base := newRunConfig(t, b.addr, chAddr)
	base.extra = append(base.extra, watchlist(), sessionTimeout)
	base.migrate(t)
	var aggs []*proc
	for i := range 2 {
		aggs = append(aggs, base.another(t, "TRENDWATCH_PIPELINE_ROLE=aggregate", "TRENDWATCH_PIPELINE_SHARDS=1").start(t, fmt.Sprintf("aggregate%d", i)))
	}
	det := base.another(t, "TRENDWATCH_PIPELINE_ROLE=detect", "TRENDWATCH_PIPELINE_SHARD=0", "TRENDWATCH_PIPELINE_SHARDS=1")
	dp := det.start(t, "detect")
	det = det.derived("detect-0-of-1")
	s.play(t, newProducer(t, b.addr), pace, func(i int) {
		if i != 13 {
			return
		}
		b.p.kill9()
		time.Sleep(2 * time.Second)
		b.start(t)
		t.Logf("minute %d: broker killed and restarted on its log", i)
	})
	at := s.end.Add(5 * time.Minute)
	sentinel(t, b.addr, at)
	det.waitPast(t, dp, at)
	if err := dp.stop(60 * time.Second); err != nil {
		t.Fatalf("%s: clean shutdown: %v", dp.name, err)
	}
	hwm, committed := topicState(t, b.addr, det.group, "trendwatch-relay.shard-0-of-1")
	checkCommitted(t, dp.name, hwm, committed)
	for _, p := range append(aggs, dp) {
		if !strings.Contains(p.output(), "kafka reader") {
			t.Errorf("no kafka reader error in %s's log: did the broker restart reach it at all?", p.name)
		}
	}
	for _, p := range aggs {
		if err := p.stop(60 * time.Second); err != nil {
			t.Fatalf("%s: clean shutdown: %v", p.name, err)
		}
	}
	hwm, committed = brokerState(t, b.addr, base.group+".aggregate-of-1")
	checkCommitted(t, "the aggregate processes", hwm, committed)
	sameAsReference(t, chAddr, base.database, s, ref, "2 aggregate and 1 detect processes through a broker restart")
}
