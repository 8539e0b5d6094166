package models

import (
	"context"
	"time"
)

// Defaults of the password hash limiter: each argon2id hash holds
// DefaultPasswordParams.Memory (64 MiB) while it runs, so four at once
// bound the memory that password checks can take to 256 MiB, however many
// guesses arrive together.
const (
	DefaultPasswordHashSlots = 4
	DefaultPasswordHashWait  = 2 * time.Second
)

// PasswordHashLimiter bounds how many password hashes run at once (a
// semaphore sized for their memory). A hash that finds every slot taken
// waits for one at most its wait, then gives up with a *BusyError. One
// limiter serves a Store and all its transactions; share one between
// Stores on the same process to bound them together. Safe for concurrent use.
type PasswordHashLimiter struct {
	slots chan struct{}
	wait  time.Duration
}

// NewPasswordHashLimiter returns a limiter of n slots (at least 1) whose
// callers queue at most wait.
func NewPasswordHashLimiter(n int, wait time.Duration) *PasswordHashLimiter {
	return &PasswordHashLimiter{slots: make(chan struct{}, max(n, 1)), wait: max(wait, 0)}
}

// Acquire takes a slot, waiting at most the limiter's wait (and not past
// ctx). It returns the function that gives the slot back, or a *BusyError
// (errors.Is ErrBusy) when no slot came free in time, or ctx's error.
func (l *PasswordHashLimiter) Acquire(ctx context.Context) (release func(), err error) {
	select {
	case l.slots <- struct{}{}:
		return l.release, nil
	default:
	}
	t := time.NewTimer(l.wait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return l.release, nil
	case <-t.C:
		return nil, &BusyError{What: "password checks", RetryAfter: time.Second}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *PasswordHashLimiter) release() { <-l.slots }

// InUse counts the slots taken now (metrics, tests).
func (l *PasswordHashLimiter) InUse() int { return len(l.slots) }
