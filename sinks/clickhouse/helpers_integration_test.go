//go:build integration

package clickhouse

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/trendwatch/trendwatch/internal/testenv"
)

// testConfig points at the test server with a database of the test's own,
// dropped when the test ends.
func testConfig(t *testing.T) Config {
	t.Helper()
	addr := testenv.ClickHouse(t)
	cfg := DefaultConfig()
	cfg.Addr = []string{addr}
	name := strings.NewReplacer("/", "_", "-", "_").Replace(t.Name())
	cfg.Database = fmt.Sprintf("tw_%s_%d", strings.ToLower(name), rand.Uint32())
	cfg.FlushInterval = 50 * time.Millisecond
	cfg.MaxRetryDelay = 200 * time.Millisecond
	cfg.WriteTimeout = 10 * time.Second
	cfg.CloseTimeout = 5 * time.Second
	t.Cleanup(func() {
		conn := directConn(t, addr, "")
		if err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS `"+cfg.Database+"`"); err != nil {
			t.Logf("dropping %s: %v", cfg.Database, err)
		}
	})
	return cfg
}

// directConn talks to the server without the sink, as an analyst would.
func directConn(t testing.TB, addr, db string) driver.Conn {
	t.Helper()
	conn, err := ch.Open(&ch.Options{Addr: []string{addr}, Auth: ch.Auth{Database: db, Username: "default"}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func migrated(t *testing.T, cfg Config) {
	t.Helper()
	if _, err := Migrate(context.Background(), cfg, nil); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
}

func openSink(t *testing.T, cfg Config) (*Sink, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	s, err := Open(context.Background(), cfg, nil, reg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, reg
}

// table is a query result with every cell as text, so results from the Go
// driver and from chDB's JSON compare the same way.
type table struct {
	cols []string
	rows [][]string
}

func (tb table) col(name string) int {
	for i, c := range tb.cols {
		if c == name {
			return i
		}
	}
	return -1
}

// cell is the named column of row i, or "<no column X>".
func (tb table) cell(i int, name string) string {
	c := tb.col(name)
	if c < 0 {
		return "<no column " + name + ">"
	}
	if i >= len(tb.rows) {
		return fmt.Sprintf("<no row %d>", i)
	}
	return tb.rows[i][c]
}

func (tb table) String() string {
	var b strings.Builder
	b.WriteString(strings.Join(tb.cols, " | "))
	for _, r := range tb.rows {
		b.WriteString("\n" + strings.Join(r, " | "))
	}
	return b.String()
}

func text(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		s := v.UTC().Format("2006-01-02 15:04:05.000")
		return strings.TrimSuffix(s, ".000")
	case []string:
		return "[" + strings.Join(v, " ") + "]"
	case float64:
		return fmt.Sprint(v)
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return "NULL"
		}
		return text(rv.Elem().Interface())
	}
	return fmt.Sprint(v)
}

func query(ctx context.Context, conn driver.Conn, sql string) (table, error) {
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return table{}, err
	}
	defer rows.Close()
	var tb table
	tb.cols = rows.Columns()
	types := rows.ColumnTypes()
	for rows.Next() {
		vals := make([]any, len(types))
		for i, ct := range types {
			vals[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(vals...); err != nil {
			return tb, err
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = text(reflect.ValueOf(v).Elem().Interface())
		}
		tb.rows = append(tb.rows, row)
	}
	return tb, rows.Err()
}

func mustQuery(t *testing.T, conn driver.Conn, sql string) table {
	t.Helper()
	tb, err := query(context.Background(), conn, sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return tb
}

func gauge(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

// proxy forwards TCP to the server and can be taken down and brought back on
// the same port: a ClickHouse outage the test controls.
type proxy struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target, conns: map[net.Conn]struct{}{}}
	p.listen("127.0.0.1:0")
	p.addr = p.ln.Addr().String()
	t.Cleanup(p.down)
	return p
}

func (p *proxy) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatalf("proxy listen %s: %v", addr, err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
}

func (p *proxy) serve(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	go func() { io.Copy(up, c); up.Close() }()
	io.Copy(c, up)
	c.Close()
}

func (p *proxy) up() { p.listen(p.addr) }

// down refuses new connections and cuts the open ones.
func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}
