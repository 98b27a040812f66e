package incident

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/internal/binenc"
)

// What a restart needs back beside the outbox (Pending): the alerts the
// per-term limit held back, which alerts of each incident paged and are
// open, each key's place in its lifecycle, and each incident's current
// interval. Without them a held alert was never paged after a restart,
// while its incident's paged alert resolved and the desk read the incident
// as over; and a second alert of an incident paged within the interval
// that had just paged the first, a second PagerDuty incident.

// stateVersion is the first byte of AppendState's encoding.
const stateVersion = 1

// ErrState is wrapped by every error of a state that is not a valid
// encoding.
var ErrState = errors.New("incident notifier state")

// AppendState appends what the notifier knows of the alerts it was told,
// beyond what Pending lists, for RestoreState after a restart. The encoding
// is the same for the same state (every list sorted).
func (s *Notifier) AppendState(b []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	b = append(b, stateVersion)
	b = binenc.AppendUvarint(b, uint64(len(s.keys)))
	for _, k := range slices.Sorted(maps.Keys(s.keys)) {
		st := s.keys[k]
		b = binenc.AppendString(b, k)
		b = binenc.AppendString(b, st.incident)
		b = binenc.AppendTime(b, st.openedAt)
		b = binenc.AppendUvarint(b, st.lastSeq)
		b = binenc.AppendBool(b, st.triggered)
		b = binenc.AppendBool(b, st.resolved)
		b = binenc.AppendTime(b, st.touched)
	}
	b = binenc.AppendUvarint(b, uint64(len(s.paged)))
	for _, inc := range slices.Sorted(maps.Keys(s.paged)) {
		b = binenc.AppendString(b, inc)
		b = binenc.AppendStrings(b, slices.Sorted(maps.Keys(s.paged[inc])))
	}
	b = binenc.AppendUvarint(b, uint64(len(s.held)))
	for _, inc := range slices.Sorted(maps.Keys(s.held)) {
		h := s.held[inc]
		b = binenc.AppendString(b, inc)
		b = binenc.AppendUvarint(b, uint64(len(h)))
		for _, k := range slices.Sorted(maps.Keys(h)) {
			b = detectors.AppendEvent(b, h[k])
		}
	}
	b = binenc.AppendUvarint(b, uint64(len(s.terms)))
	for _, inc := range slices.Sorted(maps.Keys(s.terms)) {
		ts := s.terms[inc]
		b = binenc.AppendString(b, inc)
		b = binenc.AppendTime(b, ts.since)
		b = binenc.AppendUvarint(b, uint64(ts.sev))
		b = binenc.AppendUvarint(b, uint64(len(ts.fired)))
		for _, k := range slices.Sorted(maps.Keys(ts.fired)) {
			b = binenc.AppendString(b, k)
			b = binenc.AppendUvarint(b, uint64(ts.fired[k]))
		}
	}
	return b
}

// RestoreState takes back what AppendState wrote. Call it before Restore
// and Start; empty b (a checkpoint from before the state was kept) restores
// nothing.
func (s *Notifier) RestoreState(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if b[0] != stateVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrState, b[0], stateVersion)
	}
	r := binenc.NewReader(ErrState, "incident notifier state", b[1:])
	keys := map[string]*keyState{}
	for range r.Count("keys") {
		k := r.String("key")
		keys[k] = &keyState{incident: r.String("key incident"), openedAt: r.Time("key opened"), lastSeq: r.Uvarint("key seq"),
			triggered: r.Bool("key triggered"), resolved: r.Bool("key resolved"), touched: r.Time("key touched")}
	}
	paged := map[string]map[string]bool{}
	for range r.Count("paged incidents") {
		inc := r.String("paged incident")
		m := map[string]bool{}
		for range r.Count("paged keys") {
			m[r.String("paged key")] = true
		}
		paged[inc] = m
	}
	held := map[string]map[string]*alert.Event{}
	for range r.Count("held incidents") {
		inc := r.String("held incident")
		m := map[string]*alert.Event{}
		for range r.Count("held alerts") {
			var ev alert.Event
			detectors.ReadEvent(r, &ev)
			m[ev.Alert.Key] = &ev
		}
		held[inc] = m
	}
	terms := map[string]*termState{}
	for range r.Count("intervals") {
		inc := r.String("interval incident")
		ts := &termState{since: r.Time("interval start"), sev: alert.Severity(r.UvarintMax("interval severity", uint64(alert.SeverityCritical))), fired: map[string]alert.Severity{}}
		for range r.Count("interval keys") {
			k := r.String("interval key")
			ts.fired[k] = alert.Severity(r.UvarintMax("interval key severity", uint64(alert.SeverityCritical)))
		}
		terms[inc] = ts
	}
	if err := r.End(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys, s.paged, s.held, s.terms = keys, paged, held, terms
	return nil
}
