// Package testenv finds the real servers and the shared data that integration
// tests need. Under CI a missing one is a failure, never a skip: a test that
// cannot reach what it needs proves nothing.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func need(t testing.TB, env, what string) string {
	t.Helper()
	v := os.Getenv(env)
	if v != "" {
		return v
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s: %s is not set; run the tests with `make test`, which starts it", what, env)
	}
	t.Skipf("%s: %s is not set; `make test` starts it", what, env)
	return ""
}

// ClickHouse returns the native-protocol address of the test ClickHouse server.
func ClickHouse(t testing.TB) string {
	return need(t, "TRENDWATCH_TEST_CLICKHOUSE", "ClickHouse server")
}

// ChDB returns the folder whose node_modules holds the chdb package.
func ChDB(t testing.TB) string {
	return need(t, "TRENDWATCH_TEST_CHDB", "chDB (node package)")
}

// SharedData returns dir, a folder of the data shared beside the checkout
// (../shared), named relative to the test's package. A checkout without it
// skips the test, saying where the data belongs; under CI it fails the test.
func SharedData(t testing.TB, dir, what string) string {
	t.Helper()
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		return dir
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	msg := fmt.Sprintf("%s not found at %s; it lives in ../shared beside the checkout", what, abs)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
		return ""
	}
	t.Skip(msg)
	return ""
}

// Chromium returns the path of a headless-capable Chromium, for tests that
// check a page as a reader's browser draws it. scripts/test.sh installs
// Debian's chromium when it is missing.
func Chromium(t testing.TB) string { return chromium(t, exec.LookPath) }

func chromium(t testing.TB, lookPath func(string) (string, error)) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := lookPath(name); err == nil {
			return p
		}
	}
	msg := "chromium not found in PATH; install it with `apt-get install chromium` (scripts/test.sh does)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
		return ""
	}
	t.Skip(msg)
	return ""
}
