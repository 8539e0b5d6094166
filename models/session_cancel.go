package models

import (
	"context"
	"fmt"

	"gatehouse/models/acl"
)

// CancelSession cancels a session: its own user with cancel:self, anyone
// with cancel. With no open connection it terminates at once (canceled),
// else it goes canceling until its connections are closed. Canceling an
// already canceling or terminated session changes nothing and succeeds.
// Errors: ErrUnauthenticated, ErrNotFound, ErrForbidden.
func (s *Store) CancelSession(ctx context.Context, a Actor, id string) (*Session, error) {
	var out *Session
	if !a.Authenticated() {
		return nil, fmt.Errorf("cancel session %s: %w", id, ErrUnauthenticated)
	}
	err := s.changeTx(ctx, a, ActionCancel, "session", id, func(tx *Store) error {
		// Canceling needs no read (as in Boundary): visibility (any
		// action, a :self one on one's own session) and then cancel.
		sess, err := seeItem(ctx, tx, a, "session", id, sessionResource)
		if err != nil {
			return err
		}
		if err := tx.authorizeSelf(ctx, a, ActionCancel, ActionCancelSelf, sessionResource(sess)); err != nil {
			return err
		}
		if _, err := tx.cancelSessions(ctx, "id = ?", []any{id}); err != nil {
			return err
		}
		out, err = first[Session](tx.q(ctx), "session", id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cancel session %s: %w", id, err)
	}
	return out, nil
}

// sessionUse maps a resource type to the condition selecting the sessions
// that use a resource of that type, and to the table holding it.
var sessionUse = map[string]struct{ cond, table string }{
	"host":               {"host_id = ?", "hosts"},
	"host-set":           {"host_set_id = ?", "host_sets"},
	"host-catalog":       {"host_catalog_id = ?", "host_catalogs"},
	"target":             {"target_id = ?", "targets"},
	"user":               {"user_id = ?", "users"},
	"account":            {"account_id = ?", "accounts"},
	"auth-method":        {"auth_method_id = ?", "auth_methods"},
	"credential":         {"id IN (SELECT session_id FROM session_credentials WHERE credential_id = ? AND revoked_at IS NULL)", "credentials"},
	"credential-store":   {"id IN (SELECT session_id FROM session_credentials WHERE store_id = ? AND revoked_at IS NULL)", "credential_stores"},
	"credential-library": {"id IN (SELECT session_id FROM session_credentials WHERE library_id = ? AND revoked_at IS NULL)", "credential_libraries"},
}

// CancelSessionsOf cancels, inside the caller's transaction, every session
// that uses res: call it from a Delete use case before the row goes (host,
// host set, host catalog, target, credential, credential library,
// credential store, project, org, user, account, auth method). The session
// records stay. On Postgres it first locks res's row, so a session being
// started on it either commits first (and is canceled here) or fails with
// not found after the deletion. It returns the number of sessions moved.
func (s *Store) CancelSessionsOf(ctx context.Context, res acl.Resource) (int, error) {
	cond, table := "", ""
	args := []any{res.ID}
	switch res.Type {
	case "scope":
		// Its projects' sessions, and those of the users and auth methods
		// that live in it (deleted with it).
		cond = "(org_id = ? OR project_id = ? OR user_id IN (SELECT id FROM users WHERE scope_id = ?) OR " +
			"auth_method_id IN (SELECT id FROM auth_methods WHERE scope_id = ?))"
		args = []any{res.ID, res.ID, res.ID, res.ID}
		table = "scopes"
	default:
		u, ok := sessionUse[res.Type]
		if !ok {
			return 0, nil
		}
		cond, table = u.cond, u.table
	}
	if err := s.lockRows(ctx, table, "id = ?", res.ID); err != nil {
		return 0, fmt.Errorf("lock %s %s: %w", res.Type, res.ID, err)
	}
	moved, err := s.cancelSessions(ctx, cond, args)
	if err != nil {
		return 0, fmt.Errorf("cancel sessions of %s %s: %w", res.Type, res.ID, err)
	}
	return len(moved), nil
}

// CancelSessionsOfRemoval cancels, inside the caller's transaction, the
// sessions that used item through parent when item is removed from it: a
// host set or credential removed from a target, a host leaving a host set.
func (s *Store) CancelSessionsOfRemoval(ctx context.Context, parent, item acl.Resource) (int, error) {
	var cond string
	var args []any
	switch {
	case parent.Type == "target" && item.Type == "host-set":
		cond, args = "target_id = ? AND host_set_id = ?", []any{parent.ID, item.ID}
	case parent.Type == "target" && item.Type == "credential":
		cond = "target_id = ? AND id IN (SELECT session_id FROM session_credentials WHERE credential_id = ? AND revoked_at IS NULL)"
		args = []any{parent.ID, item.ID}
	case parent.Type == "target" && item.Type == "credential-library":
		cond = "target_id = ? AND id IN (SELECT session_id FROM session_credentials WHERE library_id = ? AND revoked_at IS NULL)"
		args = []any{parent.ID, item.ID}
	case parent.Type == "host-set" && item.Type == "host":
		cond, args = "host_set_id = ? AND host_id = ?", []any{parent.ID, item.ID}
	default:
		return 0, nil
	}
	moved, err := s.cancelSessions(ctx, cond, args)
	if err != nil {
		return 0, fmt.Errorf("cancel sessions using %s %s of %s %s: %w", item.Type, item.ID, parent.Type, parent.ID, err)
	}
	return len(moved), nil
}
