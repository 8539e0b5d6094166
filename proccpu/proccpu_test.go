package proccpu

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	comm, cpu := parseStat("4242 (postgres: a (b)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 1 0 99 1000 10 1")
	if comm != "postgres: a (b)" || cpu != 2870*time.Millisecond {
		t.Fatalf("got %q %v, want the name with its parentheses and 2.87 s", comm, cpu)
	}
	if comm, cpu := parseStat("garbage"); comm != "" || cpu != 0 {
		t.Fatalf("got %q %v from garbage", comm, cpu)
	}
}

// TestSpinningIsCounted: spinning until Self counts 100 ms more takes
// about as long on an idle machine (at most 10 s on a very busy one), and
// Of this process counts it too (in ticks of 10 ms).
func TestSpinningIsCounted(t *testing.T) {
	self0, of0 := Self(), Of(os.Getpid())
	for deadline := time.Now().Add(10 * time.Second); Self()-self0 < 100*time.Millisecond; {
		if time.Now().After(deadline) {
			t.Fatalf("10 s of spinning: Self counted %v", Self()-self0)
		}
	}
	if of := Of(os.Getpid()) - of0; of < 80*time.Millisecond {
		t.Errorf("Of counted %v of the 100 ms Self counted", of)
	}
	comm, _ := os.ReadFile("/proc/self/comm")
	if pids := PIDs(strings.TrimSpace(string(comm))); !slices.Contains(pids, os.Getpid()) {
		t.Errorf("processes named %q: %v, without this one (%d)", comm, pids, os.Getpid())
	}
	if pids := PIDs("no such command"); len(pids) != 0 {
		t.Errorf("processes named %q: %v", "no such command", pids)
	}
	if n := Named("no such command"); n != 0 {
		t.Errorf("CPU of no process: %v", n)
	}
}
