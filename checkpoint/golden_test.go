package checkpoint

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden from the current writer")

// goldenState is some kilobytes of state, partly compressible, the same every run.
func goldenState() []byte {
	var b bytes.Buffer
	for i := range 500 {
		fmt.Fprintf(&b, "term hashtag:t%d count %d\n", i%37, i*i%1009)
		b.WriteByte(byte(i * 131))
	}
	return b.Bytes()
}

// goldenSaved is when the golden checkpoint was written.
var goldenSaved = time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)

// savedAt is where Save's header holds the time of the save, the one part of
// a checkpoint file that differs between two saves of the same state.
const savedAt = len(magic) + 2

// TestGoldenFile pins the checkpoint file to one committed in testdata: a
// checkpoint written by an earlier build must load in this one, and a save of
// the same state must write the same bytes but for the time of the save.
func TestGoldenFile(t *testing.T) {
	path := filepath.Join("testdata", "golden", fileName)
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Save(goldenState()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if *updateGolden {
		ts := uint64(goldenSaved.UnixNano())
		for i := range 8 { // big endian, as the header is
			got[savedAt+i] = byte(ts >> (56 - 8*i))
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || !bytes.Equal(got[:savedAt], want[:savedAt]) || !bytes.Equal(got[savedAt+8:], want[savedAt+8:]) {
		t.Fatalf("a save differs from %s beyond the time of the save (%d bytes, want %d)", path, len(got), len(want))
	}

	// The golden file of every version still read loads: testdata/golden is
	// this version's, golden-v1 one written before Version 2 (the store
	// itself did not change; what the pipeline puts in it did).
	for _, path := range []string{path, filepath.Join("testdata", "golden-v1", fileName)} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, fileName), b, 0o644); err != nil {
			t.Fatal(err)
		}
		old, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		state, saved, err := old.Load()
		if err != nil {
			t.Fatalf("%s does not load: %v", path, err)
		}
		if !bytes.Equal(state, goldenState()) || !saved.Equal(goldenSaved) {
			t.Fatalf("%s loads as %d bytes saved %v, want %d bytes saved %v", path, len(state), saved, len(goldenState()), goldenSaved)
		}
	}
}
