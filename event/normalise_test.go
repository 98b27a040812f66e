package event

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func TestNormaliseHashtag(t *testing.T) {
	const max = 100
	tests := []struct {
		name    string
		in      string
		max     int
		want    string
		wantErr error
	}{
		{name: "ascii upper", in: "#FYP", want: "fyp"},
		{name: "ascii lower", in: "#fyp", want: "fyp"},
		{name: "no hash", in: "fyp", want: "fyp"},
		{name: "mixed case", in: "#BlackoutChallenge", want: "blackoutchallenge"},
		{name: "digits and underscore", in: "#Nepal_2024", want: "nepal_2024"},
		{name: "fullwidth hash and letters", in: "＃ＦＹＰ", want: "fyp"},
		{name: "fullwidth letters", in: "#ＣＨＡＬＬＥＮＧＥ", want: "challenge"},
		{name: "fullwidth digits", in: "#２０２４", want: "2024"},
		{name: "ligature", in: "#ﬁre", want: "fire"},
		// Nepali "challenge": vowel signs U+0941, U+094C, U+0940 must survive.
		{name: "devanagari intact", in: "#चुनौती", want: "\u091a\u0941\u0928\u094c\u0924\u0940"},
		{name: "devanagari virama", in: "#क्षेत्र", want: "\u0915\u094d\u0937\u0947\u0924\u094d\u0930"},
		{name: "devanagari digits", in: "#नेपाल२०८१", want: "नेपाल२०८१"},
		{name: "bhojpuri", in: "#भोजपुरी", want: "भोजपुरी"},
		{name: "devanagari with ascii", in: "#Nepal_नेपाल", want: "nepal_नेपाल"},
		{name: "devanagari ZWJ half form", in: "#क्\u200dष", want: "क्ष"},
		{name: "devanagari ZWNJ", in: "#क्\u200cष", want: "क्ष"},
		// Every format character that shows nothing is dropped: each of these
		// refused the hashtag until 7 December, hiding the challenge.
		{name: "invisible separator", in: "#blackout\u2063challenge", want: "blackoutchallenge"},
		{name: "invisible times", in: "#black\u2062out", want: "blackout"},
		{name: "bidi isolate", in: "#\u2066blackout\u2069", want: "blackout"},
		{name: "bidi override", in: "#black\u202eout\u202c", want: "blackout"},
		{name: "arabic letter mark", in: "#blackout\u061c", want: "blackout"},
		{name: "mongolian vowel separator", in: "#black\u180eout", want: "blackout"},
		{name: "tag characters", in: "#blackout\U000E0061\U000E007F", want: "blackout"},
		// A visible format character is no letter: refused as before.
		{name: "arabic number sign", in: "#\u0600blackout", wantErr: ErrHashtagRunes},
		// Nukta letters take the full path: U+0958 decomposes under NFKC (composition
		// exclusion), U+0929 is composed from NA + nukta.
		{name: "devanagari nukta exclusion", in: "#\u0958", want: "\u0915\u093c"},
		{name: "devanagari nukta composes", in: "#\u0928\u093c", want: "\u0929"},
		{name: "devanagari danda", in: "#नेपाल।", wantErr: ErrHashtagRunes},
		{name: "emoji variation selector", in: "#fyp\ufe0f", want: "fyp"},
		{name: "text variation selector", in: "#love\ufe0e", want: "love"},
		{name: "zero width space", in: "#f\u200byp", want: "fyp"},
		{name: "soft hyphen", in: "#trend\u00ading", want: "trending"},
		{name: "BOM", in: "\ufeff#fyp", wantErr: ErrHashtagRunes}, // '#' after the BOM is not leading
		{name: "word joiner", in: "#fy\u2060p", want: "fyp"},
		{name: "hangul filler", in: "#fyp\u3164", want: "fyp"},
		{name: "combining grapheme joiner", in: "#fyp\u034f", want: "fyp"},
		{name: "mongolian variation selector", in: "#ᠮ\u180bᠣ", want: "ᠮᠣ"},
		// ZWJ between a letter and its combining mark must not leave them uncomposed.
		{name: "ZWJ before combining mark", in: "#cafe\u200d\u0301", want: "caf\u00e9"},
		{name: "combining acute", in: "#cafe\u0301", want: "caf\u00e9"},
		{name: "precomposed upper", in: "#CAFÉ", want: "caf\u00e9"},
		{name: "german sharp s", in: "#Straße", want: "strasse"},
		{name: "german capital sharp s", in: "#STRAẞE", want: "strasse"},
		{name: "german ss", in: "#STRASSE", want: "strasse"},
		{name: "greek final sigma", in: "#οδος", want: "οδοσ"},
		{name: "greek upper", in: "#ΟΔΟΣ", want: "οδοσ"},
		// Cherokee folds to its upper-case syllables (x/text gets this wrong).
		{name: "cherokee upper", in: "#ᏣᎳᎩ", want: "ᏣᎳᎩ"},
		{name: "cherokee lower", in: "#\uabb3\uab83\uab79", want: "ᏣᎳᎩ"},
		{name: "cherokee mixed", in: "#Ꮳ\uab83\u13f8", want: "Ꮳ\u13b3\u13f0"},
		{name: "j caron", in: "#ǰ", want: "ǰ"},
		{name: "multiple hashes", in: "###fyp", want: "fyp"},
		{name: "mixed hashes", in: "#＃#fyp", want: "fyp"},
		{name: "empty", in: "", wantErr: ErrEmptyHashtag},
		{name: "only hash", in: "#", wantErr: ErrEmptyHashtag},
		{name: "only hashes", in: "#＃##", wantErr: ErrEmptyHashtag},
		{name: "only ignorables", in: "#\u200d\ufe0f", wantErr: ErrEmptyHashtag},
		{name: "space inside", in: "#f yp", wantErr: ErrHashtagRunes},
		{name: "leading space", in: " #fyp", wantErr: ErrHashtagRunes},
		{name: "tab inside", in: "#f\typ", wantErr: ErrHashtagRunes},
		{name: "no-break space", in: "#f\u00a0yp", wantErr: ErrHashtagRunes},
		{name: "ideographic space", in: "#f\u3000yp", wantErr: ErrHashtagRunes},
		{name: "hash inside", in: "#fyp#viral", wantErr: ErrHashtagRunes},
		{name: "hyphen", in: "#k-pop", wantErr: ErrHashtagRunes},
		{name: "exclamation", in: "#fyp!", wantErr: ErrHashtagRunes},
		{name: "dollar", in: "#$money", wantErr: ErrHashtagRunes},
		{name: "at sign", in: "#@user", wantErr: ErrHashtagRunes},
		{name: "emoji", in: "#🔥", wantErr: ErrHashtagRunes},
		{name: "emoji after word", in: "#fire🔥", wantErr: ErrHashtagRunes},
		{name: "emoji ZWJ sequence", in: "#👨\u200d👩\u200d👧", wantErr: ErrHashtagRunes},
		{name: "keycap emoji", in: "#1\ufe0f\u20e3", wantErr: ErrHashtagRunes},
		{name: "math symbol", in: "#a+b", wantErr: ErrHashtagRunes},
		{name: "replacement character", in: "#fyp\ufffd", wantErr: ErrHashtagRunes},
		{name: "zalgo", in: "#a" + strings.Repeat("\u0301\u0316", 20), wantErr: ErrHashtagRunes},
		{name: "max ascii", in: "#" + strings.Repeat("a", max), want: strings.Repeat("a", max)},
		{name: "max ascii upper", in: "#" + strings.Repeat("A", max), want: strings.Repeat("a", max)},
		{name: "over max ascii", in: "#" + strings.Repeat("a", max+1), wantErr: ErrHashtagTooLong},
		{name: "max devanagari", in: "#" + strings.Repeat("क", max), want: strings.Repeat("क", max)},
		{name: "over max devanagari", in: "#" + strings.Repeat("क", max+1), wantErr: ErrHashtagTooLong},
		{name: "max fullwidth", in: "#" + strings.Repeat("Ａ", max), want: strings.Repeat("a", max)},
		{name: "over max fullwidth", in: "#" + strings.Repeat("Ａ", max+1), wantErr: ErrHashtagTooLong},
		// Bounded before the '#'s go: a megabyte of them before a short tag
		// passed as the tag, holding the megabyte.
		{name: "a long run of hashes", in: strings.Repeat("#", 16*max) + "abc", wantErr: ErrHashtagTooLong},
		{name: "a few hashes", in: "###abc", want: "abc"},
		// Ignorables do not count: max runes of text plus a ZWJ after each.
		{name: "max with ignorables", in: "#" + strings.Repeat("é\u200d", max), want: strings.Repeat("é", max)},
		{name: "5000 ascii", in: "#" + strings.Repeat("a", 5000), wantErr: ErrHashtagTooLong},
		{name: "5000 devanagari", in: "#" + strings.Repeat("क", 5000), wantErr: ErrHashtagTooLong},
		{name: "5000 mixed", in: "#" + strings.Repeat("Ｂक", 2500), wantErr: ErrHashtagTooLong},
		{name: "unlimited", in: "#" + strings.Repeat("ab", 1000), max: -1, want: strings.Repeat("ab", 1000)},
		{name: "max 1", in: "#क", max: 1, want: "क"},
		{name: "max 1 over", in: "#कि", max: 1, wantErr: ErrHashtagTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limit := tt.max
			switch limit {
			case 0:
				limit = max
			case -1:
				limit = 0
			}
			got, err := NormaliseHashtag(tt.in, limit)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("NormaliseHashtag(%+q) = %+q, %v; want error %v", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormaliseHashtag(%+q) = %+q, %v; want %+q", tt.in, got, err, tt.want)
			}
			again, err := NormaliseHashtag(got, limit)
			if err != nil || again != got {
				t.Fatalf("not idempotent: NormaliseHashtag(%+q) = %+q, %v", got, again, err)
			}
		})
	}
}

// TestNormaliseHashtagLinear feeds hashtags far beyond any limit; quadratic work on a
// megabyte would take minutes, linear work milliseconds.
func TestNormaliseHashtagLinear(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		max  int
	}{
		{"ascii limited", "#" + strings.Repeat("a", 1<<20), 100},
		{"ascii upper limited", "#" + strings.Repeat("A", 1<<20), 100},
		{"devanagari unlimited", "#" + strings.Repeat("नेपाल", 1<<16), 0},
		{"fullwidth unlimited", "#" + strings.Repeat("Ａｂ", 1<<16), 0},
		{"ignorables unlimited", "#" + strings.Repeat("a\u200d", 1<<16), 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := NormaliseHashtag(tt.in, tt.max)
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("took %v on %d bytes", el, len(tt.in))
			}
			if tt.max > 0 && !errors.Is(err, ErrHashtagTooLong) {
				t.Errorf("err = %v, want ErrHashtagTooLong", err)
			}
			if tt.max == 0 && err != nil {
				t.Errorf("err = %v", err)
			}
		})
	}
}

// TestNormaliseHashtagEveryRune checks the contract on every code point, alone and
// after a letter: success means allowed runes only and a fixed point.
func TestNormaliseHashtagEveryRune(t *testing.T) {
	if testing.Short() {
		t.Skip("walks all of Unicode")
	}
	var ok int
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		for _, in := range []string{string(r), "a" + string(r)} {
			got, err := NormaliseHashtag(in, 100)
			if err != nil {
				if !isNormaliseError(err) {
					t.Fatalf("NormaliseHashtag(%+q): unexpected error %v", in, err)
				}
				continue
			}
			ok++
			checkNormalised(t, in, got, 100)
		}
	}
	if ok < 100000 {
		t.Fatalf("only %d single-rune hashtags accepted; the check is not exercising letters", ok)
	}
}

// TestDevanagariFastPath checks normaliseFast against the full normalisation on every
// pair of runes it accepts, plus random longer strings.
func TestDevanagariFastPath(t *testing.T) {
	var set []rune
	for r := rune(0); r < 0x0980; r++ {
		if s := string(r); r < utf8.RuneSelf || devanagariStable(r) {
			if _, _, ok := normaliseFast(s); ok {
				set = append(set, r)
			}
		}
	}
	for r := rune(0x80); r < 0x180; r++ { // Latin-1 and a few beyond
		if _, _, ok := normaliseFast(string(r)); ok {
			set = append(set, r)
		}
	}
	for r := rune(0xff00); r < 0xff70; r++ { // the fullwidth ASCII forms and a few beyond
		if _, _, ok := normaliseFast(string(r)); ok {
			set = append(set, r)
		}
	}
	if len(set) < 37+100+63+61 {
		t.Fatalf("fast path accepts only %d runes", len(set))
	}
	slow := func(s string) string {
		got, _, err := normaliseSlow(s)
		if err != nil {
			t.Fatalf("normaliseSlow(%+q): %v", s, err)
		}
		return got
	}
	check := func(s string) {
		t.Helper()
		got, n, ok := normaliseFast(s)
		if !ok {
			t.Fatalf("normaliseFast(%+q) refused a string of accepted runes", s)
		}
		if want := slow(s); got != want || n != utf8.RuneCountInString(want) {
			t.Fatalf("normaliseFast(%+q) = %+q, %d; full path gives %+q", s, got, n, want)
		}
	}
	for _, a := range set {
		for _, b := range set {
			check(string([]rune{a, b}))
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		rs := make([]rune, 1+rng.IntN(12))
		for i := range rs {
			rs[i] = set[rng.IntN(len(set))]
		}
		check(string(rs))
	}
	// With ignorables among them the strings take the fast path once those are
	// dropped, and must still come out as the full path has them.
	ign := []rune{0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD, 0xFE0F, 0x034F}
	for range 20000 {
		rs := make([]rune, 1+rng.IntN(12))
		for i := range rs {
			if rng.IntN(3) == 0 {
				rs[i] = ign[rng.IntN(len(ign))]
			} else {
				rs[i] = set[rng.IntN(len(set))]
			}
		}
		s := string(rs)
		got, err := NormaliseHashtag(s, 0)
		want, _, werr := normaliseSlow(s)
		if got != want || (err == nil) != (werr == nil) {
			t.Fatalf("NormaliseHashtag(%+q) = %+q, %v; full path gives %+q, %v", s, got, err, want, werr)
		}
	}
	for _, r := range []rune{0x0929, 0x093C, 0x0951, 0x0958, 0x0964, 0x0980, '#' + 0xFEE0, '-' + 0xFEE0, 0xFF20, 0xFF3B, 0xFF40, 0xFF5B, 0xFF65, 0xFFE1, 0xAA, 0xB5, 0xBA, 0xD7, 0xDF, 0xF7, 0x100} {
		if _, _, ok := normaliseFast(string(r)); ok {
			t.Errorf("normaliseFast accepts %U, which normalisation changes or refuses", r)
		}
	}
}

func isNormaliseError(err error) bool {
	return errors.Is(err, ErrEmptyHashtag) || errors.Is(err, ErrHashtagTooLong) || errors.Is(err, ErrHashtagRunes)
}

// checkNormalised asserts what every successful NormaliseHashtag result must be.
func checkNormalised(t *testing.T, in, got string, maxRunes int) {
	t.Helper()
	if got == "" || !utf8.ValidString(got) {
		t.Fatalf("NormaliseHashtag(%+q) = %+q: empty or invalid UTF-8", in, got)
	}
	n := 0
	for _, r := range got {
		n++
		if !(unicode.IsLetter(r) || unicode.In(r, unicode.Mn, unicode.Mc) || unicode.IsDigit(r) || r == '_') || ignorable(r) {
			t.Fatalf("NormaliseHashtag(%+q) = %+q holds %U", in, got, r)
		}
	}
	if maxRunes > 0 && n > maxRunes {
		t.Fatalf("NormaliseHashtag(%+q) = %+q: %d runes, limit %d", in, got, n, maxRunes)
	}
	if !norm.NFKC.IsNormalString(got) {
		t.Fatalf("NormaliseHashtag(%+q) = %+q is not NFKC", in, got)
	}
	for _, r := range got {
		// Case folding leaves no letter with a lower-case mapping, except Cherokee,
		// which folds to upper case.
		if unicode.ToLower(r) != r && !unicode.Is(unicode.Cherokee, r) {
			t.Fatalf("NormaliseHashtag(%+q) = %+q is not case-folded: %U", in, got, r)
		}
	}
	again, err := NormaliseHashtag(got, maxRunes)
	if err != nil || again != got {
		t.Fatalf("not idempotent: NormaliseHashtag(%+q) = %+q; again = %+q, %v", in, got, again, err)
	}
}

func FuzzNormaliseHashtag(f *testing.F) {
	for _, s := range []string{
		"#FYP", "＃ＦＹＰ", "#ＣＨＡＬＬＥＮＧＥ", "#चुनौती", "#क्\u200dष", "#नेपाल२०८१", "#भोजपुरी",
		"#Straße", "#ΟΔΟΣ", "#cafe\u200d\u0301", "#fyp\ufe0f", "#1\ufe0f\u20e3", "#🔥", "#f yp",
		"#\u0958", "#İstanbul", "#\u0900\u093f\u0940\u097f", "#\xe0\xa4", "#\xe0\xa5\xc0", "#ＴｒｅｎｄｉｎｇＮｏｗ＿２０２４", "#Ｎｅｐａｌ२०८१", "#ＡＢＣ\xef\xbc", "#MúSICA_Forró", "#ÀÉÎÕÜÝÞàÿ", "#ßtraße", "#\xc3", "#a\xc3\xc3", "#ᏣᎳᎩ", "#ﬁre", "#a\u0345\u0301", "", "#", strings.Repeat("ab", 60),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormaliseHashtag(s, 100)
		// The fast path and the full one agree wherever the fast one goes.
		if fast, n, ok := normaliseFast(trimHashes(s)); ok && n > 0 {
			slow, sn, err := normaliseSlow(trimHashes(s))
			if err != nil || slow != fast || sn != n {
				t.Fatalf("normaliseFast(%+q) = %+q, %d; normaliseSlow %+q, %d, %v", s, fast, n, slow, sn, err)
			}
		}
		// The decoder's shortcut past checkText and the full path agree.
		if stable, ok := normaliseStable(s, 100); ok {
			if cerr := checkText(s); cerr != nil || err != nil || stable != got {
				t.Fatalf("normaliseStable(%+q) = %+q; checkText %v, NormaliseHashtag %+q, %v", s, stable, cerr, got, err)
			}
		}
		if err != nil {
			if !isNormaliseError(err) {
				t.Fatalf("NormaliseHashtag(%+q): unexpected error %v", s, err)
			}
			return
		}
		checkNormalised(t, s, got, 100)
		// A limit never changes what is accepted, only whether.
		if unlimited, err := NormaliseHashtag(s, 0); err != nil || unlimited != got {
			t.Fatalf("NormaliseHashtag(%+q, 0) = %+q, %v; with limit 100 %+q", s, unlimited, err, got)
		}
	})
}

// checkLowerASCII holds lowerASCIIHashtag to NormaliseHashtag on s: where the fast
// path takes a tag it must give what the full path gives, and it may refuse only
// tags holding something other than '#', ASCII letters, digits and '_', or none
// of those after the leading '#'s.
func checkLowerASCII(t *testing.T, s string) {
	t.Helper()
	b := []byte(s)
	skip, ok := lowerASCIIHashtag(b)
	want, err := NormaliseHashtag(s, 0)
	if !ok {
		if string(b) != s {
			t.Fatalf("lowerASCIIHashtag(%q) refused the tag but changed it to %q", s, b)
		}
		if err == nil && strings.Trim(strings.TrimLeft(s, "#"), "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == "" {
			t.Fatalf("lowerASCIIHashtag(%q) refused a tag of letters, digits and '_'", s)
		}
		return
	}
	if err != nil {
		t.Fatalf("lowerASCIIHashtag(%q) = %q; NormaliseHashtag refuses it: %v", s, b[skip:], err)
	}
	if got := string(b[skip:]); got != want {
		t.Fatalf("lowerASCIIHashtag(%q) = %q; NormaliseHashtag gives %q", s, got, want)
	}
}

// TestLowerASCIIHashtag runs every ASCII string of up to two bytes, after a '#'
// and after a letter, through both paths.
func TestLowerASCIIHashtag(t *testing.T) {
	for _, s := range []string{"", "#", "##", "#a", "##Ab_9", "#fyp#x", "#f yp", "#Ａ", "_", "#TrendingNow"} {
		checkLowerASCII(t, s)
	}
	for a := 0; a < utf8.RuneSelf; a++ {
		for c := -1; c < utf8.RuneSelf; c++ {
			s := string(rune(a))
			if c >= 0 {
				s += string(rune(c))
			}
			for _, p := range []string{"", "#", "X"} {
				checkLowerASCII(t, p+s)
			}
		}
	}
}

func FuzzLowerASCIIHashtag(f *testing.F) {
	for _, s := range []string{"#FYP", "#fyp", "##Nepal_2024", "#", "", "#a#b", "#a b", "#Ꮳ", "ſ", "K"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkLowerASCII(t, s)
	})
}

// TestEyelashRa: the eyelash ra keeps its word whichever of Unicode's two
// spellings is typed (ra, virama, ZWJ; or U+0931, virama), and stays apart
// from the reph of another word, which dropping the ZWJ made it.
func TestEyelashRa(t *testing.T) {
	norm := func(s string) string {
		t.Helper()
		v, err := NormaliseHashtag(s, 100)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if again, err := NormaliseHashtag(v, 100); err != nil || again != v {
			t.Fatalf("%q: not a fixed point: %q, then %q (%v)", s, v, again, err)
		}
		return v
	}
	zwj, rra, reph := norm("#दर\u094D\u200Dया"), norm("#द\u0931\u094Dया"), norm("#दर्या")
	if zwj != rra {
		t.Errorf("the two spellings of दऱ्या differ: %q and %q", zwj, rra)
	}
	if zwj == reph {
		t.Errorf("दऱ्या and दर्या share %q", zwj)
	}
}
