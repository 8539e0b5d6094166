package handlers

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"gatehouse/models"
	"gatehouse/views"
)

// HostSetStore is what the host set pages need from the domain.
type HostSetStore interface {
	PathStore
	GetHostCatalog(ctx context.Context, a models.Actor, id string) (*models.HostCatalogItem, error)
	GetHostSet(ctx context.Context, a models.Actor, id string) (*models.HostSetItem, error)
	CreateHostSet(ctx context.Context, a models.Actor, catalogID string, in models.HostSetInput, hostIDs []string) (*models.HostSet, error)
	UpdateHostSet(ctx context.Context, a models.Actor, id string, version int, in models.HostSetInput) (*models.HostSet, error)
	DeleteHostSet(ctx context.Context, a models.Actor, id string) error
	AddHostSetMembers(ctx context.Context, a models.Actor, hostSetID string, hostIDs []string) error
	RemoveHostSetMember(ctx context.Context, a models.Actor, hostSetID, hostID string) error
	HostChoices(ctx context.Context, a models.Actor, catalogID string) ([]models.Choice, error)
}

// HostSets serves the host set pages.
type HostSets struct {
	Base
	Store HostSetStore
}

// page loads the catalog of a host set page with its breadcrumbs.
func (h HostSets) page(r *http.Request, catalogID string, tail ...string) (*models.HostCatalogItem, []models.Scope, []views.Crumb, error) {
	ctx, a := r.Context(), ActorFrom(r.Context())
	c, err := h.Store.GetHostCatalog(ctx, a, catalogID)
	if err != nil {
		return nil, nil, nil, err
	}
	path, err := h.Store.ScopePath(ctx, a, c.ScopeID)
	if err != nil {
		return nil, nil, nil, err
	}
	cr := crumbs(append([]string{"Host catalogs", "/scopes/" + c.ScopeID + "/host-catalogs", c.Name, "/host-catalogs/" + c.ID + "/host-sets"}, tail...)...)
	return c, path, cr, nil
}

// Show renders a host set with its hosts (GET /host-sets/{id}).
func (h HostSets) Show(w http.ResponseWriter, r *http.Request) error {
	return h.show(w, r, http.StatusOK, views.Form{Values: map[string]string{}})
}

func (h HostSets) show(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	ctx, a := r.Context(), ActorFrom(r.Context())
	hs, err := h.Store.GetHostSet(ctx, a, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	_, path, cr, err := h.page(r, hs.CatalogID, hs.Name, "")
	if err != nil {
		return err
	}
	choices, err := h.Store.HostChoices(ctx, a, hs.CatalogID)
	if err != nil {
		return err
	}
	return render(w, r, status, views.HostSetPage(h.Meta(r, hs.Name, "scopes"), path, cr, hs, choices, f))
}

// New renders the create form with the catalog's hosts to choose from
// (GET /host-catalogs/{id}/host-sets/new).
func (h HostSets) New(w http.ResponseWriter, r *http.Request) error {
	return h.newForm(w, r, http.StatusOK, views.Form{Values: map[string]string{}})
}

func (h HostSets) newForm(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	c, path, cr, err := h.page(r, chi.URLParam(r, "id"), "New host set", "")
	if err != nil {
		return err
	}
	choices, err := h.Store.HostChoices(r.Context(), ActorFrom(r.Context()), c.ID)
	if err != nil {
		return err
	}
	return render(w, r, status, views.InfraFormPage(h.Meta(r, "New host set", "scopes"), path, cr, "New host set in "+c.Name, "host-set-form",
		"/host-catalogs/"+c.ID+"/host-sets/new", "/host-catalogs/"+c.ID+"/host-sets", 0, f,
		views.MultiSelect(f, "host_ids", "Hosts", "Optional; hosts can be added later.", choices)))
}

// Create makes a host set (POST /host-catalogs/{id}/host-sets/new).
func (h HostSets) Create(w http.ResponseWriter, r *http.Request) error {
	f := formValues(r, nameDescFields...)
	hostIDs := multiValues(r, &f, "host_ids")
	hs, err := h.Store.CreateHostSet(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"),
		models.HostSetInput{Name: f.V("name"), Description: f.V("description")}, hostIDs)
	if err == nil {
		return redirect(w, r, "/host-sets/"+hs.ID+"?done=created")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return h.newForm(w, r, http.StatusUnprocessableEntity, f)
}

// Edit renders the edit form (GET /host-sets/{id}/edit).
func (h HostSets) Edit(w http.ResponseWriter, r *http.Request) error {
	return h.editForm(w, r, http.StatusOK, views.Form{})
}

func (h HostSets) editForm(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	hs, err := h.Store.GetHostSet(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	if !hs.Actions[models.ActionUpdate] {
		return models.ErrForbidden
	}
	version := hs.Version
	if f.Values == nil {
		f = nameDesc(hs.Name, hs.Description)
	} else {
		version = atoi(f.V("version"))
	}
	_, path, cr, err := h.page(r, hs.CatalogID, hs.Name, "/host-sets/"+hs.ID, "Edit", "")
	if err != nil {
		return err
	}
	return render(w, r, status, views.InfraFormPage(h.Meta(r, "Edit "+hs.Name, "scopes"), path, cr, "Edit "+hs.Name, "host-set-form",
		"/host-sets/"+hs.ID+"/edit", "/host-sets/"+hs.ID, version, f, nil))
}

// Update saves the edit form (POST /host-sets/{id}/edit).
func (h HostSets) Update(w http.ResponseWriter, r *http.Request) error {
	id, f := chi.URLParam(r, "id"), formValues(r, nameDescFields...)
	_, err := h.Store.UpdateHostSet(r.Context(), ActorFrom(r.Context()), id, atoi(f.V("version")),
		models.HostSetInput{Name: f.V("name"), Description: f.V("description")})
	if err == nil {
		return redirect(w, r, "/host-sets/"+id+"?done=saved")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return h.editForm(w, r, http.StatusUnprocessableEntity, f)
}

// AddHosts adds members (POST /host-sets/{id}/hosts).
func (h HostSets) AddHosts(w http.ResponseWriter, r *http.Request) error {
	id, f := chi.URLParam(r, "id"), formValues(r)
	err := h.Store.AddHostSetMembers(r.Context(), ActorFrom(r.Context()), id, multiValues(r, &f, "host_ids"))
	if err == nil {
		return redirect(w, r, "/host-sets/"+id+"?done=saved")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return h.show(w, r, http.StatusUnprocessableEntity, f)
}

// RemoveHost removes a member (POST /host-sets/{id}/hosts/{host}/remove).
func (h HostSets) RemoveHost(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if err := h.Store.RemoveHostSetMember(r.Context(), ActorFrom(r.Context()), id, chi.URLParam(r, "host")); err != nil {
		return err
	}
	return redirect(w, r, "/host-sets/"+id+"?done=removed")
}

// ConfirmDelete asks before deleting (GET /host-sets/{id}/delete).
func (h HostSets) ConfirmDelete(w http.ResponseWriter, r *http.Request) error {
	hs, err := h.Store.GetHostSet(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	href := "/host-sets/" + hs.ID
	return h.confirmDelete(w, r, hs.Actions[models.ActionDelete],
		deletePage{"host set", hs.Name, href, "The host set leaves every target that uses it as a host source; its hosts stay."},
		func() ([]models.Scope, []views.Crumb, error) {
			_, path, cr, err := h.page(r, hs.CatalogID, hs.Name, href, "Delete", "")
			return path, cr, err
		})
}

// Delete deletes a host set (POST /host-sets/{id}/delete).
func (h HostSets) Delete(w http.ResponseWriter, r *http.Request) error {
	ctx, a, id := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")
	hs, err := h.Store.GetHostSet(ctx, a, id)
	if err != nil {
		return err
	}
	if err := h.Store.DeleteHostSet(ctx, a, id); err != nil {
		return err
	}
	return redirect(w, r, "/host-catalogs/"+hs.CatalogID+"/host-sets?done=deleted")
}
