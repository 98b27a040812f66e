package incident

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendwatch/trendwatch/alert"
)

// restarted is s after a restart from a checkpoint: its outbox (Pending) and
// its state (AppendState) handed to a new notifier, which starts.
func restarted(t *testing.T, s *Notifier, cfg Config) *Notifier {
	t.Helper()
	pending, state := s.Pending(), s.AppendState(nil)
	s.Close()
	next, err := New(cfg, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if err := next.RestoreState(state); err != nil {
		t.Fatal(err)
	}
	next.Restore(pending)
	next.Start(context.Background())
	t.Cleanup(func() { next.Close() })
	return next
}

// TestStateAcrossRestart: what the per-term limit decided lives through a
// restart. Before the notifier kept a state beside its outbox, an alert held
// back was never paged after a restart, though its incident's paged alert
// resolved while it still fired; and a second alert of an incident paged
// within the interval that had paged the first.
func TestStateAcrossRestart(t *testing.T) {
	open := func(key string, seq uint64) alert.Event {
		return transition(key, seq, alert.StatusOpen, alert.SeverityHigh)
	}
	for _, tt := range []struct {
		name        string
		first, then []alert.Event
		want        []string // what the desk receives, in order
	}{
		{
			name:  "a held alert pages once its incident's paged one resolves",
			first: []alert.Event{open("surge|hashtag:x", 1), open("watchlist|hashtag:x", 2)},
			then:  []alert.Event{transition("surge|hashtag:x", 3, alert.StatusResolved, alert.SeverityHigh)},
			want:  []string{"surge|hashtag:x/trigger", "surge|hashtag:x/resolve", "watchlist|hashtag:x/trigger"},
		},
		{
			name:  "a second alert of the incident within the interval is held",
			first: []alert.Event{open("surge|hashtag:x", 1)},
			then:  []alert.Event{open("report_rate|hashtag:x", 2)},
			want:  []string{"surge|hashtag:x/trigger"},
		},
	} {
		for _, restart := range []bool{false, true} {
			t.Run(tt.name+map[bool]string{false: "", true: ", restarted between"}[restart], func(t *testing.T) {
				rc := newReceiver(t, nil)
				cfg := pagerDutyConfig(rc.srv.URL)
				s := startNotifier(t, cfg, nil)
				if err := s.Notify(context.Background(), tt.first); err != nil {
					t.Fatal(err)
				}
				drain(t, s, 5*time.Second)
				if restart {
					s = restarted(t, s, cfg)
				}
				if err := s.Notify(context.Background(), tt.then); err != nil {
					t.Fatal(err)
				}
				drain(t, s, 5*time.Second)
				rc.mu.Lock()
				defer rc.mu.Unlock()
				if !slices.Equal(rc.order, tt.want) {
					t.Errorf("desk received %v, want %v", rc.order, tt.want)
				}
			})
		}
	}
}

// pagerDutyConfig is testConfig for kind pagerduty, with an hour's
// per-term interval.
func pagerDutyConfig(rawURL string) Config {
	c := testConfig(rawURL)
	c.Kind = KindPagerDuty
	c.RoutingKey = "R0UTINGKEY0123456789abcdef012345"
	c.PerTermInterval = time.Hour
	return c
}

// TestStateEncoding: the state encodes to the same bytes after a restore,
// an empty one (a checkpoint from before it was kept) restores nothing, and
// a cut or unknown one is refused.
func TestStateEncoding(t *testing.T) {
	rc := newReceiver(t, nil)
	cfg := testConfig(rc.srv.URL)
	cfg.PerTermInterval = time.Hour
	s := startNotifier(t, cfg, nil)
	if err := s.Notify(context.Background(), []alert.Event{
		transition("surge|hashtag:x", 1, alert.StatusOpen, alert.SeverityHigh),
		transition("watchlist|hashtag:x", 2, alert.StatusOpen, alert.SeverityCritical),
		transition("novelty|hashtag:y", 3, alert.StatusOpen, alert.SeverityMedium),
	}); err != nil {
		t.Fatal(err)
	}
	drain(t, s, 5*time.Second)
	state := s.AppendState(nil)
	r, err := New(cfg, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.RestoreState(state); err != nil {
		t.Fatal(err)
	}
	if again := r.AppendState(nil); !bytes.Equal(again, state) {
		t.Errorf("state re-encoded as % x, want % x", again, state)
	}
	if err := r.RestoreState(nil); err != nil {
		t.Errorf("empty state: %v", err)
	}
	for _, bad := range [][]byte{state[:len(state)-1], append([]byte{stateVersion + 1}, state[1:]...)} {
		if err := r.RestoreState(bad); !errors.Is(err, ErrState) {
			t.Errorf("bad state % x: %v, want an error wrapping %v", bad[:min(8, len(bad))], err, ErrState)
		}
	}
}
