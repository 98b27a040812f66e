package detectors

import (
	"math"
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

// TestTrustedCooldownWhateverUsersReport: a regulator's second report on a
// term is held back for the cooldown after the first's alert resolved, and
// pages after it, whether users report the term or not. Judged calm on
// every report against an expectation of 0, the term was calm only where
// users reported nothing: the second report paged there 20 buckets on, and
// was held back where one user report came a minute.
func TestTrustedCooldownWhateverUsersReport(t *testing.T) {
	s, err := NewSet(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	steady := func(v float64) []float64 {
		h := make([]float64, 120)
		for i := range h {
			h[i] = v
		}
		return h
	}
	for _, tt := range []struct {
		name   string
		user   float64 // user reports a minute
		second int     // the bucket of the regulator's second report
		opens  int
	}{
		{"no user reports, second within the cooldown", 0, 20, 1},
		{"user reports, second within the cooldown", 1, 20, 1},
		{"no user reports, second after the cooldown", 0, 90, 2},
		{"user reports, second after the cooldown", 1, 90, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLifecycle(DefaultConfig().Lifecycle)
			opens := 0
			for i := 0; i <= tt.second+1; i++ {
				o := &Observation{Term: "hashtag:x", Bucket: simStart.Add(time.Duration(i) * time.Minute), Width: time.Minute,
					Mentions: 20, UniqueCreators: 20, Reports: tt.user, UniqueReporters: uint64(tt.user),
					MentionHistory: steady(20), ReportHistory: steady(tt.user), DayAgo: math.NaN()}
				if i == 0 || i == tt.second {
					o.ReportsByChannel[event.ChannelRegulator] = 1
					o.Reports++
				}
				for _, e := range append(l.Observe(o, s.Evaluate(o)), l.EndBucket(o.Bucket)...) {
					if e.To == alert.StatusOpen && e.Alert.Detector == NameTrustedReport {
						opens++
					}
				}
			}
			if opens != tt.opens {
				t.Errorf("trusted_report opened %d times, want %d", opens, tt.opens)
			}
		})
	}
}
