package handlers

import (
	"net/http"

	"gatehouse/models"
	"gatehouse/views"
)

// deletePage is the confirm-delete page of one item: what it is, its name,
// the address of its page (the form posts to Href+"/delete") and what
// deleting it does.
type deletePage struct {
	What, Name, Href, Warning string
}

// confirmDelete renders d for an item the actor may delete (ErrForbidden
// otherwise, before anything else is loaded); page loads the scope path and
// the breadcrumbs.
func (b Base) confirmDelete(w http.ResponseWriter, r *http.Request, mayDelete bool, d deletePage, page func() ([]models.Scope, []views.Crumb, error)) error {
	if !mayDelete {
		return models.ErrForbidden
	}
	path, cr, err := page()
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, views.InfraDeletePage(b.Meta(r, "Delete "+d.Name, "scopes"), path, cr,
		d.What, d.Name, d.Href+"/delete", d.Href, d.Warning))
}

// inProject is the page of confirmDelete for a project-level item: the
// project's path and crumbs list › item › Delete.
func inProject(r *http.Request, store PathStore, scopeID, list, listHref, name, href string) func() ([]models.Scope, []views.Crumb, error) {
	return func() ([]models.Scope, []views.Crumb, error) {
		path, err := store.ScopePath(r.Context(), ActorFrom(r.Context()), scopeID)
		return path, crumbs(list, listHref, name, href, "Delete", ""), err
	}
}
