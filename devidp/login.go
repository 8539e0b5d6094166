package devidp

import (
	"bytes"
	"html/template"
	"net/http"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// The pages are plain semantic HTML: no script, no style element or attribute, so
// they render under the host's strict Content-Security-Policy.
var pages = template.Must(template.New("layout").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · Gatehouse dev identity provider</title>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{- if .Form}}
<p>Development identity provider. Sign in with a seeded person.</p>
{{- if .Failed}}
<p role="alert" data-testid="login-error">Wrong username or password.</p>
{{- end}}
<form method="post" action="{{.Action}}" data-testid="login-form">
<input type="hidden" name="authRequestID" value="{{.ID}}">
<p><label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" required autofocus value="{{.Username}}"></p>
<p><label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit">Sign in</button></p>
</form>
{{- else}}
<p data-testid="idp-message">{{.Message}}</p>
{{- end}}
</main>
</body>
</html>
`))

// page is the data of the one template above.
type page struct {
	Title    string
	Form     bool
	Failed   bool
	Action   string
	ID       string
	Username string
	Message  string
}

// expiredPage is shown for an unknown, expired or already completed login attempt.
var expiredPage = page{
	Title:   "Sign-in expired",
	Message: "This sign-in attempt is unknown or has expired. Go back to the application and sign in again.",
}

// serveLogin shows the login form for an auth request (GET) and checks the
// credentials (POST). On success it completes the auth request and sends the browser
// to op's callback, which redirects to the client with a code.
func (p *Provider) serveLogin(w http.ResponseWriter, r *http.Request) {
	form := page{Title: "Sign in", Form: true, Action: p.prefix + loginPath}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		form.ID = r.URL.Query().Get("authRequestID")
		if !p.store.requestLive(form.ID) {
			p.render(w, http.StatusBadRequest, expiredPage)
			return
		}
		p.render(w, http.StatusOK, form)
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		form.ID = r.PostForm.Get("authRequestID")
		form.Username = r.PostForm.Get("username")
		if !p.store.requestLive(form.ID) {
			p.render(w, http.StatusBadRequest, expiredPage)
			return
		}
		subject, ok := p.store.checkPassword(form.Username, r.PostForm.Get("password"))
		if !ok {
			p.logger.Info("dev idp login failed", "username", form.Username)
			form.Failed = true
			p.render(w, http.StatusUnauthorized, form)
			return
		}
		if err := p.store.completeLogin(form.ID, subject); err != nil {
			p.render(w, http.StatusBadRequest, expiredPage)
			return
		}
		p.logger.Info("dev idp login", "username", form.Username, "subject", subject)
		callback := op.AuthCallbackURL(p.op)(op.ContextWithIssuer(r.Context(), p.issuer), form.ID)
		http.Redirect(w, r, callback, http.StatusSeeOther)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// serveLoggedOut is where end_session lands when no post_logout_redirect_uri was given.
func (p *Provider) serveLoggedOut(w http.ResponseWriter, _ *http.Request) {
	p.render(w, http.StatusOK, page{
		Title:   "Signed out",
		Message: "You are signed out of the dev identity provider.",
	})
}

// render writes a page, never caching it.
func (p *Provider) render(w http.ResponseWriter, status int, data page) {
	var buf bytes.Buffer
	if err := pages.Execute(&buf, data); err != nil {
		p.logger.Error("dev idp render page", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}
