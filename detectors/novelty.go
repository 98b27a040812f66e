package detectors

import "math"

// Novelty finds a term with no meaningful history (its mean count per bucket
// before the growth is at most max_prior) that crosses min_count and has risen in
// each of the last growth_buckets buckets. It covers what Surge cannot judge: a
// term whose history is too short, or all zeros.
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
	if o.Mentions < d.cfg.MinCount {
		return Finding{}, false
	}
	h := tail(o.MentionHistory, a.mp.history)
	// Rising: each of the last growth_buckets counts above the one before it;
	// buckets before the history began count as zero.
	prev := o.Mentions
	for k := 1; k <= d.cfg.GrowthBuckets; k++ {
		before := 0.0
		if i := len(h) - k; i >= 0 {
			before = h[i]
		}
		if !(before < prev) {
			return Finding{}, false
		}
		prev = before
	}
	prior := 0.0
	if n := len(h) - d.cfg.GrowthBuckets; n > 0 {
		for _, v := range h[:n] {
			prior += v
		}
		prior /= float64(n)
	}
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
	x.str("detector", NameNovelty).num("strength", r).num("prior_mean", prior).int("rising_buckets", d.cfg.GrowthBuckets)
	x.test("", e).num("dispersion", a.m.disp).context(o)
	return Finding{
		Detector:    NameNovelty,
		Severity:    severityOf(NameNovelty, r, o.Watch),
		Score:       e.z,
		Observed:    o.Mentions,
		Expected:    mu,
		Growth:      e.growth,
		Summary:     summary("NEW", o, o.Mentions, mu, e.z, "", "rising "+fmtNum(float64(d.cfg.GrowthBuckets))+" buckets"),
		Explanation: x.String(),
	}, true
}
