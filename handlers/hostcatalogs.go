package handlers

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"gatehouse/models"
	"gatehouse/views"
)

// HostCatalogStore is what the host catalog pages need from the domain.
type HostCatalogStore interface {
	PathStore
	ListHostCatalogs(ctx context.Context, a models.Actor, projectID string, opt models.ListOptions) (models.Page[models.HostCatalogItem], error)
	GetHostCatalog(ctx context.Context, a models.Actor, id string) (*models.HostCatalogItem, error)
	CreateHostCatalog(ctx context.Context, a models.Actor, projectID string, in models.HostCatalogInput) (*models.HostCatalog, error)
	UpdateHostCatalog(ctx context.Context, a models.Actor, id string, version int, in models.HostCatalogInput) (*models.HostCatalog, error)
	DeleteHostCatalog(ctx context.Context, a models.Actor, id string) error
	ListHosts(ctx context.Context, a models.Actor, catalogID string, opt models.ListOptions) (models.Page[models.HostItem], error)
	ListHostSets(ctx context.Context, a models.Actor, catalogID string, opt models.ListOptions) (models.Page[models.HostSetItem], error)
}

// HostCatalogs serves a project's host catalogs and each catalog's page.
type HostCatalogs struct {
	Base
	Store HostCatalogStore
}

var nameDescFields = []string{"name", "description", "version"}

// List renders a project's catalogs (GET /scopes/{id}/host-catalogs).
func (h HostCatalogs) List(w http.ResponseWriter, r *http.Request) error {
	ctx, a, id, q := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"), r.URL.Query()
	list, err := h.Store.ListHostCatalogs(ctx, a, id, listOptions(q))
	if err != nil {
		return err
	}
	path, err := h.Store.ScopePath(ctx, a, id)
	if err != nil {
		return err
	}
	return renderPage(w, r, views.HostCatalogsPage(h.Meta(r, "Host catalogs", "scopes"), path, id, list, q,
		h.Store.MayCreate(ctx, a, "host-catalog", id, ""), h.Store.ProjectSections(ctx, a, id)), views.HostCatalogList(id, list, q))
}

// Show renders a catalog with its hosts (GET /host-catalogs/{id}) or its
// host sets (GET /host-catalogs/{id}/host-sets).
func (h HostCatalogs) Show(w http.ResponseWriter, r *http.Request) error {
	ctx, a, id, q := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"), r.URL.Query()
	c, err := h.Store.GetHostCatalog(ctx, a, id)
	if err != nil {
		return err
	}
	path, err := h.Store.ScopePath(ctx, a, c.ScopeID)
	if err != nil {
		return err
	}
	var (
		hosts models.Page[models.HostItem]
		sets  models.Page[models.HostSetItem]
	)
	tab := "hosts"
	if chi.RouteContext(ctx).RoutePattern() == "/host-catalogs/{id}/host-sets" {
		tab = "host-sets"
		sets, err = h.Store.ListHostSets(ctx, a, id, listOptions(q))
	} else if c.MayListHosts {
		hosts, err = h.Store.ListHosts(ctx, a, id, listOptions(q))
	}
	if err != nil {
		return err
	}
	fragment := views.HostList(id, hosts, q)
	if tab == "host-sets" {
		fragment = views.HostSetList(id, sets, q)
	}
	return renderPage(w, r, views.HostCatalogPage(h.Meta(r, c.Name, "scopes"), path, c, tab, hosts, sets, q), fragment)
}

// New renders the create form (GET /scopes/{id}/host-catalogs/new).
func (h HostCatalogs) New(w http.ResponseWriter, r *http.Request) error {
	return h.newForm(w, r, http.StatusOK, views.Form{})
}

func (h HostCatalogs) newForm(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	ctx, a, id := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")
	if err := h.Store.AuthorizeCreate(ctx, a, "host-catalog", id); err != nil {
		return err
	}
	path, err := h.Store.ScopePath(ctx, a, id)
	if err != nil {
		return err
	}
	return render(w, r, status, views.InfraFormPage(h.Meta(r, "New host catalog", "scopes"), path,
		crumbs("Host catalogs", "/scopes/"+id+"/host-catalogs", "New", ""), "New host catalog", "host-catalog-form",
		"/scopes/"+id+"/host-catalogs/new", "/scopes/"+id+"/host-catalogs", 0, f, nil))
}

// Create makes a catalog (POST /scopes/{id}/host-catalogs/new).
func (h HostCatalogs) Create(w http.ResponseWriter, r *http.Request) error {
	f := formValues(r, nameDescFields...)
	c, err := h.Store.CreateHostCatalog(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"),
		models.HostCatalogInput{Name: f.V("name"), Description: f.V("description")})
	if err == nil {
		return redirect(w, r, "/host-catalogs/"+c.ID+"?done=created")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return h.newForm(w, r, http.StatusUnprocessableEntity, f)
}

// Edit renders the edit form (GET /host-catalogs/{id}/edit).
func (h HostCatalogs) Edit(w http.ResponseWriter, r *http.Request) error {
	return h.editForm(w, r, http.StatusOK, views.Form{})
}

// editForm renders the edit form; an empty f is filled from the catalog.
func (h HostCatalogs) editForm(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	ctx, a := r.Context(), ActorFrom(r.Context())
	c, err := h.Store.GetHostCatalog(ctx, a, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	if !c.Actions[models.ActionUpdate] {
		return models.ErrForbidden
	}
	version := c.Version
	if f.Values == nil {
		f = nameDesc(c.Name, c.Description)
	} else {
		version = atoi(f.V("version"))
	}
	path, err := h.Store.ScopePath(ctx, a, c.ScopeID)
	if err != nil {
		return err
	}
	return render(w, r, status, views.InfraFormPage(h.Meta(r, "Edit "+c.Name, "scopes"), path,
		crumbs("Host catalogs", "/scopes/"+c.ScopeID+"/host-catalogs", c.Name, "/host-catalogs/"+c.ID, "Edit", ""),
		"Edit "+c.Name, "host-catalog-form", "/host-catalogs/"+c.ID+"/edit", "/host-catalogs/"+c.ID, version, f, nil))
}

// Update saves the edit form (POST /host-catalogs/{id}/edit).
func (h HostCatalogs) Update(w http.ResponseWriter, r *http.Request) error {
	id, f := chi.URLParam(r, "id"), formValues(r, nameDescFields...)
	_, err := h.Store.UpdateHostCatalog(r.Context(), ActorFrom(r.Context()), id, atoi(f.V("version")),
		models.HostCatalogInput{Name: f.V("name"), Description: f.V("description")})
	if err == nil {
		return redirect(w, r, "/host-catalogs/"+id+"?done=saved")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return h.editForm(w, r, http.StatusUnprocessableEntity, f)
}

// ConfirmDelete asks before deleting (GET /host-catalogs/{id}/delete).
func (h HostCatalogs) ConfirmDelete(w http.ResponseWriter, r *http.Request) error {
	c, err := h.Store.GetHostCatalog(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	href := "/host-catalogs/" + c.ID
	return h.confirmDelete(w, r, c.Actions[models.ActionDelete], deletePage{"host catalog", c.Name, href,
		"Its " + plural(c.Hosts, "host", "hosts") + " and " + plural(c.HostSets, "host set", "host sets") + " are deleted with it and leave every target that used them."},
		inProject(r, h.Store, c.ScopeID, "Host catalogs", "/scopes/"+c.ScopeID+"/host-catalogs", c.Name, href))
}

// Delete deletes a catalog (POST /host-catalogs/{id}/delete).
func (h HostCatalogs) Delete(w http.ResponseWriter, r *http.Request) error {
	ctx, a, id := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")
	c, err := h.Store.GetHostCatalog(ctx, a, id)
	if err != nil {
		return err
	}
	if err := h.Store.DeleteHostCatalog(ctx, a, id); err != nil {
		return err
	}
	return redirect(w, r, "/scopes/"+c.ScopeID+"/host-catalogs?done=deleted")
}
