// Package event holds the wire contract of trendwatch's input: content and report
// events, the terms they carry, and their decoding, validation and normalisation.
package event

import (
	"fmt"
	"strings"
)

// Kind says what a term names. It is part of the term's key, so "challenge:x" and
// "hashtag:x" are counted apart.
type Kind uint8

const (
	KindHashtag Kind = iota + 1
	KindChallenge
	KindSound
	// KindFamily is the pipeline's own: the spellings of one hashtag counted
	// together (package family). Events never carry it.
	KindFamily
)

var kindNames = [...]string{KindHashtag: "hashtag", KindChallenge: "challenge", KindSound: "sound", KindFamily: "family"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ParseKind is the inverse of Kind.String.
func ParseKind(s string) (Kind, error) {
	for k, name := range kindNames {
		if name != "" && name == s {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("unknown term kind %q (want hashtag, challenge, sound or family)", s)
}

// Term is one countable thing: a normalised hashtag, a challenge ID or a sound ID.
type Term struct {
	Kind  Kind
	Value string
}

// String is the term's key everywhere trendwatch stores or shows it: "hashtag:fyp".
func (t Term) String() string { return t.Kind.String() + ":" + t.Value }

// ParseTerm reads a key written by Term.String. Hashtag values are normalised, so a
// watchlist may say "hashtag:#BlackoutChallenge".
func ParseTerm(key string) (Term, error) {
	kind, value, ok := strings.Cut(key, ":")
	if !ok {
		return Term{}, fmt.Errorf("term %q: want kind:value", key)
	}
	k, err := ParseKind(kind)
	if err != nil {
		return Term{}, fmt.Errorf("term %q: %w", key, err)
	}
	switch k {
	case KindHashtag:
		v, err := NormaliseHashtag(value, DefaultLimits().MaxHashtagRunes)
		if err != nil {
			return Term{}, fmt.Errorf("term %q: %w", key, err)
		}
		value = v
	default:
		if err := checkID(value, DefaultLimits().MaxIDBytes); err != nil {
			return Term{}, fmt.Errorf("term %q: %w", key, err)
		}
	}
	return Term{Kind: k, Value: value}, nil
}
