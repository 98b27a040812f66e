package pipeline

import (
	"github.com/trendwatch/trendwatch/sketches"
)

// smallSet is how many distinct hashes a distinct keeps exactly before it
// switches to a HyperLogLog. Most tracked terms see far fewer creators per
// bucket than this, and a dense HLL per term and bucket would cost 4 KiB and a
// 4096-register pass per estimate for a handful of creators.
const smallSet = 128

// distinct counts distinct hashes: exactly while there are few, then with an HLL.
type distinct struct {
	small []uint64
	hll   *sketches.HLL
}

func (d *distinct) insert(h uint64) {
	if d.hll != nil {
		d.hll.InsertHash(h)
		return
	}
	for _, x := range d.small {
		if x == h {
			return
		}
	}
	if len(d.small) < smallSet {
		d.small = append(d.small, h)
		return
	}
	hll, err := sketches.NewHLL(termHLLPrecision)
	if err != nil {
		panic(err) // a constant precision; cannot fail
	}
	for _, x := range d.small {
		hll.InsertHash(x)
	}
	hll.InsertHash(h)
	d.hll, d.small = hll, nil
}

func (d *distinct) estimate() uint64 {
	if d.hll != nil {
		return d.hll.Estimate()
	}
	return uint64(len(d.small))
}

// distinctSnap is a distinct as stored in a checkpoint.
type distinctSnap struct {
	Small []uint64
	HLL   []byte
}

func (s distinctSnap) restore() (distinct, error) {
	if s.HLL == nil {
		return distinct{small: s.Small}, nil
	}
	h, err := sketches.NewHLL(termHLLPrecision)
	if err != nil {
		return distinct{}, err
	}
	if err := h.UnmarshalBinary(s.HLL); err != nil {
		return distinct{}, err
	}
	return distinct{hll: h}, nil
}
