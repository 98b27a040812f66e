package ingest

import (
	"fmt"
	"testing"

	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/sketches"
)

// TestHashTerms: the term hashes the decoders make are the hashes of the keys
// of the content's terms, in event.Content.Terms' order, as the pipeline
// reads them; terms past HashedTerms are left to the pipeline.
func TestHashTerms(t *testing.T) {
	many := make([]string, HashedTerms+3)
	for i := range many {
		many[i] = fmt.Sprintf("tag%d", i)
	}
	for _, tc := range []struct {
		name string
		c    event.Content
	}{
		{"none", event.Content{}},
		{"hashtags only", event.Content{Hashtags: []string{"fyp", "ब्लैकआउटचैलेंज"}}},
		{"all kinds", event.Content{Hashtags: []string{"fyp"}, ChallengeID: "blackout", SoundID: "s1"}},
		{"sound without challenge", event.Content{SoundID: "s1"}},
		{"more than hashed", event.Content{Hashtags: many, ChallengeID: "c", SoundID: "s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Record{Kind: KindContent, Content: tc.c}
			r.Hash()
			terms := tc.c.Terms(nil)
			if want := min(len(terms), HashedTerms); int(r.Hashes.NTerms) != want {
				t.Fatalf("NTerms = %d, want %d of %d terms", r.Hashes.NTerms, want, len(terms))
			}
			for i := range int(r.Hashes.NTerms) {
				if got, want := r.Hashes.Terms[i], sketches.Hash(terms[i].String()); got != want {
					t.Errorf("term %d (%s): hash %x, want %x", i, terms[i], got, want)
				}
			}
		})
	}
}

func BenchmarkRecordHash(b *testing.B) {
	r := Record{Kind: KindContent, Content: event.Content{EventID: "e-1", ContentID: "c-1", CreatorID: "u-1",
		Hashtags: []string{"fyp", "blackoutchallenge", "ब्लैकआउटचैलेंज"}, ChallengeID: "blackout", SoundID: "s-1"}}
	b.ReportAllocs()
	for range b.N {
		r.Hash()
	}
}
