package gen

import (
	"strconv"
	"time"
)

// Rendering appends JSON by hand into one reused buffer: encoding/json would cost
// allocations and reflection per event on the hot path. Every string goes through
// appendJSONString, so the output is valid JSON whatever the word lists hold.

func (g *Generator) renderContent(p *pending) Message {
	b := g.appendContentID(g.buf[:0], p.content)
	k := len(b)
	b = append(b, `{"event_id":"`...)
	b = g.appendEventID(b)
	b = append(b, `","ts":"`...)
	b = appendTS(b, p.ts)
	b = append(b, `","content_id":"`...)
	b = append(b, b[:k]...)
	b = append(b, `","creator_id":"u`...)
	b = strconv.AppendUint(b, uint64(p.actor), 10)
	b = append(b, `","region":"`...)
	b = append(b, regions[p.region].code...)
	b = append(b, `","lang":"`...)
	b = append(b, languages[p.lang].code...)
	b = append(b, `","hashtags":`...)
	b = g.appendTags(b, p)
	switch {
	case p.challenge == organicChallenge:
		b = append(b, `,"challenge_id":"`...)
		b = append(b, g.organicChallenge...)
		b = append(b, '"')
	case p.challenge != none:
		b = append(b, `,"challenge_id":"`...)
		b = appendChallengeID(b, uint32(p.challenge))
		b = append(b, '"')
	}
	if p.sound != none {
		b = append(b, `,"sound_id":"`...)
		b = appendSoundID(b, uint32(p.sound))
		b = append(b, '"')
	}
	switch p.text {
	case textCaption:
		b = append(b, `,"text":`...)
		b = g.appendCaption(b, p.lang, p.textSeed)
	case textCopypasta:
		b = append(b, `,"text":`...)
		b = appendJSONString(b, pushText)
	}
	b = append(b, '}')
	g.buf = b
	return Message{Topic: Content, Key: b[:k:k], Value: b[k:], TS: time.Unix(0, p.at).UTC()}
}

func (g *Generator) renderReport(p *pending) Message {
	b := g.appendContentID(g.buf[:0], p.content)
	k := len(b)
	b = append(b, `{"event_id":"`...)
	b = g.appendEventID(b)
	b = append(b, `","ts":"`...)
	b = appendTS(b, p.ts)
	b = append(b, `","content_id":"`...)
	b = append(b, b[:k]...)
	b = append(b, `","reporter_id":"r`...)
	b = strconv.AppendUint(b, uint64(p.actor), 10)
	b = append(b, `","reason":"`...)
	b = append(b, reasons[p.reason]...)
	b = append(b, `","region":"`...)
	b = append(b, regions[p.region].code...)
	b = append(b, '"')
	if p.ntags > 0 {
		b = append(b, `,"hashtags":`...)
		b = g.appendTags(b, p)
	}
	b = append(b, '}')
	g.buf = b
	return Message{Topic: Report, Key: b[:k:k], Value: b[k:], TS: time.Unix(0, p.at).UTC()}
}

func (g *Generator) appendTags(b []byte, p *pending) []byte {
	b = append(b, '[')
	for i, t := range p.tags[:p.ntags] {
		if i > 0 {
			b = append(b, ',')
		}
		if t.src >= srcScenario {
			b = appendJSONString(b, g.stags[t.src-srcScenario].spellings[t.variant])
			continue
		}
		g.tagBuf = g.vocab[t.src].appendTag(g.tagBuf[:0], t.rank)
		g.spellBuf = appendSpelling(g.spellBuf[:0], g.tagBuf, languages[t.src].devanagari, t.variant)
		b = appendJSONString(b, g.spellBuf)
	}
	return append(b, ']')
}

var emoji = [...]string{"🔥", "😂", "❤️", "✨", "🙏", "💃"}

// appendCaption appends a short caption in lang, drawn from seed: a few words,
// sometimes a quoted word, a line break or an emoji, which exercise escaping.
func (g *Generator) appendCaption(b []byte, lang uint8, seed uint32) []byte {
	x := xorshift(seed | 1)
	words := languages[lang].words
	t := g.textBuf[:0]
	n := 2 + x.next()%3
	quoted := x.next()%10 == 0
	for i := range n {
		if i > 0 {
			if x.next()%8 == 0 {
				t = append(t, '\n')
			} else {
				t = append(t, ' ')
			}
		}
		w := words[x.next()%uint32(len(words))]
		if quoted && i == 1 {
			t = append(append(append(t, '"'), w...), '"')
		} else {
			t = append(t, w...)
		}
	}
	if x.next()%5 == 0 {
		t = append(append(t, ' '), emoji[x.next()%uint32(len(emoji))]...)
	}
	g.textBuf = t
	return appendJSONString(b, t)
}

type xorshift uint32

func (x *xorshift) next() uint32 {
	v := uint32(*x)
	v ^= v << 13
	v ^= v >> 17
	v ^= v << 5
	*x = xorshift(v)
	return v
}

const hexDigits = "0123456789abcdef"

func appendHex64(b []byte, x uint64) []byte {
	for s := 60; s >= 0; s -= 4 {
		b = append(b, hexDigits[x>>uint(s)&0xf])
	}
	return b
}

// mix64 is the splitmix64 finaliser, a bijection: IDs made from a seeded key plus
// a counter never repeat within a run and look random across seeds.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func (g *Generator) appendContentID(b []byte, n uint64) []byte {
	return appendHex64(append(b, 'v'), mix64(g.contentKey+n))
}

func (g *Generator) appendEventID(b []byte) []byte {
	n := g.eventSeq
	g.eventSeq++
	return appendHex64(append(b, 'e'), mix64(g.eventKey+n))
}

// Sound and challenge IDs: 7 digits, a bijection of the popularity rank so the
// most popular ones do not read 1, 2, 3.
func appendSoundID(b []byte, rank uint32) []byte {
	return strconv.AppendUint(append(b, 's'), 1_000_000+uint64(rank)*7919%9_000_000, 10)
}

func appendChallengeID(b []byte, rank uint32) []byte {
	return strconv.AppendUint(append(b, "ch"...), 1_000_000+uint64(rank)*104729%9_000_000, 10)
}

func soundID(rank uint32) string { return string(appendSoundID(nil, rank)) }

func appendTS(b []byte, ns int64) []byte {
	return time.Unix(0, ns).UTC().AppendFormat(b, time.RFC3339Nano)
}

// appendJSONString appends s as a JSON string. s must be valid UTF-8.
func appendJSONString[S string | []byte](b []byte, s S) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		default:
			b = append(b, `\u00`...)
			b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
