// Command vulngate reads `govulncheck -format json` on stdin and fails when
// a vulnerability reachable from our code (a finding whose trace names a
// function) is not in the allow list given as its argument (one OSV id a
// line, "#" comments, each with the reason it cannot be fixed yet), or when
// an entry of the allow list no longer applies (nothing reachable has that
// id any more: remove it, so the list never hides a future finding).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

type message struct {
	Finding *struct {
		OSV          string `json:"osv"`
		FixedVersion string `json:"fixed_version"`
		Trace        []struct {
			Module, Version, Package, Function string
		} `json:"trace"`
	} `json:"finding"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: vulngate ALLOWLIST < govulncheck.json")
		os.Exit(2)
	}
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulngate:", err)
		os.Exit(2)
	}
	ok, err := gate(string(b), os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulngate:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

// gate reads govulncheck's JSON from in, reports on out and tells whether
// it passes: every reachable finding allowed, every allowed id reachable.
func gate(allowList string, in io.Reader, out io.Writer) (bool, error) {
	allowed := readAllow(allowList)
	reach := map[string]string{} // osv → "module@version (fixed in …)"
	dec := json.NewDecoder(bufio.NewReader(in))
	for {
		var m message
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return false, fmt.Errorf("reading govulncheck output: %w", err)
		}
		if f := m.Finding; f != nil && len(f.Trace) > 0 && f.Trace[0].Function != "" {
			reach[f.OSV] = fmt.Sprintf("%s@%s (fixed in %s)", f.Trace[0].Module, f.Trace[0].Version, f.FixedVersion)
		}
	}
	var bad, known, stale []string
	for id, where := range reach {
		if allowed[id] {
			known = append(known, id+" "+where)
		} else {
			bad = append(bad, id+" "+where)
		}
	}
	for id := range allowed {
		if _, ok := reach[id]; !ok {
			stale = append(stale, id)
		}
	}
	slices.Sort(bad)
	slices.Sort(known)
	slices.Sort(stale)
	for _, k := range known {
		fmt.Fprintln(out, "vulngate: allowed (see the allow list):", k)
	}
	for _, b := range bad {
		fmt.Fprintln(out, "vulngate: REACHABLE:", b)
	}
	for _, s := range stale {
		fmt.Fprintln(out, "vulngate: STALE allow-list entry (not reachable any more: remove it):", s)
	}
	if len(bad) > 0 {
		fmt.Fprintf(out, "vulngate: %d reachable vulnerabilities not in the allow list: upgrade the module (or Go) that fixes them\n", len(bad))
	}
	if len(stale) > 0 {
		fmt.Fprintf(out, "vulngate: %d allow-list entries no longer apply: remove them\n", len(stale))
	}
	if len(bad) > 0 || len(stale) > 0 {
		return false, nil
	}
	fmt.Fprintf(out, "vulngate: no reachable vulnerability outside the allow list (%d allowed)\n", len(known))
	return true, nil
}

// readAllow parses the allow list: the first word of each line, after "#"
// comments are removed.
func readAllow(list string) map[string]bool {
	out := map[string]bool{}
	for _, l := range strings.Split(list, "\n") {
		if id, _, _ := strings.Cut(l, "#"); strings.TrimSpace(id) != "" {
			out[strings.Fields(id)[0]] = true
		}
	}
	return out
}
