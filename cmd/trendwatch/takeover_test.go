package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/trendwatch/trendwatch/checkpoint"
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
