package handlers

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"gatehouse/models"
	"gatehouse/views"
)

// UserStore is what the user pages need from the domain.
type UserStore interface {
	ListUsers(ctx context.Context, a models.Actor, scopeID string, opt models.ListOptions) (models.Page[models.UserItem], error)
	GetUser(ctx context.Context, a models.Actor, id string) (*models.UserDetail, error)
	MyRoles(ctx context.Context, a models.Actor) ([]models.MyRole, error)
	CreateUser(ctx context.Context, a models.Actor, scopeID string, in models.UserInput) (*models.User, error)
	UpdateUser(ctx context.Context, a models.Actor, id string, version int, in models.UserInput) (*models.User, error)
	DeleteUser(ctx context.Context, a models.Actor, id string) error
	DeleteAccount(ctx context.Context, a models.Actor, accountID string) error
	ClearLoginLock(ctx context.Context, a models.Actor, accountID string) error
	AllScopes(ctx context.Context, a models.Actor) ([]models.Scope, error)
	ScopesToCreate(ctx context.Context, a models.Actor, resourceType string) ([]models.Scope, error)
}

// Users serves the user administration pages and the own-account page.
type Users struct {
	Base
	Store UserStore
}

var userFields = []string{"scope_id", "name", "full_name", "email", "description", "login_name", "password", "version"}

func userInput(f views.Form) models.UserInput {
	return models.UserInput{Name: f.V("name"), FullName: f.V("full_name"), Email: f.V("email"), Description: f.V("description"),
		LoginName: f.V("login_name"), Password: f.V("password")}
}

// List renders the users list (GET /users).
func (h Users) List(w http.ResponseWriter, r *http.Request) error {
	ctx, a, q := r.Context(), ActorFrom(r.Context()), r.URL.Query()
	list, err := h.Store.ListUsers(ctx, a, q.Get("scope"), listOptions(q))
	if err != nil {
		return err
	}
	scopes, err := h.Store.AllScopes(ctx, a)
	if err != nil {
		return err
	}
	return renderPage(w, r, views.UsersPage(h.Meta(r, "Users", "users"), list, q, scopes), views.UserList(list, q))
}

// Show renders one user (GET /users/{id}).
func (h Users) Show(w http.ResponseWriter, r *http.Request) error {
	u, err := h.Store.GetUser(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, views.UserPage(h.Meta(r, u.DisplayName(), "users"), u))
}

// New renders the create form (GET /users/new).
func (h Users) New(w http.ResponseWriter, r *http.Request) error {
	f := views.Form{Values: map[string]string{"scope_id": r.URL.Query().Get("scope")}}
	return h.newForm(w, r, http.StatusOK, f)
}

func (h Users) newForm(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	scopes, err := h.Store.ScopesToCreate(r.Context(), ActorFrom(r.Context()), "user")
	if err != nil {
		return err
	}
	return render(w, r, status, views.UserFormPage(h.Meta(r, "New user", "users"), "New user", "/users/new", "/users", 0, true, scopes, f))
}

// Create makes a user (POST /users/new).
func (h Users) Create(w http.ResponseWriter, r *http.Request) error {
	f := formValues(r, userFields...)
	u, err := h.Store.CreateUser(r.Context(), ActorFrom(r.Context()), f.V("scope_id"), userInput(f))
	if err == nil {
		return redirect(w, r, "/users/"+u.ID+"?done=created")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return h.newForm(w, r, http.StatusUnprocessableEntity, f)
}

// Edit renders the edit form (GET /users/{id}/edit).
func (h Users) Edit(w http.ResponseWriter, r *http.Request) error {
	u, err := h.Store.GetUser(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	if !u.Actions[models.ActionUpdate] {
		return models.ErrForbidden
	}
	f := views.Form{Values: map[string]string{"name": u.Name, "full_name": u.FullName, "email": u.Email, "description": u.Description}}
	for _, ac := range u.Accounts {
		if ac.LoginName != nil && ac.MethodType == models.AuthMethodPassword {
			f.Values["login_name"] = *ac.LoginName
		}
	}
	return render(w, r, http.StatusOK, views.UserFormPage(h.Meta(r, "Edit "+u.DisplayName(), "users"), "Edit "+u.DisplayName(),
		"/users/"+u.ID+"/edit", "/users/"+u.ID, u.Version, false, nil, f))
}

// Update saves the edit form (POST /users/{id}/edit).
func (h Users) Update(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	f := formValues(r, userFields...)
	_, err := h.Store.UpdateUser(r.Context(), ActorFrom(r.Context()), id, atoi(f.V("version")), userInput(f))
	if err == nil {
		return redirect(w, r, "/users/"+id+"?done=saved")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	f.Values["password"] = ""
	return render(w, r, http.StatusUnprocessableEntity, views.UserFormPage(h.Meta(r, "Edit user", "users"), "Edit user",
		"/users/"+id+"/edit", "/users/"+id, atoi(f.V("version")), false, nil, f))
}

// ConfirmDelete asks before deleting (GET /users/{id}/delete).
func (h Users) ConfirmDelete(w http.ResponseWriter, r *http.Request) error {
	u, err := h.Store.GetUser(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return h.confirmDeleteIn(w, r, "users", u.Actions[models.ActionDelete], deletePage{"user", u.DisplayName(), "/users/" + u.ID,
		"Its accounts are deleted and its logins end at once."}, withoutCrumbs)
}

// Delete deletes a user (POST /users/{id}/delete).
func (h Users) Delete(w http.ResponseWriter, r *http.Request) error {
	if err := h.Store.DeleteUser(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")); err != nil {
		return err
	}
	return redirect(w, r, "/users?done=deleted")
}

// DeleteAccount removes an account (POST /users/{id}/accounts/{account}/delete).
func (h Users) DeleteAccount(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if err := h.Store.DeleteAccount(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "account")); err != nil {
		return err
	}
	return redirect(w, r, "/users/"+id+"?done=removed")
}

// ClearLock forgets an account's failed password attempts (POST
// /users/{id}/accounts/{account}/unlock).
func (h Users) ClearLock(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if err := h.Store.ClearLoginLock(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "account")); err != nil {
		return err
	}
	return redirect(w, r, "/users/"+id+"?done=unlocked")
}
