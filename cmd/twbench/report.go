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
}

type kafkaRow struct {
	childRun
	res childResult
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
		what := k.describe()
		how := "a child process at GOMAXPROCS=" + fmt.Sprint(k.cores) + ": ingest.Consumer.RunBatches and pipeline.Engine at their defaults (as `trendwatch run --replay`, no sinks), first message to last"
		if k.mode == modeRead {
			how = "FetchMessage and nothing else: the most the client delivers"
		}
		fmt.Fprintf(&b, "| %s | **%.0f events/s**; %.1f CPU s; peak RSS %d MiB | %s |\n",
			what, k.res.rate(), k.res.CPUSeconds, k.res.PeakRSS>>20, how)
	}
	if rss := r.replayRSS(); rss > 0 {
		fmt.Fprintf(&b, "| RSS through the %d-event replay, defaults | %d MiB peak (target ≤ 512 MiB) | VmHWM of the all-cores run above |\n", r.events, rss>>20)
	}
	b.WriteString("| ClickHouse Kafka engine peer | not measured | left: see the README |\n")
	fmt.Fprintf(&b, "\nThe whole run took %s.\n", r.took.Round(time.Second))
	return b.String()
}

// replayRSS is the peak RSS of the consuming run with the most cores.
func (r *report) replayRSS() int64 {
	var best kafkaRow
	for _, k := range r.kafka {
		if k.mode == modeConsume && k.cores >= best.cores {
			best = k
		}
	}
	return best.res.PeakRSS
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
