package detectors

import (
	"strconv"
	"strings"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/event"
)

// TrustedReport pages on a single report from a high-trust channel (a regulator,
// law enforcement, a partner): such a report is already someone's judgement that
// the term is harmful, so there is no volume to wait for. It has its own alert key,
// so it pages once per term and cools down like any detector, apart from a report
// wave on the same term.
type TrustedReport struct {
	channels []event.Channel // in configured order: the first present names the alert
}

func newTrustedReport(c Config) *TrustedReport {
	d := &TrustedReport{}
	for _, n := range c.ReportRate.HighTrustChannels {
		if ch, ok := event.ParseChannel(n); ok && ch != event.ChannelUser {
			d.channels = append(d.channels, ch)
		}
	}
	return d
}

func (d *TrustedReport) Name() string { return NameTrustedReport }

func (d *TrustedReport) Detect(o *Observation) (Finding, bool) {
	return d.judge(&analysis{o: o})
}

// any reports whether o holds a report from a high-trust channel.
func (d *TrustedReport) any(o *Observation) bool {
	for _, c := range d.channels {
		if o.ReportsByChannel[c] > 0 {
			return true
		}
	}
	return false
}

func (d *TrustedReport) judge(a *analysis) (Finding, bool) {
	o := a.o
	var (
		first event.Channel
		n     float64
		from  []string
	)
	for _, c := range d.channels {
		k := o.ReportsByChannel[c]
		if k <= 0 {
			continue
		}
		if n == 0 {
			first = c
		}
		n += k
		noun := " reports from "
		if k == 1 {
			noun = " report from "
		}
		from = append(from, fmtCount(k)+noun+c.String())
	}
	if n == 0 {
		return Finding{}, false
	}
	var x explanation
	x.str("detector", NameTrustedReport).str("channel", first.String())
	for _, c := range d.channels {
		x.num("reports_"+c.String(), o.ReportsByChannel[c])
	}
	x.context(o)
	// High by rule, not by strength: one report carries no statistics. A watched
	// term is raised as every detector raises it.
	sev := alert.SeverityHigh
	if o.Watch != nil {
		sev = min(max(sev+1, o.Watch.Risk), alert.SeverityCritical)
	}
	summary := "REPORT " + first.String() + " " + o.Term + " " + strings.Join(from, ", ")
	if o.Reports > n {
		summary += ", " + strconv.FormatFloat(o.Reports, 'f', 0, 64) + " reports in all"
	}
	return Finding{
		Detector:    NameTrustedReport,
		Severity:    sev,
		Score:       n,
		Observed:    n,
		Expected:    0,
		OnReports:   true,
		Summary:     summary,
		Explanation: x.String(),
	}, true
}
