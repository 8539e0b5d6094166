package models

import (
	"context"
	"fmt"
	"time"

	"gatehouse/models/acl"
)

// CredentialStoreStatic is the only credential store type: credentials
// entered by hand and kept encrypted.
const CredentialStoreStatic = "static"

// CredentialStore holds credentials (and later credential libraries) in a
// project.
type CredentialStore struct {
	ID          string
	ScopeID     string
	Type        string
	Name        string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int
}

// CredentialStoreInput is the credential store form.
type CredentialStoreInput struct {
	Name        string
	Description string
}

// CredentialStoreItem is a store with its credential count and actions
// (create means: may create credentials in it).
type CredentialStoreItem struct {
	CredentialStore
	Credentials int64
	Actions     map[Action]bool `gorm:"-"`
	// Libraries are its credential libraries the actor may see (filled by
	// GetCredentialStore); MayCreateLibrary whether it may add one.
	Libraries        []CredentialLibraryItem `gorm:"-"`
	MayCreateLibrary bool                    `gorm:"-"`
}

func (in CredentialStoreInput) validate() (CredentialStoreInput, error) {
	v := validator{}
	in.Name = v.text("name", "Name", in.Name, true, 128)
	in.Description = v.text("description", "Description", in.Description, false, 1024)
	return in, v.err()
}

func credentialStoreResource(cs *CredentialStore) acl.Resource {
	return acl.Resource{Type: "credential-store", ID: cs.ID, ScopeID: cs.ScopeID}
}

// CreateCredentialStore creates a static credential store in a project.
// Errors: ErrInvalid (bad input, duplicate name, scope not a project),
// ErrNotFound, ErrForbidden.
func (s *Store) CreateCredentialStore(ctx context.Context, a Actor, projectID string, in CredentialStoreInput) (*CredentialStore, error) {
	return createNamed(ctx, s, a, projectID, "credential-store", "credential store", "credential_stores", in.validate, func(p *Scope, in CredentialStoreInput, now time.Time) (*CredentialStore, string) {
		return &CredentialStore{ID: NewID(PrefixCredentialStore), ScopeID: p.ID, Type: CredentialStoreStatic, Name: in.Name,
			Description: in.Description, CreatedAt: now, UpdatedAt: now, Version: 1}, in.Name
	})
}

func (s *Store) readCredentialStore(ctx context.Context, a Actor, id string) (*CredentialStore, error) {
	return readItem(ctx, s, a, "credential store", id, credentialStoreResource)
}

// GetCredentialStore returns one store with its count and actions.
func (s *Store) GetCredentialStore(ctx context.Context, a Actor, id string) (*CredentialStoreItem, error) {
	cs, err := s.readCredentialStore(ctx, a, id)
	if err != nil {
		return nil, err
	}
	item := &CredentialStoreItem{CredentialStore: *cs, Actions: s.Allowed(ctx, a, credentialStoreResource(cs), ActionUpdate, ActionDelete)}
	item.Actions[ActionCreate] = s.authorize(ctx, a, ActionCreate, acl.Resource{Type: "credential", ScopeID: cs.ScopeID, ParentID: cs.ID}) == nil
	// The count is that of the store page's list.
	cond, args, err := s.listCondition(ctx, a, "credential", ActionRead, credentialColumns)
	if err != nil {
		return nil, err
	}
	if err := s.q(ctx).Table("credentials AS cr").Where("cr.store_id = ?", id).Where(cond, args...).Count(&item.Credentials).Error; err != nil {
		return nil, fmt.Errorf("count credentials: %w", err)
	}
	item.MayCreateLibrary = s.authorize(ctx, a, ActionCreate, acl.Resource{Type: "credential-library", ScopeID: cs.ScopeID, ParentID: cs.ID}) == nil
	// The store page shows every library the actor may list (none when it
	// may see the store but not list its libraries).
	if s.authorize(ctx, a, ActionList, acl.Resource{Type: "credential-library", ScopeID: cs.ScopeID, ParentID: cs.ID}) == nil {
		if item.Libraries, _, err = s.storeLibraries(ctx, a, cs, ListOptions{}); err != nil {
			return nil, err
		}
	}
	return item, nil
}

// ListCredentialStores lists the stores of a project the actor may see.
func (s *Store) ListCredentialStores(ctx context.Context, a Actor, projectID string, opt ListOptions) (Page[CredentialStoreItem], error) {
	opt = opt.norm()
	page := Page[CredentialStoreItem]{Page: opt.Page, PerPage: opt.PerPage}
	if _, err := s.projectCollection(ctx, a, projectID, "credential-store", ActionList); err != nil {
		return page, err
	}
	cond, args, err := s.listCondition(ctx, a, "credential-store", ActionRead, ListColumns{Scope: "cs.scope_id", ID: "cs.id"})
	if err != nil {
		return page, err
	}
	q := s.q(ctx).Table("credential_stores AS cs").Where("cs.scope_id = ?", projectID).Where(cond, args...)
	q = s.searchNameDesc(q, "cs", opt.Search)
	if err := q.Count(&page.Total).Error; err != nil {
		return page, fmt.Errorf("count credential stores: %w", err)
	}
	creds, cargs, err := s.visibleCount(ctx, a, "credential", "credentials", "cr", credentialColumns, "cr.store_id = cs.id")
	if err != nil {
		return page, err
	}
	err = q.Select("cs.*, "+creds+" AS credentials", cargs...).
		Order("lower(cs.name), cs.id").Limit(opt.PerPage).Offset(opt.offset()).Scan(&page.Items).Error
	if err != nil {
		return page, fmt.Errorf("list credential stores: %w", err)
	}
	for i := range page.Items {
		page.Items[i].Actions = s.Allowed(ctx, a, credentialStoreResource(&page.Items[i].CredentialStore), ActionRead, ActionUpdate, ActionDelete)
	}
	return page, nil
}

// UpdateCredentialStore changes a store's name and description; version must
// match (ErrConflict otherwise).
func (s *Store) UpdateCredentialStore(ctx context.Context, a Actor, id string, version int, in CredentialStoreInput) (*CredentialStore, error) {
	return updateItem(ctx, s, a, "credential store", id, version, credentialStoreResource, func(cs *CredentialStore) (map[string]any, unique, error) {
		in, err := in.validate()
		return map[string]any{"name": in.Name, "description": in.Description}, unique{Table: "credential_stores", Parent: "scope_id",
			ParentID: cs.ScopeID, Value: in.Name, Message: fmt.Sprintf("Another credential store in this project is already named %q.", in.Name)}, err
	})
}

// DeleteCredentialStore deletes a store with its credentials (removing them
// from every target).
func (s *Store) DeleteCredentialStore(ctx context.Context, a Actor, id string) error {
	return deleteItem(ctx, s, a, "credential store", id, credentialStoreResource)
}
