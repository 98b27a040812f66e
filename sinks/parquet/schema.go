package parquet

import (
	"math"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/trend"
)

// Table names are the first directory level under Config.Dir, so they are what a
// notebook or ClickHouse's file() globs.
const (
	TableMinutes = "trend_minute"
	TableAlerts  = "alert_events"
	TableIntake  = "ingest_stats"
)

var (
	// Milliseconds with an explicit UTC zone become Parquet TIMESTAMP(MILLIS,
	// isAdjustedToUTC=true): pandas, DuckDB and ClickHouse all read that as an
	// instant rather than a wall-clock time.
	tsType      = &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	stringsType = arrow.ListOf(arrow.BinaryTypes.String)
)

func minuteSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "bucket", Type: tsType, Nullable: true},
		{Name: "term", Type: arrow.BinaryTypes.String},
		{Name: "kind", Type: arrow.BinaryTypes.String},
		{Name: "mentions", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "unique_creators", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "reports", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "unique_reporters", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "top_regions", Type: stringsType},
		{Name: "langs", Type: stringsType},
		{Name: "report_reasons", Type: stringsType},
		// exact: mentions and reports are exact counts rather than count-min
		// estimates. Files written before it existed read back false.
		{Name: "exact", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "version", Type: arrow.PrimitiveTypes.Uint64},
		// family: the spellings' family ("family:..."); files written before it
		// existed lack the column.
		{Name: "family", Type: arrow.BinaryTypes.String},
		// reports_<channel>: reports by the channel they came by, one column per
		// channel but user, whose count is reports less the others. Files
		// written before channels were counted lack them and read back 0, which
		// makes every report of theirs a user's, as it was.
		{Name: "reports_partner", Type: arrow.PrimitiveTypes.Uint32},
		{Name: "reports_regulator", Type: arrow.PrimitiveTypes.Uint32},
		{Name: "reports_law_enforcement", Type: arrow.PrimitiveTypes.Uint32},
		{Name: "reports_media", Type: arrow.PrimitiveTypes.Uint32},
		{Name: "reports_internal", Type: arrow.PrimitiveTypes.Uint32},
	}, nil)
}

// minuteChannelCol is the index of reports_partner in minuteSchema; the columns
// of the other channels but user follow it in event.Channel order.
const minuteChannelCol = 13

func alertSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "event_id", Type: arrow.BinaryTypes.String},
		{Name: "key", Type: arrow.BinaryTypes.String},
		{Name: "detector", Type: arrow.BinaryTypes.String},
		{Name: "term", Type: arrow.BinaryTypes.String},
		{Name: "status", Type: arrow.BinaryTypes.String},
		{Name: "severity", Type: arrow.BinaryTypes.String},
		{Name: "opened_at", Type: tsType, Nullable: true},
		{Name: "updated_at", Type: tsType, Nullable: true},
		{Name: "resolved_at", Type: tsType, Nullable: true},
		{Name: "bucket", Type: tsType, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64},
		{Name: "observed", Type: arrow.PrimitiveTypes.Float64},
		{Name: "expected", Type: arrow.PrimitiveTypes.Float64},
		{Name: "growth", Type: arrow.PrimitiveTypes.Float64},
		{Name: "unique_creators", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "reports", Type: arrow.PrimitiveTypes.Float64},
		{Name: "report_rate", Type: arrow.PrimitiveTypes.Float64},
		{Name: "top_regions", Type: stringsType},
		{Name: "samples", Type: stringsType},
		{Name: "watchlisted", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "summary", Type: arrow.BinaryTypes.String},
		{Name: "explanation", Type: arrow.BinaryTypes.String},
		// "from" and "to" are SQL keywords; prefixed names save every query a quote.
		{Name: "from_status", Type: arrow.BinaryTypes.String},
		{Name: "to_status", Type: arrow.BinaryTypes.String},
		{Name: "event_at", Type: tsType, Nullable: true},
		{Name: "seq", Type: arrow.PrimitiveTypes.Uint64},
		// early: opened on a bucket still open (detectors.early); reason: why
		// the transition happened, "retracted" for an early alert the final
		// judgement took back. Files written before them lack both.
		{Name: "early", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "reason", Type: arrow.BinaryTypes.String},
	}, nil)
}

// intakeSchema is ClickHouse's ingest_stats for all partitions together,
// without its topic, partition and lag columns.
func intakeSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "bucket", Type: tsType, Nullable: true},
		{Name: "instance", Type: arrow.BinaryTypes.String},
		{Name: "events", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "invalid", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "late", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "version", Type: arrow.PrimitiveTypes.Uint64},
	}, nil)
}

type intakeCols struct {
	bucket                         *array.TimestampBuilder
	instance                       *array.StringBuilder
	events, invalid, late, version *array.Uint64Builder
}

func newIntakeCols(b *array.RecordBuilder) *intakeCols {
	u64 := func(i int) *array.Uint64Builder { return b.Field(i).(*array.Uint64Builder) }
	return &intakeCols{
		bucket: b.Field(0).(*array.TimestampBuilder), instance: b.Field(1).(*array.StringBuilder),
		events: u64(2), invalid: u64(3), late: u64(4), version: u64(5),
	}
}

func (c *intakeCols) append(in *trend.Intake) {
	appendTime(c.bucket, in.Bucket)
	c.instance.Append(in.Instance)
	c.events.Append(in.Events)
	c.invalid.Append(in.Invalid)
	c.late.Append(in.Late)
	c.version.Append(in.Version)
}

// minuteCols holds the typed builders of one trend_minute record so appending a
// row costs no type assertions.
type minuteCols struct {
	bucket                                       *array.TimestampBuilder
	term, kind                                   *array.StringBuilder
	mentions, creators, reports, reporters, vers *array.Uint64Builder
	regions, langs, reasons                      stringList
	exact                                        *array.BooleanBuilder
	family                                       *array.StringBuilder
	byChannel                                    [event.NumChannels]*array.Uint32Builder // nil for user
}

func newMinuteCols(b *array.RecordBuilder) *minuteCols {
	c := &minuteCols{
		bucket:    b.Field(0).(*array.TimestampBuilder),
		term:      b.Field(1).(*array.StringBuilder),
		kind:      b.Field(2).(*array.StringBuilder),
		mentions:  b.Field(3).(*array.Uint64Builder),
		creators:  b.Field(4).(*array.Uint64Builder),
		reports:   b.Field(5).(*array.Uint64Builder),
		reporters: b.Field(6).(*array.Uint64Builder),
		regions:   newStringList(b.Field(7)),
		langs:     newStringList(b.Field(8)),
		reasons:   newStringList(b.Field(9)),
		exact:     b.Field(10).(*array.BooleanBuilder),
		vers:      b.Field(11).(*array.Uint64Builder),
		family:    b.Field(12).(*array.StringBuilder),
	}
	for ch := event.ChannelUser + 1; ch < event.NumChannels; ch++ {
		c.byChannel[ch] = b.Field(minuteChannelCol + int(ch) - 1).(*array.Uint32Builder)
	}
	return c
}

func (c *minuteCols) append(m *trend.Minute) {
	appendTime(c.bucket, m.Bucket)
	c.term.Append(m.Term)
	c.kind.Append(m.Kind)
	c.mentions.Append(m.Mentions)
	c.creators.Append(m.UniqueCreators)
	c.reports.Append(m.Reports)
	c.reporters.Append(m.UniqueReporters)
	c.regions.append(m.TopRegions)
	c.langs.append(m.Langs)
	c.reasons.append(m.ReportReasons)
	c.exact.Append(m.Exact)
	c.vers.Append(m.Version)
	c.family.Append(m.Family)
	for ch := event.ChannelUser + 1; ch < event.NumChannels; ch++ {
		c.byChannel[ch].Append(uint32(min(m.ReportsByChannel[ch], math.MaxUint32)))
	}
}

type alertCols struct {
	id, key, detector, term, status, severity    *array.StringBuilder
	opened, updated, resolved, bucket, at        *array.TimestampBuilder
	score, observed, expected, growth, rep, rate *array.Float64Builder
	creators, seq                                *array.Uint64Builder
	regions, samples                             stringList
	watchlisted, early                           *array.BooleanBuilder
	summary, explanation, from, to, reason       *array.StringBuilder
}

func newAlertCols(b *array.RecordBuilder) *alertCols {
	str := func(i int) *array.StringBuilder { return b.Field(i).(*array.StringBuilder) }
	ts := func(i int) *array.TimestampBuilder { return b.Field(i).(*array.TimestampBuilder) }
	f64 := func(i int) *array.Float64Builder { return b.Field(i).(*array.Float64Builder) }
	return &alertCols{
		id: str(0), key: str(1), detector: str(2), term: str(3), status: str(4), severity: str(5),
		opened: ts(6), updated: ts(7), resolved: ts(8), bucket: ts(9),
		score: f64(10), observed: f64(11), expected: f64(12), growth: f64(13),
		creators: b.Field(14).(*array.Uint64Builder),
		rep:      f64(15), rate: f64(16),
		regions: newStringList(b.Field(17)), samples: newStringList(b.Field(18)),
		watchlisted: b.Field(19).(*array.BooleanBuilder),
		summary:     str(20), explanation: str(21), from: str(22), to: str(23),
		at:     ts(24),
		seq:    b.Field(25).(*array.Uint64Builder),
		early:  b.Field(26).(*array.BooleanBuilder),
		reason: str(27),
	}
}

func (c *alertCols) append(e *alert.Event) {
	a := &e.Alert
	c.id.Append(e.ID())
	c.key.Append(a.Key)
	c.detector.Append(a.Detector)
	c.term.Append(a.Term)
	c.status.Append(string(a.Status))
	c.severity.Append(a.Severity.String())
	appendTime(c.opened, a.OpenedAt)
	appendTime(c.updated, a.UpdatedAt)
	appendTime(c.resolved, a.ResolvedAt)
	appendTime(c.bucket, a.Bucket)
	c.score.Append(a.Score)
	c.observed.Append(a.Observed)
	c.expected.Append(a.Expected)
	c.growth.Append(a.Growth)
	c.creators.Append(a.UniqueCreators)
	c.rep.Append(a.Reports)
	c.rate.Append(a.ReportRate)
	c.regions.append(a.TopRegions)
	c.samples.append(a.Samples)
	c.watchlisted.Append(a.Watchlisted)
	c.summary.Append(a.Summary)
	c.explanation.Append(a.Explanation)
	c.from.Append(string(e.From))
	c.to.Append(string(e.To))
	appendTime(c.at, e.At)
	c.seq.Append(e.Seq)
	c.early.Append(a.Early)
	c.reason.Append(e.Reason)
}

type stringList struct {
	list   *array.ListBuilder
	values *array.StringBuilder
}

func newStringList(b array.Builder) stringList {
	l := b.(*array.ListBuilder)
	return stringList{list: l, values: l.ValueBuilder().(*array.StringBuilder)}
}

// append writes nil and empty alike as an empty list: the Go types do not tell
// them apart in meaning, and a non-null list spares every reader a null check.
func (l stringList) append(vs []string) {
	l.list.Append(true)
	for _, v := range vs {
		l.values.Append(v)
	}
}

// appendTime writes the zero time as null: "never" (ResolvedAt of an open alert)
// must not read back as 0001-01-01.
func appendTime(b *array.TimestampBuilder, t time.Time) {
	if t.IsZero() {
		b.AppendNull()
		return
	}
	b.Append(arrow.Timestamp(t.UnixMilli()))
}
