package detectors

import (
	"math"
	"strconv"
)

// Coordination finds a surge carried by few accounts: the term's mentions surge
// (min_z, min_growth, min_mentions) while its mentions per unique creator are
// both at least min_ratio and norm_factor times the platform's norm and the
// term's own. Unique creators of a term that began being tracked mid-bucket are
// an undercount, so such a bucket (Observation.PartialCreators) is not judged.
type Coordination struct {
	cfg CoordinationConfig
	mp  mentionParams
}

func newCoordination(c Config) *Coordination {
	return &Coordination{cfg: c.Coordination, mp: newMentionParams(c)}
}

func (d *Coordination) Name() string { return NameCoordination }

func (d *Coordination) Detect(o *Observation) (Finding, bool) {
	return d.judge(&analysis{o: o, mp: &d.mp})
}

// concentration returns mentions per unique creator in the bucket and the least
// ratio that would be a coordinated push, given the platform's and the term's norms.
func (c *CoordinationConfig) concentration(o *Observation, window int) (ratio, norm, need float64) {
	ratio = o.Mentions / math.Max(float64(o.UniqueCreators), 1)
	platform := math.Max(o.Platform.MentionsPerCreator, 1)
	norm = math.Max(platform, termCreatorNorm(o, window, platform))
	return ratio, norm, math.Max(c.MinRatio, c.NormFactor*norm)
}

// normPseudoCreators is how many creators' worth of the platform's norm a
// term's own norm is shrunk towards.
const normPseudoCreators = 30

// termCreatorNorm is the term's usual mentions per creator: total mentions over
// total creators in its history before the short window, so that the first
// buckets of a push do not become its norm, shrunk towards the platform's norm so
// that a term with little history is judged by the platform's.
func termCreatorNorm(o *Observation, window int, platform float64) float64 {
	ch, mh := o.CreatorHistory, o.MentionHistory
	n := min(len(ch), len(mh))
	ch, mh = ch[len(ch)-n:], mh[len(mh)-n:]
	end := max(0, n-(window-1))
	m, c := normPseudoCreators*platform, float64(normPseudoCreators)
	for i := range end {
		if ch[i] > 0 {
			m += mh[i]
			c += ch[i]
		}
	}
	return m / c
}

func (d *Coordination) judge(a *analysis) (Finding, bool) {
	o := a.o
	if o.PartialCreators || o.Mentions < d.cfg.MinMentions || o.UniqueCreators == 0 {
		return Finding{}, false
	}
	ratio, norm, need := d.cfg.concentration(o, a.mp.window)
	if ratio < need {
		return Finding{}, false
	}
	r, e := a.mentionStrength(d.cfg.MinZ, d.cfg.MinGrowth, d.cfg.MinMentions, false)
	r = math.Min(r, ratio/need)
	if r < 1 {
		return Finding{}, false
	}
	f := mentionFinding(NameCoordination, "COORDINATED", a, r, e,
		fmtNum(ratio)+" mentions per creator vs "+fmtNum(norm)+" norm")
	f.Explanation += " mentions_per_creator_norm=" + fmtNum(norm) + " mentions_per_creator_needed=" + fmtNum(need)
	return f, true
}

// Spreading finds the opposite of a push: a surge (at the surge detector's
// thresholds) carried by at least min_creators creators in at least min_regions
// regions, each region holding at least min_region_share of the bucket's
// mentions. It needs Observation.Regions to list at least min_regions regions
// when there are that many.
type Spreading struct {
	cfg   SpreadingConfig
	coor  CoordinationConfig
	surge SurgeConfig
	mp    mentionParams
}

func newSpreading(c Config) *Spreading {
	return &Spreading{cfg: c.Coordination.Spreading, coor: c.Coordination, surge: c.Surge, mp: newMentionParams(c)}
}

func (d *Spreading) Name() string { return NameSpreading }

func (d *Spreading) Detect(o *Observation) (Finding, bool) {
	return d.judge(&analysis{o: o, mp: &d.mp})
}

func (d *Spreading) judge(a *analysis) (Finding, bool) {
	o := a.o
	if o.Mentions < d.surge.MinSupport || o.UniqueCreators < d.cfg.MinCreators || len(o.Regions) < d.cfg.MinRegions {
		return Finding{}, false
	}
	if ratio, _, need := d.coor.concentration(o, a.mp.window); ratio >= need {
		return Finding{}, false // coordination's business
	}
	regions := 0
	for _, r := range o.Regions {
		if float64(r.N) >= d.cfg.MinRegionShare*o.Mentions {
			regions++
		}
	}
	if regions < d.cfg.MinRegions {
		return Finding{}, false
	}
	r, e := a.mentionStrength(a.mp.pageZ(o.Width), d.surge.MinGrowth, d.surge.MinSupport, false)
	if r < 1 {
		return Finding{}, false
	}
	f := mentionFinding(NameSpreading, "SPREADING", a, r, e, strconv.Itoa(regions)+" regions")
	f.Explanation += " regions_over_share=" + strconv.Itoa(regions)
	return f, true
}
