package detectors

import (
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/event"
)

func TestTrustedReport(t *testing.T) {
	byChannel := func(kv ...any) (out [event.NumChannels]float64) {
		for i := 0; i < len(kv); i += 2 {
			out[kv[i].(event.Channel)] = kv[i+1].(float64)
		}
		return out
	}
	cases := []struct {
		name      string
		reports   float64
		byChannel [event.NumChannels]float64
		watch     *WatchMatch
		channels  []string // nil: the default
		want      alert.Severity
		summary   string // "": must not fire
	}{
		{name: "one regulator report", reports: 1, byChannel: byChannel(event.ChannelRegulator, 1.0),
			want: alert.SeverityHigh, summary: "REPORT regulator hashtag:x 1 report from regulator"},
		{name: "one user report", reports: 1, byChannel: byChannel(event.ChannelUser, 1.0)},
		{name: "media is not high-trust by default", reports: 2, byChannel: byChannel(event.ChannelMedia, 2.0)},
		{name: "media when configured", reports: 2, byChannel: byChannel(event.ChannelMedia, 2.0), channels: []string{"media"},
			want: alert.SeverityHigh, summary: "REPORT media hashtag:x 2 reports from media"},
		{name: "first configured channel names it", reports: 9,
			byChannel: byChannel(event.ChannelPartner, 2.0, event.ChannelLawEnforcement, 1.0, event.ChannelUser, 6.0),
			want:      alert.SeverityHigh, summary: "REPORT law_enforcement hashtag:x 1 report from law_enforcement, 2 reports from partner, 9 reports in all"},
		{name: "watched term is critical", reports: 1, byChannel: byChannel(event.ChannelPartner, 1.0),
			watch: &WatchMatch{Pattern: "hashtag:x", Risk: alert.SeverityHigh, Category: "watchlist"},
			want:  alert.SeverityCritical, summary: "REPORT partner hashtag:x 1 report from partner"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			if tc.channels != nil {
				c.ReportRate.HighTrustChannels = tc.channels
			}
			s := mustSet(t, c)
			o := &Observation{Term: "hashtag:x", Bucket: time.Unix(0, 0), Width: time.Minute,
				Reports: tc.reports, ReportsByChannel: tc.byChannel, Watch: tc.watch}
			var got *Finding
			for _, f := range s.Evaluate(o) {
				if f.Detector == NameTrustedReport {
					got = &f
				}
			}
			if tc.summary == "" {
				if got != nil {
					t.Fatalf("fired: %+v", got)
				}
				return
			}
			if got == nil {
				t.Fatal("did not fire")
			}
			if got.Severity != tc.want {
				t.Errorf("severity %v, want %v", got.Severity, tc.want)
			}
			if !strings.HasPrefix(got.Summary, tc.summary) {
				t.Errorf("summary %q, want it to begin %q", got.Summary, tc.summary)
			}
		})
	}
}

func TestHighTrustChannelsValidate(t *testing.T) {
	for _, tc := range []struct {
		channels []string
		ok       bool
	}{
		{nil, true},
		{[]string{"regulator", "media", "internal"}, true},
		{[]string{"user"}, false},
		{[]string{"press"}, false},
		{[]string{""}, false},
	} {
		c := DefaultConfig()
		c.ReportRate.HighTrustChannels = tc.channels
		if err := c.Validate(); (err == nil) != tc.ok {
			t.Errorf("%q: error %v, want ok=%v", tc.channels, err, tc.ok)
		}
	}
}
