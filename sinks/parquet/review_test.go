package parquet

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/internal/readertest"
	"github.com/trendwatch/trendwatch/review"
	"github.com/trendwatch/trendwatch/trend"
)

// TestReader writes through the real sink, rewrites included, and reads back
// the latest version of each row, as a review does.
func TestReader(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := New(Config{Dir: dir, Roll: time.Hour, MaxBuffered: 1000}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 22, 13, 50, 0, 0, time.UTC) // crosses an hour partition
	term := "hashtag:blackoutchallenge"
	var mins []trend.Minute
	for i := range 20 {
		mins = append(mins, trend.Minute{Bucket: base.Add(time.Duration(i) * time.Minute), Term: term, Kind: "hashtag",
			Mentions: uint64(10 + i), UniqueCreators: 5, TopRegions: []string{"IN", "NP"}, Version: 1})
	}
	other := trend.Minute{Bucket: base, Term: "hashtag:other", Kind: "hashtag", Mentions: 99, Version: 1}
	if err := s.WriteMinutes(ctx, append(mins, other)); err != nil {
		t.Fatal(err)
	}
	a := alert.Alert{Key: "surge|" + term, Detector: "surge", Term: term, Status: alert.StatusOpen, Severity: alert.SeverityHigh,
		OpenedAt: base.Add(12 * time.Minute), Bucket: base.Add(12 * time.Minute), Expected: 12, Samples: []string{"c1"}, Explanation: "z=7.0"}
	res := a
	res.Status, res.ResolvedAt = alert.StatusResolved, base.Add(18*time.Minute)
	a.Early = true // opened early, and then retracted: a review says so
	evs := []alert.Event{
		{Alert: a, To: alert.StatusOpen, At: a.OpenedAt, Seq: 1},
		{Alert: res, From: alert.StatusOpen, To: alert.StatusResolved, At: res.ResolvedAt, Seq: 2, Reason: alert.ReasonRetracted},
	}
	if err := s.WriteAlerts(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// A late event rewrites minute 15 and a replay resends the opening, in
	// parts of their own.
	late := mins[15]
	late.Mentions, late.Version = 500, 2
	if err := s.WriteMinutes(ctx, []trend.Minute{late}); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteAlerts(ctx, evs[:1]); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	r, err := NewReader(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.TermMinutes(ctx, term, base.Add(5*time.Minute), base.Add(17*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 12 || !got[0].Bucket.Equal(base.Add(5*time.Minute)) || got[10].Mentions != 500 || got[10].Version != 2 ||
		!reflect.DeepEqual(got[0].TopRegions, []string{"IN", "NP"}) {
		t.Errorf("minutes: %d rows, first %v, rewritten %+v", len(got), got[0].Bucket, got[10])
	}
	hist, err := r.AlertHistory(ctx, a.Key)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Seq != 1 || hist[1].To != alert.StatusResolved || !hist[1].Alert.ResolvedAt.Equal(res.ResolvedAt) ||
		hist[0].Alert.Severity != alert.SeverityHigh || hist[0].Alert.Samples[0] != "c1" || hist[0].Alert.Expected != 12 ||
		!hist[0].Alert.Early || hist[0].Reason != "" || hist[1].Reason != alert.ReasonRetracted {
		t.Errorf("history: %+v", hist)
	}
	keys, err := r.AlertsOpened(ctx, time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
	if err != nil || !reflect.DeepEqual(keys, []string{a.Key}) {
		t.Errorf("alerts opened: %v, %v", keys, err)
	}
	keys, err = r.AlertsOpened(ctx, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
	if err != nil || len(keys) != 0 {
		t.Errorf("alerts opened the next day: %v, %v", keys, err)
	}
}

func TestVerdicts(t *testing.T) {
	ctx := context.Background()
	r, err := NewReader(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := r.LatestVerdict(ctx, "k"); ok || err != nil {
		t.Fatalf("no file: ok %v, err %v", ok, err)
	}
	at := time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC)
	for _, v := range []review.Verdict{
		{Key: "k", Verdict: review.Unsure, Reviewer: "asha", At: at},
		{Key: "other", Verdict: review.FalsePositive, At: at},
		{Key: "k", Verdict: review.TruePositive, Reviewer: "bikash", Note: "line one\nand \"two\"", At: at}, // same instant: the later line wins
	} {
		if err := r.RecordVerdict(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	v, ok, err := r.LatestVerdict(ctx, "k")
	if err != nil || !ok || v.Verdict != review.TruePositive || v.Reviewer != "bikash" || v.Note != "line one\nand \"two\"" || !v.At.Equal(at) {
		t.Errorf("latest verdict: %+v, %v, %v", v, ok, err)
	}
	if err := r.RecordVerdict(ctx, review.Verdict{Key: "k", Verdict: "maybe"}); err == nil {
		t.Error("an unknown verdict was recorded")
	}
}

// TestReaderShards reads the directories of a sharded pipeline's processes
// (ShardDirs) and of a two-stage pipeline's detect processes (DetectDirs)
// with the root as one dataset; the detect ones were left out before.
func TestReaderShards(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	base := time.Date(2026, 11, 22, 13, 0, 0, 0, time.UTC)
	for i, sub := range []string{"", "shard-0-of-2", "shard-1-of-2", "detect-0-of-2", "detect-1-of-2"} {
		s, err := New(Config{Dir: filepath.Join(dir, sub), Roll: time.Hour, MaxBuffered: 1000}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		row := trend.Minute{Bucket: base.Add(time.Duration(i) * time.Minute), Term: "hashtag:x", Kind: "hashtag", Mentions: uint64(i + 1), Version: 1}
		a := alert.Alert{Key: fmt.Sprintf("surge|hashtag:%d", i), Detector: "surge", Term: row.Term, Status: alert.StatusOpen, OpenedAt: row.Bucket, Bucket: row.Bucket}
		if err := s.WriteMinutes(ctx, []trend.Minute{row}); err != nil {
			t.Fatal(err)
		}
		if err := s.WriteAlerts(ctx, []alert.Event{{Alert: a, To: alert.StatusOpen, At: row.Bucket, Seq: 1}}); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	r, err := NewReader(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.TermMinutes(ctx, "hashtag:x", base, base.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || got[0].Mentions != 1 || got[4].Mentions != 5 {
		t.Errorf("minutes of the root, two term shards and two detect shards: %+v", got)
	}
	keys, err := r.AlertsOpened(ctx, base, base.Add(time.Hour))
	if err != nil || len(keys) != 5 {
		t.Errorf("alerts opened in the root, two term shards and two detect shards: %v, %v", keys, err)
	}
}

// TestReaderFamily: readertest.Spellings through the real sink, the
// rewrite in a file of its own.
func TestReaderFamily(t *testing.T) {
	dir := t.TempDir()
	s, err := New(Config{Dir: dir, Roll: time.Hour, MaxBuffered: 1000}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := readertest.NewSpellings(time.Date(2026, 11, 22, 13, 50, 0, 0, time.UTC))
	c.Write(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(dir)
	if err != nil {
		t.Fatal(err)
	}
	c.Check(t, r)
}
