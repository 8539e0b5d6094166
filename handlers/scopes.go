package handlers

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"gatehouse/models"
	"gatehouse/views"
)

// ScopeStore is what the scope pages need from the domain.
type ScopeStore interface {
	GetScope(ctx context.Context, a models.Actor, id string) (*models.ScopeItem, error)
	ScopePath(ctx context.Context, a models.Actor, id string) ([]models.Scope, error)
	ListScopes(ctx context.Context, a models.Actor, parentID string, opt models.ListOptions) (models.Page[models.ScopeItem], error)
	CreateScope(ctx context.Context, a models.Actor, parentID string, in models.ScopeInput) (*models.Scope, error)
	UpdateScope(ctx context.Context, a models.Actor, id string, version int, in models.ScopeInput) (*models.Scope, error)
	DeleteScope(ctx context.Context, a models.Actor, id string) error
}

// Scopes serves the organization and project pages.
type Scopes struct {
	Base
	Store ScopeStore
}

var scopeFields = []string{"name", "description", "version"}

// Show renders a scope with its children (GET /scopes/{id}).
func (h Scopes) Show(w http.ResponseWriter, r *http.Request) error {
	ctx, a, id := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")
	sc, err := h.Store.GetScope(ctx, a, id)
	if err != nil {
		return err
	}
	path, err := h.Store.ScopePath(ctx, a, id)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var list models.Page[models.ScopeItem]
	if sc.Type != models.ScopeProject {
		if list, err = h.Store.ListScopes(ctx, a, id, listOptions(q)); err != nil {
			return err
		}
	}
	return renderPage(w, r, views.ScopePage(h.Meta(r, sc.Name, "scopes"), path, sc, list, q), views.ScopeList(sc, list, q))
}

// New renders the form for a child scope (GET /scopes/{id}/new).
func (h Scopes) New(w http.ResponseWriter, r *http.Request) error {
	return h.childForm(w, r, http.StatusOK, views.Form{})
}

func (h Scopes) childForm(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	ctx, a, id := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")
	sc, err := h.Store.GetScope(ctx, a, id)
	if err != nil {
		return err
	}
	if !sc.Actions[models.ActionCreate] {
		return models.ErrForbidden
	}
	path, err := h.Store.ScopePath(ctx, a, id)
	if err != nil {
		return err
	}
	what := "organization"
	if sc.Type == models.ScopeOrg {
		what = "project"
	}
	return render(w, r, status, views.ScopeFormPage(h.Meta(r, "New "+what, "scopes"), path, "New "+what+" in "+sc.Name,
		"/scopes/"+id+"/new", "/scopes/"+id, 0, f))
}

// Create makes a child scope (POST /scopes/{id}/new).
func (h Scopes) Create(w http.ResponseWriter, r *http.Request) error {
	f := formValues(r, scopeFields...)
	sc, err := h.Store.CreateScope(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"),
		models.ScopeInput{Name: f.V("name"), Description: f.V("description")})
	if err == nil {
		return redirect(w, r, "/scopes/"+sc.ID+"?done=created")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return h.childForm(w, r, http.StatusUnprocessableEntity, f)
}

// Edit renders the edit form (GET /scopes/{id}/edit).
func (h Scopes) Edit(w http.ResponseWriter, r *http.Request) error {
	sc, err := h.Store.GetScope(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	f := views.Form{Values: map[string]string{"name": sc.Name, "description": sc.Description}}
	return h.editForm(w, r, http.StatusOK, sc.Version, f)
}

func (h Scopes) editForm(w http.ResponseWriter, r *http.Request, status, version int, f views.Form) error {
	ctx, a, id := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")
	sc, err := h.Store.GetScope(ctx, a, id)
	if err != nil {
		return err
	}
	if !sc.Actions[models.ActionUpdate] {
		return models.ErrForbidden
	}
	path, err := h.Store.ScopePath(ctx, a, id)
	if err != nil {
		return err
	}
	return render(w, r, status, views.ScopeFormPage(h.Meta(r, "Edit "+sc.Name, "scopes"), path, "Edit "+sc.Name,
		"/scopes/"+id+"/edit", "/scopes/"+id, version, f))
}

// Update saves the edit form (POST /scopes/{id}/edit).
func (h Scopes) Update(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	f := formValues(r, scopeFields...)
	_, err := h.Store.UpdateScope(r.Context(), ActorFrom(r.Context()), id, atoi(f.V("version")),
		models.ScopeInput{Name: f.V("name"), Description: f.V("description")})
	if err == nil {
		return redirect(w, r, "/scopes/"+id+"?done=saved")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return h.editForm(w, r, http.StatusUnprocessableEntity, atoi(f.V("version")), f)
}

// ConfirmDelete asks before deleting (GET /scopes/{id}/delete).
func (h Scopes) ConfirmDelete(w http.ResponseWriter, r *http.Request) error {
	ctx, a, id := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")
	sc, err := h.Store.GetScope(ctx, a, id)
	if err != nil {
		return err
	}
	what, warning := "project", "Everything in the project is deleted with it."
	if sc.Type == models.ScopeOrg {
		what, warning = "organization", "Its "+plural(sc.Children, "project", "projects")+", users, auth methods and everything in them are deleted with it."
	}
	return h.confirmDelete(w, r, sc.Actions[models.ActionDelete], deletePage{what, sc.Name, "/scopes/" + sc.ID, warning},
		func() ([]models.Scope, []views.Crumb, error) {
			path, err := h.Store.ScopePath(ctx, a, id)
			if len(path) == 0 {
				return nil, nil, err
			}
			// the scope itself ends the trail as the current page, as on its own page
			return path[:len(path)-1], crumbs(sc.Name, ""), err
		})
}

// Delete deletes a scope (POST /scopes/{id}/delete) and returns to its parent.
func (h Scopes) Delete(w http.ResponseWriter, r *http.Request) error {
	ctx, a, id := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")
	sc, err := h.Store.GetScope(ctx, a, id)
	if err != nil {
		return err
	}
	if err := h.Store.DeleteScope(ctx, a, id); err != nil {
		return err
	}
	parent := models.GlobalScopeID
	if sc.ParentID != nil {
		parent = *sc.ParentID
	}
	return redirect(w, r, "/scopes/"+parent+"?done=deleted")
}
