package models

import (
	"context"
	"fmt"
)

// MyRole is a role that counts for the actor, with where it lives and
// through which principal it holds it.
type MyRole struct {
	ID, Name, ScopeName string
	// Via is "you", "anyone", "any logged-in user", or "group NAME" /
	// "managed group NAME".
	Via string
}

// MyRoles lists the roles whose principals include the actor: directly,
// through its groups or its accounts' managed groups, or as anyone / any
// logged-in user; by scope and name. It tells people their own access, so
// it needs no grant. Errors: ErrUnauthenticated.
func (s *Store) MyRoles(ctx context.Context, a Actor) ([]MyRole, error) {
	if !a.Authenticated() {
		return nil, ErrUnauthenticated
	}
	var out []MyRole
	err := s.q(ctx).Raw(`SELECT r.id, r.name, sc.name AS scope_name,
		CASE WHEN rp.principal_id = 'u_anon' THEN 'anyone'
		     WHEN rp.principal_id = 'u_auth' THEN 'any logged-in user'
		     WHEN rp.user_id IS NOT NULL THEN 'you'
		     WHEN rp.group_id IS NOT NULL THEN 'group ' || g.name
		     ELSE 'managed group ' || mg.name END AS via
		FROM role_principals rp JOIN roles r ON r.id = rp.role_id JOIN scopes sc ON sc.id = r.scope_id
		LEFT JOIN groups g ON g.id = rp.group_id LEFT JOIN managed_groups mg ON mg.id = rp.managed_group_id
		WHERE rp.principal_id IN ('u_anon', 'u_auth') OR rp.user_id = ?
		   OR rp.group_id IN (SELECT group_id FROM group_members WHERE user_id = ?)
		   OR rp.managed_group_id IN (SELECT m.managed_group_id FROM managed_group_members m JOIN accounts ac ON ac.id = m.account_id WHERE ac.user_id = ?)
		ORDER BY lower(sc.name), lower(r.name), via`, a.UserID, a.UserID, a.UserID).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("roles of %s: %w", a.UserID, err)
	}
	return out, nil
}
