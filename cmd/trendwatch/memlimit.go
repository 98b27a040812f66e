package main

import (
	"log/slog"
	"math"
	"os"
	"runtime/debug"
)

// applyMemoryLimit sets the Go runtime's soft memory limit to memory_limit
// (see config.Config.MemoryLimit): near it the collector runs as often as it
// must, so the process's RSS follows its live heap instead of reaching twice
// that. GOMEMLIMIT in the environment takes precedence, as the runtime
// documents; 0 leaves the runtime's default (no limit). It returns the limit
// in force.
func applyMemoryLimit(limit int64, log *slog.Logger) int64 {
	if env := os.Getenv("GOMEMLIMIT"); env != "" {
		got := debug.SetMemoryLimit(-1)
		log.Info("GOMEMLIMIT set in the environment: memory_limit left aside", "GOMEMLIMIT", env, "memory_limit", limit)
		return got
	}
	if limit <= 0 {
		debug.SetMemoryLimit(math.MaxInt64)
		return 0
	}
	debug.SetMemoryLimit(limit)
	log.Debug("soft memory limit set", "memory_limit", limit)
	return limit
}
