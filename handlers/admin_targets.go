package handlers

import (
	"context"
	"net/http"
	"slices"

	"gatehouse/models"
	"gatehouse/views"
)

// AdminTargetStore is what the global infrastructure pages need.
type AdminTargetStore interface {
	ListAllTargets(ctx context.Context, a models.Actor, projectID string, opt models.ListOptions) (models.AdminTargetsPage, error)
	ProjectOverviews(ctx context.Context, a models.Actor) ([]models.ProjectOverview, error)
	CreateGuidedTarget(ctx context.Context, a models.Actor, projectID string, in models.GuidedTargetInput) (*models.Target, error)
}

// AdminTargets serves the global Targets list, the projects overview and
// the guided new-target flow.
type AdminTargets struct {
	Base
	Store AdminTargetStore
}

// List renders every target the actor may read (GET /admin/targets?project=&q=&page=).
func (h AdminTargets) List(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	page, err := h.Store.ListAllTargets(r.Context(), ActorFrom(r.Context()), q.Get("project"), listOptions(q))
	if err != nil {
		return err
	}
	return renderPage(w, r, views.AdminTargetsPage(h.Meta(r, "Targets", "admin-targets"), page, q), views.AdminTargetList(page, q))
}

// Projects renders the projects with their counts (GET /admin/projects).
func (h AdminTargets) Projects(w http.ResponseWriter, r *http.Request) error {
	projects, err := h.Store.ProjectOverviews(r.Context(), ActorFrom(r.Context()))
	if err != nil {
		return err
	}
	nav := "projects"
	if s := r.URL.Query().Get("show"); s == "host-catalogs" || s == "credential-stores" {
		nav = s
	}
	return render(w, r, http.StatusOK, views.ProjectsPage(h.Meta(r, "Projects", nav), projects))
}

var guidedFields = []string{"project", "name", "description", "default_port", "address", "hosts", "catalog_name",
	"session_max_seconds", "session_connection_limit",
	"session_max_seconds_amount", "session_max_seconds_unit", "session_connection_limit_mode", "session_connection_limit_count"}

// New renders the guided new-target form (GET /admin/targets/new?project=).
func (h AdminTargets) New(w http.ResponseWriter, r *http.Request) error {
	f := views.Form{Values: newTargetValues()}
	f.Values["project"], f.Values["kind"] = r.URL.Query().Get("project"), "address"
	return h.form(w, r, http.StatusOK, f)
}

func (h AdminTargets) form(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	projects, err := h.Store.ProjectOverviews(r.Context(), ActorFrom(r.Context()))
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(projects, func(p models.ProjectOverview) bool { return p.MayAddTarget }) {
		return models.ErrForbidden // no project takes new targets from this person: the form is not served
	}
	return render(w, r, status, views.GuidedTargetPage(h.Meta(r, "Add a target", "admin-targets"), projects, f))
}

// Create makes the target, and with hosts its catalog, hosts and host set,
// in one transaction (POST /admin/targets/new).
func (h AdminTargets) Create(w http.ResponseWriter, r *http.Request) error {
	f := targetFormFields(r, guidedFields)
	in := models.GuidedTargetInput{Target: targetInput(f), Hosts: f.V("hosts"), CatalogName: f.V("catalog_name")}
	t, err := h.Store.CreateGuidedTarget(r.Context(), ActorFrom(r.Context()), f.V("project"), in)
	if err == nil {
		return redirect(w, r, "/targets/"+t.ID+"?done=created")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return h.form(w, r, http.StatusUnprocessableEntity, f)
}
