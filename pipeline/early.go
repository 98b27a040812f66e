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
	evs := e.judge.Early(e.watermark)
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
