// Package readertest holds what every review.Source must read back alike,
// so that the Parquet and the ClickHouse readers answer to one contract. Each
// sink's tests write the case through the real sink into its real store and
// check the reader on it.
package readertest

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/review"
	"github.com/trendwatch/trendwatch/trend"
)

// Spellings is a challenge's rows over 15 minutes from Base: its Latin
// spelling all along, a digit spelling from minute 5, the family's own rows
// and another family's term beside them. Late rewrites the digit spelling's
// minute 12 (version 2), to be written after Rows, in a part of its own.
type Spellings struct {
	Base   time.Time
	Family string
	Rows   []trend.Minute
	Late   trend.Minute
}

// NewSpellings makes the case from base.
func NewSpellings(base time.Time) Spellings {
	const fam = "family:blakautchalenj"
	row := func(i int, term, kind, family string, n uint64) trend.Minute {
		return trend.Minute{Bucket: base.Add(time.Duration(i) * time.Minute), Term: term, Kind: kind, Family: family, Mentions: n, Version: 1}
	}
	c := Spellings{Base: base, Family: fam}
	for i := range 15 {
		c.Rows = append(c.Rows, row(i, "hashtag:blackoutchallenge", "hashtag", fam, 10), row(i, fam, "family", fam, 14),
			row(i, "hashtag:other", "hashtag", "family:other", 99))
		if i >= 5 {
			c.Rows = append(c.Rows, row(i, "hashtag:bl4ckoutchallenge", "hashtag", fam, 4))
		}
	}
	c.Late = row(12, "hashtag:bl4ckoutchallenge", "hashtag", fam, 40)
	c.Late.Version = 2
	return c
}

// MinuteWriter is the part of a sink the case is written through.
type MinuteWriter interface {
	WriteMinutes(ctx context.Context, rows []trend.Minute) error
	Flush(ctx context.Context) error
}

// Write writes the case through w: Rows, then Late in a flush of its own.
func (c Spellings) Write(t testing.TB, w MinuteWriter) {
	t.Helper()
	ctx := context.Background()
	for _, rows := range [][]trend.Minute{c.Rows, {c.Late}} {
		if err := w.WriteMinutes(ctx, rows); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// Check wants src's FamilyMinutes of minutes 2 to 13 to be the two
// spellings' rows, by term, then bucket, each bucket's latest version,
// without the family's own rows or another family's; and a spelling's
// TermMinutes to say its family.
func (c Spellings) Check(t testing.TB, src review.Source) {
	t.Helper()
	ctx := context.Background()
	got, err := src.FamilyMinutes(ctx, c.Family, c.Base.Add(2*time.Minute), c.Base.Add(14*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var desc []string
	for _, m := range got {
		if m.Family != c.Family || m.Kind != "hashtag" {
			t.Errorf("row of another family or kind: %+v", m)
		}
		desc = append(desc, fmt.Sprintf("%s@%d=%d", m.Term, int(m.Bucket.Sub(c.Base)/time.Minute), m.Mentions))
	}
	var want []string
	for i := 5; i < 14; i++ {
		n := 4
		if i == 12 {
			n = 40
		}
		want = append(want, fmt.Sprintf("hashtag:bl4ckoutchallenge@%d=%d", i, n))
	}
	for i := 2; i < 14; i++ {
		want = append(want, fmt.Sprintf("hashtag:blackoutchallenge@%d=10", i))
	}
	if !reflect.DeepEqual(desc, want) {
		t.Errorf("spellings' minutes\n got %v\nwant %v", desc, want)
	}
	mins, err := src.TermMinutes(ctx, "hashtag:blackoutchallenge", c.Base, c.Base.Add(time.Hour))
	if err != nil || len(mins) != 15 || mins[0].Family != c.Family {
		t.Errorf("a spelling's minutes: %+v, err %v", mins, err)
	}
}
