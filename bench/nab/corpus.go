package nab

import (
	"fmt"
	"slices"
	"time"
)

// File is one data file with a detector's anomaly scores.
type File struct {
	Name   string // relative path, the key of the windows: "realTweets/Twitter_volume_AAPL.csv"
	Times  []time.Time
	Scores []float64
}

// Result is a detector's score on a corpus under one profile.
type Result struct {
	Profile    string
	Threshold  float64
	Raw        float64 // sum of the files' scores
	Null       float64 // the null detector's raw score: every scorable window missed
	Perfect    float64 // every window detected at its left edge
	Normalized float64 // 100·(Raw-Null)/(Perfect-Null)
	Windows    int     // windows in the labels
	Hit        int     // windows with at least one scorable detection
	FP         int     // detected scorable rows outside every window
}

// Corpus is a set of files with their labelled windows.
type Corpus struct {
	Files   []File
	Windows map[string][]Window // by File.Name
}

func (c *Corpus) rows(f File, p Profile) ([]Row, error) {
	return Rows(f.Name, f.Times, f.Scores, c.Windows[f.Name], p)
}

// Optimize finds the threshold of best score over the whole corpus (§5).
func (c *Corpus) Optimize(p Profile) (Point, error) {
	var all []Row
	for _, f := range c.Files {
		rows, err := c.rows(f, p)
		if err != nil {
			return Point{}, err
		}
		all = append(all, rows...)
	}
	return Best(Sweep(all, p)), nil
}

// ScoreAt scores every file separately at threshold and sums them (§6), then
// normalises (§7) over the windows of these files.
func (c *Corpus) ScoreAt(p Profile, threshold float64) (Result, error) {
	res := Result{Profile: p.Name, Threshold: threshold}
	scorable := 0
	for _, f := range c.Files {
		rows, err := c.rows(f, p)
		if err != nil {
			return Result{}, err
		}
		res.Raw += At(Sweep(rows, p), threshold).Score
		res.Windows += len(c.Windows[f.Name])
		var windows, hit []string
		for _, r := range rows {
			if r.Probationary {
				continue
			}
			if r.Window == "" {
				if r.Score >= threshold {
					res.FP++
				}
				continue
			}
			windows = append(windows, r.Window)
			if r.Score >= threshold {
				hit = append(hit, r.Window)
			}
		}
		scorable += len(slices.Compact(windows))
		res.Hit += len(slices.Compact(hit))
	}
	res.Null = -p.FN * float64(scorable)
	res.Perfect = p.TP * float64(res.Windows)
	if res.Perfect == res.Null {
		return Result{}, fmt.Errorf("nab: no windows to score")
	}
	res.Normalized = Normalize(res.Raw, res.Null, res.Perfect)
	return res, nil
}

// ScoreBest scores the corpus at its optimal threshold (§5, then §6 and §7).
func (c *Corpus) ScoreBest(p Profile) (Result, error) {
	best, err := c.Optimize(p)
	if err != nil {
		return Result{}, err
	}
	return c.ScoreAt(p, best.Threshold)
}
