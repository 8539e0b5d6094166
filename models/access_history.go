package models

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// AccessEvent is one row of the access history in the warehouse, written in
// the transaction of the change it describes and never updated or deleted.
// Kind is one of requested, approved, denied, expired, canceled (the
// request), granted, revoked, grant-ended (the grant), session-started (a
// session under a grant), extended, shortened (a session's expiration
// moved: FromAt → ToAt). Actor is who did it (empty for the system).
type AccessEvent struct {
	ID              string
	At              time.Time
	Kind            string
	RequestID       string
	GrantID         string
	SessionID       string
	RequestKind     string
	UserID          string
	UserName        string
	ActorID         string
	ActorName       string
	TargetID        string
	TargetName      string
	ProjectID       string
	ProjectName     string
	Reason          string
	Comment         string
	DurationSeconds int
	FromAt          *time.Time
	ToAt            *time.Time
}

// TableName is the warehouse table of access history.
func (AccessEvent) TableName() string { return "warehouse_access_events" }

// AccessEventKinds are the kinds of AccessEvent, for filters.
var AccessEventKinds = []string{"requested", "approved", "denied", "expired", "canceled", "granted", "revoked",
	"grant-ended", "session-started", "extended", "shortened"}

// accessEventRank orders events of the same instant by their place in a
// request's life.
const accessEventRank = `CASE kind WHEN 'requested' THEN 0 WHEN 'approved' THEN 1 WHEN 'denied' THEN 1 WHEN 'canceled' THEN 1
 WHEN 'expired' THEN 1 WHEN 'granted' THEN 2 WHEN 'session-started' THEN 3 WHEN 'extended' THEN 4 WHEN 'shortened' THEN 4
 WHEN 'revoked' THEN 5 ELSE 6 END`

// recordAccessEvents writes events to the warehouse.
func (s *Store) recordAccessEvents(ctx context.Context, events ...AccessEvent) error {
	if len(events) == 0 {
		return nil
	}
	for i := range events {
		events[i].ID = NewID(PrefixAccessEvent)
		events[i].At = events[i].At.UTC().Truncate(time.Microsecond)
	}
	if err := s.q(ctx).CreateInBatches(events, 200).Error; err != nil {
		return fmt.Errorf("record access history: %w", err)
	}
	return s.emitAccessWebhooks(ctx, events)
}

// accessWebhookEvents maps access history kinds to the webhook events they
// are reported as (docs/webhooks.md); other kinds are history only.
var accessWebhookEvents = map[string]string{
	"requested": EventAccessRequested, "approved": EventAccessApproved,
	"denied": EventAccessDenied, "revoked": EventAccessRevoked,
}

// movedSessionEvents are the session events of a moved expiration, by
// access history kind.
var movedSessionEvents = map[string]string{"extended": EventSessionExtended, "shortened": EventSessionShortened}

// emitAccessWebhooks queues the webhook deliveries of access history events
// in their transaction: access.* for requests and grants, session.extended
// and session.shortened for a session's moved expiration.
func (s *Store) emitAccessWebhooks(ctx context.Context, events []AccessEvent) error {
	for _, e := range events {
		if moved, ok := movedSessionEvents[e.Kind]; ok && e.SessionID != "" {
			if err := s.EmitSessionEvent(ctx, moved, e.SessionID); err != nil {
				return err
			}
			continue
		}
		typ, ok := accessWebhookEvents[e.Kind]
		if !ok {
			continue
		}
		d := AccessEventData{RequestID: e.RequestID, State: e.Kind,
			Requester: Party{ID: e.UserID, Name: e.UserName},
			Target:    NamedRef{ID: e.TargetID, Name: e.TargetName}, Project: NamedRef{ID: e.ProjectID, Name: e.ProjectName},
			Reason: e.Reason, Decision: e.Comment, StartsAt: e.FromAt, EndsAt: e.ToAt, RequestedAt: e.At}
		if e.ActorID != "" && e.ActorID != e.UserID {
			d.Approver = &Party{ID: e.ActorID, Name: e.ActorName}
		}
		if err := s.EmitAccessEvent(ctx, typ, d); err != nil {
			return err
		}
	}
	return nil
}

// AccessChange says that an access request (or its grant) changed, for the
// live pages: the approvers' list and badge, and its requester's views.
type AccessChange struct {
	RequestID string
	UserID    string
}

// AccessNotifier receives committed access changes. It must not block.
type AccessNotifier interface {
	AccessChanged(changes []AccessChange)
}

// AccessNotifyChannel is the Postgres channel of access changes: a payload
// is the publishing instance id, then one line "request_id user_id" per
// change (the same shape as SessionNotifyChannel's).
const AccessNotifyChannel = "gatehouse_access"

// publishAccess tells other instances (pg_notify, on commit) and this one
// (after commit) that access requests changed.
func (s *Store) publishAccess(ctx context.Context, changes ...AccessChange) error {
	if len(changes) == 0 {
		return nil
	}
	if s.dialect == Postgres {
		sc := make([]SessionChange, len(changes))
		for i, c := range changes {
			sc[i] = SessionChange{SessionID: c.RequestID, UserID: c.UserID}
		}
		for _, p := range EncodeSessionChanges(s.opts.Sessions.InstanceID, sc) {
			if err := s.q(ctx).Exec("SELECT pg_notify(?, ?)", AccessNotifyChannel, p).Error; err != nil {
				return fmt.Errorf("notify access changes: %w", err)
			}
		}
	}
	if n := s.opts.Sessions.Access; n != nil {
		s.afterCommit(func() { n.AccessChanged(changes) })
	}
	return nil
}

// DecodeAccessChanges reads an AccessNotifyChannel payload.
func DecodeAccessChanges(payload string) (instanceID string, changes []AccessChange) {
	id, sc := DecodeSessionChanges(payload)
	for _, c := range sc {
		changes = append(changes, AccessChange{RequestID: c.SessionID, UserID: c.UserID})
	}
	return id, changes
}

// AccessHistoryFilter selects access history. Empty fields do not filter;
// User and Target match an id or a name (case-insensitive, as it was then).
type AccessHistoryFilter struct {
	From, To  time.Time // at in [From, To)
	User      string
	Target    string
	Kind      string // one of AccessEventKinds
	RequestID string
	SessionID string
	Limit     int // default 200, at most 1000 (the export ignores it)
}

// accessHistoryWhere keeps the events the actor may read: its own, those
// of targets it may approve access to, and those of projects whose session
// history it may read.
func (s *Store) accessHistoryWhere(ctx context.Context, a Actor, f AccessHistoryFilter) (string, []any, error) {
	if !a.Authenticated() {
		return "", nil, ErrUnauthenticated
	}
	approve, aargs, err := s.listCondition(ctx, a, "target", ActionApproveAccess, ListColumns{Scope: "project_id", ID: "target_id"})
	if err != nil {
		return "", nil, err
	}
	hist, hargs, err := s.listCondition(ctx, a, "session", ActionReadHistory, ListColumns{Scope: "project_id"})
	if err != nil {
		return "", nil, err
	}
	args := append(append([]any{a.UserID}, aargs...), hargs...)
	parts := []string{"(user_id = ? OR (" + approve + ") OR (" + hist + "))"}
	add := func(c string, v ...any) {
		parts = append(parts, c)
		args = append(args, v...)
	}
	if !f.From.IsZero() {
		add("at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		add("at < ?", f.To.UTC())
	}
	byIDOrName := func(v, prefix, idCol, nameCol string) {
		if v = strings.TrimSpace(v); v == "" {
			return
		}
		if strings.HasPrefix(v, prefix+"_") {
			add(idCol+" = ?", v)
		} else {
			add("lower("+nameCol+") = ?", strings.ToLower(v))
		}
	}
	byIDOrName(f.User, PrefixUser, "user_id", "user_name")
	byIDOrName(f.Target, PrefixTarget, "target_id", "target_name")
	if f.Kind != "" {
		add("kind = ?", f.Kind)
	}
	if f.RequestID != "" {
		add("request_id = ?", f.RequestID)
	}
	if f.SessionID != "" {
		add("(session_id = ? OR (grant_id <> '' AND grant_id IN (SELECT grant_id FROM warehouse_access_events WHERE session_id = ? AND grant_id <> '')))",
			f.SessionID, f.SessionID)
	}
	return strings.Join(parts, " AND "), args, nil
}

// AccessHistory returns access history events matching f, newest first.
// Errors: ErrUnauthenticated, ErrInvalid (field kind).
func (s *Store) AccessHistory(ctx context.Context, a Actor, f AccessHistoryFilter) ([]AccessEvent, error) {
	if f.Kind != "" && !slices.Contains(AccessEventKinds, f.Kind) {
		return nil, Invalid("kind", "Choose one of the listed kinds.")
	}
	cond, args, err := s.accessHistoryWhere(ctx, a, f)
	if err != nil {
		return nil, err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 200
	}
	var out []AccessEvent
	if err := s.q(ctx).Where(cond, args...).Order("at DESC, " + accessEventRank + " DESC, id DESC").Limit(min(limit, 1000)).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("access history: %w", err)
	}
	return out, nil
}

// ExportAccessHistory streams every event matching f, oldest first, to
// emit, in pages (no limit). Errors: as AccessHistory, or emit's.
func (s *Store) ExportAccessHistory(ctx context.Context, a Actor, f AccessHistoryFilter, emit func(*AccessEvent) error) error {
	if f.Kind != "" && !slices.Contains(AccessEventKinds, f.Kind) {
		return Invalid("kind", "Choose one of the listed kinds.")
	}
	cond, args, err := s.accessHistoryWhere(ctx, a, f)
	if err != nil {
		return err
	}
	var lastAt time.Time
	lastID := ""
	for {
		q := s.q(ctx).Where(cond, args...)
		if lastID != "" {
			q = q.Where("(at > ? OR (at = ? AND id > ?))", lastAt, lastAt, lastID)
		}
		var page []AccessEvent
		if err := q.Order("at, id").Limit(500).Find(&page).Error; err != nil {
			return fmt.Errorf("export access history: %w", err)
		}
		for i := range page {
			if err := emit(&page[i]); err != nil {
				return err
			}
		}
		if len(page) < 500 {
			return nil
		}
		lastAt, lastID = page[len(page)-1].At, page[len(page)-1].ID
	}
}

// SessionAccessHistory returns the access events of a session for its
// audit record: its grant's story (request, decisions, grant, revocation)
// and its expiration changes, oldest first. The caller has checked that
// the actor may read the session's record.
func (s *Store) SessionAccessHistory(ctx context.Context, sessionID string) ([]AccessEvent, error) {
	var out []AccessEvent
	err := s.q(ctx).Where(`session_id = ? OR request_id IN (SELECT request_id FROM warehouse_access_events
		WHERE grant_id <> '' AND grant_id IN (SELECT grant_id FROM warehouse_access_events WHERE session_id = ? AND grant_id <> ''))`,
		sessionID, sessionID).Order("at, " + accessEventRank + ", id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("access history of session %s: %w", sessionID, err)
	}
	return out, nil
}

// AccessEventColumns are the export's columns, in AccessEvent's order.
var AccessEventColumns = []string{"id", "at", "kind", "request_id", "grant_id", "session_id", "request_kind", "user_id",
	"user_name", "actor_id", "actor_name", "target_id", "target_name", "project_id", "project_name", "reason", "comment",
	"duration_seconds", "from_at", "to_at"}

// Values returns the event's export values, in AccessEventColumns' order
// (times in RFC 3339 UTC, empty when unset).
func (e *AccessEvent) Values() []string {
	t := func(p *time.Time) string {
		if p == nil {
			return ""
		}
		return p.UTC().Format(time.RFC3339Nano)
	}
	return []string{e.ID, e.At.UTC().Format(time.RFC3339Nano), e.Kind, e.RequestID, e.GrantID, e.SessionID, e.RequestKind,
		e.UserID, e.UserName, e.ActorID, e.ActorName, e.TargetID, e.TargetName, e.ProjectID, e.ProjectName, e.Reason,
		e.Comment, fmt.Sprint(e.DurationSeconds), t(e.FromAt), t(e.ToAt)}
}
