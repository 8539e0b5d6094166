package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// IssuedCredential is a credential brokered to a session, with its secret,
// for the session's user only. Which secret fields are set depends on Type
// (username_password: Username, Password; ssh_private_key: Username,
// PrivateKey, Passphrase; json: Object).
type IssuedCredential struct {
	ID         string
	Name       string
	Type       string
	Purpose    string
	StoreID    string
	StoreName  string
	LibraryID  string
	Source     string
	Username   string
	Password   string
	PrivateKey string
	Passphrase string
	Object     json.RawMessage
	// Principals, Certificate (authorized_keys format; empty until a
	// public key is signed) and ValidBefore are an SSH certificate's.
	Principals  []string
	Certificate string
	ValidBefore *time.Time
}

// CredentialSource is one brokered credential source of a target.
type CredentialSource struct {
	CredentialID string
	LibraryID    string
	Purpose      string
}

// CredentialIssuer hands out static credentials for sessions. Issue is
// called once per source when a session starts (inside its transaction);
// Revoke exactly once per issued credential when the session terminates
// (inside the terminating transaction, after the row is marked revoked).
// Static credentials are simply marked no longer in use. Credential
// libraries (credlibrary*.go) mint at their backend and revoke after
// commit through the revocation queue.
type CredentialIssuer interface {
	Issue(ctx context.Context, tx *Store, src CredentialSource) (*IssuedCredential, error)
	Revoke(ctx context.Context, tx *Store, issued SessionCredentialRow) error
}

// SourceStatic names the library of static credentials.
const SourceStatic = "static"

// StaticLibrary is the library of static credentials (the default for
// source "static"); wrappers may delegate to it.
var StaticLibrary CredentialIssuer = staticLibrary{}

// staticLibrary hands out a static credential (decrypted) and revokes by
// marking it no longer in use (done by the caller's UPDATE).
type staticLibrary struct{}

func (staticLibrary) Issue(ctx context.Context, tx *Store, src CredentialSource) (*IssuedCredential, error) {
	return tx.staticCredential(ctx, src.CredentialID)
}

func (staticLibrary) Revoke(context.Context, *Store, SessionCredentialRow) error { return nil }

// credentialLibrary returns the library registered for source.
func (s *Store) credentialLibrary(source string) CredentialIssuer {
	if l, ok := s.opts.Sessions.CredentialIssuers[source]; ok {
		return l
	}
	return staticLibrary{}
}

type staticCredentialRow struct {
	ID, Name, Type, Username, Secret, StoreID, StoreName string
}

// staticCredential loads and decrypts a static credential, without any
// authorization check: the session use case has decided already.
func (s *Store) staticCredential(ctx context.Context, id string) (*IssuedCredential, error) {
	var row staticCredentialRow
	err := s.q(ctx).Raw(`SELECT c.id, c.name, c.type, c.username, c.secret, c.store_id, cs.name AS store_name
		FROM credentials c JOIN credential_stores cs ON cs.id = c.store_id WHERE c.id = ?`, id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("credential %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("load credential %s: %w", id, err)
	}
	if s.opts.Crypter == nil {
		return nil, fmt.Errorf("decrypt credential %s: no root key configured", id)
	}
	plain, err := s.opts.Crypter.Decrypt(row.Secret, row.ID)
	if err != nil {
		return nil, fmt.Errorf("decrypt credential %s: %w", id, err)
	}
	var sec struct {
		Password   string          `json:"password"`
		PrivateKey string          `json:"private_key"`
		Passphrase string          `json:"passphrase"`
		Object     json.RawMessage `json:"object"`
	}
	if err := json.Unmarshal(plain, &sec); err != nil {
		return nil, fmt.Errorf("decode credential %s: %w", id, err)
	}
	return &IssuedCredential{ID: row.ID, Name: row.Name, Type: row.Type, StoreID: row.StoreID, StoreName: row.StoreName,
		Source: SourceStatic, Username: row.Username, Password: sec.Password, PrivateKey: sec.PrivateKey,
		Passphrase: sec.Passphrase, Object: sec.Object}, nil
}

// issueCredentials obtains one credential per brokered source of the target
// (static credentials, then one per attached credential library) and
// records them on the session. A target without sources of a kind (t's
// flags, read with it) costs no query for that kind.
func (s *Store) issueCredentials(ctx context.Context, sess *Session, userName string, t *sessionTarget, now time.Time) ([]IssuedCredential, error) {
	sessionID, targetID, targetName := sess.ID, sess.TargetID, t.Name
	var srcs []CredentialSource
	q := s.keyShare(`SELECT tcs.credential_id, tcs.purpose FROM target_credential_sources tcs
		JOIN credentials c ON c.id = tcs.credential_id JOIN credential_stores cs ON cs.id = c.store_id
		WHERE tcs.target_id = ? ORDER BY tcs.credential_id`, "c, cs")
	if t.HasCredentialSources {
		if err := s.q(ctx).Raw(q, targetID).Scan(&srcs).Error; err != nil {
			return nil, fmt.Errorf("credential sources of %s: %w", targetID, err)
		}
	}
	out := make([]IssuedCredential, 0, len(srcs))
	rows := make([]SessionCredentialRow, 0, len(srcs))
	for _, src := range srcs {
		lib := s.credentialLibrary(SourceStatic)
		c, err := lib.Issue(ctx, s, src)
		if err != nil {
			return nil, fmt.Errorf("issue credential %s: %w", src.CredentialID, err)
		}
		c.Purpose = src.Purpose
		out = append(out, *c)
		rows = append(rows, SessionCredentialRow{SessionID: sessionID, CredentialID: c.ID, LibraryID: c.LibraryID,
			StoreID: c.StoreID, Name: c.Name, Type: c.Type, Purpose: src.Purpose, Source: SourceStatic, IssuedAt: now, Facts: "{}"})
	}
	var dyn []IssuedCredential
	var dynRows []SessionCredentialRow
	if t.HasLibrarySources {
		var err error
		if dyn, dynRows, err = s.issueLibraryCredentials(ctx, sess, userName, targetName, now); err != nil {
			return nil, err
		}
	}
	out, rows = append(out, dyn...), append(rows, dynRows...)
	if len(rows) > 0 {
		if err := s.q(ctx).Create(&rows).Error; err != nil {
			return nil, fmt.Errorf("record credentials of %s: %w", sessionID, err)
		}
	}
	return out, nil
}

// revokeCredentials marks every not yet revoked credential of the sessions
// revoked (the conditional UPDATE claims each row once, even when
// terminations race). Static credentials: their issuer's Revoke runs here,
// exactly once. SSH certificates go on their library's revocation list at
// once. Postgres roles are queued for revocation after commit
// (credlibrary_revoke.go). The warehouse records the revocations done.
func (s *Store) revokeCredentials(ctx context.Context, sessionIDs []string, now time.Time) error {
	queued := false
	for _, ids := range chunks(sessionIDs, 500) {
		n, err := s.queueRevocations(ctx, ids, now)
		if err != nil {
			return err
		}
		queued = queued || n > 0
		var rows []SessionCredentialRow
		err = s.q(ctx).Raw(`UPDATE session_credentials SET revoked_at = ?, secret = '' WHERE session_id IN ? AND revoked_at IS NULL
			RETURNING session_id, credential_id, library_id, store_id, name, type, purpose, source`, now, ids).Scan(&rows).Error
		if err != nil {
			return fmt.Errorf("revoke credentials: %w", err)
		}
		for _, r := range rows {
			if r.Source != SourceStatic {
				continue
			}
			r.RevokedAt = &now
			if err := s.credentialLibrary(r.Source).Revoke(ctx, s, r); err != nil {
				return fmt.Errorf("revoke credential %s of session %s: %w", r.CredentialID, r.SessionID, err)
			}
		}
		if err := s.q(ctx).Exec("UPDATE ssh_certificates SET revoked_at = ? WHERE session_id IN ? AND revoked_at IS NULL", now, ids).Error; err != nil {
			return fmt.Errorf("revoke certificates: %w", err)
		}
		if len(rows) > 0 {
			if err := s.warehouseRevocations(ctx, ids); err != nil {
				return err
			}
		}
	}
	if queued {
		s.afterCommit(s.kickRevocations)
	}
	return nil
}

// chunks splits ids into slices of at most n.
func chunks[T any](ids []T, n int) [][]T {
	var out [][]T
	for len(ids) > n {
		out = append(out, ids[:n])
		ids = ids[n:]
	}
	if len(ids) > 0 {
		out = append(out, ids)
	}
	return out
}
