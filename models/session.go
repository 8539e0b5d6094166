package models

import (
	"context"
	"fmt"
	"time"

	"gatehouse/models/acl"
)

// Session actions (grant_types.go lists them for type "session").
const (
	ActionReadSelf   Action = "read:self"
	ActionCancel     Action = "cancel"
	ActionCancelSelf Action = "cancel:self"
)

// Session is a set of connections between one user and one host through a
// target, in the target's project. It keeps the ids and names of what it
// was started with, so its record outlives their deletion.
type Session struct {
	ID                string
	UserID            string
	UserName          string
	AccountID         string
	AuthMethodID      string
	OrgID             string
	OrgName           string
	ProjectID         string
	ProjectName       string
	TargetID          string
	TargetName        string
	HostID            string
	HostName          string
	HostSetID         string
	HostCatalogID     string
	Endpoint          string
	TokenHash         string `json:"-"`
	State             SessionState
	PreviousState     *SessionState
	TerminationReason *TerminationReason
	// EndingReason is, once the session went canceling, the reason it
	// terminates with when its connections are closed (canceled, or closed
	// by end-user); nil before.
	EndingReason *TerminationReason
	ExpiresAt    time.Time
	// ConnectionLimit is -1 (unlimited) or > 0, fixed at the start.
	ConnectionLimit int
	// ConnectionCount counts every connection ever admitted.
	ConnectionCount int
	// OpenConnections counts connections not yet closed.
	OpenConnections int
	BytesUp         int64
	BytesDown       int64
	ClientIP        string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	EndedAt         *time.Time
	Version         int
}

// ReasonText is the termination reason, or "" while not terminated.
func (s Session) ReasonText() string {
	if s.TerminationReason == nil {
		return ""
	}
	return string(*s.TerminationReason)
}

// endingReason is the reason a canceling session terminates with.
func (s Session) endingReason() TerminationReason {
	if s.EndingReason != nil {
		return *s.EndingReason
	}
	return ReasonCanceled
}

// ConnectionsLeft is how many more connections may be made, -1 for
// unlimited.
func (s Session) ConnectionsLeft() int {
	if s.ConnectionLimit < 0 {
		return -1
	}
	return max(0, s.ConnectionLimit-s.ConnectionCount)
}

// SessionStateRow is one entry of a session's state history.
type SessionStateRow struct {
	SessionID         string
	State             SessionState
	PreviousState     *SessionState
	TerminationReason *TerminationReason
	At                time.Time
}

// TableName is the history table.
func (SessionStateRow) TableName() string { return "session_states" }

// Connection is one connection of a session (recorded by the proxy).
type Connection struct {
	ID           string
	SessionID    string
	ClientAddr   string
	UserIP       string
	EndpointAddr string
	AuthorizedAt time.Time
	ConnectedAt  *time.Time
	ClosedAt     *time.Time
	BytesUp      int64
	BytesDown    int64
	ClosedReason *string
	// InstanceID is the instance whose worker relays the connection (nil
	// for connections admitted without one).
	InstanceID *string
}

// TableName is the connections table.
func (Connection) TableName() string { return "session_connections" }

// SessionCredentialRow records a credential brokered to a session (never
// its secret) and when it was revoked.
type SessionCredentialRow struct {
	SessionID    string
	CredentialID string
	LibraryID    string
	StoreID      string
	Name         string
	Type         string
	Purpose      string
	Source       string
	IssuedAt     time.Time
	RevokedAt    *time.Time
}

// TableName is the brokered-credentials table.
func (SessionCredentialRow) TableName() string { return "session_credentials" }

// SessionItem is a session in a list with what the actor may do to it.
type SessionItem struct {
	Session
	Actions map[Action]bool
	// Connections are the session's connections, oldest first, filled by
	// My sessions while the session is not terminated.
	Connections []Connection
}

// SessionDetail is everything the session page shows. Credentials (with
// their secrets) are filled only for the session's own user while the
// session is not terminated.
type SessionDetail struct {
	SessionItem
	History     []SessionStateRow
	Connections []Connection
	Brokered    []SessionCredentialRow
	Credentials []IssuedCredential
}

func sessionResource(s *Session) acl.Resource {
	return acl.Resource{Type: "session", ID: s.ID, ScopeID: s.ProjectID, OwnerUserID: s.UserID}
}

// readSession loads a session the actor may read (read, or read:self on its
// own); others get ErrNotFound.
func (s *Store) readSession(ctx context.Context, a Actor, id string) (*Session, error) {
	if !a.Authenticated() {
		return nil, ErrUnauthenticated
	}
	sess, err := first[Session](s.q(ctx), "session", id)
	if err != nil {
		return nil, err
	}
	if err := s.authorizeSelf(ctx, a, ActionRead, ActionReadSelf, sessionResource(sess)); err != nil {
		return nil, notFoundIfHidden(err)
	}
	return sess, nil
}

// authorizeSelf allows action, or its :self form on the actor's own item.
func (s *Store) authorizeSelf(ctx context.Context, a Actor, action, self Action, res acl.Resource) error {
	if res.OwnerUserID != "" && res.OwnerUserID == a.UserID && s.authorize(ctx, a, self, res) == nil {
		return nil
	}
	return s.authorize(ctx, a, action, res)
}

// sessionActions are the buttons a session row may show.
func (s *Store) sessionActions(ctx context.Context, a Actor, sess *Session) map[Action]bool {
	res := sessionResource(sess)
	can := s.Allowed(ctx, a, res, ActionRead, ActionReadSelf, ActionCancel, ActionCancelSelf)
	own := sess.UserID == a.UserID
	return map[Action]bool{
		ActionRead:   can[ActionRead] || (own && can[ActionReadSelf]),
		ActionCancel: !sess.State.Final() && (can[ActionCancel] || (own && can[ActionCancelSelf])),
	}
}

// GetSession returns one session with its history, connections and brokered
// credentials; the secrets only to the session's own user while it lives.
// Errors: ErrUnauthenticated, ErrNotFound.
func (s *Store) GetSession(ctx context.Context, a Actor, id string) (*SessionDetail, error) {
	sess, err := s.readSession(ctx, a, id)
	if err != nil {
		return nil, err
	}
	d := &SessionDetail{SessionItem: SessionItem{Session: *sess, Actions: s.sessionActions(ctx, a, sess)}}
	q := s.q(ctx)
	if err := q.Where("session_id = ?", id).Order("at, CASE state WHEN 'pending' THEN 0 WHEN 'active' THEN 1 WHEN 'canceling' THEN 2 ELSE 3 END").Find(&d.History).Error; err != nil {
		return nil, fmt.Errorf("session %s history: %w", id, err)
	}
	if err := q.Where("session_id = ?", id).Order("authorized_at, id").Find(&d.Connections).Error; err != nil {
		return nil, fmt.Errorf("session %s connections: %w", id, err)
	}
	if err := q.Where("session_id = ?", id).Order("name, credential_id").Find(&d.Brokered).Error; err != nil {
		return nil, fmt.Errorf("session %s credentials: %w", id, err)
	}
	if sess.UserID == a.UserID && !sess.State.Final() {
		for _, b := range d.Brokered {
			if b.RevokedAt != nil || b.Source != SourceStatic {
				continue // dynamic credentials are shown once, at the start
			}
			c, err := s.staticCredential(ctx, b.CredentialID)
			if err != nil {
				continue // deleted meanwhile: the session is being canceled
			}
			c.Purpose = b.Purpose
			d.Credentials = append(d.Credentials, *c)
		}
	}
	return d, nil
}
