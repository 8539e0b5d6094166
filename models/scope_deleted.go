package models

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"gatehouse/models/acl"
)

// Sessions outlive their scopes: deleting a project or an org cancels its
// sessions and keeps their records (operational rows until retention, the
// warehouse forever). To keep them visible to whoever could see them, the
// deleted scopes are remembered with their parents (deleted_scopes), and
// session authorization resolves grant scopes over the tree as it was:
// a role in an org with grant scope children still covers the sessions of
// a deleted project of that org. Nothing but sessions lives in a deleted
// scope, so no other resource type looks at deleted_scopes.

// sessionType is the resource type whose items outlive their scope.
const sessionType = "session"

// rememberDeletedScopes records scope id and its children, about to be
// deleted, with their parents (inside the deleting transaction).
func (s *Store) rememberDeletedScopes(ctx context.Context, id string) error {
	var rows []Scope
	if err := s.q(ctx).Where("id = ? OR parent_id = ?", id, id).Find(&rows).Error; err != nil {
		return fmt.Errorf("read scopes to delete: %w", err)
	}
	now := s.now()
	for _, sc := range rows {
		if sc.ParentID == nil { // global is never deleted
			continue
		}
		if err := s.q(ctx).Exec(`INSERT INTO deleted_scopes (id, parent_id, type, name, deleted_at) VALUES (?, ?, ?, ?, ?)`,
			sc.ID, *sc.ParentID, sc.Type, sc.Name, now).Error; err != nil {
			return fmt.Errorf("remember deleted scope %s: %w", sc.ID, err)
		}
	}
	return nil
}

// historicTree is the live scope tree plus the deleted scopes.
type historicTree struct {
	live acl.ScopeTree
	gone acl.ScopeParents
}

// Parent implements ScopeTree.
func (t historicTree) Parent(id string) (string, bool) {
	if p, ok := t.live.Parent(id); ok {
		return p, true
	}
	p, ok := t.gone[id]
	return p, ok && p != ""
}

// deletedScopes loads the deleted scopes with their parents.
func (s *Store) deletedScopes(ctx context.Context) (acl.ScopeParents, error) {
	var rows []struct{ ID, ParentID string }
	if err := s.q(ctx).Raw("SELECT id, parent_id FROM deleted_scopes").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("load deleted scopes: %w", err)
	}
	m := make(acl.ScopeParents, len(rows))
	for _, r := range rows {
		m[r.ID] = r.ParentID
	}
	return m, nil
}

// withDeletedScopes returns access resolving scopes over the tree as it was
// (live plus deleted scopes), and the ids of every scope of both, for
// session authorization. live is the current tree (ids → parents).
func (s *Store) withDeletedScopes(ctx context.Context, access *acl.ACL, live acl.ScopeParents) (*acl.ACL, []string, error) {
	gone, err := s.deletedScopes(ctx)
	if err != nil {
		return nil, nil, err
	}
	ids := slices.Collect(maps.Keys(live))
	for id := range gone {
		if _, ok := live[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	if len(gone) == 0 {
		return access, ids, nil
	}
	return access.WithTree(historicTree{live: live, gone: gone}), ids, nil
}

// aclForResource is the actor's ACL for res: for a session whose scope is
// gone, one that knows the deleted scopes.
func (s *Store) aclForResource(ctx context.Context, a Actor, res acl.Resource) (*acl.ACL, error) {
	access, err := s.aclFor(ctx, a)
	if err != nil {
		return nil, err
	}
	if err := s.ensureScopes(ctx, res.ScopeID); err != nil {
		return nil, err
	}
	if res.Type != sessionType || res.ScopeID == "" {
		return access, nil
	}
	live, err := s.scopeTree(ctx, false)
	if err != nil {
		return nil, err
	}
	if _, ok := live[res.ScopeID]; ok {
		return access, nil
	}
	access, _, err = s.withDeletedScopes(ctx, access, live)
	return access, err
}
