//go:build unix

package parquet

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockCompaction takes the dataset's compaction lock without waiting: an
// advisory flock on lockName in dir, which the kernel releases when its holder
// exits, kill -9 included, so a crash never leaves the dataset locked. It
// returns ok false when another process holds it.
func lockCompaction(dir string) (unlock func(), ok bool, err error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false, fmt.Errorf("open the compaction lock %s: %w", path, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, true, nil // closing the file releases the lock
}
