package main

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/trendwatch/trendwatch/checkpoint"
	"github.com/trendwatch/trendwatch/config"
)

// TestTakeover: the notifier's fence says superseded only when another
// process claimed the state, never when the epoch cannot be read: that drop
// of the outbox is for good, and the checkpoint is to keep its pages.
func TestTakeover(t *testing.T) {
	dir := t.TempDir()
	claim := func() *checkpoint.Store {
		s, err := checkpoint.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Claim(); err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := claim()
	if err := (takeover{first}).Superseded(); err != nil {
		t.Fatalf("the owner: %v", err)
	}
	claim()
	if err := (takeover{first}).Superseded(); !errors.Is(err, checkpoint.ErrSuperseded) {
		t.Fatalf("after another claim: %v, want ErrSuperseded", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "epoch"), []byte("not an epoch"), 0o600); err != nil {
		t.Fatal(err)
	}
	if first.Superseded() == nil {
		t.Fatal("the store reads a broken epoch file without an error; the case below tests nothing")
	}
	if err := (takeover{first}).Superseded(); err != nil {
		t.Errorf("an unreadable epoch: %v, want nil (no takeover known)", err)
	}
}

// TestResumeFrom: kafka.start_offset latest does not apply to a process
// resuming a checkpoint, whose offsets say where counting stopped: a
// partition without a committed offset starts at the earliest, and the
// engine skips what the checkpoint counted.
func TestResumeFrom(t *testing.T) {
	for _, tc := range []struct {
		name       string
		start      string
		checkpoint bool
		fresh      bool
		want       string
	}{
		{"latest, a checkpoint to resume", "latest", true, false, "earliest"},
		{"latest, no checkpoint", "latest", false, false, "latest"},
		{"latest, the checkpoint discarded", "latest", true, true, "latest"},
		{"earliest", "earliest", true, false, "earliest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			store, err := checkpoint.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			if tc.checkpoint {
				if _, err := store.Save([]byte("state")); err != nil {
					t.Fatal(err)
				}
			}
			cfg := config.Default()
			cfg.Kafka.StartOffset, cfg.Checkpoint.Fresh = tc.start, tc.fresh
			if got := resumeFrom(&cfg, store, slog.New(slog.DiscardHandler)).StartOffset; got != tc.want {
				t.Errorf("start offset %q, want %q", got, tc.want)
			}
			if cfg.Kafka.StartOffset != tc.start {
				t.Errorf("the configuration itself changed to %q", cfg.Kafka.StartOffset)
			}
		})
	}
}
