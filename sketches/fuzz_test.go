package sketches

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/internal/binenc"
)

// seal wraps body in a valid envelope, so the fuzzer reaches the body decoders
// rather than stopping at the checksum.
func seal(k byte, body []byte) []byte {
	b := envelope.AppendHeader(nil, k)
	b = append(b, body...)
	return envelope.Seal(b, 0)
}

// bodyOf is the body of an encoding.
func bodyOf(enc []byte) []byte { return enc[envelope.HeaderLen() : len(enc)-binenc.TrailerLen] }

// addSeeds adds each encoding and its bare body.
func addSeeds(f *testing.F, encs ...[]byte) {
	for _, e := range encs {
		f.Add(e)
		f.Add(slices.Clone(bodyOf(e)))
	}
}

// fuzzDecode decodes data as is and as a sealed body; a decoder must either
// return an ErrEncoding or produce a value whose encoding decodes to the same.
func fuzzDecode[T any, P interface {
	*T
	MarshalBinary() ([]byte, error)
	UnmarshalBinary([]byte) error
}](t *testing.T, k byte, data []byte, check func(t *testing.T, v P)) {
	for _, in := range [][]byte{data, seal(k, data)} {
		v := P(new(T))
		if err := v.UnmarshalBinary(in); err != nil {
			if !errors.Is(err, ErrEncoding) {
				t.Fatalf("error does not wrap ErrEncoding: %v", err)
			}
			continue
		}
		enc, err := v.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded value does not encode: %v", err)
		}
		w := P(new(T))
		if err := w.UnmarshalBinary(enc); err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		enc2, _ := w.MarshalBinary()
		if !bytes.Equal(enc, enc2) {
			t.Fatal("round trip of a decoded value is not exact")
		}
		check(t, w)
	}
}

func FuzzCountMinUnmarshal(f *testing.F) {
	empty, _ := mustCountMin(f, 2, 1).MarshalBinary()
	c := mustCountMin(f, 16, 3)
	for i := range uint64(40) {
		c.Add(i*0x9E3779B97F4A7C15, uint32(i))
	}
	full, _ := c.MarshalBinary()
	c.Add(7, 1<<31)
	c.Add(7, 1<<31)
	sat, _ := c.MarshalBinary()
	addSeeds(f, empty, full, sat)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDecode(t, kindCountMin, data, func(t *testing.T, c *CountMin) {
			c.Add(12345, 3)
			if c.Estimate(12345) < 3 {
				t.Fatal("a decoded sketch undercounts")
			}
			if err := c.Merge(c.Clone()); err != nil {
				t.Fatal(err)
			}
		})
	})
}

func FuzzHLLUnmarshal(f *testing.F) {
	h := mustHLL(f, 4)
	empty, _ := h.MarshalBinary()
	for i := range uint64(100) {
		h.InsertHash(keyHash(3, i))
	}
	some, _ := h.MarshalBinary()
	addSeeds(f, empty, some)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDecode(t, kindHLL, data, func(t *testing.T, h *HLL) {
			h.InsertHash(1)
			_ = h.Estimate()
			if err := h.Merge(h.Clone()); err != nil {
				t.Fatal(err)
			}
		})
	})
}

func FuzzTopKUnmarshal(f *testing.F) {
	tk := mustTopK(f, 3)
	empty, _ := tk.MarshalBinary()
	for i := range 20 {
		key := fmt.Sprintf("k%d", i%7)
		tk.Add(key, Hash(key), uint32(i))
	}
	full, _ := tk.MarshalBinary()
	addSeeds(f, empty, full)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDecode(t, kindTopK, data, func(t *testing.T, tk *TopK) {
			checkTopKInvariants(t, tk, nil)
			tk.Add("new", Hash("new"), 5)
			checkTopKInvariants(t, tk, nil)
			if err := tk.Merge(tk); err != nil {
				t.Fatal(err)
			}
			checkTopKInvariants(t, tk, nil)
		})
	})
}

// tinyConfig makes window encodings of a few hundred bytes for the fuzzer.
func tinyConfig() WindowConfig {
	return WindowConfig{
		Bucket:         time.Hour,
		FineBuckets:    2,
		CoarseBucket:   25 * time.Hour,
		CoarseBuckets:  1,
		TopK:           3,
		MaxKeyBytes:    16,
		MemoryBudget:   1 << 20,
		CMSDepth:       2,
		CMSWidth:       4,
		CMSReportWidth: 2,
	}
}

func FuzzWindowUnmarshal(f *testing.F) {
	w := mustWindow(f, tinyConfig())
	unstarted, _ := w.MarshalBinary()
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 80 {
		at := ts.Add(time.Duration(i) * 37 * time.Minute)
		key := fmt.Sprintf("t%d", i%5)
		_ = w.Mention(at, key, Hash(key), 1)
		_ = w.Report(at, key, Hash(key), 1)
		_ = w.Event(at)
		w.Advance(at)
	}
	_ = w.Mention(w.Closed(), "open", Hash("open"), 2)
	started, _ := w.MarshalBinary()
	addSeeds(f, unstarted, started)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDecode(t, kindWindow, data, func(t *testing.T, w *Window) {
			if w.Bytes() > w.Plan().MaxBytes {
				t.Fatalf("decoded window holds %d bytes, above its plan's %d", w.Bytes(), w.Plan().MaxBytes)
			}
			if w.Closed().IsZero() {
				return
			}
			at := w.Closed()
			_ = w.Mention(at, "x", Hash("x"), 1)
			w.Series(Hash("x"), at, 3)
			from, to := w.Covered()
			if _, _, err := w.Count(Hash("x"), from, to); err != nil {
				t.Fatalf("count over the covered range: %v", err)
			}
			w.Advance(at.Add(3 * time.Hour))
			if err := w.Merge(w); err != nil {
				t.Fatal(err)
			}
		})
	})
}
