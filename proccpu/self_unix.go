//go:build unix

package proccpu

import (
	"syscall"
	"time"
)

// Self is this process's user + system CPU time so far, to the
// microsecond.
func Self() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
