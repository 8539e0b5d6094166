package web

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"
	"time"

	"gatehouse/handlers"
)

// Request body bounds (see docs/security.md). No Gatehouse form uploads a
// file, so multipart bodies are refused outright: Go's multipart parser
// stores large parts in the temp directory, and a request copy made by a
// middleware (r.WithContext) hides them from the server's clean-up.
const (
	// DefaultMaxBodyBytes caps every request body (forms are a few KiB).
	DefaultMaxBodyBytes = 1 << 20
	// DefaultBodyTimeout bounds the time to receive a request body, from
	// the end of its headers (which ReadHeaderTimeout bounds).
	DefaultBodyTimeout = 30 * time.Second
)

var (
	errBodyTooLarge = &handlers.StatusError{Status: http.StatusRequestEntityTooLarge, Title: "Request too large",
		Message: "The form sent more data than Gatehouse accepts. Shorten what you typed and try again."}
	errMultipart = &handlers.StatusError{Status: http.StatusUnsupportedMediaType, Title: "Unsupported form encoding",
		Message: "Gatehouse accepts no file uploads: send the form as application/x-www-form-urlencoded."}
	errBodyTimeout = &handlers.StatusError{Status: http.StatusRequestTimeout, Title: "Request too slow",
		Message: "The form took too long to arrive. Check your connection and try again."}
	errBadBody = &handlers.StatusError{Status: http.StatusBadRequest, Title: "Bad request",
		Message: "The form could not be read. Reload the page and try again."}
)

// limitBodies bounds every request body: multipart is refused (415), the
// body is capped at MaxBodyBytes (413), and a request with a body (other
// than a tunnel upgrade, whose body is the relayed stream) must deliver it
// within BodyTimeout (408). URL-encoded forms are parsed here, so that a
// handler's PostFormValue never meets a slow or oversized body.
func (s *Server) limitBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if strings.HasPrefix(mediaType, "multipart/") {
			w.Header().Set("Connection", "close") // do not read the rest of the body
			s.errs.Serve(w, r, errMultipart)
			return
		}
		if r.Body == nil || r.Body == http.NoBody || isUpgrade(r) {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > s.cfg.MaxBodyBytes {
			w.Header().Set("Connection", "close")
			s.errs.Serve(w, r, errBodyTooLarge)
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout)); err == nil {
			r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		if mediaType == "application/x-www-form-urlencoded" {
			if err := r.ParseForm(); err != nil {
				w.Header().Set("Connection", "close")
				s.errs.Serve(w, r, bodyError(err))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// bodyError names why a body could not be read.
func bodyError(err error) error {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return errBodyTooLarge
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errBodyTimeout
	}
	return errBadBody
}

// deadlineBody lifts the body's read deadline once the body has been read
// whole, so that the server's own read of the connection (which notices a
// client leaving a long answer such as a live stream) is not cut by it.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// isUpgrade reports whether r asks to switch protocols (the proxy tunnel).
func isUpgrade(r *http.Request) bool {
	for _, v := range r.Header.Values("Connection") {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), "upgrade") {
				return true
			}
		}
	}
	return false
}
