package checkpoint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A process that owns a pipeline's state claims a new epoch for it, one above
// the last, before it reads anything: the owner after a takeover holds a
// larger epoch than the process it took over from. A primary that was paused
// past its consumer group's session timeout (a stopped VM, a long GC, a
// network cut) wakes up still believing it owns the state while its standby
// has taken over; its epoch is then below the directory's, so it saves no
// checkpoint over the new owner's, and the rows it still writes carry a
// version below the new owner's (see pipeline's row versions), which
// ReplacingMergeTree and the Parquet reader discard.

// ErrSuperseded says that another process claimed the state after this one:
// this one must stop, writing nothing more.
var ErrSuperseded = errors.New("another process took this pipeline's state over")

// MaxEpoch is the largest epoch a row version can carry.
const MaxEpoch = 1<<18 - 1

const epochFile = "epoch"

// Claim makes this process the owner of the state in the directory: it
// reads the last epoch claimed there (0 for none), writes the next, and
// returns it. The consumer group admits one owner at a time, so two claims
// do not race.
func (s *Store) Claim() (uint64, error) {
	last, err := s.readEpoch()
	if err != nil {
		return 0, err
	}
	if last >= MaxEpoch {
		// Claiming MaxEpoch again would fence no one: a paused primary
		// holding it would go on writing beside the new owner, its rows of
		// the same version as the new owner's.
		return 0, fmt.Errorf("checkpoint: %s in %s holds epoch %d, the largest a row version carries (%d): no claim can fence the last owner; "+
			"stop every process of this pipeline, then start over with a new checkpoint.dir (its rows then carry smaller versions than those written before, so rewrite or drop them, e.g. with a --replay)",
			epochFile, s.dir, last, MaxEpoch)
	}
	next := last + 1
	tmp, err := os.CreateTemp(s.dir, ".epoch-*.tmp")
	if err != nil {
		return 0, fmt.Errorf("checkpoint: claim epoch in %s: %w", s.dir, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.WriteString(strconv.FormatUint(next, 10) + "\n"); err != nil {
		tmp.Close()
		return 0, fmt.Errorf("checkpoint: claim epoch in %s: %w", s.dir, err)
	}
	if err := s.install(tmp, filepath.Join(s.dir, epochFile), nil); err != nil {
		return 0, fmt.Errorf("claim epoch: %w", err)
	}
	s.epoch = next
	return next, nil
}

// Epoch is the epoch this store claimed, 0 before Claim.
func (s *Store) Epoch() uint64 { return s.epoch }

// readEpoch reads the last epoch claimed in the directory, 0 for none.
func (s *Store) readEpoch() (uint64, error) {
	path := filepath.Join(s.dir, epochFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("checkpoint: %w", err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("checkpoint: %s holds %q, not an epoch; remove it to start over: %w", path, b, err)
	}
	return n, nil
}

// Superseded returns ErrSuperseded, wrapped with the epochs, when a process
// claimed the directory after this store did. Commit checks it too; a
// process asks before anything else in a commit round, as the process that
// claimed the directory since may also have joined its consumer group.
func (s *Store) Superseded() error {
	if s.epoch == 0 {
		return nil // never claimed: a tool or a test, not an owner
	}
	last, err := s.readEpoch()
	if err != nil {
		return err
	}
	if last > s.epoch {
		return fmt.Errorf("%w: %s was claimed at epoch %d, this process holds epoch %d", ErrSuperseded, s.dir, last, s.epoch)
	}
	return nil
}
