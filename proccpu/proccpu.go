// Package proccpu reads the CPU time processes have used from Linux's
// /proc, for benchmarks that say where a machine's CPU went (the bench
// program, issue 16's webhook benchmark). Elsewhere it reads nothing and
// returns zero.
package proccpu

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Of is process pid's user + system CPU time so far (zero when it cannot be
// read).
func Of(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	_, cpu := parseStat(string(b))
	return cpu
}

// Named is the CPU time used so far by every process whose command name is
// name (e.g. "postgres": the server and its backends). A process that ended
// meanwhile no longer counts.
func Named(name string) time.Duration {
	var sum time.Duration
	each(name, func(_ int, cpu time.Duration) { sum += cpu })
	return sum
}

// PIDs lists the processes whose command name is name. Reading it once and
// then Of each is far cheaper than Named, which reads every process's stat.
func PIDs(name string) []int {
	var pids []int
	each(name, func(pid int, _ time.Duration) { pids = append(pids, pid) })
	return pids
}

// each calls f with every process whose command name is name, and its CPU
// time so far, reading each process's stat once.
func each(name string, f func(pid int, cpu time.Duration)) {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if b, err := os.ReadFile("/proc/" + d.Name() + "/stat"); err == nil {
			if comm, cpu := parseStat(string(b)); comm == name {
				f(pid, cpu)
			}
		}
	}
}

// parseStat reads a /proc/<pid>/stat line: the command name (in
// parentheses, which it may itself contain) and utime + stime, fields 14
// and 15, in clock ticks of 1/100 s (USER_HZ on Linux).
func parseStat(s string) (comm string, cpu time.Duration) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open || end+2 > len(s) {
		return "", 0
	}
	comm = s[open+1 : end]
	f := strings.Fields(s[end+2:])
	if len(f) < 13 {
		return comm, 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return comm, time.Duration(ut+st) * (time.Second / 100)
}
