package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/internal/binenc"
	"github.com/trendwatch/trendwatch/pipeline/tracked"
	"github.com/trendwatch/trendwatch/sketches"
	"github.com/trendwatch/trendwatch/trend"
)

// zeroFields lists the paths of the exported fields of v that hold their
// zero value (an empty slice or map counts as zero), so that a fixture meant
// to set every field says which it does not: a field added to a type later
// fails the test until the fixture, and so the codec, covers it.
func zeroFields(v reflect.Value, path string) []string {
	if t, ok := v.Interface().(time.Time); ok {
		if t.IsZero() {
			return []string{path}
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Struct:
		var out []string
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				out = append(out, zeroFields(v.Field(i), path+"."+f.Name)...)
			}
		}
		return out
	case reflect.Slice, reflect.Array:
		if v.Len() == 0 {
			return []string{path}
		}
		if k := v.Type().Elem().Kind(); k != reflect.Struct && k != reflect.Slice {
			return nil // bytes, counts: a zero among them is a value
		}
		var out []string
		for i := range v.Len() {
			out = append(out, zeroFields(v.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	case reflect.Map:
		if v.Len() == 0 {
			return []string{path}
		}
		return nil
	default:
		if v.IsZero() {
			return []string{path}
		}
		return nil
	}
}

// fullRecord is a record with every field set, content and report both: the
// codec writes both whatever the kind, so that a record reads back as it was,
// its hashes made anew from its IDs.
func fullRecord() ingest.Record {
	r := richRecords()
	full := r[0]
	full.Report = r[1].Report
	full.Hash()
	return full
}

// TestSnapshotRecordAndEvent: a parked record and an outbox transition with
// every exported field set read back equal, through the codec and through a
// snapshot of an engine holding them.
func TestSnapshotRecordAndEvent(t *testing.T) {
	rec, ev := fullRecord(), richEvent()
	// Via, where a detect process read the record, is not the record's: a
	// process restored from the checkpoint reads its relay anew.
	if z := slices.DeleteFunc(zeroFields(reflect.ValueOf(rec), "Record"), func(f string) bool { return strings.HasPrefix(f, "Record.Via.") }); len(z) > 0 {
		t.Fatalf("the fixture record leaves %v zero: set them, and encode them in ingest.AppendRecord", z)
	}
	if z := zeroFields(reflect.ValueOf(ev), "Event"); len(z) > 0 {
		t.Fatalf("the fixture event leaves %v zero: set them, and encode them in detectors.AppendEvent", z)
	}
	b := ingest.AppendRecord(nil, &rec)
	b = detectors.AppendEvent(b, &ev)
	r := binenc.NewReader(ErrSnapshot, "test", b)
	var gotRec ingest.Record
	var gotEv alert.Event
	readRecord(r, &gotRec)
	detectors.ReadEvent(r, &gotEv)
	if err := r.End(); err != nil {
		t.Fatal(err)
	}
	gotRec.Hash() // not in the snapshot: Restore makes them
	if !reflect.DeepEqual(gotRec, rec) {
		t.Errorf("record read back as\n%+v\nwant\n%+v", gotRec, rec)
	}
	if !reflect.DeepEqual(gotEv, ev) {
		t.Errorf("event read back as\n%+v\nwant\n%+v", gotEv, ev)
	}

	e := fuzzEngine(t)
	e.held = true
	// One record counted, for a partition other than 0 in the offsets.
	counted := ingest.Record{Source: ingest.Source{Topic: "content-events", Partition: 5, Offset: 77}, Kind: ingest.KindContent,
		Content: event.Content{EventID: "counted", TS: fixtureStart, ContentID: "c", CreatorID: "u", Hashtags: []string{"t"}}}
	if err := e.Process(context.Background(), counted); err != nil {
		t.Fatal(err)
	}
	e.parked.Hold(&rec)
	e.SetNotifier(&outbox{got: []alert.Event{ev}})
	snap := mustSnapshot(t, e)
	s, err := decodeBinary(snap)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Parked) != 1 {
		t.Fatalf("%d parked records read back, want 1", len(s.Parked))
	}
	s.Parked[0].Hash() // not in the snapshot: Restore makes them
	parked := rec
	parked.Content.Text = "" // the holding area keeps no text (eventtime.Held)
	if !reflect.DeepEqual(s.Parked[0], parked) {
		t.Errorf("parked records read back as %+v", s.Parked)
	}
	if len(s.Outbox) != 1 || !reflect.DeepEqual(s.Outbox[0], ev) {
		t.Errorf("outbox read back as %+v", s.Outbox)
	}
	if want := []ingest.Offset{{Topic: "content-events", Partition: 5, Offset: 77}}; !reflect.DeepEqual(s.Offsets, want) {
		t.Errorf("offsets read back as %+v, want %+v", s.Offsets, want)
	}
	// The event_id filter keeps a set per topic (dedup), written as
	// partition 0.
	if len(s.Dedup) != 1 || s.Dedup[0].Topic != "content-events" || s.Dedup[0].Partition != 0 {
		t.Errorf("event_id filter read back as %+v", s.Dedup)
	}
}

// richEngine is fixtureEngine with what its stream leaves at zero set by
// hand on one term: a tail with every field, a quiet count, reporters past
// the exact set (an HLL), reports on every channel, languages and reasons.
func richEngine(tb testing.TB) (*Engine, *outbox) {
	tb.Helper()
	e, ob := fixtureEngine(tb)
	e.invalid = 3
	st := e.trackedTerm("hashtag:steady3")
	if st == nil || st.OpenBuckets() == 0 {
		tb.Fatal("hashtag:steady3 is not tracked with an open bucket")
	}
	for i := range detectors.TailTests {
		*st.Tail.Test(i) = detectors.TailTest{Buckets: 30 + float64(i), Over: 2.5, Excess: 1.25, Far: 0.5, Peak: float64(i) - 1.5}
	}
	st.Tail.Lone, st.Quiet = 0.75, 2
	// Surges remembered, one a rhythm, and one of a term no longer tracked.
	e.surges.Remember(st.Hash, fixtureStart, 30, 10)
	e.surges.Remember(st.Hash, fixtureStart.Add(24*time.Hour), 30, 10)
	e.surges.Remember(12345, fixtureStart.Add(time.Minute), 7, 2.5)
	for _, start := range st.Starts(nil) {
		tb := st.At(start)
		for i := range tb.ByChannel {
			tb.ByChannel[i] = uint64(i + 1)
		}
		for i := range 2 * tracked.SmallSet {
			tb.Reporters.Insert(uint64(i)*0x9e3779b97f4a7c15 + 1)
		}
		tb.Creators.Insert(42)
		tb.Regions.Add("NP")
		tb.Langs.Add("ne")
		tb.Reasons.Add("spam")
		tb.Members.Add("steady3")
		tb.Samples = append(tb.Samples, "c1")
	}
	return e, ob
}

// TestSnapshotRoundTrip: a snapshot restores to an engine whose snapshot is
// the same bytes, that holds every field the snapshot keeps, and that goes on
// to write the rows and alerts the engine it was taken of writes; a gob
// snapshot of an older build restores to the same state.
func TestSnapshotRoundTrip(t *testing.T) {
	a, _ := richEngine(t)
	snap := mustSnapshot(t, a)
	again := mustSnapshot(t, a)
	if !bytes.Equal(snap, again) {
		t.Fatal("two snapshots of one state differ")
	}

	s, err := decodeBinary(snap)
	if err != nil {
		t.Fatal(err)
	}
	// Shard and partition 0 are valid; the gob-only fields are not written,
	// nor since 7 December 2026 the platform's creators, which only an older
	// checkpoint holds.
	skip := map[string]bool{"snapshot.Shard": true, "snapshot.Spelled": true, "snapshot.SpelledHash": true, "snapshot.Chunked": true, "snapshot.Creators": true}
	for _, z := range zeroFields(reflect.ValueOf(*s), "snapshot") {
		if !skip[z] && !strings.HasSuffix(z, ".Partition") && !strings.HasPrefix(z, "snapshot.Terms") && !strings.HasPrefix(z, "snapshot.Parked") {
			t.Errorf("%s is zero in the snapshot of a rich state", z)
		}
	}
	if len(s.families) == 0 {
		t.Error("no families in the snapshot")
	}
	if len(s.surges) != 2 {
		t.Errorf("%d terms' surges in the snapshot, want 2", len(s.surges))
	}
	for _, ts := range s.Terms {
		if ts.Key != "hashtag:steady3" {
			continue
		}
		for _, z := range zeroFields(reflect.ValueOf(ts), "term") {
			// An open bucket keeps either exact creators or an HLL.
			if !strings.HasSuffix(z, ".Creators.HLL") && !strings.HasSuffix(z, ".Reporters.Small") {
				t.Errorf("%s is zero in the snapshot of hashtag:steady3", z)
			}
		}
	}

	tests := []struct {
		name string
		snap func(t *testing.T) []byte
	}{
		{"binary", func(*testing.T) []byte { return snap }},
		{"gob fixture", func(t *testing.T) []byte { return readFixture(t, gobFixture) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, ob := fuzzEngine(t), &outbox{}
			b.SetNotifier(ob)
			if err := b.Restore(tc.snap(t)); err != nil {
				t.Fatal(err)
			}
			checkFixtureState(t, b, ob)
			if tc.name == "binary" {
				for _, h := range a.surges.Terms() {
					if got, want := b.surges.Buckets(h), a.surges.Buckets(h); !slices.Equal(got, want) {
						t.Errorf("surges of term %x restored as %+v, want %+v", h, got, want)
					}
				}
				if got, want := b.surges.Terms(), a.surges.Terms(); !slices.Equal(got, want) {
					t.Errorf("terms with surges restored %x, want %x", got, want)
				}
			}
			ob.got = ob.restored // what a notifier restored is pending again
			first := mustSnapshot(t, b)
			c := fuzzEngine(t)
			oc := &outbox{}
			c.SetNotifier(oc)
			if err := c.Restore(first); err != nil {
				t.Fatal(err)
			}
			oc.got = oc.restored
			second := mustSnapshot(t, c)
			if !bytes.Equal(first, second) {
				t.Errorf("snapshot → restore → snapshot: %d bytes, then %d, not the same", len(first), len(second))
			}
			if tc.name == "binary" && !bytes.Equal(first, snap) {
				t.Errorf("the restored engine's snapshot (%d bytes) differs from the one it was restored from (%d)", len(first), len(snap))
			}
		})
	}

	// The restored engine goes on as the one it was restored from.
	more := splitSurge(fixtureStart.Add(12*time.Minute), 4, 0, 3)
	for i := range more {
		more[i].Source.Offset += 1 << 20
	}
	finish := func(e *Engine) *memSink {
		sink := &memSink{}
		e.sinks = append(e.sinks, sink)
		run(t, e, more, true)
		return sink
	}
	b, ob := fuzzEngine(t), &outbox{}
	b.SetNotifier(ob)
	if err := b.Restore(snap); err != nil {
		t.Fatal(err)
	}
	ob.got = ob.restored
	want, got := finish(a), finish(b)
	if len(want.rows) == 0 {
		t.Fatal("no rows after the snapshot: the test tests nothing")
	}
	key := func(r trend.Minute) string { return r.Term + "@" + r.Bucket.Format("15:04") }
	wantRows := map[string]trend.Minute{}
	for _, r := range want.rows {
		wantRows[key(r)] = r
	}
	if len(got.rows) != len(want.rows) {
		t.Errorf("%d rows after the restore, %d without it", len(got.rows), len(want.rows))
	}
	for _, r := range got.rows {
		if w, ok := wantRows[key(r)]; !ok || w.Mentions != r.Mentions || w.Reports != r.Reports || w.UniqueCreators != r.UniqueCreators {
			t.Errorf("row %s: %d mentions, %d reports, %d creators after the restore; want %d, %d, %d", key(r), r.Mentions, r.Reports, r.UniqueCreators, w.Mentions, w.Reports, w.UniqueCreators)
		}
	}
	if len(got.alerts) != len(want.alerts) {
		t.Errorf("%d alert transitions after the restore, %d without it", len(got.alerts), len(want.alerts))
	}
}

// snapBody returns the body of a binary snapshot, and seal puts a body back
// in the envelope, checksummed: what the checksum misses, the decoder must.
func snapBody(t testing.TB, snap []byte) []byte {
	t.Helper()
	body, _, err := snapEnvelope.Open(snap, 0)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), body...)
}

// mustSnapshot is e's snapshot; the test fails if it cannot be made.
func mustSnapshot(t testing.TB, e *Engine) []byte {
	t.Helper()
	snap, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func seal(body []byte) []byte {
	b := snapEnvelope.AppendHeader(nil, 0)
	return snapEnvelope.Seal(append(b, body...), 0)
}

// TestSnapshotRefused: a snapshot that is not whole and valid is refused
// with an error that wraps ErrSnapshot and says what was wrong where.
func TestSnapshotRefused(t *testing.T) {
	e, _ := fixtureEngine(t)
	snap := mustSnapshot(t, e)
	body := snapBody(t, snap)
	tests := []struct {
		name string
		snap []byte
		want string
	}{
		{"trailing bytes", seal(append(body[:len(body):len(body)], 0)), "1 trailing bytes"},
		{"truncated body", seal(body[:len(body)-10]), "window"},
		{"half the body", seal(body[:len(body)/2]), "snapshot at offset"},
		{"history too large", seal(append(binenc.AppendUvarint(nil, 1<<40), body[1:]...)), "history"},
		{"body cut in the header", seal(body[:3]), "at offset"},
		{"no body", seal(nil), "history"},
		{"checksum", append(snap[:len(snap)-1:len(snap)-1], snap[len(snap)-1]^1), "checksum"},
		{"newer version", append([]byte{'T', 'W', 'S', 'N', snapEnvelope.Version + 1}, snap[5:]...), "unsupported version"},
		{"envelope cut", snap[:6], "shorter than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := fuzzEngine(t).Restore(tc.snap)
			if !errors.Is(err, ErrSnapshot) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Restore: %v; want an error wrapping %v that says %q", err, ErrSnapshot, tc.want)
			}
		})
	}
}

// TestSnapshotRefusedField: the decoder names the field it found wrong in
// entries deep in the body; each case rewrites one entry of a snapshot of one
// term, one family, one door table and one parked record.
func TestSnapshotRefusedField(t *testing.T) {
	e := fuzzEngine(t)
	ctx := context.Background()
	e.held = true
	for i := range 6 {
		rec := ingest.Record{Kind: ingest.KindContent, Content: event.Content{EventID: fmt.Sprint("e", i), TS: fixtureStart.Add(time.Duration(i) * time.Second),
			ContentID: fmt.Sprint("c", i), CreatorID: "u", Hashtags: []string{"blackoutchallenge"}}}
		if err := e.Process(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	snap := mustSnapshot(t, e)
	body := snapBody(t, snap)
	s, err := decodeBinary(snap)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.families) != 1 || s.families[0].Term != "" {
		t.Fatalf("families %+v, want one known by its hash", s.families)
	}
	fam := bytes.Index(body, binenc.AppendU64([]byte{famByHash}, s.families[0].Fam))
	if fam < 0 {
		t.Fatal("the family is not in the snapshot")
	}
	with := func(off int, b ...byte) []byte {
		out := append([]byte(nil), body...)
		copy(out[off:], b)
		return seal(out)
	}
	tests := []struct {
		name string
		snap []byte
		want string
	}{
		{"family tag", with(fam, 7), "family tag 7"},
		{"family hash 0", with(fam+1, 0, 0, 0, 0, 0, 0, 0, 0), "family hash 0"},
		{"family by an empty term", with(fam, famByTerm, 0), "family with an empty term"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := fuzzEngine(t).Restore(tc.snap)
			if !errors.Is(err, ErrSnapshot) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Restore: %v; want an error wrapping %v that says %q", err, ErrSnapshot, tc.want)
			}
		})
	}
}

// tinyEngine is fuzzEngine at the smallest window and families tables, so
// that a fuzzer's input is a few kilobytes and its engine costs little.
func tinyEngine(tb testing.TB) *Engine {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.History, cfg.Families, cfg.TrackMin, cfg.JoinCache, cfg.MaxParked = 4, 64, 2, 256, 256
	wcfg := sketches.DefaultWindowConfig()
	wcfg.FineBuckets, wcfg.CoarseBuckets, wcfg.TopK, wcfg.MemoryBudget = 4, 25, 10, 1<<20
	e, err := New(cfg, wcfg, detectors.DefaultConfig(), nil, nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// FuzzSnapshotBody feeds the decoder bodies in a valid envelope: FuzzRestore's
// inputs nearly all stop at the checksum, and what passes it must still be
// refused, never panic. The seed is a small engine's state with a bit of
// everything, over two minutes so that a bucket closed.
func FuzzSnapshotBody(f *testing.F) {
	e := tinyEngine(f)
	e.held = true
	ctx := context.Background()
	for i := range 40 {
		ts := fixtureStart.Add(time.Duration(i) * 3 * time.Second)
		tags := []string{"blackoutchallenge", "blackout_challenge", fmt.Sprint("tag", i%3)}[i%2:]
		rec := ingest.Record{Source: ingest.Source{Topic: "content-events", Partition: i % 2, Offset: int64(i)}, Kind: ingest.KindContent,
			Content: event.Content{EventID: fmt.Sprint("e", i), TS: ts, ContentID: fmt.Sprint("c", i), CreatorID: fmt.Sprint("u", i%7), Region: "NP", Hashtags: tags}}
		if err := e.Process(ctx, rec); err != nil {
			f.Fatal(err)
		}
		if i%4 == 0 {
			rep := ingest.Record{Source: ingest.Source{Topic: "report-events", Offset: int64(i)}, Kind: ingest.KindReport,
				Report: event.Report{EventID: fmt.Sprint("r", i), TS: ts.Add(time.Second), ContentID: rec.Content.ContentID, ReporterID: "x", Reason: "spam", Channel: "media"}}
			if err := e.Process(ctx, rep); err != nil {
				f.Fatal(err)
			}
		}
	}
	for _, r := range richRecords() {
		e.parked.Hold(&r)
	}
	e.SetNotifier(&outbox{got: []alert.Event{richEvent()}})
	body := snapBody(f, mustSnapshot(f, e))
	f.Logf("seed body %d bytes, %d terms tracked", len(body), len(e.tracked))
	f.Add(body)
	f.Add(body[:len(body)/3])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		e := tinyEngine(t)
		e.SetNotifier(&outbox{})
		if err := e.Restore(seal(body)); err != nil {
			return
		}
		if _, err := e.Snapshot(); err != nil {
			t.Fatalf("restored a snapshot that does not snapshot again: %v", err)
		}
	})
}

// TestSnapshotCounts: a term's history reads back bit for bit, whole counts
// in a byte or two and anything else in 9.
func TestSnapshotCounts(t *testing.T) {
	tests := []struct {
		name  string
		v     float64
		bytes int
	}{
		{"zero", 0, 1},
		{"small count", 63, 1},
		{"count", 12345, 3},
		{"largest whole", 1<<53 - 1, 8},
		{"2^53", 1 << 53, 9},
		{"fraction", 2.5, 9},
		{"negative", -1, 9},
		{"negative zero", math.Copysign(0, -1), 9},
		{"NaN", math.NaN(), 9},
		{"infinity", math.Inf(1), 9},
		{"largest", math.MaxFloat64, 9},
		{"smallest", math.SmallestNonzeroFloat64, 9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := appendCounts(nil, []float64{tc.v})
			if len(b)-1 != tc.bytes {
				t.Errorf("%v takes %d bytes, want %d", tc.v, len(b)-1, tc.bytes)
			}
			r := binenc.NewReader(ErrSnapshot, "test", b)
			got := readCounts(r, "counts")
			if err := r.End(); err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || math.Float64bits(got[0]) != math.Float64bits(tc.v) {
				t.Errorf("%v reads back as %v", tc.v, got)
			}
		})
	}
	for _, bad := range [][]byte{{1, 3}, {1, 1, 0}, binenc.AppendUvarint([]byte{1}, 1<<54)} {
		r := binenc.NewReader(ErrSnapshot, "test", bad)
		if readCounts(r, "counts"); !errors.Is(r.End(), ErrSnapshot) {
			t.Errorf("% x read without an error", bad)
		}
	}
}

// TestSnapshotSurges: the surges a term paged on (Engine.surges) follow the
// window, from version 2 of the snapshot's envelope: a version-1 snapshot,
// which ends before them, restores with none, and one cut inside them is
// refused naming them. The tail peaks (TestSnapshotPeaks) follow them.
func TestSnapshotSurges(t *testing.T) {
	e, _ := richEngine(t)
	snap := mustSnapshot(t, e)
	body := snapBody(t, snap)

	plain, _ := fixtureEngine(t)
	plainSnap := mustSnapshot(t, plain)
	plainBody := snapBody(t, plainSnap)
	plainBody = plainBody[:len(plainBody)-reportedLen(plain)]
	if !bytes.HasSuffix(plainBody, []byte{0, 0}) {
		t.Fatalf("a snapshot with no surges and no tail peaks ends in % x, not two empty lists", plainBody[len(plainBody)-2:])
	}
	old := sealVersion(1, plainBody[:len(plainBody)-2])
	r := fuzzEngine(t)
	if err := r.Restore(old); err != nil {
		t.Fatalf("version 1 snapshot: %v", err)
	}
	if n := len(r.surges.Terms()); n != 0 || r.surges.Len() != 0 {
		t.Errorf("version 1 snapshot restored %d terms' surges", n)
	}

	err := fuzzEngine(t).Restore(seal(body[:len(body)-3-peaksLen(t, e)-reportedLen(e)]))
	if !errors.Is(err, ErrSnapshot) || !strings.Contains(err.Error(), "surged bucket") {
		t.Errorf("cut in the surges: %v; want an error wrapping %v that names the surged bucket", err, ErrSnapshot)
	}
	r = fuzzEngine(t)
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if n := r.surges.Len(); n != 3 {
		t.Errorf("%d surged buckets counted after the restore, want 3", n)
	}
}

// sealVersion seals body in the envelope of an older version.
func sealVersion(v byte, body []byte) []byte {
	f := snapEnvelope
	f.Version, f.MinVersion = v, 0
	return f.Seal(append(f.AppendHeader(nil, 0), body...), 0)
}

// reportedLen is how many bytes e's reported intake totals, from version 4,
// and what follows them, the notifier's state from version 5, take at the
// end of its snapshot.
func reportedLen(e *Engine) int {
	return len(appendReported(nil, e.reported.invalid, e.reported.late)) + notifierStateLen(e)
}

// notifierStateLen is how many bytes e's notifier state takes at the end of
// its snapshot, from version 5.
func notifierStateLen(e *Engine) int {
	var state []byte
	if ns, ok := e.notifier.(notifierState); ok {
		state = ns.AppendState(nil)
	}
	return len(binenc.AppendBytes(nil, state))
}

// peaksLen is how many bytes e's tail peaks take before the reported totals.
func peaksLen(t *testing.T, e *Engine) int {
	t.Helper()
	sw := &snapWriter{}
	if err := writePeaks(sw, tracked.ByKey(e.tracked, nil)); err != nil {
		t.Fatal(err)
	}
	return len(sw.b)
}

// TestSnapshotPeaks: the tail tests of tracked terms in a run of exceedances
// (detectors.TailTest.Peak) are the snapshot's last part, from version 3: they
// restore, a version-2 snapshot restores with none, and peaks that name no
// tracked term or test, or are no run's excess, are refused.
func TestSnapshotPeaks(t *testing.T) {
	e, _ := richEngine(t)
	snap := mustSnapshot(t, e)
	want := e.trackedTerm("hashtag:steady3").Tail
	r := fuzzEngine(t)
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if got := r.trackedTerm("hashtag:steady3").Tail; got != want {
		t.Errorf("tail restored as %+v, want %+v", got, want)
	}

	body := snapBody(t, snap)
	rep := body[len(body)-reportedLen(e):]
	body = body[:len(body)-len(rep)] // version 3
	n := peaksLen(t, e)
	r = fuzzEngine(t)
	if err := r.Restore(sealVersion(2, body[:len(body)-n])); err != nil {
		t.Fatalf("version 2 snapshot: %v", err)
	}
	for i := range detectors.TailTests {
		if p := r.trackedTerm("hashtag:steady3").Tail.Test(i).Peak; p != 0 {
			t.Errorf("version 2 snapshot restored test %d's peak as %v", i, p)
		}
	}

	peaks := func(term, test uint64, p float64) []byte {
		b := append([]byte(nil), body[:len(body)-n]...)
		b = binenc.AppendUvarint(b, 1)
		b = binenc.AppendUvarint(b, term)
		b = binenc.AppendUvarint(b, test)
		return append(binenc.AppendFloat64(b, p), rep...)
	}
	for _, tc := range []struct {
		name string
		body []byte
		want string
	}{
		{"no such term", peaks(uint64(len(e.tracked)), 0, 1), "tail peak term"},
		{"no such test", peaks(0, detectors.TailTests, 1), "tail peak test"},
		{"zero", peaks(0, 0, 0), "not the excess of a run"},
		{"NaN", peaks(0, 0, math.NaN()), "not the excess of a run"},
		{"infinite", peaks(0, 0, math.Inf(-1)), "not the excess of a run"},
		{"cut", body[:len(body)-1], "tail peak"},
		{"cut in the reported totals", append(append([]byte(nil), body...), rep[:len(rep)-notifierStateLen(e)-1]...), "reported late"},
		{"without the notifier state", append(append([]byte(nil), body...), rep[:len(rep)-notifierStateLen(e)]...), "notifier state"},
	} {
		err := fuzzEngine(t).Restore(seal(tc.body))
		if !errors.Is(err, ErrSnapshot) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want an error wrapping %v that names %q", tc.name, err, ErrSnapshot, tc.want)
		}
	}
}

// TestSnapshotWindowBufferShrinks: the buffer the window's encoding goes
// through is kept from one checkpoint to the next, but not at a size a
// flood left it at: one less than half used is let go after its round.
func TestSnapshotWindowBufferShrinks(t *testing.T) {
	e := fuzzEngine(t)
	e.winBuf = make([]byte, 0, 64<<20) // as a flood's encoding left it
	mustSnapshot(t, e)
	if cap(e.winBuf) >= 64<<20 {
		t.Errorf("the window buffer kept %d MiB after an encoding of %d bytes", cap(e.winBuf)>>20, len(e.winBuf))
	}
	mustSnapshot(t, e)
	mustSnapshot(t, e)
	if e.winBuf == nil || cap(e.winBuf) > 2*len(e.winBuf) {
		t.Errorf("a buffer of the encoding's size (%d bytes, capacity %d) was not kept", len(e.winBuf), cap(e.winBuf))
	}
}
