package handlers

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"gatehouse/models"
	"gatehouse/views"
)

// CLILoginStore is what the browser half of `gatehouse login` needs.
type CLILoginStore interface {
	CreateCLILoginCode(ctx context.Context, a models.Actor, in models.CLILoginRequest) (string, error)
}

// CLILogin serves the consent page of `gatehouse login` (RFC 8252: the CLI
// waits on a loopback redirect with a PKCE challenge).
type CLILogin struct {
	Base
	Store CLILoginStore
	// Lifetime is the CLI token's lifetime (a login's).
	Lifetime time.Duration
}

var cliLoginFields = []string{"redirect_uri", "code_challenge", "code_challenge_method", "state", "name"}

func cliRequest(f views.Form) models.CLILoginRequest {
	return models.CLILoginRequest{RedirectURI: f.V("redirect_uri"), CodeChallenge: f.V("code_challenge"),
		CodeChallengeMethod: f.V("code_challenge_method"), TokenName: f.V("name")}
}

// Show asks the logged-in person whether the CLI may act as them
// (GET /cli/login?redirect_uri=&code_challenge=&code_challenge_method=S256&state=&name=).
// A bad request is shown, never redirected to.
func (h CLILogin) Show(w http.ResponseWriter, r *http.Request) error {
	f := views.Form{Values: map[string]string{}}
	for _, k := range cliLoginFields {
		f.Values[k] = r.URL.Query().Get(k)
	}
	status := http.StatusOK
	if fe := models.FieldErrors(models.ValidateCLILoginRequest(cliRequest(f))); fe != nil {
		f.Errors, status = fe, http.StatusUnprocessableEntity
	}
	w.Header().Set("Cache-Control", "no-store")
	return render(w, r, status, views.CLILoginPage(h.Meta(r, "Log in the CLI", ""), views.CLILoginView{Form: f, Lifetime: views.DurationText(h.Lifetime)}))
}

// Decide sends the person's answer to the CLI's loopback redirect: a
// one-time code, or error=access_denied (POST /cli/login).
func (h CLILogin) Decide(w http.ResponseWriter, r *http.Request) error {
	f := formValues(r, cliLoginFields...)
	in := cliRequest(f)
	if fe := models.FieldErrors(models.ValidateCLILoginRequest(in)); fe != nil {
		f.Errors = fe
		return render(w, r, http.StatusUnprocessableEntity, views.CLILoginPage(h.Meta(r, "Log in the CLI", ""), views.CLILoginView{Form: f}))
	}
	q := url.Values{"state": {f.V("state")}}
	if r.PostFormValue("decision") != "allow" {
		q.Set("error", "access_denied")
	} else {
		code, err := h.Store.CreateCLILoginCode(r.Context(), ActorFrom(r.Context()), in)
		if err != nil {
			return err
		}
		q.Set("code", code)
	}
	http.Redirect(w, r, in.RedirectURI+"?"+q.Encode(), http.StatusSeeOther)
	return nil
}
