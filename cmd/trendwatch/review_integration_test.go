//go:build integration

package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/internal/testenv"
	"github.com/trendwatch/trendwatch/review"
	chsink "github.com/trendwatch/trendwatch/sinks/clickhouse"
	pqsink "github.com/trendwatch/trendwatch/sinks/parquet"
	"github.com/trendwatch/trendwatch/trend"
)

// The reviewed term is hostile: the page must show it as text, never run it.
const (
	reviewTerm = `hashtag:<script>document.title="pwned"</script>`
	reviewKey  = "surge|" + reviewTerm
	otherKey   = "report_rate|hashtag:नेपाल"
)

var reviewDay = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func reviewAt(min int) time.Time { return reviewDay.Add(14*time.Hour + time.Duration(min)*time.Minute) }

// reviewFixture is a surge on the hostile term: 10 posts a minute, above the
// expected 12 from 14:30, alerted at 14:33, escalated at 14:36, resolved at
// 14:50; a report wave on another term the same day; and an alert of the next
// day the digest must leave out. rewrites carry a larger version for buckets
// first written wrong, as a late event does.
func reviewFixture() (mins, rewrites []trend.Minute, evs []alert.Event) {
	for i := -60; i < 80; i++ {
		m := trend.Minute{Bucket: reviewAt(i), Term: reviewTerm, Kind: "hashtag", Mentions: 10, UniqueCreators: 9,
			TopRegions: []string{"US", "GB"}, Langs: []string{"en"}, Exact: true, Version: 1}
		if i >= 30 && i < 50 {
			m.Mentions, m.UniqueCreators, m.Reports = uint64(40*(i-28)), uint64(30*(i-28)), uint64(3*(i-28))
			m.TopRegions, m.Langs = []string{"IN", "NP", "US"}, []string{"hi", "en"}
			m.ReportReasons = []string{"dangerous_acts", "self_harm"}
		}
		if i == 40 {
			r := m
			r.Version = 2
			rewrites = append(rewrites, r)
			m.Mentions = 1 // the first, wrong write
		}
		mins = append(mins, m)
	}
	other := trend.Minute{Bucket: reviewAt(5), Term: "hashtag:नेपाल", Kind: "hashtag", Mentions: 30, UniqueCreators: 20, Reports: 12, Version: 1}
	mins = append(mins, other)

	a := alert.Alert{
		Key: reviewKey, Detector: "surge", Term: reviewTerm, Status: alert.StatusOpen, Severity: alert.SeverityHigh,
		OpenedAt: reviewAt(33), UpdatedAt: reviewAt(33), Bucket: reviewAt(33), Score: 7, Observed: 200, Expected: 12, Growth: 16.7,
		UniqueCreators: 150, TopRegions: []string{"IN", "NP"}, Samples: []string{"c-9001", "c-9002"},
		Summary:     "SURGE " + reviewTerm + " 200/min vs 12 expected (16.7×, z=7.0), 150 creators, IN NP",
		Explanation: "detector=surge window=3 observed=200 expected=12 z=7.0 growth=16.7 creators=150 regions=IN:120,NP:40",
	}
	esc := a
	esc.Status, esc.Severity, esc.UpdatedAt, esc.Bucket = alert.StatusEscalated, alert.SeverityCritical, reviewAt(36), reviewAt(36)
	res := esc
	res.Status, res.UpdatedAt, res.ResolvedAt, res.Bucket = alert.StatusResolved, reviewAt(50), reviewAt(50), reviewAt(50)
	o := alert.Alert{Key: otherKey, Detector: "report_rate", Term: "hashtag:नेपाल", Status: alert.StatusOpen, Severity: alert.SeverityMedium,
		OpenedAt: reviewAt(5), Bucket: reviewAt(5), Expected: 1, Observed: 12, Explanation: "z=4.1", Summary: "REPORTS hashtag:नेपाल"}
	next := o
	next.Key, next.OpenedAt, next.Bucket = "surge|hashtag:tomorrow", reviewAt(24*60), reviewAt(24*60)
	evs = []alert.Event{
		{Alert: a, To: alert.StatusOpen, At: reviewAt(33), Seq: 1},
		{Alert: esc, From: alert.StatusOpen, To: alert.StatusEscalated, At: reviewAt(36), Seq: 2},
		{Alert: res, From: alert.StatusEscalated, To: alert.StatusResolved, At: reviewAt(50), Seq: 3},
		{Alert: o, To: alert.StatusOpen, At: reviewAt(5), Seq: 1},
		{Alert: next, To: alert.StatusOpen, At: reviewAt(24 * 60), Seq: 1},
	}
	return mins, rewrites, evs
}

// run runs one trendwatch command in process and returns what it printed.
func run(t *testing.T, args ...string) string {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("trendwatch %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// TestReviewClickHouse writes the fixture through the real ClickHouse sink,
// records a verdict and checks the review and the digest in Chromium.
func TestReviewClickHouse(t *testing.T) {
	addr := testenv.ClickHouse(t)
	browser := testenv.Chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg := chsink.DefaultConfig()
	cfg.Addr = []string{addr}
	cfg.Database = fmt.Sprintf("tw_review_%d", rand.Uint32())
	cfg.FlushInterval = 50 * time.Millisecond
	t.Cleanup(func() {
		conn, err := ch.Open(&ch.Options{Addr: []string{addr}, Auth: ch.Auth{Username: "default"}})
		if err != nil {
			t.Logf("dropping %s: %v", cfg.Database, err)
			return
		}
		defer conn.Close()
		if err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS `"+cfg.Database+"`"); err != nil {
			t.Logf("dropping %s: %v", cfg.Database, err)
		}
	})
	if _, err := chsink.Migrate(ctx, cfg, nil); err != nil {
		t.Fatal(err)
	}
	s, err := chsink.Open(ctx, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	mins, rewrites, evs := reviewFixture()
	for _, write := range []func() error{
		func() error { return s.WriteMinutes(ctx, mins) },
		func() error { return s.Flush(ctx) },
		// In a later insert, so the two versions lie in different parts until
		// a merge: only reading the latest version shows the right count.
		func() error { return s.WriteMinutes(ctx, rewrites) },
		func() error { return s.WriteAlerts(ctx, evs) },
		func() error { return s.WriteAlerts(ctx, evs[:1]) }, // a replay
		s.Close,
	} {
		if err := write(); err != nil {
			t.Fatal(err)
		}
	}
	checkReview(t, browser, "--clickhouse", addr, "--database", cfg.Database)
}

// TestReviewParquet does the same over a Parquet run directory written by the
// real Parquet sink, partitions crossing hours included.
func TestReviewParquet(t *testing.T) {
	browser := testenv.Chromium(t)
	ctx := context.Background()
	dir := t.TempDir()
	s, err := pqsink.New(pqsink.Config{Dir: dir, Roll: time.Hour, MaxBuffered: 1000}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	mins, rewrites, evs := reviewFixture()
	for _, write := range []func() error{
		func() error { return s.WriteMinutes(ctx, mins) },
		func() error { return s.Flush(ctx) },
		func() error { return s.WriteMinutes(ctx, rewrites) },
		func() error { return s.WriteAlerts(ctx, evs) },
		func() error { return s.Flush(ctx) },
		func() error { return s.WriteAlerts(ctx, evs[:1]) },
		s.Close,
	} {
		if err := write(); err != nil {
			t.Fatal(err)
		}
	}
	checkReview(t, browser, "--parquet", dir)
}

func checkReview(t *testing.T, browser string, store ...string) {
	out := t.TempDir()
	args := func(a ...string) []string { return append(a, store...) }

	got := run(t, args("verdict", reviewKey, "true_positive", "--note", `challenge <b>spreading</b> to minors; escalated to policy`, "--reviewer", "asha")...)
	if !strings.Contains(got, "recorded true_positive") {
		t.Errorf("verdict printed %q", got)
	}
	root := newRoot()
	root.SetArgs(args("verdict", "surge|hashtag:nosuchterm", "false_positive"))
	root.SetOut(&bytes.Buffer{})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "no transitions found") {
		t.Errorf("a verdict on an unknown alert: %v", err)
	}

	printed := run(t, args("review", reviewKey, "--out", out)...)
	page := filepath.Join(out, review.FileName(reviewKey)+".html")
	if !strings.Contains(printed, page) {
		t.Fatalf("review printed %q, want %s", printed, page)
	}
	md, err := os.ReadFile(filepath.Join(out, review.FileName(reviewKey)+".md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| Detection delay | 3 minutes |", "| Busiest minute | 840 posts at 14:49 |", "far beyond normal variation", "real problem"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}

	dom := render(t, browser, page, true)
	lines := regexp.MustCompile(`<path class="line" d="([^"]*)"`).FindAllStringSubmatch(dom, -1)
	if len(lines) != 3 {
		t.Errorf("%d charts drawn, want 3", len(lines))
	}
	for _, l := range lines {
		// One point a minute from 13:33 (an hour before the alert) to 15:19.
		if n := strings.Count(l[1], "L"); n != 106 {
			t.Errorf("chart line has %d segments, want 106: %.100s", n, l[1])
		}
	}
	for _, want := range []string{
		`<b id="delay">3 minutes</b>`, // onset 14:30, alert 14:33
		"<b>840</b>",                  // the rewritten 14:40 bucket is not the peak; 14:49 is
		"<b>9,210</b>",                // posts 14:30 to 14:50
		"about as likely as 7.0 standard deviations by chance: far beyond normal variation",
		"&lt;script&gt;document.title=\"pwned\"&lt;/script&gt;",
		"c-9001", "IN", "dangerous_acts",
		"real problem (true positive)", "asha", "challenge &lt;b&gt;spreading&lt;/b&gt; to minors",
		"Sun 22 Nov 2026, 14:50 UTC",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(dom, "<script") || strings.Contains(dom, "pwned</title>") {
		t.Error("the hostile term became markup")
	}

	printed = run(t, args("review", "--day", "2026-11-22", "--out", out)...)
	if !strings.Contains(printed, "2 alerts opened on 2026-11-22") {
		t.Errorf("digest printed %q", printed)
	}
	dom = render(t, browser, filepath.Join(out, review.DayFileName(reviewDay)+".html"), false)
	sparks := regexp.MustCompile(`<path class="line" d="(M[^"]+)"`).FindAllStringSubmatch(dom, -1)
	if len(sparks) != 2 {
		t.Errorf("%d sparklines drawn, want 2", len(sparks))
	}
	for _, want := range []string{"hashtag:नेपाल", "3 minutes", "real problem (true positive)", "not reviewed yet", "critical", review.FileName(reviewKey) + ".html"} {
		if !strings.Contains(dom, want) {
			t.Errorf("digest lacks %q", want)
		}
	}
	if strings.Contains(dom, "tomorrow") || strings.Contains(dom, "<script") {
		t.Error("digest shows the next day's alert or runs the hostile term")
	}
	// Each incident has its page beside the digest, linked from it: the
	// hostile term's, drawn, with its alert's transitions and link.
	incident := review.IncidentFileName(reviewDay, reviewTerm) + ".html"
	if !strings.Contains(dom, incident) {
		t.Errorf("digest does not link %s", incident)
	}
	dom = render(t, browser, filepath.Join(out, incident), true)
	for _, want := range []string{"Incident:", "rose above normal at 14:30 UTC", "trendwatch raised 1 alert by surge", "Escalated", "critical",
		review.FileName(reviewKey) + ".html", "Every alert had resolved by 14:50 UTC"} {
		if !strings.Contains(dom, want) {
			t.Errorf("incident page lacks %q", want)
		}
	}
	if strings.Contains(dom, "<script") || strings.Contains(dom, "pwned</title>") {
		t.Error("the hostile term became markup on the incident page")
	}
}

// render opens a page in headless Chromium and returns the DOM it built; with
// shot, it also takes a screenshot and checks that something was drawn.
func render(t *testing.T, browser, page string, shot bool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	url := "file://" + page
	chromium := func(args ...string) []byte {
		// A profile of its own per run: two runs sharing one wait on its lock.
		args = append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
			"--disable-dev-shm-usage", "--hide-scrollbars", "--user-data-dir=" + t.TempDir()}, args...)
		cmd := exec.CommandContext(ctx, browser, append(args, url)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", browser, strings.Join(args, " "), err, stderr.String())
		}
		return out
	}
	if shot {
		file := filepath.Join(t.TempDir(), "review.png")
		chromium("--screenshot="+file, "--window-size=1200,2000")
		checkDrawn(t, file)
	}
	return string(chromium("--dump-dom"))
}

// checkDrawn decodes the screenshot and counts pixels: a blank or unstyled
// page has almost no colour, the charts' blue lines and the severity badges
// do.
func checkDrawn(t *testing.T, file string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", file, err)
	}
	var ink, blue, all int
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			all++
			if r < 240 || g < 240 || bl < 240 {
				ink++
			}
			// The chart line, #2556a8.
			if r < 80 && g > 60 && g < 120 && bl > 140 {
				blue++
			}
		}
	}
	if ink < all/50 {
		t.Errorf("screenshot is nearly blank: %d of %d pixels not white", ink, all)
	}
	if blue < 1000 {
		t.Errorf("screenshot shows %d pixels of the chart lines' blue, want the charts drawn", blue)
	}
	t.Logf("screenshot %dx%d: %d pixels not white, %d chart blue", b.Dx(), b.Dy(), ink, blue)
}
