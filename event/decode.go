package event

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Content is one post, video or comment carrying terms. Wire form (JSON, key =
// content_id):
//
//	{"event_id","ts","content_id","creator_id","region","lang","hashtags":[...],
//	 "challenge_id"?,"sound_id"?,"text"?}
type Content struct {
	EventID     string    `json:"event_id"`
	TS          time.Time `json:"ts"`
	ContentID   string    `json:"content_id"`
	CreatorID   string    `json:"creator_id"`
	Region      string    `json:"region,omitempty"`
	Lang        string    `json:"lang,omitempty"`
	Hashtags    []string  `json:"hashtags"`
	ChallengeID string    `json:"challenge_id,omitempty"`
	SoundID     string    `json:"sound_id,omitempty"`
	Text        string    `json:"text,omitempty"`
}

// Report is one user report against a piece of content. Hashtags, when the reporting
// surface knows them, win over the content→terms cache.
type Report struct {
	EventID    string    `json:"event_id"`
	TS         time.Time `json:"ts"`
	ContentID  string    `json:"content_id"`
	ReporterID string    `json:"reporter_id"`
	Reason     string    `json:"reason"`
	Region     string    `json:"region,omitempty"`
	Hashtags   []string  `json:"hashtags,omitempty"`
	// Channel is how the report reached the desk (see Channel): a wire name,
	// "user" when the message has none.
	Channel string `json:"channel,omitempty"`
}

// Reason is why a message was refused. It travels with the message to the
// dead-letter topic and labels the decode-failure metric, so the set is closed.
type Reason string

const (
	ReasonTooLarge      Reason = "too_large"
	ReasonInvalidUTF8   Reason = "invalid_utf8"
	ReasonInvalidJSON   Reason = "invalid_json"
	ReasonWrongType     Reason = "wrong_type"
	ReasonMissingField  Reason = "missing_field"
	ReasonInvalidField  Reason = "invalid_field"
	ReasonControlChars  Reason = "control_characters"
	ReasonTooManyTags   Reason = "too_many_hashtags"
	ReasonInvalidTag    Reason = "invalid_hashtag"
	ReasonTagTooLong    Reason = "hashtag_too_long"
	ReasonTSFuture      Reason = "ts_in_future"
	ReasonTSTooOld      Reason = "ts_too_old"
	ReasonUnknownSource Reason = "unknown_topic"
	ReasonEmpty         Reason = "empty"
	ReasonDuplicateKey  Reason = "duplicate_key"
	// ReasonInvalidRelay is a relay record (an aggregate process forwards
	// what it decoded to the detect processes) that does not decode: a
	// version this process does not know, or a damaged message.
	ReasonInvalidRelay Reason = "invalid_relay"
)

// Reasons lists every Reason, for pre-registering metric label values.
var Reasons = []Reason{ReasonTooLarge, ReasonInvalidUTF8, ReasonInvalidJSON, ReasonWrongType,
	ReasonMissingField, ReasonInvalidField, ReasonControlChars, ReasonTooManyTags, ReasonInvalidTag,
	ReasonTagTooLong, ReasonTSFuture, ReasonTSTooOld, ReasonUnknownSource, ReasonEmpty, ReasonDuplicateKey, ReasonInvalidRelay}

// DecodeError says why a message was refused and which field was at fault.
type DecodeError struct {
	Reason Reason
	Field  string
	Err    error
}

func (e *DecodeError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: field %q: %v", e.Reason, e.Field, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Reason, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// ReasonOf returns the dead-letter reason of err, or "" when err is not a DecodeError.
func ReasonOf(err error) Reason {
	var de *DecodeError
	if errors.As(err, &de) {
		return de.Reason
	}
	return ""
}

func fail(r Reason, field string, err error) *DecodeError {
	return &DecodeError{Reason: r, Field: field, Err: err}
}

// Limits bound what one message may hold. Anything beyond them is dead-lettered
// rather than truncated, so counts never silently change.
type Limits struct {
	MaxMessageBytes int           `mapstructure:"max_message_bytes"` // whole message
	MaxHashtags     int           `mapstructure:"max_hashtags"`      // per content event
	MaxHashtagRunes int           `mapstructure:"max_hashtag_runes"` // per hashtag, after normalisation
	MaxIDBytes      int           `mapstructure:"max_id_bytes"`      // IDs, region, lang, reason
	MaxTextBytes    int           `mapstructure:"max_text_bytes"`    // free text
	MaxFuture       time.Duration `mapstructure:"max_future"`        // ts may be at most this far after now; 0 disables
	MaxAge          time.Duration `mapstructure:"max_age"`           // ts may be at most this far before now; 0 disables
}

// DefaultLimits fit real platform posts with room to spare.
func DefaultLimits() Limits {
	return Limits{
		MaxMessageBytes: 1 << 20,
		MaxHashtags:     100,
		MaxHashtagRunes: 100,
		MaxIDBytes:      256,
		MaxTextBytes:    64 << 10,
		MaxFuture:       time.Hour,
		MaxAge:          7 * 24 * time.Hour,
	}
}

// Validate reports a limit that cannot work.
func (l Limits) Validate() error {
	switch {
	case l.MaxMessageBytes <= 0:
		return fmt.Errorf("max_message_bytes: must be > 0, got %d", l.MaxMessageBytes)
	case l.MaxHashtags <= 0:
		return fmt.Errorf("max_hashtags: must be > 0, got %d", l.MaxHashtags)
	case l.MaxHashtagRunes <= 0:
		return fmt.Errorf("max_hashtag_runes: must be > 0, got %d", l.MaxHashtagRunes)
	case l.MaxIDBytes <= 0:
		return fmt.Errorf("max_id_bytes: must be > 0, got %d", l.MaxIDBytes)
	case l.MaxTextBytes <= 0:
		return fmt.Errorf("max_text_bytes: must be > 0, got %d", l.MaxTextBytes)
	case l.MaxFuture < 0:
		return fmt.Errorf("max_future: must not be negative, got %v", l.MaxFuture)
	case l.MaxAge < 0:
		return fmt.Errorf("max_age: must not be negative, got %v", l.MaxAge)
	}
	return nil
}

// Decoder decodes and validates messages under fixed limits. now is the clock the
// timestamp bounds are checked against; nil disables those checks (backtests replay
// old data).
type Decoder struct {
	Limits Limits
	Now    func() time.Time
	// TagDropped, when set, is told the reason of each hashtag an event it
	// decodes leaves out (invalid_hashtag, hashtag_too_long, or a
	// character refused in text); decoders share it, so it must be safe for
	// concurrent use.
	TagDropped func(Reason)
}

// dropTag tells TagDropped, if set, of a hashtag left out for reason.
func (d *Decoder) dropTag(reason Reason) {
	if d.TagDropped != nil {
		d.TagDropped(reason)
	}
}

func (d *Decoder) precheck(b []byte) error {
	// A zero-length value is a producer bug, not malformed JSON; a null value
	// (a tombstone) never gets here, the consumer skips it.
	if len(b) == 0 {
		return fail(ReasonEmpty, "", errors.New("message is empty"))
	}
	if len(b) > d.Limits.MaxMessageBytes {
		return fail(ReasonTooLarge, "", fmt.Errorf("%d bytes, limit %d", len(b), d.Limits.MaxMessageBytes))
	}
	// encoding/json would silently replace invalid UTF-8 with U+FFFD and so merge
	// distinct byte strings into one term.
	if !utf8.Valid(b) {
		return fail(ReasonInvalidUTF8, "", errors.New("message is not valid UTF-8"))
	}
	return nil
}

// parseTS reads the raw ts value; absent and null give the zero time, which
// checkCommon reports as missing.
func parseTS(raw []byte) (time.Time, error) {
	var ts time.Time
	if len(raw) == 0 || string(raw) == "null" {
		return ts, nil
	}
	if raw[0] != '"' {
		return ts, fail(ReasonWrongType, "ts", fmt.Errorf("want an RFC 3339 string, got JSON %s", jsonKind(raw[0])))
	}
	if t, ok := parseUTC(raw); ok {
		return t, nil
	}
	if err := ts.UnmarshalJSON(raw); err != nil {
		if lt, ok := leapSecond(raw); ok {
			return lt, nil
		}
		return ts, fail(ReasonInvalidField, "ts", fmt.Errorf("want RFC 3339: %w", err))
	}
	return ts, nil
}

// parseUTC reads the form nearly every producer writes, a quoted RFC 3339 time in
// UTC ("2024-06-01T11:59:30.123Z"), as time.Time.UnmarshalJSON reads it: the same
// ranges and separators, at most nine fraction digits counted (more are dropped),
// and the same Time value. It reports !ok for anything else, which is left to
// UnmarshalJSON: offsets, leap seconds and every error. UnmarshalJSON spent a
// tenth of a decode on a time.Date that this calendar arithmetic replaces;
// FuzzParseUTC holds the two together.
func parseUTC(raw []byte) (time.Time, bool) {
	const layout = `"2006-01-02T15:04:05Z"`
	if len(raw) < len(layout) || raw[0] != '"' || raw[len(raw)-2] != 'Z' || raw[len(raw)-1] != '"' ||
		raw[5] != '-' || raw[8] != '-' || raw[11] != 'T' || raw[14] != ':' || raw[17] != ':' {
		return time.Time{}, false
	}
	ok := true
	num := func(b []byte, lo, hi int) int {
		x := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				ok = false
			}
			x = x*10 + int(c-'0')
		}
		if x < lo || x > hi {
			ok = false
		}
		return x
	}
	year := num(raw[1:5], 0, 9999)
	month := num(raw[6:8], 1, 12)
	day := num(raw[9:11], 1, 31)
	hour := num(raw[12:14], 0, 23)
	minute := num(raw[15:17], 0, 59)
	sec := num(raw[18:20], 0, 59)
	if !ok || day > daysIn(month, year) {
		return time.Time{}, false
	}
	nsec := 0
	if frac := raw[20 : len(raw)-2]; len(frac) > 0 {
		if len(frac) < 2 || frac[0] != '.' {
			return time.Time{}, false
		}
		digits := frac[1:]
		for _, c := range digits {
			if c < '0' || c > '9' {
				return time.Time{}, false
			}
		}
		if len(digits) > 9 {
			digits = digits[:9]
		}
		nsec = num(digits, 0, 999999999)
		for range 9 - len(digits) {
			nsec *= 10
		}
	}
	unix := (daysFromCivil(year, month, day)*24+int64(hour))*3600 + int64(minute)*60 + int64(sec)
	// UTC, not time.Unix's Local: the value time.Date(..., time.UTC) returns.
	return time.Unix(unix, int64(nsec)).UTC(), true
}

// daysIn is the number of days in month of year, proleptic Gregorian.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil counts the days from 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's days_from_civil), for years 0 to 9999.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// leapSecond reads a ts whose seconds are 60, which RFC 3339 allows for a leap
// second and package time refuses. It is accepted only where one can be inserted,
// the last second of a UTC month, and becomes the last nanosecond before the next
// second (23:59:59.999999999Z) rather than the next second itself: the event stays
// in the minute, hour and day its producer wrote, so it lands in the bucket (and
// daily partition) it names, and still sorts after every 23:59:59 event and before
// every 00:00:00 one. The fraction of the leap second is lost, which no bucket can
// resolve anyway.
func leapSecond(raw []byte) (time.Time, bool) {
	// "2016-12-31T23:59:60Z": seconds at bytes 18 and 19 of the quoted string.
	if len(raw) < 22 || len(raw) > 64 || raw[17] != ':' || raw[18] != '6' || raw[19] != '0' {
		return time.Time{}, false
	}
	// A copy: raw is the caller's message.
	var buf [64]byte
	b := append(buf[:0], raw[1:len(raw)-1]...)
	b[17], b[18] = '5', '9'
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return time.Time{}, false
	}
	u := t.UTC()
	if u.Hour() != 23 || u.Minute() != 59 || u.Second() != 59 || u.AddDate(0, 0, 1).Day() != 1 {
		return time.Time{}, false
	}
	return t.Truncate(time.Second).Add(time.Second - time.Nanosecond), true
}

// jsonKind names the JSON type a valid value starts with, as UnmarshalTypeError does.
func jsonKind(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	default:
		return "number"
	}
}

// DecodeContent decodes, validates and normalises one content event. Hashtags come
// back normalised and de-duplicated; region upper-cased.
func (d *Decoder) DecodeContent(b []byte) (Content, error) {
	if err := d.precheck(b); err != nil {
		return Content{}, err
	}
	var m message
	if err := parse(b, contentSchema, &m); err != nil {
		return Content{}, err
	}
	v := &m.vals
	var c Content
	// What the engine keeps gets an allocation of its own, so keeping it does not
	// keep the message: content_id goes to alert samples and the content→terms cache,
	// text can be 64 KiB, lang and region are labels of tracked buckets (and mostly
	// come from letterPairs). The rest, read and dropped, shares one block.
	c.ContentID = ownString(b, v[cContentID])
	c.Text = ownString(b, v[cText])
	c.Lang = code(b, v[cLang])
	var (
		stack [512]byte
		s     [5]string
	)
	var lowered uint64
	c.Hashtags, lowered = gather(b, &m, cHashtags, d.Limits.MaxHashtags, maxRawTag(d.Limits.MaxHashtagRunes),
		[]value{v[cEventID], v[cCreatorID], v[cRegion], v[cChallengeID], v[cSoundID]}, s[:], stack[:])
	c.EventID, c.CreatorID, c.Region, c.ChallengeID, c.SoundID = s[0], s[1], s[2], s[3], s[4]
	if err := d.checkContent(&c, v[cTS].raw(b), m.ntags, lowered); err != nil {
		return Content{}, err
	}
	return c, nil
}

// checkContent validates and normalises c as decoded, its ts still raw. ntags
// counts the hashtag elements, which c.Hashtags holds when there are at most
// MaxHashtags; bit i of lowered marks hashtag i as normalised already.
func (d *Decoder) checkContent(c *Content, rawTS []byte, ntags int, lowered uint64) error {
	var err error
	if c.TS, err = parseTS(rawTS); err != nil {
		return err
	}
	if err := d.checkCommon(c.EventID, c.ContentID, c.TS, c.Region); err != nil {
		return err
	}
	if err := d.id("creator_id", c.CreatorID, true); err != nil {
		return err
	}
	if err := d.id("lang", c.Lang, false); err != nil {
		return err
	}
	if err := d.id("challenge_id", c.ChallengeID, false); err != nil {
		return err
	}
	if err := d.id("sound_id", c.SoundID, false); err != nil {
		return err
	}
	if len(c.Text) > d.Limits.MaxTextBytes {
		return fail(ReasonInvalidField, "text", fmt.Errorf("%d bytes, limit %d", len(c.Text), d.Limits.MaxTextBytes))
	}
	if i := textControl(c.Text); i >= 0 {
		return fail(ReasonControlChars, "text", fmt.Errorf("control character at byte %d", i))
	}
	if c.Hashtags, err = d.hashtags(c.Hashtags, ntags, lowered); err != nil {
		return err
	}
	c.Region = upperRegion(c.Region)
	return nil
}

// textControl returns the index of the first control character in free text other
// than the line breaks and tab it may hold, or -1.
func textControl(s string) int {
	for i := 0; i < len(s); i++ {
		if i = textSuspect(s, i); i >= len(s) {
			break
		}
		switch c := s[i]; {
		case c < 0x20:
			if c != '\n' && c != '\t' && c != '\r' {
				return i
			}
		case c == 0x7f:
			return i
		case c == 0xc2:
			// U+0080–U+009F, the C1 controls, the only others unicode.IsControl knows.
			if i+1 < len(s) && s[i+1] >= 0x80 && s[i+1] <= 0x9f {
				return i
			}
		}
	}
	return -1
}

// DecodeReport decodes, validates and normalises one report event.
func (d *Decoder) DecodeReport(b []byte) (Report, error) {
	if err := d.precheck(b); err != nil {
		return Report{}, err
	}
	var m message
	if err := parse(b, reportSchema, &m); err != nil {
		return Report{}, err
	}
	v := &m.vals
	var r Report
	// The reason is a label of tracked buckets: its own allocation (see DecodeContent).
	r.Reason = ownLower(b, v[rReason])
	var (
		stack [256]byte
		s     [4]string
	)
	var lowered uint64
	r.Hashtags, lowered = gather(b, &m, rHashtags, d.Limits.MaxHashtags, maxRawTag(d.Limits.MaxHashtagRunes),
		[]value{v[rEventID], v[rContentID], v[rReporterID], v[rRegion]}, s[:], stack[:])
	r.EventID, r.ContentID, r.ReporterID, r.Region = s[0], s[1], s[2], s[3]
	r.Channel = channelOf(b, v[rChannel])
	if err := d.checkReport(&r, v[rTS].raw(b), m.ntags, lowered); err != nil {
		return Report{}, err
	}
	return r, nil
}

// checkReport is checkContent for reports.
func (d *Decoder) checkReport(r *Report, rawTS []byte, ntags int, lowered uint64) error {
	var err error
	if r.TS, err = parseTS(rawTS); err != nil {
		return err
	}
	if err := d.checkCommon(r.EventID, r.ContentID, r.TS, r.Region); err != nil {
		return err
	}
	if err := d.id("reporter_id", r.ReporterID, true); err != nil {
		return err
	}
	// Lower-case before checking: lower-casing can lengthen a string ("Ⱥ" is two bytes,
	// "ⱥ" three), and the stored value is what must fit the limit.
	r.Reason = strings.ToLower(r.Reason)
	if err := d.id("reason", r.Reason, true); err != nil {
		return err
	}
	if r.Hashtags, err = d.hashtags(r.Hashtags, ntags, lowered); err != nil {
		return err
	}
	r.Region = upperRegion(r.Region)
	// An unknown channel is refused rather than counted as a user's: a new
	// channel must be added here first, or its reports would page as a user's.
	c, ok := ParseChannel(r.Channel)
	if !ok {
		return fail(ReasonInvalidField, "channel", fmt.Errorf("%q is not one of %s", r.Channel, strings.Join(channelNames[:], ", ")))
	}
	r.Channel = c.String()
	return nil
}

// channelOf returns the channel value v of message b, without an allocation when
// it is a known name: the engine keeps none of it.
func channelOf(b []byte, v value) string {
	var stack [32]byte
	s := appendValue(stack[:0], b, v)
	for _, n := range channelNames {
		if string(s) == n {
			return n
		}
	}
	return string(s)
}

func (d *Decoder) checkCommon(eventID, contentID string, ts time.Time, region string) error {
	if err := d.id("event_id", eventID, true); err != nil {
		return err
	}
	if err := d.id("content_id", contentID, true); err != nil {
		return err
	}
	if ts.IsZero() {
		return fail(ReasonMissingField, "ts", errors.New("required"))
	}
	// Whatever the limits (a replay turns them off), a time the sinks
	// cannot store is refused here: ClickHouse's DateTime holds
	// 1970-01-01..2106-02-07, and a row outside it fails its whole write,
	// which would stop the pipeline at the same message after every restart.
	if ts.Before(minTS) {
		return fail(ReasonTSTooOld, "ts", fmt.Errorf("%s is before %s, the earliest time the sinks store", ts.Format(time.RFC3339), minTS.Format(time.RFC3339)))
	}
	if !ts.Before(maxTS) {
		return fail(ReasonTSFuture, "ts", fmt.Errorf("%s is at or after %s, past the latest time the sinks store", ts.Format(time.RFC3339), maxTS.Format(time.RFC3339)))
	}
	// A replay sets neither limit: no clock read per message then.
	if d.Now != nil && (d.Limits.MaxFuture > 0 || d.Limits.MaxAge > 0) {
		now := d.Now()
		if d.Limits.MaxFuture > 0 && ts.After(now.Add(d.Limits.MaxFuture)) {
			return fail(ReasonTSFuture, "ts", fmt.Errorf("%s is more than %v after now (%s)", ts.Format(time.RFC3339), d.Limits.MaxFuture, now.Format(time.RFC3339)))
		}
		if d.Limits.MaxAge > 0 && ts.Before(now.Add(-d.Limits.MaxAge)) {
			return fail(ReasonTSTooOld, "ts", fmt.Errorf("%s is more than %v before now (%s)", ts.Format(time.RFC3339), d.Limits.MaxAge, now.Format(time.RFC3339)))
		}
	}
	if region != "" && !isRegion(region) {
		return fail(ReasonInvalidField, "region", fmt.Errorf("%q is not an ISO 3166 alpha-2 code", region))
	}
	return nil
}

// minTS and maxTS bound an event's time whatever the limits: inside what
// ClickHouse's DateTime stores, with a day to spare for the bucket and the
// alert times made from it.
var (
	minTS = time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC)
	maxTS = time.Date(2106, 1, 1, 0, 0, 0, 0, time.UTC)
)

// letterPairs holds every two-letter ASCII string, "AA" to "zz", as slices of one
// string. Region and language codes are labels the engine keeps for as long as it
// tracks a term; taken from here they cost no allocation and keep no message alive.
var letterPairs = func() (t [52 * 52]string) {
	b := make([]byte, 0, 2*len(t))
	for i := range t {
		b = append(b, letterOf(i/52), letterOf(i%52))
	}
	all := string(b)
	for i := range t {
		t[i] = all[2*i : 2*i+2]
	}
	return t
}()

func letterOf(i int) byte {
	if i < 26 {
		return byte('A' + i)
	}
	return byte('a' + i - 26)
}

func letterIndex(c byte) int {
	switch {
	case 'A' <= c && c <= 'Z':
		return int(c - 'A')
	case 'a' <= c && c <= 'z':
		return int(c-'a') + 26
	}
	return -1
}

// letterPair returns the letterPairs entry of a and b, or false when one is not an
// ASCII letter.
func letterPair(a, b byte) (string, bool) {
	i, j := letterIndex(a), letterIndex(b)
	if i < 0 || j < 0 {
		return "", false
	}
	return letterPairs[i*52+j], true
}

// upperRegion upper-cases a region that isRegion accepted, or "".
func upperRegion(s string) string {
	if len(s) != 2 {
		return s
	}
	if p, ok := letterPair(s[0]&^0x20, s[1]&^0x20); ok { // clearing 0x20 upper-cases a letter
		return p
	}
	return s
}

func isRegion(s string) bool {
	if len(s) != 2 {
		return false
	}
	for i := 0; i < 2; i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func (d *Decoder) id(field, v string, required bool) error {
	if v == "" {
		if required {
			return fail(ReasonMissingField, field, errors.New("required"))
		}
		return nil
	}
	if len(v) > d.Limits.MaxIDBytes {
		return fail(ReasonInvalidField, field, fmt.Errorf("%d bytes, limit %d", len(v), d.Limits.MaxIDBytes))
	}
	if err := checkIDText(v); err != nil {
		return fail(textReason(err), field, err)
	}
	return nil
}

func textReason(err error) Reason {
	if errors.Is(err, errInvalidUTF8) {
		return ReasonInvalidUTF8
	}
	return ReasonControlChars
}

// hashtags normalises and de-duplicates raw, n hashtags in all (raw is only read
// when n is within the limit). Bit i of lowered marks raw[i] as normalised already.
//
// A hashtag that cannot be a term (an emoji, punctuation, past
// kafka.limits.max_hashtag_runes, a control character) is left out and
// the rest of the event kept (dropTag): refusing the whole post for it
// dead-lettered the post's other hashtags with it, so "#🔥" beside
// "#blackoutchallenge" hid the challenge from every detector, an evasion
// as cheap as a keystroke. Too many hashtags still refuses the event: that
// bound is the decoder's own.
func (d *Decoder) hashtags(raw []string, n int, lowered uint64) ([]string, error) {
	if n > d.Limits.MaxHashtags {
		return nil, fail(ReasonTooManyTags, "hashtags", fmt.Errorf("%d hashtags, limit %d", n, d.Limits.MaxHashtags))
	}
	if len(raw) == 0 {
		return nil, nil
	}
	// De-duplicate in place: out never overtakes the tag being read.
	out := raw[:0]
	for i, t := range raw {
		n := t
		if i < 64 && lowered&(1<<i) != 0 {
			// ASCII letters, digits and '_': a rune a byte.
			if len(t) > d.Limits.MaxHashtagRunes {
				d.dropTag(ReasonTagTooLong)
				continue
			}
		} else if f, ok := normaliseStable(t, d.Limits.MaxHashtagRunes); ok {
			// Devanagari, most often: checkText has nothing to refuse in it.
			n = f
		} else {
			if err := checkText(t); err != nil {
				d.dropTag(textReason(err))
				continue
			}
			var err error
			if n, err = NormaliseHashtag(t, d.Limits.MaxHashtagRunes); err != nil {
				r := ReasonInvalidTag
				if errors.Is(err, ErrHashtagTooLong) {
					r = ReasonTagTooLong
				}
				d.dropTag(r)
				continue
			}
		}
		dup := false
		for _, o := range out {
			if o == n {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, nil // every one left out: as a post without hashtags
	}
	return out, nil
}

// maxRawTag is the longest hashtag, as sent, '#'s included, that
// NormaliseHashtag reads for a limit of maxRunes runes: 0 for no limit.
func maxRawTag(maxRunes int) int { return max(0, 16*maxRunes) }

// gather copies the string values vals and, when there are at most maxTags of
// them, the hashtags of m's field tagsField, unescaped, into one string, and sets
// out[k] to the value of vals[k]. These are the strings read and then dropped, so
// one allocation serves them all; stack holds them while they are gathered when
// they fit. All-ASCII hashtags are normalised (lower-cased, '#' dropped) in place
// on the way, so they need no allocation of their own. It returns the hashtags and
// a bit set for each of the first 64 it normalised.
func gather(b []byte, m *message, tagsField, maxTags, maxRaw int, vals []value, out []string, stack []byte) (decoded []string, lowered uint64) {
	tags, ntags := m.vals[tagsField], m.ntags
	size := 0
	for _, v := range vals {
		size += v.end - v.start
	}
	withTags := tags.kind == valOther && ntags > 0 && ntags <= maxTags
	if withTags {
		size += tags.end - tags.start
	}
	// Unescaping never lengthens a string, so buf is never reallocated.
	buf := stack[:0]
	if size > len(stack) {
		buf = make([]byte, 0, size)
	}
	var ends [maxFields]int
	for k, v := range vals {
		buf = appendValue(buf, b, v)
		ends[k] = len(buf)
	}
	var (
		offStack [2 * 16]int
		offs     = offStack[:0]
	)
	if withTags {
		if 2*ntags > len(offStack) {
			offs = make([]int, 0, 2*ntags)
		}
		var t value
		for k := range ntags {
			t = m.tagAt(b, k, t)
			start := len(buf)
			buf = appendValue(buf, b, t) // null: "", which normalisation refuses
			// One longer than maxRaw, its '#'s counted, is NormaliseHashtag's
			// to refuse.
			tooLong := maxRaw > 0 && len(buf)-start > maxRaw
			if skip, ok := lowerASCIIHashtag(buf[start:]); ok && !tooLong {
				start += skip
				if k < 64 {
					lowered |= 1 << k
				}
			}
			offs = append(offs, start, len(buf))
		}
	}
	s := string(buf)
	prev := 0
	for k := range vals {
		out[k], prev = s[prev:ends[k]], ends[k]
	}
	if !withTags {
		return nil, 0
	}
	decoded = make([]string, ntags)
	for k := range decoded {
		decoded[k] = s[offs[2*k]:offs[2*k+1]]
	}
	return decoded, lowered
}

// appendValue appends the string value v of message b, unescaped; nothing for null
// or absent.
func appendValue(dst, b []byte, v value) []byte {
	switch v.kind {
	case valString:
		return append(dst, b[v.start+1:v.end-1]...)
	case valEscaped:
		return appendUnquoted(dst, b[v.start+1:v.end-1])
	}
	return dst
}

// ownString returns the string value v of message b in an allocation of its own.
func ownString(b []byte, v value) string {
	switch v.kind {
	case valString:
		return string(b[v.start+1 : v.end-1])
	case valEscaped:
		var stack [64]byte
		return string(appendUnquoted(stack[:0], b[v.start+1:v.end-1]))
	}
	return ""
}

// code returns a language code: from letterPairs when it is two ASCII letters.
func code(b []byte, v value) string {
	if v.kind == valString && v.end-v.start == 4 {
		if p, ok := letterPair(b[v.start+1], b[v.start+2]); ok {
			return p
		}
	}
	return ownString(b, v)
}

// ownLower is ownString lower-cased in place when it is ASCII, so an upper-case
// reason costs one allocation rather than two. Anything else is left to
// checkReport's strings.ToLower, so that it is lower-cased exactly once.
func ownLower(b []byte, v value) string {
	var stack [64]byte
	s := appendValue(stack[:0], b, v)
	for _, c := range s {
		if c >= utf8.RuneSelf {
			return string(s)
		}
	}
	for i, c := range s {
		if 'A' <= c && c <= 'Z' {
			s[i] = c + 'a' - 'A'
		}
	}
	return string(s)
}

// Terms appends the terms of c to dst: its hashtags, challenge and sound, each once.
func (c *Content) Terms(dst []Term) []Term {
	for _, h := range c.Hashtags {
		dst = append(dst, Term{Kind: KindHashtag, Value: h})
	}
	if c.ChallengeID != "" {
		dst = append(dst, Term{Kind: KindChallenge, Value: c.ChallengeID})
	}
	if c.SoundID != "" {
		dst = append(dst, Term{Kind: KindSound, Value: c.SoundID})
	}
	return dst
}
