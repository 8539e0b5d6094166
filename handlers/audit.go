package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"gatehouse/models"
	"gatehouse/views"
)

// AuditStore is what the audit pages need from the domain: the session
// warehouse, readable by admins and holders of session read-history.
type AuditStore interface {
	HistorySessions(ctx context.Context, a models.Actor, req models.HistoryPageRequest) (*models.HistoryPage, error)
	GetHistorySession(ctx context.Context, a models.Actor, id string) (*models.HistoryRecord, error)
	ExportHistory(ctx context.Context, a models.Actor, f models.HistoryFilter, emit func(*models.HistoryRow) error) error
	HistoryStats(ctx context.Context, a models.Actor, f models.HistoryFilter) (*models.HistoryStats, error)
}

// Audit serves Session history, audit records, exports and charts.
type Audit struct {
	Base
	Store AuditStore
}

// History lists the warehouse's sessions (GET /audit/sessions).
func (h Audit) History(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, form, err := parseHistoryFilter(q)
	var page *models.HistoryPage
	if err == nil {
		var after models.HistoryCursor
		if after, err = models.ParseHistoryCursor(q.Get("after")); err == nil {
			page, err = h.Store.HistorySessions(r.Context(), ActorFrom(r.Context()),
				models.HistoryPageRequest{Filter: f, After: after, Back: q.Get("back") == "1"})
		}
	}
	if form, err = withErrors(form, err); err != nil {
		return err
	}
	status := http.StatusOK
	if form.HasErrors() {
		status = http.StatusUnprocessableEntity
	}
	if r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Target") == "results" {
		return render(w, r, status, views.HistoryResults(form, page, q))
	}
	return render(w, r, status, views.HistoryPage(h.Meta(r, "Session history", "audit"), form, page, q))
}

// Show renders a session's audit record (GET /audit/sessions/{id}).
func (h Audit) Show(w http.ResponseWriter, r *http.Request) error {
	rec, err := h.Store.GetHistorySession(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, views.HistoryRecordPage(h.Meta(r, "Session "+rec.Session.SessionID, "audit"), rec, views.RetryNotice{}))
}

// Charts draws the filtered history's charts (GET /audit/sessions/charts).
func (h Audit) Charts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, form, err := parseHistoryFilter(q)
	var st *models.HistoryStats
	if err == nil {
		st, err = h.Store.HistoryStats(r.Context(), ActorFrom(r.Context()), f)
	}
	if form, err = withErrors(form, err); err != nil {
		return err
	}
	status := http.StatusOK
	if form.HasErrors() {
		status = http.StatusUnprocessableEntity
	}
	return render(w, r, status, views.HistoryChartsPage(h.Meta(r, "Session charts", "charts"), form, st, q))
}

// parseHistoryFilter reads the history filter from a query (the rules are
// models.ParseHistoryFilter's) and keeps the values for the form.
func parseHistoryFilter(q url.Values) (models.HistoryFilter, views.Form, error) {
	form := views.Form{Values: map[string]string{}}
	for _, k := range views.HistoryFilterFields {
		form.Values[k] = strings.TrimSpace(q.Get(k))
	}
	f, err := models.ParseHistoryFilter(q.Get)
	return f, form, err
}
