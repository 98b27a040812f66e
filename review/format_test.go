package review

import (
	"bytes"
	"fmt"
	"html"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/trendwatch/trendwatch/alert"

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
			// "|" and ":" both become "-": only a key's own shape,
			// "detector|kind:value" (or a term's "kind:value"), keeps a
			// plain name.
			name: "separators",
			keys: []string{"surge|sound:snd:1029", "surge|sound:snd|1029", "surge|sound:snd", "surge|sound:snd:2", "surge:sound|snd", "sound:snd", "sound|snd"},
			want: []string{"", "", "review-surge-sound-snd", "", "", "review-sound-snd", ""},
		},
		{
			// A plain name must not look hashed, or the hashed name of
			// another key could equal it.
			name: "a name that looks hashed",
			keys: []string{"hashtag:X", "hashtag|x:" + FileName("hashtag:X")[len("review-hashtag-x-"):], "surge|hashtag:deadbeef", "surge|hashtag:deadbeefs"},
			want: []string{"", "", "", "review-surge-hashtag-deadbeefs"},
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
	tests := []struct {
		key  string
		args []string // the review's store arguments
		want string
	}{
		{"surge|hashtag:blackoutchallenge", nil, `trendwatch verdict 'surge|hashtag:blackoutchallenge' VERDICT --note "…"`},
		{"surge|challenge:x;echo injected $HOME", nil, `trendwatch verdict 'surge|challenge:x;echo injected $HOME' VERDICT --note "…"`},
		{"surge|challenge:it's<b>", nil, `trendwatch verdict 'surge|challenge:it'\''s<b>' VERDICT --note "…"`},
		// A Parquet run's page names its run, or the command fails there.
		{"surge|hashtag:blackoutchallenge", []string{"--parquet", "trendwatch-data/demo 1"},
			`trendwatch verdict 'surge|hashtag:blackoutchallenge' VERDICT --note "…" '--parquet' 'trendwatch-data/demo 1'`},
	}
	for _, tt := range tests {
		inc := fixture()
		inc.Verdict = nil
		for i := range inc.Events {
			inc.Events[i].Alert.Key = tt.key
		}
		p := Build(inc)
		p.VerdictArgs = tt.args
		var b bytes.Buffer
		if err := WriteHTML(&b, p); err != nil {
			t.Fatal(err)
		}
		// The Markdown page offers the same command.
		var md bytes.Buffer
		if err := WriteMarkdown(&md, p); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(md.String(), "\n    "+tt.want+"\n") {
			t.Errorf("%q: the Markdown page does not offer %s:\n%s", tt.key, tt.want, md.String())
		}
		m := hint.FindStringSubmatch(b.String())
		if m == nil {
			t.Errorf("%q: no verdict hint on the page", tt.key)
			continue
		}
		if strings.Contains(m[1], "<b>") {
			t.Errorf("%q: hint not escaped: %s", tt.key, m[1])
		}
		// The key is in a <bdi>, which isolates it without a character of
		// its own in what is copied.
		if got := html.UnescapeString(strings.NewReplacer("<bdi>", "", "</bdi>", "").Replace(m[1])); got != tt.want {
			t.Errorf("%q: hint %s, want %s", tt.key, got, tt.want)
		}
		for _, v := range []string{"<code>true_positive</code>", "<code>false_positive</code>", "<code>unsure</code>"} {
			if !strings.Contains(b.String(), v) {
				t.Errorf("%q: the page does not name the verdict %s", tt.key, v)
			}
		}
	}
}

// TestPageFileNameOpenings: the page of an alert's later opening has a name
// no key's page has, however the key ends.
func TestPageFileNameOpenings(t *testing.T) {
	keys := []string{"surge|sound:snd", "surge|sound:snd:2", "surge|sound:snd-2", "surge|sound:snd~2", "surge|hashtag:Snd", "surge|hashtag:snd"}
	seen := map[string]string{}
	for _, k := range keys {
		for opening := range 3 {
			name := PageFileName(&Page{Key: k, Opening: opening})
			what := fmt.Sprintf("%q opening %d", k, opening+1)
			if other, ok := seen[name]; ok {
				t.Errorf("%s and %s share %q", other, what, name)
			}
			seen[name] = what
		}
	}
	if got, want := PageFileName(&Page{Key: "surge|hashtag:blackoutchallenge", Opening: 1}), "review-surge-hashtag-blackoutchallenge~2"; got != want {
		t.Errorf("second opening named %q, want %q", got, want)
	}
}

// TestIsolate: a term is put between FSI and PDI with its own isolates
// balanced, and isolates gives the templates its pieces, which they write
// in <bdi> elements.
func TestIsolate(t *testing.T) {
	for _, tc := range []struct{ term, want string }{
		{"hashtag:تحدي", "\u2068hashtag:تحدي\u2069"},
		{"a\u2069b", "\u2068ab\u2069"},                     // a stray PDI would end the isolate early
		{"a\u2067b", "\u2068a\u2067b\u2069\u2069"},         // an isolate left open is closed
		{"a\u2066b\u2069c", "\u2068a\u2066b\u2069c\u2069"}, // a balanced one is kept
	} {
		if got := isolate(tc.term); got != tc.want {
			t.Errorf("isolate(%+q) = %+q, want %+q", tc.term, got, tc.want)
		}
	}
	got := isolates("Posts using " + isolate("a\u2067b") + " at 14:30, " + isolate("c") + "\u2069")
	want := []textPart{{"Posts using ", false}, {"a\u2067b\u2069", true}, {" at 14:30, ", false}, {"c", true}, {"\u2069", false}}
	if !slices.Equal(got, want) {
		t.Errorf("isolates: %+v, want %+v", got, want)
	}
}

// TestTermsIsolated: a right-to-left term set inline beside numbers is
// isolated, in <bdi> in HTML and between FSI and PDI in Markdown, and stays
// escaped text.
func TestTermsIsolated(t *testing.T) {
	const rtl = "hashtag:تحدي"
	in := fixture()
	for i := range in.Events {
		a := &in.Events[i].Alert
		a.Key, a.Term = "surge|"+rtl, rtl
	}
	for i := range in.Minutes {
		in.Minutes[i].Term = rtl
	}
	p := Build(in)
	h, m := rendered(t, p, WriteHTML, WriteMarkdown)
	for _, want := range []string{
		"<title>Review: \u2068" + rtl + "\u2069 (surge)</title>",
		`<h1>Post-incident review: <bdi class="term">` + rtl + `</bdi></h1>`,
		`<p id="lead">Posts using <bdi>` + rtl + `</bdi> rose above the expected level at 14:30 UTC.`,
	} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.ContainsAny(h[strings.Index(h, "<body>"):], "\u2068\u2069") {
		t.Error("HTML body holds isolate marks, which a reader would copy")
	}
	if want := "Posts using \u2068" + rtl + "\u2069 rose above the expected level at 14:30 UTC."; !strings.Contains(m, want) {
		t.Errorf("Markdown lacks %q", want)
	}
	// A hostile term in a <bdi> is still text.
	h, _ = rendered(t, Build(fixture()), WriteHTML, WriteMarkdown)
	if want := `<p id="lead">Posts using <bdi>hashtag:&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</bdi> rose`; !strings.Contains(h, want) {
		t.Errorf("HTML lacks %q", want)
	}
	// The digest lists an incident's terms, each isolated.
	a, b := alertOn("surge", rtl, "family:x", 33, alert.SeverityHigh), alertOn("watchlist", "hashtag:x", "family:x", 34, alert.SeverityHigh)
	h, m = rendered(t, BuildDay(t0, []*Incident{a, b}), WriteDayHTML, WriteDayMarkdown)
	if want := "on 2 terms (<bdi>" + rtl + "</bdi>, <bdi>hashtag:x</bdi>)"; !strings.Contains(h, want) {
		t.Errorf("digest HTML lacks %q", want)
	}
	if want := "on 2 terms (\u2068" + rtl + "\u2069, \u2068hashtag:x\u2069)"; !strings.Contains(m, want) {
		t.Errorf("digest Markdown lacks %q", want)
	}
}
