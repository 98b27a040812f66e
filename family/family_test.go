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
			"#blасkоutсhаllеngе",                       // Cyrillic а, с, о, е
			"#blacкoutchallenge", "#blackouтchallenge", // Cyrillic к, т: read as small capitals (ĸ, ᴛ), followed to k, t
			"#blackoutcнallenge", "#вlackoutchallenge", // Cyrillic н, в (ʜ, ʙ)
			"#blacĸoutchallenge",                       // kra
			"#ΒlackoutChallenge", "#BLACKOUTCHALLΕNGΕ", // Greek capitals Β, Ε: folded to β, ε, read as their capitals
			"#ｂｌａｃｋｏｕｔｃｈａｌｌｅｎｇｅ",                       // fullwidth
			"#ʙʟᴀᴄᴋᴏᴜᴛᴄʜᴀʟʟᴇɴɢᴇ",                       // small capitals, as "fancy text" generators write them
			"#bʟackoutchallenge",                       // one of them
			"#𝓫𝓵𝓪𝓬𝓴𝓸𝓾𝓽𝓬𝓱𝓪𝓵𝓵𝓮𝓷𝓰𝓮", "#ⓑⓛⓐⓒⓚⓞⓤⓣⓒⓗⓐⓛⓛⓔⓝⓖⓔ", // script and circled (NFKC)
			"#ब्लैकआउटचैलेंज",
			"#ब्ल्याकआउटच्यालेन्ज", // Nepali: the vowel of "black" as ya-phala and ā
			"#ब्लॅकआउटचॅलेंज",      // Marathi: as candra e
			"#blaikaautchailenj",   // romanised Hindi
			"#blackoutchaalenj",
		}},
		// Capitals that look like Latin ones, folded to small letters that
		// do not: Greek Μ, Α, Χ, Ζ and Cyrillic М, А, Х.
		{"max challenge", []string{"#maxchallenge", "#ΜΑΧCHALLENGE", "#МАХChallenge", "#MaΧChallenge"}},
		{"zombie challenge", []string{"#zombiechallenge", "#ΖombieChallenge"}},
		// A vowel drawn out for emphasis, as tags are typed.
		{"drawn out", []string{"#blackoutchallenge", "#blackoutchallengeee", "#blackooooutchallenge", "#blackoutchaaallenge"}},
		{"Nepali challenge", []string{"#nepalichallenge", "#नेपालीच्यालेन्ज", "#नेपालीचैलेंज"}},
		// A nasal sign before a labial is said m, as म् writes it.
		{"champaran", []string{"#चंपारणचैलेंज", "#चम्पारणचैलेंज", "#champaranchallenge"}},
		{"dal bhat challenge", []string{"#दालभातचैलेंज", "#daalbhaatchallenge", "#dalbhat_chalenge", "#daal_bhaat_chaalenj"}},
		{"skull breaker", []string{"#skullbreakerchallenge", "#skullbr3akerchallenge", "#sku11breakerchallenge", "#skullbreaker_challenge"}},
		// A Devanagari digit ends a word as an ASCII one does.
		{"challenge 2024", []string{"#चैलेंज२०२४", "#चैलेंज2024"}},
		// Accents on Latin, Greek and Cyrillic are typed or not at will.
		{"café", []string{"#cafélatteart", "#cafelatteart", "#CAFÉLATTEART"}},
		{"Greek coffee", []string{"#καφέςφίλτρου", "#καφεςφιλτρου"}},
		{"Cyrillic", []string{"#привет_мир_всем", "#приве́т_мир_всем"}},
		{"2024 challenge", []string{"#२०२४चैलेंज", "#2024चैलेंज"}},
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
		{"प्यार", "पार"},                          // love, across: the ya-phala fold is the loose tier's
		{"cartoonschallenge", "cartonschallenge"}, // a vowel doubled is another word; tripled, the same one
		// Marks that are vowels or tones in their script tell words apart:
		// Thai "news" and "milled rice", Gurmukhi, Gujarati, Bengali.
		{"ข่าวสาร", "ข้าวสาร"},
		{"ข่าวสาร", "ขาวสาร"},
		{"ਮੇਰਾਪੰਜਾਬ", "ਮਰਾਪਜਾਬ"},
		{"ખુશખબર", "ખશખબર"},
		{"খুশিরখবর", "খশিরখবর"},
		// A long spelling folded down to a plain term's length is not
		// that term's own family.
		{"omgggggggggg", "omg"},
		{"yessssssssss", "yes"},
		{"hmmmmmmmmmmm", "hm"},
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

// TestLoose: the loose fold at any length above MaxPlain letters, where Key
// takes it only from MinLoose, and the script report the watchlist reads.
func TestLoose(t *testing.T) {
	for _, tt := range []struct {
		value, want string
		deva        bool
	}{
		{"blackout", "blakaut", false}, // Key keeps "blackout": eight letters
		{"ब्लैकआउट", "blakaut", true},
		{"ब्ल्याकआउट", "blakaut", true},
		{"challenge", "chalenj", false},
		{"चैलेंज", "chalenj", true},
		{"blackoutchallenge", "blakautchalenj", false}, // as Key
		{"cat", "", false},                             // MaxPlain letters or fewer
		{"बाबा", "", true},
		{"", "", false},
	} {
		got, deva := Loose(tt.value)
		if got != tt.want || deva != tt.deva {
			t.Errorf("Loose(%q) = %q, %v; want %q, %v", tt.value, got, deva, tt.want, tt.deva)
		}
		if k := Key(tt.value); countLetters([]byte(k)) >= MinLoose && got != k {
			t.Errorf("Loose(%q) = %q, Key %q: not the same fold at Key's length", tt.value, got, k)
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
// once doubled consonants are undoubled (canceled, cancelled), marks dropped
// (angstrom, ångström) or separators dropped (covid_19, covid19) is a variant,
// not a false merge.
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
		if unicode.Is(unicode.Mn, r) || r == '_' {
			// Marks, and separators: covid_19 is covid19 written apart.
			continue
		}
		if n := len(b); n > 0 && b[n-1] == r && !strings.ContainsRune("aeiou", r) {
			continue
		}
		b = append(b, r)
	}
	return string(b)
}

// readLines returns the lines of a gzipped file in testdata.
func readLines(t testing.TB, name string) []string {
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// hashtags extracts the hashtags of lines as a platform's parser would (each
// '#' starts one, which runs while letters, marks, digits and '_' do:
// "#covid." is #covid, "#a#b" is #a and #b), normalises them as the decoder
// does, and returns each once.
func hashtags(lines []string) []string {
	seen := map[string]bool{}
	var tags []string
	for _, l := range lines {
		for _, part := range strings.Split(l, "#")[1:] {
			end := strings.IndexFunc(part, func(r rune) bool {
				return !unicode.IsLetter(r) && !unicode.IsMark(r) && !unicode.IsDigit(r) && r != '_'
			})
			if end >= 0 {
				part = part[:end]
			}
			v, err := event.NormaliseHashtag(part, 100)
			if err != nil || v == "" || seen[v] {
				continue
			}
			seen[v] = true
			tags = append(tags, v)
		}
	}
	sort.Strings(tags)
	return tags
}

func TestFalseMerges(t *testing.T) {
	tests := []struct {
		name  string
		terms []string
		n     int // terms, to catch a changed file
		// reviewed are merges a person looked at and found to be spellings of
		// one name or word, so not false, with why. FalseMerges cannot tell
		// them: they differ by what the rules fold on purpose.
		reviewed map[string]string
		// merges is the number of false merges measured, the test's bound: a
		// change to the rules that adds one fails until it is looked at.
		merges int
		// over1 marks a list where the rules are known to miss the target of
		// 1 false merge per 10,000 (merges bounds it instead).
		over1 bool
	}{
		// 73,604 English words taken as hashtags. Measured 3 (0.41 per
		// 10,000): chairwoman/charwoman, chairwomen/charwomen and
		// headwaiters/headwaters, all by ai → a.
		{name: "wamerican", terms: readLines(t, "wamerican-words.txt.gz"), n: 73604, merges: 3},
		// The same words as challenges ("hopingchallenge"): measured 400
		// (54.3 per 10,000; found by a review on 7 December, not fixed).
		// The loose tier (ai → a, i → l, doubled letters) applies by the
		// whole tag's length, and a word followed by "challenge" is long
		// enough: aidedchallenge/addedchallenge, hopingchallenge/
		// hoppingchallenge. A bound, so that it does not grow unseen.
		// 403 since Nepali's ya-phala and ā after a cluster folds as ै
		// (ब्ल्याक, blak): bryan joins brain and bran, bryant brant,
		// barnyard barnard. 404 since a vowel drawn out is one: ieee
		// joins ie.
		{name: "wamerican+challenge", terms: suffixed(readLines(t, "wamerican-words.txt.gz"), "challenge"), n: 73604, merges: 404, over1: true},
		// 8,622 real hashtags from tweets on COVID-19, most of them from
		// India and Pakistan (see testdata/README.md). Measured 0: the key
		// puts 133 of them in 65 families of two or three, 53 of spellings
		// apart only by '_' (covid_19, covid19) and 12 reviewed below.
		{name: "covid19-twitter", terms: hashtags(readLines(t, "covid19-twitter-hashtags.txt.gz")), n: 8622, merges: 0,
			reviewed: map[string]string{
				"aaradhyabachchan/aradhyabachchan":        "one name, ā typed aa or a",
				"aarogyasetu_app/arogyasetuapp":           "the Aarogya Setu app, ā typed aa or a",
				"aatmanirbhar/atmanirbhar":                "one word (आत्मनिर्भर), ā typed aa or a",
				"aatmanirbhar_bharat/atmanirbharbharat":   "one slogan, ā typed aa or a",
				"bhabhijipapad/bhabijipapad":              "one brand (भाभीजी), aspiration typed or not",
				"corona_virus/coronaavirus":               "a typo of coronavirus",
				"jewishpriviledge/jewishprivilege":        "a misspelling of privilege",
				"kaattupayale/kattupayale":                "one film title, ā typed aa or a",
				"naagpanchmi/nagpanchmi":                  "one festival (नागपंचमी), ā typed aa or a",
				"saaddahaqnews/sadahaqnews":               "one outlet, Sada Haq, doubled letters typed or not",
				"shivrajsinghchauhan/shivrajsinghchouhan": "one name, चौहान romanised au or ou",
				"sushantsinghrajput/sushantsingrajput":    "one name, सिंह romanised singh or sing",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.terms) != tt.n {
				t.Fatalf("%d terms, want %d", len(tt.terms), tt.n)
			}
			merges, examples := FalseMerges(tt.terms, Key)
			var notVariants []string
			for _, ex := range examples {
				if _, ok := tt.reviewed[ex]; ok {
					merges -= strings.Count(ex, "/")
					continue
				}
				notVariants = append(notVariants, ex)
			}
			per10k := float64(merges) * 1e4 / float64(len(tt.terms))
			t.Logf("%d false merges in %d terms (%.2f per 10,000): %v", merges, len(tt.terms), per10k, notVariants)
			if merges > tt.merges || per10k > 1 && !tt.over1 {
				t.Errorf("%d false merges (%.2f per 10,000), measured %d: %v", merges, per10k, tt.merges, notVariants)
			}
		})
	}
}

func BenchmarkKey(b *testing.B) {
	for _, bm := range []struct{ name, s string }{
		{"ascii", "blackout_challenge"},
		{"ascii_short", "fyp"},
		{"ascii_word", "foryoupage"},
		{"ascii_digits", "covid19india"},
		{"devanagari", "ब्लैकआउटचैलेंज"},
		{"devanagari_short", "नेपाल"},
		{"devanagari_nukta", "फ़िल्मचैलेंज"}, // precomposed फ़
		{"mixed", "ब्लैकआउट_challenge"},
		{"cyrillic", "blасkоutсhаllеngе"},
	} {
		// AppendKey, as the engine calls it: Key costs the string it
		// returns besides.
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			var buf [96]byte
			for b.Loop() {
				AppendKey(buf[:0], bm.s)
			}
		})
	}
	// Typical tags: the real hashtags of TestFalseMerges, each in turn, and
	// the time is per tag.
	tags := hashtags(readLines(b, "covid19-twitter-hashtags.txt.gz"))
	b.Run("covid19_twitter", func(b *testing.B) {
		b.ReportAllocs()
		var buf [96]byte
		i := 0
		for b.Loop() {
			AppendKey(buf[:0], tags[i])
			if i++; i == len(tags) {
				i = 0
			}
		}
	})
}

func FuzzKey(f *testing.F) {
	for _, s := range []string{"blackoutchallenge", "bl4ck0ut", "ब्लैकआउटचैलेंज", "blасk", "a_1_b", "क़ज़ा", "ि्ं", "1234", "x$y@z",
		"चैलेंज२०२४", "२०२४चैलेंज", "क२ख्", "ʙʟᴀᴄᴋᴏᴜᴛ", "ᴋɪʟʟ२"} {
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
		// Devanagari is read without NFD when the tag has no other letters:
		// the key must be the one of the decomposed tag all the same (but
		// for a tag that is its own family, whose key is itself as written).
		if d := norm.NFD.String(v); Key(d) != k {
			if _, own := KeyOf(v); !own {
				t.Fatalf("Key(%q) = %q, but of its NFD %q, %q", v, k, d, Key(d))
			}
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

func TestOfTerm(t *testing.T) {
	for _, tc := range []struct{ term, want string }{
		{"hashtag:blackoutchallenge", "family:blakautchalenj"},
		{"hashtag:bl4ckout_challenge", "family:blakautchalenj"},
		{"hashtag:ब्लैकआउटचैलेंज", "family:blakautchalenj"},
		{"family:blakautchalenj", "family:blakautchalenj"},
		{"hashtag:fyp", "family:fyp"},
		{"sound:8812", ""},
		{"challenge:ch1", ""},
		{"hashtag:", ""},
		{"blackout", ""},
	} {
		if got := OfTerm(tc.term); got != tc.want {
			t.Errorf("OfTerm(%q) = %q, want %q", tc.term, got, tc.want)
		}
	}
}

// TestShortASCIIIsOwnFamily: what ShortASCII passes, KeyOf makes its own
// family.
func TestShortASCIIIsOwnFamily(t *testing.T) {
	for _, v := range []string{"fyp", "ootd", "l0l", "a_b", "t123", "x", "4444"} {
		if !ShortASCII(v) {
			t.Errorf("ShortASCII(%q) = false", v)
		}
		if _, own := KeyOf(v); !own {
			t.Errorf("%q: ShortASCII, but KeyOf says it is not its own family", v)
		}
	}
	for _, v := range []string{"fyp12", "नाच", "dance"} {
		if ShortASCII(v) {
			t.Errorf("ShortASCII(%q) = true", v)
		}
	}
}

// suffixed is each of terms followed by suffix.
func suffixed(terms []string, suffix string) []string {
	out := make([]string, len(terms))
	for i, t := range terms {
		out[i] = t + suffix
	}
	return out
}
