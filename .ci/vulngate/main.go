// Command vulngate reads `govulncheck -format json` on stdin and fails when
// a vulnerability reachable from our code (a finding whose trace names a
// function) is not in the allow list given as its argument: one OSV id a
// line, "#" comments, each with the reason it cannot be fixed yet.
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
	allowed, err := readAllow(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulngate:", err)
		os.Exit(2)
	}
	reach := map[string]string{} // osv → "module@version (fixed in …)"
	dec := json.NewDecoder(bufio.NewReader(os.Stdin))
	for {
		var m message
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			fmt.Fprintln(os.Stderr, "vulngate: reading govulncheck output:", err)
			os.Exit(2)
		}
		if f := m.Finding; f != nil && len(f.Trace) > 0 && f.Trace[0].Function != "" {
			reach[f.OSV] = fmt.Sprintf("%s@%s (fixed in %s)", f.Trace[0].Module, f.Trace[0].Version, f.FixedVersion)
		}
	}
	var bad, known []string
	for id, where := range reach {
		if allowed[id] {
			known = append(known, id+" "+where)
		} else {
			bad = append(bad, id+" "+where)
		}
	}
	slices.Sort(bad)
	slices.Sort(known)
	for _, k := range known {
		fmt.Println("vulngate: allowed (see the allow list):", k)
	}
	if len(bad) > 0 {
		for _, b := range bad {
			fmt.Println("vulngate: REACHABLE:", b)
		}
		fmt.Printf("vulngate: %d reachable vulnerabilities not in the allow list: upgrade the module (or Go) that fixes them\n", len(bad))
		os.Exit(1)
	}
	fmt.Printf("vulngate: no reachable vulnerability outside the allow list (%d allowed)\n", len(known))
}

func readAllow(path string) (map[string]bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		if id, _, _ := strings.Cut(l, "#"); strings.TrimSpace(id) != "" {
			out[strings.Fields(id)[0]] = true
		}
	}
	return out, nil
}
