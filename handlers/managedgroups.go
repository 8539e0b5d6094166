package handlers

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"gatehouse/models"
	"gatehouse/views"
)

// ManagedGroupStore is what the managed group pages need from the domain.
type ManagedGroupStore interface {
	GetOIDCMethod(ctx context.Context, a models.Actor, id string) (*models.OIDCMethod, error)
	GetManagedGroup(ctx context.Context, a models.Actor, id string) (*models.ManagedGroupDetail, error)
	CreateManagedGroup(ctx context.Context, a models.Actor, methodID string, in models.ManagedGroupInput) (*models.ManagedGroup, error)
	UpdateManagedGroup(ctx context.Context, a models.Actor, id string, version int, in models.ManagedGroupInput) error
	DeleteManagedGroup(ctx context.Context, a models.Actor, id string) error
}

// ManagedGroups serves the managed group pages of OIDC auth methods.
type ManagedGroups struct {
	Base
	Store ManagedGroupStore
}

var managedGroupFields = []string{"name", "description", "filter", "version"}

func managedGroupInput(f views.Form) models.ManagedGroupInput {
	return models.ManagedGroupInput{Name: f.V("name"), Description: f.V("description"), Filter: f.V("filter")}
}

// Show renders a managed group with its members (GET /managed-groups/{id}).
func (h ManagedGroups) Show(w http.ResponseWriter, r *http.Request) error {
	g, err := h.Store.GetManagedGroup(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, views.ManagedGroupPage(h.Meta(r, g.Name, "auth-methods"), g))
}

// New renders the create form (GET /auth-methods/{id}/managed-groups/new).
func (h ManagedGroups) New(w http.ResponseWriter, r *http.Request) error {
	return h.newForm(w, r, http.StatusOK, views.Form{})
}

func (h ManagedGroups) newForm(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	m, err := h.Store.GetOIDCMethod(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	heading := "New managed group of " + m.Name
	return render(w, r, status, views.ManagedGroupFormPage(h.Meta(r, heading, "auth-methods"), heading,
		"/auth-methods/"+m.ID+"/managed-groups/new", "/auth-methods/"+m.ID, 0, f))
}

// Create adds a managed group (POST /auth-methods/{id}/managed-groups/new).
func (h ManagedGroups) Create(w http.ResponseWriter, r *http.Request) error {
	f := formValues(r, managedGroupFields...)
	g, err := h.Store.CreateManagedGroup(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"), managedGroupInput(f))
	if err == nil {
		return redirect(w, r, "/managed-groups/"+g.ID+"?done=created")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return h.newForm(w, r, http.StatusUnprocessableEntity, f)
}

// Edit renders the edit form (GET /managed-groups/{id}/edit).
func (h ManagedGroups) Edit(w http.ResponseWriter, r *http.Request) error {
	g, err := h.Store.GetManagedGroup(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	if !g.Actions[models.ActionUpdate] {
		return models.ErrForbidden
	}
	f := views.Form{Values: map[string]string{"name": g.Name, "description": g.Description, "filter": g.Filter}}
	return render(w, r, http.StatusOK, views.ManagedGroupFormPage(h.Meta(r, "Edit "+g.Name, "auth-methods"), "Edit "+g.Name,
		"/managed-groups/"+g.ID+"/edit", "/managed-groups/"+g.ID, g.Version, f))
}

// Update saves the edit form (POST /managed-groups/{id}/edit).
func (h ManagedGroups) Update(w http.ResponseWriter, r *http.Request) error {
	id, f := chi.URLParam(r, "id"), formValues(r, managedGroupFields...)
	err := h.Store.UpdateManagedGroup(r.Context(), ActorFrom(r.Context()), id, atoi(f.V("version")), managedGroupInput(f))
	if err == nil {
		return redirect(w, r, "/managed-groups/"+id+"?done=saved")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return render(w, r, http.StatusUnprocessableEntity, views.ManagedGroupFormPage(h.Meta(r, "Edit managed group", "auth-methods"),
		"Edit managed group", "/managed-groups/"+id+"/edit", "/managed-groups/"+id, atoi(f.V("version")), f))
}

// ConfirmDelete asks before deleting (GET /managed-groups/{id}/delete).
func (h ManagedGroups) ConfirmDelete(w http.ResponseWriter, r *http.Request) error {
	g, err := h.Store.GetManagedGroup(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return h.confirmDeleteIn(w, r, "auth-methods", g.Actions[models.ActionDelete], deletePage{"managed group", g.Name, "/managed-groups/" + g.ID,
		"Its members lose whatever roles the group gave them."}, withoutCrumbs)
}

// Delete deletes a managed group (POST /managed-groups/{id}/delete).
func (h ManagedGroups) Delete(w http.ResponseWriter, r *http.Request) error {
	ctx, a, id := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")
	g, err := h.Store.GetManagedGroup(ctx, a, id)
	if err != nil {
		return err
	}
	if err := h.Store.DeleteManagedGroup(ctx, a, id); err != nil {
		return err
	}
	return redirect(w, r, "/auth-methods/"+g.AuthMethodID+"?done=deleted")
}
