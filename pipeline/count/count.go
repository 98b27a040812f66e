// Package count holds what each post and report adds, once event-time
// ordering has let it through: the sketch window's counts, the platform's
// (pipeline/platform), the tracked terms' open buckets (pipeline/tracked),
// the families each hashtag spells (pipeline/families), the content→terms
// cache a report is attributed by (pipeline/join); and when a term starts
// being tracked, through the admission door (pipeline/admission) or at once.
// It is the aggregate side of the engine: the bucket close reads what it
// counted and judges it.
package count

import (
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/family"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline/admission"
	"github.com/trendwatch/trendwatch/pipeline/eventtime"
	"github.com/trendwatch/trendwatch/pipeline/families"
	"github.com/trendwatch/trendwatch/pipeline/join"
	"github.com/trendwatch/trendwatch/pipeline/looks"
	"github.com/trendwatch/trendwatch/pipeline/platform"
	"github.com/trendwatch/trendwatch/pipeline/termkey"
	"github.com/trendwatch/trendwatch/pipeline/tracked"
	"github.com/trendwatch/trendwatch/sketches"
)

// Config is what counting reads of the pipeline's configuration.
type Config struct {
	Bucket          time.Duration
	History         int    // closed buckets of history a tracked term keeps
	MaxTracked      int    // the most terms tracked at once
	TrackMin        uint32 // mentions in a bucket that start tracking a term
	TrackMinReports uint32 // reports likewise
	Samples         int    // content IDs kept per term and bucket
	// JoinCacheBytes and AdmissionSlots are the bounds the warnings name.
	JoinCacheBytes int
	AdmissionSlots int
	Shard          Shard
}

// Shard is term shard I of N (pipeline.shard, pipeline.shards): the terms
// whose incident hash it owns are the ones it tracks.
type Shard struct{ I, N int }

// Owns reports whether the term whose incident hash is h is this shard's: a
// challenge's spellings and its family are one shard's.
func (s Shard) Owns(h uint64) bool { return s.N <= 1 || h%uint64(s.N) == uint64(s.I) }

// Detectors is what counting asks of the detectors.
type Detectors interface {
	// Watch is the watchlist's entry matching term, nil for none.
	Watch(term string) *detectors.WatchMatch
	// HighTrustChannel reports whether one report from c pages.
	HighTrustChannel(c event.Channel) bool
}

// Metrics are the counters counting moves.
type Metrics struct {
	Late, Unattributed, JoinEvicted, DoorHeld, DoorLost prometheus.Counter
	// TrackRefused counts mentions and reports at the tracking bar of terms
	// not tracked because pipeline.max_tracked terms are.
	TrackRefused prometheus.Counter
}

// Reserve is the room beyond pipeline.max_tracked kept for the terms of
// reports from high-trust channels (TrackNow): a regulator's report pages
// on its own, and a flood that filled the tracked terms must not silence it.
func Reserve(maxTracked int) int { return max(1, maxTracked/16) }

// Parts are the tables counting writes; the engine owns them, its bucket
// close reads them and its checkpoint keeps them.
type Parts struct {
	Window   *sketches.Window
	Tracked  map[uint64]*tracked.Term // by the hash of the term's key
	Pool     *tracked.Pool
	Families *families.Table
	TermKeys *termkey.Cache
	Join     *join.Cache
	Door     *admission.Door
	Platform *platform.Buckets
	Looks    *looks.Looks
}

// Counter counts events into Parts. Its methods are not safe for
// concurrent use: the engine's goroutine owns it.
type Counter struct {
	cfg Config
	det Detectors
	m   Metrics
	log *slog.Logger

	window   *sketches.Window
	tracked  map[uint64]*tracked.Term
	pool     *tracked.Pool
	families *families.Table
	termKeys *termkey.Cache
	join     *join.Cache
	door     *admission.Door
	platform *platform.Buckets
	looks    *looks.Looks

	// first is the start of the first bucket ever counted, for "same time
	// yesterday"; maxApplied the latest event time applied: buckets up to
	// its own may hold events of terms not yet tracked.
	first, maxApplied time.Time
	// touched keeps what the reads ahead of the tables return (Content).
	touched uint64
	// doorWarned is the last bucket whose door was full, said once a
	// bucket; joinWarned the same for the join cache's byte bound.
	doorWarned, joinWarned time.Time
	// fullWarned is the bucket refuse last said the tracked terms were
	// full in.
	fullWarned time.Time

	// The event being counted: its terms, their keys and hashes, the
	// families counted, and for each term its family's hash (0 for none)
	// and whether the families' tables did not hold it (families.Table.Tag).
	terms     []event.Term
	keys      []string
	hashes    []uint64
	fams      []uint64
	famOf     []uint64
	spellings []bool
}

// New returns a counter into p.
func New(cfg Config, p Parts, det Detectors, m Metrics, log *slog.Logger) *Counter {
	return &Counter{cfg: cfg, det: det, m: m, log: log,
		window: p.Window, tracked: p.Tracked, pool: p.Pool, families: p.Families, termKeys: p.TermKeys,
		join: p.Join, door: p.Door, platform: p.Platform, looks: p.Looks}
}

// First is the start of the first bucket counted; zero before any.
func (c *Counter) First() time.Time { return c.first }

// MaxApplied is the latest event time applied.
func (c *Counter) MaxApplied() time.Time { return c.maxApplied }

// SetTimes restores First and MaxApplied, as a checkpoint kept them.
func (c *Counter) SetTimes(first, maxApplied time.Time) { c.first, c.maxApplied = first, maxApplied }

// Apply counts rec, a post or a report, in event-time order.
func (c *Counter) Apply(rec *ingest.Record) {
	if ts := eventtime.TS(rec); ts.After(c.maxApplied) {
		c.maxApplied = ts
	}
	if rec.Kind == ingest.KindContent {
		c.Content(&rec.Content, &rec.Hashes)
	} else {
		c.Report(&rec.Report, &rec.Hashes)
	}
}

// late counts an event the window refused as out of its open buckets. It
// is called on every mention, nearly always with nil: that test is inlined,
// where two calls to errors.Is on every mention were a percent of the
// engine's time.
func (c *Counter) late(err error) bool { return err != nil && c.refused(err) }

// refused is late for an error.
func (c *Counter) refused(err error) bool {
	if errors.Is(err, sketches.ErrLate) || errors.Is(err, sketches.ErrTooEarly) {
		c.m.Late.Inc()
		return true
	}
	return false
}

// Content counts post, whose IDs and term keys the decoders hashed into hs.
func (c *Counter) Content(post *event.Content, hs *ingest.Hashes) {
	ts := post.TS.UTC()
	if c.late(c.window.Event(ts)) {
		return
	}
	// Event opened ts's bucket if it was not: its start is ts truncated to
	// the bucket, made when it opened, where Truncate divided again for
	// every post.
	open := c.window.Open(ts)
	start := open.Start
	if c.first.IsZero() || start.Before(c.first) {
		c.first = start
	}
	// The post's term keys and its join entry are in tables of megabytes:
	// read together now, their slots arrive together, where read as each
	// term is counted each waited for the memory on its own.
	hashed := hs.Terms[:min(int(hs.NTerms), len(hs.Terms))]
	c.touched ^= c.termKeys.Touch(hashed) ^ c.join.Touch(hs.Content)
	// Only a hashtag has a family to find in the tags table; the post's
	// hashtags are its first terms (event.Content.Terms).
	for _, h := range hashed[:min(len(hashed), len(post.Hashtags))] {
		c.touched ^= c.families.Touch(h)
	}
	creator := hs.Actor

	c.terms = post.Terms(c.terms[:0])
	keys := c.keys[:0]
	hashes := c.hashes[:0]
	famOf, spellings := c.famOf[:0], c.spellings[:0]
	for i, t := range c.terms {
		var key string
		var h uint64
		if i < int(hs.NTerms) {
			h = hs.Terms[i]
			key = c.termKeys.Hashed(t, h)
		} else {
			key, h = c.termKeys.Key(t)
		}
		keys = append(keys, key)
		hashes = append(hashes, h)
		// A hashtag's family is its incident, which decides the shard that
		// owns it (Shard.Owns).
		var fam uint64
		var spelling bool
		if c.families.On() && t.Kind == event.KindHashtag && !family.ShortASCII(t.Value) {
			fam, spelling = c.HashtagFamily(h, t.Value)
			if spelling {
				// Spelled, after the post's terms are counted, reads the
				// family's set for a spelling the tables did not hold:
				// asked for now, it arrives meanwhile. A spelling they
				// hold never reads it, and asking for it anyway was a
				// read from megabytes of table for nothing, a tenth of
				// the engine's time on the generator's steady stream.
				c.touched ^= c.families.TouchFamily(fam)
			}
		}
		famOf, spellings = append(famOf, fam), append(spellings, spelling)
		inc := h
		if fam != 0 {
			inc = fam
		}
		if !c.mention(post, ts, start, creator, open, key, h, inc, false, "") {
			c.famOf, c.spellings = famOf, spellings
			return
		}
	}
	c.hashes, c.famOf, c.spellings = hashes, famOf, spellings
	// Each hashtag also counts into its family, once per post however many of
	// the family's spellings the post carries. The join cache keeps only the
	// post's own terms: a report finds the families again from them.
	fams := c.fams[:0]
	for i, t := range c.terms {
		fam, spelling := famOf[i], spellings[i]
		if fam == 0 {
			continue
		}
		if slices.Contains(fams, fam) {
			// The post counted into the family already, but a spelling seen
			// for the first time is a spelling all the same: abusers tag a
			// post with several at once, and one first met there would
			// otherwise be taken for known ever after, and never make its
			// family one that may be tracked.
			if spelling {
				c.families.Spelled(fam, hashes[i], t.Value, true)
			}
			c.alsoSpelled(fam, start, t.Value)
			continue
		}
		fams = append(fams, fam)
		term := c.families.Spelled(fam, hashes[i], t.Value, spelling)
		if !c.mention(post, ts, start, creator, open, term, fam, fam, true, t.Value) {
			break
		}
	}
	c.fams, c.keys = fams, keys
	if n := c.join.PutHash(post.ContentID, hs.Content, keys); n > 0 {
		c.m.JoinEvicted.Add(float64(n))
		if start.After(c.joinWarned) {
			// Said once a bucket, as event time moves on: in a flood it is
			// every post, and a backlog interleaves buckets.
			c.joinWarned = start
			c.log.Warn("content→terms cache at pipeline.join_cache_bytes: the oldest content is forgotten before pipeline.join_cache entries, and reports on it count only through their own hashtags; a flood of posts with many one-off terms is the usual cause",
				"bucket", start, "entries", c.join.Len(), "pipeline.join_cache_bytes", c.cfg.JoinCacheBytes)
		}
	}
}

// mention counts one mention of key (hash h, incident hash inc) by post;
// a family's (derived) is counted in the count-min only unless key, its
// term, is set because it may be tracked, and member is the spelling that
// brought it. It reports false when the event is too late.
func (c *Counter) mention(post *event.Content, ts, start time.Time, creator uint64, open *sketches.Bucket, key string, h, inc uint64, derived bool, member string) bool {
	if !derived {
		if c.late(c.window.Mention(ts, key, h, 1)) {
			return false
		}
	} else {
		if c.late(c.window.MentionDerived(ts, h, 1)) {
			return false
		}
		c.platform.FamilyMention(start)
		if key == "" {
			return true
		}
	}
	if !c.cfg.Shard.Owns(inc) {
		return true
	}
	var st *tracked.Term
	if derived {
		st = c.tracked[h]
	} else {
		// The term's key slot (termkey.Cache.Hashed, just before) notes
		// whether it is tracked; Track and Untrack keep it told.
		var ok bool
		if st, ok = c.termKeys.Tracked(h); !ok {
			st = c.tracked[h]
			c.termKeys.SetTracked(h, st)
		}
	}
	if st == nil {
		st = c.maybeTrack(key, h, open, false)
		if st == nil {
			return true
		}
	}
	tb := st.Bucket(start, c.pool)
	if tb.Mentions == 0 && !tb.Early.Urgent {
		tb.Early.Urgent = c.looks.Jumped(st, st.At(start.Add(-c.cfg.Bucket)))
	}
	c.looks.Touch(st, tb, start)
	tb.Mentions++
	tb.Creators.Insert(creator)
	tb.Regions.Add(post.Region)
	tb.Langs.Add(post.Lang)
	if st.Kind == event.KindChallenge {
		for _, h := range post.Hashtags {
			tb.Members.AddCopy(h)
		}
	} else {
		tb.Members.AddCopy(member)
	}
	if len(tb.Samples) < c.cfg.Samples {
		tb.Samples = append(tb.Samples, post.ContentID)
	}
	return true
}

// alsoSpelled notes that a post counted into family fam already also
// carries its spelling v, when the family is tracked: a spelling tagged on
// every post beside others is the family as much as one used alone (spread).
func (c *Counter) alsoSpelled(fam uint64, start time.Time, v string) {
	st := c.tracked[fam]
	if st == nil {
		return
	}
	if tb := st.At(start); tb != nil {
		tb.Members.AddCopy(v)
	}
}

// Report counts report r against the terms of the post it reports (the
// join cache's) or the hashtags it carries.
func (c *Counter) Report(r *event.Report, hs *ingest.Hashes) {
	ts := r.TS.UTC()
	if c.late(c.window.ReportEvent(ts)) {
		return
	}
	start := ts.Truncate(c.cfg.Bucket)
	cached, known := c.join.GetHash(r.ContentID, hs.Content)
	if len(r.Hashtags) == 0 && !known {
		c.m.Unattributed.Inc()
	}
	keys := c.keys[:0]
	if len(r.Hashtags) > 0 {
		// The report's hashtags replace the content's, but not its sound or
		// challenge: a report on a post that uses a sound is a report about
		// that sound whatever the reporter tagged, and dropping them hid a
		// fifth of a sound's report wave (a bucket later in the median).
		for _, h := range r.Hashtags {
			key, _ := c.termKeys.Key(event.Term{Kind: event.KindHashtag, Value: h})
			keys = append(keys, key)
		}
		for _, k := range cached {
			if kind, _, _ := strings.Cut(k, ":"); kind != event.KindHashtag.String() {
				keys = append(keys, k)
			}
		}
	} else {
		keys = append(keys, cached...)
	}
	// The families of its hashtags are reported with them, each once. A
	// hashtag's family is its incident, which decides the shard that owns it
	// (Shard.Owns); famOf holds it for each of the report's own keys.
	fams, famOf := c.fams[:0], c.famOf[:0]
	for _, k := range keys {
		var fam uint64
		if v, ok := strings.CutPrefix(k, "hashtag:"); ok && c.families.On() && !family.ShortASCII(v) {
			var term string
			if term, fam = c.families.Term(sketches.Hash(k), v); fam != 0 && !slices.Contains(fams, fam) {
				fams = append(fams, fam)
				keys = append(keys, term)
			}
		}
		famOf = append(famOf, fam)
	}
	c.keys, c.fams, c.famOf = keys, fams, famOf
	reporter := hs.Actor
	// The decoder has checked the channel; an unknown one (a record built by
	// hand) counts as a user's.
	channel, _ := event.ParseChannel(r.Channel)
	trusted := c.det.HighTrustChannel(channel)
	open := c.window.Open(ts)
	for i, key := range keys {
		h := sketches.Hash(key)
		if c.late(c.window.Report(ts, key, h, 1)) {
			return
		}
		// The family terms appended after the report's own keys are their
		// own incidents.
		inc := h
		if i < len(famOf) && famOf[i] != 0 {
			inc = famOf[i]
		}
		if !c.cfg.Shard.Owns(inc) {
			continue
		}
		st := c.tracked[h]
		if st == nil {
			if strings.HasPrefix(key, family.Prefix) && !c.families.Tracks(h) {
				continue
			}
			if trusted {
				// One report from a high-trust channel pages (detectors.TrustedReport),
				// so its terms are tracked from it.
				st = c.TrackNow(key, h, open)
			} else {
				st = c.maybeTrack(key, h, open, true)
			}
			if st == nil {
				continue
			}
		}
		tb := st.Bucket(start, c.pool)
		if trusted {
			tb.Early.Urgent = true
		}
		c.looks.Touch(st, tb, start)
		tb.Reports++
		tb.ByChannel[channel]++
		tb.Reporters.Insert(reporter)
		tb.Reasons.Add(r.Reason)
	}
}

// maybeTrack starts tracking key when its count in the open bucket reaches the
// threshold, or on its first mention when it is on the watchlist. Its history
// comes retroactively from the sketch window.
func (c *Counter) maybeTrack(key string, h uint64, open *sketches.Bucket, isReport bool) *tracked.Term {
	if open == nil {
		return nil
	}
	full := len(c.tracked) >= c.cfg.MaxTracked
	var watch *detectors.WatchMatch
	if isReport {
		if open.Reports.Estimate(h) < c.cfg.TrackMinReports {
			return nil
		}
	} else if est := open.Mentions.Estimate(h); est < c.cfg.TrackMin {
		if full {
			return nil // nor would a watched term be tracked
		}
		// The watchlist is checked once per term and bucket (on its first
		// mention), not on every event.
		if est != 1 {
			return nil
		}
		// A term no entry names (another spelling of a watched hashtag, or
		// one a glob matches) is tracked at the bar, as any term: made-up
		// terms are free to post.
		if watch = c.det.Watch(key); watch == nil || !watch.Named() {
			return nil
		}
	}
	if full {
		c.refuse(open.Start)
		return nil
	}
	if watch == nil && !c.admit(open.Start, h) {
		return nil
	}
	return c.Track(key, h, watch, c.window.Closed())
}

// refuse counts a term at the tracking bar not tracked because the tracked
// terms are at pipeline.max_tracked, and says so once a bucket: until the
// bucket close lets the quietest go (detect.Judge.evict), new terms,
// a real surge's among them, are judged late.
func (c *Counter) refuse(start time.Time) {
	c.m.TrackRefused.Inc()
	if start.After(c.fullWarned) {
		c.fullWarned = start
		c.log.Warn("tracked terms at pipeline.max_tracked: terms at the tracking bar are not tracked until the bucket close lets the quietest go; a flood of made-up terms is the usual cause",
			"bucket", start, "tracked", len(c.tracked), "pipeline.max_tracked", c.cfg.MaxTracked)
	}
}

// admit passes a term at the tracking bar through the door: on its first
// sighting there it is only remembered.
func (c *Counter) admit(start time.Time, h uint64) bool {
	ok, evicted, full := c.door.Admit(start, h)
	if ok {
		return true
	}
	c.m.DoorHeld.Inc()
	if evicted {
		c.m.DoorLost.Inc()
		if full && start.After(c.doorWarned) {
			c.doorWarned = start
			c.log.Warn("tracking admission door full: terms at the tracking bar are forgotten before their second sighting, so real ones are tracked later; a flood of one-off terms is the usual cause",
				"bucket", start, "pipeline.admission_slots", c.cfg.AdmissionSlots)
		}
	}
	return false
}

// TrackNow starts tracking key whatever its counts, room permitting; open
// is its open window bucket.
func (c *Counter) TrackNow(key string, h uint64, open *sketches.Bucket) *tracked.Term {
	if open == nil {
		return nil
	}
	if len(c.tracked) >= c.cfg.MaxTracked+Reserve(c.cfg.MaxTracked) {
		c.refuse(open.Start)
		return nil
	}
	return c.Track(key, h, nil, c.window.Closed())
}

// Track starts following key in detail, with its history up to histEnd taken
// retroactively from the sketch window; watch is its watchlist entry, nil to
// look it up.
func (c *Counter) Track(key string, h uint64, watch *detectors.WatchMatch, histEnd time.Time) *tracked.Term {
	if watch == nil {
		watch = c.det.Watch(key)
	}
	st := tracked.NewTerm(key, termkey.Kind(key), h, c.cfg.History)
	st.Watch, st.Family = watch, c.Family(key)
	st.HistEnd, st.ExactFrom = histEnd, c.maxApplied.Truncate(c.cfg.Bucket).Add(c.cfg.Bucket)
	if !st.HistEnd.IsZero() {
		m, r := c.window.Series(h, st.HistEnd, c.cfg.History)
		for i := range m {
			st.PushHistory(m[i], r[i], 0)
		}
	}
	c.tracked[h] = st
	c.termKeys.SetTracked(h, st)
	return st
}

// Untrack lets go of the tracked term whose key hashes to h.
func (c *Counter) Untrack(h uint64) {
	delete(c.tracked, h)
	c.termKeys.SetTracked(h, nil)
}

// HashtagFamily returns the family hash of the hashtag value v whose term key
// (just made by the key cache) hashes to h, 0 for its own family, and reports
// whether this is a spelling the families' tables did not hold, or one of a
// family they let go while it was known under two (families.Table.Gone).
func (c *Counter) HashtagFamily(h uint64, v string) (fam uint64, spelling bool) {
	if fam, ok := c.termKeys.Family(h); ok {
		return fam, c.families.Gone(fam)
	}
	fam, spelling = c.families.Tag(h, v)
	c.termKeys.SetFamily(h, fam)
	return fam, spelling
}

// Family is the family column of key's rows.
func (c *Counter) Family(key string) string {
	switch termkey.Kind(key) {
	case event.KindHashtag:
		if !c.families.On() {
			return ""
		}
		// Once per tracked term: the key is made anew rather than looked up,
		// so that the row's family does not depend on what the tables hold.
		return family.OfTerm(key)
	case event.KindFamily:
		return key
	}
	return ""
}

// IncidentHash is the hash that shards term key (hash h): a hashtag's family
// term's, where families are on and the hashtag has a family of its own
// making (family.KeyOf), the term's own otherwise, a family term's included.
// The family tables give the same hash for a hashtag's family
// (families.Table.Tag hashes the same family term), which Content uses instead of
// making the key again.
func (c *Counter) IncidentHash(key string, h uint64) uint64 {
	if !c.families.On() {
		return h
	}
	v, ok := strings.CutPrefix(key, event.KindHashtag.String()+":")
	if !ok || family.ShortASCII(v) {
		return h
	}
	k, own := family.KeyOf(v)
	if own {
		return h
	}
	return sketches.Hash(family.Prefix + k)
}

// OwnsKey is Shard.Owns for term key (hash h) when its incident is not at hand.
func (c *Counter) OwnsKey(key string, h uint64) bool {
	return c.cfg.Shard.N <= 1 || c.cfg.Shard.Owns(c.IncidentHash(key, h))
}
