package main

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
)

// TestPackagesLoadLight: no package of ours does heavy work when the
// binary loads, which every command pays before its first line (`gatehouse
// connect`, `version`, the CLI's commands): the Go runtime's init trace of
// this test binary (which links them all) shows each of our packages
// allocating under 4 MiB. models once made an argon2id hash there: 64 MiB
// and about 135 ms for every command.
func TestPackagesLoadLight(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	re := regexp.MustCompile(`(?m)^init (gatehouse\S*) @\S+ ms, (\S+) ms clock, (\d+) bytes`)
	seen := 0
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		seen++
		if n, _ := strconv.Atoi(m[3]); n > 4<<20 {
			t.Errorf("package %s allocates %d bytes (%s ms) when the binary loads", m[1], n, m[2])
		}
	}
	if seen == 0 {
		t.Fatalf("no init trace of our packages in:\n%s", out)
	}
}
