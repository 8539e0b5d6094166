package models

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"gatehouse/models/acl"
)

// CreateCredentialLibrary adds a library to a credential store. A Postgres
// library's password is sealed under the root key; an SSH library gets a
// new Ed25519 CA whose private key is sealed. Errors: ErrInvalid (by
// field, a duplicate name in the store), ErrNotFound, ErrForbidden.
func (s *Store) CreateCredentialLibrary(ctx context.Context, a Actor, storeID string, in CredentialLibraryInput) (*CredentialLibrary, error) {
	var out *CredentialLibrary
	err := s.createTx(ctx, a, "credential-library", func() string { return out.ID }, func(tx *Store) error {
		cs, err := tx.readCredentialStore(ctx, a, storeID)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionCreate, acl.Resource{Type: "credential-library", ScopeID: cs.ScopeID, ParentID: cs.ID}); err != nil {
			return err
		}
		in, set, password, err := in.validate(in.Type, true)
		if err := tx.checkInput(ctx, err, unique{Table: "credential_libraries", Parent: "store_id", ParentID: cs.ID, Value: in.Name,
			Message: fmt.Sprintf("%s already has a credential library named %q.", cs.Name, in.Name)}); err != nil {
			return err
		}
		be, err := tx.backend()
		if err != nil {
			return err
		}
		row := libraryRow{CredentialLibrary: CredentialLibrary{ID: NewID(libraryPrefix(in.Type)), StoreID: cs.ID, ScopeID: cs.ScopeID,
			Type: in.Type, Name: in.Name, Description: in.Description, CreatedAt: tx.now(), UpdatedAt: tx.now(), Version: 1}}
		settings, _ := json.Marshal(set)
		row.Settings = string(settings)
		var sec librarySecret
		if in.Type == LibrarySSHCert {
			if sec.CAPrivate, row.PublicKey, err = be.NewSSHCA(); err != nil {
				return fmt.Errorf("generate SSH CA: %w", err)
			}
		} else {
			sec.Password = *password
		}
		if row.Secret, err = tx.seal(row.ID, sec); err != nil {
			return fmt.Errorf("encrypt library secret: %w", err)
		}
		if err := tx.q(ctx).Create(&row).Error; err != nil {
			if isUniqueViolation(err) {
				return Invalid("name", fmt.Sprintf("%s already has a credential library named %q.", cs.Name, in.Name))
			}
			return fmt.Errorf("create credential library: %w", err)
		}
		out = &row.CredentialLibrary
		return nil
	})
	return out, err
}

func (s *Store) readLibrary(ctx context.Context, a Actor, id string) (*CredentialLibrary, error) {
	return readItem(ctx, s, a, "credential library", id, libraryResource)
}

// GetCredentialLibrary returns a library without its secret.
func (s *Store) GetCredentialLibrary(ctx context.Context, a Actor, id string) (*CredentialLibraryItem, error) {
	l, err := s.readLibrary(ctx, a, id)
	if err != nil {
		return nil, err
	}
	item := &CredentialLibraryItem{CredentialLibrary: *l, Actions: s.Allowed(ctx, a, libraryResource(l), ActionUpdate, ActionDelete)}
	if err := s.q(ctx).Model(&CredentialStore{}).Select("name").Where("id = ?", l.StoreID).Scan(&item.StoreName).Error; err != nil {
		return nil, fmt.Errorf("load store name: %w", err)
	}
	return item, nil
}

// ListCredentialLibraries lists one page of the libraries of a store the
// actor may see, matching opt.Search on name, description and type, with
// their total. Errors: ErrNotFound (the store), ErrForbidden (may see the
// store but not list its libraries).
func (s *Store) ListCredentialLibraries(ctx context.Context, a Actor, storeID string, opt ListOptions) (Page[CredentialLibraryItem], error) {
	opt = opt.norm()
	page := Page[CredentialLibraryItem]{Page: opt.Page, PerPage: opt.PerPage}
	cs, err := s.readCredentialStore(ctx, a, storeID)
	if err != nil {
		return page, err
	}
	if err := s.authorize(ctx, a, ActionList, acl.Resource{Type: "credential-library", ScopeID: cs.ScopeID, ParentID: cs.ID}); err != nil {
		return page, err
	}
	page.Items, page.Total, err = s.storeLibraries(ctx, a, cs, opt)
	return page, err
}

// storeLibraries lists the libraries of cs the actor may read (one page of
// opt; every one when opt.PerPage is 0) with their total: a COUNT for a
// page, the list's own length for every one.
func (s *Store) storeLibraries(ctx context.Context, a Actor, cs *CredentialStore, opt ListOptions) ([]CredentialLibraryItem, int64, error) {
	cond, args, err := s.listCondition(ctx, a, "credential-library", ActionRead, ListColumns{Scope: "cl.scope_id", ID: "cl.id", Parent: "cl.store_id"})
	if err != nil {
		return nil, 0, err
	}
	q := s.q(ctx).Table("credential_libraries AS cl").Where("cl.store_id = ?", cs.ID).Where(cond, args...)
	q = s.searchNameDesc(q, "cl", opt.Search, "cl.type")
	var total int64
	if opt.PerPage > 0 {
		if err := q.Count(&total).Error; err != nil {
			return nil, 0, fmt.Errorf("count credential libraries: %w", err)
		}
	}
	q = q.Select("cl.id, cl.store_id, cl.scope_id, cl.type, cl.name, cl.description, cl.settings, cl.public_key, cl.created_at, cl.updated_at, cl.version").
		Order("lower(cl.name), cl.id")
	if opt.PerPage > 0 {
		q = q.Limit(opt.PerPage).Offset(opt.offset())
	}
	var out []CredentialLibraryItem
	if err := q.Scan(&out).Error; err != nil {
		return nil, 0, fmt.Errorf("list credential libraries: %w", err)
	}
	if opt.PerPage == 0 {
		total = int64(len(out))
	}
	for i := range out {
		out[i].StoreName = cs.Name
		out[i].Actions = s.Allowed(ctx, a, libraryResource(&out[i].CredentialLibrary), ActionRead, ActionUpdate, ActionDelete)
	}
	return out, total, nil
}

// UpdateCredentialLibrary edits a library; its type and SSH CA never
// change, an empty password keeps the stored one. version must match
// (ErrConflict otherwise). Sessions already started keep their credentials.
func (s *Store) UpdateCredentialLibrary(ctx context.Context, a Actor, id string, version int, in CredentialLibraryInput) (*CredentialLibrary, error) {
	return updateItem(ctx, s, a, "credential library", id, version, libraryResource, func(lib *CredentialLibrary) (map[string]any, unique, error) {
		in, set, password, err := in.validate(lib.Type, false)
		u := unique{Table: "credential_libraries", Parent: "store_id", ParentID: lib.StoreID, Value: in.Name,
			Message: fmt.Sprintf("Another credential library in this store is already named %q.", in.Name)}
		if err != nil {
			return nil, u, err
		}
		settings, _ := json.Marshal(set)
		updates := map[string]any{"name": in.Name, "description": in.Description, "settings": string(settings)}
		if password != nil {
			if updates["secret"], err = s.seal(id, librarySecret{Password: *password}); err != nil {
				return nil, u, fmt.Errorf("encrypt library secret: %w", err)
			}
		}
		return updates, u, nil
	})
}

// DeleteCredentialLibrary deletes a library: the sessions using it are
// canceled in the same transaction (their credentials revoked through the
// queue) and it leaves every target.
func (s *Store) DeleteCredentialLibrary(ctx context.Context, a Actor, id string) error {
	return deleteItem(ctx, s, a, "credential library", id, libraryResource)
}

// TestCredentialLibrary checks a Postgres library against its server: it
// connects with the stored password and checks the role may create roles.
// problem says exactly what is wrong, for the admin ("" when all is well).
// Who may update the library may test it. Errors: ErrNotFound,
// ErrForbidden, ErrInvalid (an SSH library: nothing to connect to).
func (s *Store) TestCredentialLibrary(ctx context.Context, a Actor, id string) (problem string, err error) {
	l, err := s.readLibrary(ctx, a, id)
	if err != nil {
		return "", err
	}
	if err := s.authorize(ctx, a, ActionUpdate, libraryResource(l)); err != nil {
		return "", err
	}
	if l.Type != LibraryPostgres {
		return "", Invalid("type", "Only Postgres libraries connect to a server.")
	}
	conn, err := s.libraryConn(ctx, l.ID)
	if err != nil {
		return "", err
	}
	be, err := s.backend()
	if err != nil {
		return "", err
	}
	if err := be.TestPostgres(ctx, conn); err != nil {
		return err.Error(), nil
	}
	return "", nil
}

// libraryConn loads a Postgres library's connection with its password.
func (s *Store) libraryConn(ctx context.Context, id string) (PostgresConn, error) {
	row, err := first[libraryRow](s.q(ctx), "credential library", id)
	if err != nil {
		return PostgresConn{}, err
	}
	var sec librarySecret
	if err := s.unseal(row.Secret, row.ID, &sec); err != nil {
		return PostgresConn{}, fmt.Errorf("decrypt library %s: %w", id, err)
	}
	return PostgresConn{URL: row.Decoded().URL, Password: sec.Password}, nil
}

// LibrarySourceView is a library attached to a target, on its page.
type LibrarySourceView struct {
	TargetID    string
	LibraryID   string
	LibraryName string
	LibraryType string
	StoreID     string
	StoreName   string
	ScopeID     string
}

// targetLibraries fills a target page's attached libraries and, for who
// may attach, the project's libraries to choose from.
func (s *Store) targetLibraries(ctx context.Context, a Actor, d *TargetDetail) error {
	var err error
	if d.LibrarySources, err = s.librarySourceViews(ctx, d.ID); err != nil {
		return err
	}
	if !d.Actions[ActionAddCredentialSources] {
		return nil
	}
	libs, err := s.LibraryChoices(ctx, a, d.ScopeID)
	if err != nil {
		return err
	}
	for _, l := range libs {
		d.LibraryChoices = append(d.LibraryChoices, Choice{ID: l.ID, Label: l.Name + " (" + LibraryTypeLabel(l.Type) + ", " + l.StoreName + ")"})
	}
	return nil
}

// librarySourceViews lists the libraries attached to a target.
func (s *Store) librarySourceViews(ctx context.Context, targetID string) ([]LibrarySourceView, error) {
	var out []LibrarySourceView
	err := s.q(ctx).Table("target_library_sources AS y").
		Joins("JOIN credential_libraries cl ON cl.id = y.library_id").Joins("JOIN credential_stores cs ON cs.id = cl.store_id").
		Where("y.target_id = ?", targetID).
		Select("y.target_id, cl.id AS library_id, cl.name AS library_name, cl.type AS library_type, cs.id AS store_id, cs.name AS store_name, cl.scope_id").
		Order("lower(cl.name), cl.id").Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("load library sources: %w", err)
	}
	return out, nil
}

// AddTargetLibrarySources attaches libraries of the target's own project
// (it needs add-credential-sources on the target). Errors on
// "library_ids": none chosen, unknown ids or libraries of another project.
func (s *Store) AddTargetLibrarySources(ctx context.Context, a Actor, targetID string, libraryIDs []string) error {
	return s.addTargetSources(ctx, a, targetID, libraryIDs, libraryAttachment)
}

// RemoveTargetLibrarySource detaches a library from a target, canceling
// the target's sessions that hold one of its credentials (ErrNotFound when
// it is not attached).
func (s *Store) RemoveTargetLibrarySource(ctx context.Context, a Actor, targetID, libraryID string) error {
	return s.removeTargetSource(ctx, a, targetID, libraryID, libraryAttachment)
}

// LibraryChoices lists the libraries of a project the actor may read, for
// the target page's attach form.
func (s *Store) LibraryChoices(ctx context.Context, a Actor, projectID string) ([]CredentialLibraryItem, error) {
	cond, args, err := s.listCondition(ctx, a, "credential-library", ActionRead, ListColumns{Scope: "cl.scope_id", ID: "cl.id", Parent: "cl.store_id"})
	if err != nil {
		return nil, err
	}
	var out []CredentialLibraryItem
	err = s.q(ctx).Table("credential_libraries AS cl").Joins("JOIN credential_stores cs ON cs.id = cl.store_id").
		Where("cl.scope_id = ?", projectID).Where(cond, args...).
		Select("cl.id, cl.store_id, cl.scope_id, cl.type, cl.name, cs.name AS store_name").
		Order("lower(cl.name), cl.id").Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("library choices: %w", err)
	}
	return out, nil
}

// LibraryTypeLabel is how people read a library or issued credential type.
func LibraryTypeLabel(t string) string {
	switch t {
	case LibraryPostgres:
		return "Postgres role"
	case LibrarySSHCert:
		return "SSH certificate"
	}
	return strings.ReplaceAll(t, "_", " ")
}
