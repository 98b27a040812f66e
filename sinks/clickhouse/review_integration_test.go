//go:build integration

package clickhouse

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/internal/readertest"
	"github.com/trendwatch/trendwatch/review"
	"github.com/trendwatch/trendwatch/trend"
)

// TestReaderIntegration reads back what the sink wrote, with a rewritten
// bucket and a replayed transition still in separate parts, and keeps the
// latest of an analyst's verdicts.
func TestReaderIntegration(t *testing.T) {
	cfg := testConfig(t)
	migrated(t, cfg)
	s, _ := openSink(t, cfg)
	ctx := context.Background()
	day := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	at := day.Add(23*time.Hour + 50*time.Minute) // minutes run into the next day's partition
	term, key := "hashtag:blackoutchallenge", "surge|hashtag:blackoutchallenge"
	var mins []trend.Minute
	for i := range 20 {
		mins = append(mins, trend.Minute{Bucket: at.Add(time.Duration(i) * time.Minute), Term: term, Mentions: uint64(i), Version: 1,
			TopRegions: []string{"IN"}, Langs: []string{"hi", "en"}, ReportReasons: []string{"self_harm"}})
	}
	mins = append(mins, trend.Minute{Bucket: at, Term: "hashtag:other", Mentions: 99, Version: 1})
	mins[5].Reports = 4
	mins[5].ReportsByChannel[event.ChannelRegulator], mins[5].ReportsByChannel[event.ChannelPartner] = 1, 1
	evs := []alert.Event{
		transition(key, term, 1, "", alert.StatusOpen, at.Add(5*time.Minute), alert.SeverityHigh),
		transition(key, term, 2, alert.StatusOpen, alert.StatusResolved, at.Add(15*time.Minute), alert.SeverityHigh),
	}
	evs[1].Alert.OpenedAt = evs[0].Alert.OpenedAt                   // opened before midnight, resolved after
	evs[0].Alert.Early, evs[1].Reason = true, alert.ReasonRetracted // opened early, then retracted: a review says so
	for _, write := range []func() error{
		func() error { return s.WriteMinutes(ctx, mins) },
		func() error { return s.WriteAlerts(ctx, evs) },
		func() error { return s.Flush(ctx) },
		func() error {
			late := mins[12]
			late.Mentions, late.Version = 500, 2
			return s.WriteMinutes(ctx, []trend.Minute{late})
		},
		func() error { return s.WriteAlerts(ctx, evs[:1]) },
		func() error { return s.Flush(ctx) },
	} {
		if err := write(); err != nil {
			t.Fatal(err)
		}
	}

	r, err := OpenReader(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := r.TermMinutes(ctx, term, at.Add(2*time.Minute), at.Add(14*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 12 || got[10].Mentions != 500 || got[10].Version != 2 || !got[0].Bucket.Equal(at.Add(2*time.Minute)) ||
		!reflect.DeepEqual(got[0].Langs, []string{"hi", "en"}) || got[0].Kind != "hashtag" {
		t.Errorf("minutes: %d rows, %+v", len(got), got)
	}
	// User's reports are what the other channels leave.
	if want := [event.NumChannels]uint64{event.ChannelUser: 2, event.ChannelPartner: 1, event.ChannelRegulator: 1}; len(got) > 3 && got[3].ReportsByChannel != want {
		t.Errorf("reports by channel %v, want %v", got[3].ReportsByChannel, want)
	}
	conn := directConn(t, cfg.Addr[0], cfg.Database)
	th := mustQuery(t, conn, "SELECT reports, reports_user, reports_regulator, reports_partner, reports_media FROM term_history WHERE term = '"+term+"' AND reports > 0")
	if len(th.rows) != 1 || th.cell(0, "reports_user") != "2" || th.cell(0, "reports_regulator") != "1" || th.cell(0, "reports_media") != "0" {
		t.Errorf("term_history by channel:\n%s", th)
	}
	hist, err := r.AlertHistory(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Seq != 1 || hist[0].To != alert.StatusOpen || hist[1].Alert.ResolvedAt.IsZero() ||
		!hist[0].Alert.ResolvedAt.IsZero() || hist[0].Alert.Severity != alert.SeverityHigh || hist[0].Alert.Expected != 10 ||
		!reflect.DeepEqual(hist[0].Alert.Samples, []string{"c1", "c2"}) || !hist[0].At.Equal(at.Add(5*time.Minute)) ||
		!hist[0].Alert.Early || hist[0].Reason != "" || hist[1].Reason != alert.ReasonRetracted {
		t.Errorf("history: %+v", hist)
	}
	for _, c := range []struct {
		from time.Time
		want []string
	}{{day, []string{key}}, {day.AddDate(0, 0, 1), nil}} {
		keys, err := r.AlertsOpened(ctx, c.from, c.from.AddDate(0, 0, 1))
		if err != nil || !reflect.DeepEqual(keys, c.want) {
			t.Errorf("alerts opened on %s: %v, %v; want %v", c.from.Format(time.DateOnly), keys, err, c.want)
		}
	}

	if _, ok, err := r.LatestVerdict(ctx, key); ok || err != nil {
		t.Fatalf("verdict before any: ok %v, err %v", ok, err)
	}
	for _, v := range []review.Verdict{
		{Key: key, Verdict: review.Unsure, Reviewer: "asha", At: day.Add(time.Hour)},
		{Key: key, Verdict: review.TruePositive, Reviewer: "bikash", Note: "it's a 'challenge'", At: day.Add(2 * time.Hour)},
	} {
		if err := r.RecordVerdict(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	v, ok, err := r.LatestVerdict(ctx, key)
	if err != nil || !ok || v.Verdict != review.TruePositive || v.Reviewer != "bikash" || v.Note != "it's a 'challenge'" || !v.At.Equal(day.Add(2*time.Hour)) {
		t.Errorf("latest verdict: %+v, %v, %v", v, ok, err)
	}
}

// TestReaderFamilyIntegration: readertest.Spellings through the real sink,
// the rewrite in a part of its own.
func TestReaderFamilyIntegration(t *testing.T) {
	cfg := testConfig(t)
	migrated(t, cfg)
	s, _ := openSink(t, cfg)
	c := readertest.NewSpellings(time.Date(2026, 11, 22, 13, 50, 0, 0, time.UTC))
	c.Write(t, s)
	r, err := OpenReader(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c.Check(t, r)
}
