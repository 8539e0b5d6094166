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
	status, title, msg := classify(err)
	var se *StatusError
	if errors.As(err, &se) {
		setRetryAfter(w, se.RetryAfter)
	}
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

func classify(err error) (int, string, string) {
	var ve *models.ValidationError
	var se *StatusError
	switch {
	case errors.As(err, &se):
		return se.Status, se.Title, se.Message
	case errors.As(err, &ve):
		return http.StatusUnprocessableEntity, "Invalid input", ve.Error()
	case errors.Is(err, models.ErrNotFound):
		return http.StatusNotFound, "Not found", "There is nothing here, or you may not see it."
	case errors.Is(err, models.ErrForbidden):
		return http.StatusForbidden, "Not allowed", "You are not allowed to do that."
	case errors.Is(err, models.ErrConflict):
		return http.StatusConflict, "Conflict", conflictText(err)
	case errors.Is(err, models.ErrUnauthenticated):
		return http.StatusUnauthorized, "Please log in", "Your login has ended. Log in again to continue."
	}
	return http.StatusInternalServerError, "Something went wrong", "The server could not complete the request. It has been logged; please try again."
}

// conflictText keeps the domain's explanation of a conflict (written for
// people) but drops the wrapped kind's suffix.
func conflictText(err error) string {
	msg := err.Error()
	const suffix = ": conflict"
	if len(msg) > len(suffix) && msg[len(msg)-len(suffix):] == suffix {
		msg = msg[:len(msg)-len(suffix)]
	}
	return msg
}
