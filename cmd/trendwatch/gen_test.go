package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/sim/gen"
)

// stopAfter is a context that is done after Err has been asked calls times,
// standing in for a Ctrl-C that arrives while the events are written.
type stopAfter struct {
	context.Context
	calls int
}

func (c *stopAfter) Err() error {
	if c.calls <= 0 {
		return context.Canceled
	}
	c.calls--
	return nil
}

// TestGenToFileStops: gen --out stops when told to, says so with an error,
// and leaves whole lines.
func TestGenToFileStops(t *testing.T) {
	tests := []struct {
		name    string
		checks  int // how many looks at the context before it is done; -1 never
		want    int // events in the file; -1 all of them
		wantErr bool
	}{
		{name: "runs to the end", checks: -1, want: -1},
		{name: "stopped before the first event", checks: 0, want: 0, wantErr: true},
		{name: "stopped midway", checks: 2, want: 2 * checkEvery, wantErr: true},
	}
	for _, tt := range tests {
		c := gen.DefaultConfig()
		c.Duration, c.Rate, c.Scenarios, c.Speedup = 10*time.Minute, 20, nil, 0
		c.Start = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
		gr, err := gen.New(c)
		if err != nil {
			t.Fatal(err)
		}
		var ctx context.Context = context.Background()
		if tt.checks >= 0 {
			ctx = &stopAfter{Context: ctx, calls: tt.checks}
		}
		path := filepath.Join(t.TempDir(), "events.jsonl")
		err = genToFile(ctx, gr, path, io.Discard)
		switch {
		case tt.wantErr && !errors.Is(err, context.Canceled):
			t.Errorf("%s: got %v, want context.Canceled", tt.name, err)
		case tt.wantErr && !strings.Contains(err.Error(), "stopped after "+strconv.Itoa(tt.want)+" events"):
			t.Errorf("%s: %v does not say how many events were written", tt.name, err)
		case !tt.wantErr && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > 0 && !bytes.HasSuffix(data, []byte("\n")) {
			t.Errorf("%s: the file ends mid-line", tt.name)
		}
		lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
		if len(data) == 0 {
			lines = nil
		}
		for i, l := range lines {
			if !json.Valid(l) {
				t.Errorf("%s: line %d is not JSON: %.80s", tt.name, i+1, l)
				break
			}
		}
		switch {
		case tt.want >= 0 && len(lines) != tt.want:
			t.Errorf("%s: %d events in the file, want %d", tt.name, len(lines), tt.want)
		case tt.want < 0 && len(lines) <= 2*checkEvery:
			t.Errorf("%s: %d events in the file, want the whole stream", tt.name, len(lines))
		}
	}
}
