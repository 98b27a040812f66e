package event

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestKind(t *testing.T) {
	for _, tt := range []struct {
		kind Kind
		name string
	}{
		{KindHashtag, "hashtag"},
		{KindChallenge, "challenge"},
		{KindSound, "sound"},
		{KindFamily, "family"},
	} {
		if got := tt.kind.String(); got != tt.name {
			t.Errorf("Kind(%d).String() = %q, want %q", tt.kind, got, tt.name)
		}
		got, err := ParseKind(tt.name)
		if err != nil || got != tt.kind {
			t.Errorf("ParseKind(%q) = %v, %v; want %v", tt.name, got, err, tt.kind)
		}
	}
	for _, k := range []Kind{0, 5, 255} {
		if s := k.String(); !strings.HasPrefix(s, "kind(") {
			t.Errorf("Kind(%d).String() = %q, want kind(N)", k, s)
		}
	}
}

func TestParseKindErrors(t *testing.T) {
	for _, s := range []string{"", "Hashtag", "HASHTAG", " hashtag", "hashtags", "kind(1)", "kind(0)", "tag", "0", "1"} {
		t.Run(s, func(t *testing.T) {
			k, err := ParseKind(s)
			if err == nil {
				t.Fatalf("ParseKind(%q) = %v, want an error", s, k)
			}
			if !strings.Contains(err.Error(), "hashtag, challenge, sound or family") {
				t.Fatalf("ParseKind(%q) error %q does not list the kinds", s, err)
			}
		})
	}
}

func TestParseTerm(t *testing.T) {
	tests := []struct {
		key     string
		want    Term
		wantErr error // checked with errors.Is when set
		bad     bool
	}{
		{key: "hashtag:fyp", want: Term{KindHashtag, "fyp"}},
		{key: "hashtag:#BlackoutChallenge", want: Term{KindHashtag, "blackoutchallenge"}},
		{key: "hashtag:＃ＦＹＰ", want: Term{KindHashtag, "fyp"}},
		{key: "hashtag:#चुनौती", want: Term{KindHashtag, "चुनौती"}},
		{key: "challenge:ch_88231", want: Term{KindChallenge, "ch_88231"}},
		{key: "challenge:Mixed-Case ID", want: Term{KindChallenge, "Mixed-Case ID"}}, // IDs are opaque
		{key: "sound:snd:1029", want: Term{KindSound, "snd:1029"}},                   // only the first ':' splits
		{key: "sound:नेपाली-गीत", want: Term{KindSound, "नेपाली-गीत"}},
		{key: "fyp", bad: true},
		{key: "", bad: true},
		{key: ":fyp", bad: true},
		{key: "tag:fyp", bad: true},
		{key: "Hashtag:fyp", bad: true},
		{key: "hashtag:", wantErr: ErrEmptyHashtag},
		{key: "hashtag:#", wantErr: ErrEmptyHashtag},
		{key: "hashtag:f yp", wantErr: ErrHashtagRunes},
		{key: "hashtag:🔥", wantErr: ErrHashtagRunes},
		{key: "hashtag:" + strings.Repeat("a", 101), wantErr: ErrHashtagTooLong},
		{key: "challenge:", bad: true},
		{key: "sound:a\x00b", bad: true},
		{key: "sound:\xff", bad: true},
		{key: "sound:\ufffd", bad: true},
		{key: "challenge:" + strings.Repeat("c", 257), bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, err := ParseTerm(tt.key)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParseTerm(%q) = %v, %v; want error %v", tt.key, got, err, tt.wantErr)
				}
			case tt.bad:
				if err == nil {
					t.Fatalf("ParseTerm(%q) = %v, want an error", tt.key, got)
				}
			default:
				if err != nil || got != tt.want {
					t.Fatalf("ParseTerm(%q) = %v, %v; want %v", tt.key, got, err, tt.want)
				}
			}
			if err != nil && !strings.Contains(err.Error(), fmt.Sprintf("%q", tt.key)) {
				t.Fatalf("ParseTerm(%q) error %q does not quote the key", tt.key, err)
			}
		})
	}
}

func TestTermRoundTrip(t *testing.T) {
	for _, term := range []Term{
		{KindHashtag, "fyp"},
		{KindHashtag, "चुनौती"},
		{KindHashtag, "क्ष"},
		{KindHashtag, "strasse"},
		{KindHashtag, "nepal_2024"},
		{KindChallenge, "ch_88231"},
		{KindChallenge, "a:b:c"},
		{KindSound, "snd 1029"},
		{KindSound, "नेपाली-गीत"},
	} {
		key := term.String()
		if want := term.Kind.String() + ":" + term.Value; key != want {
			t.Errorf("%#v.String() = %q, want %q", term, key, want)
		}
		got, err := ParseTerm(key)
		if err != nil || got != term {
			t.Errorf("ParseTerm(%q) = %#v, %v; want %#v", key, got, err, term)
		}
	}
	if _, err := ParseTerm(Term{Kind: 0, Value: "x"}.String()); err == nil {
		t.Error("ParseTerm accepts the key of a term without a kind")
	}
}

func TestContentTerms(t *testing.T) {
	tests := []struct {
		name string
		c    Content
		dst  []Term
		want []Term
	}{
		{name: "empty", c: Content{}, want: nil},
		{name: "all kinds", c: Content{Hashtags: []string{"fyp", "चुनौती"}, ChallengeID: "ch-1", SoundID: "s-1"},
			want: []Term{{KindHashtag, "fyp"}, {KindHashtag, "चुनौती"}, {KindChallenge, "ch-1"}, {KindSound, "s-1"}}},
		{name: "hashtags only", c: Content{Hashtags: []string{"fyp"}}, want: []Term{{KindHashtag, "fyp"}}},
		{name: "sound only", c: Content{SoundID: "s-1"}, want: []Term{{KindSound, "s-1"}}},
		// The same value under two kinds is two terms.
		{name: "same value, different kinds", c: Content{Hashtags: []string{"x1"}, ChallengeID: "x1", SoundID: "x1"},
			want: []Term{{KindHashtag, "x1"}, {KindChallenge, "x1"}, {KindSound, "x1"}}},
		{name: "appends to dst", c: Content{ChallengeID: "ch-2"}, dst: []Term{{KindSound, "old"}},
			want: []Term{{KindSound, "old"}, {KindChallenge, "ch-2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.Terms(tt.dst); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Terms(%v) = %v, want %v", tt.dst, got, tt.want)
			}
		})
	}
}

// TestDecodedTermsParse ties the decoder to the term keys: every term of a decoded
// message parses back from its key unchanged, as watchlists and sinks rely on.
func TestDecodedTermsParse(t *testing.T) {
	c, err := testDecoder().DecodeContent([]byte(benchContent))
	if err != nil {
		t.Fatal(err)
	}
	terms := c.Terms(nil)
	if len(terms) != 7 {
		t.Fatalf("Terms() = %v, want 5 hashtags, a challenge and a sound", terms)
	}
	for _, term := range terms {
		if got, err := ParseTerm(term.String()); err != nil || got != term {
			t.Errorf("ParseTerm(%q) = %v, %v; want %v", term.String(), got, err, term)
		}
	}
}
