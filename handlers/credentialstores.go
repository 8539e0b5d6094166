package handlers

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"gatehouse/models"
	"gatehouse/views"
)

// CredentialStoreStore is what the credential store pages need from the
// domain.
type CredentialStoreStore interface {
	PathStore
	ListCredentialStores(ctx context.Context, a models.Actor, projectID string, opt models.ListOptions) (models.Page[models.CredentialStoreItem], error)
	GetCredentialStore(ctx context.Context, a models.Actor, id string) (*models.CredentialStoreItem, error)
	CreateCredentialStore(ctx context.Context, a models.Actor, projectID string, in models.CredentialStoreInput) (*models.CredentialStore, error)
	UpdateCredentialStore(ctx context.Context, a models.Actor, id string, version int, in models.CredentialStoreInput) (*models.CredentialStore, error)
	DeleteCredentialStore(ctx context.Context, a models.Actor, id string) error
	ListCredentials(ctx context.Context, a models.Actor, storeID string, opt models.ListOptions) (models.Page[models.CredentialItem], error)
}

// CredentialStores serves a project's credential stores and each store's page.
type CredentialStores struct {
	Base
	Store CredentialStoreStore
}

// List renders a project's stores (GET /scopes/{id}/credential-stores).
func (h CredentialStores) List(w http.ResponseWriter, r *http.Request) error {
	ctx, a, id, q := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"), r.URL.Query()
	list, err := h.Store.ListCredentialStores(ctx, a, id, listOptions(q))
	if err != nil {
		return err
	}
	path, err := h.Store.ScopePath(ctx, a, id)
	if err != nil {
		return err
	}
	return renderPage(w, r, views.CredentialStoresPage(h.Meta(r, "Credential stores", "scopes"), path, id, list, q,
		h.Store.MayCreate(ctx, a, "credential-store", id, ""), h.Store.ProjectSections(ctx, a, id)), views.CredentialStoreList(id, list, q))
}

// Show renders a store with its credentials (GET /credential-stores/{id}).
func (h CredentialStores) Show(w http.ResponseWriter, r *http.Request) error {
	ctx, a, id, q := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"), r.URL.Query()
	cs, err := h.Store.GetCredentialStore(ctx, a, id)
	if err != nil {
		return err
	}
	list, err := h.Store.ListCredentials(ctx, a, id, listOptions(q))
	if err != nil {
		return err
	}
	path, err := h.Store.ScopePath(ctx, a, cs.ScopeID)
	if err != nil {
		return err
	}
	return renderPage(w, r, views.CredentialStorePage(h.Meta(r, cs.Name, "scopes"), path, cs, list, q), views.CredentialList(id, list, q))
}

// New renders the create form (GET /scopes/{id}/credential-stores/new).
func (h CredentialStores) New(w http.ResponseWriter, r *http.Request) error {
	return h.newForm(w, r, http.StatusOK, views.Form{})
}

func (h CredentialStores) newForm(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	ctx, a, id := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")
	if err := h.Store.AuthorizeCreate(ctx, a, "credential-store", id); err != nil {
		return err
	}
	path, err := h.Store.ScopePath(ctx, a, id)
	if err != nil {
		return err
	}
	return render(w, r, status, views.InfraFormPage(h.Meta(r, "New credential store", "scopes"), path,
		crumbs("Credential stores", "/scopes/"+id+"/credential-stores", "New", ""), "New credential store", "credential-store-form",
		"/scopes/"+id+"/credential-stores/new", "/scopes/"+id+"/credential-stores", 0, f, nil))
}

// Create makes a store (POST /scopes/{id}/credential-stores/new).
func (h CredentialStores) Create(w http.ResponseWriter, r *http.Request) error {
	f := formValues(r, nameDescFields...)
	cs, err := h.Store.CreateCredentialStore(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"),
		models.CredentialStoreInput{Name: f.V("name"), Description: f.V("description")})
	if err == nil {
		return redirect(w, r, "/credential-stores/"+cs.ID+"?done=created")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return h.newForm(w, r, http.StatusUnprocessableEntity, f)
}

// Edit renders the edit form (GET /credential-stores/{id}/edit).
func (h CredentialStores) Edit(w http.ResponseWriter, r *http.Request) error {
	return h.editForm(w, r, http.StatusOK, views.Form{})
}

func (h CredentialStores) editForm(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	ctx, a := r.Context(), ActorFrom(r.Context())
	cs, err := h.Store.GetCredentialStore(ctx, a, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	if !cs.Actions[models.ActionUpdate] {
		return models.ErrForbidden
	}
	version := cs.Version
	if f.Values == nil {
		f = nameDesc(cs.Name, cs.Description)
	} else {
		version = atoi(f.V("version"))
	}
	path, err := h.Store.ScopePath(ctx, a, cs.ScopeID)
	if err != nil {
		return err
	}
	return render(w, r, status, views.InfraFormPage(h.Meta(r, "Edit "+cs.Name, "scopes"), path,
		crumbs("Credential stores", "/scopes/"+cs.ScopeID+"/credential-stores", cs.Name, "/credential-stores/"+cs.ID, "Edit", ""),
		"Edit "+cs.Name, "credential-store-form", "/credential-stores/"+cs.ID+"/edit", "/credential-stores/"+cs.ID, version, f, nil))
}

// Update saves the edit form (POST /credential-stores/{id}/edit).
func (h CredentialStores) Update(w http.ResponseWriter, r *http.Request) error {
	id, f := chi.URLParam(r, "id"), formValues(r, nameDescFields...)
	_, err := h.Store.UpdateCredentialStore(r.Context(), ActorFrom(r.Context()), id, atoi(f.V("version")),
		models.CredentialStoreInput{Name: f.V("name"), Description: f.V("description")})
	if err == nil {
		return redirect(w, r, "/credential-stores/"+id+"?done=saved")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return h.editForm(w, r, http.StatusUnprocessableEntity, f)
}

// ConfirmDelete asks before deleting (GET /credential-stores/{id}/delete).
func (h CredentialStores) ConfirmDelete(w http.ResponseWriter, r *http.Request) error {
	cs, err := h.Store.GetCredentialStore(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	href := "/credential-stores/" + cs.ID
	return h.confirmDelete(w, r, cs.Actions[models.ActionDelete], deletePage{"credential store", cs.Name, href,
		"Its " + plural(cs.Credentials, "credential", "credentials") + " are deleted with it and are no longer brokered by any target."},
		inProject(r, h.Store, cs.ScopeID, "Credential stores", "/scopes/"+cs.ScopeID+"/credential-stores", cs.Name, href))
}

// Delete deletes a store (POST /credential-stores/{id}/delete).
func (h CredentialStores) Delete(w http.ResponseWriter, r *http.Request) error {
	ctx, a, id := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")
	cs, err := h.Store.GetCredentialStore(ctx, a, id)
	if err != nil {
		return err
	}
	if err := h.Store.DeleteCredentialStore(ctx, a, id); err != nil {
		return err
	}
	return redirect(w, r, "/scopes/"+cs.ScopeID+"/credential-stores?done=deleted")
}
