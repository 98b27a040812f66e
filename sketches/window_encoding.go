package sketches

import (
	"fmt"
	"time"

	"github.com/trendwatch/trendwatch/internal/binenc"
)

const (
	roleOpen   = 0
	roleFine   = 1
	roleCoarse = 2
)

// MarshalBinary encodes the whole window for a checkpoint. Body: the config
// (bucket, fine buckets, coarse bucket, coarse buckets, lateness, open buckets,
// top-K, max key bytes, memory budget, depth, widths), the state
// (started, closed, first, has-coarse, coarse top, dropped), then the bucket count
// and per bucket its role (open, fine, coarse), index, event counts and the
// length-prefixed encodings of its sketches.
func (w *Window) MarshalBinary() ([]byte, error) { return w.AppendBinary(nil) }

// AppendBinary appends the encoding of w to dst.
func (w *Window) AppendBinary(dst []byte) ([]byte, error) {
	start := len(dst)
	dst = envelope.AppendHeader(dst, kindWindow)
	c := w.cfg
	dst = binenc.AppendVarint(dst, int64(c.Bucket))
	dst = binenc.AppendUvarint(dst, uint64(c.FineBuckets))
	dst = binenc.AppendVarint(dst, int64(c.CoarseBucket))
	dst = binenc.AppendUvarint(dst, uint64(c.CoarseBuckets))
	dst = binenc.AppendVarint(dst, int64(c.AllowedLateness))
	dst = binenc.AppendUvarint(dst, uint64(c.OpenBuckets))
	dst = binenc.AppendUvarint(dst, uint64(c.TopK))
	dst = binenc.AppendUvarint(dst, uint64(c.MaxKeyBytes))
	dst = binenc.AppendVarint(dst, c.MemoryBudget)
	dst = binenc.AppendUvarint(dst, uint64(c.CMSDepth))
	dst = binenc.AppendUvarint(dst, uint64(c.CMSWidth))
	dst = binenc.AppendUvarint(dst, uint64(c.CMSReportWidth))

	dst = binenc.AppendBool(dst, w.started)
	dst = binenc.AppendVarint(dst, w.closed)
	dst = binenc.AppendVarint(dst, w.first)
	dst = binenc.AppendBool(dst, w.hasCoarse)
	dst = binenc.AppendVarint(dst, w.coarseTop)
	dst = binenc.AppendUvarint(dst, w.dropped)

	type rb struct {
		role byte
		b    *Bucket
	}
	var buckets []rb
	for _, b := range w.open {
		if b != nil {
			buckets = append(buckets, rb{roleOpen, b})
		}
	}
	for _, b := range w.fine {
		if b != nil {
			buckets = append(buckets, rb{roleFine, b})
		}
	}
	nCoarse := int64(len(w.coarse))
	for _, b := range w.coarse {
		// Stale coarse buckets are garbage awaiting reuse, not state.
		if b != nil && w.hasCoarse && b.idx > w.coarseTop-nCoarse {
			buckets = append(buckets, rb{roleCoarse, b})
		}
	}
	dst = binenc.AppendUvarint(dst, uint64(len(buckets)))
	var scratch []byte
	var err error
	for _, x := range buckets {
		b := x.b
		dst = append(dst, x.role)
		dst = binenc.AppendVarint(dst, b.idx)
		dst = binenc.AppendUvarint(dst, b.Events)
		dst = binenc.AppendUvarint(dst, b.ReportEvents)
		type marshaler interface{ AppendBinary([]byte) ([]byte, error) }
		parts := []marshaler{b.Mentions, b.Reports}
		if x.role != roleCoarse {
			parts = append(parts, b.Top, b.ReportTop)
		}
		for _, p := range parts {
			if scratch, err = p.AppendBinary(scratch[:0]); err != nil {
				return nil, fmt.Errorf("sketches: window: bucket %s: %w", b.Start.Format(time.RFC3339), err)
			}
			dst = binenc.AppendBytes(dst, scratch)
		}
	}
	return envelope.Seal(dst, start), nil
}

// UnmarshalBinary restores a checkpoint into w. A zero Window takes the encoded
// configuration; a Window made by NewWindow keeps its own and requires the
// checkpoint to have the same shape (bucket widths, ring lengths, sketch sizes),
// so a config change that would make old buckets meaningless is an error rather
// than a silent wrong answer. Every bucket's index must fit its ring and every
// sketch must have the window's shape. On error w is unchanged.
func (w *Window) UnmarshalBinary(data []byte) error {
	body, version, err := envelope.Open(data, kindWindow)
	if err != nil {
		return err
	}
	r := binenc.NewReader(ErrEncoding, "window", body)
	var c WindowConfig
	c.Bucket = time.Duration(r.Varint("bucket"))
	c.FineBuckets = int(r.UvarintMax("fine buckets", maxRingBuckets))
	c.CoarseBucket = time.Duration(r.Varint("coarse bucket"))
	c.CoarseBuckets = int(r.UvarintMax("coarse buckets", maxRingBuckets))
	c.AllowedLateness = time.Duration(r.Varint("allowed lateness"))
	c.OpenBuckets = int(r.UvarintMax("open buckets", maxOpenBuckets))
	c.TopK = int(r.UvarintMax("top-k", MaxTopK))
	c.MaxKeyBytes = int(r.UvarintMax("max key bytes", maxKeyBytes))
	if version < 2 {
		r.Byte("hll precision") // of the distinct-terms HLL that version 2 dropped
	}
	c.MemoryBudget = r.Varint("memory budget")
	c.CMSDepth = int(r.UvarintMax("cms depth", MaxCountMinDepth))
	c.CMSWidth = int(r.UvarintMax("cms width", MaxCountMinWidth))
	c.CMSReportWidth = int(r.UvarintMax("cms report width", MaxCountMinWidth))
	if err := r.Err(); err != nil {
		return err
	}
	tmp, err := NewWindow(c)
	if err != nil {
		return fmt.Errorf("%w: window: encoded config: %w", ErrEncoding, err)
	}
	if w.plan.Depth != 0 {
		if w.shape() != tmp.shape() {
			return fmt.Errorf("%w: window: checkpoint shape %+v differs from the window's %+v", ErrEncoding, tmp.shape(), w.shape())
		}
		if tmp, err = NewWindow(w.cfg); err != nil {
			return err
		}
	}

	tmp.started = r.Bool("started")
	tmp.closed = r.Varint("closed")
	tmp.first = r.Varint("first")
	tmp.hasCoarse = r.Bool("has coarse")
	tmp.coarseTop = r.Varint("coarse top")
	tmp.dropped = r.Uvarint("dropped")
	n := r.UvarintMax("bucket count", uint64(len(tmp.open)+len(tmp.fine)+len(tmp.coarse)))
	if err := r.Err(); err != nil {
		return err
	}
	// Bucket times are computed as index·width in nanoseconds; keep them in range.
	const maxIdxNs = 1 << 62
	lim := func(field string, v, width int64) {
		if v > maxIdxNs/width || v < -maxIdxNs/width {
			r.Failf("%s %d is out of the representable range", field, v)
		}
	}
	lim("closed", tmp.closed, tmp.bucketNs)
	lim("first", tmp.first, tmp.bucketNs)
	lim("coarse top", tmp.coarseTop, tmp.coarseNs)
	if r.Err() == nil && !tmp.started && (n != 0 || tmp.hasCoarse) {
		r.Failf("an unstarted window holds %d buckets", n)
	}
	if r.Err() == nil && tmp.first > tmp.closed {
		r.Failf("first bucket %d after the closed mark %d", tmp.first, tmp.closed)
	}
	if err := r.Err(); err != nil {
		return err
	}
	nOpen, nFine, nCoarse := int64(len(tmp.open)), int64(len(tmp.fine)), int64(len(tmp.coarse))
	for i := range n {
		role := r.Byte("bucket role")
		idx := r.Varint("bucket index")
		events := r.Uvarint("events")
		reportEvents := r.Uvarint("report events")
		if err := r.Err(); err != nil {
			return err
		}
		var ring []*Bucket
		var slot int64
		switch role {
		case roleOpen:
			if idx < tmp.closed || idx-tmp.closed >= nOpen {
				r.Failf("open bucket %d outside [%d, %d)", idx, tmp.closed, tmp.closed+nOpen)
			}
			ring, slot = tmp.open, floorMod(idx, nOpen)
		case roleFine:
			if idx >= tmp.closed || tmp.closed-idx > nFine || idx < tmp.first {
				r.Failf("fine bucket %d outside [%d, %d)", idx, max(tmp.closed-nFine, tmp.first), tmp.closed)
			}
			ring, slot = tmp.fine, floorMod(idx, nFine)
		case roleCoarse:
			if !tmp.hasCoarse || idx > tmp.coarseTop || tmp.coarseTop-idx >= nCoarse {
				r.Failf("coarse bucket %d outside the coarse ring", idx)
			}
			ring, slot = tmp.coarse, floorMod(idx, nCoarse)
		default:
			r.Failf("bucket %d has role %d", i, role)
		}
		if err := r.Err(); err != nil {
			return err
		}
		if ring[slot] != nil {
			r.Failf("bucket %d appears twice", idx)
			return r.Err()
		}
		// Zero sketches: each allocates only once its encoding, which backs the
		// allocation, has been checked.
		b := &Bucket{Mentions: &CountMin{}, Reports: &CountMin{}}
		if role != roleCoarse {
			b.Top, b.ReportTop = &TopK{}, &TopK{}
		}
		if role == roleCoarse {
			tmp.setCoarseIdx(b, idx)
		} else {
			tmp.setFineIdx(b, idx)
		}
		b.Events, b.ReportEvents = events, reportEvents
		if err := tmp.decodeBucket(r, b, version); err != nil {
			return err
		}
		ring[slot] = b
	}
	if err := r.End(); err != nil {
		return err
	}
	*w = *tmp
	return nil
}

// decodeBucket reads b's sketches from an encoding of the given version.
func (w *Window) decodeBucket(r *binenc.Reader, b *Bucket, version byte) error {
	what := fmt.Sprintf("bucket %s", b.Start.Format(time.RFC3339))
	decode := func(field string, u interface{ UnmarshalBinary([]byte) error }) {
		raw := r.Bytes(field)
		if r.Err() != nil {
			return
		}
		if err := u.UnmarshalBinary(raw); err != nil {
			r.Failf("%s %s: %v", what, field, err)
		}
	}
	decode("mentions", b.Mentions)
	decode("reports", b.Reports)
	if version < 2 {
		r.Bytes("terms") // the distinct-terms HLL, which nothing read
	}
	if b.Top != nil {
		decode("top", b.Top)
		decode("report top", b.ReportTop)
	}
	if err := r.Err(); err != nil {
		return err
	}
	switch {
	case b.Mentions.Width() != w.plan.MentionsWidth || b.Mentions.Depth() != w.plan.Depth:
		r.Failf("%s: mentions sketch %d×%d, want %d×%d", what, b.Mentions.Width(), b.Mentions.Depth(), w.plan.MentionsWidth, w.plan.Depth)
	case b.Reports.Width() != w.plan.ReportsWidth || b.Reports.Depth() != w.plan.Depth:
		r.Failf("%s: reports sketch %d×%d, want %d×%d", what, b.Reports.Width(), b.Reports.Depth(), w.plan.ReportsWidth, w.plan.Depth)
	case b.Top != nil && (b.Top.K() != w.cfg.TopK || b.ReportTop.K() != w.cfg.TopK):
		r.Failf("%s: top-K k=%d/%d, want %d", what, b.Top.K(), b.ReportTop.K(), w.cfg.TopK)
	case b.Top != nil && (maxKeyLen(b.Top) > w.cfg.MaxKeyBytes || maxKeyLen(b.ReportTop) > w.cfg.MaxKeyBytes):
		r.Failf("%s: top-K key longer than max_key_bytes %d", what, w.cfg.MaxKeyBytes)
	}
	return r.Err()
}

func maxKeyLen(t *TopK) int {
	n := 0
	for i := range t.entries {
		n = max(n, len(t.entries[i].key))
	}
	return n
}
