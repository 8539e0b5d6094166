package handlers

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"gatehouse/models"
	"gatehouse/views"
)

// HostStore is what the host pages need from the domain.
type HostStore interface {
	PathStore
	GetHostCatalog(ctx context.Context, a models.Actor, id string) (*models.HostCatalogItem, error)
	GetHost(ctx context.Context, a models.Actor, id string) (*models.HostItem, error)
	CreateHost(ctx context.Context, a models.Actor, catalogID string, in models.HostInput) (*models.Host, error)
	UpdateHost(ctx context.Context, a models.Actor, id string, version int, in models.HostInput) (*models.Host, error)
	DeleteHost(ctx context.Context, a models.Actor, id string) error
}

// Hosts serves the host pages.
type Hosts struct {
	Base
	Store HostStore
}

var hostFields = []string{"name", "description", "address", "version"}

func hostInput(f views.Form) models.HostInput {
	return models.HostInput{Name: f.V("name"), Description: f.V("description"), Address: f.V("address")}
}

// page loads the catalog of a host page with its breadcrumbs; tail are more
// label/href pairs after the catalog.
func (h Hosts) page(r *http.Request, catalogID string, tail ...string) (*models.HostCatalogItem, []models.Scope, []views.Crumb, error) {
	ctx, a := r.Context(), ActorFrom(r.Context())
	c, err := h.Store.GetHostCatalog(ctx, a, catalogID)
	if err != nil {
		return nil, nil, nil, err
	}
	path, err := h.Store.ScopePath(ctx, a, c.ScopeID)
	if err != nil {
		return nil, nil, nil, err
	}
	cr := crumbs(append([]string{"Host catalogs", "/scopes/" + c.ScopeID + "/host-catalogs", c.Name, "/host-catalogs/" + c.ID}, tail...)...)
	return c, path, cr, nil
}

// Show renders a host (GET /hosts/{id}).
func (h Hosts) Show(w http.ResponseWriter, r *http.Request) error {
	host, err := h.Store.GetHost(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	_, path, cr, err := h.page(r, host.CatalogID, host.Name, "")
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, views.HostPage(h.Meta(r, host.Name, "scopes"), path, cr, host))
}

// New renders the create form (GET /host-catalogs/{id}/hosts/new).
func (h Hosts) New(w http.ResponseWriter, r *http.Request) error {
	return h.newForm(w, r, http.StatusOK, views.Form{})
}

func (h Hosts) newForm(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	c, path, cr, err := h.page(r, chi.URLParam(r, "id"), "New host", "")
	if err != nil {
		return err
	}
	return render(w, r, status, views.InfraFormPage(h.Meta(r, "New host", "scopes"), path, cr, "New host in "+c.Name, "host-form",
		"/host-catalogs/"+c.ID+"/hosts/new", "/host-catalogs/"+c.ID, 0, f, views.HostFields(f)))
}

// Create adds a host (POST /host-catalogs/{id}/hosts/new).
func (h Hosts) Create(w http.ResponseWriter, r *http.Request) error {
	f := formValues(r, hostFields...)
	host, err := h.Store.CreateHost(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"), hostInput(f))
	if err == nil {
		return redirect(w, r, "/hosts/"+host.ID+"?done=created")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return h.newForm(w, r, http.StatusUnprocessableEntity, f)
}

// Edit renders the edit form (GET /hosts/{id}/edit).
func (h Hosts) Edit(w http.ResponseWriter, r *http.Request) error {
	return h.editForm(w, r, http.StatusOK, views.Form{})
}

func (h Hosts) editForm(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	host, err := h.Store.GetHost(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	if !host.Actions[models.ActionUpdate] {
		return models.ErrForbidden
	}
	version := host.Version
	if f.Values == nil {
		f = views.Form{Values: map[string]string{"name": host.Name, "description": host.Description, "address": host.Address}}
	} else {
		version = atoi(f.V("version"))
	}
	_, path, cr, err := h.page(r, host.CatalogID, host.Name, "/hosts/"+host.ID, "Edit", "")
	if err != nil {
		return err
	}
	return render(w, r, status, views.InfraFormPage(h.Meta(r, "Edit "+host.Name, "scopes"), path, cr, "Edit "+host.Name, "host-form",
		"/hosts/"+host.ID+"/edit", "/hosts/"+host.ID, version, f, views.HostFields(f)))
}

// Update saves the edit form (POST /hosts/{id}/edit).
func (h Hosts) Update(w http.ResponseWriter, r *http.Request) error {
	id, f := chi.URLParam(r, "id"), formValues(r, hostFields...)
	_, err := h.Store.UpdateHost(r.Context(), ActorFrom(r.Context()), id, atoi(f.V("version")), hostInput(f))
	if err == nil {
		return redirect(w, r, "/hosts/"+id+"?done=saved")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return h.editForm(w, r, http.StatusUnprocessableEntity, f)
}

// ConfirmDelete asks before deleting (GET /hosts/{id}/delete).
func (h Hosts) ConfirmDelete(w http.ResponseWriter, r *http.Request) error {
	host, err := h.Store.GetHost(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	href := "/hosts/" + host.ID
	return h.confirmDelete(w, r, host.Actions[models.ActionDelete], deletePage{"host", host.Name, href, "The host leaves every host set it is in."},
		func() ([]models.Scope, []views.Crumb, error) {
			_, path, cr, err := h.page(r, host.CatalogID, host.Name, href, "Delete", "")
			return path, cr, err
		})
}

// Delete deletes a host (POST /hosts/{id}/delete).
func (h Hosts) Delete(w http.ResponseWriter, r *http.Request) error {
	ctx, a, id := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")
	host, err := h.Store.GetHost(ctx, a, id)
	if err != nil {
		return err
	}
	if err := h.Store.DeleteHost(ctx, a, id); err != nil {
		return err
	}
	return redirect(w, r, "/host-catalogs/"+host.CatalogID+"?done=deleted")
}
