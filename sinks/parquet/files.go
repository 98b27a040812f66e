package parquet

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	// tmpPrefix starts every file that is not finished yet. The leading dot hides it
	// from pyarrow, Spark and Hive, and tmp names never end in .parquet, so a glob
	// such as file('…/*.parquet') in ClickHouse does not match them either.
	tmpPrefix  = ".tmp-"
	partPrefix = "part-"
	mergedName = "data.parquet"
	// lockName is the dataset's compaction lock, in Dir beside the tables'
	// directories, hidden as a temporary file is.
	lockName = ".compact.lock"
	ext      = ".parquet"
)

// partitionDir is the directory, relative to Config.Dir, of the partition holding
// t: <table>/date=YYYY-MM-DD/hour=HH, HH being the partition's first hour.
func partitionDir(table string, t time.Time, roll time.Duration) string {
	start := t.UTC().Truncate(roll)
	return filepath.Join(table, "date="+start.Format("2006-01-02"), "hour="+start.Format("15"))
}

// partitionStart is the inverse of partitionDir.
func partitionStart(rel string) (time.Time, error) {
	hourDir := filepath.Base(rel)
	dateDir := filepath.Base(filepath.Dir(rel))
	d, okD := strings.CutPrefix(dateDir, "date=")
	h, okH := strings.CutPrefix(hourDir, "hour=")
	if !okD || !okH {
		return time.Time{}, fmt.Errorf("partition %q: want …/date=YYYY-MM-DD/hour=HH", rel)
	}
	t, err := time.Parse("2006-01-02 15", d+" "+h)
	if err != nil {
		return time.Time{}, fmt.Errorf("partition %q: %w", rel, err)
	}
	return t, nil
}

func partName(unixNano int64, seq uint64) string {
	return fmt.Sprintf("%s%d-%d%s", partPrefix, unixNano, seq, ext)
}

func isPart(name string) bool {
	return strings.HasPrefix(name, partPrefix) && strings.HasSuffix(name, ext)
}

// writeAtomic writes a file under dir through a temporary name: the data is
// fsynced, renamed to name and the directory fsynced, so after a nil return the
// file is durable, and at no moment is a partial file visible under name.
func writeAtomic(dir, name string, write func(io.Writer) error) (size int64, err error) {
	tmp, err := os.CreateTemp(dir, tmpPrefix+strings.TrimSuffix(name, ext)+"-*")
	if err != nil {
		return 0, fmt.Errorf("create temporary file for %s: %w", filepath.Join(dir, name), err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// The buffer also hides Close from the writer: pqarrow closes an io.Closer it
	// is given, and the file must stay open to be fsynced.
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(bw); err != nil {
		return 0, fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := bw.Flush(); err != nil {
		return 0, fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return 0, fmt.Errorf("fsync %s: %w", tmp.Name(), err)
	}
	st, err := tmp.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return 0, fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	// CreateTemp makes files 0600; a dataset is meant to be read by notebooks run
	// under other users.
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return 0, fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	final := filepath.Join(dir, name)
	if err := os.Rename(tmp.Name(), final); err != nil {
		return 0, fmt.Errorf("rename %s to %s: %w", tmp.Name(), final, err)
	}
	if err := syncDir(dir); err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory %s for fsync: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

// mkdirDurable creates dir and its missing parents and fsyncs the parent of each
// one it created: a renamed file is only durable when its directory's entry is.
func mkdirDurable(dir string) error {
	var created []string
	for d := dir; ; d = filepath.Dir(d) {
		_, err := os.Stat(d)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("stat %s: %w", d, err)
		}
		created = append(created, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if len(created) == 0 {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create directory %s: %w", dir, err)
	}
	for _, d := range created {
		if err := syncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}
