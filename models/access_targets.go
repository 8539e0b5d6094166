package models

import (
	"context"
	"fmt"
	"time"

	"gatehouse/models/acl"
)

// TargetAccess is a person's just-in-time access to one target, for My
// targets and Home: the end of the grant in force (nil: none) and the
// pending request (nil: none).
type TargetAccess struct {
	AccessUntil    *time.Time
	PendingRequest *AccessRequest
}

// myTargetsCondition keeps the targets on which the actor may authorize a
// session or request access.
func (s *Store) myTargetsCondition(ctx context.Context, a Actor) (string, []any, bool, error) {
	cols := ListColumns{Scope: "t.scope_id", ID: "t.id"}
	authz, args, err := s.listCondition(ctx, a, "target", ActionAuthorizeSession, cols)
	if err != nil {
		return "", nil, false, err
	}
	req, rargs, err := s.listCondition(ctx, a, "target", ActionRequestAccess, cols)
	if err != nil || req == "1=0" {
		return authz, args, false, nil
	}
	return "((" + authz + ") OR (" + req + "))", append(args, rargs...), true, nil
}

// withTargetAccess fills the TargetAccess of the listed targets.
func (s *Store) withTargetAccess(ctx context.Context, a Actor, items []MyTarget) error {
	if len(items) == 0 || !a.Authenticated() {
		return nil
	}
	ids := make([]string, len(items))
	at := map[string]int{}
	for i, it := range items {
		ids[i], at[it.ID] = it.ID, i
	}
	now := s.now()
	var gs []AccessGrant
	if err := s.q(ctx).Where("user_id = ? AND target_id IN ? AND state = ? AND starts_at <= ? AND ends_at > ?",
		a.UserID, ids, GrantActive, now, now).Find(&gs).Error; err != nil {
		return fmt.Errorf("my access grants: %w", err)
	}
	for _, g := range gs {
		it := &items[at[g.TargetID]]
		if it.AccessUntil == nil || g.EndsAt.After(*it.AccessUntil) {
			end := g.EndsAt
			it.AccessUntil = &end
		}
	}
	var rs []AccessRequest
	if err := s.q(ctx).Where("user_id = ? AND target_id IN ? AND kind = ? AND state = ? AND expires_at > ?",
		a.UserID, ids, RequestKindAccess, AccessPending, now).Find(&rs).Error; err != nil {
		return fmt.Errorf("my access requests: %w", err)
	}
	for i := range rs {
		items[at[rs[i].TargetID]].PendingRequest = &rs[i]
	}
	return nil
}

// RequestTarget is a target as the request form shows it.
type RequestTarget struct {
	Target
	ProjectName string
	Settings    TargetAccessSettings
}

// TargetForRequest returns a target on which the actor may request access,
// with its access settings. Errors: ErrUnauthenticated, ErrNotFound,
// ErrForbidden.
func (s *Store) TargetForRequest(ctx context.Context, a Actor, id string) (*RequestTarget, error) {
	if !a.Authenticated() {
		return nil, ErrUnauthenticated
	}
	t, err := first[Target](s.q(ctx), "target", id)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, a, ActionRequestAccess, targetResource(t)); err != nil {
		return nil, err
	}
	out := &RequestTarget{Target: *t}
	if out.ProjectName, err = s.projectName(ctx, t.ScopeID); err != nil {
		return nil, err
	}
	out.Settings, err = s.accessSettings(ctx, id)
	return out, err
}

// accessCapabilities tells whether acl holds approve-access, and
// request-access, on some target in scopes.
func accessCapabilities(access *acl.ACL, scopes []string) (approve, request bool) {
	has := func(act Action) bool {
		return !access.Only("target", string(act)).ListFilter("target", string(act), scopes).Empty()
	}
	return has(ActionApproveAccess), has(ActionRequestAccess)
}

// CountStartableTargets counts the targets the actor may start sessions on
// (authorize-session, time-boxed grants included; not those it may only
// request): "Why can't I?" says so plainly when there are none.
func (s *Store) CountStartableTargets(ctx context.Context, a Actor) (int64, error) {
	cond, args, err := s.listCondition(ctx, a, "target", ActionAuthorizeSession, ListColumns{Scope: "t.scope_id", ID: "t.id"})
	if err != nil {
		return 0, err
	}
	var n int64
	if err := s.q(ctx).Table("targets AS t").Where(cond, args...).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count startable targets: %w", err)
	}
	return n, nil
}
