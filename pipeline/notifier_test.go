package pipeline

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
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
