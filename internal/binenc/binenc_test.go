package binenc

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

var errBad = errors.New("bad input")

// TestAppendRead pins each value's bytes (the layouts of checkpoints already
// written) and reads them back.
func TestAppendRead(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))
	for _, tc := range []struct {
		name  string
		write func([]byte) []byte
		want  []byte
		read  func(*Reader) any
		value any
	}{
		{"uvarint", func(b []byte) []byte { return AppendUvarint(b, 300) }, []byte{0xac, 0x02},
			func(r *Reader) any { return r.Uvarint("f") }, uint64(300)},
		{"varint", func(b []byte) []byte { return AppendVarint(b, -3) }, []byte{5},
			func(r *Reader) any { return r.Varint("f") }, int64(-3)},
		{"u32", func(b []byte) []byte { return AppendU32(b, 0x01020304) }, []byte{4, 3, 2, 1},
			func(r *Reader) any { return r.U32("f") }, uint32(0x01020304)},
		{"u64", func(b []byte) []byte { return AppendU64(b, 1) }, []byte{1, 0, 0, 0, 0, 0, 0, 0},
			func(r *Reader) any { return r.U64("f") }, uint64(1)},
		{"float64", func(b []byte) []byte { return AppendFloat64(b, 1) }, []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f},
			func(r *Reader) any { return r.Float64("f") }, 1.0},
		{"-inf", func(b []byte) []byte { return AppendFloat64(b, math.Inf(-1)) }, []byte{0, 0, 0, 0, 0, 0, 0xf0, 0xff},
			func(r *Reader) any { return r.Float64("f") }, math.Inf(-1)},
		{"byte", func(b []byte) []byte { return append(b, 7) }, []byte{7},
			func(r *Reader) any { return r.Byte("f") }, byte(7)},
		{"true", func(b []byte) []byte { return AppendBool(b, true) }, []byte{1},
			func(r *Reader) any { return r.Bool("f") }, true},
		{"false", func(b []byte) []byte { return AppendBool(b, false) }, []byte{0},
			func(r *Reader) any { return r.Bool("f") }, false},
		{"string", func(b []byte) []byte { return AppendString(b, "ab") }, []byte{2, 'a', 'b'},
			func(r *Reader) any { return r.String("f") }, "ab"},
		{"bytes", func(b []byte) []byte { return AppendBytes(b, []byte{9}) }, []byte{1, 9},
			func(r *Reader) any { return string(r.Bytes("f")) }, "\x09"},
		{"strings", func(b []byte) []byte { return AppendStrings(b, []string{"a", ""}) }, []byte{2, 1, 'a', 0},
			func(r *Reader) any { return strings.Join(r.Strings("f"), ",") }, "a,"},
		{"no strings", func(b []byte) []byte { return AppendStrings(b, nil) }, []byte{0},
			func(r *Reader) any { return r.Strings("f") == nil }, true},
		{"zero time", func(b []byte) []byte { return AppendTime(b, time.Time{}) }, []byte{0},
			func(r *Reader) any { return r.Time("f") }, time.Time{}},
		// 2024-01-02T02:04:05Z is 1704161045 s: zig-zag 3408322090.
		{"time", func(b []byte) []byte { return AppendTime(b, ts) }, []byte{1, 0xaa, 0xbc, 0x9b, 0xd9, 0x0c, 6},
			func(r *Reader) any { return r.Time("f") }, ts.UTC()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.write([]byte{0xee})
			if !bytes.Equal(got[1:], tc.want) || got[0] != 0xee {
				t.Fatalf("wrote % x, want ee % x", got, tc.want)
			}
			r := NewReader(errBad, "test", got[1:])
			if v := tc.read(r); v != tc.value {
				t.Errorf("read %v, want %v", v, tc.value)
			}
			if err := r.End(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestReaderErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		read func(*Reader)
		want string
	}{
		{"empty uvarint", nil, func(r *Reader) { r.Uvarint("width") }, "test at offset 0: width: truncated or overlong varint"},
		{"overlong uvarint", bytes.Repeat([]byte{0xff}, 11), func(r *Reader) { r.Uvarint("width") }, "width: truncated or overlong varint ff ff"},
		{"truncated varint", []byte{0x80}, func(r *Reader) { r.Varint("lateness") }, "lateness: truncated or overlong varint 80"},
		{"above max", []byte{5}, func(r *Reader) { r.UvarintMax("k", 4) }, "k: 5 exceeds 4"},
		{"short u64", []byte{1, 2}, func(r *Reader) { r.U64("hash") }, "hash: need 8 bytes, have 2"},
		{"short u32", nil, func(r *Reader) { r.U32("sum") }, "sum: need 4 bytes, have 0"},
		{"no byte", nil, func(r *Reader) { r.Byte("role") }, "role: need 1 bytes, have 0"},
		{"bad bool", []byte{2}, func(r *Reader) { r.Bool("started") }, "started: bool byte 2"},
		{"long string", []byte{5, 'a'}, func(r *Reader) { r.String("key") }, "key: length 5 exceeds the 1 bytes left"},
		{"long list", []byte{3, 0}, func(r *Reader) { r.Strings("samples") }, "test at offset 1: samples: 3 entries in 1 bytes"},
		{"time tag", []byte{2}, func(r *Reader) { r.Time("opened") }, "opened: time tag 2"},
		{"nanoseconds", []byte{1, 0, 0x80, 0x94, 0xeb, 0xdc, 0x03}, func(r *Reader) { r.Time("opened") }, "opened: nanoseconds 1000000000 out of range"},
		{"time seconds", []byte{1}, func(r *Reader) { r.Time("opened") }, "opened seconds: truncated"},
		{"trailing", []byte{1, 2}, func(r *Reader) { r.Byte("a") }, "test at offset 1: 1 trailing bytes"},
		{"first error sticks", []byte{0x80}, func(r *Reader) { r.Uvarint("a"); r.Failf("later"); r.Uvarint("b") }, "a: truncated"},
		{"failf", []byte{1}, func(r *Reader) { r.Byte("a"); r.Failf("k is %d", 0) }, "test at offset 1: k is 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(errBad, "test", tc.in)
			tc.read(r)
			err := r.End()
			if !errors.Is(err, errBad) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one wrapping %v containing %q", err, errBad, tc.want)
			}
		})
	}
}

// TestReaderZeroAfterError: once failed, reads return zero values and consume nothing.
func TestReaderZeroAfterError(t *testing.T) {
	r := NewReader(errBad, "test", []byte{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1})
	r.Failf("forced")
	off := r.Offset()
	if r.Byte("b") != 0 || r.Uvarint("c") != 0 || r.Varint("d") != 0 || r.U64("e") != 0 || r.Bool("f") ||
		r.String("g") != "" || r.Strings("h") != nil || !r.Time("i").IsZero() || r.Count("j") != 0 || r.Bytes("k") != nil {
		t.Fatal("a read after an error returned a value")
	}
	if r.Offset() != off {
		t.Fatalf("reads after an error moved the offset from %d to %d", off, r.Offset())
	}
}

var (
	kinded = Format{Magic: "TWSK", Version: 1, Kinds: []string{1: "CountMin", 2: "HLL"}, Invalid: errBad}
	whole  = Format{Magic: "TWLC", Version: 3, MinVersion: 1, SumHeader: true, Invalid: errBad}
)

// TestFormat pins the two envelope layouts to bytes and reads them back.
func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    *Format
		kind byte
		want []byte
	}{
		{"kinded", &kinded, 2, []byte("TWSK\x01\x02ab")},
		{"whole", &whole, 0, []byte("TWLC\x03ab")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.f.AppendHeader([]byte("x"), tc.kind)
			b = append(b, "ab"...)
			b = tc.f.Seal(b, 1)
			if !bytes.Equal(b[1:len(b)-TrailerLen], tc.want) {
				t.Fatalf("header and body % x, want % x", b[1:len(b)-TrailerLen], tc.want)
			}
			from := 1 + tc.f.HeaderLen()
			if tc.f.SumHeader {
				from = 1
			}
			sum := Checksum(b[from : len(b)-TrailerLen])
			if got := AppendU32(nil, sum); !bytes.Equal(b[len(b)-TrailerLen:], got) {
				t.Fatalf("trailer % x, want % x", b[len(b)-TrailerLen:], got)
			}
			body, v, err := tc.f.Open(b[1:], tc.kind)
			if err != nil || string(body) != "ab" || v != tc.f.Version {
				t.Fatalf("Open = %q, %d, %v", body, v, err)
			}
		})
	}
}

func TestFormatOpenRefuses(t *testing.T) {
	seal := func(f *Format, hdr, body string) []byte { return f.Seal(append([]byte(hdr), body...), 0) }
	good := seal(&kinded, "TWSK\x01\x01", "body")
	flip := func(b []byte, i int) []byte { b = bytes.Clone(b); b[i] ^= 0x40; return b }
	for _, tc := range []struct {
		name string
		f    *Format
		in   []byte
		want string
	}{
		{"empty", &kinded, nil, "CountMin: 0 bytes, shorter than the 10-byte envelope"},
		{"magic", &kinded, flip(good, 0), `bad magic "\x14WSK", want "TWSK"`},
		{"version", &kinded, flip(good, 4), "unsupported version 65, want 1"},
		{"kind", &kinded, seal(&kinded, "TWSK\x01\x02", ""), "holds a HLL, not a CountMin"},
		{"unknown kind", &kinded, seal(&kinded, "TWSK\x01\x09", ""), "holds a kind(9), not a CountMin"},
		{"body", &kinded, flip(good, 7), "CountMin: checksum"},
		{"trailer", &kinded, flip(good, len(good)-1), "CountMin: checksum"},
		{"old version", &whole, seal(&whole, "TWLC\x00", ""), "unsupported version 0, want 1 to 3"},
		{"new version", &whole, seal(&whole, "TWLC\x04", ""), "unsupported version 4, want 1 to 3"},
		// The whole format sums its header: changing the version breaks the checksum.
		{"summed header", &whole, func() []byte { b := seal(&whole, "TWLC\x03", "x"); b[4] = 2; return b }(), "encoding: checksum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := tc.f.Open(tc.in, 1)
			if !errors.Is(err, errBad) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one wrapping %v containing %q", err, errBad, tc.want)
			}
		})
	}
	if _, v, err := whole.Open(seal(&whole, "TWLC\x01", ""), 0); err != nil || v != 1 {
		t.Fatalf("an older version still read: %d, %v", v, err)
	}
}

// TestUpdateChecksum: a checksum computed as bytes stream past is the one of
// them all at once.
func TestUpdateChecksum(t *testing.T) {
	b := []byte("the checkpoint file's compressed body")
	var sum uint32
	for i := 0; i < len(b); i += 5 {
		sum = UpdateChecksum(sum, b[i:min(i+5, len(b))])
	}
	if sum != Checksum(b) || Checksum([]byte("123456789")) != 0xe3069283 {
		t.Fatalf("streamed %08x, whole %08x; check value %08x, want e3069283", sum, Checksum(b), Checksum([]byte("123456789")))
	}
}

// record is one of each type, as FuzzReader reads them.
type record struct {
	u        uint64
	i        int64
	u32      uint32
	u64, f   uint64 // f: a float's bits, so NaN compares
	b        byte
	ok       bool
	s        string
	raw      string
	list     []string
	at, zero time.Time
}

func readRecord(r *Reader) record {
	return record{
		u: r.Uvarint("u"), i: r.Varint("i"), u32: r.U32("u32"), u64: r.U64("u64"),
		f: math.Float64bits(r.Float64("f")), b: r.Byte("b"), ok: r.Bool("ok"),
		s: r.String("s"), raw: string(r.Bytes("raw")), list: r.Strings("list"),
		at: r.Time("at"), zero: r.Time("zero"),
	}
}

func appendRecord(dst []byte, v record) []byte {
	dst = AppendUvarint(dst, v.u)
	dst = AppendVarint(dst, v.i)
	dst = AppendU32(dst, v.u32)
	dst = AppendU64(dst, v.u64)
	dst = AppendFloat64(dst, math.Float64frombits(v.f))
	dst = append(dst, v.b)
	dst = AppendBool(dst, v.ok)
	dst = AppendString(dst, v.s)
	dst = AppendBytes(dst, []byte(v.raw))
	dst = AppendStrings(dst, v.list)
	dst = AppendTime(dst, v.at)
	return AppendTime(dst, v.zero)
}

// FuzzReader reads arbitrary input as a record of every type: a read either
// fails with an error that wraps the sentinel and says where, or returns a
// record that, written again, reads back the same (by value: an overlong
// varint that still fits is read, and written shorter).
func FuzzReader(f *testing.F) {
	f.Add(appendRecord(nil, record{u: 300, i: -7, u32: 9, u64: 1 << 40, f: math.Float64bits(2.5), b: 3, ok: true,
		s: "hashtag:x", raw: "\x01\x02", list: []string{"NP", "IN"}, at: time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)}))
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 12))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(errBad, "fuzz", in)
		v := readRecord(r)
		if r.Offset() > len(in) {
			t.Fatalf("offset %d beyond the %d-byte input", r.Offset(), len(in))
		}
		if err := r.Err(); err != nil {
			if !errors.Is(err, errBad) || !strings.Contains(err.Error(), "fuzz at offset ") {
				t.Fatalf("error %v does not wrap the sentinel and say where", err)
			}
			return
		}
		out := appendRecord(nil, v)
		if len(out) > r.Offset() {
			t.Fatalf("%d bytes read write as %d", r.Offset(), len(out))
		}
		r2 := NewReader(errBad, "again", out)
		v2 := readRecord(r2)
		if err := r2.End(); err != nil {
			t.Fatalf("a written record does not read: %v", err)
		}
		if !reflect.DeepEqual(v, v2) {
			t.Fatalf("read %+v, written and read again %+v", v, v2)
		}
	})
}
