// Package checkpoint stores the pipeline's state on disk so a restart resumes
// exactly where the last checkpoint left off: written to a temporary file,
// synced and renamed into place, with a version and a checksum that a load
// verifies before trusting a byte of it.
package checkpoint

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/trendwatch/trendwatch/internal/binenc"
)

// Config is the checkpoint section.
type Config struct {
	Dir string `mapstructure:"dir"`
	// Fresh ignores (and replaces) an existing checkpoint instead of refusing to
	// start on one that cannot be used.
	Fresh bool `mapstructure:"fresh"`
}

// DefaultConfig keeps checkpoints beside the working directory.
func DefaultConfig() Config { return Config{Dir: "./trendwatch-data/checkpoint"} }

// Validate names the first bad key.
func (c Config) Validate() error {
	if c.Dir == "" {
		return errors.New("checkpoint.dir: must not be empty")
	}
	return nil
}

const (
	fileName = "state.ckpt"
	magic    = "TWCKPT"
	// Version changes whenever the layout of what the pipeline stores changes;
	// a checkpoint of a version this build does not read is refused, not
	// misread. Version 2: the pipeline's snapshot is in the binary codec
	// (pipeline/snapshot.go) where version 1 held gob. A build from before
	// would fail in gob on the new state with a message that names no cause
	// ("gob: duplicate type received"), so the version changes and such a
	// build says which version it met. MinVersion is the oldest still read:
	// the pipeline tells the layouts apart itself (snapshot_gob.go).
	Version    uint16 = 2
	MinVersion uint16 = 1
)

// ErrNotFound means there is no checkpoint yet: a first start.
var ErrNotFound = errors.New("no checkpoint")

// Store reads and writes the checkpoint of one pipeline.
type Store struct {
	dir string
	enc *zstd.Encoder
	dec *zstd.Decoder
	// staged is the checkpoint Stage wrote and Commit has not made current
	// yet, stagedLen its size.
	staged    *os.File
	stagedLen int
	// epoch is what Claim made this process's (0: not claimed).
	epoch uint64
}

// Open prepares dir (creating it) for checkpoints.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("checkpoint.dir %s: %w", dir, err)
	}
	// A 1 MiB window instead of the default 8: the encoder keeps its history
	// buffer between checkpoints, and the state (hashes, sketches, short
	// keys) has no long-range matches to find. A flood-sized state of 26 MB
	// compressed to the same 11.8 MB in the same time either way.
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20))
	if err != nil {
		return nil, err
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(8<<30))
	if err != nil {
		return nil, err
	}
	removeStale(dir, time.Now())
	return &Store{dir: dir, enc: enc, dec: dec}, nil
}

// staleAfter is how old a staged file must be for Open to take it for one
// left by a process killed while staging: a standby opening the directory a
// primary shares must not remove the primary's staging under way, which takes
// seconds.
const staleAfter = 10 * time.Minute

// removeStale removes the staged files in dir that a process killed while
// staging left behind: each is as large as a checkpoint (tens of MiB in a
// flood), and nothing else would ever remove them.
func removeStale(dir string, now time.Time) {
	names, err := filepath.Glob(filepath.Join(dir, ".state-*.tmp"))
	if err != nil {
		return
	}
	for _, name := range names {
		if fi, err := os.Stat(name); err == nil && now.Sub(fi.ModTime()) >= staleAfter {
			os.Remove(name)
		}
	}
}

// Path is the checkpoint file.
func (s *Store) Path() string { return filepath.Join(s.dir, fileName) }

// Save writes state atomically. Layout: magic, version (uint16), unix nanos of
// the save (int64), length of the compressed body (uint64), CRC-32C of the
// compressed body, then the zstd-compressed state.
func (s *Store) Save(state []byte) (int, error) {
	if err := s.Stage(func(w io.Writer) error {
		_, err := w.Write(state)
		return err
	}); err != nil {
		return 0, err
	}
	return s.Commit()
}

// Stage writes the next checkpoint, as Save lays it out, to a temporary file
// beside the current one without making it durable or current: write streams
// the state into the compressor and the compressor into the file, so neither
// the state nor its compressed form is ever held in memory whole (in a flood
// they were hundreds of MiB). Commit makes it the checkpoint; a second Stage
// first discards a staged one that was never committed. Stage and Commit may
// run on different goroutines, one after the other.
func (s *Store) Stage(write func(w io.Writer) error) error {
	s.Abort()
	tmp, err := os.CreateTemp(s.dir, ".state-*.tmp")
	if err != nil {
		return fmt.Errorf("checkpoint: create temp in %s: %w", s.dir, err)
	}
	fail := func(err error) error {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	// The header's length and checksum are known only at the end: a
	// placeholder now, the header itself once the body is written.
	if _, err := tmp.Write(make([]byte, headerLen)); err != nil {
		return fail(fmt.Errorf("checkpoint: write %s: %w", tmp.Name(), err))
	}
	body := &sumWriter{w: bufio.NewWriterSize(tmp, 1<<20)}
	s.enc.Reset(body)
	if err := write(s.enc); err != nil {
		s.enc.Reset(nil)
		return fail(err)
	}
	if err := s.enc.Close(); err != nil {
		return fail(fmt.Errorf("checkpoint: compress: %w", err))
	}
	s.enc.Reset(nil) // let go of the file
	if err := body.w.Flush(); err != nil {
		return fail(fmt.Errorf("checkpoint: write %s: %w", tmp.Name(), err))
	}
	var hdr bytes.Buffer
	hdr.WriteString(magic)
	_ = binary.Write(&hdr, binary.BigEndian, Version)
	_ = binary.Write(&hdr, binary.BigEndian, time.Now().UnixNano())
	_ = binary.Write(&hdr, binary.BigEndian, uint64(body.n))
	_ = binary.Write(&hdr, binary.BigEndian, body.crc)
	if _, err := tmp.WriteAt(hdr.Bytes(), 0); err != nil {
		return fail(fmt.Errorf("checkpoint: write %s: %w", tmp.Name(), err))
	}
	s.staged, s.stagedLen = tmp, headerLen+body.n
	return nil
}

// Commit makes the staged checkpoint durable and current, and returns its
// size in bytes.
func (s *Store) Commit() (int, error) {
	tmp := s.staged
	if tmp == nil {
		return 0, errors.New("checkpoint: nothing staged to commit")
	}
	s.staged = nil
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := s.Superseded(); err != nil {
		tmp.Close()
		return 0, err
	}
	if err := s.install(tmp, s.Path(), s.Superseded); err != nil {
		return 0, err
	}
	return s.stagedLen, nil
}

// install makes the written temporary file tmp durable as path: synced,
// closed, renamed into place, and the rename itself synced. fence, when
// not nil, is asked again just before the rename: the sync takes long
// enough (seconds for a large state on a slow disk) for a paused process to
// wake in it after its standby took over, and its rename would then put an
// older state over the standby's.
func (s *Store) install(tmp *os.File, path string, fence func() error) error {
	err := tmp.Sync()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("checkpoint: write %s: %w", tmp.Name(), err)
	}
	if fence != nil {
		if err := fence(); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("checkpoint: rename into %s: %w", path, err)
	}
	// Without the directory synced the rename may not survive a power
	// loss, while the offsets committed next would: the restart would load
	// the checkpoint before and skip what lay between.
	d, err := os.Open(s.dir)
	if err != nil {
		return fmt.Errorf("checkpoint: sync %s: %w", s.dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return fmt.Errorf("checkpoint: sync %s: %w", s.dir, err)
	}
	return nil
}

// Abort discards a staged checkpoint that was not committed, if any.
func (s *Store) Abort() {
	if s.staged != nil {
		s.staged.Close()
		os.Remove(s.staged.Name())
		s.staged = nil
	}
}

// headerLen is the size of Save's header: magic, version, time, length, CRC.
const headerLen = len(magic) + 2 + 8 + 8 + 4

// sumWriter counts and checksums what it passes on.
type sumWriter struct {
	w   *bufio.Writer
	n   int
	crc uint32
}

func (s *sumWriter) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	s.n += n
	s.crc = binenc.UpdateChecksum(s.crc, p[:n])
	return n, err
}

// Load returns the state of the last Save and when it was saved. A missing
// checkpoint is ErrNotFound; a corrupt or foreign one is an error saying why.
func (s *Store) Load() ([]byte, time.Time, error) {
	f, err := os.Open(s.Path())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, time.Time{}, ErrNotFound
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	var hdr struct {
		Magic   [6]byte
		Version uint16
		Saved   int64
		Len     uint64
		CRC     uint32
	}
	if err := binary.Read(f, binary.BigEndian, &hdr); err != nil {
		return nil, time.Time{}, fmt.Errorf("checkpoint %s: header: %w", s.Path(), err)
	}
	if string(hdr.Magic[:]) != magic {
		return nil, time.Time{}, fmt.Errorf("checkpoint %s: not a trendwatch checkpoint (magic %q)", s.Path(), hdr.Magic[:])
	}
	if hdr.Version < MinVersion || hdr.Version > Version {
		return nil, time.Time{}, fmt.Errorf("checkpoint %s: version %d, this build reads versions %d to %d (start with --fresh to discard it)", s.Path(), hdr.Version, MinVersion, Version)
	}
	st, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("checkpoint %s: %w", s.Path(), err)
	}
	if hdr.Len > uint64(st.Size()) {
		return nil, time.Time{}, fmt.Errorf("checkpoint %s: truncated: header says %d bytes, file has %d", s.Path(), hdr.Len, st.Size())
	}
	body := make([]byte, hdr.Len)
	if _, err := io.ReadFull(f, body); err != nil {
		return nil, time.Time{}, fmt.Errorf("checkpoint %s: body: %w", s.Path(), err)
	}
	if got := binenc.Checksum(body); got != hdr.CRC {
		return nil, time.Time{}, fmt.Errorf("checkpoint %s: checksum mismatch (stored %08x, computed %08x): the file is corrupt; start with --fresh to discard it", s.Path(), hdr.CRC, got)
	}
	state, err := s.dec.DecodeAll(body, nil)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("checkpoint %s: decompress: %w", s.Path(), err)
	}
	return state, time.Unix(0, hdr.Saved), nil
}

// Remove deletes the checkpoint, for a fresh start.
func (s *Store) Remove() error {
	err := os.Remove(s.Path())
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
