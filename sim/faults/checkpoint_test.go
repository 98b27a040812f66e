//go:build integration

package faults

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/internal/testenv"
)

// TestCheckpointRefused corrupts the checkpoint a clean shutdown left, and
// then keeps it intact but changes the configuration it was taken with: each
// time `trendwatch run` must refuse to start, saying why and how to start
// fresh, and `--fresh` must start.
func TestCheckpointRefused(t *testing.T) {
	t.Parallel()
	chAddr := testenv.ClickHouse(t)
	b := startBroker(t, freeAddr(t), t.TempDir())
	cfg := newRunConfig(t, b.addr, chAddr)
	cfg.migrate(t)
	p := cfg.start(t, "run")
	// /metrics answers before the sinks are open; a stop then is a start-up
	// cancelled, which leaves no checkpoint to corrupt.
	waitFor(t, 30*time.Second, "run to start consuming", func() (bool, error) {
		return strings.Contains(p.output(), "msg=consuming"), nil
	})
	if err := p.stop(30 * time.Second); err != nil {
		t.Fatalf("clean shutdown: %v", err)
	}
	path := filepath.Join(cfg.checkpoint, "state.ckpt")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no checkpoint after a clean shutdown: %v", err)
	}

	refused := func(name string, c runConfig, want ...string) {
		t.Helper()
		p := startProc(t, name, c.env(), "run")
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: still running; want it to refuse the checkpoint", name)
		}
		out := p.output()
		for _, w := range append(want, "--fresh") {
			if p.err == nil || !strings.Contains(out, w) {
				t.Errorf("%s: exit %v, output does not say %q:\n%s", name, p.err, w, p.tail(5))
			}
		}
		t.Logf("%s: %s", name, lastLine(out))
	}

	corrupt := append([]byte(nil), good...)
	corrupt[len(corrupt)-10] ^= 0xff
	if err := os.WriteFile(path, corrupt, 0o644); err != nil {
		t.Fatal(err)
	}
	refused("corrupt", cfg, "checksum mismatch")

	if err := os.WriteFile(path, good, 0o644); err != nil {
		t.Fatal(err)
	}
	other := cfg
	other.extra = append(other.extra, "TRENDWATCH_PIPELINE_HISTORY=60")
	refused("mismatched", other, "pipeline.history")

	other.extra = append(other.extra, "TRENDWATCH_CHECKPOINT_FRESH=true")
	p = other.start(t, "fresh")
	// The checkpoint is dealt with once the process owns the consumer group.
	waitFor(t, 30*time.Second, "fresh to start consuming", func() (bool, error) {
		return strings.Contains(p.output(), "msg=consuming"), nil
	})
	if err := p.stop(30 * time.Second); err != nil {
		t.Fatalf("clean shutdown after --fresh: %v", err)
	}
	if !strings.Contains(p.output(), "starting fresh") {
		t.Errorf("checkpoint.fresh did not say it discarded the checkpoint:\n%s", p.tail(10))
	}
}
