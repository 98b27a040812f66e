package sketches

import "github.com/cespare/xxhash/v2"

// Hash is the one 64-bit hash of a term key used by every sketch: xxhash64 of the
// key. Callers hash a term once per event and pass the hash to every sketch.
func Hash(key string) uint64 { return xxhash.Sum64String(key) }

// HashBytes is Hash of string(key), without making the string.
func HashBytes(key []byte) uint64 { return xxhash.Sum64(key) }

// remix derives a further 64 well-mixed bits from h (the murmur3 finaliser), for
// a count-min sketch whose rows need more index bits than one hash holds.
func remix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// floorDiv is a/b rounded towards minus infinity, so that times before the epoch
// fall in the right bucket.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// floorMod is the non-negative remainder of a/b for b > 0.
func floorMod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// HashTerm is Hash of kind + ":" + value (a term's key, event.Term.String),
// without making the string.
func HashTerm(kind, value string) uint64 {
	var d xxhash.Digest
	d.Reset()
	_, _ = d.WriteString(kind)
	_, _ = d.WriteString(":")
	_, _ = d.WriteString(value)
	return d.Sum64()
}
