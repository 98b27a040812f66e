package review

import (
	"math"
	"strconv"
	"strings"

	"github.com/trendwatch/trendwatch/alert"
)

// Phrase is one number of an alert's explanation and what it means.
type Phrase struct {
	Key, Value string // as the detector wrote them
	Meaning    string // in plain words
}

// phrasings reads each key the detectors write (detectors/explain.go). A key
// missing here is shown as written, flagged, rather than guessed at.
var phrasings = map[string]func(v string) string{
	"detector": func(v string) string {
		what := map[string]string{
			"surge":          "a sudden rise in posts using the term",
			"novelty":        "a new term rising quickly",
			"coordination":   "many posts from few accounts, a sign of a coordinated push",
			"spreading":      "the term spreading to new regions",
			"report_rate":    "an unusual share of user reports",
			"watchlist":      "a term on the watchlist of known risks",
			"trusted_report": "a report from a regulator, law enforcement or a partner, which pages on its own",
		}[v]
		if what == "" {
			return "found by the " + v + " detector"
		}
		return "found by the " + v + " detector: " + what
	},
	"z":                    sigma,
	"raw_z":                func(v string) string { return "before correcting for this term's usual burstiness: " + sigma(v) },
	"observed":             func(v string) string { return v + " counted in the minutes judged" },
	"expected":             func(v string) string { return v + " expected in those minutes from the term's usual level" },
	"growth":               func(v string) string { return v + " times the usual level" },
	"window":               func(v string) string { return "judged over the last " + minutes(v) + " together" },
	"mentions":             func(v string) string { return v + " posts used the term in that minute" },
	"creators":             func(v string) string { return v + " different accounts posted it in that minute" },
	"mentions_per_creator": func(v string) string { return "on average each account posted it " + times(v) },
	"platform_mentions_per_creator": func(v string) string {
		return v + " posts per account is normal across the platform"
	},
	"history":     func(v string) string { return minutes(v) + " of the term's past were there to compare against" },
	"day_ago":     func(v string) string { return v + " posts at the same time the day before" },
	"regions":     func(v string) string { return "where the posts came from (region: posts): " + counts(v) },
	"reports":     func(v string) string { return v + " user reports in that minute" },
	"reporters":   func(v string) string { return v + " different people reported it" },
	"report_rate": func(v string) string { return percent(v) + " of the posts were reported by users" },
	"reasons":     func(v string) string { return "why people reported it (reason: reports): " + counts(v) },
	"watch":       func(v string) string { return "matches the watchlist entry \u201c" + isolate(v) + "\u201d" },
	"risk":        func(v string) string { return "risk level the watchlist gives it: " + v },
	"category":    func(v string) string { return "watchlist category: " + v },
	"watch_spelling": func(string) string {
		return "another spelling of that watchlist entry: the same challenge, written differently"
	},
	"incident_open": func(string) string {
		return "another spelling of this challenge was already alerting, so this spelling was judged on whether it rose with it (a lower bar than for a first alert)"
	},
	"dispersion": func(v string) string {
		return "how bursty this term normally is (" + v + "; larger means it takes more to count as unusual)"
	},
	"tail_over":  func(v string) string { return "technical correction for rare extremes (" + v + ")" },
	"tail_scale": func(v string) string { return "technical correction for rare extremes (" + v + ")" },
	"strength":   func(v string) string { return "strength of the signal on the detector's own scale: " + v },
	"prior_mean": func(v string) string { return v + " posts per minute before it began to rise" },
	"rising_buckets": func(v string) string {
		return "it had been rising for " + minutes(v) + " in a row"
	},
	"expected_by_mentions": func(v string) string { return v + " reports expected for that many posts" },
	"expected_by_history":  func(v string) string { return v + " reports expected from the term's own past" },
	"term_report_rate":     func(v string) string { return percent(v) + " of the term's posts are usually reported" },
	"mentions_per_creator_norm": func(v string) string {
		return "each account posted it " + v + " times as often as is normal"
	},
	"mentions_per_creator_needed": func(v string) string {
		return v + " times normal is the bar for calling it coordinated"
	},
	"regions_over_share":      func(v string) string { return v + " regions had more than their usual share of the posts" },
	"channel":                 func(v string) string { return "the report came from: " + channelName(v) },
	"reports_partner":         channelReports("trusted partners"),
	"reports_regulator":       channelReports("regulators"),
	"reports_law_enforcement": channelReports("law enforcement"),
	"reports_media":           channelReports("the media"),
	"reports_internal":        channelReports("internal teams"),
	"early": func(string) string {
		return "raised while the minute was still in progress (an early alert); the complete minute then confirmed or withdrew it"
	},
	"elapsed": func(v string) string { return "the counts so far covered " + percent(v) + " of the minute" },
	"early_z": func(v string) string {
		return "the posts so far, against their share of the minute's usual level: " + sigma(v)
	},
	"counted": func(v string) string {
		return v + " posts were counted when it was raised; the other counts are those plus the fewest the rest of the minute was reckoned to bring"
	},
	"rest_least": func(v string) string {
		return v + " posts were the fewest the rest of the minute was reckoned to bring at the term's usual level"
	},
	"test": func(v string) string {
		what := map[string]string{
			"bucket": "the single latest minute",
			"window": "the last few minutes together",
			"shift":  "a lasting change in the term's level",
			"hold":   "a rise held over many minutes",
		}[v]
		if what == "" {
			return "the comparison that decided: " + v
		}
		return "the comparison that decided: " + what
	},
	"lone": func(string) string {
		return "the first minute of the rise, judged whole before a second minute could confirm it"
	},
	"members": func(v string) string {
		return "the spellings of one challenge counted together here, with their shares of the posts: " + spellingList(v)
	},
	alert.SameAs: func(v string) string {
		tag := isolate("#" + strings.TrimPrefix(v, "hashtag:"))
		return "the platform's challenge and " + tag + " are one: nearly all the challenge's posts carry " + tag + " and nearly all of " + tag + "'s carry the challenge, so their alerts are one incident"
	},
}

// channelName reads a report channel's wire name.
// times is how many times v says: "once" for 1, which "1 times" misreads.
func times(v string) string {
	if f, err := strconv.ParseFloat(v, 64); err == nil && f == 1 {
		return "once"
	}
	return v + " times"
}

func channelName(v string) string { return strings.ReplaceAll(v, "_", " ") }

func channelReports(from string) func(v string) string {
	return func(v string) string { return v + " reports from " + from + " in that minute" }
}

// sigma reads a z-score: how many standard deviations from normal, and how
// rare that is by chance.
func sigma(v string) string {
	z, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return "a measure of how unusual this is: " + v
	}
	var band string
	switch {
	case z < 2:
		band = "within normal variation"
	case z < 3:
		band = "unusual, but seen now and then by chance"
	case z < 5:
		band = "well beyond normal variation"
	default:
		band = "far beyond normal variation"
	}
	return "about as likely as " + strconv.FormatFloat(z, 'f', 1, 64) + " standard deviations by chance: " + band
}

func percent(v string) string {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return v
	}
	return strconv.FormatFloat(f*100, 'g', 3, 64) + "%"
}

func minutes(v string) string {
	if v == "1" {
		return "1 minute"
	}
	return v + " minutes"
}

// spellingList turns a family's members, "a:60%,b:40%", into "#a 60%, #b 40%",
// each spelling isolated, as it stands beside its share.
func spellingList(v string) string {
	parts := strings.Split(v, ",")
	for i, p := range parts {
		tag, share, _ := strings.Cut(p, ":")
		parts[i] = strings.TrimSpace(isolate("#"+tag) + " " + share)
	}
	return strings.Join(parts, ", ")
}

// counts turns "IN:120,NP:40" into "IN 120, NP 40".
func counts(v string) string {
	parts := strings.Split(v, ",")
	for i, p := range parts {
		parts[i] = strings.Replace(p, ":", " ", 1)
	}
	return strings.Join(parts, ", ")
}

// Explain reads an alert's explanation, key=value pairs separated by spaces,
// in the order written. Values never hold spaces except a watchlist pattern's,
// so a piece without "=" belongs to the value before it.
func Explain(explanation string) []Phrase {
	var out []Phrase
	for _, f := range strings.Fields(explanation) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			if len(out) > 0 {
				out[len(out)-1].Value += " " + f
			}
			continue
		}
		out = append(out, Phrase{Key: k, Value: v})
	}
	for i := range out {
		out[i].Meaning = meaning(out[i].Key, out[i].Value)
	}
	return out
}

func meaning(k, v string) string {
	// Detectors write NaN for what they could not know, such as the count a
	// day ago in a term's first day.
	if f, err := strconv.ParseFloat(v, 64); err == nil && math.IsNaN(f) {
		return "not known: not enough history (" + k + ")"
	}
	if f, ok := phrasings[k]; ok {
		return f(v)
	}
	// The bucket_ numbers are the same test over the single latest minute
	// rather than the window.
	if rest, ok := strings.CutPrefix(k, "bucket_"); ok {
		if f, ok := phrasings[rest]; ok {
			return "in that single minute alone: " + f(v)
		}
	}
	return "(no plain-words reading yet for " + k + ")"
}
