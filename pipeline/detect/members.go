package detect

import (
	"fmt"
	"strings"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/pipeline/tracked"
	"github.com/trendwatch/trendwatch/sketches"
)

// A family's and a challenge's members: which spellings make a family's
// bucket, and which hashtag a challenge's posts are.

// withMembers names, in the summary and explanation of a family's alert
// transitions, the spellings that made the bucket tb and the share of its
// posts each came on: the analyst sees at once that #bl4ckoutchallenge is a
// third of the surge. Spellings tagged together on posts add up to more than
// 100 %.
func withMembers(evs []alert.Event, tb *tracked.Bucket, top int) {
	sum, exp, ok := memberTexts(tb, top)
	if !ok {
		return
	}
	for i := range evs {
		addMembers(&evs[i].Alert, sum, exp)
	}
}

// describeMembers names a family's spellings in bucket tb on its
// transitions evs and on its open alerts as the lifecycle keeps them
// (detectors.Lifecycle.Amend), for their later transitions: a resolve or a
// retraction came from the lifecycle's own copy, which never named them.
func (j *Judge) describeMembers(evs []alert.Event, term string, tb *tracked.Bucket) {
	sum, exp, ok := memberTexts(tb, j.cfg.TopLabels)
	if !ok {
		return
	}
	for i := range evs {
		addMembers(&evs[i].Alert, sum, exp)
	}
	j.life.Amend(term, func(a *alert.Alert) { addMembers(a, sum, exp) })
}

// memberTexts are the spellings of tb, the most first, for a summary and
// for an explanation; ok is false when tb has none.
func memberTexts(tb *tracked.Bucket, top int) (sum, exp string, ok bool) {
	if tb == nil || len(tb.Members) == 0 {
		return "", "", false
	}
	members, total := tb.Members, tb.Mentions // each post once
	var s, e strings.Builder
	for i, m := range members.Top(top) {
		share := 100 * float64(m.N) / float64(total)
		if i > 0 {
			s.WriteString(", ")
			e.WriteByte(',')
		}
		fmt.Fprintf(&s, "#%s %.0f%%", m.Label, share)
		fmt.Fprintf(&e, "%s:%.0f%%", m.Label, share)
	}
	if len(members) > top {
		fmt.Fprintf(&s, " and %d more", len(members)-top)
	}
	return s.String(), e.String(), true
}

// addMembers puts the spellings on a, in place of any it named.
func addMembers(a *alert.Alert, sum, exp string) {
	if i := strings.Index(a.Summary, spellingsSep); i >= 0 {
		a.Summary = a.Summary[:i]
	}
	if i := strings.Index(a.Explanation, membersField); i >= 0 {
		rest := a.Explanation[i+len(membersField):]
		if j := strings.IndexByte(rest, ' '); j >= 0 {
			a.Explanation = a.Explanation[:i] + rest[j:]
		} else {
			a.Explanation = a.Explanation[:i]
		}
	}
	a.Summary += spellingsSep + sum
	a.Explanation += membersField + exp
}

// spellingsSep and membersField begin a family's spellings in a summary
// and in an explanation.
const (
	spellingsSep = "; spellings: "
	membersField = " members="
)

// maxMemberShare is the share of a family's posts above which one spelling
// is the family: the family is then not judged, because that hashtag's own
// alert already says everything, and a page for each would double every surge.
// A spelling tagged on every post beside others is the family as much as one
// used alone.
const maxMemberShare = 0.9

// sameAs is the hashtag term a challenge's bucket tb (of bucket b) is a copy
// of, "" when none: a hashtag on at least maxMemberShare of the challenge's
// posts whose own posts carry the challenge at least as often (its count in
// b's count-min, which never undercounts, is at most the shared posts over
// maxMemberShare). A platform names its challenge by an ID and people tag it
// with its hashtag, so one surge alerted as two incidents; the challenge's
// alerts now join the hashtag's incident (alert.SameAs). A hashtag also on
// other posts (#fyp on every challenge's) is not the challenge. The count-min
// is every process's, so a term shard decides as one process would.
func sameAs(st *tracked.Term, tb *tracked.Bucket, b *sketches.Bucket) string {
	if st.Kind != event.KindChallenge || tb == nil || tb.Mentions == 0 || len(tb.Members) == 0 {
		return ""
	}
	top := tb.Members.Top(1)[0]
	shared := float64(top.N)
	if shared < maxMemberShare*float64(tb.Mentions) {
		return ""
	}
	term := event.KindHashtag.String() + ":" + top.Label
	if shared < maxMemberShare*float64(b.Mentions.Estimate(sketches.Hash(term))) {
		return ""
	}
	return term
}

// withSameAs adds to the findings fs on challenge st, judged on its bucket tb
// of bucket b, the hashtag its posts are (sameAs). An alert's incident must
// not change while it is open (Alertmanager knows an alert by its labels,
// the incident among them), so a finding on an open alert says what the
// alert said when it opened, and only a new alert is decided on this bucket.
func (j *Judge) withSameAs(fs []detectors.Finding, st *tracked.Term, tb *tracked.Bucket, b *sketches.Bucket) {
	if st.Kind != event.KindChallenge || len(fs) == 0 {
		return
	}
	fresh, decided := "", false
	for i := range fs {
		f := &fs[i]
		term := ""
		if expl, open := j.life.OpenExplanation(f.Detector, st.Key); open {
			term = alert.Fields(expl)[alert.SameAs]
		} else {
			if !decided {
				fresh, decided = sameAs(st, tb, b), true
			}
			term = fresh
		}
		if term == "" {
			continue
		}
		f.Summary += "; the posts of #" + strings.TrimPrefix(term, event.KindHashtag.String()+":")
		f.Explanation += " " + alert.SameAs + "=" + term
	}
}

// spread reports whether a family's bucket came by several spellings, none of
// them on over maxMemberShare of its posts.
func spread(tb *tracked.Bucket) bool {
	if tb == nil || len(tb.Members) < 2 {
		return false
	}
	var top uint64
	for _, m := range tb.Members {
		top = max(top, m.N)
	}
	return float64(top) < maxMemberShare*float64(tb.Mentions)
}
