package detectors

import (
	"math"
	"strconv"
)

// Novelty finds a term with no meaningful history (its mean count per bucket
// before the growth is at most max_prior) that crosses min_count and has risen in
// each of the last growth_buckets buckets. It covers what Surge cannot judge well:
// a term whose history is all zeros.
type Novelty struct {
	cfg NoveltyConfig
	mp  mentionParams
}

func newNovelty(c Config) *Novelty { return &Novelty{cfg: c.Novelty, mp: newMentionParams(c)} }

func (d *Novelty) Name() string { return NameNovelty }

func (d *Novelty) Detect(o *Observation) (Finding, bool) {
	return d.judge(&analysis{o: o, mp: &d.mp})
}

func (d *Novelty) judge(a *analysis) (Finding, bool) {
	o := a.o
	h := tail(o.MentionHistory, a.mp.history)
	if o.Mentions < d.cfg.MinCount || len(h) < d.cfg.MinHistory || tooFewCreators(o, d.cfg.MinCreators) {
		return Finding{}, false
	}
	// Rising: each of the last growth_buckets counts above the one before it.
	prev := o.Mentions
	for k := 1; k <= d.cfg.GrowthBuckets; k++ {
		before := h[len(h)-k]
		if !(before < prev) {
			return Finding{}, false
		}
		prev = before
	}
	n := len(h) - d.cfg.GrowthBuckets
	prior := 0.0
	for _, v := range h[:n] {
		prior += v
	}
	prior /= float64(n)
	if prior > d.cfg.MaxPrior {
		return Finding{}, false
	}
	a.mentions()
	mu := math.Max(prior, a.mp.base.MinExpected)
	e := newEvidence(o.Mentions, mu, a.m.disp, 1)
	r := math.Min(e.z/d.cfg.MinZ, o.Mentions/d.cfg.MinCount)
	if r < 1 {
		return Finding{}, false
	}
	var x explanation
	x.str("detector", NameNovelty).num("strength", r).num("prior_mean", prior).count("rising_buckets", d.cfg.GrowthBuckets)
	x.test("", e).num("dispersion", a.m.disp).context(o)
	return Finding{
		Detector:    NameNovelty,
		Severity:    severityOf(NameNovelty, r, o.Watch),
		Score:       e.z,
		Observed:    o.Mentions,
		Expected:    mu,
		Growth:      e.growth,
		Summary:     summary("NEW", o, o.Mentions, mu, e.z, "", "rising "+strconv.Itoa(d.cfg.GrowthBuckets)+" buckets"),
		Explanation: x.String(),
	}, true
}
