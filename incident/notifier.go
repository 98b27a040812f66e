// Package incident turns alert transitions into incidents: a PagerDuty Events API
// v2 event, a signed Standard Webhooks call or a Prometheus Alertmanager alert
// per transition.
//
// Open triggers an incident, escalated triggers again with the same dedup_key
// (PagerDuty folds it into the open incident), resolved resolves. Everything is
// keyed by the alert's Key, and a webhook's webhook-id is the transition's
// Event.ID(), so neither a retry nor a replay opens a second incident.
//
// Notify never touches the network: it filters, encodes and puts each
// transition in a bounded outbox, which one goroutine delivers in order, one
// request at a time, so the transitions of one key arrive in the order they
// happened. A failed request is retried with exponential backoff and full jitter,
// waiting at least what a Retry-After asks (capped at 10 minutes; for kind
// alertmanager at what keeps the open alerts from expiring meanwhile). A 4xx other
// than 408 and 429 is not retried: the request itself is wrong and would fail the
// same way forever. Redirects are not followed, since their target would escape
// incident.allowed_hosts. Every connection is checked against the host policy
// (see hostPolicy) at the address actually dialled, so a DNS answer pointing at
// a private or link-local address is refused however it changes.
//
// When the outbox is full the oldest transition that is not a resolve and not on
// the wire is dropped, so a resolve is only lost when the outbox holds nothing
// else. Drops, give-ups and filtered transitions are logged and counted.
//
// Alertmanager (kind alertmanager) keeps an alert firing only while it is
// re-sent, and resolves it when its endsAt passes. So the notifier remembers the
// alerts it has open (at most incident.max_open; past that the one changed
// longest ago is forgotten and expires in Alertmanager on its own) and re-sends
// each every incident.resend_interval with endsAt four intervals ahead; a
// resolve sends endsAt = the resolve time. The open alerts are part of Pending,
// so a checkpoint keeps them and a restart re-sends them. Alertmanager tells
// alerts apart by their labels, so a transition that changes them (severity on
// an escalation, the top region) ends the alert under its old labels in the
// same request, and a resolve names the labels last sent. Pending lists the
// alert as last sent before a queued transition that has to name it, so that
// a restart still ends or resolves the right alert.
//
// Filters, applied when a transition is written:
//   - An open or escalation below incident.min_severity opens nothing.
//   - At most one trigger per term per incident.per_term_interval (the term, not
//     the key: several detectors firing on one hashtag page once; and a
//     hashtag's spellings are one term here, its incident, so a challenge
//     surging under two spellings pages once, as does a challenge's ID whose
//     posts are its hashtag's: OfAlert), except that a trigger of
//     higher severity than any sent for the term in the interval still goes
//     out, so an escalation to critical is never held back by the page for its
//     medium start.
//   - An alert held back by that limit is remembered while it is open: once
//     none of its incident's paged alerts is open any more (the one that paged
//     resolved, or had resolved when the interval ended), the most severe held
//     alert still open is paged, so the desk never reads an incident as over
//     while one of its alerts still fires. It holds the slot as if it had
//     paged in the first place.
//   - A retracted early alert (Event.Reason retracted) gives its term's slot
//     back when it alone triggered in the interval: the page it sent was
//     wrong and must not hold back the next, but another alert's page still
//     holds it.
//   - A resolve goes out when its alert triggered an incident, whatever its
//     severity, and not when the alert was filtered; a resolve of an alert this
//     process never saw (after a restart) goes out when it meets min_severity,
//     since resolving twice is harmless and leaving an incident open is not.
//   - A transition already pending, or with a Seq not past the last one seen for
//     its key, is a replay and is skipped.
package incident

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendwatch/trendwatch/alert"
)

// Label values.
const (
	resultDelivered  = "delivered"
	resultRejected   = "rejected"
	resultExhausted  = "exhausted"
	outcomeTimeout   = "timeout"
	outcomeError     = "error"
	reasonOutboxFull = "outbox_full"
	reasonOpenFull   = "open_full"
	reasonSuperseded = "superseded"
	skipSeverity     = "severity"
	skipRateLimited  = "rate_limited"
	skipReplay       = "replay"
	skipNotTriggered = "not_triggered"
	skipInvalid      = "invalid"
)

const (
	// sweepEvery bounds how often Notify forgets old keys and terms.
	sweepEvery = time.Minute
	// releaseEvery bounds how late a held alert is paged after its incident's
	// interval ended, when no transition comes to notice it sooner.
	releaseEvery = 10 * time.Second
	// tombstoneTTL is how long a resolved alert is remembered, to recognise a
	// replay of its transitions.
	tombstoneTTL = time.Hour
	// staleTTL forgets an alert that has not changed for this long: it keeps
	// memory bounded when a resolve never comes.
	staleTTL = 24 * time.Hour
	// snippetBytes of a rejected response's body are logged, to say why.
	snippetBytes = 512
)

// Notifier delivers alert transitions to an incident endpoint. It is safe for
// concurrent use.
type Notifier struct {
	cfg      Config
	log      *slog.Logger
	m        *metrics
	client   *http.Client
	endpoint string     // cfg.URL, redacted, for logs
	target   string     // where requests go: cfg.URL, or Alertmanager's alerts API under it
	key      []byte     // webhook signing key
	am       *amEncoder // kind alertmanager; nil otherwise
	minSev   alert.Severity
	now      func() time.Time

	mu        sync.Mutex // guards what follows
	queue     []*delivery
	pending   map[string]*delivery               // by event ID
	keys      map[string]*keyState               // by alert key
	terms     map[string]*termState              // by incident: its current per-term interval
	paged     map[string]map[string]bool         // by incident: the keys whose alert triggered and is open
	held      map[string]map[string]*alert.Event // by incident, then key: the last trigger of an open alert the per-term limit held back
	open      map[string]*alert.Event            // kind alertmanager: by key, the last trigger posted
	lastSweep time.Time
	wake      chan struct{} // a delivery was queued; capacity 1
	emptied   chan struct{} // closed while the queue is empty
	started   bool
	closed    bool
	cancel    context.CancelFunc
	done      chan struct{} // closed when the delivery and resend goroutines return
	fence     Fence
	// superseded is the fence's error once it said another process took
	// over: nothing is delivered or queued from then on.
	superseded error
}

// Fence says whether another process has taken over the state whose pages a
// notifier delivers. A process paused past its group's session timeout wakes
// beside the standby that took over, and its outbox holds pages the standby
// delivers too, from the checkpoint or by judging the same buckets again.
// Superseded returns non-nil only for such a takeover, which drops the
// outbox for good: a failure to find out is not one, as pages it dropped
// would be missing from the checkpoint that should keep them.
type Fence interface {
	Superseded() error
}

type delivery struct {
	ev       alert.Event
	prev     *alert.Event // kind alertmanager: the alert as posted before ev
	id       string
	body     []byte // nil for kind alertmanager, whose body is made per attempt
	resolve  bool
	resend   bool // kind alertmanager: an open alert re-sent, not a transition
	enqueued time.Time
	attempts int
	inFlight bool // a request is on the wire: not droppable
}

// keyState is what is known of one key: the last Seq seen, and whether its
// current alert (a key that opens again after resolving is a new alert, with a
// new OpenedAt) triggered an incident.
type keyState struct {
	incident  string // OfAlert: an alert keeps the incident it opened in
	openedAt  time.Time
	lastSeq   uint64
	triggered bool
	resolved  bool
	touched   time.Time
}

type termState struct {
	since time.Time      // start of the term's current interval
	sev   alert.Severity // highest severity triggered in it
	// fired holds the keys that triggered in the interval, each with the
	// highest severity it sent: a retracted page gives the slot back only if
	// no other page holds it.
	fired map[string]alert.Severity
}

// New checks cfg and loads the webhook secret. Nothing is sent before Start.
func New(cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var key []byte
	if cfg.Kind == KindWebhook {
		k, err := cfg.secret()
		if err != nil {
			return nil, err
		}
		key = k
	}
	minSev, _ := alert.ParseSeverity(cfg.MinSeverity) // checked by Validate
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(cfg.URL) // checked by Validate
	policy, err := newHostPolicy(cfg.AllowedHosts, u)
	if err != nil {
		return nil, err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// Every connection goes through the host policy. A proxy would be the only
	// address dialled, hiding the endpoint's from the check, so none is used.
	transport.Proxy = nil
	transport.DialContext = policy.dialContext()
	s := &Notifier{
		cfg:      cfg,
		m:        m,
		endpoint: redactURL(cfg.URL),
		target:   cfg.URL,
		key:      key,
		minSev:   minSev,
		now:      time.Now,
		client: &http.Client{
			Timeout:   cfg.Timeout,
			Transport: transport,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		pending: map[string]*delivery{},
		keys:    map[string]*keyState{},
		terms:   map[string]*termState{},
		paged:   map[string]map[string]bool{},
		held:    map[string]map[string]*alert.Event{},
		open:    map[string]*alert.Event{},
		wake:    make(chan struct{}, 1),
		emptied: make(chan struct{}),
	}
	if cfg.Kind == KindAlertmanager {
		s.am = newAMEncoder(cfg)
		s.target = alertsURL(cfg.URL)
	}
	s.log = log.With("notifier", "incident", "kind", cfg.Kind, "endpoint", s.endpoint)
	close(s.emptied)
	return s, nil
}

// Start runs the delivery goroutine until ctx is done or Close is called.
// Calling it again does nothing.
func (s *Notifier) Start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return
	}
	s.started = true
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.run(ctx)
	}()
	if s.am != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.resendLoop(ctx)
		}()
	}
	if s.cfg.PerTermInterval > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.releaseLoop(ctx)
		}()
	}
	go func() {
		wg.Wait()
		close(s.done)
	}()
}

// SetFence makes every delivery ask f first. Once f says another process
// took over, the notifier delivers nothing more: it drops its outbox (counted
// as dropped, reason superseded), Notify refuses with f's error, and Drain
// waits only for a request already on the wire. The check is a moment before
// each request, so a takeover lets at most that request through, where the
// engine's own check before Notify would let the whole outbox through.
func (s *Notifier) SetFence(f Fence) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fence = f
}

// Notify filters evs (see the package documentation), encodes what is left
// and queues it for delivery. It never waits for the endpoint; evs is not kept.
func (s *Notifier) Notify(ctx context.Context, evs []alert.Event) error {
	if len(evs) == 0 {
		return nil
	}
	// Transitions of one key must go out in Seq order even when a batch mixes
	// them up; sorting a copy leaves the caller's slice alone.
	batch := slices.Clone(evs)
	sort.SliceStable(batch, func(i, k int) bool {
		a, b := &batch[i], &batch[k]
		if !a.At.Equal(b.At) {
			return a.At.Before(b.At)
		}
		if a.Alert.Key != b.Alert.Key {
			return a.Alert.Key < b.Alert.Key
		}
		return a.Seq < b.Seq
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("incident notifier: Notify after Close")
	}
	if s.superseded != nil {
		return fmt.Errorf("incident notifier: %w", s.superseded)
	}
	now := s.now()
	s.sweep(now)
	// A held alert is paged once the batch is in, not at the resolve that
	// freed it: the same batch may resolve the held alert too.
	var freed []string
	for i := range batch {
		if inc := s.admit(&batch[i], now); inc != "" {
			freed = append(freed, inc)
		}
	}
	for _, inc := range freed {
		s.release(inc, now)
	}
	s.releaseExpired(now)
	return nil
}

// Confirm takes the early alerts a final judgement bore out, as they stand
// now: open still, Early cleared, the final bucket's evidence. It sends
// nothing, as the alert paged once already, but from now on what is re-sent
// to Alertmanager, and a trigger still queued for it or held back by the
// per-term limit, is the confirmed alert: before, the "early" annotation
// and the early look's partial count stayed on the alert to its resolve.
func (s *Notifier) Confirm(as []alert.Alert) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range as {
		a := &as[i]
		update := func(ev *alert.Event) {
			if ev != nil && ev.Alert.Key == a.Key && ev.Alert.Early && ev.To != alert.StatusResolved {
				posted := ev.Alert
				ev.Alert = cloneEvent(alert.Event{Alert: *a}).Alert
				if s.am != nil {
					pinLabels(ev, &posted)
				}
			}
		}
		update(s.open[a.Key])
		if ks := s.keys[a.Key]; ks != nil {
			if h := s.held[ks.incident]; h != nil {
				update(h[a.Key])
			}
		}
		for _, d := range s.pending {
			// A webhook's body is made once, when queued; an Alertmanager
			// one per attempt, from d.ev, which a request on the wire reads.
			if d.body == nil && !d.inFlight {
				update(&d.ev)
			}
		}
	}
}

// pinLabels keeps ev's Alertmanager labels those of the alert as posted:
// Alertmanager tells alerts apart by their labels, and the final bucket's
// top region or language may differ from the early look's. Taken from the
// confirmed alert, the re-sends posted a second alert beside the early one,
// which stayed active, unended, until its endsAt. The labels change with a
// transition (an escalation ends the old set), never with a confirmation.
func pinLabels(ev *alert.Event, posted *alert.Alert) {
	want := amLabels(&alert.Event{Alert: *posted})
	if maps.Equal(amLabels(ev), want) {
		return
	}
	ev.Alert.TopRegions = slices.Clone(posted.TopRegions)
	was := alert.Fields(posted.Explanation)
	for _, k := range []string{"lang", "langs", "regions", "category", alert.SameAs} {
		ev.Alert.Explanation = setField(ev.Alert.Explanation, k, was[k])
	}
	if !maps.Equal(amLabels(ev), want) {
		ev.Alert.Explanation = posted.Explanation
	}
}

// setField makes key's value in an explanation v (the first of a repeated
// key, as alert.Fields reads it): replaced where it is, put first where it
// is not, taken out where v is empty.
func setField(expl, key, v string) string {
	fs := strings.Fields(expl)
	for i, f := range fs {
		if k, _, ok := strings.Cut(f, "="); ok && k == key {
			if v == "" {
				fs = slices.Delete(fs, i, i+1)
			} else {
				fs[i] = key + "=" + v
			}
			return strings.Join(fs, " ")
		}
	}
	if v == "" {
		return expl
	}
	return strings.TrimSpace(key + "=" + v + " " + expl)
}

// Pending returns the transitions not delivered yet, oldest first, for a
// checkpoint to hand back to Restore. For kind alertmanager the last trigger
// of every open alert follows, unless it is queued already: Restore re-sends
// it, which is what an open alert needs after a restart anyway.
//
// For kind alertmanager a queued transition that must name the alert as last
// posted (an escalation ends it, a resolve resolves its labels) comes after
// that alert's trigger: Restore rebuilds what was posted from the order of
// what it is given, and the checkpoint keeps transitions only. Restore then
// posts that trigger once more, which Alertmanager takes as the re-send of
// an alert it has.
func (s *Notifier) Pending() []alert.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]alert.Event, 0, len(s.queue)+len(s.open))
	listed := map[string]bool{} // keys with a transition in out
	for _, d := range s.queue {
		key := d.ev.Alert.Key
		if d.prev != nil && !listed[key] && s.pending[d.prev.ID()] == nil {
			out = append(out, cloneEvent(*d.prev))
		}
		listed[key] = true
		out = append(out, cloneEvent(d.ev))
	}
	for _, k := range slices.Sorted(maps.Keys(s.open)) {
		if ev := s.open[k]; s.pending[ev.ID()] == nil {
			out = append(out, cloneEvent(*ev))
		}
	}
	return out
}

// Restore queues transitions a previous process had not delivered, ahead of
// anything queued since, without filtering them again: they passed the filters
// when first written. Call it before Start, so they go out first.
func (s *Notifier) Restore(evs []alert.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var restored []*delivery
	for i := range evs {
		ev := &evs[i]
		if ev.Alert.Key == "" || webhookType(ev.To) == "" {
			s.skip(ev, skipInvalid, "err", "no key or unknown status")
			continue
		}
		if s.pending[ev.ID()] != nil {
			continue
		}
		d, err := s.newDelivery(ev, s.track(ev, now), now)
		if err != nil {
			s.skip(ev, skipInvalid, "err", err)
			continue
		}
		st := s.keys[ev.Alert.Key]
		if st == nil || !st.openedAt.Equal(ev.Alert.OpenedAt) {
			st = &keyState{incident: OfAlert(&ev.Alert), openedAt: ev.Alert.OpenedAt}
			s.keys[ev.Alert.Key] = st
		}
		st.lastSeq = max(st.lastSeq, ev.Seq)
		st.touched = now
		st.resolved = st.resolved || d.resolve
		st.triggered = st.triggered || !d.resolve
		if st.triggered && !st.resolved {
			s.markPaged(st.incident, ev.Alert.Key)
		} else {
			s.unpage(st.incident, ev.Alert.Key)
		}
		s.pending[d.id] = d
		restored = append(restored, d)
	}
	if len(restored) == 0 {
		return
	}
	if len(s.queue) == 0 {
		s.emptied = make(chan struct{})
	}
	s.queue = append(restored, s.queue...)
	s.evict()
	s.m.outbox.Set(float64(len(s.queue)))
	s.signal()
}

// Drain waits until every queued transition is delivered or given up, or ctx is
// done; with a fence that says another process took over, it drops them and
// waits only for a request on the wire. It needs Start.
func (s *Notifier) Drain(ctx context.Context) error {
	// A superseded process's outbox is its successor's to deliver: asked
	// here too, the answer does not wait for a retry's backoff to end. A
	// request on the wire is still waited for.
	s.fenced()
	for {
		s.mu.Lock()
		n, emptied := len(s.queue), s.emptied
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-emptied:
		case <-ctx.Done():
			return fmt.Errorf("incident notifier: %d transitions still pending: %w", n, ctx.Err())
		}
	}
}

// Close stops delivery without waiting for the outbox (call Drain first for a
// clean shutdown); what is left stays in Pending.
func (s *Notifier) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	s.client.CloseIdleConnections()
	return nil
}

// admit applies the filters to one transition and queues it. It returns the
// incident whose last open paged alert ev resolved, for release to page what
// the incident held back, or "". s.mu is held.
func (s *Notifier) admit(ev *alert.Event, now time.Time) (freed string) {
	a := &ev.Alert
	if a.Key == "" || webhookType(ev.To) == "" {
		s.skip(ev, skipInvalid, "err", "no key or unknown status")
		return ""
	}
	if s.pending[ev.ID()] != nil {
		s.skip(ev, skipReplay)
		return ""
	}
	st, known := s.keys[a.Key]
	// Seq grows with every transition of a key, across its alerts, so anything
	// not past the last one seen is a replay, whichever alert it belongs to.
	if known && ev.Seq <= st.lastSeq {
		s.skip(ev, skipReplay)
		return ""
	}
	if known && !st.openedAt.Equal(a.OpenedAt) {
		known = false // the key opened again: a new alert, which has triggered nothing
		// Its earlier alert ended without a resolve seen here.
		s.unhold(st.incident, a.Key)
		if s.unpage(st.incident, a.Key) {
			freed = st.incident
		}
	}
	if !known && ev.To != alert.StatusResolved && a.Severity < s.minSev {
		// Nothing to remember of an alert that has paged nothing and
		// does not page now: its escalation past the bar comes as a key
		// not seen, and pages as one. Kept, every term the detectors
		// alerted on below incident.min_severity held an entry for an
		// hour or a day (25 MiB an hour of one detector's alerts on
		// long terms, measured).
		delete(s.keys, a.Key)
		s.skip(ev, skipSeverity)
		return freed
	}
	if !known {
		st = &keyState{incident: OfAlert(a)}
		s.keys[a.Key] = st
	}
	st.openedAt = a.OpenedAt
	st.lastSeq, st.touched = ev.Seq, now
	if ev.To == alert.StatusResolved {
		st.resolved = true
		if known {
			s.unhold(st.incident, a.Key)
		}
		if known && st.triggered {
			if ev.Reason == alert.ReasonRetracted {
				// The early page it sent was wrong: it must not hold back the
				// term's next page for the rest of the interval.
				s.giveBack(st.incident, a.Key)
			}
			if s.unpage(st.incident, a.Key) {
				freed = st.incident
			}
		}
		switch {
		case known && !st.triggered && s.open[a.Key] == nil:
			s.skip(ev, skipNotTriggered)
		case !known && a.Severity < s.minSev && s.open[a.Key] == nil:
			s.skip(ev, skipSeverity)
		default:
			s.enqueue(ev, s.track(ev, now), now)
		}
		return freed
	}
	if a.Severity < s.minSev {
		s.skip(ev, skipSeverity)
		return freed
	}
	if !s.allow(st.incident, a.Key, a.Severity, now) {
		if !st.triggered {
			// Its incident's page stands for it while that is open; once
			// none is, it must page itself (release).
			s.hold(st.incident, ev)
		}
		s.skip(ev, skipRateLimited)
		return freed
	}
	s.unhold(st.incident, a.Key)
	st.triggered = true
	s.markPaged(st.incident, a.Key)
	s.enqueue(ev, s.track(ev, now), now)
	return freed
}

// track keeps the open alerts of kind alertmanager up to date with ev, which is
// about to be queued, and returns the alert as last posted for its key (nil when
// none is known). A trigger replaces it; a resolve ends it. s.mu is held.
func (s *Notifier) track(ev *alert.Event, now time.Time) *alert.Event {
	if s.am == nil {
		return nil
	}
	key := ev.Alert.Key
	prev := s.open[key]
	if prev != nil && ev.Seq <= prev.Seq {
		return nil // a restored transition older than what is known
	}
	if ev.To == alert.StatusResolved {
		delete(s.open, key)
	} else {
		c := cloneEvent(*ev)
		s.open[key] = &c
		s.forgetOpen(now)
	}
	s.m.open.Set(float64(len(s.open)))
	return prev
}

// forgetOpen keeps the open alerts within incident.max_open by forgetting the
// one that changed longest ago; Alertmanager resolves it when its endsAt
// passes. s.mu is held.
func (s *Notifier) forgetOpen(now time.Time) {
	for len(s.open) > s.cfg.MaxOpen {
		var oldest *alert.Event
		for _, ev := range s.open {
			if oldest == nil || eventTime(ev).Before(eventTime(oldest)) ||
				(eventTime(ev).Equal(eventTime(oldest)) && ev.Alert.Key < oldest.Alert.Key) {
				oldest = ev
			}
		}
		delete(s.open, oldest.Alert.Key)
		s.m.dropped.WithLabelValues(reasonOpenFull).Inc()
		s.log.Warn("too many open alerts for incident.max_open; no longer re-sending the oldest, which Alertmanager will resolve",
			"key", oldest.Alert.Key, "max_open", s.cfg.MaxOpen, "resolves_in", s.am.margin)
	}
}

// resendLoop re-sends the open alerts every incident.resend_interval until ctx
// is done.
func (s *Notifier) resendLoop(ctx context.Context) {
	every(ctx, s.cfg.ResendInterval, func() { s.resend(s.now()) })
}

// every calls f every d until ctx is done.
func every(ctx context.Context, d time.Duration, f func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}

// resend queues every open alert that is not queued already. One that is
// queued needs nothing more: its endsAt is set when it goes out.
func (s *Notifier) resend(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.superseded != nil {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(s.open)) {
		ev := s.open[k]
		if s.pending[ev.ID()] == nil {
			s.enqueue(ev, nil, now)
			if d := s.pending[ev.ID()]; d != nil {
				d.resend = true
			}
		}
	}
}

// allow applies the per-term rate limit to the alerts of incident
// (Of), and counts key's trigger in the interval when it goes out. s.mu is
// held.
func (s *Notifier) allow(incident, key string, sev alert.Severity, now time.Time) bool {
	if s.cfg.PerTermInterval <= 0 {
		return true
	}
	ts := s.terms[incident]
	if ts == nil || now.Sub(ts.since) >= s.cfg.PerTermInterval {
		s.terms[incident] = &termState{since: now, sev: sev, fired: map[string]alert.Severity{key: sev}}
		return true
	}
	if sev > ts.sev {
		ts.sev = sev
		ts.fired[key] = sev
		return true
	}
	return false
}

// giveBack takes key's retracted trigger out of incident's interval, which
// ends with it when no other key triggered in it. s.mu is held.
func (s *Notifier) giveBack(incident, key string) {
	ts := s.terms[incident]
	if ts == nil {
		return
	}
	if _, ok := ts.fired[key]; !ok {
		return // it triggered in an earlier interval; another page holds this one
	}
	delete(ts.fired, key)
	if len(ts.fired) == 0 {
		delete(s.terms, incident)
		return
	}
	// The retracted page's severity no longer stands: a page above what the
	// others sent must not be held back by it.
	ts.sev = alert.SeverityInfo
	for _, sev := range ts.fired {
		ts.sev = max(ts.sev, sev)
	}
}

// hold remembers ev, the trigger of an alert that has not paged, as held
// back by the per-term limit. s.mu is held.
func (s *Notifier) hold(incident string, ev *alert.Event) {
	h := s.held[incident]
	if h == nil {
		h = map[string]*alert.Event{}
		s.held[incident] = h
	}
	c := cloneEvent(*ev)
	h[ev.Alert.Key] = &c
}

// unhold forgets key as held back. s.mu is held.
func (s *Notifier) unhold(incident, key string) {
	if h := s.held[incident]; h != nil {
		delete(h, key)
		if len(h) == 0 {
			delete(s.held, incident)
		}
	}
}

// markPaged records that key's alert triggered and is open. s.mu is held.
func (s *Notifier) markPaged(incident, key string) {
	p := s.paged[incident]
	if p == nil {
		p = map[string]bool{}
		s.paged[incident] = p
	}
	p[key] = true
}

// unpage records that key's alert is no longer open, and reports whether it
// was the last open paged alert of incident. s.mu is held.
func (s *Notifier) unpage(incident, key string) (last bool) {
	p := s.paged[incident]
	if !p[key] {
		return false
	}
	delete(p, key)
	if len(p) > 0 {
		return false
	}
	delete(s.paged, incident)
	return true
}

// release pages the most severe alert incident held back, if none of its
// paged alerts is open: the desk would otherwise read the incident as over
// while that alert still fires. It pages one, as the limit would have let one
// through: should that resolve while others are held, release pages the next.
// s.mu is held.
func (s *Notifier) release(incident string, now time.Time) {
	if len(s.paged[incident]) > 0 {
		return
	}
	var (
		ev *alert.Event
		st *keyState
	)
	for st == nil && len(s.held[incident]) > 0 {
		ev = nil
		for _, h := range s.held[incident] {
			if ev == nil || h.Alert.Severity > ev.Alert.Severity ||
				(h.Alert.Severity == ev.Alert.Severity && h.Alert.Key < ev.Alert.Key) {
				ev = h
			}
		}
		s.unhold(incident, ev.Alert.Key)
		st = s.keys[ev.Alert.Key]
		if st != nil && (st.resolved || st.triggered || st.lastSeq != ev.Seq) {
			st = nil // changed since it was held; it stands for nothing now
		}
	}
	if st == nil {
		return
	}
	key := ev.Alert.Key
	// It takes the slot as its own page would have.
	if ts := s.terms[incident]; ts == nil || now.Sub(ts.since) >= s.cfg.PerTermInterval {
		s.terms[incident] = &termState{since: now, sev: ev.Alert.Severity, fired: map[string]alert.Severity{key: ev.Alert.Severity}}
	} else {
		ts.sev = max(ts.sev, ev.Alert.Severity)
		ts.fired[key] = max(ts.fired[key], ev.Alert.Severity)
	}
	st.triggered = true
	s.markPaged(incident, key)
	s.log.Info("paging an alert held back by incident.per_term_interval: no other alert of its incident is open",
		"event_id", ev.ID(), "incident", incident, "severity", ev.Alert.Severity)
	s.enqueue(ev, s.track(ev, now), now)
}

// releaseExpired releases the incidents whose interval ended while they held
// alerts back and had none open that paged. s.mu is held.
func (s *Notifier) releaseExpired(now time.Time) {
	for _, inc := range slices.Sorted(maps.Keys(s.held)) {
		if ts := s.terms[inc]; ts == nil || now.Sub(ts.since) >= s.cfg.PerTermInterval {
			s.release(inc, now)
		}
	}
}

// releaseLoop ends the intervals of incidents holding alerts back while no
// transition comes to Notify, until ctx is done.
func (s *Notifier) releaseLoop(ctx context.Context) {
	every(ctx, min(s.cfg.PerTermInterval, releaseEvery), func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.closed && s.superseded == nil {
			s.releaseExpired(s.now())
		}
	})
}

func (s *Notifier) sweep(now time.Time) {
	if now.Sub(s.lastSweep) < sweepEvery {
		return
	}
	s.lastSweep = now
	for k, st := range s.keys {
		age := now.Sub(st.touched)
		if (st.resolved && age > tombstoneTTL) || age > staleTTL {
			delete(s.keys, k)
		}
	}
	for t, ts := range s.terms {
		if now.Sub(ts.since) >= s.cfg.PerTermInterval {
			delete(s.terms, t)
		}
	}
	// A key forgotten above takes what was known of its alert with it.
	for inc, p := range s.paged {
		for k := range p {
			if st := s.keys[k]; st == nil || st.resolved || !st.triggered {
				s.unpage(inc, k)
			}
		}
	}
	for inc, h := range s.held {
		for k := range h {
			if st := s.keys[k]; st == nil || st.resolved || st.triggered {
				s.unhold(inc, k)
			}
		}
	}
}

func (s *Notifier) skip(ev *alert.Event, reason string, attrs ...any) {
	s.m.skipped.WithLabelValues(reason).Inc()
	level := slog.LevelDebug
	if reason == skipInvalid {
		level = slog.LevelWarn
	}
	s.log.Log(context.Background(), level, "alert transition not sent",
		append([]any{"reason", reason, "event_id", ev.ID(), "to", ev.To, "severity", ev.Alert.Severity}, attrs...)...)
}

func (s *Notifier) newDelivery(ev, prev *alert.Event, now time.Time) (*delivery, error) {
	var (
		body []byte
		err  error
	)
	switch s.cfg.Kind {
	case KindPagerDuty:
		body, err = pagerDutyBody(s.cfg.RoutingKey, s.cfg.Source, ev)
	case KindWebhook:
		body, err = webhookBody(ev)
	case KindAlertmanager:
		// Made per attempt; encoding once here only proves it can be.
		_, err = s.am.body(ev, prev, now)
	}
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", ev.ID(), err)
	}
	d := &delivery{ev: cloneEvent(*ev), id: ev.ID(), body: body, resolve: ev.To == alert.StatusResolved, enqueued: now}
	if prev != nil {
		p := cloneEvent(*prev)
		d.prev = &p
	}
	return d, nil
}

// enqueue queues one transition, making room if the outbox is full. s.mu is held.
func (s *Notifier) enqueue(ev, prev *alert.Event, now time.Time) {
	d, err := s.newDelivery(ev, prev, now)
	if err != nil {
		s.skip(ev, skipInvalid, "err", err)
		return
	}
	if len(s.queue) == 0 {
		s.emptied = make(chan struct{})
	}
	s.queue = append(s.queue, d)
	s.pending[d.id] = d
	s.evict()
	s.m.outbox.Set(float64(len(s.queue)))
	s.signal()
}

// evict drops deliveries while the outbox is over its bound: the oldest that is
// not a resolve, else the oldest resolve; never one on the wire. s.mu is held.
func (s *Notifier) evict() {
	for len(s.queue) > s.cfg.Outbox {
		victim := -1
		for i, d := range s.queue {
			if !d.resolve && !d.inFlight {
				victim = i
				break
			}
		}
		if victim < 0 {
			for i, d := range s.queue {
				if !d.inFlight {
					victim = i
					break
				}
			}
		}
		if victim < 0 {
			return
		}
		d := s.queue[victim]
		s.queue = slices.Delete(s.queue, victim, victim+1)
		delete(s.pending, d.id)
		s.m.dropped.WithLabelValues(reasonOutboxFull).Inc()
		s.log.Warn("incident outbox full; dropped an undelivered alert transition",
			"event_id", d.id, "to", d.ev.To, "term", d.ev.Alert.Term, "attempts", d.attempts, "outbox", s.cfg.Outbox)
	}
}

func (s *Notifier) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func cloneEvent(ev alert.Event) alert.Event {
	ev.Alert.TopRegions = slices.Clone(ev.Alert.TopRegions)
	ev.Alert.Samples = slices.Clone(ev.Alert.Samples)
	return ev
}

// run delivers the head of the queue until ctx is done.
func (s *Notifier) run(ctx context.Context) {
	rnd := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	for {
		d := s.head(ctx)
		if d == nil {
			return
		}
		if s.fenced() {
			s.dropSuperseded(d)
			return
		}
		res := s.send(ctx, d)
		wait, again := s.settle(ctx, d, res, rnd)
		if ctx.Err() != nil {
			return
		}
		if !again {
			continue
		}
		// Not waiting out a backoff for a delivery that is no longer ours.
		// It was on the wire if the fence moved during the request, and
		// kept then.
		if s.fenced() {
			s.dropSuperseded(d)
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// fenced asks the fence whether another process took over and, if it did,
// drops the outbox, but for a request on the wire, whose sender finishes it
// or drops it, and reports true: the delivery loop then stops.
func (s *Notifier) fenced() bool {
	s.mu.Lock()
	f, was := s.fence, s.superseded
	s.mu.Unlock()
	if was != nil {
		return true
	}
	if f == nil {
		return false
	}
	err := f.Superseded()
	if err == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.superseded != nil {
		return true // another goroutine got here first
	}
	s.superseded = err
	n := 0
	kept := s.queue[:0]
	for _, d := range s.queue {
		if d.inFlight {
			kept = append(kept, d)
			continue
		}
		delete(s.pending, d.id)
		n++
	}
	clear(s.queue[len(kept):])
	s.queue = kept
	s.m.dropped.WithLabelValues(reasonSuperseded).Add(float64(n))
	s.m.outbox.Set(float64(len(s.queue)))
	if n > 0 && len(s.queue) == 0 {
		close(s.emptied)
	}
	s.log.Warn("another process took this pipeline's state over: delivering nothing more, it pages what this outbox held",
		"dropped", n, "err", err)
	return true
}

// dropSuperseded takes d, whose request will not be made now that another
// process took over, out of the outbox.
func (s *Notifier) dropSuperseded(d *delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.Index(s.queue, d)
	if i < 0 {
		return
	}
	s.queue = slices.Delete(s.queue, i, i+1)
	delete(s.pending, d.id)
	s.m.dropped.WithLabelValues(reasonSuperseded).Inc()
	s.m.outbox.Set(float64(len(s.queue)))
	if len(s.queue) == 0 {
		close(s.emptied)
	}
}

// head waits for the oldest queued delivery and marks it in flight.
func (s *Notifier) head(ctx context.Context) *delivery {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			d := s.queue[0]
			d.inFlight = true
			s.mu.Unlock()
			return d
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-ctx.Done():
			return nil
		}
	}
}

type class int

const (
	classDelivered class = iota
	classRejected
	classRetry
)

type result struct {
	class      class
	status     int
	err        error // without the URL, which may hold a credential
	retryAfter time.Duration
	snippet    string
}

// send makes one HTTP request for d.
func (s *Notifier) send(ctx context.Context, d *delivery) result {
	body := d.body
	if s.am != nil {
		// endsAt lies ahead of this attempt, not of the first: a retry hours
		// later must not post an alert that has already ended.
		var err error
		if body, err = s.am.body(&d.ev, d.prev, s.now()); err != nil {
			return result{class: classRejected, err: fmt.Errorf("encode: %w", err)}
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.target, bytes.NewReader(body))
	if err != nil {
		return result{class: classRejected, err: errors.New("cannot build request")}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "trendwatch-incident")
	if s.cfg.Kind == KindWebhook {
		// The timestamp is the attempt's, as Standard Webhooks wants: receivers
		// refuse old ones to stop replays, and a retry may come much later.
		id, ts := messageID(d.id), s.now().Unix()
		req.Header.Set(headerID, id)
		req.Header.Set(headerTimestamp, strconv.FormatInt(ts, 10))
		req.Header.Set(headerSignature, sign(s.key, id, ts, d.body))
	}
	began := time.Now()
	resp, err := s.client.Do(req)
	s.m.latency.Observe(time.Since(began).Seconds())
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			s.m.attempts.WithLabelValues(outcomeTimeout).Inc()
		} else {
			s.m.attempts.WithLabelValues(outcomeError).Inc()
		}
		return result{class: classRetry, err: err}
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, snippetBytes))
	// Reading the rest lets the connection be reused; the limit keeps a hostile
	// endpoint from holding the goroutine with an endless body.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	s.m.attempts.WithLabelValues(strconv.Itoa(resp.StatusCode/100) + "xx").Inc()
	res := result{status: resp.StatusCode, snippet: s.scrub(string(snippet))}
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		res.class = classDelivered
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		res.class = classRetry
	default:
		// 3xx lands here too: redirects are not followed.
		res.class = classRejected
	}
	if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), s.now()); ok {
		res.retryAfter = ra
	}
	return res
}

// scrub keeps credentials out of a logged response body, should an endpoint
// echo the request.
func (s *Notifier) scrub(body string) string {
	if s.cfg.RoutingKey != "" {
		body = strings.ReplaceAll(body, s.cfg.RoutingKey, redacted)
	}
	return strings.ToValidUTF8(body, "")
}

// settle records the outcome of a request and says how long to wait before the
// next one when d is to be retried.
func (s *Notifier) settle(ctx context.Context, d *delivery, res result, rnd *rand.Rand) (wait time.Duration, again bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d.inFlight = false
	d.attempts++
	attrs := []any{"event_id", d.id, "to", d.ev.To, "attempt", d.attempts}
	if d.resend {
		attrs = append(attrs, "resend", true)
	}
	if res.status != 0 {
		attrs = append(attrs, "status", res.status)
	}
	if res.err != nil {
		attrs = append(attrs, "err", res.err)
	}
	switch res.class {
	case classDelivered:
		s.finish(d, resultDelivered)
		s.m.delay.Observe(s.now().Sub(d.enqueued).Seconds())
		s.log.Debug("delivered alert transition", attrs...)
		return 0, false
	case classRejected:
		s.finish(d, resultRejected)
		if s.am != nil && !d.resolve && s.open[d.ev.Alert.Key] != nil && s.open[d.ev.Alert.Key].Seq == d.ev.Seq {
			// Re-sending what Alertmanager refused would only be refused again.
			delete(s.open, d.ev.Alert.Key)
			s.m.open.Set(float64(len(s.open)))
		}
		s.log.Error("incident endpoint rejected an alert transition; not retrying", append(attrs, "response", res.snippet)...)
		return 0, false
	}
	if ctx.Err() != nil {
		// Shutting down: the transition stays pending for the checkpoint.
		return 0, false
	}
	if s.cfg.MaxAttempts > 0 && d.attempts >= s.cfg.MaxAttempts {
		s.finish(d, resultExhausted)
		s.log.Error("giving up on an alert transition after incident.max_attempts", attrs...)
		return 0, false
	}
	wait = backoff(s.cfg.BackoffBase, s.cfg.BackoffMax, d.attempts, rnd)
	wait = max(wait, res.retryAfter)
	if s.am != nil {
		wait = min(wait, s.am.maxWait)
	}
	s.log.Warn("incident delivery failed; will retry", append(attrs, "wait", wait)...)
	return wait, true
}

// finish takes d out of the outbox. s.mu is held.
func (s *Notifier) finish(d *delivery, result string) {
	delete(s.pending, d.id)
	s.m.deliveries.WithLabelValues(result).Inc()
	i := slices.Index(s.queue, d)
	if i < 0 {
		return
	}
	s.queue = slices.Delete(s.queue, i, i+1)
	s.m.outbox.Set(float64(len(s.queue)))
	if len(s.queue) == 0 {
		close(s.emptied)
	}
}
