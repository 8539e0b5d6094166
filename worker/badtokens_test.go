package worker

import (
	"net/netip"
	"testing"
	"time"
)

// TestBadTokensBudget: an address spends its burst on unknown tokens, then
// waits one refill period per attempt; other addresses are not touched; an
// IPv6 /64 is one address; refilled budgets are pruned; the table is bounded.
func TestBadTokensBudget(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	b := newBadTokens(3, 2*time.Second, 4)
	a, other := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	for i := 0; i < 3; i++ {
		if w := b.wait(a, t0); w != 0 {
			t.Fatalf("attempt %d: wait %s within the burst", i+1, w)
		}
		b.failed(a, t0)
	}
	if w := b.wait(a, t0); w != 2*time.Second {
		t.Errorf("after the burst: wait %s, want 2s", w)
	}
	if w := b.wait(a, t0.Add(1500*time.Millisecond)); w != 500*time.Millisecond {
		t.Errorf("1.5 s later: wait %s, want 500ms", w)
	}
	if w := b.wait(other, t0); w != 0 {
		t.Errorf("another address waits %s", w)
	}
	if w := b.wait(a, t0.Add(2*time.Second)); w != 0 {
		t.Errorf("after one refill: wait %s", w)
	}
	b.failed(a, t0.Add(2*time.Second))
	if w := b.wait(a, t0.Add(2*time.Second)); w != 2*time.Second {
		t.Errorf("the refilled attempt spent: wait %s, want 2s", w)
	}

	// ::mapped IPv4 is the IPv4 address; one /64 is one address.
	b.failed(netip.MustParseAddr("::ffff:192.0.2.1"), t0.Add(2*time.Second))
	if w := b.wait(a, t0.Add(2*time.Second)); w != 4*time.Second {
		t.Errorf("mapped address not counted as the IPv4 one: wait %s", w)
	}
	v6a, v6b := netip.MustParseAddr("2001:db8:1:2::1"), netip.MustParseAddr("2001:db8:1:2:ffff::9")
	for i := 0; i < 3; i++ {
		b.failed(v6a, t0)
	}
	if w := b.wait(v6b, t0); w == 0 {
		t.Error("another address of the same /64 is not throttled")
	}
	if w := b.wait(netip.MustParseAddr("2001:db8:1:3::1"), t0); w != 0 {
		t.Errorf("another /64 waits %s", w)
	}

	// Budgets that refilled completely are forgotten.
	b.failed(other, t0)
	if n := b.len(); n != 3 {
		t.Fatalf("%d addresses tracked, want 3", n)
	}
	b.prune(t0.Add(3 * time.Second)) // other (1 spent, refilled after 2 s) goes; a and v6a stay
	if n := b.len(); n != 2 {
		t.Errorf("after prune: %d addresses tracked, want 2", n)
	}
	// The table never grows past its bound.
	for i := 0; i < 10; i++ {
		b.failed(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), t0.Add(3*time.Second))
	}
	if n := b.len(); n > 4 {
		t.Errorf("%d addresses tracked, bound 4", n)
	}
}
