package nab

import (
	"path/filepath"
	"testing"

	"github.com/trendwatch/trendwatch/detectors"
)

// BenchmarkRunSeries is `trendwatch backtest --series` on one NAB file (AAPL,
// 15,902 rows of 5 minutes).
func BenchmarkRunSeries(b *testing.B) {
	ts, v, err := ReadSeriesFile(filepath.Join(dataDir(b), tweetFiles[0]))
	if err != nil {
		b.Fatal(err)
	}
	cfg := detectors.DefaultConfig()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := detectors.RunSeries(cfg, ts, v); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(v)), "ns/row")
}

// BenchmarkOptimize is NAB's exhaustive threshold sweep over the five files.
func BenchmarkOptimize(b *testing.B) {
	files, windows, profiles := loadTweets(b)
	c := Corpus{Windows: windows}
	for _, f := range files {
		scores, _, err := detectors.RunSeries(detectors.DefaultConfig(), f.ts, f.values)
		if err != nil {
			b.Fatal(err)
		}
		c.Files = append(c.Files, File{Name: f.name, Times: f.ts, Scores: scores})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Optimize(profiles[Standard]); err != nil {
			b.Fatal(err)
		}
	}
}
