package handlers

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"gatehouse/models"
	"gatehouse/views"
)

// ChangeLogStore is what the change log pages need from the domain.
type ChangeLogStore interface {
	ListChangeEvents(ctx context.Context, a models.Actor, f models.ChangeLogFilter, before int64) (*models.ChangeLogPage, error)
	GetChangeEvent(ctx context.Context, a models.Actor, id string) (*models.ChangeEvent, error)
	ExportChangeEvents(ctx context.Context, a models.Actor, f models.ChangeLogFilter, emit func(*models.ChangeEvent) error) error
}

// ChangeLog serves the change log, its entries and exports.
type ChangeLog struct {
	Base
	Store ChangeLogStore
}

// List renders the filtered change log (GET /change-log).
func (h ChangeLog) List(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, form, err := parseChangeFilter(q)
	var page *models.ChangeLogPage
	if err == nil {
		before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
		page, err = h.Store.ListChangeEvents(r.Context(), ActorFrom(r.Context()), f, before)
	}
	if form, err = withErrors(form, err); err != nil {
		return err
	}
	status := http.StatusOK
	if form.HasErrors() {
		status = http.StatusUnprocessableEntity
	}
	if r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Target") == "results" {
		return render(w, r, status, views.ChangeLogResults(page, q))
	}
	return render(w, r, status, views.ChangeLogPage(h.Meta(r, "Change log", "change-log"), form, page, q))
}

// Show renders one entry with its before/after view (GET /change-log/{id}).
func (h ChangeLog) Show(w http.ResponseWriter, r *http.Request) error {
	e, err := h.Store.GetChangeEvent(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, views.ChangeEventPage(h.Meta(r, "Change "+e.ID, "change-log"), e))
}

// ExportCSV streams the filtered change log as CSV (GET /change-log.csv).
func (h ChangeLog) ExportCSV(w http.ResponseWriter, r *http.Request) error {
	cw := csv.NewWriter(w)
	return h.export(w, r, "text/csv; charset=utf-8", "change-log.csv",
		func() error { return cw.Write(models.ChangeLogColumns) },
		func(e *models.ChangeEvent) error {
			rec := e.CSVRecord()
			for i := range rec {
				rec[i] = models.CSVSafe(rec[i])
			}
			return cw.Write(rec)
		},
		func() error { cw.Flush(); return cw.Error() })
}

// ExportJSONL streams the filtered change log as JSON lines
// (GET /change-log.jsonl).
func (h ChangeLog) ExportJSONL(w http.ResponseWriter, r *http.Request) error {
	enc := json.NewEncoder(w)
	return h.export(w, r, "application/jsonl; charset=utf-8", "change-log.jsonl",
		func() error { return nil },
		func(e *models.ChangeEvent) error { return enc.Encode(e.JSONRecord()) },
		func() error { return nil })
}

// export streams the filtered change log (streamExport).
func (h ChangeLog) export(w http.ResponseWriter, r *http.Request, ctype, filename string,
	header func() error, write func(*models.ChangeEvent) error, flush func() error) error {
	f, _, err := parseChangeFilter(r.URL.Query())
	if err != nil {
		return err
	}
	return streamExport(w, r, h.Logger, ctype, filename, header, write, flush, func(emit func(*models.ChangeEvent) error) error {
		return h.Store.ExportChangeEvents(r.Context(), ActorFrom(r.Context()), f, emit)
	})
}

// parseChangeFilter reads the change log filter from a query; dates are UTC
// days (YYYY-MM-DD, "to" inclusive) or minutes (YYYY-MM-DDTHH:MM).
func parseChangeFilter(q url.Values) (models.ChangeLogFilter, views.Form, error) {
	form := views.Form{Values: map[string]string{}}
	for _, k := range views.ChangeLogFilterFields {
		form.Values[k] = strings.TrimSpace(q.Get(k))
	}
	v := form.V
	f := models.ChangeLogFilter{Actor: v("actor"), ResourceType: v("type"), Resource: v("resource"), ScopeID: v("scope"),
		Action: v("action"), Text: v("q")}
	errs := map[string]string{}
	f.From, f.To = filterRange(v, errs)
	if f.ResourceType != "" && !slices.Contains(models.ChangeLogResourceTypes, f.ResourceType) {
		errs["type"] = "Choose a resource type from the list."
	}
	for _, k := range views.ChangeLogFilterFields {
		if len(v(k)) > 256 {
			errs[k] = "At most 256 characters."
		}
	}
	if len(errs) > 0 {
		return f, form, &models.ValidationError{Fields: errs}
	}
	return f, form, nil
}

// filterRange reads the "from" and "to" filter dates: UTC days
// (YYYY-MM-DD; "to" includes its day) or minutes (YYYY-MM-DDTHH:MM). Bad
// values add field messages to errs.
func filterRange(v func(string) string, errs map[string]string) (from, to time.Time) {
	parse := func(name string, inclusive bool) time.Time {
		s := v(name)
		if s == "" {
			return time.Time{}
		}
		if t, err := time.Parse(time.DateOnly, s); err == nil {
			if inclusive {
				t = t.AddDate(0, 0, 1)
			}
			return t
		}
		for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC()
			}
		}
		errs[name] = "Enter a date as YYYY-MM-DD."
		return time.Time{}
	}
	from, to = parse("from", false), parse("to", true)
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		errs["to"] = "Must be after the start of the range."
	}
	return from, to
}
