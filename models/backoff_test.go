package models

import (
	"testing"
	"time"
)

// TestBackoff: base after the first failure, doubled after each further
// one, capped at the limit, never overflowing however many attempts.
func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		base, limit time.Duration
		attempts    int
		want        time.Duration
	}{
		{2 * time.Second, 5 * time.Minute, 0, 2 * time.Second},
		{2 * time.Second, 5 * time.Minute, 1, 2 * time.Second},
		{2 * time.Second, 5 * time.Minute, 2, 4 * time.Second},
		{2 * time.Second, 5 * time.Minute, 8, 256 * time.Second},
		{2 * time.Second, 5 * time.Minute, 9, 5 * time.Minute},
		{5 * time.Second, time.Hour, 1_000_000, time.Hour},
	} {
		if got := backoff(c.base, c.limit, c.attempts); got != c.want {
			t.Errorf("backoff(%s, %s, %d) = %s, want %s", c.base, c.limit, c.attempts, got, c.want)
		}
	}
}
