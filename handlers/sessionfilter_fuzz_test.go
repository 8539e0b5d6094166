package handlers

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// FuzzSessionFilter: the All sessions filter (also the live stream's)
// reads any query without a panic; only its own fields can be wrong, each
// with a message for people (issue 11, finding 9), never the operator's
// "invalid input:" text.
func FuzzSessionFilter(f *testing.F) {
	for _, s := range []string{"from=notadate", "from=2026-03-01T09:00&to=2026-03-02T09:00", "user=u_1&state=active&sort=-started&page=2",
		"to=2026-03-01T09:00:00Z", "page=-1&reason=canceled", "from=%ZZ", "q=" + "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		_, form := sessionFilter(q)
		for k, msg := range form.Errors {
			if !slices.Contains(sessionFilterFields, k) || msg == "" || strings.Contains(msg, "invalid input") {
				t.Fatalf("%q: error %q on %q", raw, msg, k)
			}
		}
	})
}
