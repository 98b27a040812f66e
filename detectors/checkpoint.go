package detectors

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
	"time"

	"github.com/trendwatch/trendwatch/alert"
)

// The checkpoint of a Lifecycle is
//
//	"TWLC" | version (1 byte) | body | CRC-32C of everything before it (4 bytes, little endian)
//
// The body is the open alerts and the cooled keys, each list a uvarint count and
// its entries in key order, so the same state always encodes to the same bytes.
// Integers are varints, floats IEEE-754 bits, strings and lists length-prefixed.
// Version 2 adds to each cooled key what tells a new episode from the one that
// resolved (its latest finding's bucket and width, the level it expected, and
// whether that was of reports); version 1 is still read, its cooled keys
// without it. Version 3 adds to each open alert whether it is early (see
// Lifecycle.ObserveEarly) and the cooldown a retraction would put back;
// versions 1 and 2 are still read, their alerts not early.
const (
	checkpointMagic   = "TWLC"
	checkpointVersion = 3
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCheckpoint is wrapped by every error of UnmarshalBinary.
var ErrCheckpoint = errors.New("lifecycle checkpoint")

// MarshalBinary encodes the open alerts and cooldowns, for a restart to resume
// without paging again for alerts already open.
func (l *Lifecycle) MarshalBinary() ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := encoder{b: append(make([]byte, 0, 256+512*len(l.open)), checkpointMagic...)}
	e.b = append(e.b, checkpointVersion)

	keys := make([]string, 0, len(l.open))
	for k := range l.open {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	e.uvarint(uint64(len(keys)))
	for _, k := range keys {
		t := l.open[k]
		e.alert(&t.a)
		e.uvarint(t.seq)
		e.time(t.last)
		e.varint(int64(t.width))
		e.b = append(e.b, boolByte(t.a.Early), boolByte(t.hadPrior))
		if t.hadPrior {
			e.cooling(&t.prior)
		}
	}

	keys = keys[:0]
	for k := range l.cool {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	e.uvarint(uint64(len(keys)))
	for _, k := range keys {
		c := l.cool[k]
		e.str(k)
		e.cooling(&c)
	}
	e.b = binary.LittleEndian.AppendUint32(e.b, crc32.Checksum(e.b, castagnoli))
	return e.b, nil
}

// UnmarshalBinary replaces the Lifecycle's state with a checkpoint's. It refuses,
// leaving the state as it was, anything that is not a whole, intact checkpoint
// of a known version holding valid alerts.
func (l *Lifecycle) UnmarshalBinary(b []byte) error {
	const head = len(checkpointMagic) + 1
	if len(b) < head+4 {
		return fmt.Errorf("%w: %d bytes is too short", ErrCheckpoint, len(b))
	}
	if string(b[:len(checkpointMagic)]) != checkpointMagic {
		return fmt.Errorf("%w: bad magic %q", ErrCheckpoint, b[:len(checkpointMagic)])
	}
	version := b[len(checkpointMagic)]
	if version < 1 || version > checkpointVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrCheckpoint, version, checkpointVersion)
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if got := crc32.Checksum(body, castagnoli); got != sum {
		return fmt.Errorf("%w: checksum %08x, want %08x", ErrCheckpoint, got, sum)
	}
	d := decoder{b: body[head:]}
	open := map[string]*tracked{}
	for n := d.count(); n > 0 && d.err == nil; n-- {
		t := &tracked{}
		d.alert(&t.a)
		t.seq = d.uvarint()
		t.last = d.time()
		t.width = time.Duration(d.varint())
		if version >= 3 {
			t.a.Early = d.byte() == 1
			if t.hadPrior = d.byte() == 1; t.hadPrior {
				t.prior = d.cooling(version)
			}
		}
		if d.err != nil {
			break
		}
		if t.hadPrior && !validSeverity(t.prior.severity) {
			return fmt.Errorf("%w: alert %q: prior cooldown severity %d", ErrCheckpoint, t.a.Key, t.prior.severity)
		}
		if err := validAlert(&t.a, t.width); err != nil {
			return fmt.Errorf("%w: %w", ErrCheckpoint, err)
		}
		if _, dup := open[t.a.Key]; dup {
			return fmt.Errorf("%w: alert %q twice", ErrCheckpoint, t.a.Key)
		}
		open[t.a.Key] = t
	}
	cool := map[string]cooling{}
	for n := d.count(); n > 0 && d.err == nil; n-- {
		k := d.str()
		c := d.cooling(version)
		if d.err != nil {
			break
		}
		if !validSeverity(c.severity) {
			return fmt.Errorf("%w: cooled key %q: severity %d", ErrCheckpoint, k, c.severity)
		}
		cool[k] = c
	}
	if d.err != nil {
		return fmt.Errorf("%w: %w", ErrCheckpoint, d.err)
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%w: %d bytes after the end", ErrCheckpoint, len(d.b))
	}
	l.mu.Lock()
	l.open, l.cool = open, cool
	l.mu.Unlock()
	return nil
}

func validSeverity(s alert.Severity) bool {
	return s >= alert.SeverityInfo && s <= alert.SeverityCritical
}

// cooling writes a cooled key's state (without its key).
func (e *encoder) cooling(c *cooling) {
	e.time(c.until)
	e.b = append(e.b, byte(c.severity))
	e.uvarint(c.seq)
	e.time(c.last)
	e.varint(int64(c.width))
	e.f64(c.calm)
	e.b = append(e.b, boolByte(c.reports))
}

// cooling reads what encoder.cooling wrote in a checkpoint of version.
func (d *decoder) cooling(version byte) cooling {
	c := cooling{until: d.time(), severity: alert.Severity(d.byte()), seq: d.uvarint()}
	if version >= 2 {
		c.last, c.width, c.calm = d.time(), time.Duration(d.varint()), d.f64()
		c.reports = d.byte() == 1
	}
	return c
}

func validAlert(a *alert.Alert, width time.Duration) error {
	switch {
	case a.Key != a.Detector+"|"+a.Term || a.Detector == "" || a.Term == "":
		return fmt.Errorf("alert key %q does not match detector %q and term %q", a.Key, a.Detector, a.Term)
	case a.Status != alert.StatusOpen && a.Status != alert.StatusEscalated:
		return fmt.Errorf("alert %q: status %q is not open", a.Key, a.Status)
	case a.Severity < alert.SeverityInfo || a.Severity > alert.SeverityCritical:
		return fmt.Errorf("alert %q: severity %d", a.Key, a.Severity)
	case width <= 0:
		return fmt.Errorf("alert %q: bucket width %v", a.Key, width)
	}
	return nil
}

type encoder struct{ b []byte }

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) f64(v float64)    { e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v)) }

func (e *encoder) str(s string) {
	e.uvarint(uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) strs(ss []string) {
	e.uvarint(uint64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}

// time writes a presence byte, then Unix seconds and nanoseconds, in UTC.
func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.b = append(e.b, 0)
		return
	}
	e.b = append(e.b, 1)
	e.varint(t.Unix())
	e.uvarint(uint64(t.Nanosecond()))
}

func (e *encoder) alert(a *alert.Alert) {
	e.str(a.Key)
	e.str(a.Detector)
	e.str(a.Term)
	e.str(string(a.Status))
	e.b = append(e.b, byte(a.Severity))
	e.time(a.OpenedAt)
	e.time(a.UpdatedAt)
	e.time(a.ResolvedAt)
	e.time(a.Bucket)
	e.f64(a.Score)
	e.f64(a.Observed)
	e.f64(a.Expected)
	e.f64(a.Growth)
	e.uvarint(a.UniqueCreators)
	e.f64(a.Reports)
	e.f64(a.ReportRate)
	e.strs(a.TopRegions)
	e.strs(a.Samples)
	if a.Watchlisted {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
	e.str(a.Summary)
	e.str(a.Explanation)
}

// decoder reads what encoder wrote; the first error sticks and every later read
// returns zero, so callers check once.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail("truncated")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) f64() float64 {
	if len(d.b) < 8 {
		d.fail("truncated float")
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

// count reads a list length, which cannot exceed the bytes left since every
// entry takes at least one.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("list of %d entries in %d bytes", n, len(d.b))
		return 0
	}
	return int(n)
}

func (d *decoder) str() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("string of %d bytes in %d", n, len(d.b))
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) strs() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	for range n {
		out = append(out, d.str())
	}
	return out
}

func (d *decoder) time() time.Time {
	switch d.byte() {
	case 0:
		return time.Time{}
	case 1:
		sec, nsec := d.varint(), d.uvarint()
		if nsec >= 1e9 {
			d.fail("nanoseconds %d out of range", nsec)
			return time.Time{}
		}
		return time.Unix(sec, int64(nsec)).UTC()
	default:
		d.fail("bad time tag")
		return time.Time{}
	}
}

func (d *decoder) alert(a *alert.Alert) {
	a.Key = d.str()
	a.Detector = d.str()
	a.Term = d.str()
	a.Status = alert.Status(d.str())
	a.Severity = alert.Severity(d.byte())
	a.OpenedAt = d.time()
	a.UpdatedAt = d.time()
	a.ResolvedAt = d.time()
	a.Bucket = d.time()
	a.Score = d.f64()
	a.Observed = d.f64()
	a.Expected = d.f64()
	a.Growth = d.f64()
	a.UniqueCreators = d.uvarint()
	a.Reports = d.f64()
	a.ReportRate = d.f64()
	a.TopRegions = d.strs()
	a.Samples = d.strs()
	switch d.byte() {
	case 0:
	case 1:
		a.Watchlisted = true
	default:
		d.fail("bad bool")
	}
	a.Summary = d.str()
	a.Explanation = d.str()
}
