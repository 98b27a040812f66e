package tracked

import (
	"github.com/trendwatch/trendwatch/sketches"
)

// SmallSet is how many distinct hashes a Distinct keeps exactly before it
// switches to a HyperLogLog. Most tracked terms see far fewer creators per
// bucket than this, and a dense HLL per term and bucket would cost 4 KiB and a
// 4096-register pass per estimate for a handful of creators.
const SmallSet = 128

// Distinct counts distinct hashes: exactly while there are few, then with an HLL.
type Distinct struct {
	small []uint64
	hll   *sketches.HLL
}

// Insert counts h, a hash of an ID (sketches.Hash): the HyperLogLog needs
// its bits well mixed.
func (d *Distinct) Insert(h uint64) {
	if d.hll != nil {
		d.hll.InsertHash(h)
		return
	}
	if has(d.small, h) {
		return
	}
	if len(d.small) < SmallSet {
		d.small = append(d.small, h)
		return
	}
	hll, err := sketches.NewHLL(hllPrecision)
	if err != nil {
		panic(err) // a constant precision; cannot fail
	}
	for _, x := range d.small {
		hll.InsertHash(x)
	}
	hll.InsertHash(h)
	d.hll, d.small = hll, nil
}

// has reports whether s holds h. Nearly every insert is of a hash not there
// yet, so the whole list is read: eight at a time, the minimum of their
// differences from h tested once (conditional moves, no branch each), it
// takes half the time of a loop that tests each, and a term's busy bucket
// reads up to SmallSet on every mention.
func has(s []uint64, h uint64) bool {
	for len(s) >= 8 {
		if min(s[0]^h, s[1]^h, s[2]^h, s[3]^h, s[4]^h, s[5]^h, s[6]^h, s[7]^h) == 0 {
			return true
		}
		s = s[8:]
	}
	for _, x := range s {
		if x == h {
			return true
		}
	}
	return false
}

// Estimate is how many distinct hashes were inserted: exact up to SmallSet.
func (d *Distinct) Estimate() uint64 {
	if d.hll != nil {
		return d.hll.Estimate()
	}
	return uint64(len(d.small))
}

// State is what d holds, for a checkpoint: the distinct hashes while they are
// few (hll nil), else the HyperLogLog (small nil). Both are d's own.
func (d *Distinct) State() (small []uint64, hll *sketches.HLL) { return d.small, d.hll }

// DistinctSnap is a distinct as stored in a checkpoint.
type DistinctSnap struct {
	Small []uint64
	HLL   []byte
}

// Restore makes the Distinct s was taken of.
func (s DistinctSnap) Restore() (Distinct, error) {
	if s.HLL == nil {
		return Distinct{small: s.Small}, nil
	}
	h, err := sketches.NewHLL(hllPrecision)
	if err != nil {
		return Distinct{}, err
	}
	if err := h.UnmarshalBinary(s.HLL); err != nil {
		return Distinct{}, err
	}
	return Distinct{hll: h}, nil
}

// hllPrecision is lower than the window's: thousands of terms each hold
// several, and ±1.6% on unique creators is plenty to tell 6 accounts from 600.
const hllPrecision = 12
