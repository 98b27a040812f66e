package checkpoint

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Load(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty dir: got %v, want ErrNotFound", err)
	}
	for _, state := range [][]byte{{}, []byte("hello"), bytes.Repeat([]byte{0, 1, 2, 3}, 1<<20)} {
		if _, err := s.Save(state); err != nil {
			t.Fatal(err)
		}
		got, saved, err := s.Load()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, state) || saved.IsZero() {
			t.Fatalf("round trip of %d bytes returned %d bytes", len(state), len(got))
		}
	}
	entries, _ := os.ReadDir(s.dir)
	if len(entries) != 1 {
		t.Errorf("a temporary file was left behind: %v", entries)
	}
}

func TestLoadRefusesDamage(t *testing.T) {
	tests := []struct {
		name string
		mod  func([]byte) []byte
		want string
	}{
		{"flipped body byte", func(b []byte) []byte { b[len(b)-1] ^= 0xff; return b }, "checksum mismatch"},
		{"truncated", func(b []byte) []byte { return b[:len(b)-3] }, "truncated"},
		{"wrong magic", func(b []byte) []byte { copy(b, "XXXXXX"); return b }, "not a trendwatch checkpoint"},
		{"newer version", func(b []byte) []byte { b[6], b[7] = 0, 99; return b }, "version 99, this build reads versions 1 to 2"},
		{"version 0", func(b []byte) []byte { b[6], b[7] = 0, 0; return b }, "version 0, this build reads versions 1 to 2"},
		{"header only", func(b []byte) []byte { return b[:10] }, "header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Save([]byte(strings.Repeat("state ", 1000))); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(s.Path())
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(s.Path(), tt.mod(b), 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, err = s.Load()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

func FuzzLoad(f *testing.F) {
	dir := f.TempDir()
	s, err := Open(dir)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := s.Save([]byte("seed state")); err != nil {
		f.Fatal(err)
	}
	valid, _ := os.ReadFile(s.Path())
	f.Add(valid)
	f.Add([]byte("TWCKPT"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(s.Path(), b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, _ = s.Load() // must not panic or allocate without bound
	})
}

// TestStageCommit: a checkpoint streamed in pieces reads back whole; one
// staged but not committed, or whose writer failed, leaves the current
// checkpoint and no temporary file behind.
func TestStageCommit(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	piece := bytes.Repeat([]byte("streamed "), 100_000)
	stage := func(pieces int, fail error) error {
		return s.Stage(func(w io.Writer) error {
			for range pieces {
				if _, err := w.Write(piece); err != nil {
					return err
				}
			}
			return fail
		})
	}
	if err := stage(5, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Load(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("staged, not committed: Load says %v, want ErrNotFound", err)
	}
	n, err := s.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(s.Path()); err != nil || st.Size() != int64(n) {
		t.Fatalf("Commit says %d bytes; the file: %v, %v", n, st, err)
	}
	want := bytes.Repeat(piece, 5)
	for _, tc := range []struct {
		name string
		next func() error
	}{
		{"writer fails", func() error { return stage(2, errors.New("broken")) }},
		{"staged, then aborted", func() error { err := stage(2, nil); s.Abort(); return err }},
		{"staged twice, never committed", func() error { _ = stage(1, nil); return stage(3, nil) }},
		{"commit with nothing staged", func() error { s.Abort(); _, err := s.Commit(); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_ = tc.next()
			got, _, err := s.Load()
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("the committed checkpoint changed: %d bytes, %v", len(got), err)
			}
		})
	}
	s.Abort()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Errorf("%d files in the directory, want the checkpoint alone", len(ents))
	}
	if _, err := s.Commit(); err == nil {
		t.Error("Commit with nothing staged succeeded")
	}
}

// TestOpenRemovesStaleStaging: a staged file a killed process left behind is
// removed when the directory is opened again, once it is older than any
// staging under way could be; a recent one (a primary staging beside the
// standby that opens the directory) is kept.
func TestOpenRemovesStaleStaging(t *testing.T) {
	dir := t.TempDir()
	old, recent := filepath.Join(dir, ".state-1.tmp"), filepath.Join(dir, ".state-2.tmp")
	for _, name := range []string{old, recent} {
		if err := os.WriteFile(name, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-staleAfter - time.Minute)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a staged file %v old is still there (%v)", staleAfter+time.Minute, err)
	}
	if _, err := os.Stat(recent); err != nil {
		t.Errorf("a recent staged file was removed: %v", err)
	}
}

// TestInstallAsksTheFenceAfterTheSync: the fence is asked again once the
// staged file is synced, just before the rename: a process paused in the
// sync that wakes after its standby took over leaves the standby's
// checkpoint in place.
func TestInstallAsksTheFenceAfterTheSync(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Save([]byte("the standby's")); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	tmp, err := os.CreateTemp(dir, ".state-*.tmp")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmp.WriteString("the paused primary's"); err != nil {
		t.Fatal(err)
	}
	taken := errors.New("claimed at epoch 2")
	if err := s.install(tmp, s.Path(), func() error { return taken }); !errors.Is(err, taken) {
		t.Fatalf("install = %v, want the fence's refusal", err)
	}
	after, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("the checkpoint was replaced although the fence refused")
	}
}
