package models

import (
	"context"
	"fmt"
)

// What the sessions use case needs from the infrastructure: a target with
// its reachable hosts and brokered credentials, and those credentials'
// secrets. Both exported calls check "authorize-session" on the target; the
// unexported loaders do not, for use inside a use case that already did.

// SessionHost is one host a session on a target may connect to. For a target
// with a direct address there is one SessionHost with only Address set.
type SessionHost struct {
	HostID      string
	HostName    string
	Address     string
	HostSetID   string
	HostSetName string
	CatalogID   string
	CatalogName string
}

// SessionTarget is a target with everything starting a session on it needs
// (and the names the warehouse snapshot records).
type SessionTarget struct {
	Target
	ProjectName string
	OrgID       string
	OrgName     string
	// Hosts are the direct address, or every (host, host set) pair of the
	// target's host sources, ordered by host set then host name. A host in
	// two host sets appears twice.
	Hosts []SessionHost
	// Credentials are the brokered credentials (no secrets).
	Credentials []CredentialSourceView
}

// TargetForSession returns the target id with its hosts and brokered
// credentials if the actor may authorize a session on it. Errors:
// ErrUnauthenticated, ErrNotFound (unknown, or neither readable nor
// authorizable), ErrForbidden (readable but no authorize-session).
func (s *Store) TargetForSession(ctx context.Context, a Actor, id string) (*SessionTarget, error) {
	if err := s.authorizeSession(ctx, a, id); err != nil {
		return nil, err
	}
	return s.loadSessionTarget(ctx, id)
}

// BrokeredCredentials returns the target's brokered credentials with their
// decrypted secrets, for the user starting a session; same checks and
// errors as TargetForSession.
func (s *Store) BrokeredCredentials(ctx context.Context, a Actor, targetID string) ([]BrokeredCredential, error) {
	if err := s.authorizeSession(ctx, a, targetID); err != nil {
		return nil, err
	}
	return s.brokeredCredentials(ctx, targetID)
}

// authorizeSession checks authorize-session on a target, hiding targets the
// actor may neither read nor connect to.
func (s *Store) authorizeSession(ctx context.Context, a Actor, id string) error {
	t, err := first[Target](s.q(ctx), "target", id)
	if err != nil {
		return err
	}
	res := targetResource(t)
	if err := s.authorize(ctx, a, ActionAuthorizeSession, res); err != nil {
		if s.authorize(ctx, a, ActionRead, res) != nil {
			return notFoundIfHidden(err)
		}
		return err
	}
	return nil
}

// loadSessionTarget loads a SessionTarget without authorization.
func (s *Store) loadSessionTarget(ctx context.Context, id string) (*SessionTarget, error) {
	t, err := first[Target](s.q(ctx), "target", id)
	if err != nil {
		return nil, err
	}
	out := &SessionTarget{Target: *t}
	var names struct{ ProjectName, OrgID, OrgName string }
	err = s.q(ctx).Table("scopes AS p").Joins("JOIN scopes o ON o.id = p.parent_id").Where("p.id = ?", t.ScopeID).
		Select("p.name AS project_name, o.id AS org_id, o.name AS org_name").Scan(&names).Error
	if err != nil {
		return nil, fmt.Errorf("load target %s project: %w", id, err)
	}
	out.ProjectName, out.OrgID, out.OrgName = names.ProjectName, names.OrgID, names.OrgName
	if t.Address != nil {
		out.Hosts = []SessionHost{{Address: *t.Address}}
	} else {
		err = s.q(ctx).Table("target_host_sources AS x").
			Joins("JOIN host_sets hs ON hs.id = x.host_set_id").Joins("JOIN host_catalogs c ON c.id = hs.catalog_id").
			Joins("JOIN host_set_members m ON m.host_set_id = hs.id").Joins("JOIN hosts h ON h.id = m.host_id").
			Where("x.target_id = ?", id).
			Select("h.id AS host_id, h.name AS host_name, h.address, hs.id AS host_set_id, hs.name AS host_set_name, " +
				"c.id AS catalog_id, c.name AS catalog_name").
			Order("lower(hs.name), hs.id, lower(h.name), h.id").Scan(&out.Hosts).Error
		if err != nil {
			return nil, fmt.Errorf("load target %s hosts: %w", id, err)
		}
	}
	if out.Credentials, err = s.credentialSourceViews(ctx, []string{id}); err != nil {
		return nil, err
	}
	return out, nil
}

// brokeredCredentials decrypts every brokered credential of a target,
// without authorization.
func (s *Store) brokeredCredentials(ctx context.Context, targetID string) ([]BrokeredCredential, error) {
	views, err := s.credentialSourceViews(ctx, []string{targetID})
	if err != nil {
		return nil, err
	}
	out := make([]BrokeredCredential, 0, len(views))
	for _, v := range views {
		c, err := s.decryptCredential(ctx, v.CredentialID)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, nil
}
