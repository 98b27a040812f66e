package checkpoint

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEpochFencesTheOlderOwner: the process that claimed the directory last
// saves checkpoints; one that claimed it before, waking after a pause, saves
// none over it and is told it was superseded.
func TestEpochFencesTheOlderOwner(t *testing.T) {
	dir := t.TempDir()
	open := func() *Store {
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	old, next := open(), open()
	for i, s := range []*Store{old, next} {
		e, err := s.Claim()
		if err != nil {
			t.Fatal(err)
		}
		if e != uint64(i+1) || s.Epoch() != e {
			t.Fatalf("claim %d: epoch %d (Epoch %d), want %d", i+1, e, s.Epoch(), i+1)
		}
	}
	if _, err := next.Save([]byte("the new owner's state")); err != nil {
		t.Fatalf("the new owner's save: %v", err)
	}
	_, err := old.Save([]byte("the paused owner's state"))
	if !errors.Is(err, ErrSuperseded) || !strings.Contains(err.Error(), "epoch 2") {
		t.Fatalf("the paused owner's save: %v, want ErrSuperseded naming epoch 2", err)
	}
	state, _, err := next.Load()
	if err != nil || string(state) != "the new owner's state" {
		t.Fatalf("checkpoint after both saves: %q, %v", state, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// A store that never claimed (a tool reading or writing a copy) is not fenced.
	if _, err := open().Save([]byte("a tool's copy")); err != nil {
		t.Errorf("unclaimed save: %v", err)
	}

	if err := os.WriteFile(filepath.Join(dir, epochFile), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := open().Claim(); err == nil || !strings.Contains(err.Error(), "not an epoch") {
		t.Errorf("claim over a corrupt epoch file: %v, want an error naming it", err)
	}
}
