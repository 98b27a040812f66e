package gen

import (
	"sort"
	"testing"

	"github.com/trendwatch/trendwatch/family"
)

// TestVocabularyFamilies measures false merges of family keys on the
// generator's background vocabulary at its default size: every rank is a
// distinct hashtag (single words, "a_b" pairs and numbered pairs, Latin and
// Devanagari), so any two that share a key are merged. Measured: one merge in
// 200,000, भाई/भाइ, "brother" as Hindi and as Nepali spell it: a true variant,
// so 0 false merges.
func TestVocabularyFamilies(t *testing.T) {
	n := DefaultConfig().Vocabulary
	sizes := splitVocabulary(n)
	seen := make(map[string]string, n)
	var merges []string
	total := 0
	var buf []byte
	for l := range languages {
		v := vocab{words: languages[l].words}
		for r := uint32(0); r < sizes[l]; r++ {
			buf = v.appendTag(buf[:0], r)
			tag := string(buf)
			total++
			k := family.Key(tag)
			if other, ok := seen[k]; ok {
				merges = append(merges, other+"/"+tag)
				continue
			}
			seen[k] = tag
		}
	}
	sort.Strings(merges)
	per10k := float64(len(merges)) * 1e4 / float64(total)
	t.Logf("%d merges in %d generator hashtags (%.2f per 10,000): %.20q", len(merges), total, per10k, merges)
	variants := map[string]bool{"भाई/भाइ": true}
	falseMerges := 0
	for _, m := range merges {
		if !variants[m] {
			falseMerges++
			t.Errorf("false merge %q", m)
		}
	}
	if per10k := float64(falseMerges) * 1e4 / float64(total); per10k > 1 {
		t.Errorf("%d false merges in %d hashtags (%.2f per 10,000), want at most 1 per 10,000", falseMerges, total, per10k)
	}
}
