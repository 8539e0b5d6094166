package handlers

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5/middleware"

	"gatehouse/models"
	"gatehouse/views"
)

// Errors is the one adapter from domain errors to HTTP answers.
type Errors struct {
	Base
}

// Wrap adapts a HandlerFunc to http.HandlerFunc, sending its error to Serve.
func (e Errors) Wrap(fn HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			e.Serve(w, r, err)
		}
	}
}

// Serve answers err: 404/403/409/422 pages (or htmx fragments) for domain
// kinds, a login redirect for ErrUnauthenticated, and a 500 page that never
// shows the error's text (which is logged with the request id).
func (e Errors) Serve(w http.ResponseWriter, r *http.Request, err error) {
	p := ProblemOf(err)
	status, title, msg := p.Status, p.Title, p.Message
	if status == http.StatusUnauthorized && r.Method == http.MethodGet && r.Header.Get("HX-Request") == "" {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	if status >= 500 {
		e.Logger.ErrorContext(r.Context(), "request failed", slog.String("request_id", middleware.GetReqID(r.Context())),
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("error", err))
	}
	if r.Header.Get("HX-Request") == "true" {
		_ = render(w, r, status, views.ErrorFragment(status, title, msg))
		return
	}
	_ = render(w, r, status, views.ErrorPage(e.Meta(r, title, ""), status, title, msg))
}

// NotFound answers unknown URLs with the 404 page.
func (e Errors) NotFound(w http.ResponseWriter, r *http.Request) {
	e.Serve(w, r, models.ErrNotFound)
}

// MethodNotAllowed answers known URLs with an unsupported method.
func (e Errors) MethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	_ = render(w, r, http.StatusMethodNotAllowed, views.ErrorPage(e.Meta(r, "Method not allowed", ""),
		http.StatusMethodNotAllowed, "Method not allowed", "This address does not accept that kind of request."))
}

// Problem is what an adapter tells people about an error: a status, a
// title, a message (the error's message for people, or the kind's own
// text) and, for invalid input, the messages by field. The HTML adapter
// (Serve) renders it as a page or fragment; an API adapter can write the
// same as application/problem+json (status, title, detail, and the fields
// as an extension member). The operator text (err.Error()) is never in it.
type Problem struct {
	Status  int
	Title   string
	Message string
	Fields  map[string]string
}

// problemKinds maps each domain kind to its status, title and the text
// shown when the error carries no message for people.
var problemKinds = []struct {
	kind          error
	status        int
	title, detail string
}{
	{models.ErrInvalid, http.StatusUnprocessableEntity, "Invalid input", "Some fields are not right."},
	{models.ErrNotFound, http.StatusNotFound, "Not found", "There is nothing here, or you may not see it."},
	{models.ErrForbidden, http.StatusForbidden, "Not allowed", "You are not allowed to do that."},
	{models.ErrConflict, http.StatusConflict, "Conflict", "It changed since you opened it, or cannot be done as it is now."},
	{models.ErrUnauthenticated, http.StatusUnauthorized, "Please log in", "Your login has ended. Log in again to continue."},
}

// ProblemOf classifies err by its kind. Messages for people are kept for
// invalid input and conflicts; other kinds always show their own text (so
// that nothing an actor may not see leaks through a not-found or a
// forbidden). Anything else is a 500 whose text is only logged.
func ProblemOf(err error) Problem {
	for _, k := range problemKinds {
		if !errors.Is(err, k.kind) {
			continue
		}
		p := Problem{Status: k.status, Title: k.title, Message: k.detail}
		if k.kind == models.ErrInvalid || k.kind == models.ErrConflict {
			if msg := models.PublicMessage(err); msg != "" {
				p.Message = msg
			}
			p.Fields = models.FieldErrors(err)
		}
		return p
	}
	return Problem{Status: http.StatusInternalServerError, Title: "Something went wrong",
		Message: "The server could not complete the request. It has been logged; please try again."}
}
