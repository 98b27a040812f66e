package sketches

import "testing"

// HashTerm must be Hash of the key the pipeline stores: the decoders hash a
// term with it and the pipeline looks the term up by that hash, where every
// other place hashes the key string.
func TestHashTerm(t *testing.T) {
	for _, tc := range []struct{ kind, value string }{
		{"hashtag", "fyp"},
		{"hashtag", ""},
		{"", ""},
		{"challenge", "blackoutchallenge"},
		{"hashtag", "ब्लैकआउटचैलेंज"},
		{"sound", "a-value-longer-than-the-thirty-two-bytes-xxhash-buffers-before-it-hashes"},
	} {
		if got, want := HashTerm(tc.kind, tc.value), Hash(tc.kind+":"+tc.value); got != want {
			t.Errorf("HashTerm(%q, %q) = %x, want Hash of the key %x", tc.kind, tc.value, got, want)
		}
	}
}

func FuzzHashTerm(f *testing.F) {
	f.Add("hashtag", "fyp")
	f.Add("sound", "")
	f.Fuzz(func(t *testing.T, kind, value string) {
		if got, want := HashTerm(kind, value), Hash(kind+":"+value); got != want {
			t.Fatalf("HashTerm(%q, %q) = %x, want %x", kind, value, got, want)
		}
	})
}

func BenchmarkHashTerm(b *testing.B) {
	for range b.N {
		_ = HashTerm("hashtag", "blackoutchallenge")
	}
}
