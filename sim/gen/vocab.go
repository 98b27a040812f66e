package gen

import (
	"math"
	"math/rand/v2"
	"strconv"
	"unicode/utf8"
)

// Languages. en is also the global vocabulary every region borrows from.
const (
	langEN = iota
	langHI
	langNE
	langBHO
	langID
	langES
	langPT
	langTL
	numLangs
)

// language is a word list hashtags are built from. Lists are disjoint and hold
// only lower-case letters and marks in NFC, so every background hashtag is already
// in normalised form and distinct ranks are distinct terms.
type language struct {
	code       string
	devanagari bool
	share      float64 // of the vocabulary
	words      []string
}

var languages = [numLangs]language{
	langEN: {code: "en", share: 0.30, words: []string{
		"fyp", "foryou", "viral", "trending", "foryoupage", "dance", "music", "funny", "comedy", "love",
		"food", "travel", "fashion", "beauty", "fitness", "cricket", "football", "gaming", "pets", "cats",
		"dogs", "art", "diy", "cooking", "recipe", "makeup", "skincare", "meme", "challenge", "duet",
		"tutorial", "lifehack", "motivation", "family", "friends", "summer", "weekend", "sunset", "nature", "style",
		"outfit", "school", "college", "study", "tech", "cars", "wedding", "party", "baby", "kids",
		"prank", "storytime", "asmr", "vlog", "reels", "explore", "news", "sports", "anime", "kpop",
	}},
	langHI: {code: "hi", devanagari: true, share: 0.15, words: []string{
		"भारत", "दिल्ली", "मुंबई", "प्यार", "दोस्ती", "मस्ती", "शायरी", "दिल", "जिंदगी", "सुबह",
		"रात", "चाय", "बारिश", "त्योहार", "दिवाली", "रंग", "सफर", "घर", "माँ", "पापा",
		"भाई", "बहन", "शादी", "बॉलीवुड", "गाने", "डांस", "योग", "कविता", "सपने", "मेहनत",
		"खुशी", "दुनिया", "इंडिया", "मौसम", "खाना", "देसी", "कहानी", "यादें", "फिल्में", "किसान",
	}},
	langNE: {code: "ne", devanagari: true, share: 0.08, words: []string{
		"नेपाल", "काठमाडौं", "चुनौती", "नाच", "गीत", "माया", "साथी", "हिमाल", "पहाड", "गाउँ",
		"दशैं", "तिहार", "मोमो", "दालभात", "सगरमाथा", "पोखरा", "लोकगीत", "दोहोरी", "रमाइलो", "हाँसो",
		"परिवार", "आमा", "बुबा", "सपना", "यात्रा", "संगीत", "चलचित्र", "विद्यालय", "बिहे", "चाड",
		"बिहान", "साँझ", "बर्खा", "जाडो", "मेरोदेश", "नेपाली", "भाइ", "दिदी", "रोटी", "तराई",
	}},
	langBHO: {code: "bho", devanagari: true, share: 0.07, words: []string{
		"भोजपुरी", "गाना", "छठ", "छठपूजा", "बिहार", "सइयाँ", "भउजी", "पियवा", "गोरिया", "ढोलक",
		"लहंगा", "जियरा", "बलमुआ", "सजनवा", "कजरा", "लिट्टी", "चोखा", "सतुआ", "गवना", "मेला",
		"सावन", "कजरी", "बिरहा", "चइता", "फगुआ", "नदिया", "अंगना", "दुलहिन", "रसिया", "बलम",
		"गंगा", "पटना", "आरा", "बक्सर", "छपरा", "सिवान", "होली", "भोजपुरिया", "देहात", "माटी",
	}},
	langID: {code: "id", share: 0.14, words: []string{
		"indonesia", "jakarta", "bandung", "surabaya", "bali", "kuliner", "makan", "enak", "lucu", "santai",
		"jalanjalan", "mudik", "lebaran", "ramadan", "ngabuburit", "sahur", "kopi", "nasigoreng", "bakso", "sate",
		"rendang", "dangdut", "koplo", "goyang", "joget", "sekolah", "kampus", "kerja", "keluarga", "sahabat",
		"cinta", "galau", "baper", "receh", "ngakak", "pantai", "gunung", "motor", "anakkos", "senja",
	}},
	langES: {code: "es", share: 0.11, words: []string{
		"baile", "música", "comida", "receta", "amor", "amigos", "familia", "fútbol", "viaje", "playa",
		"fiesta", "humor", "risa", "moda", "belleza", "ejercicio", "escuela", "trabajo", "perro", "gato",
		"arte", "navidad", "verano", "reto", "tendencia", "parati", "méxico", "cdmx", "tacos", "reggaeton",
		"cumbia", "bachata", "salsa", "novela", "chisme", "abuela", "mamá", "papá", "boda", "domingo",
	}},
	langPT: {code: "pt", share: 0.08, words: []string{
		"brasil", "carnaval", "samba", "funk", "forró", "sertanejo", "futebol", "praia", "saudade", "namoro",
		"churrasco", "açaí", "feijoada", "brigadeiro", "capoeira", "pagode", "bailefunk", "dancinha", "treino", "academia",
		"escola", "trabalho", "viagem", "verão", "natal", "festajunina", "cachorro", "gatinho", "receitas", "maquiagem",
		"fofura", "memesbr", "humorbr", "saopaulo", "riodejaneiro", "nordeste", "mineiro", "comidaboa", "familiabr", "amizade",
	}},
	langTL: {code: "tl", share: 0.07, words: []string{
		"pinoy", "pilipinas", "maynila", "kain", "masarap", "adobo", "sinigang", "lechon", "halohalo", "jeepney",
		"barkada", "kilig", "hugot", "tropa", "bahay", "pamilya", "mahal", "paaralan", "trabaho", "simbahan",
		"pasko", "piyesta", "sayaw", "kanta", "tawa", "biro", "lola", "lolo", "kuya", "ate",
		"bunso", "probinsya", "dagat", "bundok", "ulan", "araw", "gabi", "tulog", "merienda", "tsismis",
	}},
}

// Regions, weighted by their share of the platform's daily traffic.
const (
	regIN = iota
	regNP
	regID
	regUS
	regBR
	regGB
	regPH
	regMX
	numRegions
)

type langShare struct {
	lang  uint8
	share float64
}

type region struct {
	code      string
	weight    float64
	utcOffset int // minutes east of UTC, for the local diurnal rhythm
	langs     []langShare
}

var regions = [numRegions]region{
	regIN: {"IN", 0.22, 330, []langShare{{langHI, 0.55}, {langEN, 0.25}, {langBHO, 0.20}}},
	regNP: {"NP", 0.10, 345, []langShare{{langNE, 0.80}, {langEN, 0.10}, {langBHO, 0.10}}},
	regID: {"ID", 0.16, 420, []langShare{{langID, 0.90}, {langEN, 0.10}}},
	regUS: {"US", 0.20, -360, []langShare{{langEN, 0.80}, {langES, 0.20}}},
	regBR: {"BR", 0.10, -180, []langShare{{langPT, 0.95}, {langEN, 0.05}}},
	regGB: {"GB", 0.06, 0, []langShare{{langEN, 1}}},
	regPH: {"PH", 0.09, 480, []langShare{{langTL, 0.60}, {langEN, 0.40}}},
	regMX: {"MX", 0.07, -360, []langShare{{langES, 0.95}, {langEN, 0.05}}},
}

// regionLang picks a post's language consistent with its region.
func regionLang(reg int, u float64) uint8 {
	ls := regions[reg].langs
	for _, l := range ls[:len(ls)-1] {
		if u < l.share {
			return l.lang
		}
		u -= l.share
	}
	return ls[len(ls)-1].lang
}

// diurnal is the platform's activity at a local hour, 1 on average over a day,
// highest at 20:00 and lowest at 08:00.
func diurnal(localHour float64) float64 {
	return 1 + 0.5*math.Sin(2*math.Pi*(localHour-14)/24)
}

// localHour is the hour of the day at unix nanoseconds t in a zone offset minutes
// east of UTC.
func localHour(t int64, offset int) float64 {
	s := math.Mod(float64(t)/1e9+float64(offset)*60, 86400)
	if s < 0 {
		s += 86400
	}
	return s / 3600
}

// zipfExponent is the skew of hashtag, sound, challenge and creator popularity.
const zipfExponent = 1.1

// vocab is one language's hashtags: rank r names a single word, then an ordered
// pair of distinct words "a_b", then that pair with a number "a_b2", "a_b3", … so
// any size is reached deterministically and every rank is a distinct string.
type vocab struct {
	words []string
	zipf  *rand.Zipf // over the language's share of the vocabulary
}

func (v *vocab) appendTag(dst []byte, rank uint32) []byte {
	n := uint32(len(v.words))
	if rank < n {
		return append(dst, v.words[rank]...)
	}
	rank -= n
	pairs := n * (n - 1)
	p, num := rank%pairs, rank/pairs
	i, j := p/(n-1), p%(n-1)
	if j >= i {
		j++
	}
	dst = append(dst, v.words[i]...)
	dst = append(dst, '_')
	dst = append(dst, v.words[j]...)
	if num > 0 {
		dst = strconv.AppendUint(dst, uint64(num)+1, 10)
	}
	return dst
}

// splitVocabulary gives each language its share of n distinct hashtags, at least
// its single words; English takes the rounding.
func splitVocabulary(n int) [numLangs]uint32 {
	var sizes [numLangs]uint32
	total := 0
	for l := 1; l < numLangs; l++ {
		s := max(int(float64(n)*languages[l].share), len(languages[l].words))
		sizes[l] = uint32(s)
		total += s
	}
	sizes[langEN] = uint32(n - total)
	return sizes
}

// zipfMass returns Σ_{k=0}^{n-1} (1+k)^-s: exact for the head, the integral for
// the tail, which is within 1e-6 of the sum at the sizes used here.
func zipfMass(n uint64, s float64) float64 {
	const head = 1000
	sum := 0.0
	for k := uint64(1); k <= min(n, head); k++ {
		sum += math.Pow(float64(k), -s)
	}
	if n > head {
		a, b := float64(head)+0.5, float64(n)+0.5
		sum += (math.Pow(a, 1-s) - math.Pow(b, 1-s)) / (s - 1)
	}
	return sum
}

// Spelling variants of a hashtag, as users type them.
const (
	spellPlain     = iota // as the vocabulary holds it
	spellHash             // "#" + plain
	spellShout            // "#FYP"; Devanagari: a ZWJ after the first virama
	spellFullwidth        // "＃ＦＹＰ"; Devanagari: fullwidth "＃" + plain
)

const (
	zwj    = "\u200d"
	virama = "\u094d"
)

// appendSpelling appends tag (a normalised hashtag) as variant v would type it.
func appendSpelling(dst, tag []byte, devanagari bool, v uint8) []byte {
	switch v {
	case spellHash:
		return append(append(dst, '#'), tag...)
	case spellShout:
		dst = append(dst, '#')
		if devanagari {
			return appendZWJ(dst, tag)
		}
		for _, c := range tag {
			if c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			dst = append(dst, c)
		}
		return dst
	case spellFullwidth:
		dst = append(dst, "＃"...)
		if devanagari {
			return append(dst, tag...)
		}
		for _, c := range tag {
			if c > 0x20 && c < 0x7f {
				if c >= 'a' && c <= 'z' {
					c -= 'a' - 'A'
				}
				dst = utf8.AppendRune(dst, rune(c)-0x21+0xFF01)
				continue
			}
			dst = append(dst, c)
		}
		return dst
	}
	return append(dst, tag...)
}

// appendZWJ appends tag with a zero-width joiner after its first virama (a
// request for a half form that normalisation must ignore), or as is.
func appendZWJ(dst, tag []byte) []byte {
	for i := 0; i+len(virama) <= len(tag); i++ {
		if string(tag[i:i+len(virama)]) == virama {
			dst = append(dst, tag[:i+len(virama)]...)
			dst = append(dst, zwj...)
			return append(dst, tag[i+len(virama):]...)
		}
	}
	return append(dst, tag...)
}
