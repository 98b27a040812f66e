package detect

import (
	"testing"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/family"
	"github.com/trendwatch/trendwatch/pipeline/tracked"
)

// TestIncidentOpen: a watched term is judged as joining an incident when
// another of its terms alerts and it has no alert but early ones; never
// when its own alert stands, or two spellings would keep each other open.
func TestIncidentOpen(t *testing.T) {
	const inc = "family:blakautchalenj"
	latin, deva := "hashtag:blackoutchallenge", "hashtag:ब्लैकआउटचैलेंज"
	watched := &detectors.WatchMatch{Pattern: latin}
	tests := []struct {
		name     string
		alerting []alertingTerm
		st       tracked.Term
		want     bool
	}{
		{"another spelling alerts", []alertingTerm{{latin, false}}, tracked.Term{Key: deva, Family: inc, Watch: watched}, true},
		{"another spelling's early alert", []alertingTerm{{latin, true}}, tracked.Term{Key: deva, Family: inc, Watch: watched}, true},
		{"the family alerts", []alertingTerm{{inc, false}}, tracked.Term{Key: deva, Family: inc, Watch: watched}, true},
		{"its own early alert, opened joining", []alertingTerm{{latin, false}, {deva, true}}, tracked.Term{Key: deva, Family: inc, Watch: watched}, true},
		{"its own alert stands", []alertingTerm{{latin, false}, {deva, false}}, tracked.Term{Key: deva, Family: inc, Watch: watched}, false},
		{"only its own alert", []alertingTerm{{deva, true}}, tracked.Term{Key: deva, Family: inc, Watch: watched}, false},
		{"nothing alerts", nil, tracked.Term{Key: deva, Family: inc, Watch: watched}, false},
		{"not watched", []alertingTerm{{latin, false}}, tracked.Term{Key: deva, Family: inc}, false},
		{"another incident alerts", []alertingTerm{{"hashtag:other", false}}, tracked.Term{Key: deva, Family: inc, Watch: watched}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := &Judge{alerting: map[string][]alertingTerm{}}
			for _, a := range tc.alerting {
				i := family.OfTerm(a.term)
				j.alerting[i] = append(j.alerting[i], a)
			}
			if got := j.incidentOpen(&tc.st); got != tc.want {
				t.Errorf("incidentOpen = %v, want %v", got, tc.want)
			}
		})
	}
}
