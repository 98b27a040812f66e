// Package testenv finds the real servers that integration tests talk to. Under CI a
// missing server is a failure, never a skip: a test that cannot reach what it needs
// proves nothing.
package testenv

import (
	"os"
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
