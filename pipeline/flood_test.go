package pipeline

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/sketches"
	"github.com/trendwatch/trendwatch/trend"
)

// TestFloodOfOneOffHashtagsDoesNotPage: after an ordinary hour, a minute in
// which 100,000 posts each carry five hashtags seen nowhere else, and beside
// them a real push: 40 posts of one tag by 40 accounts. The one-off tags'
// count-min estimates are inflated by the flood's volume (ε·N is about 160
// mentions), so without the tracking door (pipeline.admission_slots 0) they
// are tracked by the thousand and written as rows with their estimates;
// neither surge nor novelty pages on them (surge.min_creators). With the
// door a tag seen once is never tracked, so it gets no row, while the push,
// below ε·N, is still tracked and written.
func TestFloodOfOneOffHashtagsDoesNotPage(t *testing.T) {
	for _, tc := range []struct {
		name  string
		slots int
	}{{"door", DefaultConfig().AdmissionSlots}, {"no door", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &memSink{}
			cfg := DefaultConfig()
			cfg.AdmissionSlots = tc.slots
			e, err := New(cfg, sketches.DefaultWindowConfig(), detectors.DefaultConfig(), []Sink{sink}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			floodOfOneOffs(t, e, sink, tc.slots > 0)
		})
	}
}

func floodOfOneOffs(t *testing.T, e *Engine, sink *memSink, door bool) {
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
	const push = 40
	for i := range 100_000 {
		tags := make([]string, 5)
		for k := range tags {
			tags[k] = fmt.Sprintf("fl%016x", r.Uint64())
		}
		ts := flood.Add(time.Duration(i) * 500 * time.Microsecond)
		add(event.Content{EventID: fmt.Sprint("f", i), TS: ts,
			ContentID: fmt.Sprint("f", i), CreatorID: fmt.Sprint("spam", i), Hashtags: tags})
		if i%(100_000/push) == 0 {
			add(event.Content{EventID: fmt.Sprint("p", i), TS: ts, ContentID: fmt.Sprint("p", i),
				CreatorID: fmt.Sprint("pusher", i), Hashtags: []string{"realpush"}})
		}
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
	rows, mentions, paged := 0, uint64(0), 0
	var pushRow *trend.Minute
	for i, row := range sink.rows {
		switch {
		case strings.HasPrefix(row.Term, "hashtag:fl"):
			rows++
			mentions += row.Mentions
		case row.Term == "hashtag:realpush" && row.Bucket.Equal(flood):
			pushRow = &sink.rows[i]
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
	t.Logf("flood of 500,000 one-off hashtags: %d rows of flood tags (%d mentions written for tags seen once), %d alerts on them, %d terms tracked, door %d KiB, %d held, %d forgotten by a full door",
		rows, mentions, paged, len(e.tracked), e.door.Bytes()>>10, e.door.Held(), e.door.Evicted())
	if pushRow == nil {
		t.Fatalf("no row for the real push of %d posts in the flooded minute", push)
	}
	t.Logf("the real push: %d mentions written, exact=%v (%d posted)", pushRow.Mentions, pushRow.Exact, push)
	if pushRow.Mentions < push {
		t.Errorf("the real push's row holds %d mentions, below the %d posted", pushRow.Mentions, push)
	}
	if door && rows > 0 {
		t.Errorf("%d rows written for tags seen once", rows)
	}
}
