package handlers

import (
	"context"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"gatehouse/models"
	"gatehouse/views"
)

// CredentialLibraryStore is what the credential library pages need from
// the domain. No call returns a library's secret.
type CredentialLibraryStore interface {
	PathStore
	GetCredentialStore(ctx context.Context, a models.Actor, id string) (*models.CredentialStoreItem, error)
	GetCredentialLibrary(ctx context.Context, a models.Actor, id string) (*models.CredentialLibraryItem, error)
	CreateCredentialLibrary(ctx context.Context, a models.Actor, storeID string, in models.CredentialLibraryInput) (*models.CredentialLibrary, error)
	UpdateCredentialLibrary(ctx context.Context, a models.Actor, id string, version int, in models.CredentialLibraryInput) (*models.CredentialLibrary, error)
	DeleteCredentialLibrary(ctx context.Context, a models.Actor, id string) error
	TestCredentialLibrary(ctx context.Context, a models.Actor, id string) (string, error)
	AddTargetLibrarySources(ctx context.Context, a models.Actor, targetID string, libraryIDs []string) error
	RemoveTargetLibrarySource(ctx context.Context, a models.Actor, targetID, libraryID string) error
	SignSessionSSHKey(ctx context.Context, a models.Actor, sessionID, publicKey string) ([]models.IssuedCredential, error)
	RetryRevocation(ctx context.Context, a models.Actor, sessionID, credentialID string) error
	GetHistorySession(ctx context.Context, a models.Actor, id string) (*models.HistoryRecord, error)
	SSHCAPublicKey(ctx context.Context, libraryID string) (string, error)
	SSHRevocationList(ctx context.Context, libraryID string) ([]byte, error)
}

// CredentialLibraries serves the credential library pages, attaching
// libraries to targets, the SSH key form of the session page, revocation
// retries, and the public CA key and KRL of SSH libraries.
type CredentialLibraries struct {
	Base
	Store CredentialLibraryStore
	// Targets re-renders a target page with a source form's errors.
	Targets Targets
	// ExternalURL is Gatehouse's address (for the KRL command shown).
	ExternalURL string
}

var libraryFields = []string{"type", "name", "description", "url", "password", "username_template", "grant_roles",
	"creation_statements", "revocation_statements", "principals_template", "clock_skew_seconds", "version"}

func libraryInput(r *http.Request, f views.Form) models.CredentialLibraryInput {
	in := models.CredentialLibraryInput{Type: f.V("type"), Name: f.V("name"), Description: f.V("description"), URL: f.V("url"),
		Password: f.V("password"), UsernameTemplate: f.V("username_template"), GrantRoles: f.V("grant_roles"),
		CreationStatements: f.V("creation_statements"), RevocationStatements: f.V("revocation_statements"),
		PrincipalsTemplate: f.V("principals_template"), ClockSkewSeconds: f.V("clock_skew_seconds")}
	for _, e := range models.SSHExtensions {
		if r.PostFormValue("ext_"+e) != "" {
			in.Extensions = append(in.Extensions, e)
			f.Values["ext_"+e] = "on"
		}
	}
	for _, e := range r.PostForm["extensions"] { // the form's other spelling (API-like clients)
		in.Extensions = append(in.Extensions, e)
	}
	return in
}

// Show renders a library without its secret (GET /credential-libraries/{id}).
func (h CredentialLibraries) Show(w http.ResponseWriter, r *http.Request) error {
	return h.show(w, r, http.StatusOK, nil)
}

func (h CredentialLibraries) show(w http.ResponseWriter, r *http.Request, status int, test *views.LibraryTest) error {
	l, err := h.Store.GetCredentialLibrary(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	path, cr, err := inStore(r, h.Store, l.ScopeID, l.StoreID, l.StoreName, l.Name, "")
	if err != nil {
		return err
	}
	m := h.Meta(r, l.Name, "scopes")
	if test != nil {
		m.ReplaceURL = "/credential-libraries/" + l.ID // a reload shows the page, it does not test again
	}
	return render(w, r, status, views.CredentialLibraryPage(m, path, cr, l, h.ExternalURL, test))
}

// Test connects a Postgres library to its server and shows what is wrong,
// if anything (POST /credential-libraries/{id}/test).
func (h CredentialLibraries) Test(w http.ResponseWriter, r *http.Request) error {
	problem, err := h.Store.TestCredentialLibrary(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return h.show(w, r, http.StatusOK, &views.LibraryTest{OK: problem == "", Message: problem})
}

// New renders the create form of the ?type= kind
// (GET /credential-stores/{id}/libraries/new).
func (h CredentialLibraries) New(w http.ResponseWriter, r *http.Request) error {
	typ := r.URL.Query().Get("type")
	if typ != models.LibrarySSHCert {
		typ = models.LibraryPostgres
	}
	in := models.NewLibraryInput(typ)
	f := views.Form{Values: map[string]string{"type": typ, "username_template": in.UsernameTemplate,
		"creation_statements": in.CreationStatements, "revocation_statements": in.RevocationStatements,
		"principals_template": in.PrincipalsTemplate, "clock_skew_seconds": in.ClockSkewSeconds}}
	for _, e := range in.Extensions {
		f.Values["ext_"+e] = "on"
	}
	return h.newForm(w, r, http.StatusOK, f)
}

func (h CredentialLibraries) newForm(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	cs, err := h.Store.GetCredentialStore(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	path, cr, err := inStore(r, h.Store, cs.ScopeID, cs.ID, cs.Name, "New credential library", "")
	if err != nil {
		return err
	}
	if !cs.MayCreateLibrary {
		return models.ErrForbidden
	}
	delete(f.Values, "password")
	typ := f.V("type")
	return render(w, r, status, views.InfraFormPage(h.Meta(r, "New credential library", "scopes"), path, cr,
		"New "+models.LibraryTypeLabel(typ)+" library in "+cs.Name, "library-form",
		"/credential-stores/"+cs.ID+"/libraries/new", "/credential-stores/"+cs.ID, 0, f, views.CredentialLibraryFields(f, typ, true)))
}

// Create adds a library (POST /credential-stores/{id}/libraries/new).
func (h CredentialLibraries) Create(w http.ResponseWriter, r *http.Request) error {
	f := formValues(r, libraryFields...)
	l, err := h.Store.CreateCredentialLibrary(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"), libraryInput(r, f))
	if err == nil {
		return redirect(w, r, "/credential-libraries/"+l.ID+"?done=created")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return h.newForm(w, r, http.StatusUnprocessableEntity, f)
}

// Edit renders the edit form; the password starts empty
// (GET /credential-libraries/{id}/edit).
func (h CredentialLibraries) Edit(w http.ResponseWriter, r *http.Request) error {
	return h.editForm(w, r, http.StatusOK, views.Form{})
}

func (h CredentialLibraries) editForm(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	l, err := h.Store.GetCredentialLibrary(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	if !l.Actions[models.ActionUpdate] {
		return models.ErrForbidden
	}
	version := l.Version
	if f.Values == nil {
		f = views.LibraryForm(&l.CredentialLibrary)
	} else {
		version = atoi(f.V("version"))
	}
	path, cr, err := inStore(r, h.Store, l.ScopeID, l.StoreID, l.StoreName, l.Name, "/credential-libraries/"+l.ID, "Edit", "")
	if err != nil {
		return err
	}
	delete(f.Values, "password")
	return render(w, r, status, views.InfraFormPage(h.Meta(r, "Edit "+l.Name, "scopes"), path, cr, "Edit "+l.Name, "library-form",
		"/credential-libraries/"+l.ID+"/edit", "/credential-libraries/"+l.ID, version, f, views.CredentialLibraryFields(f, l.Type, false)))
}

// Update saves the edit form (POST /credential-libraries/{id}/edit).
func (h CredentialLibraries) Update(w http.ResponseWriter, r *http.Request) error {
	id, f := chi.URLParam(r, "id"), formValues(r, libraryFields...)
	_, err := h.Store.UpdateCredentialLibrary(r.Context(), ActorFrom(r.Context()), id, atoi(f.V("version")), libraryInput(r, f))
	if err == nil {
		return redirect(w, r, "/credential-libraries/"+id+"?done=saved")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return h.editForm(w, r, http.StatusUnprocessableEntity, f)
}

// ConfirmDelete asks before deleting (GET /credential-libraries/{id}/delete).
func (h CredentialLibraries) ConfirmDelete(w http.ResponseWriter, r *http.Request) error {
	l, err := h.Store.GetCredentialLibrary(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	href := "/credential-libraries/" + l.ID
	return h.confirmDelete(w, r, l.Actions[models.ActionDelete], deletePage{"credential library", l.Name, href,
		"Every session holding one of its credentials is canceled now, and its credentials are revoked; targets stop using it."},
		func() ([]models.Scope, []views.Crumb, error) {
			return inStore(r, h.Store, l.ScopeID, l.StoreID, l.StoreName, l.Name, href, "Delete", "")
		})
}

// Delete deletes a library (POST /credential-libraries/{id}/delete).
func (h CredentialLibraries) Delete(w http.ResponseWriter, r *http.Request) error {
	ctx, a, id := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")
	l, err := h.Store.GetCredentialLibrary(ctx, a, id)
	if err != nil {
		return err
	}
	if err := h.Store.DeleteCredentialLibrary(ctx, a, id); err != nil {
		return err
	}
	return redirect(w, r, "/credential-stores/"+l.StoreID+"?done=deleted")
}

// Attach attaches libraries to a target (POST /targets/{id}/library-sources).
func (h CredentialLibraries) Attach(w http.ResponseWriter, r *http.Request) error {
	id, f := chi.URLParam(r, "id"), views.Form{Values: map[string]string{}}
	err := h.Store.AddTargetLibrarySources(r.Context(), ActorFrom(r.Context()), id, multiValues(r, &f, "library_ids"))
	return h.Targets.afterSourceChange(w, r, id, f, err)
}

// Detach detaches a library from a target
// (POST /targets/{id}/library-sources/{library}/remove).
func (h CredentialLibraries) Detach(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if err := h.Store.RemoveTargetLibrarySource(r.Context(), ActorFrom(r.Context()), id, chi.URLParam(r, "library")); err != nil {
		return err
	}
	return redirect(w, r, "/targets/"+id+"?done=removed")
}

// SignKey signs a pasted public key for the session's SSH libraries
// (POST /sessions/{id}/ssh-key); a bad key is shown on a form of its own.
func (h CredentialLibraries) SignKey(w http.ResponseWriter, r *http.Request) error {
	id, f := chi.URLParam(r, "id"), formValues(r, "public_key")
	_, err := h.Store.SignSessionSSHKey(r.Context(), ActorFrom(r.Context()), id, f.V("public_key"))
	if err == nil {
		return redirect(w, r, "/sessions/"+id+"?done=saved#credentials")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return render(w, r, http.StatusUnprocessableEntity, views.SSHKeyPage(h.Meta(r, "Sign a public key", "sessions"), id, f))
}

// Retry makes a credential's revocation due now
// (POST /sessions/{id}/revocations/{credential}/retry). When there is
// nothing to retry (revoked meanwhile), the audit record shows why next to
// that credential instead.
func (h CredentialLibraries) Retry(w http.ResponseWriter, r *http.Request) error {
	ctx, a, id, cred := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"), chi.URLParam(r, "credential")
	err := h.Store.RetryRevocation(ctx, a, id, cred)
	if err == nil {
		return redirect(w, r, "/audit/sessions/"+id+"?done=saved")
	}
	msg := models.FieldErrors(err)["revocation"]
	if msg == "" {
		return err
	}
	rec, err := h.Store.GetHistorySession(ctx, a, id)
	if err != nil {
		return err
	}
	return render(w, r, http.StatusUnprocessableEntity, views.HistoryRecordPage(h.Meta(r, "Session "+rec.Session.SessionID, "audit"),
		rec, views.RetryNotice{CredentialID: cred, Message: msg}))
}

// CAPublicKey serves an SSH library's CA public key, for sshd's
// TrustedUserCAKeys (GET /credential-libraries/{id}/ca.pub, anonymous).
func (h CredentialLibraries) CAPublicKey(w http.ResponseWriter, r *http.Request) error {
	key, err := h.Store.SSHCAPublicKey(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err = w.Write([]byte(strings.TrimSpace(key) + "\n"))
	return err
}

// KRL serves an SSH library's revocation list, for sshd's RevokedKeys
// (GET /credential-libraries/{id}/krl, anonymous; fetch it every minute).
func (h CredentialLibraries) KRL(w http.ResponseWriter, r *http.Request) error {
	krl, err := h.Store.SSHRevocationList(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(krl)
	return err
}
