package models

import (
	"context"
	"time"

	"gatehouse/models/acl"
)

// sessionAccessTerms are what just-in-time access adds to a new session:
// the grant it runs under (if any) and the target's extension settings.
type sessionAccessTerms struct {
	grant    *AccessGrant
	settings TargetAccessSettings
}

// sessionAccess decides a new session's access terms on a target with
// settings (read with the target), allowed by matches: under a grant, its
// expiration (*expires) is capped at the grant's end. Errors: ErrForbidden
// (the grant ended meanwhile).
func (s *Store) sessionAccess(ctx context.Context, settings TargetAccessSettings, matches []acl.GrantMatch, expires *time.Time) (sessionAccessTerms, error) {
	out := sessionAccessTerms{settings: settings}
	var err error
	if out.grant, err = s.sessionGrant(ctx, matches); err != nil {
		return out, err
	}
	if out.grant != nil && out.grant.EndsAt.Before(*expires) {
		*expires = out.grant.EndsAt.UTC()
	}
	return out, nil
}

// apply sets the session's access columns.
func (t sessionAccessTerms) apply(sess *Session) {
	if t.grant != nil {
		id := t.grant.ID
		sess.AccessGrantID = &id
	}
	sess.ExtensionMaxSeconds, sess.ExtensionNeedsApproval = t.settings.ExtensionMaxSeconds, t.settings.ExtensionNeedsApproval
}

// recordGrantSession writes the warehouse event of a session started under
// a grant (its audit record then shows the grant's story).
func (s *Store) recordGrantSession(ctx context.Context, t sessionAccessTerms, sess *Session) error {
	if t.grant == nil {
		return nil
	}
	r, err := first[AccessRequest](s.q(ctx), "access request", t.grant.RequestID)
	if err != nil {
		return err
	}
	ev := r.event("session-started", sess.CreatedAt)
	ev.GrantID, ev.SessionID, ev.ActorID, ev.ActorName = t.grant.ID, sess.ID, sess.UserID, sess.UserName
	ev.FromAt, ev.ToAt = &sess.CreatedAt, &sess.ExpiresAt
	ev.RequestKind = RequestKindAccess
	return s.recordAccessEvents(ctx, ev)
}

// SessionAccessNote returns why the session of token ended when its access
// grant did ("access grant revoked by …"), or "" (for `connect`).
func (s *Store) SessionAccessNote(ctx context.Context, token string) string {
	var notes []string
	if err := s.q(ctx).Raw("SELECT access_note FROM sessions WHERE token_hash = ?", hashSecret(token)).Scan(&notes).Error; err != nil || len(notes) != 1 {
		return ""
	}
	return notes[0]
}

// Session page actions of just-in-time access (marks in SessionItem.Actions).
const (
	// ActionExtendSession: the session's own user may extend it now.
	ActionExtendSession Action = "extend-session"
	// ActionShortenSession: the actor may shorten it (cancel on others'
	// sessions, not cancel:self).
	ActionShortenSession Action = "shorten-session"
)

// accessSessionActions adds Extend and Shorten to a session's actions.
func (s *Store) accessSessionActions(ctx context.Context, a Actor, sess *Session, out map[Action]bool) {
	live := (sess.State == StatePending || sess.State == StateActive) && sess.ExpiresAt.After(s.now())
	out[ActionExtendSession] = live && sess.UserID == a.UserID && sess.ExtensionLeft() >= time.Minute
	res := sessionResource(sess)
	res.OwnerUserID = ""
	out[ActionShortenSession] = live && s.Allowed(ctx, a, res, ActionCancel)[ActionCancel]
}
