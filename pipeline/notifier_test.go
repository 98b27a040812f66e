package pipeline

import (
	"bytes"
	"context"
	"errors"
	"io"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/ingest"
)

// outbox is a Notifier whose endpoint is down: it keeps every transition it
// is told, and hands them all back as pending.
type outbox struct {
	got      []alert.Event
	restored []alert.Event
	err      error
}

func (o *outbox) Notify(_ context.Context, evs []alert.Event) error {
	if o.err != nil {
		return o.err
	}
	o.got = append(o.got, evs...)
	return nil
}

func (o *outbox) Pending() []alert.Event    { return o.got }
func (o *outbox) Restore(evs []alert.Event) { o.restored = append(o.restored, evs...) }

// confirmBox is an outbox that is told of early alerts confirmed, as the
// incident notifier is (Confirmer).
type confirmBox struct {
	outbox
	confirmed []alert.Alert
}

func (c *confirmBox) Confirm(as []alert.Alert) { c.confirmed = append(c.confirmed, as...) }

// TestNotifier: the notifier is told every alert transition the observers
// see, in their order; what it has not delivered goes into the checkpoint and
// back to the next engine's notifier on restore; a notifier that fails stops
// the engine with an error that says so.
func TestNotifier(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	f := surgeFeed{start: start, minutes: 68, base: 30, factor: 10, onset: start.Add(time.Hour)}
	a, log := newEarlyEngine(t, detectors.DefaultConfig(), nil)
	first := &outbox{}
	a.SetNotifier(first)
	run(t, a, f.records(), true)
	if len(first.got) == 0 {
		t.Fatal("no transition notified: the test tests nothing")
	}
	if !reflect.DeepEqual(first.got, log.evs) {
		t.Fatalf("notified %d transitions, observers saw %d, or in another order", len(first.got), len(log.evs))
	}
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newEarlyEngine(t, detectors.DefaultConfig(), nil)
	second := &outbox{}
	b.SetNotifier(second)
	if err := b.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(second.restored, first.got) {
		t.Errorf("restored %d pending transitions, %d were pending", len(second.restored), len(first.got))
	}

	c, _ := newEarlyEngine(t, detectors.DefaultConfig(), nil)
	down := errors.New("endpoint refused")
	c.SetNotifier(&outbox{err: down})
	var failed error
	for _, r := range f.records() {
		if failed = c.Process(context.Background(), r); failed != nil {
			break
		}
	}
	if failed == nil {
		failed = c.Drain(context.Background())
	}
	if !errors.Is(failed, down) {
		t.Errorf("engine with a failing notifier: %v, want it to wrap %v", failed, down)
	}
}

// courier is a Notifier whose endpoint is slow but up: it holds what it is
// told until Drain delivers it.
type courier struct {
	outbox
	delivered []alert.Event
}

func (c *courier) Drain(context.Context) error {
	c.delivered = append(c.delivered, c.got...)
	c.got = nil
	return nil
}

// snapshotStore keeps the last snapshot made current.
type snapshotStore struct{ staged, current bytes.Buffer }

func (s *snapshotStore) Stage(write func(io.Writer) error) error {
	s.staged.Reset()
	return write(&s.staged)
}

func (s *snapshotStore) Commit() (int, error) {
	s.current.Reset()
	s.current.Write(s.staged.Bytes())
	return s.current.Len(), nil
}

// TestShutdownDeliversBeforeCheckpoint: on a clean stop the outbox is
// delivered before the last checkpoint takes it, so the pages that went out
// on the way out are not in the checkpoint to be sent again by the next run.
func TestShutdownDeliversBeforeCheckpoint(t *testing.T) {
	pager := &courier{}
	store := runToShutdown(t, pager)
	// What the process does once Run is back (cmd/trendwatch closeNotifier).
	if err := pager.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(pager.delivered) == 0 {
		t.Fatal("nothing delivered: the test tests nothing")
	}
	b, _ := newEarlyEngine(t, detectors.DefaultConfig(), nil)
	next := &outbox{}
	b.SetNotifier(next)
	if err := b.Restore(store.current.Bytes()); err != nil {
		t.Fatal(err)
	}
	if len(next.restored) != 0 {
		t.Errorf("the checkpoint hands %d delivered transitions to the next run, want none", len(next.restored))
	}
}

// laggard is a Notifier whose endpoint is too slow to drain by the
// shutdown's deadline; it records the order in which the shutdown calls it.
type laggard struct {
	outbox
	calls []string
}

func (l *laggard) Drain(context.Context) error {
	l.calls = append(l.calls, "drain")
	return errors.New("2 transitions still pending: context deadline exceeded")
}

func (l *laggard) Close() error { l.calls = append(l.calls, "close"); return nil }

func (l *laggard) Pending() []alert.Event {
	l.calls = append(l.calls, "pending")
	return l.outbox.Pending()
}

// TestShutdownStopsDeliveryBeforeCheckpoint: what the drain could not
// deliver goes into the last checkpoint, and delivery stops before the
// checkpoint takes it; a notifier still running after it delivered pages
// the checkpoint held, and the next run sent them again.
func TestShutdownStopsDeliveryBeforeCheckpoint(t *testing.T) {
	pager := &laggard{}
	runToShutdown(t, pager)
	if len(pager.got) == 0 {
		t.Fatal("nothing paged: the test tests nothing")
	}
	last := slices.Index(pager.calls, "drain")
	if last < 0 || !slices.Equal(pager.calls[last:], []string{"drain", "close", "pending"}) {
		t.Errorf("shutdown called the notifier %v, want drain, close, then the checkpoint's pending", pager.calls)
	}
}

// stateBox is an outbox with a state of its own (incident.Notifier's
// held alerts, paged ones and intervals).
type stateBox struct {
	outbox
	state    []byte
	restored [][]byte
}

func (b *stateBox) AppendState(dst []byte) []byte { return append(dst, b.state...) }
func (b *stateBox) RestoreState(s []byte) error {
	b.restored = append(b.restored, slices.Clone(s))
	return nil
}

// TestNotifierStateInCheckpoint: the notifier's state goes into the
// checkpoint beside its outbox and back to the next run's notifier before
// its outbox; a checkpoint from before version 5 hands it nothing.
func TestNotifierStateInCheckpoint(t *testing.T) {
	a := fuzzEngine(t)
	a.SetNotifier(&stateBox{state: []byte("held alerts and intervals")})
	snap := mustSnapshot(t, a)
	b := fuzzEngine(t)
	next := &stateBox{}
	b.SetNotifier(next)
	if err := b.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if len(next.restored) != 1 || string(next.restored[0]) != "held alerts and intervals" {
		t.Errorf("restored states %q, want the one written", next.restored)
	}
	body := snapBody(t, snap)
	old := sealVersion(4, body[:len(body)-notifierStateLen(a)])
	c := fuzzEngine(t)
	prev := &stateBox{}
	c.SetNotifier(prev)
	if err := c.Restore(old); err != nil {
		t.Fatalf("version 4 snapshot: %v", err)
	}
	if len(prev.restored) != 1 || len(prev.restored[0]) != 0 {
		t.Errorf("version 4 snapshot restored states %q, want one empty", prev.restored)
	}
}

// runToShutdown runs an engine paging through n on a surge to the end of
// its input, which stops it with one commit, and returns the checkpoint
// that commit made.
func runToShutdown(t *testing.T, n Notifier) *snapshotStore {
	t.Helper()
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	f := surgeFeed{start: start, minutes: 68, base: 30, factor: 10, onset: start.Add(time.Hour)}
	a, _ := newEarlyEngine(t, detectors.DefaultConfig(), nil)
	a.SetNotifier(n)
	a.cfg.CommitInterval = time.Hour // only the shutdown's commit
	in := make(chan ingest.Record)
	go func() {
		for _, r := range f.records() {
			in <- r
		}
		close(in)
	}()
	store := &snapshotStore{}
	if err := a.Run(context.Background(), in, nil, store); err != nil {
		t.Fatal(err)
	}
	return store
}
