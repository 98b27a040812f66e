package sketches

import (
	"math"
	"sync"
)

// The library's Estimate sums 2^-r over the registers with a math.Pow per
// register: at precision 12 that is 4096 calls, most of a tracked term's
// Describe at every early look and bucket close. fastEstimate makes the same
// sum, term by term and in the same order, from a table of the same
// quotients, and then the library's formula, so its result is the library's
// to the bit; it reads the registers from the dense encoding, as the
// library exports no other way to them.

// invPow2 is 1/2^r as the library computes it, for every register value r.
var invPow2 = func() (t [256]float64) {
	for r := range t {
		t[r] = 1.0 / math.Pow(2.0, float64(r))
	}
	return t
}()

// regsBuf holds a dense encoding for fastEstimate: a register per byte,
// too large for the stack at the higher precisions, and an estimate is read
// often enough that allocating one each time would cost what it saves.
var regsBuf = sync.Pool{New: func() any { return new([]byte) }}

// fastEstimate is h.sk.Estimate() for a dense sketch of a precision whose
// bias correction (hllBeta) is copied here; ok is false where it cannot tell,
// and the caller asks the library.
func (h *HLL) fastEstimate() (est uint64, ok bool) {
	beta := hllBeta(h.p)
	if beta == nil {
		return 0, false
	}
	bp := regsBuf.Get().(*[]byte)
	defer regsBuf.Put(bp)
	enc, err := h.sk.AppendBinary((*bp)[:0])
	*bp = enc[:0]
	m := 1 << h.p
	// Version 2, this precision, no bias, dense, then the register count
	// (big-endian) and the registers.
	if err != nil || len(enc) != 8+m || enc[0] != 2 || enc[1] != h.p || enc[2] != 0 || enc[3] != 0 ||
		int(enc[4])<<24|int(enc[5])<<16|int(enc[6])<<8|int(enc[7]) != m {
		return 0, false
	}
	var sum, ez float64
	for _, v := range enc[8:] {
		if v == 0 {
			ez++
		}
		sum += invPow2[v]
	}
	fm := float64(m)
	e := hllAlpha(fm) * fm * (fm - ez) / (sum + beta(ez))
	return uint64(e + 0.5), true
}

// hllAlpha is the library's alpha.
func hllAlpha(m float64) float64 {
	switch m {
	case 16:
		return 0.673
	case 32:
		return 0.697
	case 64:
		return 0.709
	}
	return 0.7213 / (1 + 1.079/m)
}

// hllBeta is the library's bias correction for precision p, nil for the
// precisions not copied: those the pipeline uses (the window's default and
// the tracked terms').
func hllBeta(p uint8) func(ez float64) float64 {
	switch p {
	case 12:
		return hllBeta12.at
	case 14:
		return hllBeta14.at
	}
	return nil
}

// betaPoly is the library's bias correction, c[0]·ez + Σ c[k]·ln(ez+1)^k,
// summed term by term in the library's order, so to the bit its result.
type betaPoly [8]float64

func (c *betaPoly) at(ez float64) float64 {
	zl := math.Log(ez + 1)
	sum := c[0]*ez + c[1]*zl
	for k := 2; k < len(c); k++ {
		sum += c[k] * math.Pow(zl, float64(k))
	}
	return sum
}

// hllBeta12 and hllBeta14 are github.com/axiomhq/hyperloglog's beta12 and
// beta14 (MIT licence), their coefficients copied.
var (
	hllBeta12 = &betaPoly{-0.384979202588598, 0.183162233114364, 0.130396688841854, 0.0704838927629266,
		-0.0089589397146453, 0.0113010036741605, -0.00194285569591290, 0.000225435774024964}
	hllBeta14 = &betaPoly{-0.371009760230692, 0.00978811941207509, 0.185796293324165, 0.203015527328432,
		-0.116710521803686, 0.0431106699492820, -0.00599583540511831, 0.000449704299509437}
)
