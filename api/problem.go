package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"gatehouse/models"
)

// Problem is an RFC 9457 problem document. Code is a stable machine word
// (the last segment of Type); Errors holds per-field messages for 422 and
// 400 answers; ExplainURL is the "Why can't I?" page for a refusal.
type Problem struct {
	Type       string            `json:"type"`
	Title      string            `json:"title"`
	Status     int               `json:"status"`
	Detail     string            `json:"detail,omitempty"`
	Instance   string            `json:"instance,omitempty"`
	Code       string            `json:"code"`
	Errors     map[string]string `json:"errors,omitempty"`
	ExplainURL string            `json:"explain_url,omitempty"`
	RequestID  string            `json:"request_id,omitempty"`
}

// apiError is an API-level refusal (not a domain kind).
type apiError struct {
	status int
	code   string
	title  string
	detail string
	fields map[string]string
}

func (e *apiError) Error() string { return e.detail }

// problem is the refusal as a problem document.
func (e *apiError) problem() Problem {
	return Problem{Status: e.status, Code: e.code, Title: e.title, Detail: e.detail, Errors: e.fields}
}

var (
	errNotLoggedIn = &apiError{http.StatusUnauthorized, "not_logged_in", "Not logged in",
		"This request needs an API token: run `gatehouse login`, or send a personal token as `Authorization: Bearer …`.", nil}
	errBadAuthorization = &apiError{http.StatusUnauthorized, "bad_authorization", "Not logged in",
		"The Authorization header must be `Bearer <token>`.", nil}
	errNoSuchEndpoint = &apiError{http.StatusNotFound, "no_such_endpoint", "Not found", "There is no such API endpoint.", nil}
	errMethod         = &apiError{http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed",
		"This endpoint does not accept that method.", nil}
	errBadETag = &apiError{http.StatusPreconditionFailed, "stale", "Changed meanwhile",
		"If-Match is not an ETag this API gave out: read the item again and send its ETag.", nil}
	errNeedIfMatch = &apiError{http.StatusPreconditionRequired, "if_match_required", "If-Match required",
		"Send the item's ETag (from a GET) in If-Match, so a change made meanwhile is not overwritten.", nil}
)

// badRequest is a 400 with a message on a field (a query parameter or a
// body member that could not be read at all).
func badRequest(field, msg string) error {
	return &apiError{http.StatusBadRequest, "bad_request", "Bad request", msg, map[string]string{field: msg}}
}

// Classifier turns a domain error into what people are told: status,
// title, message and field messages (web passes handlers.ProblemOf, the
// one classification of the pages and the API).
type Classifier func(err error) (status int, title, message string, fields map[string]string)

// codes are the problem codes of the domain statuses.
var codes = map[int]string{http.StatusUnprocessableEntity: "invalid", http.StatusNotFound: "not_found", http.StatusForbidden: "forbidden",
	http.StatusConflict: "conflict", http.StatusUnauthorized: "not_logged_in", http.StatusInternalServerError: "internal"}

// problemOf classifies err: the API's own refusals and the login kinds it
// tells apart (each with what to do), a stale version as 412, and every
// other domain kind through the shared classifier.
func (s *Server) problemOf(err error) Problem {
	var ae *apiError
	var th *models.ThrottledError
	switch {
	case errors.As(err, &ae):
		return ae.problem()
	case errors.As(err, &th):
		return Problem{Status: http.StatusTooManyRequests, Code: "throttled", Title: "Too many attempts", Detail: th.Error()}
	case errors.Is(err, models.ErrTokenExpired):
		return Problem{Status: http.StatusUnauthorized, Code: "token_expired", Title: "Login expired",
			Detail: "Your API token has expired. Run `gatehouse login` again, or make a new token on your account page."}
	case errors.Is(err, models.ErrTokenUnknown):
		return Problem{Status: http.StatusUnauthorized, Code: "token_revoked", Title: "Not logged in",
			Detail: "This API token is unknown or was revoked. Run `gatehouse login` again, or make a new token on your account page."}
	case errors.Is(err, models.ErrBadLoginCode):
		return Problem{Status: http.StatusUnauthorized, Code: "bad_login_code", Title: "Login failed",
			Detail: "The login code is unknown, used, expired or does not match. Run `gatehouse login` again."}
	case errors.Is(err, models.ErrBadCredentials):
		return Problem{Status: http.StatusUnauthorized, Code: "bad_credentials", Title: "Login failed", Detail: "Wrong login name or password."}
	case models.IsStale(err):
		return Problem{Status: http.StatusPreconditionFailed, Code: "stale", Title: "Changed meanwhile",
			Detail: "Someone changed this item since you read it. Read it again and retry with its new ETag."}
	}
	status, title, msg, fields := s.cfg.Classify(err)
	p := Problem{Status: status, Code: codes[status], Title: title, Detail: msg, Errors: fields}
	if status == http.StatusUnauthorized {
		p.Detail = "Your login has ended. Run `gatehouse login` again."
	}
	if p.Code == "" {
		p.Code = "error"
	}
	return p
}

// problem answers err as problem+json; 5xx are logged and never show their
// text. A refusal on an item links its "Why can't I?" page.
func (s *Server) problem(w http.ResponseWriter, r *http.Request, err error) {
	p := s.problemOf(err)
	if p.Status >= 500 {
		s.cfg.Logger.ErrorContext(r.Context(), "api request failed", slog.String("request_id", middleware.GetReqID(r.Context())),
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("error", err))
	}
	if p.Status == http.StatusForbidden || p.Status == http.StatusNotFound && p.Code == "not_found" {
		if id := chi.URLParam(r, "id"); id != "" && actorFrom(r.Context()).Authenticated() {
			p.ExplainURL = s.cfg.ExternalURL + "/explain?resource=" + url.QueryEscape(id)
		}
	}
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
	}
	writeProblem(w, r, p)
}

func writeProblem(w http.ResponseWriter, r *http.Request, p Problem) {
	p.Type = "urn:gatehouse:problem:" + p.Code
	p.Instance = r.URL.Path
	p.RequestID = middleware.GetReqID(r.Context())
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// maxBody bounds request bodies.
const maxBody = 1 << 20

// decode reads a JSON body strictly into v: unknown members, wrong types
// and trailing data are a 400 naming the member.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return badRequest("body", "Send the body as application/json.")
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return badRequest("body", "The body holds more than one JSON value.")
	}
	return nil
}

func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return badRequest(te.Field, fmt.Sprintf("Must be a JSON %s.", jsonKind(te.Type.Kind().String())))
	case errors.As(err, &se):
		return badRequest("body", "The body is not valid JSON.")
	case errors.Is(err, io.EOF):
		return badRequest("body", "The body is empty; send a JSON object.")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badRequest(f, "Unknown member "+strconv.Quote(f)+".")
	}
	return badRequest("body", "The body could not be read as JSON.")
}

func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"), strings.HasPrefix(k, "float"):
		return "number"
	case k == "bool":
		return "boolean"
	case k == "slice":
		return "array"
	case k == "map", k == "struct":
		return "object"
	}
	return k
}

// etag is an item's ETag: its version.
func etag(version int) string { return `"` + strconv.Itoa(version) + `"` }

// ifMatch reads the version from If-Match (428 when missing, 412 when it
// is not a version this API gave out).
func ifMatch(r *http.Request) (int, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return 0, errNeedIfMatch
	}
	h = strings.Trim(strings.TrimPrefix(h, "W/"), `"`)
	v, err := strconv.Atoi(h)
	if err != nil || v < 1 {
		return 0, errBadETag
	}
	return v, nil
}

// deleteIfMatch reads a DELETE's optional If-Match: absent or "*", the
// delete is unconditional (as Terraform and Boundary's own API delete); an
// ETag makes it conditional on the item still being at that version (the
// Store refuses a stale one: 412), and one this API never gave out is 412.
func deleteIfMatch(r *http.Request, id string) (context.Context, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return r.Context(), nil
	}
	v, err := ifMatch(r)
	if err != nil {
		return nil, err
	}
	return models.WithIfVersion(r.Context(), id, v), nil
}
