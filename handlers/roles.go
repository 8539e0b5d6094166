package handlers

import (
	"context"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"gatehouse/models"
	"gatehouse/views"
)

// RoleStore is what the role pages need from the domain.
type RoleStore interface {
	ListRoles(ctx context.Context, a models.Actor, scopeID string, opt models.ListOptions) (models.Page[models.RoleItem], error)
	GetRole(ctx context.Context, a models.Actor, id string) (*models.RoleDetail, error)
	CreateRole(ctx context.Context, a models.Actor, scopeID string, in models.RoleInput) (*models.Role, error)
	UpdateRole(ctx context.Context, a models.Actor, id string, version int, in models.RoleInput) (*models.Role, error)
	DeleteRole(ctx context.Context, a models.Actor, id string) error
	SetRoleGrants(ctx context.Context, a models.Actor, id string, version int, lines []string) error
	SetRoleGrantScopes(ctx context.Context, a models.Actor, id string, version int, grantScopes []string) error
	AddRolePrincipals(ctx context.Context, a models.Actor, roleID string, ids []string) error
	RemoveRolePrincipals(ctx context.Context, a models.Actor, roleID string, ids []string) error
	PrincipalCandidates(ctx context.Context, a models.Actor, roleID, search string) ([]models.PrincipalRef, error)
	AllScopes(ctx context.Context, a models.Actor) ([]models.Scope, error)
	ScopesToCreate(ctx context.Context, a models.Actor, resourceType string) ([]models.Scope, error)
}

// Roles serves the role administration pages.
type Roles struct {
	Base
	Store RoleStore
}

var roleFields = []string{"scope_id", "name", "description", "version"}

// List renders the roles list (GET /roles?scope=&q=&page=).
func (h Roles) List(w http.ResponseWriter, r *http.Request) error {
	ctx, a, q := r.Context(), ActorFrom(r.Context()), r.URL.Query()
	list, err := h.Store.ListRoles(ctx, a, q.Get("scope"), listOptions(q))
	if err != nil {
		return err
	}
	scopes, err := h.Store.AllScopes(ctx, a)
	if err != nil {
		return err
	}
	return renderPage(w, r, views.RolesPage(h.Meta(r, "Roles", "roles"), list, q, scopes), views.RoleList(list, q))
}

// Show renders a role: principals, grant scopes and grants (GET /roles/{id}).
func (h Roles) Show(w http.ResponseWriter, r *http.Request) error {
	return h.show(w, r, http.StatusOK, views.Form{})
}

func (h Roles) show(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	ctx, a := r.Context(), ActorFrom(r.Context())
	role, err := h.Store.GetRole(ctx, a, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	scopes, err := h.Store.AllScopes(ctx, a)
	if err != nil {
		return err
	}
	if f.Values == nil {
		f.Values = map[string]string{}
	}
	if _, typed := f.Values["grants"]; !typed {
		f.Values["grants"] = strings.Join(role.Grants, "\n")
	}
	return render(w, r, status, views.RolePage(h.Meta(r, role.Name, "roles"), role, scopes, f))
}

// New renders the create form (GET /roles/new).
func (h Roles) New(w http.ResponseWriter, r *http.Request) error {
	return h.form(w, r, http.StatusOK, "New role", "/roles/new", 0, views.Form{Values: map[string]string{"scope_id": r.URL.Query().Get("scope")}})
}

func (h Roles) form(w http.ResponseWriter, r *http.Request, status int, heading, action string, version int, f views.Form) error {
	var scopes []models.Scope
	if action == "/roles/new" { // only where the person may create one
		var err error
		if scopes, err = h.Store.ScopesToCreate(r.Context(), ActorFrom(r.Context()), "role"); err != nil {
			return err
		}
	}
	return render(w, r, status, views.RoleFormPage(h.Meta(r, heading, "roles"), heading, action, version, action == "/roles/new", scopes, f))
}

// Create makes a role (POST /roles/new).
func (h Roles) Create(w http.ResponseWriter, r *http.Request) error {
	f := formValues(r, roleFields...)
	role, err := h.Store.CreateRole(r.Context(), ActorFrom(r.Context()), f.V("scope_id"), models.RoleInput{Name: f.V("name"), Description: f.V("description")})
	if err == nil {
		return redirect(w, r, "/roles/"+role.ID+"?done=created")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return h.form(w, r, http.StatusUnprocessableEntity, "New role", "/roles/new", 0, f)
}

// Edit renders the edit form (GET /roles/{id}/edit).
func (h Roles) Edit(w http.ResponseWriter, r *http.Request) error {
	role, err := h.Store.GetRole(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	if !role.Actions[models.ActionUpdate] {
		return models.ErrForbidden
	}
	f := views.Form{Values: map[string]string{"name": role.Name, "description": role.Description}}
	return h.form(w, r, http.StatusOK, "Edit "+role.Name, "/roles/"+role.ID+"/edit", role.Version, f)
}

// Update saves the edit form (POST /roles/{id}/edit).
func (h Roles) Update(w http.ResponseWriter, r *http.Request) error {
	id, f := chi.URLParam(r, "id"), formValues(r, roleFields...)
	_, err := h.Store.UpdateRole(r.Context(), ActorFrom(r.Context()), id, atoi(f.V("version")), models.RoleInput{Name: f.V("name"), Description: f.V("description")})
	if err == nil {
		return redirect(w, r, "/roles/"+id+"?done=saved")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return h.form(w, r, http.StatusUnprocessableEntity, "Edit role", "/roles/"+id+"/edit", atoi(f.V("version")), f)
}

// ConfirmDelete asks before deleting (GET /roles/{id}/delete).
func (h Roles) ConfirmDelete(w http.ResponseWriter, r *http.Request) error {
	role, err := h.Store.GetRole(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return h.confirmDeleteIn(w, r, "roles", role.Actions[models.ActionDelete], deletePage{"role", role.Name, "/roles/" + role.ID,
		"Its principals lose what it grants at their next request."}, withoutCrumbs)
}

// Delete deletes a role (POST /roles/{id}/delete).
func (h Roles) Delete(w http.ResponseWriter, r *http.Request) error {
	if err := h.Store.DeleteRole(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")); err != nil {
		return err
	}
	return redirect(w, r, "/roles?done=deleted")
}

// SetGrants saves the grants textarea, one grant per line (POST /roles/{id}/grants).
func (h Roles) SetGrants(w http.ResponseWriter, r *http.Request) error {
	id, f := chi.URLParam(r, "id"), formValues(r, "grants", "version")
	err := h.Store.SetRoleGrants(r.Context(), ActorFrom(r.Context()), id, atoi(f.V("version")), strings.Split(f.V("grants"), "\n"))
	if err == nil {
		return redirect(w, r, "/roles/"+id+"?done=saved")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return h.show(w, r, http.StatusUnprocessableEntity, f)
}

// SetGrantScopes saves where the grants apply (POST /roles/{id}/grant-scopes:
// grant_scope repeated, plus scope ids one per line in explicit_scopes).
func (h Roles) SetGrantScopes(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	_ = r.ParseForm()
	scopes := append(r.PostForm["grant_scope"], strings.Fields(r.PostFormValue("explicit_scopes"))...)
	err := h.Store.SetRoleGrantScopes(r.Context(), ActorFrom(r.Context()), id, atoi(r.PostFormValue("version")), scopes)
	if err == nil {
		return redirect(w, r, "/roles/"+id+"?done=saved")
	}
	f, err := withErrors(views.Form{Values: map[string]string{"explicit_scopes": r.PostFormValue("explicit_scopes")}}, err)
	if err != nil {
		return err
	}
	return h.show(w, r, http.StatusUnprocessableEntity, f)
}

// Principals renders the principal picker (GET /roles/{id}/principals?q=).
func (h Roles) Principals(w http.ResponseWriter, r *http.Request) error {
	return h.picker(w, r, http.StatusOK, views.Form{})
}

func (h Roles) picker(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	ctx, a, id, q := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"), r.URL.Query().Get("q")
	role, err := h.Store.GetRole(ctx, a, id)
	if err != nil {
		return err
	}
	if !role.Actions[models.ActionAddPrincipals] {
		return models.ErrForbidden
	}
	cands, err := h.Store.PrincipalCandidates(ctx, a, id, q)
	if err != nil {
		return err
	}
	return render(w, r, status, views.PrincipalPickerPage(h.Meta(r, "Add principals to "+role.Name, "roles"), role, cands, q, f))
}

// AddPrincipals adds the chosen principals (POST /roles/{id}/principals/add, principal_id repeated).
func (h Roles) AddPrincipals(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	_ = r.ParseForm()
	err := h.Store.AddRolePrincipals(r.Context(), ActorFrom(r.Context()), id, r.PostForm["principal_id"])
	if err == nil {
		return redirect(w, r, "/roles/"+id+"?done=saved")
	}
	f, err := withErrors(views.Form{}, err)
	if err != nil {
		return err
	}
	return h.picker(w, r, http.StatusUnprocessableEntity, f)
}

// RemovePrincipal removes one principal (POST /roles/{id}/principals/remove, principal_id).
func (h Roles) RemovePrincipal(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if err := h.Store.RemoveRolePrincipals(r.Context(), ActorFrom(r.Context()), id, []string{r.PostFormValue("principal_id")}); err != nil {
		return err
	}
	return redirect(w, r, "/roles/"+id+"?done=removed")
}
