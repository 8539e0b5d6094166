// Package handlers turns HTTP requests into domain calls and renders the
// result. A handler parses its input, makes one call on the Store and
// renders a view; errors go to one adapter (errors.go) that maps domain
// error kinds to status codes and error pages.
package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/a-h/templ"

	"gatehouse/models"
	"gatehouse/views"
)

// HandlerFunc is an http.HandlerFunc that returns its error to the adapter.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Base holds what every handler group needs.
type Base struct {
	Logger *slog.Logger
	// Dev marks pages served by `gatehouse dev`.
	Dev bool
	// AccessHelp tells people without access how to get it (a sentence or
	// an http(s) link; empty: ask an administrator).
	AccessHelp string
}

type ctxKey int

const actorKey ctxKey = iota

// WithActor returns a context carrying the request's actor; web's
// authentication middleware calls it.
func WithActor(ctx context.Context, a models.Actor) context.Context {
	return context.WithValue(ctx, actorKey, a)
}

// ActorFrom returns the request's actor, or models.Anonymous.
func ActorFrom(ctx context.Context) models.Actor {
	a, _ := ctx.Value(actorKey).(models.Actor)
	return a
}

// Meta builds the page metadata for a request.
func (b Base) Meta(r *http.Request, title, nav string) views.Meta {
	return views.Meta{Title: title, Actor: ActorFrom(r.Context()), Nav: nav, Flash: flashText(r.URL.Query().Get("done")), Dev: b.Dev,
		AccessHelp: b.AccessHelp, Path: r.URL.Path}
}

// flashText turns a redirect's ?done= code into a confirmation. Only known
// codes are shown, so links cannot inject text.
func flashText(code string) string {
	switch code {
	case "created":
		return "Created."
	case "saved":
		return "Saved."
	case "deleted":
		return "Deleted."
	case "removed":
		return "Removed."
	case "unlocked":
		return "Lock cleared: the account may log in again at once."

	case "repeated":
		return "This start was already sent: here is the session it started (its token was shown on the first answer)."

	case "queued":
		return "Queued for delivery."
	}
	return ""
}

// render writes a component with a status code.
func render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	return c.Render(r.Context(), w)
}

// renderPage renders the full page, or only fragment when htmx asks for the
// #results target.
func renderPage(w http.ResponseWriter, r *http.Request, page, fragment templ.Component) error {
	if r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Target") == "results" && fragment != nil {
		return render(w, r, http.StatusOK, fragment)
	}
	return render(w, r, http.StatusOK, page)
}

// redirect answers a successful form POST (303 See Other).
func redirect(w http.ResponseWriter, r *http.Request, to string) error {
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", to)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// listOptions reads ?q=&page= into ListOptions.
func listOptions(q url.Values) models.ListOptions {
	page, _ := strconv.Atoi(q.Get("page"))
	return models.ListOptions{Search: models.CutSearch(strings.TrimSpace(q.Get("q"))), Page: page}
}

// formValues copies a parsed form into a views.Form.
func formValues(r *http.Request, fields ...string) views.Form {
	f := views.Form{Values: map[string]string{}}
	for _, k := range fields {
		f.Values[k] = r.PostFormValue(k)
	}
	return f
}

// withErrors attaches a domain error's field messages to a form; other
// errors are returned for the adapter.
func withErrors(f views.Form, err error) (views.Form, error) {
	fe := models.FieldErrors(err)
	if fe == nil {
		return f, err
	}
	f.Errors = fe
	return f, nil
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
