package reconciler

import "time"

// bucket is a token bucket: capacity burst, refilled at rate tokens per
// second. The zero value is unusable; build one with newBucket.
type bucket struct {
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate float64, burst int, now time.Time) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now}
}

// take takes one token at now and returns 0, or takes nothing and returns
// how long until a token will be available.
func (b *bucket) take(now time.Time) time.Duration {
	if now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	wait := time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
	return max(wait, time.Millisecond)
}
