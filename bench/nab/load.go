package nab

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// NAB's profile names, in the order NAB lists them.
const (
	Standard        = "standard"
	RewardLowFPRate = "reward_low_FP_rate"
	RewardLowFNRate = "reward_low_FN_rate"
)

// ProfileNames lists the three profiles in NAB's order.
func ProfileNames() []string { return []string{Standard, RewardLowFPRate, RewardLowFNRate} }

// timeLayout reads both NAB's CSV timestamps and its windows' (which carry
// ".000000"), so they compare as times, not strings.
const timeLayout = "2006-01-02 15:04:05.999999"

// DefaultProfiles are the weights of NAB v1.1's config/profiles.json, for a
// corpus that comes without one.
func DefaultProfiles() map[string]Profile {
	return map[string]Profile{
		Standard:        {Name: Standard, TP: 1, FP: 0.11, FN: 1},
		RewardLowFPRate: {Name: RewardLowFPRate, TP: 1, FP: 0.22, FN: 1},
		RewardLowFNRate: {Name: RewardLowFNRate, TP: 1, FP: 0.11, FN: 2},
	}
}

// LoadProfiles reads NAB's config/profiles.json.
func LoadProfiles(path string) (map[string]Profile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("nab profiles: %w", err)
	}
	p, err := ParseProfiles(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// ParseProfiles decodes NAB's profiles.json.
func ParseProfiles(b []byte) (map[string]Profile, error) {
	var raw map[string]struct {
		CostMatrix struct {
			TP float64 `json:"tpWeight"`
			FP float64 `json:"fpWeight"`
			FN float64 `json:"fnWeight"`
		} `json:"CostMatrix"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("nab profiles: %w", err)
	}
	out := make(map[string]Profile, len(raw))
	for name, r := range raw {
		m := r.CostMatrix
		if !(m.TP > 0 && m.FP > 0 && m.FN > 0) {
			return nil, fmt.Errorf("nab profiles: %s: weights must be > 0", name)
		}
		out[name] = Profile{Name: name, TP: m.TP, FP: m.FP, FN: m.FN}
	}
	return out, nil
}

// LoadWindows reads NAB's labels/combined_windows.json: for each file, its
// windows sorted by start.
func LoadWindows(path string) (map[string][]Window, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("nab windows: %w", err)
	}
	w, err := ParseWindows(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return w, nil
}

// ParseWindows decodes NAB's combined_windows.json.
func ParseWindows(b []byte) (map[string][]Window, error) {
	var raw map[string][][2]string
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("nab windows: %w", err)
	}
	out := make(map[string][]Window, len(raw))
	for file, ws := range raw {
		// A file listed without windows keeps its key: it is labelled, and
		// every page on it is a false positive.
		out[file] = make([]Window, 0, len(ws))
		for k, w := range ws {
			start, err1 := time.Parse(timeLayout, w[0])
			end, err2 := time.Parse(timeLayout, w[1])
			if err := errors.Join(err1, err2); err != nil {
				return nil, fmt.Errorf("nab windows: %s window %d: %w", file, k, err)
			}
			if end.Before(start) {
				return nil, fmt.Errorf("nab windows: %s window %d ends before it starts", file, k)
			}
			out[file] = append(out[file], Window{Start: start, End: end})
		}
		slices.SortFunc(out[file], func(a, b Window) int { return a.Start.Compare(b.Start) })
	}
	return out, nil
}

// ReadSeries reads a NAB data file: the header "timestamp,value", then one row
// per bucket in time order. It refuses anything else; backtest.ReadSeries
// repairs the raw exports this refuses.
func ReadSeries(r io.Reader) (ts []time.Time, values []float64, err error) {
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if line == 1 {
			if text != "timestamp,value" {
				return nil, nil, fmt.Errorf("nab series: header %q, want \"timestamp,value\"", text)
			}
			continue
		}
		if text == "" {
			continue
		}
		tsText, valText, ok := strings.Cut(text, ",")
		if !ok {
			return nil, nil, fmt.Errorf("nab series: line %d: %q is not timestamp,value", line, text)
		}
		t, err := time.Parse(timeLayout, tsText)
		if err != nil {
			return nil, nil, fmt.Errorf("nab series: line %d: %w", line, err)
		}
		v, err := strconv.ParseFloat(valText, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("nab series: line %d: %w", line, err)
		}
		if n := len(ts); n > 0 && !t.After(ts[n-1]) {
			return nil, nil, fmt.Errorf("nab series: line %d: %s is not after the row before", line, tsText)
		}
		ts = append(ts, t)
		values = append(values, v)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("nab series: %w", err)
	}
	if line == 0 {
		return nil, nil, errors.New("nab series: empty")
	}
	return ts, values, nil
}

// ReadSeriesFile reads a NAB data file from disk.
func ReadSeriesFile(path string) ([]time.Time, []float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("nab series: %w", err)
	}
	defer f.Close()
	ts, v, err := ReadSeries(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return ts, v, nil
}
