package handlers

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"gatehouse/models"
	"gatehouse/views"
)

// CredentialItemStore is what the credential pages need from the domain. No
// call returns a secret.
type CredentialItemStore interface {
	PathStore
	GetCredentialStore(ctx context.Context, a models.Actor, id string) (*models.CredentialStoreItem, error)
	GetCredential(ctx context.Context, a models.Actor, id string) (*models.CredentialItem, error)
	CreateCredential(ctx context.Context, a models.Actor, storeID string, in models.CredentialInput) (*models.Credential, error)
	UpdateCredential(ctx context.Context, a models.Actor, id string, version int, in models.CredentialInput) (*models.Credential, error)
	DeleteCredential(ctx context.Context, a models.Actor, id string) error
}

// Credentials serves the credential pages; secrets are write-only.
type Credentials struct {
	Base
	Store CredentialItemStore
}

var credentialFields = []string{"type", "name", "description", "username", "password", "private_key", "passphrase", "json", "version"}

// secretFields are never sent back to the browser, not even after an error.
var secretFields = []string{"password", "private_key", "passphrase", "json"}

func credentialInput(f views.Form) models.CredentialInput {
	return models.CredentialInput{Type: f.V("type"), Name: f.V("name"), Description: f.V("description"), Username: f.V("username"),
		Password: f.V("password"), PrivateKey: f.V("private_key"), Passphrase: f.V("passphrase"), JSON: f.V("json")}
}

func clearSecrets(f views.Form) views.Form {
	for _, k := range secretFields {
		delete(f.Values, k)
	}
	return f
}

// inStore loads the scope path and breadcrumbs of a page under a
// credential store (Credential stores › store › tail). An item read from
// the Store carries its store's name and scope, so its pages do not read
// the store again.
func inStore(r *http.Request, ps PathStore, scopeID, storeID, storeName string, tail ...string) ([]models.Scope, []views.Crumb, error) {
	path, err := ps.ScopePath(r.Context(), ActorFrom(r.Context()), scopeID)
	if err != nil {
		return nil, nil, err
	}
	return path, crumbs(append([]string{"Credential stores", "/scopes/" + scopeID + "/credential-stores", storeName, "/credential-stores/" + storeID}, tail...)...), nil
}

// Show renders a credential without its secret (GET /credentials/{id}).
func (h Credentials) Show(w http.ResponseWriter, r *http.Request) error {
	c, err := h.Store.GetCredential(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	path, cr, err := inStore(r, h.Store, c.ScopeID, c.StoreID, c.StoreName, c.Name, "")
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, views.CredentialPage(h.Meta(r, c.Name, "scopes"), path, cr, c))
}

// New renders the create form (GET /credential-stores/{id}/credentials/new).
func (h Credentials) New(w http.ResponseWriter, r *http.Request) error {
	return h.newForm(w, r, http.StatusOK, views.Form{Values: map[string]string{"type": models.CredentialUsernamePassword}})
}

func (h Credentials) newForm(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	cs, err := h.Store.GetCredentialStore(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	path, cr, err := inStore(r, h.Store, cs.ScopeID, cs.ID, cs.Name, "New credential", "")
	if err != nil {
		return err
	}
	f = clearSecrets(f)
	return render(w, r, status, views.InfraFormPage(h.Meta(r, "New credential", "scopes"), path, cr, "New credential in "+cs.Name, "credential-form",
		"/credential-stores/"+cs.ID+"/credentials/new", "/credential-stores/"+cs.ID, 0, f, views.CredentialFields(f, "")))
}

// Create adds a credential (POST /credential-stores/{id}/credentials/new).
func (h Credentials) Create(w http.ResponseWriter, r *http.Request) error {
	f := formValues(r, credentialFields...)
	c, err := h.Store.CreateCredential(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"), credentialInput(f))
	if err == nil {
		return redirect(w, r, "/credentials/"+c.ID+"?done=created")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return h.newForm(w, r, http.StatusUnprocessableEntity, f)
}

// Edit renders the edit form; secret fields start empty (GET /credentials/{id}/edit).
func (h Credentials) Edit(w http.ResponseWriter, r *http.Request) error {
	return h.editForm(w, r, http.StatusOK, views.Form{})
}

func (h Credentials) editForm(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	c, err := h.Store.GetCredential(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	if !c.Actions[models.ActionUpdate] {
		return models.ErrForbidden
	}
	version := c.Version
	if f.Values == nil {
		f = views.Form{Values: map[string]string{"name": c.Name, "description": c.Description, "username": c.Username}}
	} else {
		version = atoi(f.V("version"))
	}
	path, cr, err := inStore(r, h.Store, c.ScopeID, c.StoreID, c.StoreName, c.Name, "/credentials/"+c.ID, "Edit", "")
	if err != nil {
		return err
	}
	f = clearSecrets(f)
	return render(w, r, status, views.InfraFormPage(h.Meta(r, "Edit "+c.Name, "scopes"), path, cr, "Edit "+c.Name, "credential-form",
		"/credentials/"+c.ID+"/edit", "/credentials/"+c.ID, version, f, views.CredentialFields(f, c.Type)))
}

// Update saves the edit form; empty secret fields keep the secret
// (POST /credentials/{id}/edit).
func (h Credentials) Update(w http.ResponseWriter, r *http.Request) error {
	id, f := chi.URLParam(r, "id"), formValues(r, credentialFields...)
	_, err := h.Store.UpdateCredential(r.Context(), ActorFrom(r.Context()), id, atoi(f.V("version")), credentialInput(f))
	if err == nil {
		return redirect(w, r, "/credentials/"+id+"?done=saved")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return h.editForm(w, r, http.StatusUnprocessableEntity, f)
}

// ConfirmDelete asks before deleting (GET /credentials/{id}/delete).
func (h Credentials) ConfirmDelete(w http.ResponseWriter, r *http.Request) error {
	c, err := h.Store.GetCredential(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	href := "/credentials/" + c.ID
	return h.confirmDelete(w, r, c.Actions[models.ActionDelete], deletePage{"credential", c.Name, href, "Targets stop brokering it."},
		func() ([]models.Scope, []views.Crumb, error) {
			return inStore(r, h.Store, c.ScopeID, c.StoreID, c.StoreName, c.Name, href, "Delete", "")
		})
}

// Delete deletes a credential (POST /credentials/{id}/delete).
func (h Credentials) Delete(w http.ResponseWriter, r *http.Request) error {
	ctx, a, id := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")
	c, err := h.Store.GetCredential(ctx, a, id)
	if err != nil {
		return err
	}
	if err := h.Store.DeleteCredential(ctx, a, id); err != nil {
		return err
	}
	return redirect(w, r, "/credential-stores/"+c.StoreID+"?done=deleted")
}
