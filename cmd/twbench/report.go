package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// report is everything one run measured.
type report struct {
	machine string
	load    string // at the end
	events  int
	sample  int
	short   bool
	took    time.Duration
	micro   []microRow
	kafka   []kafkaRow
	stages  []stageRow
	peer    *peerResult
	live    *liveResult
}

type kafkaRow struct {
	childRun
	res childResult
}

// stageRow is the two stages' aggregate processes, timed together.
type stageRow struct {
	aggregates int
	res        childResult
	// again is how many records a partition's new owner forwarded a
	// second time after a rebalance; the detect processes skip them.
	again int
}

func (r *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured by `make bench` (cmd/twbench) on %s; load average at the end %s; Go %s; %s.\n\n",
		r.machine, r.load, strings.TrimPrefix(runtime.Version(), "go"), time.Now().UTC().Format("2006-01-02 15:04 MST"))
	if r.short {
		b.WriteString("**-short run: a small stream and brief measurements, not figures to quote.**\n\n")
	}
	fmt.Fprintf(&b, "One generated stream (the generator's default platform, every scenario), %d messages, produced to the embedded broker; the per-event rows use its first %d content events.\n\n", r.events, r.sample)
	b.WriteString("| what | measured | how |\n|---|---|---|\n")
	for _, m := range r.micro {
		fmt.Fprintf(&b, "| %s | %.0f ns, %.1f allocs | %s |\n", m.what, m.ns, m.allocs, m.how)
	}
	for _, k := range r.kafka {
		how := fmt.Sprintf("child process, GOMAXPROCS=%d: consumer and engine at their defaults, as `trendwatch run --replay` without sinks", k.cores)
		switch {
		case k.mode == modeRead:
			how = "child process: FetchMessage and nothing else, the client's ceiling"
		case k.mode == modeDetect:
			how = fmt.Sprintf("child process, GOMAXPROCS=%d, `run --role detect --shard 0/%d` on the relay the 1-aggregate run filled: the engine counts every record and judges its shard's terms, so the stages take the stream at most at this rate per detect shard", k.cores, k.shards)
		case k.shards > 1:
			how = fmt.Sprintf("child process, GOMAXPROCS=%d, `run --shard 0/%d`: reads the whole stream, judges a %s of the terms; %d such processes on their own cores take the stream at this rate together", k.cores, k.shards, fraction(k.shards), k.shards)
		}
		fmt.Fprintf(&b, "| %s | **%.0f events/s**; %.1f CPU s; peak RSS %d MiB | %s |\n",
			k.describe(), k.res.rate(), k.res.CPUSeconds, k.res.PeakRSS>>20, how)
	}
	for _, st := range r.stages {
		fmt.Fprintf(&b, "| two stages: %d aggregate process(es) of 1 core, forwarding to %d detect shards | **%.0f events/s**; %.1f CPU s together; peak RSS %d MiB each at most; %d records forwarded twice | child processes, GOMAXPROCS=1 each, in one consumer group, as `run --role aggregate --shards %d`: decode, validate, relay every record to each shard's topic; from the first batch any got to the whole stream on the relay, each input partition's last record included (on a machine of %d cores); a partition's new owner after a rebalance forwards again from the last commit, and the detect processes skip what they counted |\n",
			st.aggregates, stageShards, st.res.rate(), st.res.CPUSeconds, st.res.PeakRSS>>20, st.again, stageShards, runtime.NumCPU())
	}
	if rss, cores := r.replayRSS(); rss > 0 {
		var others []string
		for _, k := range r.kafka {
			if k.mode == modeConsume && k.shards <= 1 && k.cores != cores {
				others = append(others, fmt.Sprintf("%d MiB at %s", k.res.PeakRSS>>20, cores1(k.cores)))
			}
		}
		also := ""
		if len(others) > 0 {
			also = "; " + strings.Join(others, ", ")
		}
		at := cores1(cores)
		if cores == runtime.NumCPU() {
			at = "all " + at
		}
		fmt.Fprintf(&b, "| peak RSS through the %d-event replay, defaults | **%d MiB** (%s)%s | VmHWM of the runs above; target ≤ 512 MiB |\n",
			r.events, rss>>20, at, also)
	}
	switch p := r.peer; {
	case p == nil:
		b.WriteString("| ClickHouse Kafka-engine peer | not measured (-peer 0) | |\n")
	case p.skipped != "":
		fmt.Fprintf(&b, "| ClickHouse Kafka-engine peer | not measured: %s | |\n", p.skipped)
	default:
		fmt.Fprintf(&b, "| ClickHouse 18.16 Kafka engine + materialized view (per-minute term counts, uniq creators), a backlog of %d messages, %d of them content | **%.0f content events/s**; %.1f CPU s; server peak RSS %d MiB | ATTACH of the detached Kafka table until the view counts all %d mentions (polled every 0.2 s) |\n",
			p.messages, p.events, p.ch.rate(), p.ch.CPUSeconds, p.ch.PeakRSS>>20, p.mentions)
		fmt.Fprintf(&b, "| trendwatch with its ClickHouse sink, same backlog, %s | **%.0f content events/s** (%.1f× the peer); %.1f CPU s; peak RSS %d MiB | joining the group to the last row flushed, every bucket closed |\n",
			cores1(runtime.NumCPU()), float64(p.events)/p.tw.Seconds, float64(p.events)/p.tw.Seconds/p.ch.rate(), p.tw.CPUSeconds, p.tw.PeakRSS>>20)
	}
	if l := r.live; l != nil {
		for i, what := range [liveEngines]string{"trendwatch's page", "trendwatch's page with `detectors.early.first_bucket`", "trendwatch's page, the term watched"} {
			how := "consumer and engine at their defaults (1-minute buckets, 2 minutes' lateness, early firing)"
			switch i {
			case liveFirstBucket:
				how = "the same, in a consumer group of its own, with `detectors.early.first_bucket` on"
			case liveWatched:
				how = "the same, in a consumer group of its own, the surging terms on its watchlist (looked at every `detectors.early.watch_interval`)"
			}
			for _, g := range []float64{10, 3} {
				tw, twMissed := l.latencies(g, i, false)
				early := 0
				for _, sg := range l.surges {
					if sg.gain == g && sg.early[i] {
						early++
					}
				}
				fmt.Fprintf(&b, "| live, a %.0f× surge on a term with history, onset → %s | **%s**; %d of %d paged early | %d surges in real time, %d posts/s after %s of history; %s |\n",
					g, what, fmtLatencies(tw, twMissed), early, len(tw), len(tw)+twMissed, liveRate, liveHistory, how)
			}
		}
		if l.peer != "" {
			fmt.Fprintf(&b, "| live, the same surges, onset → the ClickHouse peer's spike query | not measured: %s | |\n", l.peer)
		} else {
			for _, g := range []float64{10, 3} {
				p, missed := l.latencies(g, 0, true)
				fmt.Fprintf(&b, "| live, a %.0f× surge, onset → the ClickHouse peer's spike query first showing it | **%s** | the peer's Kafka table (kafka_max_block_size %d, a second of posts: 18.16's Kafka engine holds a trickle until a block is full) and view on the same topic, the query polled every %s: a term whose last complete or current minute is ≥ %d× its 30-minute average and ≥ %d; it showed %d other terms |\n",
					g, fmtLatencies(p, missed), liveRate, livePoll, livePeerGain, livePeerMin, len(l.peerFalse))
			}
		}
		// Without the peer there is no count of its to give.
		peerSpikes, peerOther := "the peer's query not measured", "not measured"
		if l.peer == "" {
			peerSpikes = fmt.Sprintf("the peer's query %d of %d", l.peerSpiked, len(l.spikes))
			peerOther = fmt.Sprintf("%d", len(l.peerFalse)-l.peerSpiked)
		}
		fmt.Fprintf(&b, "| live, in the same run: terms that spiked as steeply (3× or 10×) for 10–40 s within one minute, and paged | trendwatch **%d** of %d (with `first_bucket` %d; early pages it retracted by the run's end, on any term: %d), %s | pages on other terms: trendwatch %d (with `first_bucket` %d, watching the surging terms %d), the peer %s |\n",
			l.twSpiked[liveDefaults], len(l.spikes), l.twSpiked[liveFirstBucket], l.retracted[liveFirstBucket], peerSpikes,
			len(l.twFalse[liveDefaults])-l.twSpiked[liveDefaults], len(l.twFalse[liveFirstBucket])-l.twSpiked[liveFirstBucket],
			len(l.twFalse[liveWatched])-l.twSpiked[liveWatched], peerOther)
	}
	fmt.Fprintf(&b, "\nThe whole run took %s.\n", r.took.Round(time.Second))
	return b.String()
}

// replayRSS is the peak RSS of the consuming run with the most cores, and
// that count.
func (r *report) replayRSS() (int64, int) {
	var best kafkaRow
	for _, k := range r.kafka {
		if k.mode == modeConsume && k.shards <= 1 && k.cores >= best.cores {
			best = k
		}
	}
	return best.res.PeakRSS, best.cores
}

// describeMachine is the CPU model, the cores and the load average now.
func describeMachine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores, load average %s at the start", model, runtime.NumCPU(), loadAverage())
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// fmtLatencies is the median and the largest of ds, and how many were missed.
func fmtLatencies(ds []time.Duration, missed int) string {
	var parts []string
	if len(ds) > 0 {
		n := len(ds)
		med := (ds[(n-1)/2] + ds[n/2]) / 2
		parts = append(parts, fmt.Sprintf("median %.1f s, max %.1f s", med.Seconds(), ds[n-1].Seconds()))
	}
	if missed > 0 {
		parts = append(parts, fmt.Sprintf("%d not found", missed))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

func fmtLatency(d time.Duration) string {
	if d == 0 {
		return "none"
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// fraction names 1/n in words.
func fraction(n int) string {
	switch n {
	case 2:
		return "half"
	case 3:
		return "third"
	case 4:
		return "quarter"
	}
	return fmt.Sprintf("1/%d", n)
}
