package sketches

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"
)

func mustHLL(t testing.TB, p uint8) *HLL {
	t.Helper()
	h, err := NewHLL(p)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// keyHash is the hash of distinct key i of stream seed: xxhash over 16 bytes, so
// that streams of different seeds share no keys.
func keyHash(seed, i uint64) uint64 {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	binary.LittleEndian.PutUint64(b[8:], i)
	return xxhash.Sum64(b[:])
}

func TestNewHLLRejects(t *testing.T) {
	for _, p := range []uint8{0, 3, 19, 255} {
		if _, err := NewHLL(p); err == nil || !strings.Contains(err.Error(), "precision must be in [4, 18]") {
			t.Errorf("NewHLL(%d) = %v", p, err)
		}
	}
	for p := MinHLLPrecision; p <= MaxHLLPrecision; p++ {
		h := mustHLL(t, p)
		if h.Precision() != p || h.Estimate() != 0 {
			t.Errorf("NewHLL(%d): precision %d, estimate %d", p, h.Precision(), h.Estimate())
		}
	}
}

// TestHLLErrorWithinTheory: over many seeds, the relative error stays within 3× the
// standard error 1.04/√m at every cardinality and precision, and its RMS is close
// to the standard error.
func TestHLLErrorWithinTheory(t *testing.T) {
	seeds := 32
	if testing.Short() {
		seeds = 8
	}
	for _, p := range []uint8{10, 12, 14} {
		sigma := 1.04 / math.Sqrt(float64(uint64(1)<<p))
		for _, n := range []uint64{1_000, 30_000, 300_000} {
			var sq, worst float64
			for seed := range uint64(seeds) {
				h := mustHLL(t, p)
				for i := range n {
					h.InsertHash(keyHash(seed, i))
				}
				rel := (float64(h.Estimate()) - float64(n)) / float64(n)
				sq += rel * rel
				worst = max(worst, math.Abs(rel))
				if math.Abs(rel) > 3*sigma {
					t.Errorf("p=%d n=%d seed=%d: relative error %.4f beyond 3σ = %.4f", p, n, seed, rel, 3*sigma)
				}
			}
			rms := math.Sqrt(sq / float64(seeds))
			t.Logf("p=%d n=%7d: RMS relative error %.4f (σ=%.4f), worst %.4f over %d seeds", p, n, rms, sigma, worst, seeds)
			if rms > 1.5*sigma {
				t.Errorf("p=%d n=%d: RMS relative error %.4f above 1.5σ = %.4f", p, n, rms, 1.5*sigma)
			}
		}
	}
}

func TestHLLMergeEqualsUnion(t *testing.T) {
	const shards = 5
	union := mustHLL(t, 12)
	parts := make([]*HLL, shards)
	for i := range parts {
		parts[i] = mustHLL(t, 12)
	}
	for i := range uint64(200_000) {
		x := keyHash(99, i%150_000) // overlapping shards: keys repeat across them
		union.InsertHash(x)
		parts[i%shards].InsertHash(x)
	}
	merged := parts[0].Clone()
	for _, p := range parts[1:] {
		if err := merged.Merge(p); err != nil {
			t.Fatal(err)
		}
	}
	mb, _ := merged.MarshalBinary()
	ub, _ := union.MarshalBinary()
	if !bytes.Equal(mb, ub) {
		t.Fatal("registers of the merged shards differ from those of the union")
	}
	if merged.Estimate() != union.Estimate() {
		t.Fatalf("estimates differ: %d vs %d", merged.Estimate(), union.Estimate())
	}
	pb, _ := parts[0].MarshalBinary()
	if bytes.Equal(pb, mb) {
		t.Fatal("Clone shares registers with the merge result")
	}
	if err := merged.Merge(mustHLL(t, 13)); err == nil || !strings.Contains(err.Error(), "cannot merge precision 13 into precision 12") {
		t.Fatalf("merge of another precision: %v", err)
	}
}

func TestHLLReset(t *testing.T) {
	h := mustHLL(t, 8)
	for i := range uint64(1000) {
		h.InsertHash(keyHash(1, i))
	}
	h.Reset()
	if h.Estimate() != 0 {
		t.Fatalf("estimate after reset = %d", h.Estimate())
	}
}

func TestHLLInsertDoesNotAllocate(t *testing.T) {
	h := mustHLL(t, 14)
	x := uint64(1)
	if n := testing.AllocsPerRun(1000, func() { x = x*6364136223846793005 + 1442695040888963407; h.InsertHash(x) }); n != 0 {
		t.Fatalf("InsertHash allocates %v times per call", n)
	}
}

func TestHLLBytesIsHonest(t *testing.T) {
	const n = 64
	grown, v := heapGrowth(func() any {
		hs := make([]*HLL, n)
		for i := range hs {
			hs[i] = mustHLL(t, 14)
		}
		return hs
	})
	hs := v.([]*HLL)
	want := int64(n * hs[0].Bytes())
	if d := math.Abs(float64(grown-want)) / float64(want); d > 0.05 {
		t.Fatalf("%d HLLs: Bytes() sums to %d, heap grew by %d", n, want, grown)
	}
	runtime.KeepAlive(hs)
}

func TestHLLRoundTrip(t *testing.T) {
	h := mustHLL(t, 11)
	for i := range uint64(5000) {
		h.InsertHash(keyHash(5, i))
	}
	b, err := h.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var d HLL
	if err := d.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	b2, _ := d.MarshalBinary()
	if !bytes.Equal(b, b2) || d.Estimate() != h.Estimate() || d.Precision() != 11 {
		t.Fatal("round trip changed the sketch")
	}
	if _, err := (&HLL{}).MarshalBinary(); err == nil {
		t.Fatal("a zero HLL marshalled")
	}
}

func TestHLLUnmarshalRejects(t *testing.T) {
	h := mustHLL(t, 4)
	h.InsertHash(1 << 63)
	good, _ := h.MarshalBinary()
	reseal := func(body []byte) []byte { return seal(kindHLL, body) }
	body := bodyOf(good)
	highReg := slices.Clone(body)
	highReg[8] = 62 // above 64−p+1
	cm, _ := mustCountMin(t, 2, 1).MarshalBinary()
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"other kind", cm, "holds a CountMin"},
		{"truncated", good[:len(good)-2], "checksum"},
		{"short body", reseal([]byte{2, 4}), "shorter than its 4-byte header"},
		{"sparse", reseal([]byte{2, 4, 0, 1, 0, 0, 0, 0}), "dense form"},
		{"version 1", reseal(append([]byte{1}, body[1:]...)), "dense form"},
		{"bad precision", reseal(append([]byte{2, 30}, body[2:]...)), "p has to be"},
		{"short registers", reseal(body[:len(body)-1]), "too short"},
		{"register too high", reseal(highReg), "invalid binary data"},
		{"trailing", reseal(append(slices.Clone(body), 0)), "invalid binary data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := h.Clone()
			err := d.UnmarshalBinary(tc.data)
			if err == nil || !errors.Is(err, ErrEncoding) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrEncoding containing %q", err, tc.want)
			}
			if d.Precision() != 4 || d.Estimate() != h.Estimate() {
				t.Fatal("a failed decode changed the receiver")
			}
		})
	}
}

// TestHLLFastEstimateIsTheLibrarys checks the estimate made from the
// registers against the library's own, at every precision, from empty to
// past the registers' count, and with register values beyond what uniform
// hashes reach in practice.
func TestHLLFastEstimateIsTheLibrarys(t *testing.T) {
	for p := MinHLLPrecision; p <= MaxHLLPrecision; p++ {
		h := mustHLL(t, p)
		n := uint64(0)
		check := func() {
			t.Helper()
			got, want := h.Estimate(), h.sk.Estimate()
			if got != want {
				t.Fatalf("precision %d, %d keys: estimate %d, the library's %d", p, n, got, want)
			}
		}
		check()
		for _, upto := range []uint64{1, 10, 100, 1000, 5000, 20000, 100000} {
			for ; n < upto; n++ {
				h.InsertHash(keyHash(uint64(p), n))
			}
			check()
		}
		// Hashes with long runs of zeros after the register index: the
		// largest register values.
		for i := range uint64(64) {
			h.InsertHash(i<<(64-p) | 1)
			h.InsertHash(i << (64 - p))
		}
		check()
		if _, ok := h.fastEstimate(); ok != (hllBeta(p) != nil) {
			t.Fatalf("precision %d: fast estimate %v", p, ok)
		}
	}
}
