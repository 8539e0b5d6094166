package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"gatehouse/models"
	"gatehouse/views"
)

// TargetStore is what the target admin pages need from the domain.
type TargetStore interface {
	PathStore
	ListTargets(ctx context.Context, a models.Actor, projectID string, opt models.ListOptions) (models.Page[models.TargetItem], error)
	GetTarget(ctx context.Context, a models.Actor, id string) (*models.TargetDetail, error)
	CreateTarget(ctx context.Context, a models.Actor, projectID string, in models.TargetInput) (*models.Target, error)
	UpdateTarget(ctx context.Context, a models.Actor, id string, version int, in models.TargetInput) (*models.Target, error)
	DeleteTarget(ctx context.Context, a models.Actor, id string) error
	AddTargetHostSources(ctx context.Context, a models.Actor, targetID string, hostSetIDs []string) error
	RemoveTargetHostSource(ctx context.Context, a models.Actor, targetID, hostSetID string) error
	AddTargetCredentialSources(ctx context.Context, a models.Actor, targetID string, credentialIDs []string) error
	RemoveTargetCredentialSource(ctx context.Context, a models.Actor, targetID, credentialID string) error
	HostSetChoices(ctx context.Context, a models.Actor, projectID string) ([]models.Choice, error)
	CredentialChoices(ctx context.Context, a models.Actor, projectID string) ([]models.Choice, error)
	TargetForSession(ctx context.Context, a models.Actor, id string) (*models.SessionTarget, error)
	MySessionsOnTarget(ctx context.Context, a models.Actor, targetID string, limit int) ([]models.SessionItem, error)
}

// Targets serves a project's targets and each target's page.
type Targets struct {
	Base
	Store TargetStore
}

var targetFields = []string{"name", "description", "default_port", "address", "session_max_seconds", "session_connection_limit", "version",
	"session_max_seconds_amount", "session_max_seconds_unit", "session_connection_limit_mode", "session_connection_limit_count"}

// targetForm reads the target form: the duration picker and the
// Unlimited/At most choice become the domain's seconds and limit.
func targetForm(r *http.Request) views.Form { return targetFormFields(r, targetFields) }

// targetFormFields is targetForm over the given fields (the guided form has more).
func targetFormFields(r *http.Request, fields []string) views.Form {
	f := formValues(r, fields...)
	if s := views.DurationSeconds(f.V("session_max_seconds_amount"), f.V("session_max_seconds_unit")); s != "" {
		f.Values["session_max_seconds"] = s
	}
	if l := views.ConnectionLimit(f.V("session_connection_limit_mode"), f.V("session_connection_limit_count")); l != "" {
		f.Values["session_connection_limit"] = l
	}
	for _, k := range []string{"session_max_seconds_amount", "session_max_seconds_unit", "session_connection_limit_mode", "session_connection_limit_count"} {
		if r.PostForm[k] == nil {
			delete(f.Values, k) // not posted: the picker shows the domain value
		}
	}
	return f
}

func targetInput(f views.Form) models.TargetInput {
	return models.TargetInput{Name: f.V("name"), Description: f.V("description"), DefaultPort: intField(f, "default_port", 0),
		Address: f.V("address"), SessionMaxSeconds: intField(f, "session_max_seconds", models.DefaultSessionMaxSeconds),
		SessionConnectionLimit: intField(f, "session_connection_limit", models.UnlimitedConnections)}
}

// List renders a project's targets (GET /scopes/{id}/targets).
func (h Targets) List(w http.ResponseWriter, r *http.Request) error {
	ctx, a, id, q := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"), r.URL.Query()
	list, err := h.Store.ListTargets(ctx, a, id, listOptions(q))
	if err != nil {
		return err
	}
	path, err := h.Store.ScopePath(ctx, a, id)
	if err != nil {
		return err
	}
	return renderPage(w, r, views.TargetsPage(h.Meta(r, "Targets", "scopes"), path, id, list, q,
		h.Store.MayCreate(ctx, a, "target", id, ""), h.Store.ProjectSections(ctx, a, id)), views.TargetList(id, list, q))
}

// Show renders a target with its sources (GET /targets/{id}).
func (h Targets) Show(w http.ResponseWriter, r *http.Request) error {
	return h.show(w, r, http.StatusOK, views.Form{Values: map[string]string{}})
}

func (h Targets) show(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	ctx, a, id := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")
	use, err := h.use(ctx, a, id)
	if err != nil {
		return err
	}
	t, err := h.Store.GetTarget(ctx, a, id)
	if use.Target != nil && (err != nil || !t.Manageable()) { // someone who connects, not an administrator
		return render(w, r, status, views.TargetUsePage(h.Meta(r, use.Target.Name, "targets"), use))
	}
	if err != nil {
		return err
	}
	path, err := h.Store.ScopePath(ctx, a, t.ScopeID)
	if err != nil {
		return err
	}
	sets, err := h.Store.HostSetChoices(ctx, a, t.ScopeID)
	if err != nil {
		return err
	}
	creds, err := h.Store.CredentialChoices(ctx, a, t.ScopeID)
	if err != nil {
		return err
	}
	return render(w, r, status, views.TargetPage(h.Meta(r, t.Name, "admin-targets"), path, t, sets, creds, f, use,
		h.Store.ProjectSections(ctx, a, t.ScopeID)))
}

// use is the target as a session starter sees it with the actor's recent
// sessions on it; an empty TargetUse when the actor may not start one.
func (h Targets) use(ctx context.Context, a models.Actor, id string) (views.TargetUse, error) {
	st, err := h.Store.TargetForSession(ctx, a, id)
	if err != nil {
		if errors.Is(err, models.ErrNotFound) || errors.Is(err, models.ErrForbidden) {
			return views.TargetUse{}, nil
		}
		return views.TargetUse{}, err
	}
	recent, err := h.Store.MySessionsOnTarget(ctx, a, id, 5)
	return views.TargetUse{Target: st, Recent: recent}, err
}

// New renders the create form with the defaults (GET /scopes/{id}/targets/new).
func (h Targets) New(w http.ResponseWriter, r *http.Request) error {
	return h.newForm(w, r, http.StatusOK, views.Form{Values: newTargetValues()})
}

// newTargetValues are the defaults of a new target's forms (this one and
// the guided one).
func newTargetValues() map[string]string {
	return map[string]string{"session_max_seconds": strconv.Itoa(models.DefaultSessionMaxSeconds),
		"session_connection_limit": strconv.Itoa(models.UnlimitedConnections)}
}

func (h Targets) newForm(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	ctx, a, id := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")
	if err := h.Store.AuthorizeCreate(ctx, a, "target", id); err != nil {
		return err
	}
	path, err := h.Store.ScopePath(ctx, a, id)
	if err != nil {
		return err
	}
	return render(w, r, status, views.InfraFormPage(h.Meta(r, "New target", "scopes"), path,
		crumbs("Targets", "/scopes/"+id+"/targets", "New", ""), "New TCP target", "target-form",
		"/scopes/"+id+"/targets/new", "/scopes/"+id+"/targets", 0, f, views.TargetFields(f)))
}

// Create makes a target (POST /scopes/{id}/targets/new).
func (h Targets) Create(w http.ResponseWriter, r *http.Request) error {
	f := targetForm(r)
	t, err := h.Store.CreateTarget(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"), targetInput(f))
	if err == nil {
		return redirect(w, r, "/targets/"+t.ID+"?done=created")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return h.newForm(w, r, http.StatusUnprocessableEntity, f)
}

// Edit renders the edit form (GET /targets/{id}/edit).
func (h Targets) Edit(w http.ResponseWriter, r *http.Request) error {
	return h.editForm(w, r, http.StatusOK, views.Form{})
}

func (h Targets) editForm(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	ctx, a := r.Context(), ActorFrom(r.Context())
	t, err := h.Store.GetTarget(ctx, a, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	if !t.Actions[models.ActionUpdate] {
		return models.ErrForbidden
	}
	version := t.Version
	if f.Values == nil {
		f = views.Form{Values: map[string]string{"name": t.Name, "description": t.Description, "default_port": strconv.Itoa(t.DefaultPort),
			"address": t.AddressText(), "session_max_seconds": strconv.Itoa(t.SessionMaxSeconds),
			"session_connection_limit": strconv.Itoa(t.SessionConnectionLimit)}}
	} else {
		version = atoi(f.V("version"))
	}
	path, err := h.Store.ScopePath(ctx, a, t.ScopeID)
	if err != nil {
		return err
	}
	return render(w, r, status, views.InfraFormPage(h.Meta(r, "Edit "+t.Name, "scopes"), path,
		crumbs("Targets", "/scopes/"+t.ScopeID+"/targets", t.Name, "/targets/"+t.ID, "Edit", ""), "Edit "+t.Name, "target-form",
		"/targets/"+t.ID+"/edit", "/targets/"+t.ID, version, f, views.TargetFields(f)))
}

// Update saves the edit form (POST /targets/{id}/edit).
func (h Targets) Update(w http.ResponseWriter, r *http.Request) error {
	id, f := chi.URLParam(r, "id"), targetForm(r)
	_, err := h.Store.UpdateTarget(r.Context(), ActorFrom(r.Context()), id, atoi(f.V("version")), targetInput(f))
	if err == nil {
		return redirect(w, r, "/targets/"+id+"?done=saved")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return h.editForm(w, r, http.StatusUnprocessableEntity, f)
}

// AddHostSources adds host sets (POST /targets/{id}/host-sources).
func (h Targets) AddHostSources(w http.ResponseWriter, r *http.Request) error {
	id, f := chi.URLParam(r, "id"), views.Form{Values: map[string]string{}}
	err := h.Store.AddTargetHostSources(r.Context(), ActorFrom(r.Context()), id, multiValues(r, &f, "host_set_ids"))
	return h.afterSourceChange(w, r, id, f, err)
}

// AddCredentialSources adds brokered credentials (POST /targets/{id}/credential-sources).
func (h Targets) AddCredentialSources(w http.ResponseWriter, r *http.Request) error {
	id, f := chi.URLParam(r, "id"), views.Form{Values: map[string]string{}}
	err := h.Store.AddTargetCredentialSources(r.Context(), ActorFrom(r.Context()), id, multiValues(r, &f, "credential_ids"))
	return h.afterSourceChange(w, r, id, f, err)
}

func (h Targets) afterSourceChange(w http.ResponseWriter, r *http.Request, id string, f views.Form, err error) error {
	if err == nil {
		return redirect(w, r, "/targets/"+id+"?done=saved")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return h.show(w, r, http.StatusUnprocessableEntity, f)
}

// RemoveHostSource (POST /targets/{id}/host-sources/{set}/remove).
func (h Targets) RemoveHostSource(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if err := h.Store.RemoveTargetHostSource(r.Context(), ActorFrom(r.Context()), id, chi.URLParam(r, "set")); err != nil {
		return err
	}
	return redirect(w, r, "/targets/"+id+"?done=removed")
}

// RemoveCredentialSource (POST /targets/{id}/credential-sources/{credential}/remove).
func (h Targets) RemoveCredentialSource(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if err := h.Store.RemoveTargetCredentialSource(r.Context(), ActorFrom(r.Context()), id, chi.URLParam(r, "credential")); err != nil {
		return err
	}
	return redirect(w, r, "/targets/"+id+"?done=removed")
}

// ConfirmDelete asks before deleting (GET /targets/{id}/delete).
func (h Targets) ConfirmDelete(w http.ResponseWriter, r *http.Request) error {
	t, err := h.Store.GetTarget(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	href := "/targets/" + t.ID
	return h.confirmDelete(w, r, t.Actions[models.ActionDelete], deletePage{"target", t.Name, href, "Nobody can start sessions on it any more."},
		inProject(r, h.Store, t.ScopeID, "Targets", "/scopes/"+t.ScopeID+"/targets", t.Name, href))
}

// Delete deletes a target (POST /targets/{id}/delete).
func (h Targets) Delete(w http.ResponseWriter, r *http.Request) error {
	ctx, a, id := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")
	t, err := h.Store.GetTarget(ctx, a, id)
	if err != nil {
		return err
	}
	if err := h.Store.DeleteTarget(ctx, a, id); err != nil {
		return err
	}
	return redirect(w, r, "/scopes/"+t.ScopeID+"/targets?done=deleted")
}
