package handlers

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"gatehouse/models"
	"gatehouse/views"
)

// GroupStore is what the group pages need from the domain.
type GroupStore interface {
	ListGroups(ctx context.Context, a models.Actor, scopeID string, opt models.ListOptions) (models.Page[models.GroupItem], error)
	GetGroup(ctx context.Context, a models.Actor, id string) (*models.GroupDetail, error)
	CreateGroup(ctx context.Context, a models.Actor, scopeID string, in models.GroupInput) (*models.Group, error)
	UpdateGroup(ctx context.Context, a models.Actor, id string, version int, in models.GroupInput) (*models.Group, error)
	DeleteGroup(ctx context.Context, a models.Actor, id string) error
	AddGroupMembers(ctx context.Context, a models.Actor, id string, userIDs []string) error
	RemoveGroupMembers(ctx context.Context, a models.Actor, id string, userIDs []string) error
	ListUsers(ctx context.Context, a models.Actor, scopeID string, opt models.ListOptions) (models.Page[models.UserItem], error)
	AllScopes(ctx context.Context, a models.Actor) ([]models.Scope, error)
	ScopesToCreate(ctx context.Context, a models.Actor, resourceType string) ([]models.Scope, error)
}

// Groups serves the group administration pages.
type Groups struct {
	Base
	Store GroupStore
}

var groupFields = []string{"scope_id", "name", "description", "version"}

// List renders the groups list (GET /groups?scope=&q=&page=).
func (h Groups) List(w http.ResponseWriter, r *http.Request) error {
	ctx, a, q := r.Context(), ActorFrom(r.Context()), r.URL.Query()
	list, err := h.Store.ListGroups(ctx, a, q.Get("scope"), listOptions(q))
	if err != nil {
		return err
	}
	scopes, err := h.Store.AllScopes(ctx, a)
	if err != nil {
		return err
	}
	return renderPage(w, r, views.GroupsPage(h.Meta(r, "Groups", "groups"), list, q, scopes), views.GroupList(list, q))
}

// Show renders a group with its members and a member picker (GET /groups/{id}?q=).
func (h Groups) Show(w http.ResponseWriter, r *http.Request) error {
	return h.show(w, r, http.StatusOK, views.Form{})
}

func (h Groups) show(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	ctx, a := r.Context(), ActorFrom(r.Context())
	g, err := h.Store.GetGroup(ctx, a, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	var users models.Page[models.UserItem]
	if g.Actions[models.ActionAddMembers] {
		if users, err = h.Store.ListUsers(ctx, a, "", models.ListOptions{Search: r.URL.Query().Get("q"), PerPage: 50}); err != nil {
			return err
		}
	}
	return render(w, r, status, views.GroupPage(h.Meta(r, g.Name, "groups"), g, users, r.URL.Query().Get("q"), f))
}

// New renders the create form (GET /groups/new).
func (h Groups) New(w http.ResponseWriter, r *http.Request) error {
	return h.form(w, r, http.StatusOK, "New group", "/groups/new", 0, views.Form{Values: map[string]string{"scope_id": r.URL.Query().Get("scope")}})
}

func (h Groups) form(w http.ResponseWriter, r *http.Request, status int, heading, action string, version int, f views.Form) error {
	var scopes []models.Scope
	if action == "/groups/new" { // only where the person may create one
		var err error
		if scopes, err = h.Store.ScopesToCreate(r.Context(), ActorFrom(r.Context()), "group"); err != nil {
			return err
		}
	}
	return render(w, r, status, views.GroupFormPage(h.Meta(r, heading, "groups"), heading, action, version, action == "/groups/new", scopes, f))
}

// Create makes a group (POST /groups/new).
func (h Groups) Create(w http.ResponseWriter, r *http.Request) error {
	f := formValues(r, groupFields...)
	g, err := h.Store.CreateGroup(r.Context(), ActorFrom(r.Context()), f.V("scope_id"), models.GroupInput{Name: f.V("name"), Description: f.V("description")})
	if err == nil {
		return redirect(w, r, "/groups/"+g.ID+"?done=created")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return h.form(w, r, http.StatusUnprocessableEntity, "New group", "/groups/new", 0, f)
}

// Edit renders the edit form (GET /groups/{id}/edit).
func (h Groups) Edit(w http.ResponseWriter, r *http.Request) error {
	g, err := h.Store.GetGroup(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	if !g.Actions[models.ActionUpdate] {
		return models.ErrForbidden
	}
	f := views.Form{Values: map[string]string{"name": g.Name, "description": g.Description}}
	return h.form(w, r, http.StatusOK, "Edit "+g.Name, "/groups/"+g.ID+"/edit", g.Version, f)
}

// Update saves the edit form (POST /groups/{id}/edit).
func (h Groups) Update(w http.ResponseWriter, r *http.Request) error {
	id, f := chi.URLParam(r, "id"), formValues(r, groupFields...)
	_, err := h.Store.UpdateGroup(r.Context(), ActorFrom(r.Context()), id, atoi(f.V("version")), models.GroupInput{Name: f.V("name"), Description: f.V("description")})
	if err == nil {
		return redirect(w, r, "/groups/"+id+"?done=saved")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return h.form(w, r, http.StatusUnprocessableEntity, "Edit group", "/groups/"+id+"/edit", atoi(f.V("version")), f)
}

// ConfirmDelete asks before deleting (GET /groups/{id}/delete).
func (h Groups) ConfirmDelete(w http.ResponseWriter, r *http.Request) error {
	g, err := h.Store.GetGroup(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return h.confirmDeleteIn(w, r, "groups", g.Actions[models.ActionDelete], deletePage{"group", g.Name, "/groups/" + g.ID,
		"Its members lose the roles they held through it."}, withoutCrumbs)
}

// Delete deletes a group (POST /groups/{id}/delete).
func (h Groups) Delete(w http.ResponseWriter, r *http.Request) error {
	if err := h.Store.DeleteGroup(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")); err != nil {
		return err
	}
	return redirect(w, r, "/groups?done=deleted")
}

// AddMembers adds the chosen users (POST /groups/{id}/members/add, user_id repeated).
func (h Groups) AddMembers(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	_ = r.ParseForm()
	err := h.Store.AddGroupMembers(r.Context(), ActorFrom(r.Context()), id, r.PostForm["user_id"])
	if err == nil {
		return redirect(w, r, "/groups/"+id+"?done=saved")
	}
	f, err := withErrors(views.Form{}, err)
	if err != nil {
		return err
	}
	return h.show(w, r, http.StatusUnprocessableEntity, f)
}

// RemoveMember removes one user (POST /groups/{id}/members/remove, user_id).
func (h Groups) RemoveMember(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if err := h.Store.RemoveGroupMembers(r.Context(), ActorFrom(r.Context()), id, []string{r.PostFormValue("user_id")}); err != nil {
		return err
	}
	return redirect(w, r, "/groups/"+id+"?done=removed")
}
