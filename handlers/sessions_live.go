package handlers

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/a-h/templ"

	"gatehouse/live"
	"gatehouse/models"
	"gatehouse/views"
)

// LiveFeed is what the live session pages need of the broker (a
// *live.Broker): a subscription woken by the changes a filter matches.
type LiveFeed interface {
	Subscribe(f live.Filter) *live.Subscription
}

// Server-Sent Events of the live session views. The stream sends event
// "sessions" whose data is the view's re-rendered fragment, each time the
// broker says something it shows changed. It ends after streamMaxLife (the
// browser reconnects, and the login and roles are checked again), when the
// client leaves, or at shutdown (the broker closes).
const (
	streamMaxLife   = 5 * time.Minute
	streamHeartbeat = 20 * time.Second
)

// Events streams a live view (GET /sessions/events?view=mine|session|all
// with id= for one session, and the page's own list or filter query).
func (h Sessions) Events(w http.ResponseWriter, r *http.Request) error {
	ctx, a, q := r.Context(), ActorFrom(r.Context()), r.URL.Query()
	view := q.Get("view")
	q.Del("view")
	var filter live.Filter
	switch view {
	case "mine":
		filter = live.Filter{UserID: a.UserID}
	case "session":
		filter = live.Filter{SessionID: q.Get("id")}
	case "all":
		filter = live.Filter{All: true}
	default:
		return models.ErrNotFound
	}
	// Render once first: this checks access before any stream starts.
	if _, err := h.liveFragment(ctx, a, view, q); err != nil {
		return err
	}
	sub := h.Live.Subscribe(filter)
	defer sub.Close()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, ": live\nretry: 2000\n\n"); err != nil {
		return nil
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
			c, err := h.liveFragment(ctx, a, view, q)
			if err != nil {
				return nil // gone or no longer visible: end the stream
			}
			if err := writeEvent(ctx, w, "sessions", c); err != nil {
				return nil
			}
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}

// liveFragment renders the fragment a live view shows.
func (h Sessions) liveFragment(ctx context.Context, a models.Actor, view string, q url.Values) (templ.Component, error) {
	switch view {
	case "mine":
		page, err := h.Store.MySessions(ctx, a, listOptions(q))
		return views.MySessionList(page, q), err
	case "session":
		d, err := h.Store.GetSession(ctx, a, q.Get("id"))
		if err != nil {
			return nil, err
		}
		return views.SessionDetail(d), nil
	default:
		filter, f := sessionFilter(q)
		if f.HasErrors() {
			return nil, models.ErrInvalid
		}
		page, err := h.Store.ListSessions(ctx, a, filter)
		return views.AllSessionList(page, q), err
	}
}

// writeEvent writes one SSE event whose data is the rendered component
// (one "data:" line per line of HTML).
func writeEvent(ctx context.Context, w http.ResponseWriter, event string, c templ.Component) error {
	var buf bytes.Buffer
	if err := c.Render(ctx, &buf); err != nil {
		return err
	}
	var out bytes.Buffer
	out.WriteString("event: " + event + "\n")
	for _, line := range bytes.Split(buf.Bytes(), []byte("\n")) {
		out.WriteString("data: ")
		out.Write(bytes.TrimSuffix(line, []byte("\r")))
		out.WriteByte('\n')
	}
	out.WriteByte('\n')
	_, err := w.Write(out.Bytes())
	return err
}
