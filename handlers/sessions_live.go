package handlers

import (
	"bytes"
	"context"
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
	// Render once first: this checks access and the query before any
	// stream starts. Home's list takes no query and is the actor's own:
	// nothing to check.
	if view != "home" {
		if _, err := h.liveFragment(ctx, a, view, q); err != nil {
			return err
		}
	}
	filter.LoginID = a.LoginID
	sub := h.Live.Subscribe(filter)
	defer sub.Close()
	return liveStream{
		Event:     "sessions",
		Render:    func() (templ.Component, error) { return h.liveFragment(ctx, a, view, q) },
		LoginEnds: func() (time.Time, error) { return h.Store.LoginEnds(ctx, a.LoginID) },
		Heartbeat: h.Heartbeat,
	}.serve(ctx, w, sub)
}

// liveFragment renders the fragment a live view shows.
func (h Sessions) liveFragment(ctx context.Context, a models.Actor, view string, q url.Values) (templ.Component, error) {
	switch view {
	case "mine":
		page, err := h.Store.MySessions(ctx, a, listOptions(q), q.Get("sort"))
		return views.MySessionList(page, q), err
	case "home":
		page, err := h.Store.MySessions(ctx, a, models.ListOptions{PerPage: homeSessions}, "")
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
