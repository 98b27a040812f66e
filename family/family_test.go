package family

import (
	"bufio"
	"compress/gzip"
	"os"
	"sort"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/trendwatch/trendwatch/event"
)

func TestKeyMeetsSpellings(t *testing.T) {
	tests := []struct {
		name  string
		typed []string
	}{
		{"blackout challenge", []string{
			"#blackoutchallenge", "#blackout_challenge", "#bl4ckoutchallenge", "#blackoutchalenge",
			"#bIackoutchallenge", "#BlackoutChallenge", "#blackout__challenge",
			"#blасkоutсhаllеngе", // Cyrillic а, с, о, е
			"#ｂｌａｃｋｏｕｔｃｈａｌｌｅｎｇｅ", // fullwidth
			"#ब्लैकआउटचैलेंज",
			"#blaikaautchailenj", // romanised Hindi
			"#blackoutchaalenj",
		}},
		{"dal bhat challenge", []string{"#दालभातचैलेंज", "#daalbhaatchallenge", "#dalbhat_chalenge", "#daal_bhaat_chaalenj"}},
		{"skull breaker", []string{"#skullbreakerchallenge", "#skullbr3akerchallenge", "#sku11breakerchallenge", "#skullbreaker_challenge"}},
	}
	for _, tt := range tests {
		var keys []string
		for _, s := range tt.typed {
			v, err := event.NormaliseHashtag(s, 100)
			if err != nil {
				t.Fatalf("%s: %q: %v", tt.name, s, err)
			}
			keys = append(keys, Key(v))
		}
		for i, k := range keys {
			if k != keys[0] {
				t.Errorf("%s: %q has key %q, %q has %q", tt.name, tt.typed[i], k, tt.typed[0], keys[0])
			}
		}
	}
}

func TestKeyKeepsApart(t *testing.T) {
	tests := []struct{ a, b string }{
		{"fyp", "fyq"},
		{"lol", "l0l"},         // short: plain
		{"hoping", "hopping"},  // below MinLoose
		{"covid19", "covidlg"}, // numbers stay numbers
		{"cats_dogs10", "cats_dogs100"},
		{"illegitimate", "legitimate"},
		{"cartoons", "cartons"},
		{"commandeers", "commanders"},
		{"dance2", "dance"},
		{"भारत", "भरत"},
	}
	for _, tt := range tests {
		if ka, kb := Key(tt.a), Key(tt.b); ka == kb {
			t.Errorf("%q and %q share key %q", tt.a, tt.b, ka)
		}
	}
}

func TestKeyShortIsPlain(t *testing.T) {
	for _, s := range []string{"fyp", "l0l", "ootd", "a_b", "bl4k"} {
		if k := Key(s); k != s {
			t.Errorf("Key(%q) = %q, want the term itself", s, k)
		}
	}
}

func TestOf(t *testing.T) {
	tests := []struct {
		term, want string
		ok         bool
	}{
		{"hashtag:blackout_challenge", "family:blakautchalenj", true},
		{"hashtag:fyp", "family:fyp", true},
		{"challenge:123", "", false},
		{"sound:blackoutchallenge", "", false},
	}
	for _, tt := range tests {
		got, ok := Of(tt.term)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Of(%q) = %q, %v; want %q, %v", tt.term, got, ok, tt.want, tt.ok)
		}
	}
}

// FalseMerges groups words by key and counts, in each group, the words beyond the
// first that are not spelling variants of another: a word that equals another
// once doubled consonants are undoubled (canceled, cancelled) or marks dropped
// (angstrom, ångström) is a variant, not a false merge.
func FalseMerges(words []string, key func(string) string) (merges int, examples []string) {
	groups := map[string][]string{}
	for _, w := range words {
		k := key(w)
		groups[k] = append(groups[k], w)
	}
	for _, g := range groups {
		seen := map[string]bool{}
		var distinct []string
		for _, w := range g {
			if v := variantForm(w); !seen[v] {
				seen[v] = true
				distinct = append(distinct, w)
			}
		}
		if len(distinct) > 1 {
			merges += len(distinct) - 1
			sort.Strings(distinct)
			examples = append(examples, strings.Join(distinct, "/"))
		}
	}
	sort.Strings(examples)
	return merges, examples
}

func variantForm(w string) string {
	var b []rune
	for _, r := range norm.NFD.String(w) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		if n := len(b); n > 0 && b[n-1] == r && !strings.ContainsRune("aeiou", r) {
			continue
		}
		b = append(b, r)
	}
	return string(b)
}

func readWords(t testing.TB) []string {
	f, err := os.Open("testdata/wamerican-words.txt.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var words []string
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		words = append(words, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return words
}

// TestFalseMerges measures false merges on 73,604 English words taken as
// hashtags. Measured: 3 (0.41 per 10,000): chairwoman/charwoman,
// chairwomen/charwomen and headwaiters/headwaters, all by ai → a.
func TestFalseMerges(t *testing.T) {
	words := readWords(t)
	if len(words) != 73604 {
		t.Fatalf("%d words, want 73604", len(words))
	}
	merges, examples := FalseMerges(words, Key)
	per10k := float64(merges) * 1e4 / float64(len(words))
	t.Logf("%d false merges in %d words (%.2f per 10,000): %v", merges, len(words), per10k, examples)
	if merges > 3 || per10k > 1 {
		t.Errorf("%d false merges (%.2f per 10,000), measured 3: %v", merges, per10k, examples)
	}
}

func BenchmarkKey(b *testing.B) {
	for _, bm := range []struct{ name, s string }{
		{"ascii", "blackout_challenge"},
		{"ascii_short", "fyp"},
		{"ascii_word", "foryoupage"},
		{"devanagari", "ब्लैकआउटचैलेंज"},
		{"cyrillic", "blасkоutсhаllеngе"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Key(bm.s)
			}
		})
	}
}

func FuzzKey(f *testing.F) {
	for _, s := range []string{"blackoutchallenge", "bl4ck0ut", "ब्लैकआउटचैलेंज", "blасk", "a_1_b", "क़ज़ा", "ि्ं", "1234", "x$y@z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := event.NormaliseHashtag(s, 100)
		if err != nil {
			return
		}
		k := Key(v)
		if k == "" {
			t.Fatalf("Key(%q) is empty", v)
		}
		if k != Key(v) {
			t.Fatalf("Key(%q) is not deterministic", v)
		}
		if !utf8Valid(k) {
			t.Fatalf("Key(%q) = %q is not UTF-8", v, k)
		}
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// TestKeyNormalisation: a tag is keyed alike however its letters are
// composed: precomposed and decomposed nukta letters, accented Latin in NFC
// and NFD; and AppendKey agrees with KeyOf.
func TestKeyNormalisation(t *testing.T) {
	tests := []struct{ a, b string }{
		{"\u0958\u095Bाचैलेंज", "क\u093Cज\u093Cाचैलेंज"}, // क़ज़ा, precomposed and decomposed
		{"फ़िल्मचैलेंज", "फ\u093Cिल्मचैलेंज"},
		{"caf\u00e9challenge", "cafe\u0301challenge"},
		{"ब्लैकआउट_challenge", "blackout_challenge"},
	}
	for _, tt := range tests {
		if ka, kb := Key(tt.a), Key(tt.b); ka != kb {
			t.Errorf("Key(%q) = %q, Key(%q) = %q", tt.a, ka, tt.b, kb)
		}
	}
	for _, s := range []string{"fyp", "blackout_challenge", "ब्लैकआउटचैलेंज", "blасk", "नाच", "café"} {
		k, own := KeyOf(s)
		b, bown := AppendKey([]byte("family:"), s)
		if string(b) != "family:"+k || bown != own {
			t.Errorf("AppendKey(%q) = %q, %v; KeyOf = %q, %v", s, b, bown, k, own)
		}
	}
}
