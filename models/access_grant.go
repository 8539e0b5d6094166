package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gatehouse/models/acl"
)

// Grant states: active from approval until its end; revoked when an
// approver or administrator ends it early; expired once its end passed.
const (
	GrantActive  = "active"
	GrantRevoked = "revoked"
	GrantExpired = "expired"
)

// AccessGrant is a time-boxed grant of authorize-session on one target to
// one person, made by an approved request. While active and between
// StartsAt and EndsAt it counts as a role of its holder (see
// accessGrantRoles): My targets, the session start and every other
// authorize-session check see it without a rule of their own.
type AccessGrant struct {
	ID          string
	RequestID   string
	UserID      string
	TargetID    string
	ProjectID   string
	StartsAt    time.Time
	EndsAt      time.Time
	State       string
	EndedAt     *time.Time
	EndedByID   string
	EndedByName string
	EndComment  string
}

// TableName is the grants table.
func (AccessGrant) TableName() string { return "access_grants" }

// grantRoleName is how a grant appears among the roles that allowed a
// session (the warehouse snapshot, Why can't I?).
func grantRoleName(g AccessGrant) string {
	return "access grant until " + g.EndsAt.UTC().Format("2006-01-02 15:04 UTC")
}

// createGrant makes the grant of the approved access request r (approved
// by the decision d) and returns its warehouse event.
func (s *Store) createGrant(ctx context.Context, r *AccessRequest, d AccessDecision) ([]AccessEvent, error) {
	starts := d.At
	if r.StartsAt != nil && r.StartsAt.After(starts) {
		starts = *r.StartsAt
	}
	g := AccessGrant{ID: NewID(PrefixAccessGrant), RequestID: r.ID, UserID: r.UserID, TargetID: r.TargetID, ProjectID: r.ProjectID,
		StartsAt: starts, EndsAt: starts.Add(r.Duration()), State: GrantActive}
	if err := s.q(ctx).Create(&g).Error; err != nil {
		return nil, fmt.Errorf("create access grant: %w", err)
	}
	ev := r.event("granted", d.At)
	ev.GrantID, ev.ActorID, ev.ActorName = g.ID, d.ApproverID, d.ApproverName
	ev.FromAt, ev.ToAt = &g.StartsAt, &g.EndsAt
	return []AccessEvent{ev}, nil
}

// RevokeAccessGrant ends a grant early; the actor needs approve-access on
// its target. The sessions started under it are canceled (their live
// connections cut on every instance) and say why. Errors:
// ErrUnauthenticated, ErrNotFound, ErrForbidden, ErrInvalid (field
// comment: too long; field grant: already ended).
func (s *Store) RevokeAccessGrant(ctx context.Context, a Actor, grantID, comment string) (*AccessGrant, error) {
	if !a.Authenticated() {
		return nil, ErrUnauthenticated
	}
	var out *AccessGrant
	err := s.Transact(ctx, func(tx *Store) error {
		g, err := first[AccessGrant](tx.forUpdate(tx.q(ctx)), "access grant", grantID)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionApproveAccess, acl.Resource{Type: "target", ID: g.TargetID, ScopeID: g.ProjectID}); err != nil {
			return err
		}
		v := validator{}
		comment = v.text("comment", "Comment", comment, false, 500)
		now := tx.now()
		if g.State != GrantActive || !g.EndsAt.After(now) {
			v.add("grant", "This access grant has already ended.")
		}
		if err := v.err(); err != nil {
			return err
		}
		name, err := tx.userDisplayName(ctx, a.UserID)
		if err != nil {
			return err
		}
		g.State, g.EndedAt, g.EndedByID, g.EndedByName, g.EndComment = GrantRevoked, &now, a.UserID, name, comment
		if err := tx.q(ctx).Model(&AccessGrant{}).Where("id = ? AND state = ?", g.ID, GrantActive).
			Updates(map[string]any{"state": g.State, "ended_at": now, "ended_by_id": a.UserID, "ended_by_name": name, "end_comment": comment}).Error; err != nil {
			return fmt.Errorf("revoke access grant: %w", err)
		}
		note := "access grant revoked by " + name
		if comment != "" {
			note += ": " + comment
		}
		if err := tx.endGrantSessions(ctx, []string{g.ID}, note); err != nil {
			return err
		}
		r, err := first[AccessRequest](tx.q(ctx), "access request", g.RequestID)
		if err != nil {
			return err
		}
		ev := r.event("revoked", now)
		ev.GrantID, ev.ActorID, ev.ActorName, ev.Comment = g.ID, a.UserID, name, comment
		ev.FromAt, ev.ToAt = &g.StartsAt, &g.EndsAt
		if err := tx.recordAccessEvents(ctx, ev); err != nil {
			return err
		}
		out = g
		return tx.publishAccess(ctx, AccessChange{RequestID: r.ID, UserID: r.UserID})
	})
	if err != nil {
		return nil, fmt.Errorf("revoke access grant %s: %w", grantID, err)
	}
	return out, nil
}

// endGrantSessions notes why on the live sessions of the grants and
// cancels them (existing machinery: history, warehouse, credentials, and
// the cut of their live connections on every instance).
func (s *Store) endGrantSessions(ctx context.Context, grantIDs []string, note string) error {
	if err := s.q(ctx).Exec("UPDATE sessions SET access_note = ? WHERE access_grant_id IN ? AND state <> 'terminated'", note, grantIDs).Error; err != nil {
		return fmt.Errorf("note grant sessions: %w", err)
	}
	if _, err := s.cancelSessions(ctx, "access_grant_id IN ?", []any{grantIDs}); err != nil {
		return fmt.Errorf("cancel grant sessions: %w", err)
	}
	return nil
}

// endGrants expires the active grants whose end has passed. Their sessions
// were capped at the grant's end, so the expiry rule has timed them out
// (and their relays' deadlines cut them); any still live is canceled.
func (s *Store) endGrants(ctx context.Context) (int, error) {
	now := s.now()
	var gs []AccessGrant
	err := s.q(ctx).Raw(`UPDATE access_grants SET state = 'expired', ended_at = ? WHERE state = 'active' AND ends_at <= ? RETURNING *`,
		now, now).Scan(&gs).Error
	if err != nil {
		return 0, fmt.Errorf("end access grants: %w", err)
	}
	if len(gs) == 0 {
		return 0, nil
	}
	ids := make([]string, len(gs))
	reqIDs := make([]string, len(gs))
	for i, g := range gs {
		ids[i], reqIDs[i] = g.ID, g.RequestID
	}
	// The note goes on the timed-out sessions too (unlike a revocation's,
	// endGrantSessions), so this one UPDATE notes them all.
	if err := s.q(ctx).Exec("UPDATE sessions SET access_note = 'access grant expired' WHERE access_grant_id IN ? AND access_note = ''",
		ids).Error; err != nil {
		return 0, fmt.Errorf("note grant sessions: %w", err)
	}
	if _, err := s.cancelSessions(ctx, "access_grant_id IN ?", []any{ids}); err != nil {
		return 0, fmt.Errorf("cancel grant sessions: %w", err)
	}
	var rs []AccessRequest
	if err := s.q(ctx).Where("id IN ?", reqIDs).Find(&rs).Error; err != nil {
		return 0, fmt.Errorf("grant requests: %w", err)
	}
	byID := map[string]*AccessRequest{}
	for i := range rs {
		byID[rs[i].ID] = &rs[i]
	}
	var events []AccessEvent
	var changes []AccessChange
	for i := range gs {
		r := byID[gs[i].RequestID]
		if r == nil {
			continue
		}
		ev := r.event("grant-ended", gs[i].EndsAt)
		ev.GrantID, ev.FromAt, ev.ToAt = gs[i].ID, &gs[i].StartsAt, &gs[i].EndsAt
		events = append(events, ev)
		changes = append(changes, AccessChange{RequestID: r.ID, UserID: r.UserID})
	}
	if err := s.recordAccessEvents(ctx, events...); err != nil {
		return 0, err
	}
	return len(gs), s.publishAccess(ctx, changes...)
}

// AccessSweep counts what one access sweep did.
type AccessSweep struct {
	ExpiredRequests, EndedGrants int
}

// SweepAccess expires undecided requests past their expiry and ends grants
// past their end, each in one set-based statement in its own transaction
// (safe when every instance runs it at once). SweepSessions runs it.
func (s *Store) SweepAccess(ctx context.Context) (AccessSweep, error) {
	var r AccessSweep
	err := s.Transact(ctx, func(tx *Store) error {
		var err error
		r.ExpiredRequests, err = tx.expireRequests(ctx)
		return err
	})
	if err != nil {
		return r, err
	}
	err = s.Transact(ctx, func(tx *Store) error {
		var err error
		r.EndedGrants, err = tx.endGrants(ctx)
		return err
	})
	return r, err
}

// accessGrantRoles returns the user's grants that are in force at now, each as
// a role granting authorize-session on its target in its project: the one
// hook through which grants join the authorization engine.
func (s *Store) accessGrantRoles(ctx context.Context, userID string, now time.Time) ([]acl.RoleGrants, error) {
	if userID == "" {
		return nil, nil
	}
	var gs []AccessGrant
	if err := s.rq(ctx).Where("user_id = ? AND state = ? AND starts_at <= ? AND ends_at > ?", userID, GrantActive, now, now).
		Order("id").Find(&gs).Error; err != nil {
		return nil, fmt.Errorf("access grants of %s: %w", userID, err)
	}
	out := make([]acl.RoleGrants, 0, len(gs))
	for _, g := range gs {
		grant, err := acl.ParseGrant("ids=" + g.TargetID + ";actions=" + string(ActionAuthorizeSession))
		if err != nil {
			continue // a target id that no longer parses grants nothing
		}
		out = append(out, acl.RoleGrants{RoleID: g.ID, RoleName: grantRoleName(g), RoleScopeID: g.ProjectID,
			GrantScopes: []string{acl.GrantScopeThis}, Grants: []acl.Grant{grant}})
	}
	return out, nil
}

// sessionGrant decides whether a session allowed by matches runs under an
// access grant: only when every match is a grant (a role grants it for
// good otherwise). It locks those grants against revocation until commit
// and returns the one in force that ends last; none in force any more
// (revoked or ended since the actor's roles were read) is ErrForbidden.
func (s *Store) sessionGrant(ctx context.Context, matches []acl.GrantMatch) (*AccessGrant, error) {
	var ids []string
	for _, m := range matches {
		if !strings.HasPrefix(m.RoleID, PrefixAccessGrant+"_") {
			return nil, nil
		}
		ids = append(ids, m.RoleID)
	}
	if len(ids) == 0 { // nothing allowed it (roles changed since they were read)
		return nil, &Error{Kind: ErrForbidden, Op: "start session under an access grant", Message: "Your access has ended: request access again."}
	}
	if err := s.shareRows(ctx, "access_grants", "id IN ?", ids); err != nil {
		return nil, fmt.Errorf("lock access grants: %w", err)
	}
	var gs []AccessGrant
	if err := s.q(ctx).Where("id IN ?", ids).Find(&gs).Error; err != nil {
		return nil, fmt.Errorf("access grants: %w", err)
	}
	now := s.now()
	var best *AccessGrant
	for i := range gs {
		g := &gs[i]
		if g.State == GrantActive && !g.StartsAt.After(now) && g.EndsAt.After(now) && (best == nil || g.EndsAt.After(best.EndsAt)) {
			best = g
		}
	}
	if best == nil {
		return nil, &Error{Kind: ErrForbidden, Op: "start session under an access grant", Message: "Your access grant has ended: request access again."}
	}
	return best, nil
}
