package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/pipeline"
	"github.com/trendwatch/trendwatch/sketches"
)

// The live measurement: posts produced in real time, after an hour and a half
// of history (produced at once beforehand, as the detector issue timed its
// live surge after; half an hour left the terms' tails so young that their
// bar, not the early firing, decided the latency), while terms with that
// history surge one after another; the time
// from each surge's first post to trendwatch's page (its consumer and engine
// at their defaults, in this process) and to the first poll of the peer's
// spike query that shows the term. Latency is the wall clock, as an
// incident team lives it: the default bucket (1 minute), allowed lateness
// (2 minutes) and early firing (every 10 s) all count.
const (
	liveContent = "live-content-events"
	liveReports = "live-report-events"
	liveRate    = 20 // posts a second
	liveHistory = 90 * time.Minute
	liveBgTags  = 50   // background hashtags, one a post
	liveBase    = 0.02 // each surging term's share of posts before its surge
	// liveGap spaces the onsets: each surge is on a term of its own, so
	// they may overlap, and sixteen of them in as many minutes as eight
	// took at 20 s give the medians twice the surges.
	liveGap = 10 * time.Second
	// liveSettle follows the last onset: long enough for the final
	// judgement of the last surge's bucket (the rest of its bucket, the
	// allowed lateness and a look), so a surge that early firing leaves to
	// it is timed, not missed; at 150 s a threefold last surge was.
	liveSettle   = 4 * time.Minute
	livePoll     = 10 * time.Second // the peer's polling interval
	livePeerGain = 2                // the peer's bar: this many times the term's 30-minute average
	livePeerMin  = 20               // and at least this many a minute
)

// liveSpike is one term's ordinary spike: as steep as a surge, but over
// within a minute, as the one-bucket spikes real topics have every day.
type liveSpike struct {
	term       string
	gain       float64
	start, end time.Time
}

// The trendwatch engines of the live measurement, on the same stream, each in
// a consumer group of its own: the defaults; the defaults with
// detectors.early.first_bucket, which lets a surge page early in its first
// bucket at the price of paging (and retracting) spikes that end within it;
// and the defaults with the surging terms on the watchlist, as a team
// watches the challenges it fears (the watchlist judges a bucket whole, and
// its terms are looked at every detectors.early.watch_interval).
const (
	liveDefaults = iota
	liveFirstBucket
	liveWatched
	liveEngines
)

// liveSurge is one surging term.
type liveSurge struct {
	term  string  // hashtag value
	gain  float64 // 10 or 3
	onset time.Time
	// tw is the time from onset to each engine's page (0: none), early
	// whether that page was early.
	tw    [liveEngines]time.Duration
	early [liveEngines]bool
	peer  time.Duration // onset to the peer's query; 0 none
}

// liveResult is what the live measurement found.
type liveResult struct {
	surges    []*liveSurge
	spikes    []*liveSpike
	twFalse   [liveEngines][]string // each engine's pages on terms that did not surge
	peerFalse []string              // terms that did not surge that the peer's query showed
	// twSpiked and peerSpiked are the spiking terms among those.
	twSpiked   [liveEngines]int
	peerSpiked int
	// retracted counts each engine's early pages its final judgement took
	// back.
	retracted [liveEngines]int
	peer      string // why the peer was not measured, when it was not
	took      time.Duration
}

// latencies are the surges' latencies of gain g, engine's or, with peer, the
// peer's, and how many of them got none.
func (r *liveResult) latencies(g float64, engine int, peer bool) (got []time.Duration, missed int) {
	for _, s := range r.surges {
		if s.gain != g {
			continue
		}
		d := s.tw[engine]
		if peer {
			d = s.peer
		}
		if d == 0 {
			missed++
			continue
		}
		got = append(got, d)
	}
	slices.Sort(got)
	return got, missed
}

// alertTimes is a pipeline.Observer that notes when each term first paged.
type alertTimes struct {
	mu        sync.Mutex
	first     map[string]time.Time
	early     map[string]bool
	retracted int
	// reached is the start of the latest bucket closed.
	reached time.Time
}

func (a *alertTimes) Bucket(r *pipeline.BucketReport) {
	a.mu.Lock()
	a.reached = r.Start
	a.mu.Unlock()
}

func (a *alertTimes) Alert(ev alert.Event) {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if ev.Reason == alert.ReasonRetracted {
		a.retracted++
	}
	if ev.To != alert.StatusOpen {
		return
	}
	if _, ok := a.first[ev.Alert.Term]; !ok {
		a.first[ev.Alert.Term], a.early[ev.Alert.Term] = now, ev.Alert.Early
	}
}

func (a *alertTimes) closed() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reached
}

// measureLive runs the live measurement on the stream's broker, on topics of
// its own: surges surging terms, half tenfold and half threefold, and as many
// other terms that spike as steeply for less than a minute.
func measureLive(ctx context.Context, s *stream, surges int, log *slog.Logger) (*liveResult, error) {
	began := time.Now()
	res := &liveResult{}
	rng := rand.New(rand.NewPCG(11, 17))
	for i := range surges {
		g := 10.0
		if i%2 == 1 {
			g = 3
		}
		res.surges = append(res.surges, &liveSurge{term: fmt.Sprintf("livesurge%02d", i), gain: g})
		res.spikes = append(res.spikes, &liveSpike{term: fmt.Sprintf("livespike%02d", i), gain: g})
	}
	seq := 0
	post := func(ts time.Time) kafka.Message {
		seq++
		tags := []string{fmt.Sprintf("livebg%02d", rng.IntN(liveBgTags))}
		for _, sg := range res.surges {
			p := liveBase
			if !sg.onset.IsZero() && !ts.Before(sg.onset) {
				p *= sg.gain
			}
			if rng.Float64() < p {
				tags = append(tags, sg.term)
			}
		}
		for _, sp := range res.spikes {
			p := liveBase
			if !ts.Before(sp.start) && ts.Before(sp.end) {
				p *= sp.gain
			}
			if rng.Float64() < p {
				tags = append(tags, sp.term)
			}
		}
		creator := fmt.Sprint("u", rng.IntN(1_000_000))
		v, _ := json.Marshal(event.Content{EventID: fmt.Sprint("live", seq), TS: ts.UTC(), ContentID: fmt.Sprint("lc", seq),
			CreatorID: creator, Region: "NP", Lang: "ne", Hashtags: tags})
		return kafka.Message{Topic: liveContent, Key: []byte(creator), Value: v}
	}

	// The peer, when ClickHouse is here: it must have joined before the
	// history is produced, as a new group starts at the end of the topic.
	srv, skipped, err := startClickHouse(ctx)
	if err != nil {
		return nil, err
	}
	if srv != nil {
		defer srv.stop()
		if _, err := srv.setUpPeer(ctx, s.addr, "live", liveContent, "twbench-live", s.partitions, liveRate, time.Time{}); err != nil {
			return nil, err
		}
	} else {
		res.peer = skipped
	}

	histEnd := time.Now()
	var hist []kafka.Message
	for ts := histEnd.Add(-liveHistory); ts.Before(histEnd); ts = ts.Add(time.Second / liveRate) {
		hist = append(hist, post(ts))
	}
	if err := produceTo(ctx, s.addr, hist); err != nil {
		return nil, err
	}

	// trendwatch: the consumer and engines as `trendwatch run` has them (live,
	// so with the default event-age limits).
	var times [liveEngines]*alertTimes
	consumed := make(chan error, liveEngines)
	engined := make(chan error, liveEngines)
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	icfg := ingest.DefaultConfig()
	icfg.Brokers = []string{s.addr}
	icfg.Topics.Content, icfg.Topics.Reports = liveContent, liveReports
	for i := range times {
		times[i] = &alertTimes{first: map[string]time.Time{}, early: map[string]bool{}}
		dcfg := detectors.DefaultConfig()
		dcfg.Early.FirstBucket = i == liveFirstBucket
		if i == liveWatched {
			for _, sg := range res.surges {
				dcfg.Watchlist.Entries = append(dcfg.Watchlist.Entries, detectors.WatchEntry{Term: "hashtag:" + sg.term, Category: "dangerous_challenge"})
			}
		}
		eng, err := pipeline.New(pipeline.DefaultConfig(), sketches.DefaultWindowConfig(), dcfg, nil, log, nil)
		if err != nil {
			return nil, err
		}
		eng.AddObserver(times[i])
		icfg.Group = fmt.Sprintf("twbench-live-trendwatch-%d", i)
		f, err := startFeed(ctx, icfg, eng, log)
		if err != nil {
			return nil, err
		}
		defer f.close()
		go func() { consumed <- <-f.consumed }()
		go func() { engined <- eng.RunBatches(rctx, f.batches, f.c, nil) }()
	}
	// Start-up and the history are not part of the latency: wait until
	// the history is counted (all but its last buckets, still open).
	if err := waitFor(ctx, 3*time.Minute, func() (bool, error) {
		select {
		case err := <-consumed:
			return false, fmt.Errorf("consumer stopped: %v", err)
		case err := <-engined:
			return false, fmt.Errorf("engine stopped: %v", err)
		default:
		}
		for _, t := range times {
			if t.closed().Before(histEnd.Add(-4 * time.Minute)) {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		return nil, fmt.Errorf("history not counted: %w", err)
	}

	// The live stream, in real time from where the history ended: the
	// posts of the wait are produced at once, then one every 1/liveRate s.
	// Onsets are liveGap apart, at odd offsets into their minutes.
	now := time.Now()
	for i, sg := range res.surges {
		sg.onset = now.Add(liveGap*time.Duration(i+1) + time.Duration(rng.IntN(int(liveGap))))
	}
	// Each spike lasts 10 to 40 s and starts in the first 15 s of a minute,
	// so it is over within that minute: one bucket.
	for i, sp := range res.spikes {
		sp.start = now.Add(liveGap * time.Duration(i+1)).Truncate(time.Minute).Add(time.Minute + time.Duration(rng.IntN(15_000))*time.Millisecond)
		sp.end = sp.start.Add(10*time.Second + time.Duration(rng.IntN(30_000))*time.Millisecond)
	}
	end := res.surges[len(res.surges)-1].onset.Add(liveSettle)
	var catchUp []kafka.Message
	for ts := histEnd; ts.Before(now); ts = ts.Add(time.Second / liveRate) {
		catchUp = append(catchUp, post(ts))
	}
	if err := produceTo(ctx, s.addr, catchUp); err != nil {
		return nil, err
	}
	w, err := icfg.NewWriter("")
	if err != nil {
		return nil, err
	}
	defer w.Close()
	peerSeen := map[string]time.Time{}
	var peerMu sync.Mutex
	var peerErr error
	var polls sync.WaitGroup
	if srv != nil {
		polls.Add(1)
		go func() {
			defer polls.Done()
			t := time.NewTicker(livePoll)
			defer t.Stop()
			for time.Now().Before(end) {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				terms, err := peerSpikes(ctx, srv)
				at := time.Now()
				peerMu.Lock()
				if err != nil {
					peerErr = err
					peerMu.Unlock()
					return
				}
				for _, term := range terms {
					if _, ok := peerSeen[term]; !ok {
						peerSeen[term] = at
					}
				}
				peerMu.Unlock()
			}
		}()
	}
	tick := time.NewTicker(time.Second / liveRate)
	defer tick.Stop()
	for next := now; time.Now().Before(end); {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case err := <-consumed:
			return nil, fmt.Errorf("consumer stopped: %v", err)
		case err := <-engined:
			return nil, fmt.Errorf("engine stopped: %v", err)
		case t := <-tick.C:
			var msgs []kafka.Message
			for ; !next.After(t); next = next.Add(time.Second / liveRate) {
				msgs = append(msgs, post(next))
			}
			if err := w.WriteMessages(ctx, msgs...); err != nil {
				return nil, fmt.Errorf("produce: %w", err)
			}
		}
	}
	polls.Wait()
	if peerErr != nil {
		return nil, fmt.Errorf("the peer's query: %w", peerErr)
	}

	surging := map[string]*liveSurge{}
	for _, sg := range res.surges {
		surging["hashtag:"+sg.term] = sg
		if at, ok := peerSeen[sg.term]; ok {
			sg.peer = max(at.Sub(sg.onset), time.Nanosecond)
		}
	}
	for i, t := range times {
		t.mu.Lock()
		for _, sg := range res.surges {
			if at, ok := t.first["hashtag:"+sg.term]; ok {
				sg.tw[i], sg.early[i] = max(at.Sub(sg.onset), time.Nanosecond), t.early["hashtag:"+sg.term]
			}
		}
		for term := range t.first {
			if surging[term] == nil {
				res.twFalse[i] = append(res.twFalse[i], term)
				if strings.HasPrefix(term, "hashtag:livespike") {
					res.twSpiked[i]++
				}
			}
		}
		res.retracted[i] = t.retracted
		t.mu.Unlock()
		slices.Sort(res.twFalse[i])
	}
	for term := range peerSeen {
		if surging["hashtag:"+term] == nil {
			res.peerFalse = append(res.peerFalse, term)
			if strings.HasPrefix(term, "livespike") {
				res.peerSpiked++
			}
		}
	}
	slices.Sort(res.peerFalse)
	res.took = time.Since(began)
	return res, nil
}

// peerSpikes is the spike query a team would poll: the terms whose count in
// the last complete minute or the current one so far is at least
// livePeerGain times their average over the 30 minutes before (missing
// minutes counting as none) and at least livePeerMin.
func peerSpikes(ctx context.Context, srv *chServer) ([]string, error) {
	out, err := srv.query(ctx, fmt.Sprintf(`SELECT term FROM (
  SELECT term, minute, countMerge(mentions) AS c FROM live.term_minutes
  WHERE minute >= toStartOfMinute(now()) - 1860 AND term NOT LIKE 'twbenchready%%'
  GROUP BY term, minute)
GROUP BY term
HAVING max(if(minute >= toStartOfMinute(now()) - 60, c, 0)) >= greatest(%d, %d * sum(if(minute < toStartOfMinute(now()) - 60, c, 0)) / 30)`,
		livePeerMin, livePeerGain))
	if err != nil {
		return nil, err
	}
	if out == "" {
		return nil, nil
	}
	return strings.Split(out, "\n"), nil
}
