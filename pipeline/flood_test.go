package pipeline

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/ingest"
)

// TestFloodOfOneOffHashtagsDoesNotPage: after an ordinary hour, a minute in
// which 100,000 posts each carry five hashtags seen nowhere else. Their
// count-min estimates are inflated by the flood's volume (ε·N is about 160
// mentions), so some are tracked, but each was posted by one account:
// neither surge nor novelty pages on them (surge.min_creators).
func TestFloodOfOneOffHashtagsDoesNotPage(t *testing.T) {
	sink := &memSink{}
	e := newTestEngine(t, sink)
	ctx := context.Background()
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(1, 2))
	var recs []ingest.Record
	add := func(c event.Content) {
		recs = append(recs, ingest.Record{Kind: ingest.KindContent, Content: c,
			Source: ingest.Source{Topic: "t", Offset: int64(len(recs))}})
	}
	for i := range 60 * 20 { // an hour of ordinary posts
		add(event.Content{EventID: fmt.Sprint("o", i), TS: start.Add(time.Duration(i) * 3 * time.Second),
			ContentID: fmt.Sprint("o", i), CreatorID: fmt.Sprint("u", i%300), Hashtags: []string{fmt.Sprint("steady", i%10)}})
	}
	flood := start.Add(time.Hour)
	for i := range 100_000 {
		tags := make([]string, 5)
		for k := range tags {
			tags[k] = fmt.Sprintf("fl%016x", r.Uint64())
		}
		add(event.Content{EventID: fmt.Sprint("f", i), TS: flood.Add(time.Duration(i) * 500 * time.Microsecond),
			ContentID: fmt.Sprint("f", i), CreatorID: fmt.Sprint("spam", i), Hashtags: tags})
	}
	for i := range 20 { // a few quiet minutes after it, so its bucket closes
		add(event.Content{EventID: fmt.Sprint("a", i), TS: flood.Add(time.Minute + time.Duration(i)*10*time.Second),
			ContentID: fmt.Sprint("a", i), CreatorID: "u1", Hashtags: []string{"steady0"}})
	}
	for _, rec := range recs {
		if err := e.Process(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	tracked, paged := 0, 0
	for _, row := range sink.rows {
		if strings.HasPrefix(row.Term, "hashtag:fl") {
			tracked++
		}
	}
	for _, ev := range sink.alerts {
		if strings.HasPrefix(ev.Alert.Term, "hashtag:fl") {
			paged++
			if paged <= 3 {
				t.Errorf("alert on a one-off flood tag: %s", ev.Alert.Summary)
			}
		}
	}
	t.Logf("flood of 500,000 one-off hashtags: %d rows of flood tags, %d alerts on them", tracked, paged)
}
