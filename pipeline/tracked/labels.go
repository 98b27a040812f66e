package tracked

import (
	"cmp"
	"strings"

	"github.com/trendwatch/trendwatch/detectors"
)

// Labels counts the distinct labels of a bucket (regions, languages, reasons,
// a family's spellings): exactly up to a cap, and past it as the Space-Saving
// algorithm does (Metwally, Agrawal and El Abbadi, 2005): a new label takes
// the place of the least counted and its count plus one. Any label on more
// than 1/maxLabels of the bucket's events is then listed, with a count high
// by at most the one it replaced. Before, Labels past the cap were dropped,
// so a region whose surge began after 32 others had posted in the bucket
// never showed.
type Labels []detectors.Count

const maxLabels = 32

func (l *Labels) Add(label string) { l.add(label, false) }

// AddCopy is Add for a label that is a slice of a larger string, such as a
// post's hashtag, which shares one block with the post's IDs and its other
// hashtags (event's decoder): a label new to the list is kept as a copy, so
// the list does not keep the block alive for as long as its bucket. Regions
// and languages are strings of their own already, and need no copy.
func (l *Labels) AddCopy(label string) { l.add(label, true) }

func (l *Labels) add(label string, clone bool) {
	if label == "" {
		return
	}
	ls := *l
	for i := range ls {
		if ls[i].Label == label {
			ls[i].N++
			return
		}
	}
	if clone {
		label = strings.Clone(label)
	}
	if len(ls) < maxLabels {
		*l = append(ls, detectors.Count{Label: label, N: 1})
		return
	}
	// The least counted is looked for only when a label is new to a full
	// list: nearly every add finds its label, regions and languages most of
	// all, and looking while finding cost each of them a comparison a label.
	least := 0
	for i := range ls {
		if ls[i].N < ls[least].N {
			least = i
		}
	}
	ls[least] = detectors.Count{Label: label, N: ls[least].N + 1}
}

// Top returns the labels most first, ties by name so output is stable.
func (l Labels) Top(n int) []detectors.Count {
	return l.AppendTop(nil, n)
}

// AppendTop appends the n labels with the most counts to dst, most first,
// ties by name, and returns the extended slice. It inserts each label into the
// n kept so far rather than sorting a copy of all of them: a term's bucket
// holds up to maxLabels, a row keeps a handful, and copying every label
// (strings, so with write barriers) to sort it took 1.8 % of the CPU samples
// in BenchmarkEngineSteady's profile, where selecting takes 1.0 %.
func (l Labels) AppendTop(dst []detectors.Count, n int) []detectors.Count {
	n = min(n, len(l))
	if n <= 0 {
		return dst
	}
	from := len(dst)
	for _, c := range l {
		top := dst[from:]
		if len(top) == n && compareCounts(c, top[n-1]) >= 0 {
			continue
		}
		if len(top) < n {
			dst = append(dst, c)
			top = dst[from:]
		}
		i := len(top) - 1
		for ; i > 0 && compareCounts(c, top[i-1]) < 0; i-- {
			top[i] = top[i-1]
		}
		top[i] = c
	}
	return dst
}

// compareCounts orders labels most first, ties by name. Labels are unique
// in a labels list, so any sort gives the same order.
func compareCounts(a, b detectors.Count) int {
	if c := cmp.Compare(b.N, a.N); c != 0 {
		return c
	}
	return strings.Compare(a.Label, b.Label)
}

// CountScratch holds the top labels of the observations of one judgement
// (a bucket's close, or one early look): every tracked term's observation
// needs its top regions and reasons, and a slice for each was a third of
// the engine's allocations. The observations do not outlive the judgement
// (the lifecycle copies what it keeps), so the next one reuses the memory.
type CountScratch []detectors.Count

// Reset makes the memory handed out so far free for reuse.
func (s *CountScratch) Reset() { *s = (*s)[:0] }

// Top is l.Top(n) in the scratch memory: valid until the next reset.
func (s *CountScratch) Top(l Labels, n int) []detectors.Count {
	if len(l) == 0 {
		return nil
	}
	from := len(*s)
	*s = l.AppendTop(*s, n)
	return (*s)[from:len(*s):len(*s)]
}

// StringSlab hands out the rows' label lists (regions, languages, reasons)
// from shared chunks, where a slice of their own cost three allocations per
// row. Unlike countScratch it never reuses memory: a chunk's handed-out part
// is not written again, so a sink may keep the rows' slices.
type StringSlab []string

// stringSlabChunk is the strings of a chunk: a few hundred rows' lists.
const stringSlabChunk = 1024

// Names returns the labels of cs, in order, in the slab; never nil, so a row
// without labels writes an empty list.
func (s *StringSlab) Names(cs []detectors.Count) []string {
	if *s == nil || cap(*s)-len(*s) < len(cs) {
		*s = make([]string, 0, max(stringSlabChunk, len(cs)))
	}
	from := len(*s)
	for _, c := range cs {
		*s = append(*s, c.Label)
	}
	return (*s)[from:len(*s):len(*s)]
}
