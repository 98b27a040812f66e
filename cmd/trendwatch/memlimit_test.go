package main

import (
	"log/slog"
	"math"
	"runtime/debug"
	"testing"
)

// TestApplyMemoryLimit: memory_limit becomes the runtime's soft limit; 0
// leaves none; GOMEMLIMIT in the environment wins. The runtime's limit is
// process-wide, so the test puts it back.
func TestApplyMemoryLimit(t *testing.T) {
	was := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(was) })
	tests := []struct {
		name  string
		env   string // GOMEMLIMIT; "" unset
		limit int64
		want  int64 // the runtime's limit after
	}{
		{"configured", "", 448 << 20, 448 << 20},
		{"off", "", 0, math.MaxInt64},
		{"GOMEMLIMIT wins", "300MiB", 448 << 20, 300 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GOMEMLIMIT", tt.env)
			if tt.env != "" {
				// The runtime reads GOMEMLIMIT at start-up; stand in for it.
				debug.SetMemoryLimit(tt.want)
			}
			applyMemoryLimit(tt.limit, slog.New(slog.DiscardHandler))
			if got := debug.SetMemoryLimit(-1); got != tt.want {
				t.Errorf("runtime memory limit %d, want %d", got, tt.want)
			}
		})
	}
}
