package pipeline

import (
	"strings"

	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/family"
	"github.com/trendwatch/trendwatch/pipeline/tracked"
	"github.com/trendwatch/trendwatch/sketches"
)

// Incidents: a challenge's spellings (a hashtag's family) are one incident.
// They are owned by one term shard, so that one process judges, writes and
// pages all of them, and a watched spelling judged while another spelling of
// its incident is alerting is told so (detectors.Observation.IncidentOpen).

// incidentHash is the hash that shards term key (hash h): a hashtag's family
// term's, where families are on and the hashtag has a family of its own
// making (family.KeyOf), the term's own otherwise, a family term's included.
// The engine's family tables give the same hash for a hashtag's family
// (families.Table.Tag hashes the same family term), which content uses instead of
// making the key again.
func (e *Engine) incidentHash(key string, h uint64) uint64 {
	if !e.families.On() {
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

// ownsKey is owns for term key (hash h) when its incident is not at hand.
func (e *Engine) ownsKey(key string, h uint64) bool {
	return e.cfg.Shards <= 1 || e.owns(e.incidentHash(key, h))
}

// alertingTerm is a term with an alert open, and whether every alert open on
// it is early (still standing on a bucket not yet closed).
type alertingTerm struct {
	term  string
	early bool
}

// noteAlerting takes the incidents with an alert open from the lifecycle,
// once before a close or a round of early looks judges the terms: every term
// of the round is judged against the same state, whatever order it comes in.
func (e *Engine) noteAlerting() {
	clear(e.alerting)
	if !e.families.On() {
		return
	}
	for _, a := range e.life.Open() {
		inc := family.OfTerm(a.Term)
		if inc == "" {
			continue
		}
		ts := e.alerting[inc]
		i := -1
		for j := range ts {
			if ts[j].term == a.Term {
				i = j
				break
			}
		}
		if i < 0 {
			e.alerting[inc] = append(ts, alertingTerm{a.Term, a.Early})
			continue
		}
		ts[i].early = ts[i].early && a.Early
	}
}

// incidentOpen reports whether watched term st is judged as a spelling
// joining an incident already alerting: another term of its incident has an
// alert open, and st has none but early ones (which this rule may have
// opened, and the bucket's final judgement must confirm on the same terms).
// A term with an alert of its own is held to the page bar, or two spellings
// at the lower one would keep each other open.
func (e *Engine) incidentOpen(st *tracked.Term) bool {
	if st.Watch == nil || st.Family == "" {
		return false
	}
	joins := false
	for _, a := range e.alerting[st.Family] {
		if a.term == st.Key {
			if !a.early {
				return false
			}
			continue
		}
		joins = true
	}
	return joins
}
