package testenv

import (
	"errors"
	"fmt"
	"testing"
)

// outcome records how a test ended instead of ending it.
type outcome struct {
	testing.TB
	skipped, failed string
}

func (o *outcome) Helper()           {}
func (o *outcome) Skip(args ...any)  { o.skipped = fmt.Sprint(args...) }
func (o *outcome) Fatal(args ...any) { o.failed = fmt.Sprint(args...) }

func TestSharedData(t *testing.T) {
	here := t.TempDir()
	cases := []struct {
		name, dir, ci   string
		want            string
		skipped, failed bool
	}{
		{"present", here, "", here, false, false},
		{"present under CI", here, "true", here, false, false},
		{"absent: skip", here + "/nab", "", "", true, false},
		{"absent under CI: fail", here + "/nab", "true", "", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			o := &outcome{TB: t}
			got := SharedData(o, tc.dir, "NAB corpus")
			if got != tc.want || (o.skipped != "") != tc.skipped || (o.failed != "") != tc.failed {
				t.Fatalf("got %q, skipped %q, failed %q", got, o.skipped, o.failed)
			}
			if msg := o.skipped + o.failed; msg != "" && msg != "NAB corpus not found at "+tc.dir+"; it lives in ../shared beside the checkout" {
				t.Errorf("message %q", msg)
			}
		})
	}
}

func TestChromium(t *testing.T) {
	found := func(name string) (string, error) {
		if name == "chromium-browser" {
			return "/usr/bin/chromium-browser", nil
		}
		return "", errors.New("not found")
	}
	missing := func(string) (string, error) { return "", errors.New("not found") }
	for _, tc := range []struct {
		name            string
		look            func(string) (string, error)
		ci              string
		want            string
		skipped, failed bool
	}{
		{"present", found, "", "/usr/bin/chromium-browser", false, false},
		{"absent: skip", missing, "", "", true, false},
		{"absent under CI: fail", missing, "true", "", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			o := &outcome{TB: t}
			got := chromium(o, tc.look)
			if got != tc.want || (o.skipped != "") != tc.skipped || (o.failed != "") != tc.failed {
				t.Fatalf("got %q, skipped %q, failed %q", got, o.skipped, o.failed)
			}
		})
	}
}
