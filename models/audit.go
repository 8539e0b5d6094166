package models

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gatehouse/models/acl"
)

// HistorySession is one session as the warehouse keeps it: the snapshot of
// everything that authorized it (never rewritten) and its accumulating facts.
type HistorySession struct {
	SessionID               string     `gorm:"column:session_id;primaryKey"`
	CreatedAt               time.Time  `gorm:"column:created_at"`
	ExpiresAt               time.Time  `gorm:"column:expires_at"`
	ConnectionLimit         int        `gorm:"column:connection_limit"`
	UserID                  string     `gorm:"column:user_id"`
	UserName                string     `gorm:"column:user_name"`
	UserFullName            string     `gorm:"column:user_full_name"`
	UserEmail               string     `gorm:"column:user_email"`
	AccountID               string     `gorm:"column:account_id"`
	AuthMethodID            string     `gorm:"column:auth_method_id"`
	AuthMethodName          string     `gorm:"column:auth_method_name"`
	AuthMethodType          string     `gorm:"column:auth_method_type"`
	GroupsJSON              string     `gorm:"column:groups_json"`
	ManagedGroupsJSON       string     `gorm:"column:managed_groups_json"`
	GrantsJSON              string     `gorm:"column:grants_json"`
	TargetID                string     `gorm:"column:target_id"`
	TargetName              string     `gorm:"column:target_name"`
	TargetType              string     `gorm:"column:target_type"`
	TargetDescription       string     `gorm:"column:target_description"`
	TargetPort              int        `gorm:"column:target_port"`
	TargetSessionMaxSeconds int        `gorm:"column:target_session_max_seconds"`
	TargetConnectionLimit   int        `gorm:"column:target_connection_limit"`
	HostID                  string     `gorm:"column:host_id"`
	HostName                string     `gorm:"column:host_name"`
	HostAddress             string     `gorm:"column:host_address"`
	HostSetID               string     `gorm:"column:host_set_id"`
	HostSetName             string     `gorm:"column:host_set_name"`
	HostCatalogID           string     `gorm:"column:host_catalog_id"`
	HostCatalogName         string     `gorm:"column:host_catalog_name"`
	Endpoint                string     `gorm:"column:endpoint"`
	ProjectID               string     `gorm:"column:project_id"`
	ProjectName             string     `gorm:"column:project_name"`
	OrgID                   string     `gorm:"column:org_id"`
	OrgName                 string     `gorm:"column:org_name"`
	CredentialsJSON         string     `gorm:"column:credentials_json"`
	ClientIP                string     `gorm:"column:client_ip"`
	UserAgent               string     `gorm:"column:user_agent"`
	SearchText              string     `gorm:"column:search_text"`
	State                   string     `gorm:"column:state"`
	PendingAt               *time.Time `gorm:"column:pending_at"`
	ActiveAt                *time.Time `gorm:"column:active_at"`
	CancelingAt             *time.Time `gorm:"column:canceling_at"`
	TerminatedAt            *time.Time `gorm:"column:terminated_at"`
	TerminationReason       string     `gorm:"column:termination_reason"`
	ConnectionCount         int        `gorm:"column:connection_count"`
	BytesUp                 int64      `gorm:"column:bytes_up"`
	BytesDown               int64      `gorm:"column:bytes_down"`

	// Decoded from the JSON columns by GetHistorySession.
	Groups        []NamedRef       `gorm:"-"`
	ManagedGroups []NamedRef       `gorm:"-"`
	Grants        []acl.GrantMatch `gorm:"-"`
	Credentials   []CredentialRef  `gorm:"-"`
}

// TableName is the warehouse's session table.
func (HistorySession) TableName() string { return "warehouse_sessions" }

// HistoryState is one entry of a session's state timeline.
type HistoryState struct {
	SessionID string    `gorm:"column:session_id"`
	State     string    `gorm:"column:state"`
	Reason    string    `gorm:"column:reason"`
	At        time.Time `gorm:"column:at"`
}

// TableName is the warehouse's state timeline table.
func (HistoryState) TableName() string { return "warehouse_session_states" }

// HistoryConnection is one connection's facts as the warehouse keeps them.
type HistoryConnection struct {
	ConnectionID string     `gorm:"column:connection_id;primaryKey"`
	SessionID    string     `gorm:"column:session_id"`
	ClientAddr   string     `gorm:"column:client_addr"`
	UserIP       string     `gorm:"column:user_ip"`
	EndpointAddr string     `gorm:"column:endpoint_addr"`
	AuthorizedAt time.Time  `gorm:"column:authorized_at"`
	ConnectedAt  *time.Time `gorm:"column:connected_at"`
	ClosedAt     *time.Time `gorm:"column:closed_at"`
	BytesUp      int64      `gorm:"column:bytes_up"`
	BytesDown    int64      `gorm:"column:bytes_down"`
	ClosedReason string     `gorm:"column:closed_reason"`
}

// TableName is the warehouse's connection table.
func (HistoryConnection) TableName() string { return "warehouse_connections" }

// HistoryRevocation is when a credential brokered to a session was revoked,
// as the warehouse keeps it (the operational session_credentials rows go
// with the retention loop).
type HistoryRevocation struct {
	SessionID    string    `gorm:"column:session_id"`
	CredentialID string    `gorm:"column:credential_id"`
	Purpose      string    `gorm:"column:purpose"`
	RevokedAt    time.Time `gorm:"column:revoked_at"`
}

// TableName is the warehouse's credential revocation table.
func (HistoryRevocation) TableName() string { return "warehouse_credential_revocations" }

// historyStateRank orders the session states; the warehouse's current state
// only moves forward.
var historyStateRank = map[string]int{"pending": 0, "active": 1, "canceling": 2, "terminated": 3}

// warehouseRevocations copies, in the revoking transaction, the revocation
// times of the sessions' revoked credentials into the warehouse (Postgres
// roles are recorded when the queue has dropped them) (those
// already there are kept as they are; a session without a warehouse row,
// started before the warehouse existed, has none).
func (s *Store) warehouseRevocations(ctx context.Context, sessionIDs []string) error {
	err := s.q(ctx).Exec(`INSERT INTO warehouse_credential_revocations (session_id, credential_id, purpose, revoked_at)
		SELECT c.session_id, c.credential_id, c.purpose, c.revoked_at FROM session_credentials c
		WHERE c.session_id IN ? AND c.revoked_at IS NOT NULL AND c.source <> 'postgres'
		AND EXISTS (SELECT 1 FROM warehouse_sessions w WHERE w.session_id = c.session_id)
		ON CONFLICT DO NOTHING`, sessionIDs).Error
	if err != nil {
		return fmt.Errorf("warehouse credential revocations: %w", err)
	}
	return nil
}

// warehouseIDChunk bounds IN lists (SQLite allows 32766 parameters, Postgres 65535).
const warehouseIDChunk = 1000

func toJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return "[]"
	}
	return string(b)
}

// historyFromSnapshot builds the warehouse row of a new session.
func historyFromSnapshot(snap *SessionSnapshot) *HistorySession {
	created := snap.CreatedAt.UTC().Truncate(time.Microsecond)
	h := &HistorySession{
		SessionID: snap.SessionID, CreatedAt: created, ExpiresAt: snap.ExpiresAt.UTC().Truncate(time.Microsecond),
		ConnectionLimit: snap.ConnectionLimit,
		UserID:          snap.UserID, UserName: snap.UserName, UserFullName: snap.UserFullName, UserEmail: snap.UserEmail,
		AccountID: snap.AccountID, AuthMethodID: snap.AuthMethodID, AuthMethodName: snap.AuthMethodName,
		AuthMethodType: snap.AuthMethodType,
		GroupsJSON:     toJSON(snap.Groups), ManagedGroupsJSON: toJSON(snap.ManagedGroups), GrantsJSON: toJSON(snap.Grants),
		TargetID: snap.TargetID, TargetName: snap.TargetName, TargetType: snap.TargetType,
		TargetDescription: snap.TargetDescription, TargetPort: snap.TargetPort,
		TargetSessionMaxSeconds: snap.TargetSessionMaxSeconds, TargetConnectionLimit: snap.TargetConnectionLimit,
		HostID: snap.HostID, HostName: snap.HostName, HostAddress: snap.HostAddress,
		HostSetID: snap.HostSetID, HostSetName: snap.HostSetName,
		HostCatalogID: snap.HostCatalogID, HostCatalogName: snap.HostCatalogName, Endpoint: snap.Endpoint,
		ProjectID: snap.ProjectID, ProjectName: snap.ProjectName, OrgID: snap.OrgID, OrgName: snap.OrgName,
		CredentialsJSON: toJSON(snap.Credentials), ClientIP: snap.ClientIP, UserAgent: snap.UserAgent,
		State: "pending", PendingAt: &created,
	}
	h.SearchText = strings.ToLower(strings.Join([]string{
		snap.SessionID, snap.UserID, snap.UserName, snap.UserFullName, snap.UserEmail, snap.AuthMethodName,
		snap.TargetID, snap.TargetName, snap.HostName, snap.HostAddress, snap.HostSetName, snap.HostCatalogName,
		snap.Endpoint, snap.ProjectName, snap.OrgName, snap.ClientIP, snap.UserAgent,
	}, " "))
	return h
}

// SQLite's free-text search of the warehouse is an FTS5 table
// (warehouse_sessions_search). FTS5 keeps the rows inserted in a
// transaction in memory and writes them as one new segment of its index,
// merged with others as they pile up; but it writes them at every
// savepoint too, and SQLite opens one for most statements that follow in
// the transaction. Filled by a trigger, each session start wrote a segment
// of one row and paid its merges: 6 % of all CPU in the webhook benchmark
// (issue 17). The search rows are now written by one statement just
// before the commit, for every start of a grouped transaction at once
// (migration 00022 drops the trigger). Postgres indexes the column itself.

// searchRowLater has the search row of a new warehouse session written
// before the transaction commits (at once outside one; Postgres needs none).
func (s *Store) searchRowLater(ctx context.Context, sessionID string) error {
	if s.dialect != SQLite {
		return nil
	}
	if s.search == nil {
		return s.writeSearchRows(ctx, []string{sessionID})
	}
	*s.search = append(*s.search, sessionID)
	return nil
}

// writeSearchRows writes the search rows of the given warehouse sessions
// (those that exist) in one statement per 1,000.
func (s *Store) writeSearchRows(ctx context.Context, sessionIDs []string) error {
	for _, ids := range chunks(sessionIDs, warehouseIDChunk) {
		if err := s.q(ctx).Exec(`INSERT INTO warehouse_sessions_search (session_id, search_text)
			SELECT session_id, search_text FROM warehouse_sessions WHERE session_id IN ?`, ids).Error; err != nil {
			return fmt.Errorf("warehouse search rows: %w", err)
		}
	}
	return nil
}

// warehouseSessionCreated records a new session's snapshot and its first
// state (pending) in the warehouse. The session code calls it inside the
// transaction that creates the session.
func (s *Store) warehouseSessionCreated(ctx context.Context, snap *SessionSnapshot) error {
	h := historyFromSnapshot(snap)
	db := s.q(ctx)
	if err := db.Create(h).Error; err != nil {
		return fmt.Errorf("warehouse session %s: %w", snap.SessionID, err)
	}
	if err := s.searchRowLater(ctx, h.SessionID); err != nil {
		return err
	}
	st := HistoryState{SessionID: h.SessionID, State: "pending", At: h.CreatedAt}
	// On Postgres the state goes with the session.started event's statement.
	if s.dialect != Postgres {
		if err := db.Create(&st).Error; err != nil {
			return fmt.Errorf("warehouse session %s state: %w", snap.SessionID, err)
		}
	}
	return s.enqueueFirst(ctx, EventSessionStarted, snap.SessionID, &st, snapshotEventData(snap))
}

// warehouseSessionsState records that the sessions moved to state at the
// given time (with the termination reason when state is terminated). It is
// set-based (one INSERT … SELECT and one UPDATE per chunk of 1,000 ids) and
// idempotent: a state already recorded for a session keeps its first time,
// and a session's current state never moves backwards. Ids without a
// warehouse snapshot are ignored.
func (s *Store) warehouseSessionsState(ctx context.Context, sessionIDs []string, state, reason string, at time.Time) (err error) {
	rank, ok := historyStateRank[state]
	if !ok {
		return fmt.Errorf("warehouse state %q: %w", state, ErrInvalid)
	}
	if state != "terminated" {
		reason = ""
	}
	at = at.UTC().Truncate(time.Microsecond)
	col := state + "_at"
	defer func(ids []string) {
		if ev := sessionStateEvent(state); ev != "" && err == nil {
			err = s.sessionEvents(ctx, ev, ids, nil)
		}
	}(sessionIDs)
	for len(sessionIDs) > 0 {
		n := min(len(sessionIDs), warehouseIDChunk)
		ids := sessionIDs[:n]
		sessionIDs = sessionIDs[n:]
		db := s.q(ctx)
		err := db.Exec(`INSERT INTO warehouse_session_states (session_id, state, reason, at)
			SELECT session_id, ?, ?, ? FROM warehouse_sessions WHERE session_id IN ?
			ON CONFLICT (session_id, state) DO NOTHING`, state, reason, at, ids).Error
		if err != nil {
			return fmt.Errorf("warehouse states %s: %w", state, err)
		}
		err = db.Exec(`UPDATE warehouse_sessions SET
			state = CASE WHEN (CASE state WHEN 'pending' THEN 0 WHEN 'active' THEN 1 WHEN 'canceling' THEN 2 ELSE 3 END) < ? THEN ? ELSE state END,
			`+col+` = COALESCE(`+col+`, ?),
			termination_reason = CASE WHEN termination_reason = '' THEN ? ELSE termination_reason END
			WHERE session_id IN ? AND `+col+` IS NULL`, rank, state, at, reason, ids).Error
		if err != nil {
			return fmt.Errorf("warehouse sessions %s: %w", state, err)
		}
	}
	return nil
}

// warehouseConnection records a connection's current facts (authorized,
// connected, bytes flushed, closed) and adds what is new to its session's
// totals, so a session's connection count and bytes always equal the sums of
// its connection rows. Times already recorded are kept; byte counters only
// grow. A connection of a session without a warehouse snapshot is ignored.
func (s *Store) warehouseConnection(ctx context.Context, c *WarehouseConnection) error {
	return s.Transact(ctx, func(tx *Store) (err error) {
		db := tx.q(ctx)
		var old []HistoryConnection
		if err := tx.forUpdate(db.Where("connection_id = ?", c.ConnectionID)).Find(&old).Error; err != nil {
			return fmt.Errorf("warehouse connection %s: %w", c.ConnectionID, err)
		}
		if len(old) == 0 {
			var n int64
			if err := db.Model(&HistorySession{}).Where("session_id = ?", c.SessionID).Count(&n).Error; err != nil || n == 0 {
				return err
			}
			row := HistoryConnection{
				ConnectionID: c.ConnectionID, SessionID: c.SessionID, ClientAddr: c.ClientAddr, UserIP: c.UserIP,
				EndpointAddr: c.EndpointAddr, AuthorizedAt: c.AuthorizedAt.UTC().Truncate(time.Microsecond),
				ConnectedAt: utcPtr(c.ConnectedAt), ClosedAt: utcPtr(c.ClosedAt),
				BytesUp: max(c.BytesUp, 0), BytesDown: max(c.BytesDown, 0), ClosedReason: c.ClosedReason,
			}
			if err := db.Create(&row).Error; err != nil {
				return fmt.Errorf("warehouse connection %s: %w", c.ConnectionID, err)
			}
			if err := tx.addSessionTotals(ctx, c.SessionID, 1, row.BytesUp, row.BytesDown); err != nil || c.ClosedAt == nil {
				return err
			}
			return tx.sessionEvents(ctx, EventSessionConnectionClosed, []string{c.SessionID}, c)
		}
		o := old[0]
		up, down := max(c.BytesUp-o.BytesUp, 0), max(c.BytesDown-o.BytesDown, 0)
		upd := map[string]any{"bytes_up": o.BytesUp + up, "bytes_down": o.BytesDown + down}
		setIf := func(col, v, cur string) {
			if v != "" && cur == "" {
				upd[col] = v
			}
		}
		setIf("client_addr", c.ClientAddr, o.ClientAddr)
		setIf("user_ip", c.UserIP, o.UserIP)
		setIf("endpoint_addr", c.EndpointAddr, o.EndpointAddr)
		setIf("closed_reason", c.ClosedReason, o.ClosedReason)
		if o.ConnectedAt == nil && c.ConnectedAt != nil {
			upd["connected_at"] = *utcPtr(c.ConnectedAt)
		}
		if o.ClosedAt == nil && c.ClosedAt != nil {
			upd["closed_at"] = *utcPtr(c.ClosedAt)
			defer func() {
				if err == nil {
					err = tx.sessionEvents(ctx, EventSessionConnectionClosed, []string{o.SessionID}, c)
				}
			}()
		}
		if err := db.Model(&HistoryConnection{}).Where("connection_id = ?", o.ConnectionID).Updates(upd).Error; err != nil {
			return fmt.Errorf("warehouse connection %s: %w", c.ConnectionID, err)
		}
		if up == 0 && down == 0 {
			return nil
		}
		return tx.addSessionTotals(ctx, o.SessionID, 0, up, down)
	})
}

func (s *Store) addSessionTotals(ctx context.Context, sessionID string, conns int, up, down int64) error {
	err := s.q(ctx).Exec(`UPDATE warehouse_sessions SET connection_count = connection_count + ?,
		bytes_up = bytes_up + ?, bytes_down = bytes_down + ? WHERE session_id = ?`, conns, up, down, sessionID).Error
	if err != nil {
		return fmt.Errorf("warehouse session %s totals: %w", sessionID, err)
	}
	return nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

func jsonUnmarshal(src string, dst any) error {
	if src == "" {
		return nil
	}
	return json.Unmarshal([]byte(src), dst)
}
