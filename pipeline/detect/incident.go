package detect

import (
	"github.com/trendwatch/trendwatch/family"
	"github.com/trendwatch/trendwatch/pipeline/tracked"
)

// Incidents: a challenge's spellings (a hashtag's family) are one incident.
// They are owned by one term shard (count.Counter.IncidentHash), so that one
// process judges, writes and pages all of them, and a watched spelling judged
// while another spelling of its incident is alerting is told so
// (detectors.Observation.IncidentOpen).

// alertingTerm is a term with an alert open, and whether every alert open on
// it is early (still standing on a bucket not yet closed).
type alertingTerm struct {
	term  string
	early bool
}

// noteAlerting takes the incidents with an alert open from the lifecycle,
// once before a close or a round of early looks judges the terms: every term
// of the round is judged against the same state, whatever order it comes in.
func (j *Judge) noteAlerting() {
	clear(j.alerting)
	if !j.families.On() {
		return
	}
	for _, a := range j.life.Open() {
		inc := family.OfTerm(a.Term)
		if inc == "" {
			continue
		}
		ts := j.alerting[inc]
		i := -1
		for j := range ts {
			if ts[j].term == a.Term {
				i = j
				break
			}
		}
		if i < 0 {
			j.alerting[inc] = append(ts, alertingTerm{a.Term, a.Early})
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
func (j *Judge) incidentOpen(st *tracked.Term) bool {
	if st.Watch == nil || st.Family == "" {
		return false
	}
	joins := false
	for _, a := range j.alerting[st.Family] {
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
