package pipeline

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/ingest"
)

func TestStatusUnhealthy(t *testing.T) {
	cfg := DefaultConfig() // commit every 10s, 1m of failure, 5m of lag growth
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	diskFull := errors.New("checkpoint: write /data/.state-1.tmp: no space left on device")
	tests := []struct {
		name string
		s    Status
		now  time.Time
		want string // in the reason; "" for healthy
	}{
		{"fresh", Status{LastCommit: t0}, t0.Add(time.Second), ""},
		{"failing, within a minute", Status{LastCommit: t0, CommitErr: diskFull}, t0.Add(69 * time.Second), ""},
		{"failing for over a minute", Status{LastCommit: t0, CommitErr: diskFull}, t0.Add(71 * time.Second), "no space left on device"},
		{"no round finished", Status{LastCommit: t0}, t0.Add(2 * time.Minute), "stuck"},
		{"recovered", Status{LastCommit: t0.Add(2 * time.Minute)}, t0.Add(2*time.Minute + time.Second), ""},
		{"lag grew 4m", Status{LastCommit: t0.Add(4 * time.Minute), Lag: 9000, LagFrom: 10, LagGrowing: t0, LagRose: t0.Add(4 * time.Minute)}, t0.Add(4 * time.Minute), ""},
		{"lag grew 6m", Status{LastCommit: t0.Add(6 * time.Minute), Lag: 9000, LagFrom: 10, LagGrowing: t0, LagRose: t0.Add(6 * time.Minute)}, t0.Add(6 * time.Minute), "lag grew from 10 to 9000"},
	}
	for _, tt := range tests {
		got := tt.s.Unhealthy(tt.now, cfg)
		if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
			t.Errorf("%s: Unhealthy = %q, want %q", tt.name, got, tt.want)
		}
	}
	off := cfg
	off.MaxCommitFailure, off.MaxLagGrowth = 0, 0
	s := Status{LastCommit: t0, CommitErr: diskFull, LagFrom: 1, Lag: 2, LagGrowing: t0, LagRose: t0.Add(time.Hour)}
	if got := s.Unhealthy(t0.Add(time.Hour), off); got != "" {
		t.Errorf("both checks off: Unhealthy = %q", got)
	}
}

func TestLagTrend(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		lags      []int64 // one sample a step apart
		wantSince int     // sample index the rise began at; -1: not growing
		wantRose  int
	}{
		{"caught up", []int64{0, 0, 0, 0}, -1, -1},
		{"steady rise", []int64{0, 10, 20, 40, 80}, 0, 4},
		{"dip starts over", []int64{0, 10, 50, 30, 40, 60}, 3, 5},
		{"wobbling while keeping up", []int64{100, 300, 50, 200, 0, 120}, 4, 5},
		{"flat at a distance is not growth", []int64{500, 500, 500, 500}, -1, -1},
		{"flat then rising starts at the last flat sample", []int64{500, 500, 500, 600, 700}, 2, 4},
		{"plateau after a rise keeps the rise", []int64{0, 100, 200, 200, 200}, 0, 2},
		{"unknown lag ignored", []int64{0, -1, 10, -1, 20}, 0, 4},
	}
	for _, tt := range tests {
		l := lagTrend{step: 30 * time.Second}
		for i, lag := range tt.lags {
			l.sample(t0.Add(time.Duration(i)*30*time.Second), lag)
			l.sample(t0.Add(time.Duration(i)*30*time.Second+time.Second), 1e9) // within a step: ignored
		}
		since, rose, _ := l.growing()
		at := func(i int) time.Time {
			if i < 0 {
				return time.Time{}
			}
			return t0.Add(time.Duration(i) * 30 * time.Second)
		}
		if !since.Equal(at(tt.wantSince)) || !rose.Equal(at(tt.wantRose)) {
			t.Errorf("%s: growing since %v, rose %v; want samples %d, %d", tt.name, since, rose, tt.wantSince, tt.wantRose)
		}
	}
}

// failingStore is a checkpoint directory that has filled up.
type failingStore struct{ err error }

// Stage writes the snapshot nowhere; Commit fails, as a sync on a full disk does.
func (f failingStore) Stage(write func(io.Writer) error) error { return write(io.Discard) }
func (f failingStore) Commit() (int, error)                    { return 0, f.err }

type statusLog struct{ last Status }

func (*statusLog) Bucket(*BucketReport) {}
func (*statusLog) Alert(alert.Event)    {}
func (s *statusLog) Status(st Status)   { s.last = st }

// TestEngineStatusReportsCommitFailure drives the real commit round with a
// checkpoint that cannot be written and checks the status the health
// endpoint is given, then that a successful round clears it.
func TestEngineStatusReportsCommitFailure(t *testing.T) {
	e := newTestEngine(t, &memSink{})
	obs := &statusLog{}
	e.AddObserver(obs)
	ctx := context.Background()
	start := time.Now()
	e.runStart, e.lastCommit = start, start
	full := failingStore{errors.New("checkpoint: write .state-1.tmp: no space left on device")}
	if err := e.commitAsync(ctx, nil, full); err != nil {
		t.Fatal(err)
	}
	if err := e.waitSaving(); err == nil {
		t.Fatal("background round succeeded on a full disk")
	}
	if err := e.tick(ctx, start.Add(2*time.Minute), 0); err != nil {
		t.Fatal(err)
	}
	if got := obs.last.Unhealthy(start.Add(2*time.Minute), e.cfg); !strings.Contains(got, "no space left on device") {
		t.Errorf("after failed rounds, Unhealthy = %q", got)
	}
	if err := e.Commit(ctx, nil, failingStore{}); err != nil {
		t.Fatal(err)
	}
	if err := e.tick(ctx, time.Now(), 0); err != nil {
		t.Fatal(err)
	}
	if got := obs.last.Unhealthy(time.Now(), e.cfg); got != "" {
		t.Errorf("after a good round, Unhealthy = %q", got)
	}
}

func TestEngineStatusLag(t *testing.T) {
	e := newTestEngine(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	now := time.Now()
	e.runStart, e.lastCommit = now, now
	// The consumer falls further behind at every sample for 6 minutes.
	for i := 0; i <= 12; i++ {
		rec := ingest.Record{Source: ingest.Source{Topic: "content-events", Offset: int64(i)}, Lag: int64(1000 * (i + 1)),
			Kind: ingest.KindContent}
		rec.Content.TS = t0.Add(time.Duration(i) * time.Second)
		if err := e.Process(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if err := e.tick(ctx, now.Add(time.Duration(i)*30*time.Second), 1); err != nil {
			t.Fatal(err)
		}
	}
	st := e.Status(now.Add(6 * time.Minute))
	st.LastCommit = now.Add(6 * time.Minute) // commits are fine; only lag is judged
	if got := st.Unhealthy(now.Add(6*time.Minute), e.cfg); !strings.Contains(got, "lag grew from 1000 to 13000") {
		t.Errorf("Unhealthy = %q, want lag growth", got)
	}
}
