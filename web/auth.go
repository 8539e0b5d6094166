package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"gatehouse/handlers"
	"gatehouse/models"
	"gatehouse/views"
)

var errLoginRequired = fmt.Errorf("login required: %w", models.ErrUnauthenticated)

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// safeNext keeps a post-login destination on this site: it returns next when
// it is a local path (a single leading "/", no scheme or host once parsed, no
// control character — browsers drop tabs and newlines, turning "/\t/evil" into
// "//evil" —, no backslash, valid UTF-8, not the login page itself) and "/"
// otherwise.
func safeNext(next string) string {
	if !localPath(next) || strings.HasPrefix(next, "/login") {
		return "/"
	}
	return next
}

// localPath reports whether p is a path on this site that no browser reads as
// another origin.
func localPath(p string) bool {
	if len(p) == 0 || p[0] != '/' || strings.HasPrefix(p, "//") || !utf8.ValidString(p) {
		return false
	}
	for _, r := range p {
		if unicode.IsControl(r) || r == '\\' {
			return false
		}
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil && u.Opaque == "" && strings.HasPrefix(u.Path, "/") && !strings.HasPrefix(u.Path, "//")
}

// loginPage renders the login form (GET /login).
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) error {
	if handlers.ActorFrom(r.Context()).Authenticated() {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return nil
	}
	f := views.Form{Values: map[string]string{}}
	if msg := r.URL.Query().Get("error"); msg != "" {
		f.Error = loginErrorText(msg)
	}
	return s.renderLogin(w, r, http.StatusOK, f, safeNext(r.URL.Query().Get("next")))
}

func loginErrorText(code string) string {
	switch code {
	case "ended":
		return "Your login has ended. Please log in again."
	}
	return ""
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, f views.Form, next string) error {
	methods, err := s.store.PublicAuthMethods(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	m := views.Meta{Title: "Log in", Dev: s.cfg.Dev}
	return views.LoginPage(m, methods, f, next).Render(r.Context(), w)
}

// login checks a password and starts a fresh login (POST /login).
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	f := views.Form{Values: map[string]string{
		"login_name": r.PostFormValue("login_name"), "auth_method_id": r.PostFormValue("auth_method_id"),
	}}
	next := safeNext(r.PostFormValue("next"))
	res, err := s.store.AuthenticatePassword(r.Context(), models.PasswordLogin{
		AuthMethodID: r.PostFormValue("auth_method_id"), LoginName: r.PostFormValue("login_name"),
		Password: r.PostFormValue("password"), ClientIP: s.clientIP(r), UserAgent: r.UserAgent(),
	})
	var throttled *models.ThrottledError
	var busy *models.BusyError
	switch {
	case errors.As(err, &busy):
		f.Error = "Gatehouse is busy checking other logins. Try again in a moment."
		w.Header().Set("Retry-After", fmt.Sprintf("%d", max(int(busy.RetryAfter.Seconds()), 1)))
		return s.renderLogin(w, r, http.StatusServiceUnavailable, f, next)
	case errors.As(err, &throttled):
		f.Error = "Too many failed attempts. Try again in " + throttled.RetryAfter.Round(1e9).String() + "."
		w.Header().Set("Retry-After", fmt.Sprintf("%d", int(throttled.RetryAfter.Seconds())+1))
		return s.renderLogin(w, r, http.StatusTooManyRequests, f, next)
	case errors.Is(err, models.ErrUnauthenticated):
		f.Error = "Wrong login name or password."
		return s.renderLogin(w, r, http.StatusUnauthorized, f, next)
	case err != nil:
		return err
	}
	if err := s.setLoginCookie(w, r, res.Token, nil); err != nil {
		return err
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// setLoginCookie replaces whatever the cookie held with the new login's
// token and extra values (a fresh cookie: nothing from before the login
// survives).
func (s *Server) setLoginCookie(w http.ResponseWriter, r *http.Request, token string, extra map[string]any) error {
	sess := s.cookie(r)
	for k := range sess.Values {
		delete(sess.Values, k)
	}
	for k, v := range extra {
		sess.Values[k] = v
	}
	sess.Values["token"] = token
	if err := sess.Save(r, w); err != nil {
		return fmt.Errorf("save cookie: %w", err)
	}
	return nil
}

// logout ends the login and clears the cookie (POST /logout). A login made
// through an OIDC method whose provider advertises an end-session endpoint
// continues there (with id_token_hint and post_logout_redirect_uri).
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	sess := s.cookie(r)
	var to string
	if _, l, err := s.store.LoginByToken(r.Context(), tokenOf(sess)); err == nil {
		idToken, _ := sess.Values[ckIDToken].(string)
		to = s.endSessionURL(r, l, idToken)
	}
	if err := s.store.Logout(r.Context(), tokenOf(sess)); err != nil {
		return err
	}
	sess.Options.MaxAge = -1
	for k := range sess.Values {
		delete(sess.Values, k)
	}
	if err := sess.Save(r, w); err != nil {
		return fmt.Errorf("clear cookie: %w", err)
	}
	if to != "" {
		http.Redirect(w, r, to, http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// healthz answers while the process runs.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz answers 200 when the database answers and the instance hears the
// others' notifications (Config.Listening), 503 otherwise.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.store.Ping(r.Context()); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("database unreachable\n"))
		return
	}
	if s.cfg.Listening != nil && !s.cfg.Listening() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not yet listening for the other instances' notifications\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}
