package pipeline

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/family"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline/tracked"
	"github.com/trendwatch/trendwatch/sketches"
)

// Counting: what each event adds to the sketches, the tracked terms and
// their open buckets, and when a term starts being tracked.

func (e *Engine) late(err error) bool {
	if errors.Is(err, sketches.ErrLate) || errors.Is(err, sketches.ErrTooEarly) {
		e.m.late.Inc()
		return true
	}
	return false
}

func (e *Engine) content(c *event.Content, hs *ingest.Hashes) {
	ts := c.TS.UTC()
	if e.late(e.window.Event(ts)) {
		return
	}
	start := ts.Truncate(e.bucket)
	if e.first.IsZero() || start.Before(e.first) {
		e.first = start
	}
	creator := hs.Actor
	e.platform.Creators(start).InsertHash(creator)

	e.terms = c.Terms(e.terms[:0])
	keys := e.keys[:0]
	hashes := e.hashes[:0]
	famOf, spellings := e.famOf[:0], e.spellings[:0]
	open := e.window.Open(ts)
	for i, t := range e.terms {
		var key string
		var h uint64
		if i < int(hs.NTerms) {
			h = hs.Terms[i]
			key = e.termKeys.Hashed(t, h)
		} else {
			key, h = e.termKeys.Key(t)
		}
		keys = append(keys, key)
		hashes = append(hashes, h)
		// A hashtag's family is its incident, which decides the shard that
		// owns it (incidentHash).
		var fam uint64
		var spelling bool
		if e.families.On() && t.Kind == event.KindHashtag && !shortASCII(t.Value) {
			fam, spelling = e.hashtagFamily(h, t.Value)
		}
		famOf, spellings = append(famOf, fam), append(spellings, spelling)
		inc := h
		if fam != 0 {
			inc = fam
		}
		if !e.mention(c, ts, start, creator, open, key, h, inc, false, "") {
			e.famOf, e.spellings = famOf, spellings
			return
		}
	}
	e.hashes, e.famOf, e.spellings = hashes, famOf, spellings
	// Each hashtag also counts into its family, once per post however many of
	// the family's spellings the post carries. The join cache keeps only the
	// post's own terms: a report finds the families again from them.
	fams := e.fams[:0]
	for i, t := range e.terms {
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
				e.families.Spelled(fam, hashes[i], t.Value, true)
			}
			e.alsoSpelled(fam, start, t.Value)
			continue
		}
		fams = append(fams, fam)
		term := e.families.Spelled(fam, hashes[i], t.Value, spelling)
		if !e.mention(c, ts, start, creator, open, term, fam, fam, true, t.Value) {
			break
		}
	}
	e.fams, e.keys = fams, keys
	if n := e.join.PutHash(c.ContentID, hs.Content, keys); n > 0 {
		e.m.joinEvicted.Add(float64(n))
		if start.After(e.joinWarned) {
			// Said once a bucket, as event time moves on: in a flood it is
			// every post, and a backlog interleaves buckets.
			e.joinWarned = start
			e.log.Warn("content→terms cache at pipeline.join_cache_bytes: the oldest content is forgotten before pipeline.join_cache entries, and reports on it count only through their own hashtags; a flood of posts with many one-off terms is the usual cause",
				"bucket", start, "entries", e.join.Len(), "pipeline.join_cache_bytes", e.cfg.JoinCacheBytes)
		}
	}
}

// mention counts one mention of key (hash h, incident hash inc) by content
// c; a family's (derived) is counted in the count-min only unless key, its
// term, is set because it may be tracked, and member is the spelling that
// brought it. It reports false when the event is too late.
func (e *Engine) mention(c *event.Content, ts, start time.Time, creator uint64, open *sketches.Bucket, key string, h, inc uint64, derived bool, member string) bool {
	if !derived {
		if e.late(e.window.Mention(ts, key, h, 1)) {
			return false
		}
	} else {
		if e.late(e.window.MentionDerived(ts, h, 1)) {
			return false
		}
		e.platform.FamilyMention(start)
		if key == "" {
			return true
		}
	}
	if !e.owns(inc) {
		return true
	}
	st := e.tracked[h]
	if st == nil {
		st = e.maybeTrack(key, h, open, false)
		if st == nil {
			return true
		}
	}
	tb := st.Bucket(start, &e.buckets)
	e.looks.Touch(st, tb, start)
	tb.Mentions++
	tb.Creators.Insert(creator)
	tb.Regions.Add(c.Region)
	tb.Langs.Add(c.Lang)
	if st.Kind == event.KindChallenge {
		for _, h := range c.Hashtags {
			tb.Members.Add(h)
		}
	} else {
		tb.Members.Add(member)
	}
	if len(tb.Samples) < e.cfg.Samples {
		tb.Samples = append(tb.Samples, c.ContentID)
	}
	return true
}

// alsoSpelled notes that a post counted into family fam already also
// carries its spelling v, when the family is tracked: a spelling tagged on
// every post beside others is the family as much as one used alone (spread).
func (e *Engine) alsoSpelled(fam uint64, start time.Time, v string) {
	st := e.tracked[fam]
	if st == nil {
		return
	}
	if tb := st.Open[start]; tb != nil {
		tb.Members.Add(v)
	}
}

func (e *Engine) report(r *event.Report, hs *ingest.Hashes) {
	ts := r.TS.UTC()
	if e.late(e.window.ReportEvent(ts)) {
		return
	}
	start := ts.Truncate(e.bucket)
	cached, known := e.join.GetHash(r.ContentID, hs.Content)
	if len(r.Hashtags) == 0 && !known {
		e.m.unattrib.Inc()
	}
	keys := e.keys[:0]
	if len(r.Hashtags) > 0 {
		// The report's hashtags replace the content's, but not its sound or
		// challenge: a report on a post that uses a sound is a report about
		// that sound whatever the reporter tagged, and dropping them hid a
		// fifth of a sound's report wave (a bucket later in the median).
		for _, h := range r.Hashtags {
			key, _ := e.termKeys.Key(event.Term{Kind: event.KindHashtag, Value: h})
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
	// (incidentHash); famOf holds it for each of the report's own keys.
	fams, famOf := e.fams[:0], e.famOf[:0]
	for _, k := range keys {
		var fam uint64
		if v, ok := strings.CutPrefix(k, "hashtag:"); ok && e.families.On() && !shortASCII(v) {
			var term string
			if term, fam = e.families.Term(sketches.Hash(k), v); fam != 0 && !slices.Contains(fams, fam) {
				fams = append(fams, fam)
				keys = append(keys, term)
			}
		}
		famOf = append(famOf, fam)
	}
	e.keys, e.fams, e.famOf = keys, fams, famOf
	reporter := hs.Actor
	// The decoder has checked the channel; an unknown one (a record built by
	// hand) counts as a user's.
	channel, _ := event.ParseChannel(r.Channel)
	trusted := e.set.HighTrustChannel(channel)
	open := e.window.Open(ts)
	for i, key := range keys {
		h := sketches.Hash(key)
		if e.late(e.window.Report(ts, key, h, 1)) {
			return
		}
		// The family terms appended after the report's own keys are their
		// own incidents.
		inc := h
		if i < len(famOf) && famOf[i] != 0 {
			inc = famOf[i]
		}
		if !e.owns(inc) {
			continue
		}
		st := e.tracked[h]
		if st == nil {
			if strings.HasPrefix(key, family.Prefix) && !e.families.Tracks(h) {
				continue
			}
			if trusted {
				// One report from a high-trust channel pages (detectors.TrustedReport),
				// so its terms are tracked from it.
				st = e.trackNow(key, h, open)
			} else {
				st = e.maybeTrack(key, h, open, true)
			}
			if st == nil {
				continue
			}
		}
		tb := st.Bucket(start, &e.buckets)
		e.looks.Touch(st, tb, start)
		tb.Reports++
		tb.ByChannel[channel]++
		tb.Reporters.Insert(reporter)
		tb.Reasons.Add(r.Reason)
	}
}

// maybeTrack starts tracking key when its count in the open bucket reaches the
// threshold, or on its first mention when it is on the watchlist. Its history
// comes retroactively from the sketch window.
func (e *Engine) maybeTrack(key string, h uint64, open *sketches.Bucket, isReport bool) *tracked.Term {
	if len(e.tracked) >= e.cfg.MaxTracked || open == nil {
		return nil
	}
	var watch *detectors.WatchMatch
	if isReport {
		if open.Reports.Estimate(h) < e.cfg.TrackMinReports {
			return nil
		}
	} else if est := open.Mentions.Estimate(h); est < e.cfg.TrackMin {
		// The watchlist is checked once per term and bucket (on its first
		// mention), not on every event.
		if est != 1 {
			return nil
		}
		// A term no entry names (another spelling of a watched hashtag, or
		// one a glob matches) is tracked at the bar, as any term: made-up
		// terms are free to post.
		if watch = e.set.Watch(key); watch == nil || !watch.Named() {
			return nil
		}
	}
	if watch == nil && !e.admit(open.Start, h) {
		return nil
	}
	return e.track(key, h, watch, e.window.Closed())
}

// admit passes a term at the tracking bar through the door: on its first
// sighting there it is only remembered.
func (e *Engine) admit(start time.Time, h uint64) bool {
	ok, evicted, full := e.door.Admit(start, h)
	if ok {
		return true
	}
	e.m.doorHeld.Inc()
	if evicted {
		e.m.doorLost.Inc()
		if full && start.After(e.doorWarned) {
			e.doorWarned = start
			e.log.Warn("tracking admission door full: terms at the tracking bar are forgotten before their second sighting, so real ones are tracked later; a flood of one-off terms is the usual cause",
				"bucket", start, "pipeline.admission_slots", e.cfg.AdmissionSlots)
		}
	}
	return false
}

// trackNow starts tracking key whatever its counts, room permitting.
func (e *Engine) trackNow(key string, h uint64, open *sketches.Bucket) *tracked.Term {
	if len(e.tracked) >= e.cfg.MaxTracked || open == nil {
		return nil
	}
	return e.track(key, h, nil, e.window.Closed())
}

// track starts following key in detail, with its history up to histEnd taken
// retroactively from the sketch window.
func (e *Engine) track(key string, h uint64, watch *detectors.WatchMatch, histEnd time.Time) *tracked.Term {
	if watch == nil {
		watch = e.set.Watch(key)
	}
	st := tracked.NewTerm(key, kindOf(key), h, e.cfg.History)
	st.Watch, st.Family = watch, e.termFamily(key)
	st.HistEnd, st.ExactFrom = histEnd, e.maxApplied.Truncate(e.bucket).Add(e.bucket)
	if !st.HistEnd.IsZero() {
		m, r := e.window.Series(h, st.HistEnd, e.cfg.History)
		for i := range m {
			st.PushHistory(m[i], r[i], 0)
		}
	}
	e.tracked[h] = st
	return st
}
