package faults

// The topics trendwatch reads and writes by default.
const (
	contentTopic = "content-events"
	reportTopic  = "report-events"
	deadTopic    = "trendwatch-dead-letter"
)
