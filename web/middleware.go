package web

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"gatehouse/handlers"
)

// contentSecurityPolicy allows only our own scripts and styles: no inline
// script, no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// accessLog writes one structured line per request.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		if s.cfg.Metrics != nil {
			route := ""
			if rc := chi.RouteContext(r.Context()); rc != nil {
				route = rc.RoutePattern()
			}
			s.cfg.Metrics.ObserveHTTP(route, r.Method, ww.Status(), time.Since(start))
		}
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			return
		}
		s.logger.LogAttrs(r.Context(), slog.LevelInfo, "http request",
			slog.String("request_id", middleware.GetReqID(r.Context())),
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", ww.Status()), slog.Int("bytes", ww.BytesWritten()),
			slog.Duration("duration", time.Since(start)), slog.String("client_ip", s.clientIP(r)))
	})
}

// recoverer turns a panic into the 500 page and a logged stack.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.logger.ErrorContext(r.Context(), "panic", slog.String("request_id", middleware.GetReqID(r.Context())),
					slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
				s.errs.Serve(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// csrf refuses state-changing requests from other origins with Go's
// CrossOriginProtection (Sec-Fetch-Site / Origin checks).
func (s *Server) csrf(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	if s.cfg.ExternalURL != nil {
		_ = cop.AddTrustedOrigin(s.cfg.ExternalURL.Scheme + "://" + s.cfg.ExternalURL.Host)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("Cross-origin request refused.\n"))
	}))
	return cop.Handler(next)
}

// authenticate resolves the cookie to an actor for every request; anonymous
// requests carry models.Anonymous.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := tokenOf(s.cookie(r))
		if token == "" {
			next.ServeHTTP(w, r)
			return
		}
		a, _, err := s.store.LoginByToken(r.Context(), token)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(handlers.WithActor(r.Context(), a)))
	})
}

// requireLogin sends anonymous requests to the login page.
func (s *Server) requireLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !handlers.ActorFrom(r.Context()).Authenticated() {
			if r.Method == http.MethodGet && r.Header.Get("HX-Request") == "" {
				http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.errs.Serve(w, r, errLoginRequired)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// clientIP is the address of the person's machine: the peer address, or the
// right-most untrusted X-Forwarded-For entry when the peer is a trusted proxy.
func (s *Server) clientIP(r *http.Request) string {
	return ClientIP(r, s.cfg.TrustedProxies)
}

// ClientIP returns the client's address for r given the trusted proxies.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	if !isTrusted(peer) {
		return peer.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !isTrusted(a) {
			return a.String()
		}
		peer = a
	}
	return peer.String()
}

// compressedTypes are the text responses compressText compresses. Server-
// Sent Events (text/event-stream) are left out on purpose: each event must
// reach the browser when it is flushed.
var compressedTypes = []string{"text/html", "text/css", "text/javascript", "application/javascript", "application/json",
	"application/problem+json", "image/svg+xml", "text/plain", "text/csv", "application/x-ndjson"}

// compressText gzips (or deflates) text responses for clients that accept
// it: pages, fragments and the static CSS and JavaScript. The mounted
// handlers (the worker's tunnels, the dev provider) are passed through
// untouched, as is any request asking for a protocol upgrade.
func (s *Server) compressText(next http.Handler) http.Handler {
	compressed := middleware.Compress(5, compressedTypes...)(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			next.ServeHTTP(w, r)
			return
		}
		for prefix := range s.cfg.Mounts {
			if strings.HasPrefix(r.URL.Path, prefix) {
				next.ServeHTTP(w, r)
				return
			}
		}
		compressed.ServeHTTP(w, r)
	})
}
