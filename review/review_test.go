package review

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/trend"
)

const hostile = `hashtag:<script>alert("x")</script>`

var t0 = time.Date(2026, 11, 22, 14, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

// fixture is a surge of a hostile term: calm at 10 posts a minute, above the
// expected 12 from minute 30, alerted at 33, escalated at 36, resolved at 50.
func fixture() *Incident {
	var mins []trend.Minute
	for i := 0; i < 70; i++ {
		m := trend.Minute{Bucket: at(i), Term: hostile, Kind: "hashtag", Mentions: 10, UniqueCreators: 8, Reports: 0,
			TopRegions: []string{"US", "GB"}, Langs: []string{"en"}}
		if i >= 30 && i < 50 {
			m.Mentions = uint64(40 * (i - 28))
			m.UniqueCreators = uint64(30 * (i - 28))
			m.Reports = uint64(3 * (i - 28))
			m.TopRegions = []string{"IN", "NP", "US"}
			m.Langs = []string{"hi", "en"}
			m.ReportReasons = []string{"dangerous_acts", "<b>spam</b>"}
		}
		if i == 20 {
			continue // a gap: the term went uncounted that minute
		}
		mins = append(mins, m)
	}
	a := alert.Alert{
		Key: "surge|" + hostile, Detector: "surge", Term: hostile, Status: alert.StatusOpen, Severity: alert.SeverityHigh,
		OpenedAt: at(33), Bucket: at(33), Score: 7, Observed: 200, Expected: 12, Growth: 16.7,
		Samples:     []string{"c-101", "c-<i>102</i>"},
		Summary:     `SURGE ` + hostile + ` 200/min vs 12 expected`,
		Explanation: "window=3 observed=200 expected=12 z=7.0 growth=16.7 creators=150 regions=IN:120,NP:40 report_rate=0.025 watch=blackout challenge risk=high frobnicate=3",
	}
	esc, res := a, a
	esc.Status, esc.Severity = alert.StatusEscalated, alert.SeverityCritical
	res.Status, res.ResolvedAt = alert.StatusResolved, at(50)
	return &Incident{
		Events: []alert.Event{
			{Alert: a, To: alert.StatusOpen, At: at(33), Seq: 1},
			{Alert: esc, From: alert.StatusOpen, To: alert.StatusEscalated, At: at(36), Seq: 2},
			{Alert: res, From: alert.StatusEscalated, To: alert.StatusResolved, At: at(50), Seq: 3},
		},
		Minutes: mins,
		Verdict: &Verdict{Key: a.Key, Verdict: TruePositive, Reviewer: "asha", Note: `escalated to policy <img src=x onerror=alert(1)>`, At: at(90)},
	}
}

func TestBuild(t *testing.T) {
	p := Build(fixture())
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"onset", p.Onset, at(30)},
		{"first alert", p.FirstAlert, at(33)},
		{"delay", p.Delay, 3 * time.Minute},
		{"escalations", len(p.Escalations), 1},
		{"resolved", p.Resolved, at(50)},
		{"severity", p.Severity, "critical"},
		{"peak", p.Peak, 840.0},
		{"episode minutes", p.EpisodeMinutes, 21},
		{"top region", p.Regions[0].Label, "IN"},
		{"top region minutes", p.Regions[0].First, 20},
		{"top language", p.Langs[0].Label, "hi"},
		{"top reason", p.Reasons[0].Label, "dangerous_acts"},
		{"samples", len(p.Samples), 2},
		{"charts", len(p.Charts), 3},
		{"markers", len(p.Charts[0].Markers), 4},
		{"lead", p.Lead, "Posts using " + isolate(hostile) + " rose above the expected level at 14:30 UTC. " +
			"trendwatch raised a high alert 3 minutes later, at 14:33. It was escalated at 14:36. " +
			"The busiest minute, 14:49 UTC, had 840 posts. Activity was back to normal by 14:50 UTC, 20 minutes after it began."},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestOnset(t *testing.T) {
	mins := func(vals ...uint64) []trend.Minute {
		out := make([]trend.Minute, len(vals))
		for i, v := range vals {
			out[i] = trend.Minute{Bucket: at(i), Mentions: v, Reports: v / 10}
		}
		return out
	}
	gap := mins(20, 20, 20, 20, 20)
	gap = append(gap[:2], gap[3:]...) // minute 2 missing
	for _, c := range []struct {
		name  string
		mins  []trend.Minute
		of    string
		level float64
		alert int
		from  int // the first minute read
		want  int
		cut   bool // the rise may have begun before want
	}{
		{"rise before the alert", mins(5, 5, 20, 30, 40), "mentions", 10, 4, -60, 2, false},
		{"alert on the first minute above", mins(5, 5, 5, 5, 40), "mentions", 10, 4, -60, 4, false},
		{"alert bucket not above the level", mins(5, 5, 5, 5, 5), "mentions", 10, 4, -60, 4, false},
		{"above from the first row, read from before it", mins(20, 20, 20), "mentions", 10, 2, -60, 0, false},
		{"above from the first minute read", mins(20, 20, 20), "mentions", 10, 2, 0, 0, true},
		{"calm in the first minute read", mins(5, 20, 20), "mentions", 10, 2, 0, 1, false},
		{"a gap ends the run", gap, "mentions", 10, 4, 0, 3, false},
		{"reports for report_rate", mins(100, 100, 300, 300), "reports", 15, 3, 0, 2, false},
		{"no rows", nil, "mentions", 10, 7, 0, 7, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, cut := onset(c.mins, c.of, c.level, at(c.alert), at(c.from))
			if !got.Equal(at(c.want)) || cut != c.cut {
				t.Errorf("onset %s (cut %v), want %s (cut %v)", got.Format("15:04"), cut, at(c.want).Format("15:04"), c.cut)
			}
		})
	}
}

func TestExplain(t *testing.T) {
	got := map[string]Phrase{}
	for _, p := range Explain("z=7.0 bucket_z=1.5 growth=16.7 watch=blackout challenge report_rate=0.025 regions=IN:120,NP:40 frobnicate=3 elapsed=0.5 test=window members=blackoutchallenge:60%,bl4ckoutchallenge:40% watch_spelling=1 mentions_per_creator=1 same_as=hashtag:stairstepdance") {
		got[p.Key] = p
	}
	for _, c := range []struct{ key, value, want string }{
		{"z", "7.0", "about as likely as 7.0 standard deviations by chance: far beyond normal variation"},
		{"bucket_z", "1.5", "in that single minute alone: about as likely as 1.5 standard deviations by chance: within normal variation"},
		{"growth", "16.7", "16.7 times the usual level"},
		{"watch", "blackout challenge", "matches the watchlist entry \u201c\u2068blackout challenge\u2069\u201d"},
		{"report_rate", "0.025", "2.5% of the posts were reported by users"},
		{"regions", "IN:120,NP:40", "where the posts came from (region: posts): IN 120, NP 40"},
		{"frobnicate", "3", "(no plain-words reading yet for frobnicate)"},
		{"elapsed", "0.5", "the counts so far covered 50% of the minute"},
		{"watch_spelling", "1", "another spelling of that watchlist entry: the same challenge, written differently"},
		{"test", "window", "the comparison that decided: the last few minutes together"},
		{"mentions_per_creator", "1", "on average each account posted it once"},
		{"same_as", "hashtag:stairstepdance",
			"the platform's challenge and \u2068#stairstepdance\u2069 are one: nearly all the challenge's posts carry \u2068#stairstepdance\u2069 and nearly all of \u2068#stairstepdance\u2069's carry the challenge, so their alerts are one incident"},
		{"members", "blackoutchallenge:60%,bl4ckoutchallenge:40%",
			"the spellings of one challenge counted together here, with their shares of the posts: \u2068#blackoutchallenge\u2069 60%, \u2068#bl4ckoutchallenge\u2069 40%"},
	} {
		p, ok := got[c.key]
		if !ok {
			t.Errorf("%s: missing", c.key)
			continue
		}
		if p.Value != c.value || p.Meaning != c.want {
			t.Errorf("%s: got %q → %q, want %q → %q", c.key, p.Value, p.Meaning, c.value, c.want)
		}
	}
}

func TestHTML(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, Build(fixture())); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, bad := range []string{"<script", "<img", "<b>spam", "<i>102", "http://", "https://"} {
		// The SVG namespace is an identifier, not something fetched.
		if strings.Contains(strings.ReplaceAll(html, `xmlns="http://www.w3.org/2000/svg"`, ""), bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	for _, want := range []string{
		"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;",
		`<b id="delay">3 minutes</b>`,
		"far beyond normal variation",
		"<code>z=7.0</code>",
		"840", "IN", "dangerous_acts", "&lt;b&gt;spam&lt;/b&gt;", "c-101", "c-&lt;i&gt;102&lt;/i&gt;",
		"real problem (true positive)", "asha", "escalated to policy &lt;img",
		"Sun 22 Nov 2026, 14:30 UTC", // onset
		"Sun 22 Nov 2026, 14:50 UTC", // resolution
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	paths := regexp.MustCompile(`<path class="line" d="([^"]*)"`).FindAllStringSubmatch(html, -1)
	if len(paths) != 3 {
		t.Fatalf("%d line paths, want 3", len(paths))
	}
	for _, p := range paths {
		if n := strings.Count(p[1], "L"); n < 60 {
			t.Errorf("line path has %d segments, want one per minute: %.80s", n, p[1])
		}
	}
	if n := strings.Count(html, `class="mk `); n != 12 {
		t.Errorf("%d markers, want 4 on each of 3 charts", n)
	}
}

func TestMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, Build(fixture())); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "<script") || strings.Contains(out, "<img") {
		t.Errorf("Markdown passes HTML through:\n%s", out)
	}
	for _, want := range []string{"&lt;script&gt;", "| Detection delay | 3 minutes |", "far beyond normal variation", "`z=7.0`", "real problem"} {
		if !strings.Contains(out, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
}

func TestDay(t *testing.T) {
	a, b := fixture(), fixture()
	b.Events = b.Events[:1]
	b.Events[0].Alert.Key, b.Events[0].At = "novelty|hashtag:early", at(10)
	b.Verdict = &Verdict{Verdict: FalsePositive}
	d := BuildDay(t0, []*Incident{a, b})
	if d.Rows[0].Page.Key != "novelty|hashtag:early" || d.TruePositives != 1 || d.FalsePositives != 1 {
		t.Errorf("digest rows %v, %d true, %d false", d.Rows[0].Page.Key, d.TruePositives, d.FalsePositives)
	}
	h, m := rendered(t, d, WriteDayHTML, WriteDayMarkdown)
	for _, out := range []string{h, m} {
		if strings.Contains(out, "<script") || !strings.Contains(out, FileName("surge|"+hostile)+".html") || !strings.Contains(out, "false alarm") {
			t.Errorf("digest:\n%s", out)
		}
	}
	if n := strings.Count(h, `<path class="line" d="M`); n != 2 {
		t.Errorf("%d sparklines, want 2", n)
	}
	// Both twins count in words that agree with their numbers.
	for _, out := range []string{h, m} {
		if !strings.Contains(out, "2 alerts opened this day") || !strings.Contains(out, "1 real, 1 false alarm") || strings.Contains(out, "1 false alarms") {
			t.Errorf("digest's counts:\n%s", out)
		}
	}
}

func TestFileName(t *testing.T) {
	for _, c := range []struct{ key, want string }{
		{"surge|hashtag:blackoutchallenge", "review-surge-hashtag-blackoutchallenge"},
		{"surge|hashtag:<script>", "review-surge-hashtag-_script_-"},
		{"../../etc/passwd", "review-_.._etc_passwd-"},
	} {
		got := FileName(c.key)
		if !strings.HasPrefix(got, c.want) || strings.ContainsAny(got, "/<>|:") {
			t.Errorf("FileName(%q) = %q, want prefix %q", c.key, got, c.want)
		}
	}
	if FileName("surge|hashtag:_x") == FileName("surge|hashtag:<x") {
		t.Error("replaced characters collide")
	}
}

// fakeSource serves a fixture, so Load's windowing is tested without a store.
type fakeSource struct {
	inc      *Incident
	from, to time.Time
	family   string   // the family FamilyMinutes was asked for
	terms    []string // the terms TermMinutes was asked for
}

func (f *fakeSource) FamilyMinutes(_ context.Context, family string, _, _ time.Time) ([]trend.Minute, error) {
	f.family = family
	return f.inc.Spellings, nil
}

func (f *fakeSource) AlertHistory(context.Context, string) ([]alert.Event, error) {
	return f.inc.Events, nil
}

func (f *fakeSource) TermMinutes(_ context.Context, term string, from, to time.Time) ([]trend.Minute, error) {
	f.from, f.to = from, to
	f.terms = append(f.terms, term)
	return f.inc.Minutes, nil
}

func (f *fakeSource) LatestVerdict(context.Context, string) (Verdict, bool, error) {
	return Verdict{}, false, nil
}

func (f *fakeSource) AlertsOpened(context.Context, time.Time, time.Time) ([]string, error) {
	return []string{"k"}, nil
}

func TestLoad(t *testing.T) {
	src := &fakeSource{inc: fixture()}
	inc, err := Load(context.Background(), src, "k")
	if err != nil {
		t.Fatal(err)
	}
	if !src.from.Equal(at(33).Add(-lead)) || !src.to.Equal(at(50).Add(trail)) || inc.Verdict != nil {
		t.Errorf("read %s..%s, verdict %v", src.from, src.to, inc.Verdict)
	}
	if src.family != "" || inc.Spellings != nil {
		t.Errorf("a term without a family: spellings of %q read", src.family)
	}
	// A hashtag's rows name its family; a family is its own.
	src.inc.Minutes[0].Family = "family:blakautchalenj"
	src.inc.Spellings = spellingRows()
	src.terms = nil
	if inc, err = Load(context.Background(), src, "k"); err != nil || src.family != "family:blakautchalenj" || len(inc.Spellings) == 0 {
		t.Errorf("a spelling's review read the spellings of %q (%d rows), err %v", src.family, len(inc.Spellings), err)
	}
	if want := []string{hostile, "family:blakautchalenj"}; !slices.Equal(src.terms, want) || inc.Family == nil {
		t.Errorf("a spelling's review read the minutes of %q (family rows %d), want %q", src.terms, len(inc.Family), want)
	}
	src.inc.Minutes[0].Family = ""
	for i := range src.inc.Events {
		src.inc.Events[i].Alert.Term = "family:blakautchalenj"
	}
	src.family, src.terms = "", nil
	if inc, err = Load(context.Background(), src, "k"); err != nil || src.family != "family:blakautchalenj" {
		t.Errorf("a family's review read the spellings of %q, err %v", src.family, err)
	}
	if len(src.terms) != 1 || inc.Family != nil {
		t.Errorf("a family's review read the minutes of %q, family rows %d: its own are its minutes", src.terms, len(inc.Family))
	}
	src.inc.Events = nil
	if _, err := Load(context.Background(), src, "surge|x"); err == nil || !strings.Contains(err.Error(), `"surge|x"`) {
		t.Errorf("unknown key: %v", err)
	}
}

func TestReportsByChannel(t *testing.T) {
	minute := func(byChannel ...uint64) trend.Minute {
		var m trend.Minute
		copy(m.ReportsByChannel[:], byChannel)
		return m
	}
	cases := []struct {
		name    string
		episode []trend.Minute
		want    []ChannelReports
	}{
		{"no reports", []trend.Minute{minute(), minute()}, nil},
		{"users only", []trend.Minute{minute(3), minute(4)}, nil},
		{"a regulator among users", []trend.Minute{minute(3), minute(4, 0, 1), minute(0, 0, 1)},
			[]ChannelReports{{"user", 7}, {"regulator", 2}}},
		{"most first, names in words", []trend.Minute{minute(1, 0, 0, 2), minute(0, 3)},
			[]ChannelReports{{"partner", 3}, {"law enforcement", 2}, {"user", 1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := reportsByChannel(tc.episode); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPagesShowReportsByChannel(t *testing.T) {
	in := fixture()
	for i := range in.Minutes {
		m := &in.Minutes[i]
		m.ReportsByChannel[event.ChannelUser] = m.Reports
		if m.Bucket.Equal(at(40)) {
			m.ReportsByChannel[event.ChannelUser]--
			m.ReportsByChannel[event.ChannelLawEnforcement] = 1
		}
	}
	p := Build(in)
	html, md := rendered(t, p, WriteHTML, WriteMarkdown)
	if want := "| Reports from law enforcement | 1 |"; !strings.Contains(md, want) {
		t.Errorf("Markdown lacks %q", want)
	}
	if want := "reports from law enforcement"; !strings.Contains(html, want) {
		t.Errorf("HTML lacks %q", want)
	}
}

// TestFamilyLead: the review of a term family's alert says in its first
// sentence that the family is one challenge under several spellings, and
// which, rather than print its key, which reads as a typo.
func TestFamilyLead(t *testing.T) {
	inc := fixture()
	for i := range inc.Events {
		a := &inc.Events[i].Alert
		a.Term = "family:blakautchalenj"
		a.Explanation += " members=blackoutchallenge:60%,bl4ckoutchallenge:40%"
	}
	p := Build(inc)
	want := "Posts using one challenge under several spellings (\u2068#blackoutchallenge\u2069 60%, \u2068#bl4ckoutchallenge\u2069 40%; counted together as \u2068family:blakautchalenj\u2069) rose above the expected level at 14:30 UTC."
	if !strings.HasPrefix(p.Lead, want) {
		t.Errorf("lead %q, want it to begin %q", p.Lead, want)
	}
	if p := Build(fixture()); p.Spellings != "" {
		t.Errorf("a hashtag's review has spellings %q", p.Spellings)
	}
}

// spellingRows are the rows of three spellings of one challenge around the
// fixture's episode (minutes 30 to 50): the Latin spelling all along, its
// Devanagari one from minute 25, and a digit spelling from minute 41, the
// challenge spreading to it during the episode.
func spellingRows() []trend.Minute {
	var rows []trend.Minute
	for _, sp := range []struct {
		term     string
		from, n  int
		busiestM int
	}{{"hashtag:blackoutchallenge", 0, 30, 45}, {"hashtag:bl4ckoutchallenge", 41, 5, 44}, {"hashtag:ब्लैकआउटचैलेंज", 25, 10, 48}} {
		for i := sp.from; i < 70; i++ {
			n := uint64(sp.n)
			if i == sp.busiestM {
				n *= 3
			}
			rows = append(rows, trend.Minute{Bucket: at(i), Term: sp.term, Kind: "hashtag", Mentions: n, Family: "family:blakautchalenj"})
		}
	}
	slices.SortFunc(rows, func(a, b trend.Minute) int {
		if c := strings.Compare(a.Term, b.Term); c != 0 {
			return c
		}
		return a.Bucket.Compare(b.Bucket)
	})
	return rows
}

// only is the rows of term.
func only(rows []trend.Minute, term string) []trend.Minute {
	var out []trend.Minute
	for _, r := range rows {
		if r.Term == term {
			out = append(out, r)
		}
	}
	return out
}

func TestVariants(t *testing.T) {
	rows := spellingRows()
	cases := []struct {
		name        string
		rows        []trend.Minute
		least       int
		wantTerms   []string
		wantPosts   []uint64
		wantFirst   []time.Time
		wantBusiest []uint64
	}{
		{"three spellings, most posts first", rows, 2,
			[]string{"hashtag:blackoutchallenge", "hashtag:ब्लैकआउटचैलेंज", "hashtag:bl4ckoutchallenge"},
			// 21 minutes of 30 (one at 90), 10 (one at 30), and 10 minutes of 5 (one at 15) from minute 41
			[]uint64{20*30 + 90, 20*10 + 30, 9*5 + 15},
			[]time.Time{at(0), at(25), at(41)},
			[]uint64{90, 30, 15}},
		{"one spelling: none for a hashtag", only(rows, "hashtag:bl4ckoutchallenge"), 2, nil, nil, nil, nil},
		{"one spelling: listed for a family", only(rows, "hashtag:bl4ckoutchallenge"), 1,
			[]string{"hashtag:bl4ckoutchallenge"}, nil, nil, nil},
		{"no rows", nil, 1, nil, nil, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := variants(tc.rows, at(30), at(50), tc.least)
			var terms []string
			var posts, busiest []uint64
			var first []time.Time
			share := 0.0
			for _, v := range got {
				terms, posts, first, busiest = append(terms, v.Term), append(posts, v.Posts), append(first, v.First), append(busiest, v.Busiest)
				share += v.Share
			}
			if !slices.Equal(terms, tc.wantTerms) {
				t.Fatalf("spellings %v, want %v", terms, tc.wantTerms)
			}
			if tc.wantPosts != nil && (!slices.Equal(posts, tc.wantPosts) || !slices.Equal(busiest, tc.wantBusiest) || !slices.EqualFunc(first, tc.wantFirst, time.Time.Equal)) {
				t.Errorf("posts %v busiest %v first %v, want %v %v %v", posts, busiest, first, tc.wantPosts, tc.wantBusiest, tc.wantFirst)
			}
			if len(got) > 0 && (share < 99.8 || share > 100.2) {
				t.Errorf("shares sum to %.1f %%", share)
			}
		})
	}
}

// TestPagesShowSpellings: a review whose challenge has several spellings
// lists them with when each was first seen, saying which came only after
// the rise; and the reports' channels are said as they were counted.
func TestPagesShowSpellings(t *testing.T) {
	in := fixture()
	in.Spellings = spellingRows()
	p := Build(in)
	html, md := rendered(t, p, WriteHTML, WriteMarkdown)
	for _, want := range []string{
		"## Spellings of this challenge",
		"| hashtag:blackoutchallenge | 690 | 70.4 % | 90 at 14:45 | Sun 22 Nov 2026, 14:00 UTC (before the rise) |",
		"| hashtag:bl4ckoutchallenge | 60 | 6.1 % | 15 at 14:44 | Sun 22 Nov 2026, 14:41 UTC |",
		"Every report came from users of the platform",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	for _, want := range []string{"Spellings of this challenge", "<td>Sun 22 Nov 2026, 14:41 UTC</td>", "Every report came from users of the platform"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.Contains(md+html, "not recorded") {
		t.Error("the review still says report channels are not recorded")
	}
	if strings.Contains(md+html, allSpellings) {
		t.Error("the challenge's own row without its family's rows")
	}
	// With the family's own rows, the challenge's count closes the table:
	// each post once, over the same episode.
	for i := range 70 {
		in.Family = append(in.Family, trend.Minute{Bucket: at(i), Term: "family:blakautchalenj", Kind: "family", Mentions: 40})
	}
	html, md = rendered(t, Build(in), WriteHTML, WriteMarkdown)
	if want := "| All spellings, each post once | 840 | | 40 at 14:30 | Sun 22 Nov 2026, 14:00 UTC |"; !strings.Contains(md, want) {
		t.Errorf("Markdown lacks %q:\n%s", want, md)
	}
	if want := `<tr class="total"><td>All spellings, each post once</td><td class="n">840</td>`; !strings.Contains(html, want) || !strings.Contains(html, "The last row is the challenge itself") {
		t.Errorf("HTML lacks %q and its note", want)
	}
	// A family's own review counts the challenge from its own rows.
	fam := fixture()
	fam.Spellings = spellingRows()
	for i := range fam.Events {
		fam.Events[i].Alert.Term = "family:blakautchalenj"
	}
	for i := range fam.Minutes {
		fam.Minutes[i].Term, fam.Minutes[i].Family = "family:blakautchalenj", "family:blakautchalenj"
	}
	if c := Build(fam).Challenge; c == nil || c.Posts != 40*230+10 {
		t.Errorf("a family's review counts the challenge as %+v, want its own %d posts of the episode", c, 40*230+10)
	}
	in.Spellings = nil
	if _, md := rendered(t, Build(in), WriteHTML, WriteMarkdown); strings.Contains(md, "Spellings of this challenge") {
		t.Error("a review without spellings has the section")
	}
}

// alertOn is the fixture's alert reduced to its opening: detector's on term
// (whose rows name family), opened at minute, of severity sev.
func alertOn(detector, term, family string, minute int, sev alert.Severity) *Incident {
	in := fixture()
	in.Events = in.Events[:1]
	a := &in.Events[0].Alert
	a.Key, a.Detector, a.Term, a.Severity = detector+"|"+term, detector, term, sev
	in.Events[0].At = at(minute)
	for i := range in.Minutes {
		in.Minutes[i].Term, in.Minutes[i].Family = term, family
	}
	in.Verdict = nil
	return in
}

// TestDayIncidents: the digest groups a day's alerts by challenge: the
// alerts on a family and on each of its spellings are one incident, a term
// without a family is its own, each in the order it first alerted, with the
// terms, detectors and highest severity of its alerts.
func TestDayIncidents(t *testing.T) {
	const fam = "family:blakautchalenj"
	d := BuildDay(t0, []*Incident{
		alertOn("report_rate", "hashtag:ब्लैकआउटचैलेंज", fam, 40, alert.SeverityCritical),
		alertOn("surge", "hashtag:blackoutchallenge", fam, 33, alert.SeverityHigh),
		alertOn("novelty", "hashtag:bersatuuntuknegeri", "", 35, alert.SeverityMedium),
		alertOn("surge", fam, fam, 34, alert.SeverityHigh),
		alertOn("watchlist", "hashtag:blackoutchallenge", fam, 33, alert.SeverityHigh),
	})
	var got []string
	for _, in := range d.Incidents {
		var keys []string
		for _, r := range in.Rows {
			keys = append(keys, r.Page.Key)
		}
		got = append(got, fmt.Sprintf("%s first %s highest %s terms %v detectors %v alerts %v", in.Challenge, clock(in.First), in.Severity, in.Terms, in.Detectors, keys))
	}
	want := []string{
		"hashtag:blackoutchallenge first 14:33 highest critical terms [hashtag:blackoutchallenge family:blakautchalenj hashtag:ब्लैकआउटचैलेंज] detectors [surge watchlist report_rate] alerts [surge|hashtag:blackoutchallenge watchlist|hashtag:blackoutchallenge surge|family:blakautchalenj report_rate|hashtag:ब्लैकआउटचैलेंज]",
		"hashtag:bersatuuntuknegeri first 14:35 highest medium terms [hashtag:bersatuuntuknegeri] detectors [novelty] alerts [novelty|hashtag:bersatuuntuknegeri]",
	}
	if !slices.Equal(got, want) {
		t.Errorf("incidents\n got %q\nwant %q", got, want)
	}
	h, m := rendered(t, d, WriteDayHTML, WriteDayMarkdown)
	for _, c := range []struct{ out, want string }{
		{h, "2 incidents: the alerts on one challenge"},
		{h, `<a href="incident-2026-11-22-hashtag-blackoutchallenge.html"><bdi class="term">hashtag:blackoutchallenge</bdi></a> · 4 alerts on 3 terms (<bdi>hashtag:blackoutchallenge</bdi>, <bdi>family:blakautchalenj</bdi>, <bdi>hashtag:ब्लैकआउटचैलेंज</bdi>)`},
		{m, "### [hashtag:blackoutchallenge](incident-2026-11-22-hashtag-blackoutchallenge.html)\n\n4 alerts on 3 terms (\u2068hashtag:blackoutchallenge\u2069, \u2068family:blakautchalenj\u2069, \u2068hashtag:ब्लैकआउटचैलेंज\u2069) by surge, watchlist, report\\_rate · first at 14:33 · highest **critical**"},
		{m, "### [hashtag:bersatuuntuknegeri](incident-2026-11-22-hashtag-bersatuuntuknegeri.html)\n\n1 alert by novelty"},
	} {
		if !strings.Contains(c.out, c.want) {
			t.Errorf("digest lacks %q:\n%s", c.want, c.out)
		}
	}
}

// TestDayIncidentsChallengeID: a challenge's alert that is one with a
// hashtag (same_as) is in the hashtag's incident, with that hashtag's other
// spellings, and an incident it begins is called by the hashtag; a challenge
// without one is an incident of its own.
func TestDayIncidentsChallengeID(t *testing.T) {
	alertWith := func(term, family, sameAs string, minute int) *Incident {
		in := alertOn("surge", term, family, minute, alert.SeverityHigh)
		if sameAs != "" {
			in.Events[0].Alert.Explanation += " same_as=" + sameAs
		}
		return in
	}
	const fam = "family:blakautchalenj"
	for _, c := range []struct {
		name string
		incs []*Incident
		want []string
		lead string // how the first incident's page begins
	}{
		{"beside its hashtag", []*Incident{
			alertWith("hashtag:blackoutchallenge", fam, "", 33),
			alertWith("challenge:ch1", "", "hashtag:blackoutchallenge", 34),
			alertWith("challenge:ch2", "", "", 35),
		}, []string{"hashtag:blackoutchallenge [hashtag:blackoutchallenge challenge:ch1]", "challenge:ch2 [challenge:ch2]"},
			"Posts using \u2068hashtag:blackoutchallenge\u2069 and 1 more term of the same challenge (\u2068challenge:ch1\u2069) rose"},
		{"beside another spelling of its hashtag", []*Incident{
			alertWith("challenge:ch1", "", "hashtag:blackoutchallenge", 33),
			alertWith("hashtag:bl4ckoutchallenge", fam, "", 34),
		}, []string{"hashtag:blackoutchallenge [challenge:ch1 hashtag:bl4ckoutchallenge]"},
			"Posts using \u2068hashtag:blackoutchallenge\u2069 and 2 more terms of the same challenge (\u2068challenge:ch1\u2069, \u2068hashtag:bl4ckoutchallenge\u2069) rose"},
		{"alone", []*Incident{
			alertWith("challenge:ch1", "", "hashtag:stairstepdance", 33),
			alertWith("hashtag:blackoutchallenge", fam, "", 34),
		}, []string{"hashtag:stairstepdance [challenge:ch1]", "hashtag:blackoutchallenge [hashtag:blackoutchallenge]"},
			"Posts using \u2068hashtag:stairstepdance\u2069 and 1 more term of the same challenge (\u2068challenge:ch1\u2069) rose"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			d := BuildDay(t0, c.incs)
			if lead := d.IncidentPages[0].Lead; !strings.HasPrefix(lead, c.lead) {
				t.Errorf("lead %q, want it to begin %q", lead, c.lead)
			}
			for _, in := range d.Incidents {
				got = append(got, fmt.Sprintf("%s %v", in.Challenge, in.Terms))
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("incidents\n got %q\nwant %q", got, c.want)
			}
		})
	}
}

// TestIncidentPage: each incident of the digest has a page with every one of
// its alerts' transitions on one timeline, linked to the alert's own review,
// a chart of each term's posts, the challenge's spellings, and a lead that
// says when it rose, how many alerts it raised and when all resolved.
func TestIncidentPage(t *testing.T) {
	latin, deva := fixture(), fixture() // each: open 14:33, escalated 14:36, resolved 14:50
	latin.Spellings = spellingRows()
	for i := range deva.Events {
		a := &deva.Events[i].Alert
		a.Key, a.Detector, a.Term = "watchlist|hashtag:ब्लैकआउटचैलेंज", "watchlist", "hashtag:ब्लैकआउटचैलेंज"
		deva.Events[i].At = deva.Events[i].At.Add(2 * time.Minute)
	}
	deva.Events[2].Alert.ResolvedAt = at(52)
	for _, in := range []*Incident{latin, deva} {
		term := in.Events[0].Alert.Term
		for i := range in.Minutes {
			in.Minutes[i].Term, in.Minutes[i].Family = term, "family:blakautchalenj"
		}
		in.Verdict = nil
	}
	latin.Events[0].Alert.Term, latin.Events[1].Alert.Term, latin.Events[2].Alert.Term = "hashtag:blackoutchallenge", "hashtag:blackoutchallenge", "hashtag:blackoutchallenge"
	for i := range latin.Events {
		latin.Events[i].Alert.Key = "surge|hashtag:blackoutchallenge"
	}
	d := BuildDay(t0, []*Incident{deva, latin})
	if len(d.IncidentPages) != 1 {
		t.Fatalf("%d incident pages, want 1", len(d.IncidentPages))
	}
	p := d.IncidentPages[0]
	var steps []string
	for _, s := range p.Timeline {
		steps = append(steps, clock(s.At)+" "+s.Detector+" "+s.What)
	}
	wantSteps := []string{"14:33 surge Alert raised", "14:35 watchlist Alert raised", "14:36 surge Escalated",
		"14:38 watchlist Escalated", "14:50 surge Resolved: back to normal", "14:52 watchlist Resolved: back to normal"}
	if !slices.Equal(steps, wantSteps) {
		t.Errorf("timeline\n got %q\nwant %q", steps, wantSteps)
	}
	if len(p.Charts) != 2 || len(p.Variants) != 3 || !p.Onset.Equal(at(30)) || !p.Resolved.Equal(at(52)) || p.Severity != "critical" {
		t.Errorf("charts %d, spellings %d, onset %s, resolved %s, severity %s", len(p.Charts), len(p.Variants), p.Onset, p.Resolved, p.Severity)
	}
	wantLead := "Posts using \u2068hashtag:blackoutchallenge\u2069 and 1 more term of the same challenge (\u2068hashtag:ब्लैकआउटचैलेंज\u2069) rose above normal at 14:30 UTC. " +
		"trendwatch raised 2 alerts by surge, watchlist, the first at 14:33, 3 minutes after the rise; the highest severity reached was critical. " +
		"Every alert had resolved by 14:52 UTC, 22 minutes after the rise."
	if p.Lead != wantLead {
		t.Errorf("lead\n got %q\nwant %q", p.Lead, wantLead)
	}
	h, m := rendered(t, p, WriteIncidentHTML, WriteIncidentMarkdown)
	for _, c := range []struct{ out, want string }{
		{h, `<a href="review-surge-hashtag-blackoutchallenge.html">`},
		{h, "Spellings of this challenge"},
		{h, "<figcaption>Posts using <bdi>hashtag:ब्लैकआउटचैलेंज</bdi>, per minute</figcaption>"},
		{m, "| 14:35 | [hashtag:ब्लैकआउटचैलेंज](" + FileName("watchlist|hashtag:ब्लैकआउटचैलेंज") + ".html) | watchlist | Alert raised | high |"},
		{m, "## Spellings of this challenge"},
	} {
		if !strings.Contains(c.out, c.want) {
			t.Errorf("incident page lacks %q:\n%s", c.want, c.out)
		}
	}
	// One alert still open leaves the incident open.
	deva.Events = deva.Events[:2]
	if p := BuildDay(t0, []*Incident{deva, latin}).IncidentPages[0]; !p.Resolved.IsZero() || !strings.Contains(p.Lead, "still open") {
		t.Errorf("an incident with an open alert: resolved %s, lead %q", p.Resolved, p.Lead)
	}
}

// rendered writes p as HTML and as Markdown.
func rendered[P any](t *testing.T, p P, html, md func(io.Writer, P) error) (string, string) {
	t.Helper()
	var h, m bytes.Buffer
	if err := html(&h, p); err != nil {
		t.Fatal(err)
	}
	if err := md(&m, p); err != nil {
		t.Fatal(err)
	}
	return h.String(), m.String()
}

// alertOpen is an alert of detector on term opened at open and resolved at
// resolved (zero: still open), with the fixture's minutes.
func alertOpen(detector, term string, open, resolved time.Time) *Incident {
	in := fixture()
	in.Verdict = nil
	evs := in.Events[:1]
	if !resolved.IsZero() {
		evs = []alert.Event{in.Events[0], in.Events[2]}
	}
	for i := range evs {
		a := &evs[i].Alert
		a.Key, a.Detector, a.Term, a.OpenedAt = detector+"|"+term, detector, term, open
		evs[i].Seq = uint64(i + 1)
	}
	evs[0].At = open
	if !resolved.IsZero() {
		evs[1].At, evs[1].Alert.ResolvedAt = resolved, resolved
	}
	in.Events = evs
	for i := range in.Minutes {
		in.Minutes[i].Term = term
	}
	return in
}

// TestIncidentAcrossMidnight: a surge that goes on past midnight is one
// incident, the day's where its first alert opened: its page holds the alerts
// opened after midnight while it was still open, and the next day's digest
// lists those under it, linked to that page, rather than making a second
// incident of them. An alert of the challenge opened after every one had
// resolved is a new incident.
func TestIncidentAcrossMidnight(t *testing.T) {
	day := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	clockAt := func(d, h, m int) time.Time {
		return day.AddDate(0, 0, d).Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	}
	const other = "hashtag:bersatuuntuknegeri"
	incs := []*Incident{
		alertOpen("surge", hostile, clockAt(0, 23, 40), clockAt(1, 0, 30)),
		alertOpen("watchlist", hostile, clockAt(1, 0, 5), clockAt(1, 0, 25)),
		alertOpen("novelty", other, clockAt(1, 0, 10), clockAt(1, 0, 40)),
		alertOpen("report_rate", hostile, clockAt(1, 9, 0), time.Time{}),
	}
	type inc struct {
		challenge, file string
		rows, later     []string
		continues       string
	}
	summary := func(d Day) []inc {
		var out []inc
		for _, in := range d.Incidents {
			s := inc{challenge: in.Challenge, file: in.File}
			for _, r := range in.Rows {
				s.rows = append(s.rows, r.Page.Detector)
			}
			for _, r := range in.Later {
				s.later = append(s.later, r.Page.Detector)
			}
			if !in.Continues.IsZero() {
				s.continues = in.Continues.Format(time.DateOnly)
			}
			out = append(out, s)
		}
		return out
	}
	file := func(date string) string {
		d, _ := time.Parse(time.DateOnly, date)
		return IncidentFileName(d, hostile) + ".html"
	}
	cases := []struct {
		name  string
		day   time.Time
		rows  int
		want  []inc
		pages int
		html  []string
	}{
		{"the day it began", day, 1, []inc{
			{challenge: hostile, file: file("2026-11-22"), rows: []string{"surge"}, later: []string{"watchlist"}},
		}, 1, []string{"1 alert (and 1 after midnight)"}},
		{"the day after", day.AddDate(0, 0, 1), 3, []inc{
			{challenge: hostile, file: file("2026-11-22"), rows: []string{"watchlist"}, continues: "2026-11-22"},
			{challenge: other, file: "incident-2026-11-23-hashtag-bersatuuntuknegeri.html", rows: []string{"novelty"}},
			{challenge: hostile, file: file("2026-11-23"), rows: []string{"report_rate"}},
		}, 2, []string{"continues from sunday 22 november · 1 alert"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := BuildDay(tc.day, incs)
			if len(d.Rows) != tc.rows {
				t.Errorf("%d rows, want the day's own %d", len(d.Rows), tc.rows)
			}
			if got := summary(d); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("incidents\n got %+v\nwant %+v", got, tc.want)
			}
			if len(d.IncidentPages) != tc.pages {
				t.Fatalf("%d incident pages, want %d: one for each incident that began this day", len(d.IncidentPages), tc.pages)
			}
			h, m := rendered(t, d, WriteDayHTML, WriteDayMarkdown)
			for _, want := range tc.html {
				if !strings.Contains(strings.ToLower(h), want) || !strings.Contains(strings.ToLower(m), want) {
					t.Errorf("digest lacks %q:\n%s\n%s", want, h, m)
				}
			}
		})
	}
	// The page of the incident that crossed midnight: both alerts, the later
	// steps dated.
	p := BuildDay(day, incs).IncidentPages[0]
	var steps []string
	for _, s := range p.Timeline {
		steps = append(steps, clockOn(s.At, p.Date)+" "+s.Detector+" "+s.What)
	}
	wantSteps := []string{"23:40 surge Alert raised", "Mon 23 Nov 00:05 watchlist Alert raised",
		"Mon 23 Nov 00:25 watchlist Resolved: back to normal", "Mon 23 Nov 00:30 surge Resolved: back to normal"}
	if len(p.Alerts) != 2 || !slices.Equal(steps, wantSteps) {
		t.Errorf("%d alerts, timeline\n got %q\nwant %q", len(p.Alerts), steps, wantSteps)
	}
	if !strings.Contains(p.Lead, "resolved by Mon 23 Nov 00:30 UTC") {
		t.Errorf("lead %q: the resolution after midnight without its date", p.Lead)
	}
}

// daySource serves alerts by the time each opened, for LoadDay.
type daySource struct {
	fakeSource
	opened map[string]time.Time
	incs   map[string]*Incident
	asked  []string
}

func (s *daySource) AlertsOpened(_ context.Context, from, to time.Time) ([]string, error) {
	var out []string
	for k, at := range s.opened {
		if !at.Before(from) && at.Before(to) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (s *daySource) AlertHistory(_ context.Context, key string) ([]alert.Event, error) {
	s.asked = append(s.asked, key)
	return s.incs[key].Events, nil
}

// TestLoadDayCrossesMidnight: LoadDay reads the day's alerts and those of
// the same challenges (a hashtag's spellings and family alike) opened within
// incidentDays either side, and no other.
func TestLoadDayCrossesMidnight(t *testing.T) {
	day := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	src := &daySource{fakeSource: fakeSource{inc: fixture()}, opened: map[string]time.Time{}, incs: map[string]*Incident{}}
	add := func(key string, at time.Time) {
		src.opened[key] = at
		src.incs[key] = &Incident{Events: []alert.Event{{Alert: alert.Alert{Key: key, Term: key[strings.Index(key, "|")+1:]}, To: alert.StatusOpen, At: at, Seq: 1}}}
	}
	add("surge|hashtag:blackoutchallenge", day.Add(23*time.Hour+40*time.Minute))
	add("watchlist|hashtag:bl4ckoutchallenge", day.Add(24*time.Hour+5*time.Minute)) // a spelling, after midnight
	add("surge|family:blakautchalenj", day.Add(-10*time.Minute))                    // the family, before midnight
	add("novelty|hashtag:bersatuuntuknegeri", day.Add(24*time.Hour+10*time.Minute)) // another challenge, the day after
	add("surge|hashtag:blackoutchallenge-old", day.Add(-48*time.Hour))              // another challenge, two days before
	add("watchlist|hashtag:blackout_challenge", day.Add(-47*time.Hour))             // a spelling two days before: the day before had one too
	add("novelty|hashtag:blackoutchalenge", day.Add(-96*time.Hour))                 // four days before, after a day without any
	add("report_rate|hashtag:blackoutchallenge", day.Add(-8*24*time.Hour))          // eight days before: beyond incidentDays
	add("surge|hashtag:blackoutchalenge", day.Add(8*24*time.Hour))                  // eight days after
	incs, err := LoadDay(context.Background(), src, day.Add(15*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(src.asked)
	want := []string{"novelty|hashtag:blackoutchalenge", "surge|family:blakautchalenj", "surge|hashtag:blackoutchallenge", "watchlist|hashtag:bl4ckoutchallenge", "watchlist|hashtag:blackout_challenge"}
	if len(incs) != len(want) || !slices.Equal(src.asked, want) {
		t.Errorf("loaded %d alerts, read %q, want %q", len(incs), src.asked, want)
	}
}

// TestLoadDayLongAlert: an alert open for over two days, with no other alert
// of its challenge opened on the day between, still carries the incident: an
// alert of the challenge opened while it was open continues that incident in
// the day's digest, rather than reading as a new one. LoadDay and BuildDay
// together, as trendwatch review runs them.
func TestLoadDayLongAlert(t *testing.T) {
	day := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	src := &daySource{fakeSource: fakeSource{inc: fixture()}, opened: map[string]time.Time{}, incs: map[string]*Incident{}}
	for _, a := range []*Incident{
		alertOpen("report_rate", hostile, day.Add(-46*time.Hour), time.Time{}), // 20 November 02:00, never resolved
		alertOpen("surge", hostile, day.Add(10*time.Hour), day.Add(11*time.Hour)),
	} {
		k := a.Events[0].Alert.Key
		src.opened[k], src.incs[k] = a.Events[0].At, a
	}
	incs, err := LoadDay(context.Background(), src, day)
	if err != nil {
		t.Fatal(err)
	}
	d := BuildDay(day, incs)
	if len(d.Incidents) != 1 {
		t.Fatalf("%d incidents, want 1", len(d.Incidents))
	}
	in := d.Incidents[0]
	if got := in.Continues.Format(time.DateOnly); got != "2026-11-20" || len(in.Rows) != 1 || in.Rows[0].Page.Detector != "surge" {
		t.Errorf("incident continues from %s with %d rows, want the surge continuing the incident of 2026-11-20", got, len(in.Rows))
	}
	if len(d.IncidentPages) != 0 {
		t.Errorf("%d incident pages, want none: the incident's page is its first day's", len(d.IncidentPages))
	}
}

// reopenSource lists an alert on every day one of its openings began.
type reopenSource struct{ daySource }

func (s *reopenSource) AlertsOpened(_ context.Context, from, to time.Time) ([]string, error) {
	var out []string
	for k, inc := range s.incs {
		for _, e := range inc.Events {
			if e.To == alert.StatusOpen && !e.At.Before(from) && e.At.Before(to) {
				out = append(out, k)
				break
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// reopened is one alert key that opened and resolved at each pair of times in
// spans, its transitions numbered as the lifecycle numbers them.
func reopened(detector, term string, spans ...[2]time.Time) *Incident {
	in := alertOpen(detector, term, spans[0][0], spans[0][1])
	for _, sp := range spans[1:] {
		next := alertOpen(detector, term, sp[0], sp[1])
		in.Events = append(in.Events, next.Events...)
	}
	for i := range in.Events {
		in.Events[i].Seq = uint64(i + 1)
	}
	return in
}

// TestReopenedAlert: an alert key is reused when its detector alerts on the
// term again after it resolved. Each opening is its own row, on the day it
// opened, with its own page and its own transitions: the second opening, a
// day later, is in that day's digest as an incident of its own (it was
// missing from it, as its key's first opening was the day before), and the
// first day's page does not run on into the second.
func TestReopenedAlert(t *testing.T) {
	day := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	key := "surge|" + hostile
	first := [2]time.Time{day.Add(-14 * time.Hour), day.Add(-13*time.Hour - 30*time.Minute)} // 21 November 10:00–10:30
	second := [2]time.Time{day.Add(9 * time.Hour), day.Add(9*time.Hour + 40*time.Minute)}    // 22 November 09:00–09:40
	src := &reopenSource{daySource{fakeSource: fakeSource{inc: fixture()}, incs: map[string]*Incident{key: reopened("surge", hostile, first, second)}}}
	for _, tc := range []struct {
		day   time.Time
		file  string
		steps []time.Time
	}{
		{day.AddDate(0, 0, -1), FileName(key) + ".html", first[:]},
		{day, FileName(key) + "~2.html", second[:]},
	} {
		incs, err := LoadDay(context.Background(), src, tc.day)
		if err != nil {
			t.Fatal(err)
		}
		d := BuildDay(tc.day, incs)
		if len(d.Rows) != 1 || d.Rows[0].File != tc.file {
			var files []string
			for _, r := range d.Rows {
				files = append(files, r.File)
			}
			t.Errorf("%s: rows %q, want [%q]", tc.day.Format(time.DateOnly), files, tc.file)
			continue
		}
		if len(d.Incidents) != 1 || !d.Incidents[0].Continues.IsZero() || len(d.IncidentPages) != 1 {
			t.Errorf("%s: %d incidents, %d pages; want one that began this day", tc.day.Format(time.DateOnly), len(d.Incidents), len(d.IncidentPages))
			continue
		}
		var steps []time.Time
		for _, s := range d.IncidentPages[0].Timeline {
			steps = append(steps, s.At)
		}
		if !slices.EqualFunc(steps, tc.steps, time.Time.Equal) || !d.Rows[0].Page.FirstAlert.Equal(tc.steps[0]) {
			t.Errorf("%s: timeline %v, first alert %v; want %v", tc.day.Format(time.DateOnly), steps, d.Rows[0].Page.FirstAlert, tc.steps)
		}
	}
}

// TestOpenings: the minutes of each opening are its own span, and the key's
// verdict goes to the opening it was given after.
func TestOpenings(t *testing.T) {
	inc := fixture() // opens at(33), resolves at(50), minutes at(0) to at(69)
	v := inc.Verdict
	if got := Openings(inc); len(got) != 1 || got[0] != inc {
		t.Fatalf("one opening: got %d incidents, want the incident itself", len(got))
	}
	two := reopened("surge", hostile, [2]time.Time{at(33), at(40)}, [2]time.Time{at(150), at(160)})
	two.Minutes = inc.Minutes
	for _, tc := range []struct {
		name     string
		verdict  time.Time
		withVerd int
	}{
		{"given after the first", at(100), 0},
		{"given after the second", at(170), 1},
		{"time unknown", time.Time{}, 1},
	} {
		vv := *v
		vv.At = tc.verdict
		two.Verdict = &vv
		got := Openings(two)
		if len(got) != 2 || got[0].Opening != 0 || got[1].Opening != 1 {
			t.Fatalf("%s: %d openings, want 2 numbered 0 and 1", tc.name, len(got))
		}
		for k, o := range got {
			if (o.Verdict != nil) != (k == tc.withVerd) {
				t.Errorf("%s: opening %d has verdict %v, want it on opening %d", tc.name, k, o.Verdict != nil, tc.withVerd)
			}
		}
		// The first opening's minutes run from lead before it opened to
		// trail after it resolved; the second's minutes are past the
		// fixture's, so it has none.
		if m := got[0].Minutes; len(m) == 0 || m[0].Bucket.Before(at(33).Add(-lead)) || !m[len(m)-1].Bucket.Before(at(40).Add(trail)) {
			t.Errorf("%s: first opening's minutes %v to %v", tc.name, m[0].Bucket, m[len(m)-1].Bucket)
		}
		if len(got[1].Minutes) != 0 || len(got[1].Events) != 2 || len(got[0].Events) != 2 {
			t.Errorf("%s: second opening %d minutes, %d and %d transitions", tc.name, len(got[1].Minutes), len(got[0].Events), len(got[1].Events))
		}
	}
}

// TestEarlyAlertReviewed: an alert raised early, on a minute still under
// way, says so; one the minute's final count took back reads as retracted
// (a false alarm by trendwatch's own later judgement), in its page, its
// Markdown and the digest, not as activity "back to normal".
func TestEarlyAlertReviewed(t *testing.T) {
	for _, tc := range []struct {
		name      string
		retracted bool
		status    string
		steps     []string
		lead      string
		state     string // the page's line under its title, and the Markdown's
	}{
		{"retracted", true, "retracted",
			[]string{"Alert raised early, on the minute's posts so far", "Retracted: the minute's final count did not bear the early alert out"},
			"retracted at 14:34 UTC, when that minute's final count did not bear it out", "retracted "},
		{"borne out", false, "resolved",
			[]string{"Alert raised early, on the minute's posts so far", "Resolved: back to normal"},
			"that minute's final count bore it out", "resolved "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := alertOpen("surge", hostile, at(33), at(34))
			in.Events[0].Alert.Early = true
			if tc.retracted {
				in.Events[1].Reason = alert.ReasonRetracted
			}
			p := Build(in)
			var steps []string
			for _, s := range p.Timeline {
				steps = append(steps, s.What)
			}
			if !p.Early || p.Retracted != tc.retracted || p.Status != tc.status || !slices.Equal(steps, tc.steps) {
				t.Errorf("early %v, retracted %v, status %q, timeline %q", p.Early, p.Retracted, p.Status, steps)
			}
			if !strings.Contains(p.Lead, tc.lead) || strings.Contains(p.Lead, "back to normal") == tc.retracted {
				t.Errorf("lead %q, want it to say %q", p.Lead, tc.lead)
			}
			h, m := rendered(t, p, WriteHTML, WriteMarkdown)
			last := tc.steps[1][strings.Index(tc.steps[1], ":")+1:]
			last = last[strings.LastIndex(last, "'")+1:] // from after an apostrophe, which HTML escapes
			for _, out := range []string{h, m} {
				if !strings.Contains(out, tc.state+when(p.Resolved)) || !strings.Contains(out, last) {
					t.Errorf("rendered page lacks %q or %q:\n%s", tc.state+when(p.Resolved), last, out)
				}
			}
			d := BuildDay(at(33), []*Incident{in})
			if len(d.Rows) != 1 || d.Rows[0].Page.Status != tc.status {
				t.Fatalf("digest rows %d", len(d.Rows))
			}
			h, m = rendered(t, d, WriteDayHTML, WriteDayMarkdown)
			if !strings.Contains(h, "surge · "+tc.status) || !strings.Contains(m, "| surge · "+tc.status+" |") {
				t.Errorf("digest row does not say %q", tc.status)
			}
			if len(d.IncidentPages) != 1 || strings.Contains(d.IncidentPages[0].Lead, "One was raised early") != tc.retracted {
				t.Errorf("incident page's lead %q: retracted %v", d.IncidentPages[0].Lead, tc.retracted)
			}
		})
	}
}

// TestOnsetOfReportAlerts: an alert raised on reports (report_rate, the
// watchlist when its reports decided, which its explanation's
// expected_by_mentions says) has its onset walked on reports against the
// level it expected of them, not on posts; a trusted channel's report raises
// one by rule and has no onset or delay.
func TestOnsetOfReportAlerts(t *testing.T) {
	for _, tc := range []struct {
		name, detector, explanation string
		expected                    float64
		onset, delay                string // the Markdown's facts
		levelOn                     int    // the chart with the expected level: 0 posts, 2 reports, -1 none
	}{
		{"report_rate", "report_rate", "detector=report_rate z=6 expected_by_mentions=0.8 expected_by_history=0.5", 0.8,
			"Sun 22 Nov 2026, 14:30 UTC", "3 minutes", 2},
		{"watchlist on reports", "watchlist", "detector=watchlist strength=1.2 z=6 observed=9 expected=0.8 expected_by_mentions=0.8 expected_by_history=0.5", 0.8,
			"Sun 22 Nov 2026, 14:30 UTC", "3 minutes", 2},
		// Raised on posts, the same level is walked on posts: every calm
		// minute's 10 is above it, back to the gap at 14:20.
		{"watchlist on posts", "watchlist", "detector=watchlist strength=1.2 z=6 observed=200 expected=0.8", 0.8,
			"Sun 22 Nov 2026, 14:21 UTC", "12 minutes", 0},
		{"trusted_report", "trusted_report", "detector=trusted_report channel=regulator reports_regulator=1", 0,
			"— (a report from a trusted channel raises the alert by rule, not on a rise above an expected level)", "—", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := fixture() // 10 posts and no reports a minute, until both rise at 14:30
			in.Verdict = nil
			in.Events = in.Events[:1]
			a := &in.Events[0].Alert
			a.Key, a.Detector, a.Expected, a.Explanation = tc.detector+"|"+hostile, tc.detector, tc.expected, tc.explanation
			p := Build(in)
			_, md := rendered(t, p, WriteHTML, WriteMarkdown)
			for _, want := range []string{"| Activity rose above normal | " + tc.onset + " |", "| Detection delay | " + tc.delay + " |"} {
				if !strings.Contains(md, want) {
					t.Errorf("Markdown lacks %q", want)
				}
			}
			for i, c := range p.Charts {
				if drawn := c.LevelY >= 0; drawn != (i == tc.levelOn) {
					t.Errorf("chart %q: expected level drawn %v", c.Title, drawn)
				}
			}
		})
	}
}

// TestBusiestMinuteOfEpisode: the busiest minute is the episode's, from
// the onset to the resolution: not a spike in the hour read before it, nor
// the peak of an earlier opening of the same key.
func TestBusiestMinuteOfEpisode(t *testing.T) {
	spike := fixture()
	for i := range spike.Minutes {
		if spike.Minutes[i].Bucket.Equal(at(5)) {
			spike.Minutes[i].Mentions = 5000
		}
	}
	// One key opened twice: 900 posts a minute in its first episode, 50 in
	// its second.
	two := reopened("surge", hostile, [2]time.Time{at(33), at(50)}, [2]time.Time{at(75), at(85)})
	two.Minutes = nil
	for i := 0; i < 120; i++ {
		m := trend.Minute{Bucket: at(i), Term: hostile, Mentions: 10}
		switch {
		case i >= 30 && i < 50:
			m.Mentions = 900
		case i >= 73 && i < 85:
			m.Mentions = 50
		}
		two.Minutes = append(two.Minutes, m)
	}
	for i := range two.Events {
		two.Events[i].Alert.Bucket = two.Events[i].At
	}
	for _, tc := range []struct {
		name   string
		in     *Incident
		peak   float64
		peakAt time.Time
	}{
		{"a spike before the onset", spike, 840, at(49)},
		{"the second opening", Openings(two)[1], 50, at(73)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Build(tc.in)
			if p.Peak != tc.peak || !p.PeakAt.Equal(tc.peakAt) {
				t.Errorf("busiest minute %v posts at %s, want %v at %s (onset %s)", p.Peak, clock(p.PeakAt), tc.peak, clock(tc.peakAt), clock(p.Onset))
			}
			if want := fmt.Sprintf("The busiest minute, %s UTC, had %s posts.", clock(tc.peakAt), count(tc.peak)); !strings.Contains(p.Lead, want) {
				t.Errorf("lead %q lacks %q", p.Lead, want)
			}
		})
	}
}

// TestRetractedAlertLead: a retracted early alert's page says an early count
// suggested a rise the minute's final count did not bear out, not that posts
// rose above the expected level, and gives no onset or delay.
func TestRetractedAlertLead(t *testing.T) {
	in := alertOpen("surge", hostile, at(15), at(16)) // 10 posts at 14:15, under the expected 12
	in.Events[0].Alert.Early = true
	in.Events[0].Alert.Bucket = at(15)
	in.Events[1].Reason = alert.ReasonRetracted
	p := Build(in)
	if strings.Contains(p.Lead, "rose above") || !strings.Contains(p.Lead, "an early count") || !strings.Contains(p.Lead, "final count did not bear it out") {
		t.Errorf("lead %q", p.Lead)
	}
	if !p.Onset.IsZero() || p.Delay != 0 {
		t.Errorf("onset %s, delay %s, want none", clock(p.Onset), p.Delay)
	}
	h, md := rendered(t, p, WriteHTML, WriteMarkdown)
	for _, want := range []string{
		"| Activity rose above normal | — (an early count suggested a rise that the minute's final count did not bear out) |",
		"| Detection delay | — |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	if !strings.Contains(h, `<b id="delay">—</b>`) || strings.Contains(h, `class="mk onset"`) {
		t.Errorf("HTML gives a delay or marks an onset")
	}
	d := BuildDay(at(15), []*Incident{in})
	if _, md := rendered(t, d, WriteDayHTML, WriteDayMarkdown); !strings.Contains(md, "| 10 | high | — | not reviewed yet |") {
		t.Errorf("digest row gives a delay:\n%s", md)
	}
	if lead := d.IncidentPages[0].Lead; strings.Contains(lead, "rose above") {
		t.Errorf("incident lead %q", lead)
	}
}

// TestOnsetAtOrBeforeReadWindow: a rise that runs back to the first minute
// read (an hour before the alert) may have begun earlier, and the page says
// so rather than date it there.
func TestOnsetAtOrBeforeReadWindow(t *testing.T) {
	in := fixture()
	in.Verdict = nil
	in.Events = in.Events[:1]
	from := at(33).Add(-lead) // 13:33, the first minute Load reads
	in.Minutes = nil
	for b := from.Add(-2 * time.Hour); b.Before(at(60)); b = b.Add(time.Minute) {
		// above the expected 12 from 11:30, two hours before the alert
		m := trend.Minute{Bucket: b, Term: hostile, Mentions: 20}
		if b.Before(at(-150)) {
			m.Mentions = 10
		}
		in.Minutes = append(in.Minutes, m)
	}
	in.Minutes = span(in.Minutes, from, at(60)) // what Load reads
	p := Build(in)
	if !p.Onset.Equal(from) {
		t.Errorf("onset %s, want at or before %s", clock(p.Onset), clock(from))
	}
	for _, want := range []string{"rose above the expected level at or before 13:33 UTC", "a high alert at least 1 hour later"} {
		if !strings.Contains(p.Lead, want) {
			t.Errorf("lead %q lacks %q", p.Lead, want)
		}
	}
	h, md := rendered(t, p, WriteHTML, WriteMarkdown)
	for _, want := range []string{"| Activity rose above normal | at or before Sun 22 Nov 2026, 13:33 UTC |", "| Detection delay | at least 1 hour |"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	if !strings.Contains(h, `<b id="delay">at least 1 hour</b>`) {
		t.Error("HTML delay does not say at least")
	}
	// Calm in the first minute read: the onset is known.
	in.Minutes[0].Mentions = 10
	if p := Build(in); !p.Onset.Equal(from.Add(time.Minute)) || strings.Contains(p.Lead, "at or before") {
		t.Errorf("onset %s, lead %q", clock(p.Onset), p.Lead)
	}
}

// TestMarkdownEscapesVerdict: a verdict outside the three known, shown as
// stored, is text in the Markdown page and digest, not markup.
func TestMarkdownEscapesVerdict(t *testing.T) {
	in := fixture()
	in.Verdict.Verdict = `<img src=x onerror=alert(1)>|x`
	p := Build(in)
	_, page := rendered(t, p, WriteHTML, WriteMarkdown)
	_, day := rendered(t, BuildDay(at(33), []*Incident{in}), WriteDayHTML, WriteDayMarkdown)
	for name, md := range map[string]string{"page": page, "digest": day} {
		if strings.Contains(md, "<img") || !strings.Contains(md, `&lt;img src=x onerror=alert(1)&gt;\|x`) {
			t.Errorf("%s: verdict not escaped:\n%s", name, md)
		}
	}
}

// TestLoadDayJoinsSameAs: a challenge's alert one with a hashtag (same_as),
// still open at midnight, and that hashtag's alert after midnight are one
// incident whichever day's digest is made, as BuildDay groups them: LoadDay
// reads the other day's alert by the same grouping.
func TestLoadDayJoinsSameAs(t *testing.T) {
	day := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	src := &daySource{fakeSource: fakeSource{inc: fixture()}, opened: map[string]time.Time{}, incs: map[string]*Incident{}}
	ch := alertOpen("watchlist", "challenge:ch1", day.Add(-10*time.Minute), time.Time{}) // 21 November 23:50, still open
	ch.Events[0].Alert.Explanation += " same_as=hashtag:blackoutchallenge"
	ht := alertOpen("surge", "hashtag:blackoutchallenge", day.Add(10*time.Minute), day.Add(40*time.Minute))
	other := alertOpen("surge", "challenge:ch2", day.Add(-20*time.Minute), time.Time{}) // one with nothing
	for _, a := range []*Incident{ch, ht, other} {
		k := a.Events[0].Alert.Key
		src.opened[k], src.incs[k] = a.Events[0].At, a
	}
	for _, tc := range []struct {
		name        string
		day         time.Time
		rows, later int
		continues   bool
	}{
		{"the day after, continuing", day, 1, 0, true},
		{"the day it began", day.AddDate(0, 0, -1), 1, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src.asked = nil
			incs, err := LoadDay(context.Background(), src, tc.day)
			if err != nil {
				t.Fatal(err)
			}
			var got []DayIncident
			for _, in := range BuildDay(tc.day, incs).Incidents {
				if in.Challenge == "hashtag:blackoutchallenge" {
					got = append(got, in)
				}
			}
			if len(got) != 1 || len(got[0].Rows) != tc.rows || len(got[0].Later) != tc.later || got[0].Continues.IsZero() == tc.continues {
				t.Fatalf("read %q: incidents %+v", src.asked, got)
			}
		})
	}
}
