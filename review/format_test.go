package review

import (
	"bytes"
	"html"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// TestFileNameUnique: keys that differ get names that differ on every file
// system, including those that compare names without case (macOS,
// Windows) or in any Unicode normal form (macOS), while a key that is
// already safe keeps the name it always had.
func TestFileNameUnique(t *testing.T) {
	tests := []struct {
		name string
		keys []string // each pair must get distinct names
		want []string // the name of each key; "" any name with a hash
	}{
		{
			name: "trailing and leading dots",
			keys: []string{"surge|challenge:ch9", "surge|challenge:ch9.", "surge|challenge:ch9..", ".surge|challenge:ch9", "surge|challenge:.ch9"},
			want: []string{"review-surge-challenge-ch9", "", "", "", "review-surge-challenge-.ch9"},
		},
		{
			name: "case",
			keys: []string{"surge|challenge:ch9", "surge|challenge:CH9", "surge|challenge:Ch9"},
			want: []string{"review-surge-challenge-ch9", "", ""},
		},
		{
			name: "letters that share a capital",
			keys: []string{"surge|hashtag:ılık", "surge|hashtag:ilik", "surge|hashtag:σς", "surge|hashtag:σσ", "surge|hashtag:k", "surge|hashtag:\u212a"},
			want: []string{"", "review-surge-hashtag-ilik", "", "review-surge-hashtag-σσ", "review-surge-hashtag-k", ""},
		},
		{
			name: "full case folding",
			keys: []string{"surge|hashtag:straße", "surge|hashtag:strasse"},
			want: []string{"", "review-surge-hashtag-strasse"},
		},
		{
			name: "normal forms",
			keys: []string{"surge|hashtag:caf\u00e9", "surge|hashtag:cafe\u0301"},
			want: []string{"review-surge-hashtag-café", ""},
		},
		{
			name: "Devanagari keeps its vowel signs and viramas",
			keys: []string{"surge|challenge:चुनौती", "surge|hashtag:ब्लैकआउटचैलेंज", "surge|challenge:च_न_त_"},
			want: []string{"review-surge-challenge-चुनौती", "review-surge-hashtag-ब्लैकआउटचैलेंज", "review-surge-challenge-च_न_त_"},
		},
	}
	fold := cases.Fold()
	// key is how a case- and normalisation-insensitive file system compares
	// names.
	key := func(s string) string { return norm.NFD.String(fold.String(s)) }
	for _, tt := range tests {
		names := make([]string, len(tt.keys))
		for i, k := range tt.keys {
			names[i] = FileName(k)
			hashed := regexp.MustCompile(`-[0-9a-f]{8}$`).MatchString(names[i])
			switch w := tt.want[i]; {
			case w == "" && !hashed:
				t.Errorf("%s: FileName(%q) = %q, want a name with a hash", tt.name, k, names[i])
			case w != "" && names[i] != w:
				t.Errorf("%s: FileName(%q) = %q, want %q", tt.name, k, names[i], w)
			}
			if strings.HasSuffix(names[i], ".") || strings.ContainsAny(names[i], `/\<>|:"?*`) {
				t.Errorf("%s: FileName(%q) = %q, not a safe name", tt.name, k, names[i])
			}
		}
		for i := range names {
			for j := range i {
				if key(names[i]) == key(names[j]) {
					t.Errorf("%s: %q and %q share the file %q", tt.name, tt.keys[j], tt.keys[i], names[i])
				}
				if a, b := IncidentFileName(t0, tt.keys[i]), IncidentFileName(t0, tt.keys[j]); key(a) == key(b) {
					t.Errorf("%s: incidents %q and %q share the file %q", tt.name, tt.keys[j], tt.keys[i], a)
				}
			}
		}
	}
}

// TestShellQuote: the key reaches the command as one word, as it is. It
// compares text and never runs a shell: a regression must not execute what
// a hostile key holds.
func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"surge|hashtag:blackoutchallenge", `'surge|hashtag:blackoutchallenge'`},
		{"surge|challenge:a;echo injected $HOME", `'surge|challenge:a;echo injected $HOME'`},
		{"surge|challenge:it's", `'surge|challenge:it'\''s'`},
		{"surge|challenge:''", `'surge|challenge:'\'''\'''`},
		{`surge|challenge:"$(id)"` + "`id`\\", `'surge|challenge:"$(id)"` + "`id`\\'"},
		{"", "''"},
	}
	for _, tt := range tests {
		if got := shellQuote(tt.in); got != tt.want {
			t.Errorf("shellQuote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestVerdictHint: the command an unreviewed page offers can be pasted into
// a shell whatever the key holds.
func TestVerdictHint(t *testing.T) {
	hint := regexp.MustCompile(`Record one with <code>(.*?)</code>`)
	tests := []struct{ key, want string }{
		{"surge|hashtag:blackoutchallenge", `trendwatch verdict 'surge|hashtag:blackoutchallenge' VERDICT --note "…"`},
		{"surge|challenge:x;echo injected $HOME", `trendwatch verdict 'surge|challenge:x;echo injected $HOME' VERDICT --note "…"`},
		{"surge|challenge:it's<b>", `trendwatch verdict 'surge|challenge:it'\''s<b>' VERDICT --note "…"`},
	}
	for _, tt := range tests {
		inc := fixture()
		inc.Verdict = nil
		for i := range inc.Events {
			inc.Events[i].Alert.Key = tt.key
		}
		var b bytes.Buffer
		if err := WriteHTML(&b, Build(inc)); err != nil {
			t.Fatal(err)
		}
		m := hint.FindStringSubmatch(b.String())
		if m == nil {
			t.Errorf("%q: no verdict hint on the page", tt.key)
			continue
		}
		if strings.Contains(m[1], "<b>") {
			t.Errorf("%q: hint not escaped: %s", tt.key, m[1])
		}
		if got := html.UnescapeString(m[1]); got != tt.want {
			t.Errorf("%q: hint %s, want %s", tt.key, got, tt.want)
		}
		for _, v := range []string{"<code>true_positive</code>", "<code>false_positive</code>", "<code>unsure</code>"} {
			if !strings.Contains(b.String(), v) {
				t.Errorf("%q: the page does not name the verdict %s", tt.key, v)
			}
		}
	}
}
