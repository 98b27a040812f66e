package pipeline

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline/eventtime"
	"github.com/trendwatch/trendwatch/sketches"
)

// TestFloodFillsTrackedTerms: one account posts, in the minute before a real
// surge (60 creators a minute), 24,000 made-up tags five to a post, each six
// times: each passes the tracking door, and together they filled
// pipeline.max_tracked. Until 7 December every term after them was refused
// until the tags had been quiet for pipeline.evict_after (30) buckets: the
// surge was never tracked or paged, nor was a regulator's report on a new
// hashtag two minutes later. Now the report's term is tracked in the room
// kept beyond max_tracked for high-trust reports, and the bucket close lets
// the quietest terms go when the table is full.
func TestFloodFillsTrackedTerms(t *testing.T) {
	for _, flood := range []bool{false, true} {
		t.Run(fmt.Sprint("flood=", flood), func(t *testing.T) {
			f := &feed{start: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), minutes: 70, surgeAt: 60}
			recs := f.records()
			if flood {
				const tags, per = 24000, 6
				at := f.start.Add(59 * time.Minute)
				n := 0
				for range per {
					for k := 0; k < tags; k += 5 {
						var hs []string
						for j := k; j < k+5; j++ {
							hs = append(hs, fmt.Sprintf("junk%05d", j))
						}
						n++
						recs = append(recs, ingest.Record{Kind: ingest.KindContent, Source: ingest.Source{Topic: "content-events"},
							Content: event.Content{EventID: fmt.Sprint("j", n), TS: at.Add(time.Duration(n) * time.Millisecond),
								ContentID: fmt.Sprint("j", n), CreatorID: "oneaccount", Region: "NP", Hashtags: hs}})
					}
				}
			}
			recs = append(recs, ingest.Record{Kind: ingest.KindReport, Source: ingest.Source{Topic: "report-events"},
				Report: event.Report{EventID: "reg1", TS: f.start.Add(62 * time.Minute), ContentID: "unknown-post",
					ReporterID: "regulator-desk", Reason: "dangerous_acts", Channel: "regulator", Hashtags: []string{"newdanger"}}})
			sort.SliceStable(recs, func(i, j int) bool { return eventtime.TS(&recs[i]).Before(eventtime.TS(&recs[j])) })
			next := map[ingest.Partition]int64{}
			for i := range recs {
				p := ingest.Partition{Topic: recs[i].Source.Topic}
				recs[i].Source.Offset = next[p]
				next[p]++
			}
			sink := &memSink{}
			e, err := New(DefaultConfig(), sketches.DefaultWindowConfig(), detectors.DefaultConfig(), []Sink{sink}, nil, prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			run(t, e, recs, true)
			opened := map[string]time.Time{}
			for _, ev := range sink.alerts {
				if _, ok := opened[ev.Alert.Term]; !ok && ev.From == "" {
					opened[ev.Alert.Term] = ev.Alert.Bucket
				}
			}
			junk := 0
			for _, st := range e.tracked {
				if strings.HasPrefix(st.Key, "hashtag:junk") {
					junk++
				}
			}
			t.Logf("tracked %d (junk %d), refused %v, let go early %v; surgingtag paged for %s, newdanger for %s",
				len(e.tracked), junk, testutil.ToFloat64(e.m.trackRefused), testutil.ToFloat64(e.m.trackEvicted),
				opened["hashtag:surgingtag"].Format("15:04"), opened["hashtag:newdanger"].Format("15:04"))
			if b, ok := opened["hashtag:newdanger"]; !ok || b.After(f.start.Add(62*time.Minute)) {
				t.Errorf("the regulator's report paged for %v (opened %v), want its own minute", b, ok)
			}
			// Without the flood the surge pages in its second minute; the
			// flood may cost it the minutes until the table makes room.
			if b, ok := opened["hashtag:surgingtag"]; !ok || b.After(f.start.Add(64*time.Minute)) {
				t.Errorf("the surge paged for %v (opened %v), want by 11:04", b, ok)
			}
			if got := testutil.ToFloat64(e.m.trackRefused) > 0; got != flood {
				t.Errorf("refusals counted: %v, want %v", got, flood)
			}
		})
	}
}
