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

// StartGroupedForTest starts one session per input in one grouped
// transaction (store_group.go), as concurrent starts on SQLite are, and
// returns each start's error.
func (s *Store) StartGroupedForTest(ctx context.Context, a Actor, ins []StartSessionInput) []error {
	batch := make([]*groupedTx, len(ins))
	for i, in := range ins {
		batch[i] = &groupedTx{ctx: ctx, fn: func(ctx context.Context, tx *Store) error {
			_, err := tx.startSession(ctx, a, in)
			return err
		}}
	}
	s.runGrouped(batch)
	errs := make([]error, len(ins))
	for i, r := range batch {
		errs[i] = r.err
	}
	return errs
}
