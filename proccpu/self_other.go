//go:build !unix

package proccpu

import "time"

// Self is zero where getrusage is missing (Windows).
func Self() time.Duration { return 0 }
