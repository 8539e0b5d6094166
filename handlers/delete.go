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
// the breadcrumbs. The navigation shows Scopes as the current section.
func (b Base) confirmDelete(w http.ResponseWriter, r *http.Request, mayDelete bool, d deletePage, page func() ([]models.Scope, []views.Crumb, error)) error {
	return b.confirmDeleteIn(w, r, "scopes", mayDelete, d, page)
}

// confirmDeleteIn is confirmDelete with nav as the navigation's current
// section (users, roles, webhooks, …).
func (b Base) confirmDeleteIn(w http.ResponseWriter, r *http.Request, nav string, mayDelete bool, d deletePage, page func() ([]models.Scope, []views.Crumb, error)) error {
	if !mayDelete {
		return models.ErrForbidden
	}
	path, cr, err := page()
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, views.DeletePage(b.Meta(r, "Delete "+d.Name, nav), path, cr,
		d.What, d.Name, d.Href+"/delete", d.Href, d.Warning))
}

// withoutCrumbs is the page of confirmDeleteIn for the resources whose
// pages show no breadcrumbs (users, groups, roles, auth methods, managed
// groups, webhooks: their scope is chosen on their list, not walked to).
func withoutCrumbs() ([]models.Scope, []views.Crumb, error) { return nil, nil, nil }

// inProject is the page of confirmDelete for a project-level item: the
// project's path and crumbs list › item › Delete.
func inProject(r *http.Request, store PathStore, scopeID, list, listHref, name, href string) func() ([]models.Scope, []views.Crumb, error) {
	return func() ([]models.Scope, []views.Crumb, error) {
		path, err := store.ScopePath(r.Context(), ActorFrom(r.Context()), scopeID)
		return path, crumbs(list, listHref, name, href, "Delete", ""), err
	}
}
