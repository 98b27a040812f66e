package checkpoint

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
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

// TestClaimAtMaxEpoch: the last epoch a row version carries can be claimed
// once; a claim after it is refused, naming what to do, rather than claiming
// the same epoch again, which would fence no one.
func TestClaimAtMaxEpoch(t *testing.T) {
	for _, tc := range []struct {
		last    uint64
		want    uint64
		refused bool
	}{
		{MaxEpoch - 2, MaxEpoch - 1, false},
		{MaxEpoch - 1, MaxEpoch, false},
		{MaxEpoch, 0, true},
		{MaxEpoch + 5, 0, true},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, epochFile), []byte(strconv.FormatUint(tc.last, 10)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Claim()
		switch {
		case tc.refused && (err == nil || !strings.Contains(err.Error(), "new checkpoint.dir")):
			t.Errorf("claim after epoch %d: %d, %v; want refused, naming what to do", tc.last, got, err)
		case !tc.refused && (err != nil || got != tc.want):
			t.Errorf("claim after epoch %d: %d, %v; want %d", tc.last, got, err, tc.want)
		}
	}
}
