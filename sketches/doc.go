// Package sketches counts terms in bounded memory: a count-min sketch for per-term
// counts, HyperLogLog for distinct counts, Space-Saving for heavy hitters, and a
// Window that keeps one set of them per bucket of event time in a fine ring rolled
// up into a coarse ring.
//
// Every sketch is keyed by one 64-bit hash of the term (Hash), computed once per
// event and handed to each sketch, so no sketch hashes a string on the hot path.
//
// Every sketch is mergeable: sketches built on separate shards of a stream and then
// merged answer with the same guarantee as one built on the whole stream. That is
// what lets trendwatch scale out over Kafka partitions and roll minutes into hours.
//
// Every sketch reports the bytes it holds (Bytes) and encodes to a versioned,
// checksummed binary form for checkpoints; decoding never trusts a length field
// beyond the bytes that back it.
//
// None of the types is safe for concurrent use; the pipeline owns a Window per
// goroutine or guards it.
package sketches
