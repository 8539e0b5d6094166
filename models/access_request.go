package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gatehouse/models/acl"
)

// AccessRequestState is where an access request stands.
type AccessRequestState string

// Access request states: pending until enough approvers approve it
// (approved), one denies it (denied), nobody decides before its expiry
// (expired) or its requester withdraws it (canceled).
const (
	AccessPending  AccessRequestState = "pending"
	AccessApproved AccessRequestState = "approved"
	AccessDenied   AccessRequestState = "denied"
	AccessExpired  AccessRequestState = "expired"
	AccessCanceled AccessRequestState = "canceled"
)

// Kinds of access request.
const (
	// RequestKindAccess asks for a time-boxed grant of authorize-session.
	RequestKindAccess = "access"
	// RequestKindExtension asks to extend a live session.
	RequestKindExtension = "extension"
)

// AccessRequest is one person's request for time-boxed access to a target,
// or for extending one of their sessions. It keeps the names it was made
// with.
type AccessRequest struct {
	ID          string
	Kind        string
	UserID      string
	UserName    string
	TargetID    string
	TargetName  string
	ProjectID   string
	ProjectName string
	// SessionID is the session an extension request is for.
	SessionID       *string
	Reason          string
	DurationSeconds int
	// StartsAt is the requested start (nil: at approval).
	StartsAt          *time.Time
	State             AccessRequestState
	ApprovalsRequired int
	Approvals         int
	CreatedAt         time.Time
	// ExpiresAt is when the request expires if nobody decides it.
	ExpiresAt time.Time
	DecidedAt *time.Time
	Version   int
}

// TableName is the requests table.
func (AccessRequest) TableName() string { return "access_requests" }

// Duration is the access (or extension) asked for.
func (r AccessRequest) Duration() time.Duration {
	return time.Duration(r.DurationSeconds) * time.Second
}

// AccessDecision is one approver's decision on a request.
type AccessDecision struct {
	RequestID    string
	ApproverID   string
	ApproverName string
	// Decision is "approve" or "deny".
	Decision string
	Comment  string
	At       time.Time
}

// TableName is the decisions table.
func (AccessDecision) TableName() string { return "access_decisions" }

// Decisions an approver makes.
const (
	DecisionApprove = "approve"
	DecisionDeny    = "deny"
)

// AccessRequestItem is a request with its decisions, its grant (once
// approved) and what the actor may do with it: Actions may hold
// ActionApproveAccess (decide it, or revoke its grant) and ActionCancel
// (withdraw it: its requester, while pending).
type AccessRequestItem struct {
	AccessRequest
	Decisions []AccessDecision
	Grant     *AccessGrant
	Actions   map[Action]bool
}

// RequestAccessInput is the request form: the target, how long (a
// duration as people type it), why, and optionally when to start (UTC).
type RequestAccessInput struct {
	TargetID string
	Duration string
	Reason   string
	StartsAt string
}

// requestStartLayout is the start field's format (an HTML datetime-local
// value, read as UTC).
const requestStartLayout = "2006-01-02T15:04"

// RequestAccess records a request for time-boxed access to a target on
// which the actor has request-access. Bounds: a reason (at most 500
// characters), a duration from 1 minute to the target's maximum, a start
// (if any) from now to 30 days ahead, and one pending request per person
// and target. Errors: ErrUnauthenticated, ErrNotFound, ErrForbidden,
// ErrInvalid (fields duration, reason, starts_at, target).
func (s *Store) RequestAccess(ctx context.Context, a Actor, in RequestAccessInput) (*AccessRequest, error) {
	if !a.Authenticated() {
		return nil, ErrUnauthenticated
	}
	var out *AccessRequest
	err := s.Transact(ctx, func(tx *Store) error {
		t, err := first[Target](tx.forUpdate(tx.q(ctx)), "target", in.TargetID)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionRequestAccess, targetResource(t)); err != nil {
			return err
		}
		st, err := tx.accessSettings(ctx, t.ID)
		if err != nil {
			return err
		}
		now := tx.now()
		v := validator{}
		reason := v.text("reason", "Reason", in.Reason, true, 500)
		dur := v.seconds("duration", "Duration", in.Duration, accessMinSeconds, st.RequestMaxSeconds)
		if _, ok := v["duration"]; ok && dur > st.RequestMaxSeconds {
			v["duration"] = fmt.Sprintf("At most %s for %s.", DurationText(time.Duration(st.RequestMaxSeconds)*time.Second), t.Name)
		}
		var starts *time.Time
		if in.StartsAt = strings.TrimSpace(in.StartsAt); in.StartsAt != "" {
			at, err := time.ParseInLocation(requestStartLayout, in.StartsAt, time.UTC)
			switch {
			case err != nil:
				v.add("starts_at", "Enter a start as a date and time (UTC), or leave it empty to start at approval.")
			case at.Before(now.Add(-time.Minute)):
				v.add("starts_at", "The start is in the past: leave it empty to start at approval.")
			case at.After(now.Add(30 * 24 * time.Hour)):
				v.add("starts_at", "The start must be within 30 days.")
			default:
				starts = &at
			}
		}
		var pending int64
		if err := tx.q(ctx).Model(&AccessRequest{}).Where("user_id = ? AND target_id = ? AND kind = ? AND state = ? AND expires_at > ?",
			a.UserID, t.ID, RequestKindAccess, AccessPending, now).Count(&pending).Error; err != nil {
			return fmt.Errorf("pending requests: %w", err)
		}
		if pending > 0 {
			v.add("target", "You already have a pending request for "+t.Name+": wait for its decision, or withdraw it first.")
		}
		if err := v.err(); err != nil {
			return err
		}
		project, err := tx.projectName(ctx, t.ScopeID)
		if err != nil {
			return err
		}
		userName, err := tx.userDisplayName(ctx, a.UserID)
		if err != nil {
			return err
		}
		out = &AccessRequest{ID: NewID(PrefixAccessRequest), Kind: RequestKindAccess, UserID: a.UserID, UserName: userName,
			TargetID: t.ID, TargetName: t.Name, ProjectID: t.ScopeID, ProjectName: project, Reason: reason, DurationSeconds: dur,
			StartsAt: starts, State: AccessPending, ApprovalsRequired: st.ApprovalsRequired, CreatedAt: now,
			ExpiresAt: now.Add(time.Duration(st.RequestTTLSeconds) * time.Second), Version: 1}
		return tx.createRequest(ctx, out)
	})
	if err != nil {
		return nil, fmt.Errorf("request access to %s: %w", in.TargetID, err)
	}
	return out, nil
}

// createRequest inserts a request with its warehouse event and tells the
// approvers.
func (s *Store) createRequest(ctx context.Context, r *AccessRequest) error {
	if err := s.q(ctx).Create(r).Error; err != nil {
		return fmt.Errorf("create access request: %w", err)
	}
	ev := r.event("requested", s.now())
	ev.ActorID, ev.ActorName, ev.Reason = r.UserID, r.UserName, r.Reason
	if r.StartsAt != nil {
		ev.FromAt = r.StartsAt
	}
	if err := s.recordAccessEvents(ctx, ev); err != nil {
		return err
	}
	return s.publishAccess(ctx, AccessChange{RequestID: r.ID, UserID: r.UserID})
}

// projectName returns a project's name.
func (s *Store) projectName(ctx context.Context, projectID string) (string, error) {
	var name string
	if err := s.q(ctx).Raw("SELECT name FROM scopes WHERE id = ?", projectID).Scan(&name).Error; err != nil {
		return "", fmt.Errorf("project %s: %w", projectID, err)
	}
	return name, nil
}

// userDisplayName returns how a user is named in access history.
func (s *Store) userDisplayName(ctx context.Context, userID string) (string, error) {
	u, err := first[User](s.q(ctx), "user", userID)
	if err != nil {
		return "", err
	}
	return u.DisplayName(), nil
}

// DecideAccessInput is an approver's decision with its comment.
type DecideAccessInput struct {
	Decision string // DecisionApprove or DecisionDeny
	Comment  string
}

// DecideAccessRequest approves or denies a pending request; the actor needs
// approve-access on the request's target and may not be its requester. A
// deny ends the request; an approval counts, and the last one required
// (from a different approver) approves it: an access request then becomes a
// time-boxed grant (from approval or the requested start, for the
// requested duration), an extension request extends its session. Two
// approvers deciding at once: one wins, the other is told what happened.
// Errors: ErrUnauthenticated, ErrNotFound, ErrForbidden, ErrInvalid (field
// decision: own request, already decided, expired, already approved by
// you, or the extension no longer fits; field comment: too long).
func (s *Store) DecideAccessRequest(ctx context.Context, a Actor, id string, in DecideAccessInput) (*AccessRequestItem, error) {
	if !a.Authenticated() {
		return nil, ErrUnauthenticated
	}
	err := s.Transact(ctx, func(tx *Store) error {
		r, err := first[AccessRequest](tx.forUpdate(tx.q(ctx)), "access request", id)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionApproveAccess, r.targetResource()); err != nil {
			return err
		}
		v := validator{}
		comment := v.text("comment", "Comment", in.Comment, in.Decision == DecisionDeny, 500)
		if in.Decision != DecisionApprove && in.Decision != DecisionDeny {
			v.add("decision", "Choose approve or deny.")
		}
		now := tx.now()
		switch {
		case r.UserID == a.UserID:
			v["decision"] = "You cannot decide your own request: another approver must."
		case r.State != AccessPending:
			v["decision"] = tx.decidedText(ctx, r)
		case !r.ExpiresAt.After(now):
			v["decision"] = "This request expired at " + r.ExpiresAt.Format("15:04 UTC") + " before anyone decided it."
		}
		if err := v.err(); err != nil {
			return err
		}
		var mine int64
		if err := tx.q(ctx).Model(&AccessDecision{}).Where("request_id = ? AND approver_id = ?", id, a.UserID).Count(&mine).Error; err != nil {
			return err
		}
		if mine > 0 {
			return Invalid("decision", "You already approved this request: it needs another approver.")
		}
		name, err := tx.userDisplayName(ctx, a.UserID)
		if err != nil {
			return err
		}
		d := AccessDecision{RequestID: id, ApproverID: a.UserID, ApproverName: name, Decision: in.Decision, Comment: comment, At: now}
		if err := tx.q(ctx).Create(&d).Error; err != nil {
			return fmt.Errorf("record decision: %w", err)
		}
		return tx.applyDecision(ctx, a, r, d)
	})
	if err != nil {
		return nil, fmt.Errorf("decide access request %s: %w", id, err)
	}
	return s.GetAccessRequest(ctx, a, id)
}

// applyDecision moves the locked pending request r by decision d.
func (s *Store) applyDecision(ctx context.Context, a Actor, r *AccessRequest, d AccessDecision) error {
	ev := r.event("approved", d.At)
	ev.ActorID, ev.ActorName, ev.Comment = d.ApproverID, d.ApproverName, d.Comment
	state, approvals := r.State, r.Approvals
	if d.Decision == DecisionDeny {
		ev.Kind, state = "denied", AccessDenied
	} else if approvals++; approvals >= r.ApprovalsRequired {
		state = AccessApproved
	}
	updates := map[string]any{"state": state, "approvals": approvals, "version": r.Version + 1}
	if state != AccessPending {
		updates["decided_at"] = d.At
	}
	res := s.q(ctx).Model(&AccessRequest{}).Where("id = ? AND version = ? AND state = ?", r.ID, r.Version, AccessPending).Updates(updates)
	if res.Error != nil {
		return fmt.Errorf("update access request: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return Invalid("decision", "Someone decided this request at the same moment: reload to see their decision.")
	}
	events := []AccessEvent{ev}
	if state == AccessApproved {
		var more []AccessEvent
		var err error
		if r.Kind == RequestKindExtension {
			more, err = s.approveExtension(ctx, a, r, d)
		} else {
			more, err = s.createGrant(ctx, r, d)
		}
		if err != nil {
			return err
		}
		events = append(events, more...)
	}
	if err := s.recordAccessEvents(ctx, events...); err != nil {
		return err
	}
	return s.publishAccess(ctx, AccessChange{RequestID: r.ID, UserID: r.UserID})
}

// decidedText explains to a late approver what became of a request.
func (s *Store) decidedText(ctx context.Context, r *AccessRequest) string {
	var last AccessDecision
	_ = s.q(ctx).Where("request_id = ?", r.ID).Order("at DESC").Limit(1).Find(&last).Error
	switch r.State {
	case AccessApproved, AccessDenied:
		who := last.ApproverName
		if who == "" {
			who = "another approver"
		}
		return fmt.Sprintf("This request was already %s by %s.", r.State, who)
	case AccessExpired:
		return "This request expired before anyone decided it."
	case AccessCanceled:
		return "The requester withdrew this request."
	}
	return "This request is no longer pending."
}

// CancelAccessRequest withdraws the actor's own pending request. Errors:
// ErrUnauthenticated, ErrNotFound (not the actor's), ErrInvalid (field
// decision: no longer pending).
func (s *Store) CancelAccessRequest(ctx context.Context, a Actor, id string) error {
	if !a.Authenticated() {
		return ErrUnauthenticated
	}
	err := s.Transact(ctx, func(tx *Store) error {
		r, err := first[AccessRequest](tx.forUpdate(tx.q(ctx)), "access request", id)
		if err != nil {
			return err
		}
		if r.UserID != a.UserID {
			return fmt.Errorf("access request %s: %w", id, ErrNotFound)
		}
		if r.State != AccessPending {
			return Invalid("decision", tx.decidedText(ctx, r))
		}
		now := tx.now()
		if err := tx.q(ctx).Model(&AccessRequest{}).Where("id = ?", id).
			Updates(map[string]any{"state": AccessCanceled, "decided_at": now, "version": r.Version + 1}).Error; err != nil {
			return fmt.Errorf("withdraw access request: %w", err)
		}
		ev := r.event("canceled", now)
		ev.ActorID, ev.ActorName = r.UserID, r.UserName
		if err := tx.recordAccessEvents(ctx, ev); err != nil {
			return err
		}
		return tx.publishAccess(ctx, AccessChange{RequestID: r.ID, UserID: r.UserID})
	})
	if err != nil {
		return fmt.Errorf("withdraw access request %s: %w", id, err)
	}
	return nil
}

// targetResource is the target a request is about (its stored ids, so a
// deleted target's requests stay decidable by whoever held the grant).
func (r *AccessRequest) targetResource() acl.Resource {
	return acl.Resource{Type: "target", ID: r.TargetID, ScopeID: r.ProjectID}
}

// event starts the warehouse event of kind about r.
func (r *AccessRequest) event(kind string, at time.Time) AccessEvent {
	ev := AccessEvent{Kind: kind, At: at, RequestID: r.ID, RequestKind: r.Kind, UserID: r.UserID, UserName: r.UserName,
		TargetID: r.TargetID, TargetName: r.TargetName, ProjectID: r.ProjectID, ProjectName: r.ProjectName,
		DurationSeconds: r.DurationSeconds}
	if r.SessionID != nil {
		ev.SessionID = *r.SessionID
	}
	return ev
}

// GetAccessRequest returns a request with its decisions and grant, to its
// requester or to someone with approve-access on its target. Errors:
// ErrUnauthenticated, ErrNotFound.
func (s *Store) GetAccessRequest(ctx context.Context, a Actor, id string) (*AccessRequestItem, error) {
	if !a.Authenticated() {
		return nil, ErrUnauthenticated
	}
	r, err := first[AccessRequest](s.q(ctx), "access request", id)
	if err != nil {
		return nil, err
	}
	approver := s.authorize(ctx, a, ActionApproveAccess, r.targetResource()) == nil
	if r.UserID != a.UserID && !approver {
		return nil, fmt.Errorf("access request %s: %w", id, ErrNotFound)
	}
	items, err := s.requestItems(ctx, a, []AccessRequest{*r})
	if err != nil {
		return nil, err
	}
	return &items[0], nil
}

// requestItems loads the decisions and grants of rs and what a may do.
func (s *Store) requestItems(ctx context.Context, a Actor, rs []AccessRequest) ([]AccessRequestItem, error) {
	out := make([]AccessRequestItem, len(rs))
	if len(rs) == 0 {
		return out, nil
	}
	ids := make([]string, len(rs))
	at := map[string]int{}
	for i, r := range rs {
		ids[i], at[r.ID] = r.ID, i
		out[i] = AccessRequestItem{AccessRequest: r, Actions: map[Action]bool{}}
	}
	var ds []AccessDecision
	if err := s.q(ctx).Where("request_id IN ?", ids).Order("at, approver_id").Find(&ds).Error; err != nil {
		return nil, fmt.Errorf("access decisions: %w", err)
	}
	for _, d := range ds {
		out[at[d.RequestID]].Decisions = append(out[at[d.RequestID]].Decisions, d)
	}
	var gs []AccessGrant
	if err := s.q(ctx).Where("request_id IN ?", ids).Find(&gs).Error; err != nil {
		return nil, fmt.Errorf("access grants: %w", err)
	}
	for i := range gs {
		out[at[gs[i].RequestID]].Grant = &gs[i]
	}
	now := s.now()
	for i := range out {
		it := &out[i]
		approver := s.authorize(ctx, a, ActionApproveAccess, it.targetResource()) == nil
		pending := it.State == AccessPending && it.ExpiresAt.After(now)
		it.Actions[ActionApproveAccess] = approver && it.UserID != a.UserID && pending
		it.Actions[ActionCancel] = it.UserID == a.UserID && pending
		it.Actions[ActionRevokeAccess] = approver && it.Grant != nil && it.Grant.State == GrantActive && it.Grant.EndsAt.After(now)
	}
	return out, nil
}

// ActionRevokeAccess marks, in AccessRequestItem.Actions, that the actor
// may revoke the request's grant (approve-access on its target).
const ActionRevokeAccess Action = "revoke-access"

// AccessLists are the live lists of the Access requests page: the requests
// awaiting the actor's decision and the actor's own recent requests.
type AccessLists struct {
	ToDecide []AccessRequestItem
	Mine     []AccessRequestItem
	// Approver: the actor has approve-access somewhere (show ToDecide).
	Approver bool
}

// accessListMax bounds each list of AccessLists.
const accessListMax = 100

// ListAccessRequests returns the pending requests the actor may decide
// (not its own; filtered in SQL by approve-access on their targets, oldest
// first) and the actor's own requests (newest first). Errors:
// ErrUnauthenticated.
func (s *Store) ListAccessRequests(ctx context.Context, a Actor) (*AccessLists, error) {
	if !a.Authenticated() {
		return nil, ErrUnauthenticated
	}
	out := &AccessLists{}
	cond, args, err := s.listCondition(ctx, a, "target", ActionApproveAccess, ListColumns{Scope: "project_id", ID: "target_id"})
	if err != nil {
		return nil, err
	}
	out.Approver = cond != "1=0"
	now := s.now()
	var todo, mine []AccessRequest
	if out.Approver {
		if err := s.q(ctx).Where("state = ? AND expires_at > ? AND user_id <> ?", AccessPending, now, a.UserID).Where(cond, args...).
			Order("created_at, id").Limit(accessListMax).Find(&todo).Error; err != nil {
			return nil, fmt.Errorf("requests to decide: %w", err)
		}
	}
	if err := s.q(ctx).Where("user_id = ?", a.UserID).Order("created_at DESC, id DESC").Limit(accessListMax).Find(&mine).Error; err != nil {
		return nil, fmt.Errorf("my requests: %w", err)
	}
	if out.ToDecide, err = s.requestItems(ctx, a, todo); err != nil {
		return nil, err
	}
	if out.Mine, err = s.requestItems(ctx, a, mine); err != nil {
		return nil, err
	}
	return out, nil
}

// PendingAccessCount counts the pending requests the actor may decide (the
// navigation's badge). Errors count as zero.
func (s *Store) PendingAccessCount(ctx context.Context, a Actor) int {
	if !a.Authenticated() {
		return 0
	}
	cond, args, err := s.listCondition(ctx, a, "target", ActionApproveAccess, ListColumns{Scope: "project_id", ID: "target_id"})
	if err != nil || cond == "1=0" {
		return 0
	}
	var n int64
	if err := s.q(ctx).Model(&AccessRequest{}).Where("state = ? AND expires_at > ? AND user_id <> ?", AccessPending, s.now(), a.UserID).
		Where(cond, args...).Count(&n).Error; err != nil {
		return 0
	}
	return int(n)
}

// expireRequests expires the pending requests nobody decided in time.
func (s *Store) expireRequests(ctx context.Context) (int, error) {
	now := s.now()
	var rs []AccessRequest
	err := s.q(ctx).Raw(`UPDATE access_requests SET state = 'expired', decided_at = ?, version = version + 1
		WHERE state = 'pending' AND expires_at <= ? RETURNING *`, now, now).Scan(&rs).Error
	if err != nil {
		return 0, fmt.Errorf("expire access requests: %w", err)
	}
	if len(rs) == 0 {
		return 0, nil
	}
	events := make([]AccessEvent, len(rs))
	changes := make([]AccessChange, len(rs))
	for i := range rs {
		events[i] = rs[i].event("expired", now)
		changes[i] = AccessChange{RequestID: rs[i].ID, UserID: rs[i].UserID}
	}
	if err := s.recordAccessEvents(ctx, events...); err != nil {
		return 0, err
	}
	return len(rs), s.publishAccess(ctx, changes...)
}
