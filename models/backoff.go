package models

import "time"

// backoff is the delay before the next try after the attempts-th failed
// attempt of a queued job (a credential revocation, a webhook delivery):
// base after the first, doubled after each further one, never over limit.
func backoff(base, limit time.Duration, attempts int) time.Duration {
	d := base
	for i := 1; i < attempts && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}
