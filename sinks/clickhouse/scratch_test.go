package clickhouse

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestScratchDump(t *testing.T) {
	for _, d := range []dialect{dialectLegacy, dialectModern} {
		sc := schema{db: "tw", dialect: d, retentionDays: 30}
		var b strings.Builder
		for _, m := range migrations() {
			for _, s := range m.ddl(sc) {
				fmt.Fprintf(&b, "%s;\n", s)
			}
		}
		os.WriteFile("/tmp/chsink-exp/ddl_"+d.String()+".sql", []byte(b.String()), 0o644)
	}
}

func TestScratchMigrate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Addr = []string{"127.0.0.1:19431"}
	cfg.Database = "scratch"
	a, err := Migrate(context.Background(), cfg, nil)
	t.Log(a, err)
	a, err = Migrate(context.Background(), cfg, nil)
	t.Log(a, err)
}
