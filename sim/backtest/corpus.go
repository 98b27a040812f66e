package backtest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/trendwatch/trendwatch/bench/nab"
	"github.com/trendwatch/trendwatch/detectors"
)

// CorpusFile is one file of a labelled corpus after the detector ran over it.
type CorpusFile struct {
	Name   string // "<category>/<file>.csv", the key of its windows
	Path   string // the file read
	Series *Series
	Result SeriesResult
}

// Category is the folder the file is in.
func (f CorpusFile) Category() string { return path.Dir(f.Name) }

// ListCorpus lists the files of a corpus in NAB's layout, dir/<category>/<file>.csv,
// as names relative to dir with forward slashes, in order.
func ListCorpus(dir string) ([]string, error) {
	cats, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	var names []string
	for _, c := range cats {
		if !c.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, c.Name()))
		if err != nil {
			return nil, fmt.Errorf("corpus: %w", err)
		}
		for _, f := range files {
			if f.Type().IsRegular() && strings.HasSuffix(f.Name(), ".csv") {
				names = append(names, c.Name()+"/"+f.Name())
			}
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("corpus %s: %w", dir, errNoCategories)
	}
	return names, nil
}

// errNoCategories is ListCorpus's error for a folder without NAB's layout.
var errNoCategories = errors.New("no <category>/<file>.csv files")

// corpusEntry is one file of a corpus: its key in the windows, and its path.
type corpusEntry struct{ name, path string }

// listCorpus lists the files of the corpus at dir: NAB's layout (ListCorpus),
// or, where dir has no category folders of CSV files but holds CSV files
// itself, dir as one category named after it. An export of one kind of
// series is often a flat folder, and NAB's own folder of one category
// (".../realTweets") is then read with the keys NAB gives its files
// ("realTweets/<file>.csv").
func listCorpus(dir string) ([]corpusEntry, error) {
	names, err := ListCorpus(dir)
	if err == nil {
		out := make([]corpusEntry, len(names))
		for i, n := range names {
			out[i] = corpusEntry{name: n, path: filepath.Join(dir, filepath.FromSlash(n))}
		}
		return out, nil
	}
	if !errors.Is(err, errNoCategories) {
		return nil, err
	}
	files, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	abs, aerr := filepath.Abs(dir)
	if aerr != nil {
		return nil, fmt.Errorf("corpus: %w", aerr)
	}
	category := filepath.Base(abs)
	var out []corpusEntry
	for _, f := range files {
		if f.Type().IsRegular() && strings.HasSuffix(f.Name(), ".csv") {
			out = append(out, corpusEntry{name: category + "/" + f.Name(), path: filepath.Join(dir, f.Name())})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("corpus %s: no CSV files, neither in <category> folders nor in the folder itself", dir)
	}
	return out, nil
}

// RunCorpus runs the surge detector over every file of the corpus at dir, in
// NAB's layout or a flat folder of CSV files (see listCorpus). progress, when
// set, is called after each file with the bytes and rows read so far and the
// total bytes.
func RunCorpus(cfg detectors.Config, dir string, progress func(read, rows, total int64)) ([]CorpusFile, error) {
	entries, err := listCorpus(dir)
	if err != nil {
		return nil, err
	}
	sizes := make([]int64, len(entries))
	var total, read, rows int64
	for i, e := range entries {
		st, err := os.Stat(e.path)
		if err != nil {
			return nil, fmt.Errorf("corpus: %w", err)
		}
		sizes[i] = st.Size()
		total += sizes[i]
	}
	out := make([]CorpusFile, 0, len(entries))
	for i, e := range entries {
		f, err := RunFile(cfg, e.path, e.name)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
		read += sizes[i]
		rows += int64(len(f.Series.Times))
		if progress != nil {
			progress(read, rows, total)
		}
	}
	return out, nil
}

// RunFile reads one export and runs the surge detector over it; name is its
// key in the windows.
func RunFile(cfg detectors.Config, file, name string) (CorpusFile, error) {
	s, err := ReadSeriesFile(file)
	if err != nil {
		return CorpusFile{}, err
	}
	res, err := s.Run(cfg)
	if err != nil {
		return CorpusFile{}, fmt.Errorf("%s: %w", file, err)
	}
	return CorpusFile{Name: name, Path: file, Series: s, Result: res}, nil
}

// LoadLabels reads a corpus's windows and the profiles.json beside them; NAB's
// own weights stand in when there is none.
func LoadLabels(windowsFile string) (map[string][]nab.Window, map[string]nab.Profile, error) {
	windows, err := nab.LoadWindows(windowsFile)
	if err != nil {
		return nil, nil, err
	}
	profiles, err := nab.LoadProfiles(filepath.Join(filepath.Dir(windowsFile), "profiles.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return windows, nab.DefaultProfiles(), nil
	}
	if err != nil {
		return nil, nil, err
	}
	return windows, profiles, nil
}

// Scorecard is a corpus scored as NAB does, by category and overall.
type Scorecard struct {
	Profiles   []string        // the profiles scored, standard first
	Categories []CategoryScore // in order of name, then "all" over every file
}

// CategoryScore is the NAB score of the files of one category. Own takes the
// detector's pages as its detections (anomaly score 1 on a page, 0 elsewhere);
// Best is NAB's own method, the threshold of anomaly score that scores best on
// these files under the profile. Both hold one result per profile.
type CategoryScore struct {
	Category                    string
	Files, Rows, Windows, Pages int
	Own, Best                   []nab.Result
}

// AllCategories names the row of a Scorecard that holds every file.
const AllCategories = "all"

// ScoreCorpus scores the files against their windows: every category on its
// own, then all of them as one corpus, each with its own best threshold.
func ScoreCorpus(files []CorpusFile, windows map[string][]nab.Window, profiles map[string]nab.Profile) (*Scorecard, error) {
	sc := &Scorecard{}
	for _, name := range nab.ProfileNames() {
		if _, ok := profiles[name]; !ok {
			return nil, fmt.Errorf("score corpus: no %s profile", name)
		}
		sc.Profiles = append(sc.Profiles, name)
	}
	windows, err := windowsOf(files, windows)
	if err != nil {
		return nil, err
	}
	var cats []string
	for _, f := range files {
		cats = append(cats, f.Category())
	}
	slices.Sort(cats)
	for _, c := range slices.Compact(cats) {
		var in []CorpusFile
		for _, f := range files {
			if f.Category() == c {
				in = append(in, f)
			}
		}
		cs, err := scoreFiles(c, in, windows, profiles, sc.Profiles)
		if err != nil {
			return nil, err
		}
		sc.Categories = append(sc.Categories, cs)
	}
	if len(sc.Categories) > 1 {
		cs, err := scoreFiles(AllCategories, files, windows, profiles, sc.Profiles)
		if err != nil {
			return nil, err
		}
		sc.Categories = append(sc.Categories, cs)
	}
	return sc, nil
}

// windowsOf is each file's windows, by its name: the entry "<category>/<file>.csv",
// or the entry of its bare file name where no other file of the corpus has that
// name (windows written for a flat folder).
func windowsOf(files []CorpusFile, windows map[string][]nab.Window) (map[string][]nab.Window, error) {
	bases := map[string]int{}
	for _, f := range files {
		bases[path.Base(f.Name)]++
	}
	out := make(map[string][]nab.Window, len(files))
	for _, f := range files {
		w, ok := windows[f.Name]
		if base := path.Base(f.Name); !ok && bases[base] == 1 {
			w, ok = windows[base]
		}
		if !ok {
			return nil, fmt.Errorf("score corpus: %s has no entry in the windows (want keys like \"<category>/<file>.csv\", or \"<file>.csv\" where the name is the corpus's only one)", f.Name)
		}
		out[f.Name] = w
	}
	return out, nil
}

// WritePages writes, for a corpus without labels, a markdown table of each
// file's pages: how many, the first, and the highest anomaly score and its
// row, then how many of the files paged at all, as a team reads a set of
// topics that never trended (any page is a false one) or of ones that did.
func WritePages(w io.Writer, files []CorpusFile) error {
	var b strings.Builder
	b.WriteString("| file | rows | pages | first page | highest anomaly score | at |\n|---|---:|---:|---|---:|---|\n")
	paged, pages := 0, 0
	for _, f := range files {
		first, top, at := "–", 0.0, "–"
		for i, a := range f.Result.Alerts {
			if a && first == "–" {
				first = f.Series.Text[i]
			}
			if sc := f.Result.Scores[i]; sc > top {
				top, at = sc, f.Series.Text[i]
			}
		}
		if f.Result.Pages > 0 {
			paged++
		}
		pages += f.Result.Pages
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %.4f | %s |\n", f.Name, len(f.Series.Times), f.Result.Pages, first, top, at)
	}
	noun := "pages"
	if pages == 1 {
		noun = "page"
	}
	fmt.Fprintf(&b, "\n%d of %d files paged (%.1f %%), %d %s in all. The anomaly score is 0.5 where the surge's thresholds are just met; pages are the lifecycle's decision (see the README's Detection quality).\n",
		paged, len(files), 100*float64(paged)/float64(max(len(files), 1)), pages, noun)
	_, err := io.WriteString(w, b.String())
	return err
}

func scoreFiles(category string, files []CorpusFile, windows map[string][]nab.Window, profiles map[string]nab.Profile, names []string) (CategoryScore, error) {
	cs := CategoryScore{Category: category, Files: len(files)}
	own := nab.Corpus{Windows: windows}
	best := nab.Corpus{Windows: windows}
	for _, f := range files {
		paged := make([]float64, len(f.Result.Alerts))
		for i, a := range f.Result.Alerts {
			if a {
				paged[i] = 1
				cs.Pages++
			}
		}
		cs.Rows += len(f.Series.Times)
		cs.Windows += len(windows[f.Name])
		own.Files = append(own.Files, nab.File{Name: f.Name, Times: f.Series.Times, Scores: paged})
		best.Files = append(best.Files, nab.File{Name: f.Name, Times: f.Series.Times, Scores: f.Result.Scores})
	}
	if cs.Windows == 0 {
		// NAB cannot normalise a corpus without windows (its perfect score is
		// its null score); such a category still counts its false pages.
		for _, name := range names {
			cs.Own = append(cs.Own, nab.Result{Profile: name, Threshold: 1, FP: countFP(files)})
			cs.Best = append(cs.Best, nab.Result{Profile: name})
		}
		return cs, nil
	}
	for _, name := range names {
		o, err := own.ScoreAt(profiles[name], 1)
		if err != nil {
			return CategoryScore{}, fmt.Errorf("score %s, own pages: %w", category, err)
		}
		b, err := best.ScoreBest(profiles[name])
		if err != nil {
			return CategoryScore{}, fmt.Errorf("score %s, best threshold: %w", category, err)
		}
		cs.Own, cs.Best = append(cs.Own, o), append(cs.Best, b)
	}
	return cs, nil
}

// countFP counts the pages after NAB's probation: with no windows, all false.
func countFP(files []CorpusFile) int {
	n := 0
	for _, f := range files {
		prob := nab.Probation(len(f.Result.Alerts))
		for i, a := range f.Result.Alerts {
			if a && float64(i) >= prob {
				n++
			}
		}
	}
	return n
}

// profileLabels are the profiles' names in a table's header.
var profileLabels = map[string]string{
	nab.Standard:        "standard",
	nab.RewardLowFPRate: "low FP",
	nab.RewardLowFNRate: "low FN",
}

// WriteMarkdown writes the scorecard as a markdown table, one row per category.
func (sc *Scorecard) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("| category | files | rows | windows | pages |")
	for _, p := range sc.Profiles {
		fmt.Fprintf(&b, " own: %s |", profileLabels[p])
	}
	b.WriteString(" hit | false pages |")
	for _, p := range sc.Profiles {
		fmt.Fprintf(&b, " best: %s |", profileLabels[p])
	}
	b.WriteString(" threshold | hit | FP rows |\n|---|")
	b.WriteString(strings.Repeat("---:|", 4+len(sc.Profiles)*2+5) + "\n")
	for _, c := range sc.Categories {
		name := c.Category
		if name == AllCategories {
			name = "**all**"
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d |", name, c.Files, c.Rows, c.Windows, c.Pages)
		for _, r := range c.Own {
			b.WriteString(score(c, r))
		}
		fmt.Fprintf(&b, " %d/%d | %d |", c.Own[0].Hit, c.Windows, c.Own[0].FP)
		for _, r := range c.Best {
			b.WriteString(score(c, r))
		}
		if c.Windows == 0 {
			b.WriteString(" – | – | – |\n")
			continue
		}
		s := c.Best[0]
		fmt.Fprintf(&b, " %.4f | %d/%d | %d |\n", s.Threshold, s.Hit, c.Windows, s.FP)
	}
	b.WriteString("\nown: the detector's pages as NAB detections. best: NAB's best threshold of anomaly_score on the row's files, " +
		"for each profile (threshold, hit and FP rows: standard profile). Scores are NAB-normalised: 0 is the null detector, 100 the perfect one. " +
		"Rows in NAB's probation are not scored.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func score(c CategoryScore, r nab.Result) string {
	if c.Windows == 0 {
		return " – |"
	}
	return fmt.Sprintf(" %.1f |", r.Normalized)
}
