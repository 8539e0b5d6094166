package models

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gatehouse/models/acl"
)

// SessionRetime says that a session's expiration moved: the deadlines of its
// live connections move with it.
type SessionRetime struct {
	SessionID string
	ExpiresAt time.Time
}

// ExtendOutcome is what an extension did: moved the session's expiration
// (Session set), or, on a target whose extensions need approval, made a
// request (Request set).
type ExtendOutcome struct {
	Session *Session
	Request *AccessRequest
}

// ExtensionLeft is how much more the session may be extended in total.
func (s Session) ExtensionLeft() time.Duration {
	return time.Duration(max(0, s.ExtensionMaxSeconds-s.ExtendedSeconds)) * time.Second
}

// ExtendSessionInput is the Extend action: by how much (a duration as people
// type it) and, when the extension needs approval, why.
type ExtendSessionInput struct {
	By     string
	Reason string
}

// ExtendSession extends the actor's own live session by in.By, within the
// target's extension allowance (fixed when the session started), never past
// the actor's login expiry nor past the end of the access grant the session
// runs under. When the target's extensions need approval it makes an
// extension request instead (approvers decide it like an access request).
// Errors: ErrUnauthenticated, ErrNotFound, ErrForbidden (not the actor's
// session), ErrInvalid (field by: bounds, the session ended; field reason).
func (s *Store) ExtendSession(ctx context.Context, a Actor, id string, in ExtendSessionInput) (*ExtendOutcome, error) {
	if !a.Authenticated() {
		return nil, ErrUnauthenticated
	}
	var out ExtendOutcome
	err := s.Transact(ctx, func(tx *Store) error {
		sess, err := tx.readSession(ctx, a, id)
		if err != nil {
			return err
		}
		if sess.UserID != a.UserID {
			return &Error{Kind: ErrForbidden, Op: "extend session " + id, Message: "Only the session's own user may extend it."}
		}
		if sess, err = tx.lockForMove(ctx, sess); err != nil {
			return err
		}
		v := validator{}
		by := time.Duration(v.seconds("by", "Extension", in.By, 60, accessMaxSeconds)) * time.Second
		if err := v.err(); err != nil {
			return err
		}
		to, err := tx.extensionFits(ctx, a, sess, by)
		if err != nil {
			return err
		}
		if sess.ExtensionNeedsApproval {
			out.Request, err = tx.requestExtension(ctx, a, sess, by, in.Reason)
			return err
		}
		out.Session, err = tx.moveExpiration(ctx, a, sess, to, "extended")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("extend session %s: %w", id, err)
	}
	return &out, nil
}

// extensionFits checks that the locked session sess may be extended by by
// now, for its own user a, and returns the new expiration.
func (s *Store) extensionFits(ctx context.Context, a Actor, sess *Session, by time.Duration) (time.Time, error) {
	now := s.now()
	if sess.State.Final() || sess.State == StateCanceling || !sess.ExpiresAt.After(now) {
		return time.Time{}, Invalid("by", "The session has ended: it can no longer be extended.")
	}
	if sess.ExtensionMaxSeconds == 0 {
		return time.Time{}, Invalid("by", "Sessions on "+sess.TargetName+" cannot be extended.")
	}
	if left := sess.ExtensionLeft(); by > left {
		if left == 0 {
			return time.Time{}, Invalid("by", "This session has used its whole extension allowance.")
		}
		return time.Time{}, Invalid("by", "At most "+DurationText(left)+" more: that is what is left of the extension allowance.")
	}
	to := sess.ExpiresAt.Add(by)
	var login Login
	if err := s.q(ctx).Where("id = ?", a.LoginID).Take(&login).Error; err != nil {
		return time.Time{}, fmt.Errorf("login of %s: %w", a.UserID, ErrUnauthenticated)
	}
	if to.After(login.ExpiresAt) {
		return time.Time{}, Invalid("by", "Your login ends at "+login.ExpiresAt.UTC().Format("15:04 UTC")+
			": a session cannot outlive it. Log in again to extend further.")
	}
	if sess.AccessGrantID != nil {
		g, err := s.sessionGrant(ctx, []acl.GrantMatch{{RoleID: *sess.AccessGrantID}})
		if err != nil {
			return time.Time{}, Invalid("by", "Your access grant has ended: the session cannot be extended.")
		}
		if to.After(g.EndsAt) {
			return time.Time{}, Invalid("by", "Your access grant ends at "+g.EndsAt.UTC().Format("15:04 UTC")+
				": a session cannot outlive it. Request access again for longer.")
		}
	}
	return to, nil
}

// requestExtension records an extension request for the locked session.
func (s *Store) requestExtension(ctx context.Context, a Actor, sess *Session, by time.Duration, reason string) (*AccessRequest, error) {
	v := validator{}
	reason = v.text("reason", "Reason", reason, true, 500)
	if err := v.err(); err != nil {
		return nil, err
	}
	var pending int64
	if err := s.q(ctx).Model(&AccessRequest{}).Where("session_id = ? AND state = ?", sess.ID, AccessPending).Count(&pending).Error; err != nil {
		return nil, err
	}
	if pending > 0 {
		return nil, Invalid("by", "An extension of this session is already waiting for approval.")
	}
	st, err := s.accessSettings(ctx, sess.TargetID)
	if err != nil {
		return nil, err
	}
	name, err := s.userDisplayName(ctx, a.UserID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	sid := sess.ID
	r := &AccessRequest{ID: NewID(PrefixAccessRequest), Kind: RequestKindExtension, UserID: a.UserID, UserName: name,
		TargetID: sess.TargetID, TargetName: sess.TargetName, ProjectID: sess.ProjectID, ProjectName: sess.ProjectName,
		SessionID: &sid, Reason: reason, DurationSeconds: int(by.Seconds()), State: AccessPending,
		ApprovalsRequired: st.ApprovalsRequired, CreatedAt: now, ExpiresAt: minTime(sess.ExpiresAt, now.Add(time.Duration(st.RequestTTLSeconds)*time.Second)),
		Version: 1}
	return r, s.createRequest(ctx, r)
}

// approveExtension applies the approved extension request r: the bounds are
// checked again now, against the session's user's login.
func (s *Store) approveExtension(ctx context.Context, approver Actor, r *AccessRequest, d AccessDecision) ([]AccessEvent, error) {
	sess, err := first[Session](s.q(ctx), "session", *r.SessionID)
	if err == nil {
		sess, err = s.lockForMove(ctx, sess)
	}
	if err != nil {
		return nil, Invalid("decision", "The session is gone: it can no longer be extended.")
	}
	var loginID string
	if err := s.q(ctx).Raw("SELECT id FROM logins WHERE user_id = ? ORDER BY expires_at DESC LIMIT 1", sess.UserID).Scan(&loginID).Error; err != nil {
		return nil, err
	}
	owner := Actor{UserID: sess.UserID, LoginID: loginID}
	to, err := s.extensionFits(ctx, owner, sess, r.Duration())
	if err != nil {
		if msg := FieldErrors(err)["by"]; msg != "" {
			return nil, Invalid("decision", msg)
		}
		return nil, err
	}
	approver.Name = d.ApproverName
	_, err = s.moveExpiration(ctx, approver, sess, to, "extended", r.ID)
	return nil, err
}

// ShortenInput is an administrator's new expiration for a live session (an
// HTML datetime-local value, read as UTC).
type ShortenInput struct {
	ExpiresAt string
}

// ShortenSession moves a live session's expiration earlier (effective at
// once: its live connections' deadlines move on every instance); the actor
// needs cancel on the session (not cancel:self). Errors:
// ErrUnauthenticated, ErrNotFound, ErrForbidden, ErrInvalid (field
// expires_at: not a time, not earlier than now's expiration, in the past).
func (s *Store) ShortenSession(ctx context.Context, a Actor, id string, in ShortenInput) (*Session, error) {
	if !a.Authenticated() {
		return nil, ErrUnauthenticated
	}
	var out *Session
	err := s.Transact(ctx, func(tx *Store) error {
		sess, err := seeItem(ctx, tx, a, "session", id, sessionResource)
		if err != nil {
			return err
		}
		admin := sessionResource(sess)
		admin.OwnerUserID = "" // cancel:self on one's own session is not enough
		if err := tx.authorize(ctx, a, ActionCancel, admin); err != nil {
			return err
		}
		if sess, err = first[Session](tx.forUpdate(tx.q(ctx)), "session", id); err != nil {
			return err
		}
		now := tx.now()
		to, perr := time.ParseInLocation(requestStartLayout, strings.TrimSpace(in.ExpiresAt), time.UTC)
		if perr != nil {
			to, perr = time.Parse(time.RFC3339, strings.TrimSpace(in.ExpiresAt))
		}
		switch {
		case sess.State.Final() || sess.State == StateCanceling || !sess.ExpiresAt.After(now):
			return Invalid("expires_at", "The session has ended.")
		case perr != nil:
			return Invalid("expires_at", "Enter the new expiration as a date and time (UTC).")
		case !to.Before(sess.ExpiresAt):
			return Invalid("expires_at", "Choose a time before the current expiration, "+sess.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")+".")
		case to.Before(now.Truncate(time.Minute)):
			return Invalid("expires_at", "Choose a time from now on (now is "+now.Format("15:04 UTC")+").")
		}
		if to = to.UTC(); to.Before(now) {
			to = now
		}
		if !to.After(sess.CreatedAt) {
			to = sess.CreatedAt.Add(time.Microsecond)
		}
		out, err = tx.moveExpiration(ctx, a, sess, to, "shortened")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("shorten session %s: %w", id, err)
	}
	return out, nil
}

// moveExpiration sets the locked live session's expiration to to, moves
// its library credentials' validity (credlibrary_validity.go), records
// the move in the warehouse (kind extended or shortened, from → to, by a)
// and tells every instance's worker and the live pages. It returns the
// session as moved.
func (s *Store) moveExpiration(ctx context.Context, a Actor, sess *Session, to time.Time, kind string, requestID ...string) (*Session, error) {
	now := s.now()
	extended := 0
	if kind == "extended" {
		extended = int(to.Sub(sess.ExpiresAt).Seconds())
	}
	var moved []Session
	if err := s.q(ctx).Raw(`UPDATE sessions SET expires_at = ?, extended_seconds = extended_seconds + ?, updated_at = ?, version = version + 1
		WHERE id = ? AND state IN ('pending', 'active') RETURNING *`, to, extended, now, sess.ID).Scan(&moved).Error; err != nil {
		return nil, fmt.Errorf("move expiration: %w", err)
	}
	if len(moved) == 0 {
		return nil, Invalid("by", "The session changed meanwhile: reload and try again.")
	}
	if err := s.moveCredentialValidity(ctx, sess.ID, sess.ExpiresAt, to); err != nil {
		return nil, err
	}
	name := a.Name
	if name == "" {
		name, _ = s.userDisplayName(ctx, a.UserID)
	}
	from := sess.ExpiresAt
	ev := AccessEvent{Kind: kind, At: now, SessionID: sess.ID, UserID: sess.UserID, UserName: sess.UserName, ActorID: a.UserID,
		ActorName: name, TargetID: sess.TargetID, TargetName: sess.TargetName, ProjectID: sess.ProjectID,
		ProjectName: sess.ProjectName, DurationSeconds: int(to.Sub(from).Seconds()), FromAt: &from, ToAt: &to}
	if sess.AccessGrantID != nil {
		ev.GrantID = *sess.AccessGrantID
	}
	if len(requestID) > 0 {
		ev.RequestID, ev.RequestKind = requestID[0], RequestKindExtension
	}
	if err := s.recordAccessEvents(ctx, ev); err != nil {
		return nil, err
	}
	if err := s.publishRetimes(ctx, []SessionRetime{{SessionID: sess.ID, ExpiresAt: to}}); err != nil {
		return nil, err
	}
	return &moved[0], s.publishChanges(ctx, []SessionChange{{SessionID: sess.ID, UserID: sess.UserID}})
}

// publishRetimes tells the workers that sessions' expirations moved:
// through pg_notify on SessionOptions.RetimedChannel inside the transaction
// (other instances, on commit) and SessionOptions.Retimed after commit.
func (s *Store) publishRetimes(ctx context.Context, rs []SessionRetime) error {
	if ch := s.opts.Sessions.RetimedChannel; ch != "" && s.dialect == Postgres {
		for _, r := range rs {
			if err := s.q(ctx).Exec("SELECT pg_notify(?, ?)", ch, EncodeRetime(r)).Error; err != nil {
				return fmt.Errorf("notify expiration change: %w", err)
			}
		}
	}
	if f := s.opts.Sessions.Retimed; f != nil {
		s.afterCommit(func() { f(rs) })
	}
	return nil
}

// EncodeRetime is the RetimedChannel payload of r.
func EncodeRetime(r SessionRetime) string {
	return r.SessionID + " " + strconv.FormatInt(r.ExpiresAt.UnixNano(), 10)
}

// DecodeRetime reads EncodeRetime's payload.
func DecodeRetime(payload string) (SessionRetime, bool) {
	id, ns, ok := strings.Cut(strings.TrimSpace(payload), " ")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || id == "" {
		return SessionRetime{}, false
	}
	return SessionRetime{SessionID: id, ExpiresAt: time.Unix(0, n).UTC()}, true
}

// SessionExpirations returns the current expiration of each of sessionIDs
// still live (pending or active): the worker's reconciliation of deadlines,
// the safety net behind the Retimed notifications.
func (s *Store) SessionExpirations(ctx context.Context, sessionIDs []string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	for _, ids := range chunks(sessionIDs, 500) {
		var rows []Session
		if err := s.q(ctx).Select("id, expires_at").Where("id IN ? AND state IN ('pending', 'active')", ids).Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("session expirations: %w", err)
		}
		for _, r := range rows {
			out[r.ID] = r.ExpiresAt.UTC()
		}
	}
	return out, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// lockForMove locks a session before its expiration moves: first its
// access grant (shared), then the session row, the order the revocation
// and the grant's end take too, so they never deadlock.
func (s *Store) lockForMove(ctx context.Context, sess *Session) (*Session, error) {
	if sess.AccessGrantID != nil {
		if err := s.shareRows(ctx, "access_grants", "id = ?", *sess.AccessGrantID); err != nil {
			return nil, fmt.Errorf("lock access grant: %w", err)
		}
	}
	return first[Session](s.forUpdate(s.q(ctx)), "session", sess.ID)
}
