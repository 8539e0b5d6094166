package models

import (
	"context"
	"encoding/json"
	"fmt"

	"gatehouse/models/acl"
)

// CreateCredential adds a static credential to a store, its secret
// encrypted with the root key (aad = the credential id). Errors: ErrInvalid
// (bad input by field: a bad SSH key, JSON that is not an object, a
// duplicate name in the store), ErrNotFound, ErrForbidden.
func (s *Store) CreateCredential(ctx context.Context, a Actor, storeID string, in CredentialInput) (*Credential, error) {
	var out *Credential
	err := s.createTx(ctx, a, "credential", func() string { return out.ID }, func(tx *Store) error {
		cs, err := tx.readCredentialStore(ctx, a, storeID)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionCreate, acl.Resource{Type: "credential", ScopeID: cs.ScopeID, ParentID: cs.ID}); err != nil {
			return err
		}
		in, secret, fp, err := in.validate(in.Type, true)
		if err := tx.checkInput(ctx, err, unique{Table: "credentials", Parent: "store_id", ParentID: cs.ID, Value: in.Name,
			Message: fmt.Sprintf("%s already has a credential named %q.", cs.Name, in.Name)}); err != nil {
			return err
		}
		row := credentialRow{Credential: Credential{ID: NewID(credentialPrefix(in.Type)), StoreID: cs.ID, ScopeID: cs.ScopeID,
			Type: in.Type, Name: in.Name, Description: in.Description, Username: in.Username, Fingerprint: fp,
			CreatedAt: tx.now(), UpdatedAt: tx.now(), Version: 1}}
		if row.Secret, err = tx.sealSecret(row.ID, secret); err != nil {
			return fmt.Errorf("encrypt credential: %w", err)
		}
		if err := tx.q(ctx).Create(&row).Error; err != nil {
			if isUniqueViolation(err) {
				return Invalid("name", fmt.Sprintf("%s already has a credential named %q.", cs.Name, in.Name))
			}
			return fmt.Errorf("create credential: %w", err)
		}
		out = &row.Credential
		return nil
	})
	return out, err
}

func (s *Store) readCredential(ctx context.Context, a Actor, id string) (*Credential, error) {
	return readItem(ctx, s, a, "credential", id, credentialResource)
}

// GetCredential returns a credential without its secret.
func (s *Store) GetCredential(ctx context.Context, a Actor, id string) (*CredentialItem, error) {
	c, err := s.readCredential(ctx, a, id)
	if err != nil {
		return nil, err
	}
	item := &CredentialItem{Credential: *c, Actions: s.Allowed(ctx, a, credentialResource(c), ActionUpdate, ActionDelete)}
	if err := s.q(ctx).Model(&CredentialStore{}).Select("name").Where("id = ?", c.StoreID).Scan(&item.StoreName).Error; err != nil {
		return nil, fmt.Errorf("load store name: %w", err)
	}
	return item, nil
}

// ListCredentials lists the credentials of a store the actor may see,
// searching name, description and username; secrets are never loaded.
func (s *Store) ListCredentials(ctx context.Context, a Actor, storeID string, opt ListOptions) (Page[CredentialItem], error) {
	opt = opt.norm()
	page := Page[CredentialItem]{Page: opt.Page, PerPage: opt.PerPage}
	cs, err := s.readCredentialStore(ctx, a, storeID)
	if err != nil {
		return page, err
	}
	if err := s.authorize(ctx, a, ActionList, acl.Resource{Type: "credential", ScopeID: cs.ScopeID, ParentID: cs.ID}); err != nil {
		return page, err
	}
	cond, args, err := s.listCondition(ctx, a, "credential", ActionRead, ListColumns{Scope: "cr.scope_id", ID: "cr.id", Parent: "cr.store_id"})
	if err != nil {
		return page, err
	}
	q := s.q(ctx).Table("credentials AS cr").Where("cr.store_id = ?", cs.ID).Where(cond, args...)
	q = s.searchNameDesc(q, "cr", opt.Search, "cr.username")
	if err := q.Count(&page.Total).Error; err != nil {
		return page, fmt.Errorf("count credentials: %w", err)
	}
	err = q.Select("cr.id, cr.store_id, cr.scope_id, cr.type, cr.name, cr.description, cr.username, cr.fingerprint, " +
		"cr.created_at, cr.updated_at, cr.version").
		Order("lower(cr.name), cr.id").Limit(opt.PerPage).Offset(opt.offset()).Scan(&page.Items).Error
	if err != nil {
		return page, fmt.Errorf("list credentials: %w", err)
	}
	for i := range page.Items {
		page.Items[i].StoreName = cs.Name
		page.Items[i].Actions = s.Allowed(ctx, a, credentialResource(&page.Items[i].Credential), ActionRead, ActionUpdate, ActionDelete)
	}
	return page, nil
}

// UpdateCredential edits a credential; its type never changes. Empty secret
// fields keep the stored secret; a new one is encrypted again. version must
// match (ErrConflict otherwise).
func (s *Store) UpdateCredential(ctx context.Context, a Actor, id string, version int, in CredentialInput) (*Credential, error) {
	var out *Credential
	err := s.changeTx(ctx, a, ActionUpdate, "credential", id, func(tx *Store) error {
		c, err := seeItem(ctx, tx, a, "credential", id, credentialResource)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionUpdate, credentialResource(c)); err != nil {
			return err
		}
		in, secret, fp, err := in.validate(c.Type, false)
		dup := fmt.Sprintf("Another credential in this store is already named %q.", in.Name)
		if err := tx.checkInput(ctx, err, unique{Table: "credentials", Parent: "store_id", ParentID: c.StoreID, ExceptID: id,
			Value: in.Name, Message: dup}); err != nil {
			return err
		}
		updates := map[string]any{"name": in.Name, "description": in.Description, "username": in.Username}
		if secret != nil {
			if updates["secret"], err = tx.sealSecret(id, secret); err != nil {
				return fmt.Errorf("encrypt credential: %w", err)
			}
			if c.Type == CredentialSSHPrivateKey {
				updates["fingerprint"] = fp
			}
		}
		if err := tx.updateVersioned(ctx, &Credential{}, "credential", id, version, updates, dup); err != nil {
			return err
		}
		out, err = first[Credential](tx.q(ctx), "credential", id)
		return err
	})
	return out, err
}

// DeleteCredential deletes a credential (removing it from every target).
func (s *Store) DeleteCredential(ctx context.Context, a Actor, id string) error {
	return deleteItem(ctx, s, a, "credential", id, credentialResource)
}

// decryptCredential loads a credential with its decrypted secret, without
// any authorization check: for use inside use cases that already decided
// (starting a session).
func (s *Store) decryptCredential(ctx context.Context, id string) (*BrokeredCredential, error) {
	row, err := first[credentialRow](s.q(ctx), "credential", id)
	if err != nil {
		return nil, err
	}
	if s.opts.Crypter == nil {
		return nil, fmt.Errorf("decrypt credential %s: no root key configured", id)
	}
	plain, err := s.opts.Crypter.Decrypt(row.Secret, row.ID)
	if err != nil {
		return nil, fmt.Errorf("decrypt credential %s: %w", id, err)
	}
	out := &BrokeredCredential{Credential: row.Credential}
	if err := json.Unmarshal(plain, &out.Secret); err != nil {
		return nil, fmt.Errorf("decode credential %s: %w", id, err)
	}
	return out, nil
}

// RewrapCredentialSecrets re-encrypts under the current root key every
// secret sealed under a previous one: static credentials, credential
// libraries (Postgres passwords, SSH CA keys), the secrets of live issued
// credentials and of pending revocations (root key rotation: start with
// the new key as current and the old one as previous, run this, then drop
// the old key). It needs no actor: it changes no meaning, only the key.
// It returns how many secrets it rewrapped; safe to run concurrently (each
// row is rewritten only while it still holds the ciphertext it read).
func (s *Store) RewrapCredentialSecrets(ctx context.Context) (int, error) {
	if s.opts.Crypter == nil {
		return 0, nil
	}
	total := 0
	for _, t := range []struct{ table, column, aad string }{
		{"credentials", "secret", "id"},
		{"credential_libraries", "secret", "id"},
		{"session_credentials", "secret", "session_id || '/' || credential_id"},
		{"credential_revocations", "payload", "session_id || '/' || credential_id"},
	} {
		n, err := s.rewrap(ctx, t.table, t.column, t.aad)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// rewrap re-encrypts column of table (aad: an SQL expression naming the
// row, also its key) where it was sealed under a previous key.
func (s *Store) rewrap(ctx context.Context, table, column, aad string) (int, error) {
	var rows []struct{ AAD, Sealed string }
	if err := s.q(ctx).Table(table).Select(aad + " AS aad, " + column + " AS sealed").Where(column + " <> ''").Scan(&rows).Error; err != nil {
		return 0, fmt.Errorf("load %s secrets: %w", table, err)
	}
	n := 0
	for _, r := range rows {
		if !s.opts.Crypter.NeedsRewrap(r.Sealed) {
			continue
		}
		plain, err := s.opts.Crypter.Decrypt(r.Sealed, r.AAD)
		if err != nil {
			return n, fmt.Errorf("rewrap %s %s: %w", table, r.AAD, err)
		}
		sealed, err := s.opts.Crypter.Encrypt(plain, r.AAD)
		if err != nil {
			return n, fmt.Errorf("rewrap %s %s: %w", table, r.AAD, err)
		}
		res := s.q(ctx).Table(table).Where(aad+" = ? AND "+column+" = ?", r.AAD, r.Sealed).Update(column, sealed)
		if res.Error != nil {
			return n, fmt.Errorf("rewrap %s %s: %w", table, r.AAD, res.Error)
		}
		n += int(res.RowsAffected)
	}
	return n, nil
}
