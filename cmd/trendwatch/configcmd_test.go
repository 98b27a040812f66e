package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigChecksFile: `trendwatch config --config FILE` loads and
// validates the file as run does, so that a configuration can be checked
// before a deployment; before, the file was not read at all and a typo or a
// missing file passed.
func TestConfigChecksFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tt := range []struct {
		name, file, want string
	}{
		{"good", write("good.yaml", "window:\n  bucket: 1m\n"), ""},
		{"unknown key", write("typo.yaml", "window:\n  bukket: 1m\n"), "window.bukket"},
		{"bad value", write("bad.yaml", "window:\n  bucket: 7m\n"), "window.bucket"},
		{"missing", filepath.Join(dir, "none.yaml"), "none.yaml"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := newRoot()
			var out, errOut bytes.Buffer
			root.SetOut(&out)
			root.SetErr(&errOut)
			root.SetArgs([]string{"config", "--config", tt.file, "window"})
			err := root.Execute()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("config --config %s: %v", tt.file, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("config --config %s: %v, want an error naming %q", tt.file, err, tt.want)
			case tt.want == "" && !strings.Contains(out.String(), "window.bucket"):
				t.Errorf("no keys listed:\n%s", out.String())
			}
		})
	}
}
