package main

import (
	"strings"
	"testing"
)

// TestLiveSpikesRow: the live rows' count of spikes the peer's query showed
// is a number only where the peer was measured.
func TestLiveSpikesRow(t *testing.T) {
	spikes := make([]*liveSpike, 8)
	for _, tt := range []struct {
		name, why string
		want      []string
		not       []string
	}{
		{"peer measured", "", []string{"the peer's query 6 of 8", "the peer 1 |"}, []string{"not measured"}},
		{"no peer", "clickhouse-server is not installed", []string{"the peer's query not measured |", "the peer not measured |"}, []string{"of 8 |", "the peer 1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := &liveResult{spikes: spikes, peer: tt.why, peerSpiked: 6, peerFalse: make([]string, 7)}
			l.twSpiked[liveFirstBucket] = 2
			md := (&report{live: l}).markdown()
			var row string
			for _, line := range strings.Split(md, "\n") {
				if strings.Contains(line, "terms that spiked as steeply") {
					row = line
				}
			}
			if row == "" {
				t.Fatalf("no spikes row in\n%s", md)
			}
			for _, w := range tt.want {
				if !strings.Contains(row, w) {
					t.Errorf("row lacks %q:\n%s", w, row)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(row, w) {
					t.Errorf("row has %q:\n%s", w, row)
				}
			}
		})
	}
}
