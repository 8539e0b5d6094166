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
// client leaves, at shutdown (the broker closes), and as soon as its login
// ends: at once when the broker hears of it (logout, password change, user
// or account deleted, on any instance), at the login's expiry or idle
// deadline, and otherwise at the next heartbeat, which checks the login.
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
	case "mine", "home":
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
	filter.LoginID = a.LoginID
	sub := h.Live.Subscribe(filter)
	defer sub.Close()
	loginEnds, err := h.Store.LoginEnds(ctx, a.LoginID)
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
	_ = rc.Flush()
	heartbeat := time.NewTicker(streamHeartbeat)
	defer heartbeat.Stop()
	end := time.After(streamMaxLife)
	loginEnd := time.NewTimer(time.Until(loginEnds))
	defer loginEnd.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-end:
			return nil
		case <-loginEnd.C: // expired, or idle unless used meanwhile
			if !h.loginLives(ctx, a, loginEnd) {
				return nil
			}
			continue
		case <-heartbeat.C:
			if !h.loginLives(ctx, a, loginEnd) {
				return nil
			}
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

// loginLives reports whether the stream's login still lives, and sets
// loginEnd to fire when it would end next.
func (h Sessions) loginLives(ctx context.Context, a models.Actor, loginEnd *time.Timer) bool {
	ends, err := h.Store.LoginEnds(ctx, a.LoginID)
	if err != nil {
		return false
	}
	loginEnd.Reset(time.Until(ends))
	return true
}

// liveFragment renders the fragment a live view shows.
func (h Sessions) liveFragment(ctx context.Context, a models.Actor, view string, q url.Values) (templ.Component, error) {
	switch view {
	case "mine":
		page, err := h.Store.MySessions(ctx, a, listOptions(q))
		return views.MySessionList(page, q), err
	case "home":
		page, err := h.Store.MySessions(ctx, a, models.ListOptions{PerPage: 50})
		return views.HomeSessions(page.Items), err
	case "session":
		d, err := h.Store.GetSession(ctx, a, q.Get("id"))
		if err != nil {
			return nil, err
		}
		return views.SessionDetail(d), nil
	default:
		filter, f := sessionFilter(q)
		if f.HasErrors() { // 422 with the messages: a stream of a bad filter never starts
			return nil, &models.ValidationError{Fields: f.Errors}
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
