package surges

import (
	"slices"
	"testing"
	"time"
)

var day = time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)

// TestMemory: what is remembered, within the bound, and forgotten by age.
func TestMemory(t *testing.T) {
	type surge struct {
		h        uint64
		min      int // minutes after day
		count    float64
		expected float64
	}
	tests := []struct {
		name    string
		max     int
		surges  []surge
		lost    int       // Remember calls refused
		forget  time.Time // zero: none
		terms   []uint64
		buckets int
	}{
		{"nothing", 8, nil, 0, time.Time{}, []uint64{}, 0},
		{"two terms", 8, []surge{{7, 0, 50, 10}, {3, 0, 40, 10}, {7, 1, 60, 10}}, 0, time.Time{}, []uint64{3, 7}, 3},
		{"at the bound", 2, []surge{{7, 0, 50, 10}, {3, 0, 40, 10}, {7, 1, 60, 10}, {9, 2, 60, 10}}, 2, time.Time{}, []uint64{3, 7}, 2},
		{"forgotten by age", 8, []surge{{7, 0, 50, 10}, {3, 0, 40, 10}, {7, 30, 60, 10}}, 0, day.Add(time.Minute), []uint64{7}, 1},
		{"all forgotten", 8, []surge{{7, 0, 50, 10}}, 0, day.Add(time.Hour), []uint64{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(tt.max)
			lost := 0
			for _, s := range tt.surges {
				if !m.Remember(s.h, day.Add(time.Duration(s.min)*time.Minute), s.count, s.expected) {
					lost++
				}
			}
			if !tt.forget.IsZero() {
				m.Forget(tt.forget)
			}
			if lost != tt.lost {
				t.Errorf("%d refused, want %d", lost, tt.lost)
			}
			if got := m.Terms(); !slices.Equal(got, tt.terms) {
				t.Errorf("terms %v, want %v", got, tt.terms)
			}
			if m.Len() != tt.buckets {
				t.Errorf("%d buckets held, want %d", m.Len(), tt.buckets)
			}
		})
	}
}

// TestMemoryExcess: the day-ago level of the same hour the next day leaves
// out what the surge added; a term without surges, and another hour, none.
func TestMemoryExcess(t *testing.T) {
	m := New(8)
	m.Remember(7, day, 50, 10)
	m.Remember(7, day.Add(time.Minute), 30, 10)
	next := day.Add(24 * time.Hour)
	tests := []struct {
		name string
		h    uint64
		at   time.Time
		want float64
	}{
		{"the same hour a day later", 7, next, 60},
		{"another term", 3, next, 0},
		{"two hours later", 7, next.Add(2 * time.Hour), 0},
	}
	for _, tt := range tests {
		if got := m.Excess(tt.h, tt.at, nil); got != tt.want {
			t.Errorf("%s: excess %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestMemoryRestore: a checkpoint's buckets come back whole, replacing what
// the term held, and count towards the bound.
func TestMemoryRestore(t *testing.T) {
	a := New(8)
	a.Remember(7, day, 50, 10)
	a.Remember(7, day.Add(time.Minute), 30, 10)
	b := New(8)
	b.Remember(7, day.Add(time.Hour), 20, 10) // replaced by the restore
	b.Restore(7, a.Buckets(7))
	if got, want := b.Buckets(7), a.Buckets(7); !slices.Equal(got, want) {
		t.Errorf("restored %+v, want %+v", got, want)
	}
	if b.Len() != 2 {
		t.Errorf("%d buckets held after the restore, want 2", b.Len())
	}
	if b.Buckets(3) != nil {
		t.Error("a term never remembered has buckets")
	}
}
