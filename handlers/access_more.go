package handlers

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"gatehouse/live"
	"gatehouse/models"
	"gatehouse/views"
)

// Settings shows a target's access settings form (GET /targets/{id}/access).
func (h Access) Settings(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	st, err := h.Store.TargetAccessSettings(r.Context(), ActorFrom(r.Context()), id)
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, views.AccessSettingsPage(h.Meta(r, "Access settings", "scopes"), id, views.AccessSettingsForm(st)))
}

// SaveSettings saves them (POST /targets/{id}/access); bad input re-renders
// with 422 and the messages next to the fields.
func (h Access) SaveSettings(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	f := formValues(r, "request_max", "approvals_required", "request_ttl", "extension_max", "extension_needs_approval", "version")
	_, err := h.Store.UpdateTargetAccessSettings(r.Context(), ActorFrom(r.Context()), id, models.AccessSettingsInput{
		RequestMax: f.V("request_max"), ApprovalsRequired: f.V("approvals_required"), RequestTTL: f.V("request_ttl"),
		ExtensionMax: f.V("extension_max"), ExtensionNeedsApproval: f.Checked("extension_needs_approval"), Version: atoi(f.V("version"))})
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	if f.HasErrors() {
		return render(w, r, http.StatusUnprocessableEntity, views.AccessSettingsPage(h.Meta(r, "Access settings", "scopes"), id, f))
	}
	return redirect(w, r, "/targets/"+id+"?done=saved")
}

// Extend extends the actor's own session (POST /sessions/{id}/extend,
// fields by and reason); refused bounds re-render the session page with
// the message next to the field.
func (h Access) Extend(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	f := formValues(r, "by", "reason")
	out, err := h.Store.ExtendSession(r.Context(), ActorFrom(r.Context()), id, models.ExtendSessionInput{By: f.V("by"), Reason: f.V("reason")})
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	if f.HasErrors() {
		return h.refusedAction(w, r, id, "extend", f)
	}
	if out.Request != nil {
		return redirect(w, r, "/access/requests/"+out.Request.ID)
	}
	return redirect(w, r, "/sessions/"+id)
}

// Shorten moves a session's expiration earlier (POST
// /sessions/{id}/shorten, field expires_at, UTC).
func (h Access) Shorten(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	f := formValues(r, "expires_at")
	_, err := h.Store.ShortenSession(r.Context(), ActorFrom(r.Context()), id, models.ShortenInput{ExpiresAt: f.V("expires_at")})
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	if f.HasErrors() {
		return h.refusedAction(w, r, id, "shorten", f)
	}
	return redirect(w, r, "/sessions/"+id)
}

// refusedAction answers a refused Extend or Shorten with the session's own
// page (422), the form showing its messages next to the fields.
func (h Access) refusedAction(w http.ResponseWriter, r *http.Request, id, action string, f views.Form) error {
	d, err := h.Store.GetSession(r.Context(), ActorFrom(r.Context()), id)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	page := views.SessionPage(h.Meta(r, "Session on "+d.TargetName, "sessions"), d, views.ConnectHint{Addr: h.ExternalURL})
	return render(w, r.WithContext(views.WithSessionForm(r.Context(), action, f)), http.StatusUnprocessableEntity, page)
}

// Events streams a live access view (GET /access/events?view=page|badge|
// home|request&id=): event "access" carries the re-rendered fragment, each
// time an access request it shows changes (and once at the start for the
// badge). It ends like every live stream (liveStream).
func (h Access) Events(w http.ResponseWriter, r *http.Request) error {
	ctx, a, q := r.Context(), ActorFrom(r.Context()), r.URL.Query()
	view := q.Get("view")
	filter := live.Filter{AccessUserID: a.UserID}
	switch view {
	case "page", "request":
		filter.AccessAll = true // approvers' lists; visibility is checked at each render
	case "badge":
		filter = live.Filter{AccessAll: true}
	case "home":
	default:
		return models.ErrNotFound
	}
	filter.LoginID = a.LoginID // the stream ends with its login
	// The badge starts empty, so its stream sends it first; a request's
	// is read first only to answer one the actor may not see with an
	// error page; the lists' pages already show what they show.
	var first templ.Component
	if view == "badge" || view == "request" {
		var err error
		if first, err = h.fragment(ctx, a, view, q.Get("id")); err != nil {
			return err
		}
	}
	sub := h.Live.Subscribe(filter)
	defer sub.Close()
	if view != "badge" {
		first = nil
	}
	return liveStream{
		Event:     "access",
		First:     first,
		Render:    func() (templ.Component, error) { return h.fragment(ctx, a, view, q.Get("id")) },
		LoginEnds: func() (time.Time, error) { return h.Store.LoginEnds(ctx, a.LoginID) },
		Heartbeat: h.Heartbeat,
	}.serve(ctx, w, sub)
}

// Badge renders the navigation's count of requests awaiting the actor's
// decision (GET /access/badge).
func (h Access) Badge(w http.ResponseWriter, r *http.Request) error {
	return render(w, r, http.StatusOK, views.AccessBadge(h.Store.PendingAccessCount(r.Context(), ActorFrom(r.Context()))))
}

// fragment renders what a live access view shows.
func (h Access) fragment(ctx context.Context, a models.Actor, view, id string) (templ.Component, error) {
	switch view {
	case "badge":
		return views.AccessBadge(h.Store.PendingAccessCount(ctx, a)), nil
	case "request":
		it, err := h.Store.GetAccessRequest(ctx, a, id)
		if err != nil {
			return nil, err
		}
		return views.AccessRequestDetail(it, views.Form{}), nil
	}
	lists, err := h.Store.ListAccessRequests(ctx, a)
	if err != nil {
		return nil, err
	}
	if view == "home" {
		return views.AccessHomeCard(lists), nil
	}
	return views.AccessLists(lists), nil
}

// ExportCSV streams the filtered access history as CSV (GET /access/history.csv).
func (h Access) ExportCSV(w http.ResponseWriter, r *http.Request) error {
	cw := csv.NewWriter(w)
	return h.export(w, r, "text/csv; charset=utf-8", "access-history.csv",
		func() error { return cw.Write(models.AccessEventColumns) },
		func(e *models.AccessEvent) error {
			rec := e.Values()
			for i := range rec {
				rec[i] = models.CSVSafe(rec[i]) // reasons and comments are typed by people
			}
			return cw.Write(rec)
		},
		func() error { cw.Flush(); return cw.Error() })
}

// ExportJSONL streams it as JSON lines, one event per line (GET
// /access/history.jsonl).
func (h Access) ExportJSONL(w http.ResponseWriter, r *http.Request) error {
	enc := json.NewEncoder(w)
	return h.export(w, r, "application/jsonl; charset=utf-8", "access-history.jsonl", func() error { return nil },
		func(e *models.AccessEvent) error {
			m := make(map[string]any, len(models.AccessEventColumns))
			for i, v := range e.Values() {
				m[models.AccessEventColumns[i]] = v
			}
			m["duration_seconds"] = e.DurationSeconds
			return enc.Encode(m)
		}, func() error { return nil })
}

// export streams the filtered access history (streamExport).
func (h Access) export(w http.ResponseWriter, r *http.Request, ctype, filename string,
	header func() error, write func(*models.AccessEvent) error, flush func() error) error {
	af, f := accessHistoryFilter(r.URL.Query())
	if f.HasErrors() {
		return &models.ValidationError{Fields: f.Errors}
	}
	return streamExport(w, r, h.Logger, ctype, filename, header, write, flush, func(emit func(*models.AccessEvent) error) error {
		return h.Store.ExportAccessHistory(r.Context(), ActorFrom(r.Context()), af, emit)
	})
}
