package worker

import (
	"net/netip"
	"sync"
	"time"
)

// badTokens slows down token guessing: each client address may present a
// limited number of unknown session tokens (a burst that refills at a steady
// rate); past it, its tunnel and info requests are refused before any
// database lookup until the budget refills. Tokens are 256-bit random, so
// this is not what keeps them secret: it keeps a guessing client from
// turning the proxy port into a stream of database queries.
//
// IPv6 clients are counted per /64 (one host usually owns a whole /64).
// The table holds at most maxEntries addresses; buckets that have refilled
// are dropped by prune, and when the table is full a new address evicts an
// arbitrary one.
type badTokens struct {
	burst      float64       // attempts allowed at once
	refill     time.Duration // one attempt comes back per refill
	maxEntries int

	mu      sync.Mutex
	buckets map[netip.Prefix]*tokenBucket
}

type tokenBucket struct {
	left float64   // attempts left at `at`
	at   time.Time // when left was computed
}

func newBadTokens(burst int, refill time.Duration, maxEntries int) *badTokens {
	return &badTokens{burst: float64(burst), refill: refill, maxEntries: maxEntries, buckets: map[netip.Prefix]*tokenBucket{}}
}

func badTokenKey(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap()
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// level returns the attempts left for b at now, refilled since b.at.
func (t *badTokens) level(b *tokenBucket, now time.Time) float64 {
	return min(t.burst, b.left+float64(now.Sub(b.at))/float64(t.refill))
}

// wait reports how long ip must wait before its next attempt (0: go on).
func (t *badTokens) wait(ip netip.Addr, now time.Time) time.Duration {
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.buckets[badTokenKey(ip)]
	if !ok {
		return 0
	}
	if left := t.level(b, now); left < 1 {
		return time.Duration((1 - left) * float64(t.refill))
	}
	return 0
}

// failed spends one attempt of ip's budget on an unknown token.
func (t *badTokens) failed(ip netip.Addr, now time.Time) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	k := badTokenKey(ip)
	b, ok := t.buckets[k]
	if !ok {
		if len(t.buckets) >= t.maxEntries {
			t.pruneLocked(now)
		}
		for victim := range t.buckets { // still full: evict an arbitrary one
			if len(t.buckets) < t.maxEntries {
				break
			}
			delete(t.buckets, victim)
		}
		b = &tokenBucket{left: t.burst, at: now}
		t.buckets[k] = b
	}
	b.left, b.at = t.level(b, now)-1, now
}

// prune drops the buckets that have refilled completely.
func (t *badTokens) prune(now time.Time) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pruneLocked(now)
}

func (t *badTokens) pruneLocked(now time.Time) {
	for k, b := range t.buckets {
		if t.level(b, now) >= t.burst {
			delete(t.buckets, k)
		}
	}
}

// len is the number of addresses tracked (for tests).
func (t *badTokens) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.buckets)
}
