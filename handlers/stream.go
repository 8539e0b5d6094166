package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/a-h/templ"

	"gatehouse/live"
)

// Server-Sent Events of the live views. A stream sends one named event
// whose data is the view's re-rendered fragment, each time the broker says
// something it shows changed. It ends after streamMaxLife (the browser
// reconnects, and the login and roles are checked again), when the client
// leaves, at shutdown (the broker closes), and as soon as its login ends: at
// once when the broker hears of it (logout, password change, user or
// account deleted, on any instance), at the login's expiry or idle deadline,
// and otherwise at the next heartbeat (DefaultStreamHeartbeat, or
// --live-heartbeat), which checks the login. A stream whose login ended
// says so last (event signedOutEvent), so the page closes it instead of
// reconnecting.
const (
	streamMaxLife          = 5 * time.Minute
	DefaultStreamHeartbeat = 20 * time.Second
	signedOutEvent         = "signed-out"
)

// liveStream is one stream: its event name, an optional first event, the
// fragment to send at each wake-up (an error ends the stream: gone or no
// longer visible) and when its login ends (an error: it has ended).
type liveStream struct {
	Event     string
	First     templ.Component
	Render    func() (templ.Component, error)
	LoginEnds func() (time.Time, error)
	// Heartbeat is how often the stream is pinged and the login checked
	// (0: DefaultStreamHeartbeat).
	Heartbeat time.Duration
}

// serve runs the stream on w until it ends.
func (s liveStream) serve(ctx context.Context, w http.ResponseWriter, sub *live.Subscription) error {
	ends, err := s.LoginEnds()
	if err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, ": live\nretry: 2000\n\n"); err != nil {
		return nil
	}
	if s.First != nil {
		if err := writeEvent(ctx, w, s.Event, s.First); err != nil {
			return nil
		}
	}
	_ = rc.Flush()
	every := s.Heartbeat
	if every <= 0 {
		every = DefaultStreamHeartbeat
	}
	heartbeat := time.NewTicker(every)
	defer heartbeat.Stop()
	end := time.After(streamMaxLife)
	loginEnd := time.NewTimer(time.Until(ends))
	defer loginEnd.Stop()
	// lives reports whether the login still lives, and resets loginEnd to
	// when it would end next; once it has ended, the page is told.
	lives := func() bool {
		ends, err := s.LoginEnds()
		if err != nil {
			signedOut(w, rc)
			return false
		}
		loginEnd.Reset(time.Until(ends))
		return true
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-end:
			return nil
		case <-loginEnd.C: // expired, or idle unless used meanwhile
			if !lives() {
				return nil
			}
			continue
		case <-heartbeat.C:
			if !lives() {
				return nil
			}
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return nil
			}
		case _, ok := <-sub.C:
			if !ok { // the login ended (or the server is shutting down)
				if ctx.Err() == nil {
					lives()
				}
				return nil
			}
			c, err := s.Render()
			if err != nil {
				return nil
			}
			if err := writeEvent(ctx, w, s.Event, c); err != nil {
				return nil
			}
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}

// signedOut writes the stream's last event: its login has ended.
func signedOut(w http.ResponseWriter, rc *http.ResponseController) {
	_, _ = fmt.Fprint(w, "event: "+signedOutEvent+"\ndata: \n\n")
	_ = rc.Flush()
}

// streamExport streams the rows run emits as a download: nothing is written
// before the first row (or the end), so a refused or invalid request still
// gets its error page; written rows are flushed every exportFlushRows.
func streamExport[T any](w http.ResponseWriter, r *http.Request, log *slog.Logger, ctype, filename string,
	header func() error, write func(T) error, flush func() error, run func(emit func(T) error) error) error {
	rc := http.NewResponseController(w)
	started, n := false, 0
	start := func() error {
		started = true
		startDownload(w, ctype, filename)
		return header()
	}
	err := run(func(row T) error {
		if !started {
			if err := start(); err != nil {
				return err
			}
		}
		if err := write(row); err != nil {
			return err
		}
		if n++; n%exportFlushRows == 0 {
			if err := flush(); err != nil {
				return err
			}
			if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
				return err
			}
		}
		return nil
	})
	if err != nil && !started {
		return err
	}
	if err != nil {
		// Headers are gone: the truncated download is all we can signal.
		log.WarnContext(r.Context(), "export stopped", slog.String("file", filename), slog.Int("rows", n), slog.Any("error", err))
		return nil
	}
	if !started {
		if err := start(); err != nil {
			return err
		}
	}
	return flush()
}

// startDownload answers 200 with an attachment of ctype named filename
// that nobody caches.
func startDownload(w http.ResponseWriter, ctype, filename string) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}
