package clickhouse

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// notebookDir is where the analysts' SQL lives, relative to this package.
const notebookDir = "../../notebooks"

// splitSQL cuts a file of statements at the semicolons that end them, skipping
// semicolons in comments and string literals, and drops statements that are
// only comments.
func splitSQL(src string) []string {
	var (
		out  []string
		cur  strings.Builder
		code bool // cur holds something other than comments and space
	)
	emit := func() {
		if stmt := strings.TrimSpace(cur.String()); code && stmt != "" {
			out = append(out, stmt)
		}
		cur.Reset()
		code = false
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '-' && i+1 < len(src) && src[i+1] == '-':
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				end = len(src) - i
			}
			cur.WriteString(src[i : i+end])
			i += end - 1
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				end = len(src) - i - 2
			} else {
				end += 2
			}
			cur.WriteString(src[i : i+2+end])
			i += 2 + end - 1
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for j < len(src) && src[j] != c {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j, len(src)-1)
			cur.WriteString(src[i : j+1])
			code = true
			i = j
		case c == ';':
			emit()
		default:
			cur.WriteByte(c)
			if c != ' ' && c != '\n' && c != '\t' && c != '\r' {
				code = true
			}
		}
	}
	emit()
	return out
}

func TestSplitSQL(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"empty", "", nil},
		{"comments only", "-- a; b\n/* c; */\n", nil},
		{"two", "SELECT 1;\nSELECT 2;\n", []string{"SELECT 1", "SELECT 2"}},
		{"no trailing semicolon", "SELECT 1", []string{"SELECT 1"}},
		{"semicolon in string", "SELECT 'a;b';", []string{"SELECT 'a;b'"}},
		{"escaped quote", `SELECT 'it\'s;';`, []string{`SELECT 'it\'s;'`}},
		{"semicolon in comment", "SELECT 1 -- x; y\n;", []string{"SELECT 1 -- x; y"}},
		{"block comment", "SELECT /* ; */ 1;", []string{"SELECT /* ; */ 1"}},
		{"leading comment kept", "-- why\nSELECT 1;", []string{"-- why\nSELECT 1"}},
		{"unterminated string", "SELECT 'a", []string{"SELECT 'a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := splitSQL(tt.src); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("splitSQL(%q) = %q, want %q", tt.src, got, tt.want)
			}
		})
	}
}

func FuzzSplitSQL(f *testing.F) {
	f.Add("SELECT 1; SELECT 'a;b' -- c;\n/* d; */")
	f.Add("'")
	f.Add("/*")
	f.Fuzz(func(t *testing.T, src string) {
		for _, s := range splitSQL(src) {
			if strings.TrimSpace(s) == "" {
				t.Fatalf("empty statement from %q", src)
			}
		}
	})
}

// notebookQueries reads every notebook and its statements.
func notebookQueries(t testing.TB) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(notebookDir, "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = splitSQL(string(src))
	}
	return out
}

// TestNotebooksShape checks what the server tests cannot: that there are six
// notebooks, each explained, and that every query runs as written (no
// placeholders an analyst must fill before the first run).
func TestNotebooksShape(t *testing.T) {
	nb := notebookQueries(t)
	if len(nb) != 6 {
		t.Fatalf("found %d notebooks in %s, want 6", len(nb), notebookDir)
	}
	for name, qs := range nb {
		if len(qs) == 0 {
			t.Errorf("%s: no queries", name)
		}
		for i, q := range qs {
			if !strings.HasPrefix(q, "--") {
				t.Errorf("%s query %d: does not start with a comment saying what it answers", name, i+1)
			}
			if strings.Contains(q, "{") {
				t.Errorf("%s query %d: has a {param:Type} placeholder; use a WITH literal so it runs as written", name, i+1)
			}
		}
	}
}
