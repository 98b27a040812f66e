package main

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// TestLiveSpikesRow: the live rows' counts of what the peer's query showed
// are numbers only where the peer was measured.
func TestLiveSpikesRow(t *testing.T) {
	for _, tt := range []struct {
		name, why string
		want      string // the row from its second cell on
	}{
		{"peer measured", "",
			"trendwatch **0** of 8 (with `first_bucket` 2; early pages it retracted by the run's end, on any term: 0), the peer's query 6 of 8 | pages on other terms: trendwatch 0 (with `first_bucket` 1, watching the surging terms 4), the peer 1 |"},
		{"no peer", "clickhouse-server is not installed",
			"trendwatch **0** of 8 (with `first_bucket` 2; early pages it retracted by the run's end, on any term: 0), the peer's query not measured | pages on other terms: trendwatch 0 (with `first_bucket` 1, watching the surging terms 4), the peer not measured |"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := &liveResult{spikes: make([]*liveSpike, 8), peer: tt.why, peerSpiked: 6, peerFalse: make([]string, 7)}
			l.twSpiked[liveFirstBucket], l.twFalse[liveFirstBucket] = 2, make([]string, 3)
			l.twFalse[liveWatched] = make([]string, 4)
			md := (&report{live: l}).markdown()
			const head = "| live, in the same run: terms that spiked as steeply (3× or 10×) for 10–40 s within one minute, and paged | "
			i := strings.Index(md, head)
			if i < 0 {
				t.Fatalf("no spikes row in\n%s", md)
			}
			row, _, _ := strings.Cut(md[i+len(head):], "\n")
			if row != tt.want {
				t.Errorf("spikes row:\n got %s\nwant %s", row, tt.want)
			}
		})
	}
}

// TestReplayRSSRow: the replay's peak RSS row names the cores of the run it
// took, "all" only when that was every core.
func TestReplayRSSRow(t *testing.T) {
	n := runtime.NumCPU()
	one := "(1 core)"
	if n == 1 {
		one = "(all 1 core)"
	}
	for _, tt := range []struct {
		name  string
		cores []int
		want  string
	}{
		{"every core", []int{1, n}, fmt.Sprintf("(all %s)", cores1(n))},
		{"one", []int{1}, one},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &report{events: 100}
			for _, c := range tt.cores {
				r.kafka = append(r.kafka, kafkaRow{childRun: childRun{mode: modeConsume, cores: c}, res: childResult{PeakRSS: 300 << 20}})
			}
			md := r.markdown()
			i := strings.Index(md, "| peak RSS through the 100-event replay")
			if i < 0 {
				t.Fatalf("no RSS row in\n%s", md)
			}
			row, _, _ := strings.Cut(md[i:], "\n")
			if !strings.Contains(row, "**300 MiB** "+tt.want) {
				t.Errorf("RSS row %s, want %s", row, tt.want)
			}
		})
	}
}
