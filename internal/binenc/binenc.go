// Package binenc is trendwatch's one binary codec, shared by the sketches, the
// alert lifecycle and the checkpoint file: append functions that write values,
// a Reader that reads them back and names the field that failed, and the
// envelope (magic, version, kind, CRC-32C) that makes an encoding
// self-describing and tamper-evident.
//
// Integers are unsigned or zig-zag varints unless said otherwise, so small
// counters cost a byte; fixed-width integers and floats are little endian;
// strings and byte slices are a uvarint length and the bytes. The layouts are
// those of checkpoints already on disk, so they do not change: a new layout
// is a new version of an envelope.
package binenc

import (
	"encoding/binary"
	"math"
	"time"
)

// AppendUvarint appends v as an unsigned varint.
func AppendUvarint(dst []byte, v uint64) []byte { return binary.AppendUvarint(dst, v) }

// AppendVarint appends v as a zig-zag varint.
func AppendVarint(dst []byte, v int64) []byte { return binary.AppendVarint(dst, v) }

// AppendU32 appends v as 4 bytes, little endian.
func AppendU32(dst []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(dst, v) }

// AppendU64 appends v as 8 bytes, little endian: hashes are uniform, and a
// varint of one would take 10.
func AppendU64(dst []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(dst, v) }

// AppendFloat64 appends the IEEE-754 bits of v, little endian, so every value
// (NaN and infinities included) comes back bit for bit.
func AppendFloat64(dst []byte, v float64) []byte { return AppendU64(dst, math.Float64bits(v)) }

// AppendBool appends 1 for true and 0 for false.
func AppendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// AppendString appends the length of s as a uvarint, then s.
func AppendString(dst []byte, s string) []byte {
	return append(AppendUvarint(dst, uint64(len(s))), s...)
}

// AppendBytes appends the length of b as a uvarint, then b.
func AppendBytes(dst, b []byte) []byte {
	return append(AppendUvarint(dst, uint64(len(b))), b...)
}

// AppendStrings appends the number of strings as a uvarint, then each with
// AppendString.
func AppendStrings(dst []byte, ss []string) []byte {
	dst = AppendUvarint(dst, uint64(len(ss)))
	for _, s := range ss {
		dst = AppendString(dst, s)
	}
	return dst
}

// AppendTime appends t to the nanosecond without its location (it reads back
// in UTC): a byte 0 for the zero time, else 1, the Unix seconds as a varint
// and the nanoseconds as a uvarint. The zero time has its own byte because
// its Unix seconds are not zero.
func AppendTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	dst = AppendVarint(dst, t.Unix())
	return AppendUvarint(dst, uint64(t.Nanosecond()))
}
