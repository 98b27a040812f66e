package alert

import (
	"maps"
	"testing"
)

func TestFields(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     map[string]string
	}{
		{"pairs", "observed=40 same_as=hashtag:x", map[string]string{"observed": "40", "same_as": "hashtag:x"}},
		{"the first of a repeated key", "lang=hi lang=ne", map[string]string{"lang": "hi"}},
		{"words and empty values left out", "watch=blackout challenge category= =3", map[string]string{"watch": "blackout"}},
		{"nothing", "", map[string]string{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Fields(c.in); !maps.Equal(got, c.want) {
				t.Errorf("Fields(%q) = %v, want %v", c.in, got, c.want)
			}
		})
	}
}

// TestParseSeverity: a severity reads in any case and with space around it,
// as a configuration writes it; anything else names what it wants.
func TestParseSeverity(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Severity
		ok   bool
	}{
		{"medium", SeverityMedium, true},
		{"Medium", SeverityMedium, true},
		{" HIGH ", SeverityHigh, true},
		{"critical", SeverityCritical, true},
		{"", 0, false},
		{"urgent", 0, false},
	} {
		got, err := ParseSeverity(tt.in)
		if (err == nil) != tt.ok || tt.ok && got != tt.want {
			t.Errorf("ParseSeverity(%q) = %v, %v; want %v (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
