package pipeline

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/checkpoint"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline/eventtime"
	"github.com/trendwatch/trendwatch/sketches"
)

// fixtureStart is where the fixtures' streams begin.
var fixtureStart = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// richRecords are a parked content and a parked report with every field set,
// so that a field the snapshot's codec forgets shows in a test; their hashes
// are made as the consumer's decoders make them.
func richRecords() []ingest.Record {
	ts := fixtureStart.Add(11*time.Minute + 30*time.Second + 123456789)
	recs := []ingest.Record{
		{Source: ingest.Source{Topic: "content-events", Partition: 2, Offset: 9001}, Lag: 17, Kind: ingest.KindContent,
			Content: event.Content{EventID: "parked-e1", TS: ts, ContentID: "parked-c1", CreatorID: "parked-u1", Region: "NP", Lang: "ne",
				Hashtags: []string{"parkedtag", "blackoutchallenge"}, ChallengeID: "ch-7", SoundID: "snd-9", Text: "waiting for the slow partition ✓"}},
		{Source: ingest.Source{Topic: "report-events", Partition: 1, Offset: 4242}, Lag: -1, Kind: ingest.KindReport,
			Report: event.Report{EventID: "parked-r1", TS: ts.Add(time.Second), ContentID: "c5", ReporterID: "rep-3", Reason: "dangerous",
				Region: "IN", Hashtags: []string{"reportedtag"}, Channel: "regulator"}},
	}
	for i := range recs {
		recs[i].Hash()
	}
	return recs
}

// richEvent is an outbox transition with every field set.
func richEvent() alert.Event {
	at := fixtureStart.Add(9 * time.Minute)
	return alert.Event{
		Alert: alert.Alert{Key: "surge|hashtag:blackoutchallenge", Detector: "surge", Term: "hashtag:blackoutchallenge",
			Status: alert.StatusEscalated, Severity: alert.SeverityCritical,
			OpenedAt: at.Add(-2 * time.Minute), UpdatedAt: at, ResolvedAt: at.Add(time.Minute + 5), Bucket: at.Add(-time.Minute),
			Score: 7.25, Observed: 120, Expected: 12.5, Growth: 9.6, UniqueCreators: 97, Reports: 4, ReportRate: 0.033,
			TopRegions: []string{"NP", "IN"}, Samples: []string{"c1", "c2", "c3"}, Watchlisted: true, Early: true,
			Summary: "blackoutchallenge 9.6× its baseline", Explanation: "z=7.25 obs=120 exp=12.5"},
		From: alert.StatusOpen, To: alert.StatusEscalated, At: at, Seq: 3, Reason: alert.ReasonRetracted,
	}
}

// fixtureEngine is a small engine holding some of everything a snapshot
// keeps: tracked terms with history and open buckets, families seen under
// two spellings, reports joined to content, event ids, terms at the door,
// two parked records and an outbox transition. The stream is the same every
// run (map order aside, so the encoding is not).
func fixtureEngine(tb testing.TB) (*Engine, *outbox) {
	tb.Helper()
	e := fuzzEngine(tb)
	e.held = true // no start-up hold: the stream is in order
	ctx := context.Background()
	recs := splitSurge(fixtureStart, 12, 6, 4)
	for i := range recs {
		recs[i].Lag = int64(len(recs) - i - 1)
	}
	for i, r := range recs {
		if err := e.Process(ctx, r); err != nil {
			tb.Fatal(err)
		}
		if i%7 != 0 || r.Content.TS.Before(fixtureStart.Add(8*time.Minute)) {
			continue
		}
		rep := ingest.Record{Source: ingest.Source{Topic: "report-events", Partition: 0, Offset: int64(i)}, Kind: ingest.KindReport,
			Report: event.Report{EventID: fmt.Sprint("r", i), TS: r.Content.TS.Add(time.Second), ContentID: r.Content.ContentID,
				ReporterID: fmt.Sprint("x", i%5), Reason: "spam", Region: "IN", Channel: []string{"", "partner", "media"}[i%3]}}
		if err := e.Process(ctx, rep); err != nil {
			tb.Fatal(err)
		}
	}
	for _, r := range richRecords() {
		e.parked.Hold(&r)
	}
	ob := &outbox{got: []alert.Event{richEvent()}}
	e.SetNotifier(ob)
	return e, ob
}

// gobFixture is a snapshot of fixtureEngine written by the gob writer of
// commit 33cfa22, the last before the snapshot moved to the binary codec
// (by TestSnapshotGobFixture -update-snapshot-fixture of commit 29ca983),
// gzipped: the window's sketches are mostly zeros, 930 KB become 31. No
// build writes gob any more, so it is never rewritten.
var gobFixture = filepath.Join("testdata", "snapshot-gob.bin.gz")

// readFixture reads a gzipped fixture.
func readFixture(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

// TestSnapshotGobFixture: a checkpoint an older build wrote in gob restores,
// so that an operator upgrading keeps the state.
func TestSnapshotGobFixture(t *testing.T) {
	restoreFixture(t, gobFixture)
}

// restoreFixture restores the snapshot fixture at path into a new engine and
// checks its state (checkFixtureState).
func restoreFixture(t *testing.T, path string) *Engine {
	t.Helper()
	e := fuzzEngine(t)
	ob := &outbox{}
	e.SetNotifier(ob)
	if err := e.Restore(readFixture(t, path)); err != nil {
		t.Fatalf("%s does not restore: %v", path, err)
	}
	checkFixtureState(t, e, ob)
	return e
}

// binaryThreeTestsFixture is a snapshot of fixtureEngine in the binary layout,
// written by commit 1ee9352, the last whose terms' tails held three mention
// tests (before the sustained one), gzipped.
var binaryThreeTestsFixture = filepath.Join("testdata", "snapshot-bin-3tests.bin.gz")

// TestSnapshotBinaryThreeTests: a binary snapshot whose tails hold fewer
// mention tests than this build's restores, the missing test's tail empty
// (judged by the count model until it has learnt), so an upgrade keeps the
// state.
func TestSnapshotBinaryThreeTests(t *testing.T) {
	e := restoreFixture(t, binaryThreeTestsFixture)
	for _, st := range e.tracked {
		if st.Tail.Hold != (detectors.TailTest{}) {
			t.Errorf("%s: sustained test's tail %+v, want empty", st.Key, st.Tail.Hold)
		}
	}
}

// checkFixtureState checks a few values of an engine restored from a
// snapshot of fixtureEngine.
func checkFixtureState(t *testing.T, e *Engine, ob *outbox) {
	t.Helper()
	if got, want := e.Watermark(), fixtureStart.Add(11*time.Minute+59*time.Second+500*time.Millisecond); !got.Equal(want) {
		t.Errorf("watermark %v, want %v", got, want)
	}
	// The two parked by hand, and any of the stream's not due yet (a report
	// at the watermark waits for event time to pass it: pipeline.due).
	want := richRecords()
	for i := range want {
		// The holding area keeps no text (eventtime.Held); a snapshot
		// written before it dropped text restores the text it holds.
		want[i].Content.Text = ""
	}
	rich := 0
	if err := e.parked.Each(func(p *ingest.Record) error {
		r := *p
		r.Content.Text = ""
		switch {
		case reflect.DeepEqual(r, want[0]), reflect.DeepEqual(r, want[1]):
			rich++
		case due(r.Kind, eventtime.TS(&r), e.Watermark()):
			t.Errorf("parked record %+v is neither of those parked nor one still to wait", r.Source)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if rich != 2 {
		t.Fatalf("%d of the 2 records parked by hand restored", rich)
	}
	if len(ob.restored) != 1 || !reflect.DeepEqual(ob.restored[0], richEvent()) {
		t.Errorf("outbox restored as %+v, want %+v", ob.restored, richEvent())
	}
	st := e.trackedTerm("hashtag:steady3")
	if st == nil {
		t.Fatal("hashtag:steady3 not tracked")
	}
	if n := st.OpenBuckets(); n == 0 {
		t.Error("hashtag:steady3 has no open bucket")
	}
	if len(st.Mentions.View()) == 0 {
		t.Error("hashtag:steady3 has no history")
	}
	if len(e.tracked) < 12 {
		t.Errorf("%d terms tracked, want at least the 12 steady ones", len(e.tracked))
	}
	if keys, ok := e.join.GetHash("c1430", sketches.Hash("c1430")); !ok || len(keys) == 0 {
		t.Errorf("join cache has no terms of c1430: %v", keys)
	}
	byTerm, byHash := e.families.Spellings()
	if len(byTerm)+len(byHash) == 0 {
		t.Error("no family spellings")
	}
	// The fixture's platform creators (a checkpoint of before 7 December
	// 2026 holds them) are read past; its family mentions restore.
	if families := e.platform.Buckets(); families == 0 {
		t.Error("no family mention buckets")
	}
	if e.dedup.Len() == 0 {
		t.Error("no event ids remembered")
	}
	if offs := e.Offsets(); len(offs) != 2 {
		t.Errorf("offsets %v, want two partitions", offs)
	}
}

// TestCheckpointVersion1Gob: a checkpoint file of version 1, which holds a
// gob snapshot, loads and restores in this build, and the checkpoint it
// writes next is of the current version and in the binary layout.
func TestCheckpointVersion1Gob(t *testing.T) {
	dir := t.TempDir()
	store, err := checkpoint.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Save(readFixture(t, gobFixture)); err != nil {
		t.Fatal(err)
	}
	// The file as a build before checkpoint version 2 wrote it: the header's
	// version is outside the checksum, which covers the body only.
	b, err := os.ReadFile(store.Path())
	if err != nil {
		t.Fatal(err)
	}
	binary.BigEndian.PutUint16(b[len("TWCKPT"):], 1)
	if err := os.WriteFile(store.Path(), b, 0o644); err != nil {
		t.Fatal(err)
	}
	state, _, err := store.Load()
	if err != nil {
		t.Fatalf("a version 1 checkpoint does not load: %v", err)
	}
	e, ob := fuzzEngine(t), &outbox{}
	e.SetNotifier(ob)
	if err := e.Restore(state); err != nil {
		t.Fatalf("a version 1 checkpoint does not restore: %v", err)
	}
	checkFixtureState(t, e, ob)
	if err := store.Stage(e.WriteSnapshot); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, err = os.ReadFile(store.Path()); err != nil {
		t.Fatal(err)
	}
	if v := binary.BigEndian.Uint16(b[len("TWCKPT"):]); v != checkpoint.Version {
		t.Errorf("the next checkpoint is of version %d, want %d", v, checkpoint.Version)
	}
	if state, _, err = store.Load(); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(state, []byte(snapEnvelope.Magic)) {
		t.Errorf("the next checkpoint holds %q…, not the binary layout", state[:min(len(state), 8)])
	}
}
