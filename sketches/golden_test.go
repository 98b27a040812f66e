package sketches

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden from the current encoders")

type binaryCodec interface {
	MarshalBinary() ([]byte, error)
	UnmarshalBinary([]byte) error
}

// goldenSketches builds one value of each encoded type, the same every run.
func goldenSketches(t testing.TB) map[string]binaryCodec {
	c := mustCountMin(t, 64, 4)
	tk := mustTopK(t, 5)
	h := mustHLL(t, 6)
	for i := range 200 {
		key := fmt.Sprintf("hashtag:t%d", i%23)
		c.Add(Hash(key), uint32(1+i%7))
		tk.Add(key, Hash(key), uint32(1+i%5)) // 23 keys in 5 slots: errors stay
		h.InsertHash(Hash(key))
	}
	c.Add(Hash("saturated"), 1<<31)
	c.Add(Hash("saturated"), 1<<31)

	w := mustWindow(t, tinyConfig())
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 80 { // 49 h: the coarse ring holds buckets too
		at := ts.Add(time.Duration(i) * 37 * time.Minute)
		key := fmt.Sprintf("t%d", i%5)
		mustNil(t, w.Mention(at, key, Hash(key), uint32(1+i%3)))
		mustNil(t, w.Report(at, key, Hash(key), 1))
		mustNil(t, w.Event(at))
		w.Advance(at)
	}
	mustNil(t, w.Mention(w.Closed(), "open", Hash("open"), 2))
	return map[string]binaryCodec{
		"countmin": c, "topk": tk, "hll": h, "window": w,
		"window-unstarted": mustWindow(t, tinyConfig()),
	}
}

// goldenEmpty makes, for each of goldenSketches' names, a zero value to
// decode into.
func goldenEmpty() map[string]func() binaryCodec {
	return map[string]func() binaryCodec{
		"countmin":         func() binaryCodec { return &CountMin{} },
		"topk":             func() binaryCodec { return &TopK{} },
		"hll":              func() binaryCodec { return &HLL{} },
		"window":           func() binaryCodec { return &Window{} },
		"window-unstarted": func() binaryCodec { return &Window{} },
	}
}

// TestGoldenEncodings pins the encodings to bytes committed in testdata: a
// checkpoint written by an earlier build must restore in this one, so the same
// value must encode to the same bytes and the stored bytes must decode to it.
func TestGoldenEncodings(t *testing.T) {
	empty := goldenEmpty()
	for name, v := range goldenSketches(t) {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", "golden", name+".bin")
			got := mustMarshal(t, v)
			if *updateGolden {
				mustNil(t, os.MkdirAll(filepath.Dir(path), 0o755))
				mustNil(t, os.WriteFile(path, got, 0o644))
			}
			want, err := os.ReadFile(path)
			mustNil(t, err)
			if !bytes.Equal(got, want) {
				t.Fatalf("encoding differs from %s (%d bytes, want %d)", path, len(got), len(want))
			}
			d := empty[name]()
			if err := d.UnmarshalBinary(want); err != nil {
				t.Fatalf("%s does not decode: %v", path, err)
			}
			if again := mustMarshal(t, d); !bytes.Equal(again, want) {
				t.Fatalf("%s decodes to a value that encodes differently", path)
			}
		})
	}
}

// TestGoldenVersion1: the encodings of version 1 (testdata/golden/v1, as the
// builds before 7 December 2026 wrote them) still decode, each to the value
// the current golden file holds: a window's distinct-terms HyperLogLog, which
// version 2 dropped, is read and left behind.
func TestGoldenVersion1(t *testing.T) {
	empty := goldenEmpty()
	for name, v := range goldenSketches(t) {
		t.Run(name, func(t *testing.T) {
			old, err := os.ReadFile(filepath.Join("testdata", "golden", "v1", name+".bin"))
			mustNil(t, err)
			d := empty[name]()
			if err := d.UnmarshalBinary(old); err != nil {
				t.Fatalf("version 1 does not decode: %v", err)
			}
			if got, want := mustMarshal(t, d), mustMarshal(t, v); !bytes.Equal(got, want) {
				t.Fatalf("version 1 decodes to a value that encodes to %d bytes, want the current value's %d", len(got), len(want))
			}
		})
	}
}
