//go:build unix

package sketches

import (
	"syscall"
	"time"
)

// processCPU is the CPU time the test process has used. On a machine shared with
// other work, CPU time per op is steadier than wall time per op.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
