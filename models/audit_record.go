package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"gatehouse/models/acl"

	"gorm.io/gorm"
)

// HistoryRecord is a session's audit record: its snapshot and facts, its
// state timeline and every connection, as the warehouse kept them.
type HistoryRecord struct {
	Session     HistorySession
	States      []HistoryState
	Connections []HistoryConnection
	// Revocations of the session's credentials (none before it terminated).
	Revocations []HistoryRevocation
	// Queue holds the revocation state of library-issued credentials by
	// credential id (pending, revoked, failed with its error and attempts).
	Queue map[string]*Revocation
	// Certificates are the SSH certificates signed for the session, from
	// the warehouse (serial, principals, validity; never the key).
	Certificates []SSHCertificate
	// MayRetry: the actor may retry a revocation of this session.
	MayRetry bool
	// Access is the session's access story: the request and grant it ran
	// under, and every change of its expiration (access_history.go).
	Access []AccessEvent
}

// Revocation returns the queued revocation of the snapshot's credential c,
// or nil (static credentials and SSH certificates are revoked at once).
func (r *HistoryRecord) Revocation(c CredentialRef) *Revocation { return r.Queue[c.ID] }

// CertificatesOf returns the certificates signed for credential c.
func (r *HistoryRecord) CertificatesOf(c CredentialRef) []SSHCertificate {
	var out []SSHCertificate
	for _, x := range r.Certificates {
		if x.CredentialID == c.ID {
			out = append(out, x)
		}
	}
	return out
}

// RevokedAt returns when the snapshot's credential c was revoked, or nil
// when it was not (yet).
func (r *HistoryRecord) RevokedAt(c CredentialRef) *time.Time {
	for _, v := range r.Revocations {
		if v.CredentialID == c.ID && v.Purpose == c.Purpose {
			t := v.RevokedAt
			return &t
		}
	}
	return nil
}

// GetHistorySession returns a session's audit record from the warehouse,
// whatever happened to the resources it names since. ErrNotFound when the
// session is unknown or the actor may not read its history.
func (s *Store) GetHistorySession(ctx context.Context, a Actor, id string) (*HistoryRecord, error) {
	if !a.Authenticated() {
		return nil, ErrUnauthenticated
	}
	var rec HistoryRecord
	err := s.q(ctx).Where("session_id = ?", id).Take(&rec.Session).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("session history %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("session history %s: %w", id, err)
	}
	// Its project may be gone: authorization sees it in the tree as it was
	// (see scope_deleted.go), as the Session history list does.
	scope, err := s.historyScope(ctx, &rec.Session)
	if err != nil {
		return nil, fmt.Errorf("session history %s: %w", id, err)
	}
	res := acl.Resource{Type: sessionType, ID: id, ScopeID: scope}
	if err := s.authorize(ctx, a, ActionReadHistory, res); err != nil {
		return nil, notFoundIfHidden(err)
	}
	h := &rec.Session
	for _, d := range []struct {
		src string
		dst any
	}{{h.GroupsJSON, &h.Groups}, {h.ManagedGroupsJSON, &h.ManagedGroups}, {h.GrantsJSON, &h.Grants}, {h.CredentialsJSON, &h.Credentials}} {
		if err := jsonUnmarshal(d.src, d.dst); err != nil {
			return nil, fmt.Errorf("session history %s snapshot: %w", id, err)
		}
	}
	db := s.q(ctx)
	if err := db.Where("session_id = ?", id).Order("at").Find(&rec.States).Error; err != nil {
		return nil, fmt.Errorf("session history %s states: %w", id, err)
	}
	sort.SliceStable(rec.States, func(i, j int) bool {
		x, y := rec.States[i], rec.States[j]
		if !x.At.Equal(y.At) {
			return x.At.Before(y.At)
		}
		return historyStateRank[x.State] < historyStateRank[y.State]
	})
	if err := db.Where("session_id = ?", id).Order("authorized_at, connection_id").Find(&rec.Connections).Error; err != nil {
		return nil, fmt.Errorf("session history %s connections: %w", id, err)
	}
	if err := db.Where("session_id = ?", id).Order("credential_id, purpose").Find(&rec.Revocations).Error; err != nil {
		return nil, fmt.Errorf("session history %s credential revocations: %w", id, err)
	}
	if rec.Queue, err = s.sessionRevocations(ctx, id); err != nil {
		return nil, err
	}
	if rec.Certificates, err = s.historyCertificates(ctx, id); err != nil {
		return nil, err
	}
	rec.MayRetry = s.authorize(ctx, a, ActionCancel, res) == nil
	if rec.Access, err = s.SessionAccessHistory(ctx, id); err != nil {
		return nil, err
	}
	return &rec, nil
}

// historyScope is the scope a warehouse session is authorized in: its
// project, live or deleted (deleted_scopes); failing that (a row from
// elsewhere) its org, then global.
func (s *Store) historyScope(ctx context.Context, h *HistorySession) (string, error) {
	var ids []string
	err := s.q(ctx).Raw("SELECT id FROM scopes WHERE id IN (?, ?) UNION SELECT id FROM deleted_scopes WHERE id IN (?, ?)",
		h.ProjectID, h.OrgID, h.ProjectID, h.OrgID).Scan(&ids).Error
	if err != nil {
		return "", err
	}
	for _, want := range []string{h.ProjectID, h.OrgID} {
		if want != "" && slices.Contains(ids, want) {
			return want, nil
		}
	}
	return GlobalScopeID, nil
}
