// Package family gives every spelling of a hashtag that abusers vary on purpose one
// family key, so that a challenge pushed as #blackoutchallenge, #blackout_challenge,
// #bl4ckoutchallenge, #bIackoutchallenge, with Cyrillic look-alike letters, and as
// #ब्लैकआउटचैलेंज is counted as one term, "family:blakautchalenj".
//
// Key folds a normalised hashtag (event.NormaliseHashtag's output) in two tiers.
// Precision comes before recall: two real words that share a key merge their
// surges, so each rule was kept only if it is what people type for another
// spelling and it adds few false merges (TestFalseMerges): 3 in 73,604 English
// words (0.41 per 10,000), and none in 8,622 real hashtags of tweets on COVID-19,
// mostly from India and Pakistan, where it puts 133 tags in 65 families, each
// one tag's spellings (covid_19 and covid19, aatmanirbhar and atmanirbhar,
// sushantsinghrajput and sushantsingrajput).
//
// A key costs about 100 ns for an ASCII hashtag of 18 letters, 90 ns on average
// over those 8,622 real ones, and 250–350 ns for a Devanagari one of 15 letters,
// without allocating (AppendKey; Key allocates the string it returns): a tag of
// ASCII and Devanagari alone is transliterated as typed, its precomposed nukta
// letters read whole, and only one with other letters is normalised to NFD
// first (BenchmarkKey).
//
// The strict tier applies to every key:
//
//   - '_' and other separators are dropped: blackout_challenge is blackoutchallenge.
//   - A run of up to three digits or symbols with letters on both sides is read as
//     letters (4 @ → a, 3 → e, 0 → o, 1 → l, 5 $ → s, 7 → t): bl4ck, sku11. A
//     number before or after a word stays a number: covid19, top10 and dance2 are
//     other tags than covidlg or dance.
//   - Letters with a UTS #39 confusable prototype (confusables.txt, Unicode 13.0)
//     are replaced by it, lower-cased: Cyrillic а с е о і, Greek ο, mathematical
//     and fullwidth letters; the Latin small capitals that "fancy text" generators
//     write (ʙʟᴀᴄᴋ), which UTS #39 maps few of, are read as their letters by
//     their Unicode names. A Greek or Cyrillic capital that looks like a Latin
//     one (Β Ε Ζ Μ Χ, М) is folded to a small letter that looks like none
//     (β ε ζ μ χ, м), which is read as its capital: #ΒlackoutChallenge is
//     blackoutchallenge. Where the small letter looks like another Latin letter
//     (η n, ν v, υ u), it is read as that one: the folded tag does not say
//     which was typed, so #ΗelloChallenge is nellochallenge. ASCII is left to
//     these rules (UTS #39 reads m as rn, which would merge burn and bum).
//   - Marks other than Devanagari's are dropped after NFD: café is cafe.
//   - Devanagari is transliterated by ISO 15919 without diacritics, the way Hindi,
//     Nepali and Bhojpuri users type it: ā as "aa", ī ū as i u, retroflex and
//     dental t d n alike, c as "ch", aspirates with their h, anusvara and
//     candrabindu as n (as m before प फ ब भ म, where they are said m and typed
//     म् as often: चंपा, चम्पा), nukta letters as z f r, ै and ॅ as a (the vowel
//     of "black" in the English loanwords challenges are named with, in Hindi
//     and in Marathi). The inherent a is dropped
//     where Hindi does not say it (schwa deletion): at the end of a word (a digit,
//     Devanagari or ASCII, ends one: चैलेंज२०२४ is chalenj2024, as चैलेंज2024 is),
//     and between a vowel and a consonant followed by a vowel: दालभात is "daalbhaat".
//
// A key of at most MaxPlain (4) letters is not a key: the term's own value is, so
// fyp, l0l and ootd stay themselves.
//
// The loose tier applies from MinLoose (10) letters, where real words rarely differ
// by these alone (hoping/hopping, fails/falls and cartons/cartoons are all short):
//
//   - ck → k; nge → nj, dge → j, a final ge → j; ou → au: the English spellings of
//     the sounds Devanagari writes क, ज, आउ (blackout, challenge).
//   - ai → a: ै typed as "ai" (chailenj).
//   - y after two consonants, before a, is dropped: Nepali writes the vowel of
//     "black" as ya-phala and ā after a cluster (ब्ल्याक, च्यालेन्ज: blyaak,
//     chyaalenj), where Hindi writes ै. After one consonant the y is said
//     (क्या, kya), and stays.
//   - bh dh gh jh kh → b d g j k: aspiration, typed or not in romanised Hindi.
//   - i is read as l: case folding turns the capital I typed for l into i
//     (bIackout). The letter before it counts as written, so "il" and "li" stay
//     two letters (illegitimate, legitimate).
//   - A doubled consonant, or aa, is one: chalenge, chaalenj. Other doubled
//     vowels spell other words (cartoons, cartons), but three or more of e, o
//     or u are one: a word drawn out (challengeee, blackooooout).
//
// Below MinLoose a romanised form meets its Devanagari one only when they
// agree letter for letter (नेपाल, nepal).
package family
