//go:build integration

package faults

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// binary is the trendwatch binary under test, built once for the package.
var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// faultParallel is how many of these tests run side by side. They spend
// their time waiting on wall-clock faults (a 30 s outage, a minute of failing
// webhooks, a dead member's session timeout), not on the CPU, so they need
// not queue behind GOMAXPROCS.
const faultParallel = 8

func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		if err := flag.Set("test.parallel", strconv.Itoa(faultParallel)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	dir, err := os.MkdirTemp("", "trendwatch-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary.dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// moduleRoot walks up from the test's working directory to go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// trendwatchBinary builds ./cmd/trendwatch once and returns its path.
func trendwatchBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			binary.err = err
			return
		}
		binary.path = filepath.Join(binary.dir, "trendwatch")
		cmd := exec.Command("go", "build", "-o", binary.path, "./cmd/trendwatch")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("go build ./cmd/trendwatch: %w\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// proc is one process of the binary under test, its output in a file.
type proc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	out  string
	done chan struct{}
	err  error // set when done is closed
}

// cleanEnv is the test's environment without trendwatch settings, so a
// developer's shell cannot change what a test runs.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TRENDWATCH_") {
			env = append(env, kv)
		}
	}
	return env
}

func startProc(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	out := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(trendwatchBinary(t), args...)
	cmd.Env = append(cleanEnv(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{t: t, name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		if p.running() {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s output (last 40 lines):\n%s", name, p.tail(40))
		}
	})
	return p
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// kill9 is a crash: no shutdown path runs.
func (p *proc) kill9() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && p.running() {
		p.t.Fatalf("kill -9 %s: %v", p.name, err)
	}
	<-p.done
}

// pause stops the process as a frozen VM or a long stall would (SIGSTOP):
// it neither runs nor heartbeats, and its connections stay open.
func (p *proc) pause() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		p.t.Fatalf("pause %s: %v", p.name, err)
	}
}

// resume lets a paused process run on (SIGCONT).
func (p *proc) resume() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGCONT); err != nil && p.running() {
		p.t.Fatalf("resume %s: %v", p.name, err)
	}
}

// refused waits up to within for p to exit by itself, and checks that it
// exited non-zero with every one of says in its output: a process that must
// not run, saying why.
func (p *proc) refused(within time.Duration, says ...string) {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		p.t.Fatalf("%s still runs %v after it started, or woke:\n%s", p.name, within, p.tail(20))
	}
	var exit *exec.ExitError
	if !errors.As(p.err, &exit) || exit.ExitCode() == 0 {
		p.t.Errorf("%s: exit %v, want non-zero", p.name, p.err)
	}
	out := p.output()
	for _, want := range says {
		if !strings.Contains(out, want) {
			p.t.Errorf("%s's output lacks %q:\n%s", p.name, want, p.tail(10))
		}
	}
}

// stop is a clean shutdown: SIGTERM, and the process must exit by itself.
func (p *proc) stop(timeout time.Duration) error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && p.running() {
		return err
	}
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not exit within %v of SIGTERM", p.name, timeout)
	}
}

func (p *proc) output() string {
	b, _ := os.ReadFile(p.out)
	return string(b)
}

func (p *proc) tail(n int) string {
	lines := strings.Split(strings.TrimRight(p.output(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// rssKiB reads the process's resident set from /proc.
func (p *proc) rssKiB() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid()))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// freeAddr reserves a loopback port long enough to learn a free one.
func freeAddr(t *testing.T) string {
	t.Helper()
	return ports.next(t)
}

// portPicker hands out loopback ports below the kernel's ephemeral range
// (32768 and up here): a port the kernel picked for a listener and then
// released can be taken by an outgoing connection before the child process
// binds it, which port 0 cannot prevent. Ports are never handed out twice.
type portPicker struct {
	mu   sync.Mutex
	used map[int]bool
}

var ports = &portPicker{used: map[int]bool{}}

func (p *portPicker) next(t *testing.T) string {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := 0; i < 1000; i++ {
		port := 10000 + mathrand.IntN(10000) // scripts/test.sh puts ClickHouse at 20000 and above
		if p.used[port] {
			continue
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		ln.Close()
		p.used[port] = true
		return addr
	}
	t.Fatal("no free loopback port in 10000-19999")
	return ""
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		ok, err := cond()
		if ok {
			return
		}
		if err != nil {
			lastErr = err
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s (last error: %v)", timeout, what, lastErr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

const partitions = 6

// brokerProc is `trendwatch broker` with its log on disk.
type brokerProc struct {
	addr, dataDir string
	p             *proc
}

func startBroker(t *testing.T, addr, dataDir string) *brokerProc {
	t.Helper()
	b := &brokerProc{addr: addr, dataDir: dataDir}
	b.start(t)
	return b
}

func (b *brokerProc) start(t *testing.T) {
	t.Helper()
	b.p = startProc(t, "broker", nil, "broker", "--listen", b.addr, "--data-dir", b.dataDir,
		"--partitions", strconv.Itoa(partitions))
	waitFor(t, 30*time.Second, "the broker to serve its topics", func() (bool, error) {
		if !b.p.running() {
			t.Fatalf("broker exited: %v\n%s", b.p.err, b.p.tail(20))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		conn, err := kafka.DialContext(ctx, "tcp", b.addr)
		if err != nil {
			return false, err
		}
		defer conn.Close()
		ps, err := conn.ReadPartitions(contentTopic, reportTopic, deadTopic)
		return err == nil && len(ps) == 3*partitions, err
	})
}

// metrics scrapes a /metrics endpoint into name{labels} → value.
type metrics map[string]float64

func scrape(addr string) (metrics, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	m := metrics{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		m[line[:i]] = v
	}
	return m, nil
}

// sum adds every series of a metric whose labels contain all of match.
func (m metrics) sum(name string, match ...string) float64 {
	var s float64
	for k, v := range m {
		base, labels, _ := strings.Cut(k, "{")
		if base != name {
			continue
		}
		ok := true
		for _, want := range match {
			ok = ok && strings.Contains(labels, want)
		}
		if ok {
			s += v
		}
	}
	return s
}
