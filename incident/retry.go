package incident

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxRetryAfter caps what an endpoint can ask for: a Retry-After of a day would
// otherwise hold every incident for a day.
const maxRetryAfter = 10 * time.Minute

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date
// (RFC 9110 §10.2.3). ok is false when v is neither. The delay is within
// [0, maxRetryAfter].
func parseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		secs, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			// All digits but too large for uint64 is still "very long".
			if errors.Is(err, strconv.ErrRange) {
				return maxRetryAfter, true
			}
			return 0, false
		}
		if secs > uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d = t.Sub(now)
	return min(max(d, 0), maxRetryAfter), true
}

// backoff is the wait before retry number attempt (1 after the first failure):
// "full jitter", uniform in [0, min(max, base·2^(attempt-1))], so a fleet of
// senders that failed together does not retry together.
func backoff(base, maxWait time.Duration, attempt int, r *rand.Rand) time.Duration {
	ceil := base
	for i := 1; i < attempt && ceil < maxWait; i++ {
		if ceil > maxWait/2 {
			ceil = maxWait // and no overflow
			break
		}
		ceil *= 2
	}
	ceil = min(ceil, maxWait)
	return time.Duration(r.Uint64N(uint64(ceil) + 1)) // unsigned: ceil+1 may not fit an int64
}
