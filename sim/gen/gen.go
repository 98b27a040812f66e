// Package gen generates realistic synthetic content and report traffic for
// trendwatch, with anomalies injected at known places and the ground truth about
// them (labels) known before the first event.
//
// Background traffic: hashtags drawn Zipf (s=1.1) from a vocabulary in English,
// Hindi, Nepali and Bhojpuri (Devanagari), Indonesian, Spanish, Portuguese and
// Tagalog, posted from eight regions in languages consistent with the region, each
// region following its own local diurnal rhythm; sounds and challenges Zipf too;
// reports at a low base rate against recent posts. Some hashtags arrive in
// un-normalised spellings (#FYP, ＃ＦＹＰ, Devanagari with a ZWJ) that the
// pipeline's normaliser must fold into the term the labels name.
//
// Injected scenarios: an organic challenge surge, a dangerous challenge surge with
// rising reports, a coordinated push by a few accounts, a report wave on one sound,
// and a slow trend and a daily peak that must not alert.
//
// Ordering: messages come in non-decreasing Message.TS, the time the platform
// emitted them. The event time inside a message (its "ts") equals Message.TS,
// except for about 3% of content events that arrive late: their ts lies up to 30 s
// before Message.TS, so a consumer sees what real traffic shows it.
package gen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/trendwatch/trendwatch/sim/dist"
)

// Topic says which stream a message belongs to.
type Topic uint8

const (
	Content Topic = iota + 1 // content events, keyed by content_id
	Report                   // report events, keyed by the reported content_id
)

// String returns the Kafka topic the event contract names for t.
func (t Topic) String() string {
	switch t {
	case Content:
		return "content-events"
	case Report:
		return "report-events"
	}
	return fmt.Sprintf("topic(%d)", uint8(t))
}

// Message is one event as it goes to Kafka. Key and Value belong to the Generator
// and are valid until the next call of Next; copy them to keep them.
type Message struct {
	Topic Topic
	Key   []byte
	Value []byte
	TS    time.Time // when the platform emitted the event
}

// Background traffic shape.
const (
	maxTags        = 5
	enBorrow       = 0.30 // share of a non-English post's hashtags taken from English
	soundShare     = 0.60 // posts with a sound
	challengeShare = 0.03 // posts joining a background challenge
	textShare      = 0.15 // posts with a caption
	lateShare      = 0.03 // content events that arrive late
	maxLateMs      = 30_000
	reportTagShare = 0.20 // reports that carry the content's hashtags
	reporterPool   = 20   // reporters per creator
)

// tagsCum is the cumulative distribution of 1…5 hashtags per post.
var tagsCum = [maxTags]float64{0.20, 0.45, 0.70, 0.88, math.Inf(1)}

// Report reasons and their base shares.
var reasons = [...]string{"spam", "harassment", "misinformation", "nudity", "dangerous_acts", "self_harm"}

const (
	reasonSpam = iota
	reasonHarassment
	reasonMisinformation
	reasonNudity
	reasonDangerous
	reasonSelfHarm
)

var baseReasonCum = [len(reasons)]float64{0.40, 0.60, 0.75, 0.87, 0.95, math.Inf(1)}

// tagRef names a hashtag without holding its bytes: a background rank in a
// language, or a scenario hashtag (src >= numLangs), and the spelling to type.
type tagRef struct {
	src     uint8
	variant uint8
	rank    uint32
}

const srcScenario = numLangs

// Text kinds.
const (
	textNone uint8 = iota
	textCaption
	textCopypasta
)

// Challenge and sound fields of a pending post.
const (
	none             = -1
	organicChallenge = -2
)

// pending is an event decided but not yet rendered. Every random choice is made
// when it is created, so rendering is a pure function of it.
type pending struct {
	at, ts    int64 // emission and event time, unix ns
	content   uint64
	actor     uint32 // creator, or reporter
	textSeed  uint32
	sound     int32
	challenge int32
	topic     Topic
	region    uint8
	lang      uint8
	reason    uint8
	text      uint8
	ntags     uint8
	tags      [maxTags]tagRef
}

// recentPost is what a later report needs of a post.
type recentPost struct {
	content uint64
	region  uint8
	ntags   uint8
	tags    [maxTags]tagRef
}

// ring holds the most recent posts, for reports to reference.
type ring struct {
	buf []recentPost
	n   uint64
}

func newRing(size int) *ring {
	size = 1 << bitsFor(size)
	return &ring{buf: make([]recentPost, size)}
}

func bitsFor(n int) int {
	b := 0
	for 1<<b < n {
		b++
	}
	return b
}

func (r *ring) push(p *pending) {
	e := &r.buf[r.n&uint64(len(r.buf)-1)]
	e.content, e.region, e.ntags = p.content, p.region, p.ntags
	for i := range p.tags[:p.ntags] {
		e.tags[i] = tagRef{src: p.tags[i].src, rank: p.tags[i].rank}
	}
	r.n++
}

func (r *ring) pick(rng *rand.Rand) (*recentPost, bool) {
	if r.n == 0 {
		return nil, false
	}
	k := min(r.n, uint64(len(r.buf)))
	return &r.buf[(r.n-1-rng.Uint64N(k))&uint64(len(r.buf)-1)], true
}

// Generator produces one run of traffic. It is not safe for concurrent use.
type Generator struct {
	cfg              Config
	start, end, w0   int64 // run start, run end, end of warmup: unix ns
	scale            float64
	r                *rand.Rand
	vocab            [numLangs]vocab
	sounds           *rand.Zipf
	challenges       *rand.Zipf
	regionCreators   [numRegions]*rand.Zipf
	creatorBase      [numRegions + 1]uint32
	staticRegionCum  [numRegions]float64
	regionCum        [numRegions]float64 // this tick's, with the diurnal rhythm
	bgRate           float64             // background posts per second this tick
	stags            []stag
	scen             []*scenario
	labels           []Label
	uniqueStride     uint64 // organic surge: every post a different creator
	uniqueNext       uint64
	pushAccounts     [pushAccounts]uint32
	waveSound        int32
	waveRing         *ring
	organicChallenge string
	recent           *ring

	tick  int64 // start of the next tick to fill
	pend  []pending
	order []uint64 // emission offset (ms) << 32 | index into pend
	pos   int

	contentSeq, eventSeq  uint64
	eventKey, contentKey  uint64
	buf, tagBuf, spellBuf []byte
	textBuf               []byte
	nContent, nReports    int64
}

// New builds a generator, its scenarios and their labels.
func New(cfg Config) (*Generator, error) {
	if cfg.Start.IsZero() && cfg.Duration > 0 {
		cfg.Start = time.Now().UTC().Truncate(time.Minute).Add(-cfg.Duration.Truncate(time.Minute))
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("gen config: %w", err)
	}
	cfg.Start = cfg.Start.UTC()
	g := &Generator{
		cfg:        cfg,
		start:      cfg.Start.UnixNano(),
		end:        cfg.Start.Add(cfg.Duration).UnixNano(),
		scale:      max(1, cfg.Rate/referenceRate),
		r:          rand.New(rand.NewPCG(uint64(cfg.Seed), 0x7472656e64776174)),
		eventKey:   mix64(uint64(cfg.Seed) ^ 0x6576656e74),
		contentKey: mix64(uint64(cfg.Seed) ^ 0x636f6e74656e74),
		waveSound:  none,
	}
	g.tick = g.start

	sizes := splitVocabulary(cfg.Vocabulary)
	for l := range g.vocab {
		g.vocab[l] = vocab{words: languages[l].words, zipf: rand.NewZipf(g.r, zipfExponent, 1, uint64(sizes[l]-1))}
	}
	nSounds := uint64(max(100, cfg.Vocabulary/10))
	g.sounds = rand.NewZipf(g.r, zipfExponent, 1, nSounds-1)
	g.challenges = rand.NewZipf(g.r, zipfExponent, 1, uint64(max(50, cfg.Vocabulary/200))-1)

	// Creators are split into region pools, so a creator always posts from one
	// region; within a pool a few creators post much more than most.
	weights := 0.0
	for _, reg := range regions {
		weights += reg.weight
	}
	acc := 0.0
	for i, reg := range regions {
		acc += reg.weight / weights
		g.creatorBase[i+1] = uint32(math.Round(float64(cfg.Creators) * acc))
		g.staticRegionCum[i] = acc
	}
	g.creatorBase[numRegions] = uint32(cfg.Creators)
	for i := range regions {
		n := uint64(g.creatorBase[i+1] - g.creatorBase[i])
		g.regionCreators[i] = rand.NewZipf(g.r, zipfExponent, max(1, float64(n)/100), n-1)
	}
	g.staticRegionCum[numRegions-1] = math.Inf(1)
	ringSize := int(min(1<<17, max(4096, cfg.Rate*120)))
	g.recent = newRing(ringSize)

	if err := g.setupScenarios(nSounds); err != nil {
		return nil, err
	}
	return g, nil
}

// Labels returns the ground truth about the injected scenarios.
func (g *Generator) Labels() []Label {
	out := make([]Label, len(g.labels))
	for i, l := range g.labels {
		l.Detectors = slices.Clone(l.Detectors)
		out[i] = l
	}
	return out
}

// Start returns the event time of the run's start (resolved when Config.Start was
// zero).
func (g *Generator) Start() time.Time { return time.Unix(0, g.start).UTC() }

// Next returns the next message, or false when the run's Duration is covered.
func (g *Generator) Next() (Message, bool) {
	if !g.ready() {
		return Message{}, false
	}
	p := &g.pend[uint32(g.order[g.pos])]
	g.pos++
	if p.topic == Content {
		g.nContent++
		return g.renderContent(p), true
	}
	g.nReports++
	return g.renderReport(p), true
}

// ready fills ticks until a message is pending; false at the end of the run.
func (g *Generator) ready() bool {
	for g.pos == len(g.order) {
		if g.tick >= g.end {
			return false
		}
		g.fill()
	}
	return true
}

// peek returns the emission time of the next message.
func (g *Generator) peek() (int64, bool) {
	if !g.ready() {
		return 0, false
	}
	return g.pend[uint32(g.order[g.pos])].at, true
}

// tick is one second of event time: rates are taken at its middle and events
// spread uniformly over it, at millisecond resolution.
const tickNs = int64(time.Second)

func (g *Generator) fill() {
	t0 := g.tick
	t1 := min(t0+tickNs, g.end)
	g.tick = t1
	g.pend, g.order, g.pos = g.pend[:0], g.order[:0], 0
	spanMs := (t1 - t0) / 1e6
	if spanMs <= 0 {
		return
	}
	dt := float64(t1-t0) / 1e9
	mid := t0 + (t1-t0)/2
	g.platform(mid)
	posts := g.bgRate
	for _, s := range g.scen {
		g.rates(s, mid)
		posts += s.posts
	}

	// Reports first: they may only reference posts of earlier ticks, which were
	// all emitted before this tick starts.
	for range int(dist.Poisson(g.r, g.cfg.ReportRate*posts*dt)) {
		if e, ok := g.recent.pick(g.r); ok {
			g.addReport(t0, spanMs, e, uint8(pickCum(baseReasonCum[:], g.r.Float64())))
		}
	}
	for _, s := range g.scen {
		if s.reports <= 0 || s.ring == nil {
			continue
		}
		for range int(dist.Poisson(g.r, s.reports*dt)) {
			if e, ok := s.ring.pick(g.r); ok {
				g.addReport(t0, spanMs, e, g.scenarioReason(s))
			}
		}
	}
	for range int(dist.Poisson(g.r, g.bgRate*dt)) {
		g.addBackground(t0, spanMs)
	}
	for _, s := range g.scen {
		if s.posts <= 0 {
			continue
		}
		for range int(dist.Poisson(g.r, s.posts*dt)) {
			g.addScenarioPost(s, t0, spanMs)
		}
	}
	slices.Sort(g.order)
}

// platform sets this tick's background rate and region mix: each region follows
// its own local diurnal rhythm.
func (g *Generator) platform(t int64) {
	acc := 0.0
	for i, reg := range regions {
		acc += reg.weight * diurnal(localHour(t, reg.utcOffset))
		g.regionCum[i] = acc
	}
	g.bgRate = g.cfg.Rate * acc
	for i := range g.regionCum {
		g.regionCum[i] /= acc
	}
	g.regionCum[numRegions-1] = math.Inf(1)
}

func pickCum(cum []float64, u float64) int {
	for i, c := range cum {
		if u < c {
			return i
		}
	}
	return len(cum) - 1
}

func (g *Generator) newPending(t0, spanMs int64, topic Topic) *pending {
	off := g.r.Int64N(spanMs)
	g.order = append(g.order, uint64(off)<<32|uint64(len(g.pend)))
	g.pend = append(g.pend, pending{})
	p := &g.pend[len(g.pend)-1]
	p.at = t0 + off*1e6
	p.ts = p.at
	p.topic = topic
	p.sound, p.challenge = none, none
	return p
}

func (g *Generator) addReport(t0, spanMs int64, e *recentPost, reason uint8) {
	p := g.newPending(t0, spanMs, Report)
	p.content = e.content
	p.region = e.region
	p.reason = reason
	p.actor = uint32(g.r.Uint64N(uint64(g.cfg.Creators) * reporterPool))
	if g.r.Float64() < reportTagShare {
		p.ntags = e.ntags
		p.tags = e.tags
	}
}

func (g *Generator) scenarioReason(s *scenario) uint8 {
	u := g.r.Float64()
	if s.name == DangerousSurge {
		switch {
		case u < 0.85:
			return reasonDangerous
		case u < 0.95:
			return reasonSelfHarm
		}
		return reasonSpam
	}
	switch {
	case u < 0.85:
		return reasonHarassment
	case u < 0.95:
		return reasonSpam
	}
	return reasonMisinformation
}

// newPost starts a content event by a creator of region reg.
func (g *Generator) newPost(t0, spanMs int64, reg int, creator uint32) *pending {
	p := g.newPending(t0, spanMs, Content)
	p.content = g.contentSeq
	g.contentSeq++
	p.region = uint8(reg)
	p.lang = regionLang(reg, g.r.Float64())
	p.actor = creator
	if g.r.Float64() < lateShare {
		late := g.r.Int64N(maxLateMs) * 1e6
		p.ts = max(g.start, p.at-late)
	}
	return p
}

func (g *Generator) creator(reg int) uint32 {
	return g.creatorBase[reg] + uint32(g.regionCreators[reg].Uint64())
}

func (g *Generator) regionOf(creator uint32) int {
	for i := 1; i <= numRegions; i++ {
		if creator < g.creatorBase[i] {
			return i - 1
		}
	}
	return numRegions - 1
}

func (g *Generator) addBackground(t0, spanMs int64) {
	reg := pickCum(g.regionCum[:], g.r.Float64())
	p := g.newPost(t0, spanMs, reg, g.creator(reg))
	g.addBackgroundTags(p, 1+pickCum(tagsCum[:], g.r.Float64()))
	if g.r.Float64() < soundShare {
		p.sound = int32(g.sounds.Uint64())
	}
	if g.r.Float64() < challengeShare {
		p.challenge = int32(g.challenges.Uint64())
	}
	if g.r.Float64() < textShare {
		p.text, p.textSeed = textCaption, g.r.Uint32()
	}
	g.recent.push(p)
	if g.waveRing != nil && p.sound == g.waveSound {
		g.waveRing.push(p)
	}
}

// addBackgroundTags adds up to n background hashtags in the post's language (or
// borrowed from English), each once.
func (g *Generator) addBackgroundTags(p *pending, n int) {
	for range n {
		if p.ntags == maxTags {
			return
		}
		src := p.lang
		if src != langEN && g.r.Float64() < enBorrow {
			src = langEN
		}
		rank := uint32(g.vocab[src].zipf.Uint64())
		dup := false
		for _, t := range p.tags[:p.ntags] {
			if t.src == src && t.rank == rank {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		p.tags[p.ntags] = tagRef{src: src, variant: backgroundSpelling(g.r.Float64()), rank: rank}
		p.ntags++
	}
}

// backgroundSpelling: most hashtags arrive plain or with '#', a few un-normalised.
func backgroundSpelling(u float64) uint8 {
	switch {
	case u < 0.70:
		return spellPlain
	case u < 0.95:
		return spellHash
	case u < 0.975:
		return spellShout
	}
	return spellFullwidth
}

func (g *Generator) addScenarioTag(p *pending, i int) {
	if i < 0 || p.ntags == maxTags {
		return
	}
	p.tags[p.ntags] = tagRef{src: uint8(srcScenario + i), variant: g.stags[i].pick(g.r.Float64())}
	p.ntags++
}

func (g *Generator) addScenarioPost(s *scenario, t0, spanMs int64) {
	var p *pending
	switch s.name {
	case OrganicSurge:
		c := g.uniqueCreator()
		p = g.newPost(t0, spanMs, g.regionOf(c), c)
		g.addScenarioTag(p, s.tag)
		g.addBackgroundTags(p, g.r.IntN(3))
		p.challenge = organicChallenge
	case DangerousSurge:
		reg := pickCum(g.staticRegionCum[:], g.r.Float64())
		p = g.newPost(t0, spanMs, reg, g.creator(reg))
		g.addScenarioTag(p, s.tag)
		share := 0.1
		if reg == regIN || reg == regNP {
			share = 0.8
		}
		if g.r.Float64() < share {
			g.addScenarioTag(p, s.tag2)
		}
		g.addBackgroundTags(p, g.r.IntN(3))
	case CoordinatedPush:
		p = g.newPost(t0, spanMs, pushRegion, g.pushAccounts[g.r.IntN(pushAccounts)])
		p.lang = langID
		g.addScenarioTag(p, s.tag)
		g.addBackgroundTags(p, 1)
		p.text = textCopypasta
	case DailyPeak:
		p = g.newPost(t0, spanMs, dailyRegion, g.creator(dailyRegion))
		p.lang = langNE
		g.addScenarioTag(p, s.tag)
		g.addBackgroundTags(p, g.r.IntN(3))
	default: // SlowTrend
		reg := pickCum(g.staticRegionCum[:], g.r.Float64())
		p = g.newPost(t0, spanMs, reg, g.creator(reg))
		g.addScenarioTag(p, s.tag)
		g.addBackgroundTags(p, g.r.IntN(3))
	}
	g.recent.push(p)
	if s.ring != nil {
		s.ring.push(p)
	}
}

// uniqueCreator walks all creators in a seeded order, so no two organic posts
// share a creator until every creator has posted once.
func (g *Generator) uniqueCreator() uint32 {
	n := uint64(g.cfg.Creators)
	c := (g.uniqueNext * g.uniqueStride) % n
	g.uniqueNext++
	return uint32((c + uint64(g.cfg.Seed)&0xffff) % n)
}

// rates sets a scenario's posts and extra reports per second at t.
func (g *Generator) rates(s *scenario, t int64) {
	s.posts, s.reports = 0, 0
	switch s.name {
	case OrganicSurge, CoordinatedPush:
		s.posts = s.env.at(t) * g.scale / 60
	case DangerousSurge:
		s.posts = s.env.at(t) * g.scale / 60
		s.reports = max(0, dangerReportFrac-g.cfg.ReportRate) * s.env.progress(t) * s.posts
	case ReportWave:
		s.reports = s.env.at(t) / 60
	case SlowTrend:
		f := min(1, max(0, float64(t-g.w0)/float64(g.end-g.w0)))
		s.posts = lerp(slowFrom, slowTo, f) * g.scale / 60
	case DailyPeak:
		s.posts = dailyBase * dailyBump(t) * g.scale / 60
	}
}

// setupScenarios builds the configured scenarios and their labels.
func (g *Generator) setupScenarios(nSounds uint64) error {
	cfg := g.cfg
	runStart, runEnd := cfg.Start, cfg.Start.Add(cfg.Duration)
	w0 := ceilMinute(cfg.Start.Add(cfg.warmup()))
	g.w0 = w0.UnixNano()
	want := make(map[string]bool, len(cfg.Scenarios))
	for _, s := range cfg.Scenarios {
		want[s] = true
	}
	addTag := func(sp []string, w []float64) (int, error) {
		st, err := newStag(sp, w)
		if err != nil {
			return -1, err
		}
		g.stags = append(g.stags, st)
		return len(g.stags) - 1, nil
	}

	var timed []string
	var shapes []phases
	for _, name := range AllScenarios() {
		if p, ok := nominal[name]; ok && want[name] {
			timed = append(timed, name)
			shapes = append(shapes, p)
		}
	}
	onsets, scaled := layout(w0, runEnd.Truncate(time.Minute), shapes)
	for i, name := range timed {
		s := &scenario{name: name, tag: -1, tag2: -1}
		var err error
		switch name {
		case OrganicSurge:
			camel := organicNames[mix64(uint64(cfg.Seed))%uint64(len(organicNames))]
			if s.tag, err = addTag(latinSpellings(camel)); err != nil {
				return err
			}
			s.env = newEnvelope(onsets[i], scaled[i], organicBefore, organicLevel, organicAfter)
			g.organicChallenge = fmt.Sprintf("ch%010d", mix64(uint64(cfg.Seed)^0x6368)%1e10)
			g.uniqueStride = coprimeStride(uint64(cfg.Creators), mix64(uint64(cfg.Seed)^0x7374))
			l := g.surgeLabel(name, g.stags[s.tag].term, s.env, []string{"surge", "novelty"})
			g.labels = append(g.labels, l)
			l.Term = "challenge:" + g.organicChallenge
			l.Detectors = slices.Clone(l.Detectors)
			g.labels = append(g.labels, l)
		case DangerousSurge:
			if s.tag, err = addTag(latinSpellings("BlackoutChallenge")); err != nil {
				return err
			}
			if s.tag2, err = addTag(devanagariSpellings(dangerTagDeva)); err != nil {
				return err
			}
			s.env = newEnvelope(onsets[i], scaled[i], dangerBase, dangerLevel, dangerBase)
			s.ring = newRing(64)
			for _, t := range []int{s.tag, s.tag2} {
				l := g.surgeLabel(name, g.stags[t].term, s.env, []string{"watchlist", "surge", "report_rate"})
				l.Watchlist = true
				g.labels = append(g.labels, l)
			}
		case CoordinatedPush:
			if s.tag, err = addTag(latinSpellings(pushName)); err != nil {
				return err
			}
			s.env = newEnvelope(onsets[i], scaled[i], 0, pushLevel, 0)
			g.pickPushAccounts()
			g.labels = append(g.labels, g.surgeLabel(name, g.stags[s.tag].term, s.env, []string{"coordination", "surge"}))
		case ReportWave:
			rank, perMin := waveSoundRank(cfg.Rate, nSounds, waveMentions*g.scale)
			g.waveSound = int32(rank)
			s.env = newEnvelope(onsets[i], scaled[i], 0, waveReportFrac*perMin, 0)
			s.ring = newRing(64)
			g.waveRing = s.ring
			g.labels = append(g.labels, g.surgeLabel(name, "sound:"+soundID(uint32(rank)), s.env, []string{"report_rate"}))
		}
		g.scen = append(g.scen, s)
	}

	if want[SlowTrend] {
		s := &scenario{name: SlowTrend, tag2: -1}
		var err error
		if s.tag, err = addTag(latinSpellings(slowName)); err != nil {
			return err
		}
		g.scen = append(g.scen, s)
		g.labels = append(g.labels, Label{Scenario: SlowTrend, Term: g.stags[s.tag].term,
			Start: w0, Peak: runEnd, End: runEnd})
	}
	if want[DailyPeak] {
		s := &scenario{name: DailyPeak, tag2: -1}
		var err error
		if s.tag, err = addTag(devanagariSpellings(dailyName)); err != nil {
			return err
		}
		g.scen = append(g.scen, s)
		peak := dailyPeakNear(w0.Add(runEnd.Sub(w0) / 2))
		g.labels = append(g.labels, Label{Scenario: DailyPeak, Term: g.stags[s.tag].term,
			Start: clampTime(peak.Add(-2*dailySigma), runStart, runEnd),
			Peak:  clampTime(peak, runStart, runEnd),
			End:   clampTime(peak.Add(2*dailySigma), runStart, runEnd)})
	}
	return nil
}

func (g *Generator) surgeLabel(name, term string, e envelope, detectors []string) Label {
	return Label{
		Scenario: name, Term: term,
		Start:       time.Unix(0, e.onset).UTC(),
		Peak:        time.Unix(0, e.peak).UTC(),
		End:         time.Unix(0, e.end).UTC(),
		ShouldAlert: true,
		Detectors:   detectors,
	}
}

// pickPushAccounts chooses the coordinated accounts among the push region's
// creators.
func (g *Generator) pickPushAccounts() {
	lo, hi := g.creatorBase[pushRegion], g.creatorBase[pushRegion+1]
	x := mix64(uint64(g.cfg.Seed) ^ 0x70757368)
	for i := range g.pushAccounts {
	again:
		x = mix64(x)
		c := lo + uint32(x%uint64(hi-lo))
		for _, o := range g.pushAccounts[:i] {
			if o == c {
				goto again
			}
		}
		g.pushAccounts[i] = c
	}
}

// waveSoundRank picks the least popular sound whose expected mentions reach
// target per minute (the most popular one when none does), and returns its rank
// and expected mentions per minute.
func waveSoundRank(rate float64, nSounds uint64, target float64) (uint64, float64) {
	top := rate * 60 * soundShare / zipfMass(nSounds, zipfExponent)
	rank := uint64(0)
	if top > target {
		rank = min(nSounds-1, uint64(math.Pow(top/target, 1/zipfExponent))-1)
	}
	return rank, top * math.Pow(float64(rank+1), -zipfExponent)
}

// coprimeStride returns a step near x that visits every residue modulo n.
func coprimeStride(n, x uint64) uint64 {
	s := x%n | 1
	for gcd(s, n) != 1 {
		s += 2
	}
	return s
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
