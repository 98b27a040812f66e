package event

import (
	"testing"
)

func TestScanString(t *testing.T) {
	tests := []struct {
		in  string
		end int // -1: refused
		esc bool
	}{
		{`""`, 2, false},
		{`"abc"`, 5, false},
		{`"abcdefghijklmnopqrstuvwxyz"x`, 28, false},
		{`"abcdefghijklmnop\"qrstuvwxyz"`, 30, true},
		{`"abcdefgh\\"`, 12, true},
		{`"abcdefgh\u00e9\ud83d\ude00"`, 28, true},
		{"\"abcdefghijk\x01\"", -1, false},
		{`"abcdefghijk\x"`, -1, false},
		{`"abcdefghijk\u12"`, -1, false},
		{`"abcdefghijklmnop`, -1, false},
		{`"abcdefgh\`, -1, false},
		{"\"नयाँ नृत्य चुनौती\"", len("\"नयाँ नृत्य चुनौती\""), false},
	}
	for _, tt := range tests {
		end, esc, err := scanString([]byte(tt.in), 0)
		if tt.end < 0 {
			if err == nil || ReasonOf(err) != ReasonInvalidJSON {
				t.Errorf("scanString(%q) = %d, %v; want invalid_json", tt.in, end, err)
			}
			continue
		}
		if err != nil || end != tt.end || esc != tt.esc {
			t.Errorf("scanString(%q) = %d, %v, %v; want %d, %v", tt.in, end, esc, err, tt.end, tt.esc)
		}
	}
}
