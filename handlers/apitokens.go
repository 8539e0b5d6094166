package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"gatehouse/models"
	"gatehouse/views"
)

// APITokenStore is what the account page's API tokens need.
type APITokenStore interface {
	ListAPITokens(ctx context.Context, a models.Actor) ([]models.APIToken, error)
	CreateAPIToken(ctx context.Context, a models.Actor, in models.APITokenInput) (*models.NewAPIToken, error)
	RevokeAPIToken(ctx context.Context, a models.Actor, id string) error
}

// APITokens serves the API tokens section of the account page.
type APITokens struct {
	Base
	Store APITokenStore
	Users UserStore
	Now   func() time.Time
}

// Account renders the account page with the person's tokens
// (GET /account).
func (h APITokens) Account(w http.ResponseWriter, r *http.Request) error {
	f := views.Form{Values: map[string]string{"expires_at": h.Now().UTC().AddDate(0, 0, 30).Format(time.DateOnly)}}
	return h.render(w, r, http.StatusOK, views.APITokensView{Form: f})
}

// Create makes a personal token and shows it once (POST /account/tokens).
// The expiry is a UTC day: the token ends as that day starts.
func (h APITokens) Create(w http.ResponseWriter, r *http.Request) error {
	f := formValues(r, "name", "expires_at")
	in := models.APITokenInput{Name: f.V("name")}
	if d, err := time.Parse(time.DateOnly, f.V("expires_at")); err == nil {
		in.ExpiresAt = d
	} else if f.V("expires_at") != "" {
		f.Errors = map[string]string{"expires_at": "Enter a date as YYYY-MM-DD."}
		return h.render(w, r, http.StatusUnprocessableEntity, views.APITokensView{Form: f})
	}
	tok, err := h.Store.CreateAPIToken(r.Context(), ActorFrom(r.Context()), in)
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	if f.HasErrors() {
		return h.render(w, r, http.StatusUnprocessableEntity, views.APITokensView{Form: f})
	}
	w.Header().Set("Cache-Control", "no-store")
	f = views.Form{Values: map[string]string{"expires_at": f.V("expires_at")}}
	return h.render(w, r, http.StatusCreated, views.APITokensView{Form: f, Created: tok})
}

// Revoke revokes one of the person's tokens (POST /account/tokens/{id}/revoke).
func (h APITokens) Revoke(w http.ResponseWriter, r *http.Request) error {
	if err := h.Store.RevokeAPIToken(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")); err != nil {
		return err
	}
	http.Redirect(w, r, "/account?done=removed#api-tokens", http.StatusSeeOther)
	return nil
}

func (h APITokens) render(w http.ResponseWriter, r *http.Request, status int, v views.APITokensView) error {
	a := ActorFrom(r.Context())
	u, err := h.Users.GetUser(r.Context(), a, a.UserID)
	if err != nil {
		return err
	}
	if v.Tokens, err = h.Store.ListAPITokens(r.Context(), a); err != nil {
		return err
	}
	v.Now = h.Now()
	return render(w, r, status, views.AccountPage(h.Meta(r, "My account", "account"), u, v))
}
