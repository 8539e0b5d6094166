package views

import "testing"

func TestHumanSeconds(t *testing.T) {
	for n, want := range map[int]string{28800: "8h", 5400: "1h 30m", 90: "1m 30s", 1: "1s", 86400: "1d", 90061: "1d 1h 1m 1s", 0: "0s"} {
		if got := humanSeconds(n); got != want {
			t.Errorf("humanSeconds(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int]string{-1: "unlimited", 1: "1", 25: "25"} {
		if got := connectionLimit(n); got != want {
			t.Errorf("connectionLimit(%d) = %q, want %q", n, got, want)
		}
	}
}
