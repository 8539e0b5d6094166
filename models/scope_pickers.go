package models

import (
	"context"
	"fmt"

	"gatehouse/models/acl"
)

// ScopesToCreate returns the scopes in which the actor may create a
// resource of type resourceType ("user", "group", "role" or "auth-method"),
// ordered for a tree view: the scope picker of that type's new form. Users,
// groups and auth methods live in global and orgs only. Someone who may
// create that type nowhere gets ErrForbidden (ErrUnauthenticated when
// anonymous), so the form is refused as its saving would be, and learns no
// scope's name.
func (s *Store) ScopesToCreate(ctx context.Context, a Actor, resourceType string) ([]Scope, error) {
	if !a.Authenticated() {
		return nil, ErrUnauthenticated
	}
	all, err := s.AllScopes(ctx, a)
	if err != nil {
		return nil, err
	}
	var out []Scope
	for _, sc := range all {
		if sc.Type == ScopeProject && resourceType != "role" {
			continue
		}
		if s.Allowed(ctx, a, acl.Resource{Type: resourceType, ScopeID: sc.ID}, ActionCreate)[ActionCreate] {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("create %s: no scope allows it: %w", resourceType, ErrForbidden)
	}
	return out, nil
}
