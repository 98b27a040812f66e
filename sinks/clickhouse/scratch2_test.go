package clickhouse

import (
	"context"
	"testing"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

func TestScratchLC(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Addr = []string{"127.0.0.1:19431"}
	ctx := ch.Context(context.Background(), ch.WithSettings(ch.Settings{"allow_experimental_low_cardinality_type": 1}))
	conn, err := dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(conn.Exec(ctx, "DROP TABLE IF EXISTS exp.lc"))
	t.Log(conn.Exec(ctx, "CREATE TABLE exp.lc (a LowCardinality(String), b Array(LowCardinality(String))) ENGINE = MergeTree ORDER BY a"))
	b, err := conn.PrepareBatch(ctx, "INSERT INTO exp.lc (a, b)")
	if err != nil {
		t.Fatal(err)
	}
	t.Log(b.Column(0).Append([]string{"x", "y", "x"}))
	t.Log(b.Column(1).Append([][]string{{"p"}, {"q", "p"}, {}}))
	t.Log(b.Send())
	var n uint64
	t.Log(conn.QueryRow(ctx, "SELECT count() FROM exp.lc WHERE has(b, 'p')").Scan(&n), n)
	rows, err := conn.Query(ctx, "SELECT a, b FROM exp.lc ORDER BY a")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a string
		var bb []string
		t.Log(rows.Scan(&a, &bb), a, bb)
	}
	t.Log(rows.Err())
}
