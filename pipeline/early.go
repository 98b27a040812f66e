package pipeline

import (
	"context"

	"github.com/trendwatch/trendwatch/alert"
)

// Early firing (detectors.early): every early interval of event time the
// judge looks at the buckets still open (detect.Judge.Early), and the
// engine writes and pages what it found, as at a close.

// judgeEarly judges the open buckets if event time has crossed an early
// interval boundary since the last judgement.
func (e *Engine) judgeEarly(ctx context.Context) error {
	// Counted is what the looks judge a share of: up to the watermark, but
	// for records a full holding area applied ahead of it (force). Judged
	// as the watermark's share, a steady term whose posts came on the
	// partition ahead looked twice its rate, paged early, and was
	// retracted at the close. Taken at the latest applied, the slower
	// partition's part is undercounted, which only makes a look wary.
	at := e.watermark
	if m := e.count.MaxApplied(); m.After(at) {
		at = m
	}
	evs := e.judge.Early(at)
	if len(evs) == 0 {
		return nil
	}
	if err := e.write(ctx, nil, evs, nil); err != nil {
		return err
	}
	for _, o := range e.obs {
		for _, ev := range evs {
			o.Alert(ev)
		}
	}
	for _, ev := range evs {
		e.m.alerts.WithLabelValues(ev.Alert.Detector, string(ev.To)).Inc()
		if ev.Alert.Early && ev.To == alert.StatusOpen {
			e.m.early.WithLabelValues(ev.Alert.Detector).Inc()
		}
	}
	e.m.openAlert.Set(float64(len(e.life.Open())))
	return nil
}
