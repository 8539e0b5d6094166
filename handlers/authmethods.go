package handlers

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"gatehouse/models"
	"gatehouse/views"
)

// AuthMethodStore is what the auth method pages need from the domain.
type AuthMethodStore interface {
	ListAuthMethods(ctx context.Context, a models.Actor, scopeID string, opt models.ListOptions) (models.Page[models.AuthMethodItem], error)
	GetOIDCMethod(ctx context.Context, a models.Actor, id string) (*models.OIDCMethod, error)
	CreateOIDCMethod(ctx context.Context, a models.Actor, scopeID string, in models.OIDCMethodInput) (*models.OIDCMethod, error)
	UpdateOIDCMethod(ctx context.Context, a models.Actor, id string, version int, in models.OIDCMethodInput) (*models.OIDCMethod, error)
	ChangeAuthMethodState(ctx context.Context, a models.Actor, id string, version int, state string) error
	DeleteAuthMethod(ctx context.Context, a models.Actor, id string) error
	ListManagedGroups(ctx context.Context, a models.Actor, methodID string, opt models.ListOptions) (models.Page[models.ManagedGroupItem], error)
	AllScopes(ctx context.Context, a models.Actor) ([]models.Scope, error)
	ScopesToCreate(ctx context.Context, a models.Actor, resourceType string) ([]models.Scope, error)
}

// AuthMethods serves the OIDC auth method administration pages.
type AuthMethods struct {
	Base
	Store AuthMethodStore
	// CallbackURL is the redirect URI admins register at their provider.
	CallbackURL string
}

var oidcFields = []string{"scope_id", "name", "description", "issuer", "client_id", "client_secret", "claims_scopes",
	"allowed_audiences", "signing_algorithms", "max_age", "prompts", "name_claim", "email_claim", "primary", "version"}

func oidcInput(f views.Form) models.OIDCMethodInput {
	return models.OIDCMethodInput{Name: f.V("name"), Description: f.V("description"), Issuer: f.V("issuer"),
		ClientID: f.V("client_id"), ClientSecret: f.V("client_secret"), ClaimsScopes: f.V("claims_scopes"),
		AllowedAudiences: f.V("allowed_audiences"), SigningAlgorithms: f.V("signing_algorithms"), MaxAge: f.V("max_age"),
		Prompts: f.V("prompts"), NameClaim: f.V("name_claim"), EmailClaim: f.V("email_claim"), Primary: f.Checked("primary")}
}

// List renders the auth methods (GET /auth-methods?q=&scope=&page=).
func (h AuthMethods) List(w http.ResponseWriter, r *http.Request) error {
	ctx, a, q := r.Context(), ActorFrom(r.Context()), r.URL.Query()
	list, err := h.Store.ListAuthMethods(ctx, a, q.Get("scope"), listOptions(q))
	if err != nil {
		return err
	}
	scopes, err := h.Store.AllScopes(ctx, a)
	if err != nil {
		return err
	}
	return renderPage(w, r, views.AuthMethodsPage(h.Meta(r, "Auth methods", "auth-methods"), list, q, scopes), views.AuthMethodList(list, q))
}

// Show renders an OIDC auth method with its managed groups (GET /auth-methods/{id}).
func (h AuthMethods) Show(w http.ResponseWriter, r *http.Request) error {
	ctx, a, q := r.Context(), ActorFrom(r.Context()), r.URL.Query()
	m, err := h.Store.GetOIDCMethod(ctx, a, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	groups, err := h.Store.ListManagedGroups(ctx, a, m.ID, listOptions(q))
	if err != nil {
		return err
	}
	return renderPage(w, r, views.AuthMethodPage(h.Meta(r, m.Name, "auth-methods"), m, h.CallbackURL, groups, q, views.Form{}),
		views.ManagedGroupList(m, groups, q))
}

// New renders the create form (GET /auth-methods/new?scope=).
func (h AuthMethods) New(w http.ResponseWriter, r *http.Request) error {
	f := views.Form{Values: map[string]string{"scope_id": r.URL.Query().Get("scope"), "signing_algorithms": "RS256",
		"name_claim": "name", "email_claim": "email", "claims_scopes": "profile email"}}
	return h.newForm(w, r, http.StatusOK, f)
}

func (h AuthMethods) newForm(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	scopes, err := h.Store.ScopesToCreate(r.Context(), ActorFrom(r.Context()), "auth-method")
	if err != nil {
		return err
	}
	return render(w, r, status, views.OIDCFormPage(h.Meta(r, "New OIDC auth method", "auth-methods"), "New OIDC auth method",
		"/auth-methods/new", "/auth-methods", 0, true, scopes, h.CallbackURL, f))
}

// Create adds an OIDC auth method (POST /auth-methods/new).
func (h AuthMethods) Create(w http.ResponseWriter, r *http.Request) error {
	f := formValues(r, oidcFields...)
	m, err := h.Store.CreateOIDCMethod(r.Context(), ActorFrom(r.Context()), f.V("scope_id"), oidcInput(f))
	if err == nil {
		return redirect(w, r, "/auth-methods/"+m.ID+"?done=created")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	f.Values["client_secret"] = ""
	return h.newForm(w, r, http.StatusUnprocessableEntity, f)
}

// Edit renders the edit form (GET /auth-methods/{id}/edit).
func (h AuthMethods) Edit(w http.ResponseWriter, r *http.Request) error {
	m, err := h.Store.GetOIDCMethod(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	if !m.Actions[models.ActionUpdate] {
		return models.ErrForbidden
	}
	f := views.Form{Values: map[string]string{"name": m.Name, "description": m.Description, "issuer": m.Issuer,
		"client_id": m.ClientID, "claims_scopes": strings.Join(m.ClaimsScopes, " "), "allowed_audiences": strings.Join(m.AllowedAudiences, " "),
		"signing_algorithms": strings.Join(m.SigningAlgorithms, " "), "prompts": strings.Join(m.Prompts, " "),
		"name_claim": m.NameClaim, "email_claim": m.EmailClaim}}
	if m.MaxAge >= 0 {
		f.Values["max_age"] = strconv.Itoa(m.MaxAge)
	}
	if m.IsPrimary {
		f.Values["primary"] = "on"
	}
	return h.editForm(w, r, http.StatusOK, m.ID, m.Version, f)
}

func (h AuthMethods) editForm(w http.ResponseWriter, r *http.Request, status int, id string, version int, f views.Form) error {
	return render(w, r, status, views.OIDCFormPage(h.Meta(r, "Edit auth method", "auth-methods"), "Edit auth method",
		"/auth-methods/"+id+"/edit", "/auth-methods/"+id, version, false, nil, h.CallbackURL, f))
}

// Update saves the edit form (POST /auth-methods/{id}/edit).
func (h AuthMethods) Update(w http.ResponseWriter, r *http.Request) error {
	id, f := chi.URLParam(r, "id"), formValues(r, oidcFields...)
	_, err := h.Store.UpdateOIDCMethod(r.Context(), ActorFrom(r.Context()), id, atoi(f.V("version")), oidcInput(f))
	if err == nil {
		return redirect(w, r, "/auth-methods/"+id+"?done=saved")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	f.Values["client_secret"] = ""
	return h.editForm(w, r, http.StatusUnprocessableEntity, id, atoi(f.V("version")), f)
}

// ChangeState moves the method to another state (POST /auth-methods/{id}/state);
// a failed provider check re-renders the page with the exact reason.
func (h AuthMethods) ChangeState(w http.ResponseWriter, r *http.Request) error {
	ctx, a, id := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")
	f := formValues(r, "state", "version")
	err := h.Store.ChangeAuthMethodState(ctx, a, id, atoi(f.V("version")), f.V("state"))
	if err == nil {
		return redirect(w, r, "/auth-methods/"+id+"?done=saved")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	m, err := h.Store.GetOIDCMethod(ctx, a, id)
	if err != nil {
		return err
	}
	groups, err := h.Store.ListManagedGroups(ctx, a, id, models.ListOptions{})
	if err != nil {
		return err
	}
	return render(w, r, http.StatusUnprocessableEntity, views.AuthMethodPage(h.Meta(r, m.Name, "auth-methods"), m, h.CallbackURL, groups, r.URL.Query(), f))
}

// ConfirmDelete asks before deleting (GET /auth-methods/{id}/delete).
func (h AuthMethods) ConfirmDelete(w http.ResponseWriter, r *http.Request) error {
	m, err := h.Store.GetOIDCMethod(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return h.confirmDeleteIn(w, r, "auth-methods", m.Actions[models.ActionDelete], deletePage{"auth method", m.Name, "/auth-methods/" + m.ID,
		"Its accounts and managed groups are deleted and logins made through it end at once."}, withoutCrumbs)
}

// Delete deletes an OIDC auth method (POST /auth-methods/{id}/delete).
func (h AuthMethods) Delete(w http.ResponseWriter, r *http.Request) error {
	if err := h.Store.DeleteAuthMethod(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")); err != nil {
		return err
	}
	return redirect(w, r, "/auth-methods?done=deleted")
}
