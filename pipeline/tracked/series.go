package tracked

// Series holds the last size per-bucket counts, oldest first, contiguous:
// every close hands each tracked term's histories to the detectors, and a
// ring would have to be copied out in order each time (a tenth of the
// engine's time at 120 buckets). It keeps a quarter of size spare and moves
// the last values back to the front when that fills, a copy of size values
// every size/4 pushes.
type Series struct {
	buf  []float64
	size int
}

func newSeries(size int) *Series {
	return &Series{buf: make([]float64, 0, size+size/4+1), size: size}
}

// Push appends v, the newest value, forgetting the oldest past size.
func (s *Series) Push(v float64) {
	if len(s.buf) == cap(s.buf) {
		s.buf = s.buf[:copy(s.buf, s.buf[len(s.buf)-(s.size-1):])]
	}
	s.buf = append(s.buf, v)
}

// View returns the held values, oldest first. It is the series' own memory,
// valid until the next push; appending to it copies.
func (s *Series) View() []float64 {
	v := s.buf[max(0, len(s.buf)-s.size):]
	return v[:len(v):len(v)]
}

// AppendTo appends the held values, oldest first.
func (s *Series) AppendTo(dst []float64) []float64 {
	return append(dst, s.View()...)
}
