package main

import (
	"strings"
	"testing"
)

// finding is one govulncheck JSON message: a finding reachable from our
// code when fn is set, only imported or required otherwise.
func finding(osv, fn string) string {
	return `{"finding":{"osv":"` + osv + `","fixed_version":"v1.2.3","trace":[{"module":"stdlib","version":"v1.26.8","package":"net/http","function":"` + fn + `"}]}}` + "\n"
}

func TestGate(t *testing.T) {
	for _, tt := range []struct {
		name, allow, in string
		pass            bool
		say             string
	}{
		{"nothing found, nothing allowed", "# none\n", `{"config":{}}` + "\n", true, "no reachable vulnerability outside the allow list (0 allowed)"},
		{"reachable and allowed", "GO-1 # why\n", finding("GO-1", "Serve"), true, "allowed (see the allow list): GO-1"},
		{"reachable, not allowed", "", finding("GO-2", "Serve"), false, "REACHABLE: GO-2"},
		{"imported only is not reachable", "", finding("GO-3", ""), true, "(0 allowed)"},
		// An entry that no longer applies fails the gate (audit of issue
		// 11, gap 4): the fix landed, so the entry must go.
		{"allowed but no longer reachable", "GO-1 # fixed meanwhile\n", `{"config":{}}` + "\n", false, "STALE allow-list entry (not reachable any more: remove it): GO-1"},
		{"allowed, only imported now", "GO-4\n", finding("GO-4", ""), false, "STALE allow-list entry (not reachable any more: remove it): GO-4"},
	} {
		var out strings.Builder
		pass, err := gate(tt.allow, strings.NewReader(tt.in), &out)
		if err != nil || pass != tt.pass || !strings.Contains(out.String(), tt.say) {
			t.Errorf("%s: pass %v (%v), want %v saying %q:\n%s", tt.name, pass, err, tt.pass, tt.say, out.String())
		}
	}
}
