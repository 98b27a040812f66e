package detectors

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/internal/binenc"
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
// versions 1 and 2 are still read, their alerts not early. Version 4 adds to
// each open alert whether its latest finding was of reports, which its
// cooldown keeps once it resolves: without it, a report alert restored and
// resolved was judged calm on its mentions, against its reports' level, and
// a new wave of reports within the cooldown was held back as the same
// episode; versions 1 to 3 are still read, their alerts of mentions.
var envelope = binenc.Format{Magic: "TWLC", Version: 4, MinVersion: 1, SumHeader: true, Invalid: ErrCheckpoint}

// ErrCheckpoint is wrapped by every error of UnmarshalBinary.
var ErrCheckpoint = errors.New("lifecycle checkpoint")

// MarshalBinary encodes the open alerts and cooldowns, for a restart to resume
// without paging again for alerts already open.
func (l *Lifecycle) MarshalBinary() ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := envelope.AppendHeader(make([]byte, 0, 256+512*len(l.open)), 0)

	keys := make([]string, 0, len(l.open))
	for k := range l.open {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = binenc.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		t := l.open[k]
		b = appendAlert(b, &t.a)
		b = binenc.AppendUvarint(b, t.seq)
		b = binenc.AppendTime(b, t.last)
		b = binenc.AppendVarint(b, int64(t.width))
		b = binenc.AppendBool(b, t.a.Early)
		b = binenc.AppendBool(b, t.hadPrior)
		if t.hadPrior {
			b = appendCooling(b, &t.prior)
		}
		b = binenc.AppendBool(b, t.reports)
	}

	keys = keys[:0]
	for k := range l.cool {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = binenc.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		c := l.cool[k]
		b = binenc.AppendString(b, k)
		b = appendCooling(b, &c)
	}
	return envelope.Seal(b, 0), nil
}

// UnmarshalBinary replaces the Lifecycle's state with a checkpoint's. It refuses,
// leaving the state as it was, anything that is not a whole, intact checkpoint
// of a known version holding valid alerts.
func (l *Lifecycle) UnmarshalBinary(b []byte) error {
	body, version, err := envelope.Open(b, 0)
	if err != nil {
		return err
	}
	r := binenc.NewReader(ErrCheckpoint, "lifecycle", body)
	open := map[string]*tracked{}
	for n := r.Count("open alerts"); n > 0 && r.Err() == nil; n-- {
		t := &tracked{}
		readAlert(r, &t.a)
		t.seq = r.Uvarint("seq")
		t.last = r.Time("last")
		t.width = time.Duration(r.Varint("width"))
		if version >= 3 {
			t.a.Early = r.Bool("early")
			if t.hadPrior = r.Bool("had prior"); t.hadPrior {
				t.prior = readCooling(r, version)
			}
		}
		if version >= 4 {
			t.reports = r.Bool("of reports")
		}
		if r.Err() != nil {
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
	for n := r.Count("cooled keys"); n > 0 && r.Err() == nil; n-- {
		k := r.String("cooled key")
		c := readCooling(r, version)
		if r.Err() != nil {
			break
		}
		if !validSeverity(c.severity) {
			return fmt.Errorf("%w: cooled key %q: severity %d", ErrCheckpoint, k, c.severity)
		}
		cool[k] = c
	}
	if err := r.End(); err != nil {
		return err
	}
	l.mu.Lock()
	l.open, l.cool = open, cool
	l.mu.Unlock()
	return nil
}

func validSeverity(s alert.Severity) bool {
	return s >= alert.SeverityInfo && s <= alert.SeverityCritical
}

// appendCooling appends a cooled key's state (without its key).
func appendCooling(b []byte, c *cooling) []byte {
	b = binenc.AppendTime(b, c.until)
	b = append(b, byte(c.severity))
	b = binenc.AppendUvarint(b, c.seq)
	b = binenc.AppendTime(b, c.last)
	b = binenc.AppendVarint(b, int64(c.width))
	b = binenc.AppendFloat64(b, c.calm)
	return binenc.AppendBool(b, c.reports)
}

// readCooling reads what appendCooling wrote in a checkpoint of version.
func readCooling(r *binenc.Reader, version byte) cooling {
	c := cooling{until: r.Time("cooldown until"), severity: alert.Severity(r.Byte("cooldown severity")), seq: r.Uvarint("cooldown seq")}
	if version >= 2 {
		c.last, c.width, c.calm = r.Time("cooldown last"), time.Duration(r.Varint("cooldown width")), r.Float64("cooldown calm")
		c.reports = r.Bool("cooldown reports")
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

// AppendEvent appends an alert transition, as the engine's checkpoint keeps
// the notifier's outbox: the alert as the lifecycle's checkpoint writes it,
// then what that leaves out (Early, which the lifecycle keeps beside it) and
// the transition's own fields. One encoding of an alert for both, so a field
// added to alert.Alert is added once.
func AppendEvent(b []byte, ev *alert.Event) []byte {
	b = appendAlert(b, &ev.Alert)
	b = binenc.AppendBool(b, ev.Alert.Early)
	b = binenc.AppendString(b, string(ev.From))
	b = binenc.AppendString(b, string(ev.To))
	b = binenc.AppendTime(b, ev.At)
	b = binenc.AppendUvarint(b, ev.Seq)
	return binenc.AppendString(b, ev.Reason)
}

// ReadEvent reads what AppendEvent wrote into ev. The transition is taken as
// written: an outbox holds what was to be delivered, resolved alerts too,
// and validAlert's rules are those of open ones.
func ReadEvent(r *binenc.Reader, ev *alert.Event) {
	readAlert(r, &ev.Alert)
	ev.Alert.Early = r.Bool("early")
	ev.From = alert.Status(r.String("from"))
	ev.To = alert.Status(r.String("to"))
	ev.At = r.Time("at")
	ev.Seq = r.Uvarint("seq")
	ev.Reason = r.String("reason")
}

func appendAlert(b []byte, a *alert.Alert) []byte {
	b = binenc.AppendString(b, a.Key)
	b = binenc.AppendString(b, a.Detector)
	b = binenc.AppendString(b, a.Term)
	b = binenc.AppendString(b, string(a.Status))
	b = append(b, byte(a.Severity))
	b = binenc.AppendTime(b, a.OpenedAt)
	b = binenc.AppendTime(b, a.UpdatedAt)
	b = binenc.AppendTime(b, a.ResolvedAt)
	b = binenc.AppendTime(b, a.Bucket)
	b = binenc.AppendFloat64(b, a.Score)
	b = binenc.AppendFloat64(b, a.Observed)
	b = binenc.AppendFloat64(b, a.Expected)
	b = binenc.AppendFloat64(b, a.Growth)
	b = binenc.AppendUvarint(b, a.UniqueCreators)
	b = binenc.AppendFloat64(b, a.Reports)
	b = binenc.AppendFloat64(b, a.ReportRate)
	b = binenc.AppendStrings(b, a.TopRegions)
	b = binenc.AppendStrings(b, a.Samples)
	b = binenc.AppendBool(b, a.Watchlisted)
	b = binenc.AppendString(b, a.Summary)
	return binenc.AppendString(b, a.Explanation)
}

func readAlert(r *binenc.Reader, a *alert.Alert) {
	a.Key = r.String("key")
	a.Detector = r.String("detector")
	a.Term = r.String("term")
	a.Status = alert.Status(r.String("status"))
	a.Severity = alert.Severity(r.Byte("severity"))
	a.OpenedAt = r.Time("opened at")
	a.UpdatedAt = r.Time("updated at")
	a.ResolvedAt = r.Time("resolved at")
	a.Bucket = r.Time("bucket")
	a.Score = r.Float64("score")
	a.Observed = r.Float64("observed")
	a.Expected = r.Float64("expected")
	a.Growth = r.Float64("growth")
	a.UniqueCreators = r.Uvarint("unique creators")
	a.Reports = r.Float64("reports")
	a.ReportRate = r.Float64("report rate")
	a.TopRegions = r.Strings("top regions")
	a.Samples = r.Strings("samples")
	a.Watchlisted = r.Bool("watchlisted")
	a.Summary = r.String("summary")
	a.Explanation = r.String("explanation")
}
