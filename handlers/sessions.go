package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"gatehouse/models"
	"gatehouse/views"
)

// SessionStore is what the session pages need from the domain.
type SessionStore interface {
	StartSession(ctx context.Context, a models.Actor, in models.StartSessionInput) (*models.StartedSession, error)
	TargetForSession(ctx context.Context, a models.Actor, id string) (*models.SessionTarget, error)
	GetSession(ctx context.Context, a models.Actor, id string) (*models.SessionDetail, error)
	CancelSession(ctx context.Context, a models.Actor, id string) (*models.Session, error)
	MySessions(ctx context.Context, a models.Actor, opt models.ListOptions, sort string) (models.Page[models.SessionItem], error)
	ListSessions(ctx context.Context, a models.Actor, f models.SessionFilter) (models.Page[models.SessionItem], error)
	// LoginEnds says when a login ends unless used (live streams end then).
	LoginEnds(ctx context.Context, loginID string) (time.Time, error)
}

// Sessions serves starting, watching and canceling sessions.
type Sessions struct {
	Base
	Store SessionStore
	// Live wakes the pages' event streams (sessions_live.go).
	Live LiveFeed
	// ClientIP is the person's address for a request (trusted proxies applied).
	ClientIP func(r *http.Request) string
	// ExternalURL is the address `gatehouse connect --addr` takes.
	ExternalURL string
	// Heartbeat is the live streams' heartbeat (0: DefaultStreamHeartbeat).
	Heartbeat time.Duration
}

// NewStart shows the host choice for a new session (GET /targets/{id}/sessions/new).
func (h Sessions) NewStart(w http.ResponseWriter, r *http.Request) error {
	t, err := h.Store.TargetForSession(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, views.StartSessionPage(h.Meta(r, "Start a session", "targets"), t, views.Form{}))
}

// Start starts a session and shows its page with the token, this once
// (POST /targets/{id}/sessions, optional form field host).
func (h Sessions) Start(w http.ResponseWriter, r *http.Request) error {
	ctx, a, id := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")
	f := formValues(r, "host", "nonce")
	started, err := h.Store.StartSession(ctx, a, models.StartSessionInput{TargetID: id, HostID: f.V("host"),
		ClientIP: h.ClientIP(r), UserAgent: r.UserAgent(), Nonce: f.V("nonce")})
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	if f.HasErrors() {
		t, err := h.Store.TargetForSession(ctx, a, id)
		if err != nil {
			return err
		}
		return render(w, r, http.StatusUnprocessableEntity, views.StartSessionPage(h.Meta(r, "Start a session", "targets"), t, f))
	}
	if started.Repeated { // a double click: show the session the first click started
		return redirect(w, r, "/sessions/"+started.Session.ID+"?done=repeated")
	}
	d := started.Detail()
	w.Header().Set("Cache-Control", "no-store")
	m := h.Meta(r, "Session on "+d.TargetName, "sessions")
	m.ReplaceURL = "/sessions/" + d.ID // a reload shows the session, not a new one
	return render(w, r, http.StatusCreated, views.SessionPage(m, d, views.ConnectHint{Addr: h.ExternalURL, Token: started.Token}))
}

// Show renders one session (GET /sessions/{id}).
func (h Sessions) Show(w http.ResponseWriter, r *http.Request) error {
	d, err := h.Store.GetSession(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return renderPage(w, r, views.SessionPage(h.Meta(r, "Session on "+d.TargetName, "sessions"), d, views.ConnectHint{Addr: h.ExternalURL}), views.SessionDetail(d))
}

// Cancel cancels a session (POST /sessions/{id}/cancel); htmx callers get
// 204 (the live view shows the change), others go back to the session.
func (h Sessions) Cancel(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if _, err := h.Store.CancelSession(r.Context(), ActorFrom(r.Context()), id); err != nil {
		return err
	}
	if r.Header.Get("HX-Request") == "true" {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return redirect(w, r, "/sessions/"+id)
}

// Mine renders My sessions (GET /sessions?sort=&page=).
func (h Sessions) Mine(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	page, err := h.Store.MySessions(r.Context(), ActorFrom(r.Context()), listOptions(q), q.Get("sort"))
	if err != nil {
		return err
	}
	return renderPage(w, r, views.MySessionsPage(h.Meta(r, "My sessions", "sessions"), page, q), views.MySessionList(page, q))
}

// All renders All sessions with its filters (GET /admin/sessions?user=&target=
// &project=&state=&reason=&q=&from=&to=&sort=&page=); bad filters re-render
// with 422 and their messages.
func (h Sessions) All(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	filter, f := sessionFilter(q)
	var page models.Page[models.SessionItem]
	if !f.HasErrors() {
		var err error
		page, err = h.Store.ListSessions(r.Context(), ActorFrom(r.Context()), filter)
		if f, err = withErrors(f, err); err != nil {
			return err
		}
	}
	status := http.StatusOK
	if f.HasErrors() {
		status = http.StatusUnprocessableEntity
	}
	if r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Target") == "results" {
		return render(w, r, status, views.AllSessionList(page, q))
	}
	return render(w, r, status, views.AllSessionsPage(h.Meta(r, "All sessions", "all-sessions"), page, f, q))
}

// filterTime is the datetime-local format of the time filters (UTC).
const filterTime = "2006-01-02T15:04"

// sessionFilterFields are All sessions' filter inputs (query names).
var sessionFilterFields = []string{"user", "target", "project", "state", "reason", "q", "from", "to", "sort"}

// sessionFilter reads All sessions' query into a filter (the rules are
// models.ParseSessionFilter's, shared with Session history) and its form.
func sessionFilter(q url.Values) (models.SessionFilter, views.Form) {
	f := views.Form{Values: map[string]string{}}
	for _, k := range sessionFilterFields {
		f.Values[k] = strings.TrimSpace(q.Get(k))
	}
	sf, err := models.ParseSessionFilter(q.Get)
	f.Errors = models.FieldErrors(err)
	return sf, f
}

// filterTimes reads the from and to fields of a filter form (datetime-local
// UTC, or RFC 3339), putting their messages in f.Errors.
func filterTimes(f views.Form) (from, to time.Time) {
	for _, k := range []string{"from", "to"} {
		if v := f.V(k); v != "" {
			t, err := time.Parse(filterTime, v)
			if err != nil {
				t, err = time.Parse(time.RFC3339, v)
			}
			if err != nil {
				f.Errors[k] = "Enter a date and time like 2026-03-01T09:00."
				continue
			}
			if k == "from" {
				from = t
			} else {
				to = t
			}
		}
	}
	return from, to
}
