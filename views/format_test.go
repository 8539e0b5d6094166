package views

import "testing"

func TestHumanSeconds(t *testing.T) {
	for n, want := range map[int]string{28800: "8 hours", 5400: "1 hour 30 minutes", 90: "1 minute 30 seconds", 1: "1 second", 86400: "1 day",
		90061: "1 day 1 hour 1 minute 1 second", 0: "0 seconds"} {
		if got := humanSeconds(n); got != want {
			t.Errorf("humanSeconds(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int]string{-1: "Unlimited", 1: "1", 25: "25"} {
		if got := connectionLimit(n); got != want {
			t.Errorf("connectionLimit(%d) = %q, want %q", n, got, want)
		}
	}
}
