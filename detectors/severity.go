package detectors

import "github.com/trendwatch/trendwatch/alert"

// Detector names; an alert's key is name + "|" + term.
const (
	NameSurge         = "surge"
	NameNovelty       = "novelty"
	NameCoordination  = "coordination"
	NameSpreading     = "spreading"
	NameReportRate    = "report_rate"
	NameWatchlist     = "watchlist"
	NameTrustedReport = "trusted_report"
)

// severityOf turns a finding's strength and the term's risk into a severity.
//
// Strength is 1 where the detector's thresholds are just met and grows with the
// weakest of significance/min_z, log growth/log min_growth and support/min_support
// (see evidence.strength), so it reads as "how many times over the bar":
//
//	strength < 1.5      low      (e.g. growth under 2.8× at min_growth 2)
//	strength < 2.5      medium   (growth under 5.7×, or z under 12.5 at min_z 5)
//	otherwise           high
//
// Then risk:
//   - spreading is context, not a threat: info (before the watchlist rule);
//   - report_rate and coordination are at least medium: users complaining and
//     accounts acting in concert are risk in themselves, not just volume;
//   - a watched term is raised one step, and to at least its watchlist risk, so a
//     strong finding on a watched term is critical.
//
// Nothing reaches critical without the watchlist: volume alone does not say harm.
func severityOf(detector string, strength float64, w *WatchMatch) alert.Severity {
	var s alert.Severity
	switch {
	case strength < 1.5:
		s = alert.SeverityLow
	case strength < 2.5:
		s = alert.SeverityMedium
	default:
		s = alert.SeverityHigh
	}
	switch detector {
	case NameSpreading:
		s = alert.SeverityInfo
	case NameReportRate, NameCoordination:
		s = max(s, alert.SeverityMedium)
	}
	if w != nil {
		s = max(s+1, w.Risk)
		s = min(s, alert.SeverityCritical)
	}
	return s
}
