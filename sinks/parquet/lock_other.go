//go:build !unix

package parquet

// lockCompaction has no lock to take where flock is not available: there a
// dataset directory must have one writer, primary and standby included.
func lockCompaction(string) (unlock func(), ok bool, err error) {
	return func() {}, true, nil
}
