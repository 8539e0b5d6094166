package models

import "context"

// Hooks for the benchmarks of package models_test, which time the
// evaluator's parts separately. Compiled into tests only.

// WithFreshACL returns a copy of a whose ACL is not loaded yet (the state
// of an Actor at the start of a request).
func (a Actor) WithFreshACL() Actor {
	a.acl = &actorACL{}
	return a
}

// LoadACLForBench loads a's roles and builds its ACL (cached in a).
func (s *Store) LoadACLForBench(ctx context.Context, a Actor) error {
	_, err := s.aclFor(ctx, a)
	return err
}

// CapabilitiesForBench computes the navigation capabilities as
// LoginByToken does.
func (s *Store) CapabilitiesForBench(ctx context.Context, a Actor) Capabilities {
	return s.capabilities(ctx, a)
}

// ListConditionForBench is listCondition on targets, as My targets asks it.
func (s *Store) ListConditionForBench(ctx context.Context, a Actor) (string, []any, error) {
	return s.listCondition(ctx, a, "target", ActionAuthorizeSession, ListColumns{Scope: "t.scope_id", ID: "t.id"})
}
