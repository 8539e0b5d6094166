package models

import (
	"context"
	"encoding/json"
	"time"
)

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

// ConnectionStatementsForTest are the Postgres statements a connection's
// life runs in batches (admission, connect, running byte totals, close,
// the sessions' lock), each as its SQL and arguments for the session whose
// token this is and the given connections, for EXPLAIN.
func (s *Store) ConnectionStatementsForTest(token string, ids []string, now time.Time) map[string][]any {
	conns := make([]admitRow, len(ids))
	connects := make([]*connectRequest, len(ids))
	ends := make([]connectionEndRow, len(ids))
	flushes := make([]bytesRow, len(ids))
	for i, id := range ids {
		flushes[i] = bytesRow{ID: id, Up: 10, Down: 20}
		conns[i] = admitRow{ID: id + "x", Client: "192.0.2.1:4000", UserIP: "192.0.2.1"}
		connects[i] = &connectRequest{ID: id, EP: "10.0.0.1:5432", At: jsonTime(now)}
		ends[i] = ConnectionEnd{ConnectionID: id, BytesUp: 1, BytesDown: 1, Reason: "closed by end-user", At: now}.row(now)
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	return map[string][]any{
		"admission": {admitActivePostgres, map[string]any{"now": now, "hash": hashSecret(token), "k": len(ids), "conns": js(conns), "inst": ""}},
		"connect":   {connectedPostgres, map[string]any{"rows": js(connects)}},
		"close":     {closePostgresSQL, map[string]any{"ends": js(ends), "now": now}},
		"lock":      {s.forUpdateSQL(s.sessionsOfSQL()), jsonList(ids)},
		"flush":     {flushBytesPostgres, map[string]any{"rows": js(flushes)}},
	}
}

// NotifyQueueForTest returns the add of a queue of session changes for the
// other instances, sent on s's database as instance after linger.
func (s *Store) NotifyQueueForTest(instance string, linger time.Duration) func([]SessionChange) {
	q := &notifyQueue{db: s.db, instanceID: instance, linger: linger}
	return q.add
}
