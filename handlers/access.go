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

// AccessStore is what the just-in-time access pages need from the domain.
type AccessStore interface {
	ListAccessRequests(ctx context.Context, a models.Actor) (*models.AccessLists, error)
	PendingAccessCount(ctx context.Context, a models.Actor) int
	GetAccessRequest(ctx context.Context, a models.Actor, id string) (*models.AccessRequestItem, error)
	RequestAccess(ctx context.Context, a models.Actor, in models.RequestAccessInput) (*models.AccessRequest, error)
	DecideAccessRequest(ctx context.Context, a models.Actor, id string, in models.DecideAccessInput) (*models.AccessRequestItem, error)
	CancelAccessRequest(ctx context.Context, a models.Actor, id string) error
	RevokeAccessGrant(ctx context.Context, a models.Actor, grantID, comment string) (*models.AccessGrant, error)
	TargetForRequest(ctx context.Context, a models.Actor, id string) (*models.RequestTarget, error)
	AccessHistory(ctx context.Context, a models.Actor, f models.AccessHistoryFilter) ([]models.AccessEvent, error)
	ExportAccessHistory(ctx context.Context, a models.Actor, f models.AccessHistoryFilter, emit func(*models.AccessEvent) error) error
	TargetAccessSettings(ctx context.Context, a models.Actor, targetID string) (*models.TargetAccessSettings, error)
	UpdateTargetAccessSettings(ctx context.Context, a models.Actor, targetID string, in models.AccessSettingsInput) (*models.TargetAccessSettings, error)
	ExtendSession(ctx context.Context, a models.Actor, id string, in models.ExtendSessionInput) (*models.ExtendOutcome, error)
	ShortenSession(ctx context.Context, a models.Actor, id string, in models.ShortenInput) (*models.Session, error)
	// LoginEnds says when a login ends unless used (live streams end then).
	LoginEnds(ctx context.Context, loginID string) (time.Time, error)
	// GetSession reads a session (a refused Extend or Shorten shows its page).
	GetSession(ctx context.Context, a models.Actor, id string) (*models.SessionDetail, error)
}

// Access serves access requests, approvals, grants, their history, target
// access settings and the Extend and Shorten session actions.
type Access struct {
	Base
	Store AccessStore
	// Live wakes the pages' event streams.
	Live LiveFeed
	// ExternalURL is the address `gatehouse connect --addr` takes (the
	// session page's connect hint).
	ExternalURL string
	// Heartbeat is the live streams' heartbeat (0: DefaultStreamHeartbeat).
	Heartbeat time.Duration
}

// List renders Access requests: those awaiting the actor's decision and its
// own (GET /access).
func (h Access) List(w http.ResponseWriter, r *http.Request) error {
	lists, err := h.Store.ListAccessRequests(r.Context(), ActorFrom(r.Context()))
	if err != nil {
		return err
	}
	return renderPage(w, r, views.AccessRequestsPage(h.Meta(r, "Access requests", "access"), lists), views.AccessLists(lists))
}

// Show renders one request (GET /access/requests/{id}).
func (h Access) Show(w http.ResponseWriter, r *http.Request) error {
	it, err := h.Store.GetAccessRequest(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return renderPage(w, r, views.AccessRequestPage(h.Meta(r, "Access request", "access"), it, views.Form{}), views.AccessRequestDetail(it, views.Form{}))
}

// NewRequest shows the request form (GET /targets/{id}/request-access).
func (h Access) NewRequest(w http.ResponseWriter, r *http.Request) error {
	t, err := h.Store.TargetForRequest(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	f := views.Form{Values: map[string]string{"duration": defaultDuration(t.Settings.RequestMaxSeconds)}}
	return render(w, r, http.StatusOK, views.RequestAccessPage(h.Meta(r, "Request access to "+t.Name, "targets"), t, f))
}

// CreateRequest records a request and shows it (POST
// /targets/{id}/request-access); bad input re-renders the form with 422.
func (h Access) CreateRequest(w http.ResponseWriter, r *http.Request) error {
	ctx, a, id := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")
	f := formValues(r, "duration", "reason", "starts_at")
	req, err := h.Store.RequestAccess(ctx, a, models.RequestAccessInput{TargetID: id, Duration: f.V("duration"),
		Reason: f.V("reason"), StartsAt: f.V("starts_at")})
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	if f.HasErrors() {
		t, err := h.Store.TargetForRequest(ctx, a, id)
		if err != nil {
			return err
		}
		return render(w, r, http.StatusUnprocessableEntity, views.RequestAccessPage(h.Meta(r, "Request access to "+t.Name, "targets"), t, f))
	}
	return redirect(w, r, "/access/requests/"+req.ID)
}

// Decide approves or denies a request (POST /access/requests/{id}/decide,
// fields decision and comment); a refused decision (own request, already
// decided, expired) re-renders the request with its message.
func (h Access) Decide(w http.ResponseWriter, r *http.Request) error {
	ctx, a, id := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")
	f := formValues(r, "decision", "comment")
	_, err := h.Store.DecideAccessRequest(ctx, a, id, models.DecideAccessInput{Decision: f.V("decision"), Comment: f.V("comment")})
	return h.afterAction(w, r, id, f, err)
}

// Cancel withdraws the actor's own pending request (POST
// /access/requests/{id}/cancel).
func (h Access) Cancel(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	return h.afterAction(w, r, id, views.Form{}, h.Store.CancelAccessRequest(r.Context(), ActorFrom(r.Context()), id))
}

// Revoke ends a request's grant early (POST /access/requests/{id}/revoke,
// fields grant and comment).
func (h Access) Revoke(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	f := formValues(r, "grant", "comment")
	_, err := h.Store.RevokeAccessGrant(r.Context(), ActorFrom(r.Context()), f.V("grant"), f.V("comment"))
	return h.afterAction(w, r, id, f, err)
}

// afterAction shows the request again: with the action's field messages
// (422), or after success by redirect.
func (h Access) afterAction(w http.ResponseWriter, r *http.Request, id string, f views.Form, err error) error {
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	if !f.HasErrors() {
		return redirect(w, r, "/access/requests/"+id)
	}
	it, err := h.Store.GetAccessRequest(r.Context(), ActorFrom(r.Context()), id)
	if err != nil {
		return err
	}
	if r.Header.Get("HX-Request") == "true" {
		return render(w, r, http.StatusUnprocessableEntity, views.AccessRequestDetail(it, f))
	}
	return render(w, r, http.StatusUnprocessableEntity, views.AccessRequestPage(h.Meta(r, "Access request", "access"), it, f))
}

// Home renders the actor's access card for Home (GET /access/home): its
// recent requests with their outcome, live.
func (h Access) Home(w http.ResponseWriter, r *http.Request) error {
	lists, err := h.Store.ListAccessRequests(r.Context(), ActorFrom(r.Context()))
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, views.AccessHomeCard(lists))
}

// defaultDuration is the form's first suggestion: one hour, or the
// target's maximum when shorter.
func defaultDuration(maxSeconds int) string {
	if maxSeconds < 3600 {
		return (time.Duration(maxSeconds) * time.Second).String()
	}
	return "1h"
}

// historyFilter reads the Access history query (from, to as
// datetime-local UTC; user, target, kind).
func accessHistoryFilter(q url.Values) (models.AccessHistoryFilter, views.Form) {
	f := views.Form{Values: map[string]string{}, Errors: map[string]string{}}
	for _, k := range []string{"from", "to", "user", "target", "kind", "request", "session"} {
		f.Values[k] = strings.TrimSpace(q.Get(k))
	}
	af := models.AccessHistoryFilter{User: f.V("user"), Target: f.V("target"), Kind: f.V("kind"), RequestID: f.V("request"), SessionID: f.V("session")}
	af.From, af.To = filterTimes(f)
	if len(f.Errors) == 0 {
		f.Errors = nil
	}
	return af, f
}

// History renders Access history with its filters (GET /access/history).
func (h Access) History(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	af, f := accessHistoryFilter(q)
	var events []models.AccessEvent
	if !f.HasErrors() {
		var err error
		events, err = h.Store.AccessHistory(r.Context(), ActorFrom(r.Context()), af)
		if f, err = withErrors(f, err); err != nil {
			return err
		}
	}
	status := http.StatusOK
	if f.HasErrors() {
		status = http.StatusUnprocessableEntity
	}
	return render(w, r, status, views.AccessHistoryPage(h.Meta(r, "Access history", "access"), events, f, q))
}
