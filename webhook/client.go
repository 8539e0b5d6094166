package webhook

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrPrivateDestination is returned when a webhook URL resolves to an
// address that outbound requests may not reach.
var ErrPrivateDestination = errors.New("destination is a private, loopback or link-local address (allowed only with --webhook-allow-private)")

// cgnat is the shared address space (RFC 6598), private in practice.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// forbidden reports whether outbound webhook requests may not reach ip.
func forbidden(ip netip.Addr) bool {
	ip = ip.Unmap()
	return !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || cgnat.Contains(ip)
}

// CheckDial refuses an ip:port that outbound webhook requests may not
// reach (ErrPrivateDestination). The client calls it on the resolved
// address of every connection it opens.
func CheckDial(address string) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook dial %s: %w", address, err)
	}
	if forbidden(ap.Addr()) {
		return fmt.Errorf("webhook dial %s: %w", address, ErrPrivateDestination)
	}
	return nil
}

// NewClient makes the HTTP client deliveries go through: no proxy, no
// redirects, timeout per request, and (unless allowPrivate) a check of the
// address actually dialled, after name resolution, so a name that resolves
// to a private address (or is re-pointed to one) is refused too.
func NewClient(allowPrivate bool, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout}
	if !allowPrivate {
		dialer.Control = func(network, address string, _ syscall.RawConn) error { return CheckDial(address) }
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		// At least the deliverer's default Parallel: with fewer, a burst to
		// one receiver closed the connections above the limit after each
		// request and dialed new ones (issue 16's benchmark).
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	return &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
