package family

// Devanagari is written the way people type it in Latin letters: ISO 15919 with its
// diacritics dropped (ṭ→t, ṇ→n, ṁ→n) but ā written "aa", as typed, so that the
// loose tier folds vowel length on both scripts alike and short words keep it
// (भारत, भरत); ī and ū are written i and u, c written "ch" as Hindi, Nepali and
// Bhojpuri users type it, and ै and ॅ read "a" (in the English loanwords that
// challenges are named with, ब्लैक, चैलेंज, ब्लॅक, they stand for the vowel of
// "black"; Nepali writes it ्या, ब्ल्याक, which the loose tier folds).

// devaClass is what a Devanagari rune is to the transliterator.
type devaClass uint8

const (
	devaOther     devaClass = iota // not Devanagari, or ignored (avagraha, danda)
	devaConsonant                  // carries an inherent a
	devaVowel                      // independent vowel letter
	devaSign                       // vowel sign (matra): replaces the inherent a
	devaVirama                     // kills the inherent a
	devaNasal                      // anusvara, candrabindu: a nasal after the vowel
	devaVisarga
	devaNukta // changes the consonant before it
	devaDigit
)

// devanagari returns the class of r and its Latin letters.
func devanagari(r rune) (devaClass, string) {
	switch r {
	// Independent vowels.
	case 'अ':
		return devaVowel, "a"
	case 'आ':
		return devaVowel, "aa"
	case 'इ', 'ई':
		return devaVowel, "i"
	case 'उ', 'ऊ':
		return devaVowel, "u"
	case 'ऋ', 'ॠ':
		return devaVowel, "ri"
	case 'ए', 'ऎ':
		return devaVowel, "e"
	case 'ऐ':
		return devaVowel, "ai"
	case 'ऍ':
		// Candra e writes the English vowel of "black" and "action" in
		// Marathi and Hindi (ऍक्शन), as ै does in Hindi alone.
		return devaVowel, "a"
	case 'ओ', 'ऒ', 'ऑ':
		return devaVowel, "o"
	case 'औ':
		return devaVowel, "au"
	// Vowel signs.
	case 'ा':
		return devaSign, "aa"
	case 'ि', 'ी':
		return devaSign, "i"
	case 'ु', 'ू':
		return devaSign, "u"
	case 'ृ', 'ॄ':
		return devaSign, "ri"
	case 'े', 'ॆ':
		return devaSign, "e"
	case 'ै', 'ॅ':
		// ब्लैक in Hindi, ब्लॅक in Marathi: the vowel of "black".
		return devaSign, "a"
	case 'ो', 'ॊ', 'ॉ':
		return devaSign, "o"
	case 'ौ':
		return devaSign, "au"
	case '्':
		return devaVirama, ""
	case 'ं', 'ँ':
		return devaNasal, "n"
	case 'ः':
		return devaVisarga, "h"
	case '़':
		return devaNukta, ""
	// Consonants; aspirates keep their h, which the loose tier folds.
	case 'क':
		return devaConsonant, "k"
	case 'ख':
		return devaConsonant, "kh"
	case 'ग':
		return devaConsonant, "g"
	case 'घ':
		return devaConsonant, "gh"
	case 'ङ', 'ञ', 'ण', 'न', 'ऩ':
		return devaConsonant, "n"
	case 'च':
		return devaConsonant, "ch"
	case 'छ':
		return devaConsonant, "chh"
	case 'ज':
		return devaConsonant, "j"
	case 'झ':
		return devaConsonant, "jh"
	case 'ट', 'त':
		return devaConsonant, "t"
	case 'ठ', 'थ':
		return devaConsonant, "th"
	case 'ड', 'द':
		return devaConsonant, "d"
	case 'ढ', 'ध':
		return devaConsonant, "dh"
	case 'प':
		return devaConsonant, "p"
	case 'फ':
		return devaConsonant, "ph"
	case 'ब':
		return devaConsonant, "b"
	case 'भ':
		return devaConsonant, "bh"
	case 'म':
		return devaConsonant, "m"
	case 'य':
		return devaConsonant, "y"
	case 'र', 'ऱ':
		return devaConsonant, "r"
	case 'ल', 'ळ', 'ऴ':
		return devaConsonant, "l"
	case 'व':
		return devaConsonant, "v"
	case 'श', 'ष':
		return devaConsonant, "sh"
	case 'स':
		return devaConsonant, "s"
	case 'ह':
		return devaConsonant, "h"
	// Consonants with a nukta, precomposed: what nukta makes of the
	// decomposed pair, for text that was not normalised to NFD.
	case '\u0958': // क़
		return devaConsonant, "k"
	case '\u0959': // ख़
		return devaConsonant, "kh"
	case '\u095A': // ग़
		return devaConsonant, "g"
	case '\u095B': // ज़
		return devaConsonant, "z"
	case '\u095C': // ड़
		return devaConsonant, "r"
	case '\u095D': // ढ़
		return devaConsonant, "rh"
	case '\u095E': // फ़
		return devaConsonant, "f"
	case '\u095F': // य़
		return devaConsonant, "y"
	}
	if r >= '०' && r <= '९' {
		return devaDigit, string(rune('0' + r - '०'))
	}
	return devaOther, ""
}

// nukta is the Latin of a consonant with a nukta: the Perso-Arabic and English
// sounds Hindi borrows (ज़ z, फ़ f) and the flaps (ड़ r).
func nukta(latin string) string {
	switch latin {
	case "j":
		return "z"
	case "ph":
		return "f"
	case "d":
		return "r"
	case "dh":
		return "rh"
	case "kh":
		return "kh"
	}
	return latin
}

func isDevanagari(r rune) bool { return r >= 0x0900 && r <= 0x097F }

// devaEntry is devanagari's answer for one rune.
type devaEntry struct {
	latin string
	class devaClass
}

// devaTable holds devanagari's answers for the whole block, indexed by rune -
// 0x900, made once: a switch on a rune is a binary search, and a Devanagari
// key reads every rune through it.
var devaTable = func() (t [0x80]devaEntry) {
	for i := range t {
		t[i].class, t[i].latin = devanagari(rune(0x900 + i))
	}
	return t
}()

// akshara is one written syllable: consonants, then a vowel (the inherent a
// when there is no sign), then a nasal or visarga. The consonants are kept in
// an array rather than a string, so that a conjunct costs no allocation.
type akshara struct {
	vowel    string
	coda     string
	cons     [12]byte
	ncons    uint8
	inherent bool // vowel is the unwritten a
	digit    bool // a Devanagari digit, which ends a word as an ASCII one does
}

// addCons appends the Latin of a consonant to the syllable's cluster; a
// cluster longer than the array (no real one is) keeps its first letters.
func (a *akshara) addCons(latin string) {
	a.ncons += uint8(copy(a.cons[a.ncons:], latin))
}

// appendDevanagari appends the Latin of a run of Devanagari (already NFD, so a
// nukta follows its consonant). The inherent a is dropped where Hindi does not
// say it (schwa deletion, after Ohala): at the end of a word of more than one
// syllable, and inside one between a vowel and a consonant that has one (VC_CV):
// दालभात is "dalbhat", not "dalabhata". run is Devanagari only; ak is scratch
// space.
func appendDevanagari(dst []byte, run string, ak []akshara) ([]byte, []akshara) {
	ak = ak[:0]
	// Every rune of the block is three bytes, E0 A4 80 to E0 A5 BF: its index
	// in the block is read off the last two without decoding.
	for i := 0; i+2 < len(run); i += 3 {
		e := &devaTable[int(run[i+1]&1)<<6|int(run[i+2]&0x3F)]
		class, latin := e.class, e.latin
		n := len(ak)
		switch class {
		case devaOther:
			// Avagraha, danda and the like: not letters.
		case devaConsonant:
			if n > 0 && !ak[n-1].digit && ak[n-1].vowel == "" && !ak[n-1].inherent {
				// After a virama: a conjunct.
				ak[n-1].addCons(latin)
				ak[n-1].inherent = true
				continue
			}
			ak = append(ak, akshara{inherent: true})
			ak[n].addCons(latin)
		case devaVowel:
			ak = append(ak, akshara{vowel: latin})
		case devaSign:
			if n == 0 {
				ak = append(ak, akshara{vowel: latin})
				continue
			}
			ak[n-1].vowel, ak[n-1].inherent = latin, false
		case devaVirama:
			if n > 0 {
				ak[n-1].inherent = false
			}
		case devaNasal, devaVisarga:
			if n == 0 {
				continue
			}
			if latin == "n" && ak[n-1].vowel == "" && !ak[n-1].inherent {
				continue
			}
			ak[n-1].coda = latin
		case devaNukta:
			if n > 0 {
				a := &ak[n-1]
				c := a.cons[:a.ncons]
				// The nukta belongs to the last consonant of the cluster.
				for _, base := range [...]string{"dh", "ph", "kh", "j", "d"} {
					if len(c) >= len(base) && string(c[len(c)-len(base):]) == base {
						a.ncons -= uint8(len(base))
						a.addCons(nukta(base))
						break
					}
				}
			}
		case devaDigit:
			ak = append(ak, akshara{digit: true})
			ak[n].addCons(latin)
		}
	}
	// Schwa deletion, right to left so each choice sees the syllables after
	// it. Digits end a word: चैलेंज२०२४ is chalenj2024, as चैलेंज2024 is.
	for i := len(ak) - 1; i > 0; i-- {
		a := &ak[i]
		if a.digit || ak[i-1].digit || !a.inherent || a.coda != "" || a.ncons == 0 {
			continue
		}
		prevVowel := ak[i-1].vowel != "" || ak[i-1].inherent
		switch {
		case i == len(ak)-1 || ak[i+1].digit:
			a.inherent = !prevVowel
		case prevVowel && ak[i+1].ncons != 0 && (ak[i+1].vowel != "" || ak[i+1].inherent):
			a.inherent = false
		}
	}
	for i := range ak {
		a := &ak[i]
		dst = append(dst, a.cons[:a.ncons]...)
		if a.inherent {
			dst = append(dst, 'a')
		}
		dst = append(dst, a.vowel...)
		coda := a.coda
		if coda == "n" && i+1 < len(ak) && ak[i+1].ncons > 0 && labial(ak[i+1].cons[0]) {
			// A nasal sign before p, ph, b, bh or m is said m, and typed as
			// म् as often as ं: चंपा and चम्पा are one word, champa.
			coda = "m"
		}
		dst = append(dst, coda...)
	}
	return dst, ak
}

// labial reports the first Latin letter of a labial consonant: प फ ब भ म.
func labial(c byte) bool { return c == 'p' || c == 'b' || c == 'm' }
