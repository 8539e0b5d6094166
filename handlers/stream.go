package handlers

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/a-h/templ"

	"gatehouse/live"
)

// stream serves one Server-Sent Events stream: the preamble, then (when
// first is set) event with first, then event with render's fragment each
// time sub wakes, heartbeats in between, until the client leaves, the
// broker closes, render fails (gone or no longer visible) or streamMaxLife
// passes (the browser reconnects, and the login and roles are checked
// again).
func stream(ctx context.Context, w http.ResponseWriter, sub *live.Subscription, event string, first templ.Component,
	render func() (templ.Component, error)) error {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, ": live\nretry: 2000\n\n"); err != nil {
		return nil
	}
	if first != nil {
		if err := writeEvent(ctx, w, event, first); err != nil {
			return nil
		}
	}
	_ = rc.Flush()
	heartbeat := time.NewTicker(streamHeartbeat)
	defer heartbeat.Stop()
	end := time.After(streamMaxLife)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-end:
			return nil
		case <-heartbeat.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return nil
			}
		case _, ok := <-sub.C:
			if !ok {
				return nil
			}
			c, err := render()
			if err != nil {
				return nil
			}
			if err := writeEvent(ctx, w, event, c); err != nil {
				return nil
			}
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}

// startDownload answers 200 with an attachment of ctype named filename
// that nobody caches.
func startDownload(w http.ResponseWriter, ctype, filename string) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}
