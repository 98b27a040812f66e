//go:build integration

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestReadmeRecipe runs the README's install step and its "Feeding the
// broker" recipe as written, so the README cannot drift from the binary: a
// renamed flag, a missing install step or a sample config that no longer
// loads fails here. Only the addresses change, to free ports, so the test
// does not collide with a broker or a pipeline already running. The recipe's
// stream is fixed (seed and start), so the alerts are too.
func TestReadmeRecipe(t *testing.T) {
	if _, err := exec.LookPath("kcat"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("kcat not found; `make test` installs it (apt-get install kcat)")
		}
		t.Skip("kcat not found")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	install := shellBlock(t, readme, "go install ./cmd/trendwatch")
	recipe := shellBlock(t, readme, "trendwatch broker")

	// Install into a directory of the test's own rather than the user's GOBIN.
	bin := t.TempDir()
	env := append(os.Environ(), "GOBIN="+bin, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	for _, line := range install {
		runLine(ctx, t, root, env, line)
	}
	if _, err := os.Stat(filepath.Join(bin, "trendwatch")); err != nil {
		t.Fatalf("the README's install step %q left no trendwatch binary: %v", install, err)
	}

	// The recipe runs from the repository root, where trendwatch.yaml is; a
	// copy with free ports keeps the files it writes out of the tree.
	work := t.TempDir()
	brokerAddr, metricsAddr := freeAddr(t), freeAddr(t)
	sample, err := os.ReadFile(filepath.Join(root, "trendwatch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sample = bytes.ReplaceAll(sample, []byte("127.0.0.1:9092"), []byte(brokerAddr))
	sample = bytes.ReplaceAll(sample, []byte("127.0.0.1:9464"), []byte(metricsAddr))
	if err := os.WriteFile(filepath.Join(work, "trendwatch.yaml"), sample, 0o644); err != nil {
		t.Fatal(err)
	}

	var ran bool
	for _, line := range recipe {
		line = strings.ReplaceAll(line, "127.0.0.1:9092", brokerAddr)
		switch {
		case strings.HasSuffix(line, "&"):
			startLine(ctx, t, work, env, strings.TrimSuffix(line, "&"))
			waitListening(ctx, t, brokerAddr)
		case strings.Contains(line, "trendwatch run"):
			runUntilAlert(ctx, t, work, env, line)
			ran = true
		default:
			runLine(ctx, t, work, env, line)
		}
	}
	if !ran {
		t.Fatalf("the recipe %q never runs the pipeline", recipe)
	}

	labels, err := os.ReadFile(filepath.Join(work, "labels.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	watched := false
	for _, l := range bytes.Split(bytes.TrimSpace(labels), []byte("\n")) {
		var lab struct {
			Term      string `json:"term"`
			Watchlist bool   `json:"watchlist"`
		}
		if err := json.Unmarshal(l, &lab); err != nil {
			t.Fatalf("labels.jsonl: %v: %s", err, l)
		}
		watched = watched || (lab.Term == "hashtag:blackoutchallenge" && lab.Watchlist)
	}
	if !watched {
		t.Error("labels.jsonl does not mark hashtag:blackoutchallenge as watchlisted; the test's premise is gone")
	}
	files, _ := filepath.Glob(filepath.Join(work, "trendwatch-data", "alert_events", "*", "*", "*.parquet"))
	if len(files) == 0 {
		t.Error("the recipe's run wrote no alert_events Parquet file under ./trendwatch-data")
	}
}

// shellBlock returns the commands of the first ```sh block of the README that
// contains marker: comments and blank lines dropped.
func shellBlock(t *testing.T, readme []byte, marker string) []string {
	t.Helper()
	var block []string
	in := false
	for _, line := range strings.Split(string(readme), "\n") {
		switch {
		case !in && strings.TrimSpace(line) == "```sh":
			in, block = true, nil
		case in && strings.TrimSpace(line) == "```":
			for _, l := range block {
				if strings.Contains(l, marker) {
					return block
				}
			}
			in = false
		case in:
			if i := strings.Index(line, " #"); i >= 0 {
				line = line[:i]
			}
			if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
				block = append(block, l)
			}
		}
	}
	t.Fatalf("README.md has no ```sh block with %q", marker)
	return nil
}

func shell(ctx context.Context, dir string, env []string, line string) *exec.Cmd {
	if strings.Contains(line, "|") {
		line = "set -o pipefail; " + line
	}
	// A single command is exec'd by bash, so a signal reaches it directly and
	// its exit status is the command's.
	cmd := exec.CommandContext(ctx, "bash", "-c", line)
	cmd.Dir, cmd.Env = dir, env
	// A group of its own, so stopping it stops the pipeline's processes too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

func runLine(ctx context.Context, t *testing.T, dir string, env []string, line string) {
	t.Helper()
	if out, err := shell(ctx, dir, env, line).CombinedOutput(); err != nil {
		t.Fatalf("README command %q: %v\n%s", line, err, out)
	}
}

// startLine starts a command the README puts in the background and stops it
// when the test ends.
func startLine(ctx context.Context, t *testing.T, dir string, env []string, line string) {
	t.Helper()
	cmd := shell(ctx, dir, env, line)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("README command %q: %v", line, err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s:\n%s", line, out.String())
		}
	})
}

// runUntilAlert runs the pipeline until it alerts on the watchlisted
// challenge, then stops it as an operator would and expects a clean exit.
func runUntilAlert(ctx context.Context, t *testing.T, dir string, env []string, line string) {
	t.Helper()
	cmd := shell(ctx, dir, env, line)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("README command %q: %v", line, err)
	}
	var (
		mu  sync.Mutex
		log strings.Builder
	)
	found := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			l := sc.Text()
			mu.Lock()
			fmt.Fprintln(&log, l)
			mu.Unlock()
			if strings.Contains(l, "msg=alert") && strings.Contains(l, "detector=watchlist") &&
				strings.Contains(l, "term=hashtag:blackoutchallenge") && strings.Contains(l, "status=open") {
				select {
				case found <- l:
				default:
				}
			}
		}
	}()
	var alertLine string
	select {
	case alertLine = <-found:
	case <-time.After(2 * time.Minute):
	case <-ctx.Done():
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	<-scanned
	waitErr := cmd.Wait()
	mu.Lock()
	defer mu.Unlock()
	if alertLine == "" {
		t.Fatalf("%q: no watchlist alert on hashtag:blackoutchallenge within 2 minutes; log:\n%s", line, log.String())
	}
	if !strings.Contains(alertLine, "severity=critical") && !strings.Contains(alertLine, "severity=high") {
		t.Errorf("the watchlisted challenge opened below high: %s", alertLine)
	}
	if waitErr != nil {
		t.Errorf("%q did not shut down cleanly on SIGTERM: %v; log:\n%s", line, waitErr, log.String())
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitListening(ctx context.Context, t *testing.T, addr string) {
	t.Helper()
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("nothing listens on %s: %v", addr, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
