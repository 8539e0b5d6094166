package models

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// WebhookOptions tune webhook deliveries.
type WebhookOptions struct {
	// Wake is told, after a commit that queued deliveries, that there is
	// work (the local deliverer's doorbell). It must not block.
	Wake func()
	// Handoff, when set, is this instance's deliverer, to which the Store
	// hands the events it queues, claimed for it in the same INSERT
	// (webhook_handoff.go).
	Handoff WebhookHandoff
	// RetryFor is how long a delivery is retried (default 24 h).
	RetryFor time.Duration
	// BackoffBase is the first retry's delay, doubled at each attempt up
	// to BackoffMax (defaults 5 s and 1 h).
	BackoffBase, BackoffMax time.Duration
	// DisableAfter disables an endpoint whose deliveries have failed
	// without a success for this long (default 3 days).
	DisableAfter time.Duration
	// KeepFor is how long events and their delivery log are kept
	// (default 30 days; PurgeWebhookHistory). It must exceed RetryFor.
	KeepFor time.Duration
}

func (o WebhookOptions) withDefaults() WebhookOptions {
	if o.RetryFor == 0 {
		o.RetryFor = 24 * time.Hour
	}
	if o.BackoffBase == 0 {
		o.BackoffBase = 5 * time.Second
	}
	if o.BackoffMax == 0 {
		o.BackoffMax = time.Hour
	}
	if o.DisableAfter == 0 {
		o.DisableAfter = 72 * time.Hour
	}
	if o.KeepFor == 0 {
		o.KeepFor = DefaultWebhookKeepFor
	}
	return o
}

// DefaultWebhookKeepFor is how long webhook events and deliveries are kept
// by default (--webhook-retention).
const DefaultWebhookKeepFor = 30 * 24 * time.Hour

// MinWebhookKeepFor is the shortest retention allowed: longer than a
// delivery is retried (24 h), with a day to spare.
const MinWebhookKeepFor = 48 * time.Hour

// WebhookPayloadVersion is the version of the documented payloads.
const WebhookPayloadVersion = 1

// WebhookPayload is the JSON body of every standard delivery.
type WebhookPayload struct {
	Type      string          `json:"type"`
	Version   int             `json:"version"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// subscribedEndpoints returns the ids and leads of the enabled endpoints
// subscribed to eventType.
func (s *Store) subscribedEndpoints(ctx context.Context, eventType string) ([]Webhook, error) {
	var all []Webhook
	if err := s.q(ctx).Select("id", "event_types", "expiring_lead").Where("enabled = ?", true).Find(&all).Error; err != nil {
		return nil, fmt.Errorf("webhook endpoints: %w", err)
	}
	out := all[:0]
	for _, w := range all {
		if subscribes(w.Events(), eventType) {
			out = append(out, w)
		}
	}
	return out, nil
}

// subscribedSQL is the condition that endpoint w subscribes to an event:
// its space-separated event_types holds " type ", " family.* " or " * "
// (the three SQL expressions).
func (s *Store) subscribedSQL(typ, family, all string) string {
	types := "(' ' || w.event_types || ' ')"
	return s.contains(types, typ) + " OR " + s.contains(types, family) + " OR " + s.contains(types, all)
}

// enqueueEvent queues the event, in the caller's transaction, for every
// enabled endpoint subscribed to it: one webhook_events row holding the
// payload once, written only when some endpoint subscribes (the check is
// part of the same INSERT … SELECT: no round trip of its own). The
// deliverer claims the event and sends it to every subscribed endpoint
// (ClaimWebhookDeliveries), writing each delivery's row with its outcome.
// Deliveries of an endpoint with the same orderingKey go out in order; a
// dedupeKey queues the event at most once per endpoint.
func (s *Store) enqueueEvent(ctx context.Context, eventType, orderingKey, dedupeKey string, data any) error {
	return s.enqueueFor(ctx, "", eventType, orderingKey, dedupeKey, data)
}

// enqueueFirst is enqueueEvent for the first event of a new ordering key
// (session.started: the session was created in the same transaction), which
// no earlier event can hold back: handed to the deliverer, its INSERT need
// not look for one. On Postgres, the same statement also writes the new
// session's first warehouse state, st (one round trip for both; on SQLite
// the caller writes it).
func (s *Store) enqueueFirst(ctx context.Context, eventType, orderingKey string, st *HistoryState, data any) error {
	return s.enqueue(ctx, "", eventType, orderingKey, "", st, data)
}

// enqueueFor is enqueueEvent for one endpoint only ("": every subscriber).
// On SQLite it runs while the caller holds the single writer (a session
// start's transaction), so it costs as little as it can: the payload's
// envelope is written around the marshaled data, not marshaled again, and
// the INSERT goes straight to the transaction's connection, not through
// GORM's statement building (issue 16's benchmark, docs/benchmarks.md).
func (s *Store) enqueueFor(ctx context.Context, endpointID, eventType, orderingKey, dedupeKey string, data any) error {
	return s.enqueue(ctx, endpointID, eventType, orderingKey, dedupeKey, nil, data)
}

// enqueue is enqueueFor; first, when set, says no earlier event holds
// orderingKey and is, on Postgres, the warehouse state its statement also
// writes (enqueueFirst).
func (s *Store) enqueue(ctx context.Context, endpointID, eventType, orderingKey, dedupeKey string, first *HistoryState, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("webhook payload %s: %w", eventType, err)
	}
	now := s.now()
	body, err := payloadEnvelope(eventType, now, raw)
	if err != nil {
		return fmt.Errorf("webhook payload %s: %w", eventType, err)
	}
	msgID := NewOrderedID("msg")
	family, _, _ := strings.Cut(eventType, ".")
	if h := s.opts.Webhooks.Handoff; h != nil && endpointID == "" && dedupeKey == "" && h.Room() {
		return s.enqueueHanded(ctx, h, msgID, eventType, family, orderingKey, body, now, first)
	}
	var dk, ep any
	if dedupeKey != "" {
		dk = dedupeKey
	}
	if endpointID != "" {
		ep = endpointID
	}
	args := []any{msgID, eventType, family, orderingKey, dk, ep, body, now,
		" " + eventType + " ", " " + family + ".* ", " * "}
	stmts := enqueueSQL[s.dialect]
	query := stmts.every
	if endpointID != "" {
		query, args = stmts.one, append(args, endpointID)
	}
	if first != nil && s.dialect == Postgres {
		query, args = stmts.stateEvery, append([]any{first.SessionID, first.State, first.Reason, first.At}, args...)
	}
	res, err := s.db.Statement.ConnPool.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("queue webhook %s: %w", eventType, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("queue webhook %s: %w", eventType, err)
	}
	if wake := s.opts.Webhooks.Wake; wake != nil && n > 0 {
		s.afterCommit(wake)
	}
	return nil
}

// enqueueHanded is enqueueFor when this instance's deliverer has room:
// the INSERT also claims the event for it (its first claim), unless an
// earlier event with its ordering key is still unqueued (first: there is
// none), and the event is handed over once the transaction commits
// (webhook_handoff.go).
func (s *Store) enqueueHanded(ctx context.Context, h WebhookHandoff, msgID, eventType, family, orderingKey, body string,
	now time.Time, first *HistoryState) error {
	until := now.Add(h.HandoffLease())
	subscribed := []any{" " + eventType + " ", " " + family + ".* ", " * "}
	var seq int64
	queued, claims := false, 0
	if first != nil && s.dialect == SQLite {
		// SQLite tells the row's seq without RETURNING's result rows.
		res, err := s.db.Statement.ConnPool.ExecContext(ctx, enqueueSQL[s.dialect].first,
			append([]any{msgID, eventType, family, orderingKey, body, now, until}, subscribed...)...)
		if err != nil {
			return fmt.Errorf("queue webhook %s: %w", eventType, err)
		}
		n, err := res.RowsAffected()
		if err == nil && n > 0 {
			seq, err = res.LastInsertId()
			queued, claims = true, 1
		}
		if err != nil {
			return fmt.Errorf("queue webhook %s: %w", eventType, err)
		}
	} else {
		query, args := enqueueSQL[s.dialect].handed, append([]any{msgID, eventType, family, orderingKey, body, now, until, orderingKey, orderingKey}, subscribed...)
		if first != nil { // Postgres: with the session's first state
			query, args = enqueueSQL[s.dialect].first, append([]any{first.SessionID, first.State, first.Reason, first.At,
				msgID, eventType, family, orderingKey, body, now, until}, subscribed...)
		}
		rows, err := s.db.Statement.ConnPool.QueryContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("queue webhook %s: %w", eventType, err)
		}
		defer rows.Close()
		if rows.Next() {
			queued = true
			if err := rows.Scan(&seq, &claims); err != nil {
				return fmt.Errorf("queue webhook %s: %w", eventType, err)
			}
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("queue webhook %s: %w", eventType, err)
		}
	}
	switch {
	case claims == 1:
		s.handOver(h, claimedEvent{Seq: seq, MessageID: msgID, EventType: eventType, OrderingKey: orderingKey,
			Payload: body, CreatedAt: now, Claims: 1}, until)
	case queued:
		if wake := s.opts.Webhooks.Wake; wake != nil {
			s.afterCommit(wake)
		}
	}
	return nil
}

// enqueueStatements are enqueueFor's statements in one dialect.
type enqueueStatements struct {
	every  string // for every subscribed endpoint
	one    string // for one endpoint (its id the last argument)
	handed string // claimed for the deliverer (enqueueHanded), unless an earlier event holds its key
	// first is handed for the first event of its ordering key; on
	// Postgres, after the new session's first warehouse state
	// (enqueueFirst), which it writes in the same round trip, and
	// returning the row's seq (SQLite's result tells it).
	first string
	// stateEvery is every after that warehouse state (Postgres only).
	stateEvery string
}

// enqueueSQL holds enqueueFor's statements for each dialect, built once.
var enqueueSQL = map[Dialect]enqueueStatements{
	SQLite:   newEnqueueStatements(SQLite),
	Postgres: newEnqueueStatements(Postgres),
}

func newEnqueueStatements(d Dialect) enqueueStatements {
	s := &Store{dialect: d}
	subscribed := `EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.enabled AND (` + s.subscribedSQL("?", "?", "?") + `)`
	every := `INSERT INTO webhook_events (message_id, event_type, family, ordering_key, dedupe_key,
		endpoint_id, payload, created_at) SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE ` + subscribed + `)`
	one := `INSERT INTO webhook_events (message_id, event_type, family, ordering_key, dedupe_key,
		endpoint_id, payload, created_at) SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE ` + subscribed + ` AND w.id = ?)`
	handed := `INSERT INTO webhook_events (message_id, event_type, family, ordering_key, payload, created_at,
		locked_until, claims) SELECT ?, ?, ?, ?, ?, ?, CASE WHEN f.free THEN ` + s.timeParam() + ` END, CASE WHEN f.free THEN 1 ELSE 0 END
		FROM (SELECT (? = '' OR NOT EXISTS (SELECT 1 FROM webhook_events p WHERE NOT p.queued AND p.ordering_key = ?)) AS free) f
		WHERE ` + subscribed + `) RETURNING seq, claims`
	first := `INSERT INTO webhook_events (message_id, event_type, family, ordering_key, payload, created_at,
		locked_until, claims) SELECT ?, ?, ?, ?, ?, ?, ` + s.timeParam() + `, 1 WHERE ` + subscribed + `)`
	if d != Postgres {
		return enqueueStatements{every: every, one: one, handed: handed, first: first}
	}
	const state = `WITH st AS (INSERT INTO warehouse_session_states (session_id, state, reason, at) VALUES (?, ?, ?, ?)) `
	pg := func(q string) string { return Placeholders(Postgres, q) }
	return enqueueStatements{every: pg(every), one: pg(one), handed: pg(handed),
		first: pg(state + first + " RETURNING seq, claims"), stateEvery: pg(state + every)}
}

// payloadEnvelope is the JSON of WebhookPayload{eventType,
// WebhookPayloadVersion, at, data} for data marshaled already, written
// around it: byte for byte what json.Marshal makes of the struct
// (TestPayloadEnvelopeMatchesMarshal), without validating and copying the
// data a second time.
func payloadEnvelope(eventType string, at time.Time, data []byte) (string, error) {
	typ, err := json.Marshal(eventType)
	if err != nil {
		return "", err
	}
	ts, err := at.MarshalJSON()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(len(typ) + len(ts) + len(data) + 48)
	b.WriteString(`{"type":`)
	b.Write(typ)
	b.WriteString(`,"version":`)
	b.WriteString(strconv.Itoa(WebhookPayloadVersion))
	b.WriteString(`,"timestamp":`)
	b.Write(ts)
	b.WriteString(`,"data":`)
	b.Write(data)
	b.WriteByte('}')
	return b.String(), nil
}

// EmitAccessEvent queues an access-request event (EventAccessRequested,
// …Approved, …Denied, …Revoked) in the caller's transaction (call it from
// inside Transact, in the use case that makes the change). The payload's
// data is AccessEventData, ordered per request.
func (s *Store) EmitAccessEvent(ctx context.Context, eventType string, d AccessEventData) error {
	if !strings.HasPrefix(eventType, "access.") {
		return fmt.Errorf("access event %q: %w", eventType, ErrInvalid)
	}
	return s.enqueueEvent(ctx, eventType, d.RequestID, "", d)
}

// AccessEventData is the data of access.* events (docs/webhooks.md).
type AccessEventData struct {
	RequestID   string     `json:"request_id"`
	State       string     `json:"state"`
	Requester   Party      `json:"requester"`
	Approver    *Party     `json:"approver"`
	Target      NamedRef   `json:"target"`
	Project     NamedRef   `json:"project"`
	Reason      string     `json:"reason"`
	Decision    string     `json:"decision"`
	StartsAt    *time.Time `json:"starts_at"`
	EndsAt      *time.Time `json:"ends_at"`
	RequestedAt time.Time  `json:"requested_at"`
}

// Party is a person in an event: user id, name and email.
type Party struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// SessionEventData is the data of session.* events (docs/webhooks.md).
type SessionEventData struct {
	SessionID         string     `json:"session_id"`
	State             string     `json:"state"`
	TerminationReason string     `json:"termination_reason"`
	User              Party      `json:"user"`
	Target            NamedRef   `json:"target"`
	Host              NamedRef   `json:"host"`
	Endpoint          string     `json:"endpoint"`
	Project           NamedRef   `json:"project"`
	Org               NamedRef   `json:"org"`
	ClientIP          string     `json:"client_ip"`
	CreatedAt         time.Time  `json:"created_at"`
	ExpiresAt         time.Time  `json:"expires_at"`
	ConnectionCount   int        `json:"connection_count"`
	Connection        *ConnEvent `json:"connection,omitempty"`
	ExpiresInSeconds  *int       `json:"expires_in_seconds,omitempty"`
}

// ConnEvent is the connection of a session.connection_closed event.
type ConnEvent struct {
	ConnectionID string     `json:"connection_id"`
	ClientAddr   string     `json:"client_addr"`
	EndpointAddr string     `json:"endpoint_addr"`
	ConnectedAt  *time.Time `json:"connected_at"`
	ClosedAt     *time.Time `json:"closed_at"`
	ClosedReason string     `json:"closed_reason"`
	BytesUp      int64      `json:"bytes_up"`
	BytesDown    int64      `json:"bytes_down"`
}

// sessionEventRow is what a session event reads from the warehouse.
type sessionEventRow struct {
	SessionID, State, TerminationReason string
	UserID, UserName, UserEmail         string
	TargetID, TargetName, HostID        string
	HostName, Endpoint                  string
	ProjectID, ProjectName, OrgID       string
	OrgName, ClientIP                   string
	CreatedAt, ExpiresAt                time.Time
	LiveExpiresAt                       *time.Time // the live session's, when it lives
	CancelingAt                         *time.Time
	ConnectionCount                     int
}

// expiresAt is the session's current expiration.
func (r *sessionEventRow) expiresAt() time.Time {
	if r.LiveExpiresAt != nil {
		return *r.LiveExpiresAt
	}
	return r.ExpiresAt
}

func (r *sessionEventRow) data() SessionEventData {
	return SessionEventData{SessionID: r.SessionID, State: r.State, TerminationReason: r.TerminationReason,
		User: Party{ID: r.UserID, Name: r.UserName, Email: r.UserEmail}, Target: NamedRef{ID: r.TargetID, Name: r.TargetName},
		Host: NamedRef{ID: r.HostID, Name: r.HostName}, Endpoint: r.Endpoint,
		Project: NamedRef{ID: r.ProjectID, Name: r.ProjectName}, Org: NamedRef{ID: r.OrgID, Name: r.OrgName},
		ClientIP: r.ClientIP, CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.expiresAt().UTC(), ConnectionCount: r.ConnectionCount}
}

// sessionEventColumns are a session event's columns: its warehouse row (w)
// and, while the session lives, its current expiration (s: moved by
// extensions and shortenings; the warehouse keeps the one it started with).
const sessionEventColumns = `w.session_id, w.state, w.termination_reason, w.user_id, w.user_name, w.user_email, w.target_id,
	w.target_name, w.host_id, w.host_name, w.endpoint, w.project_id, w.project_name, w.org_id, w.org_name, w.client_ip,
	w.created_at, w.expires_at, s.expires_at AS live_expires_at, w.canceling_at, w.connection_count
	FROM warehouse_sessions w LEFT JOIN sessions s ON s.id = w.session_id`

// sessionEvents queues the webhook events of sessions that moved to state
// (the warehouse hooks call it after recording the move): first connection
// (active), canceled (canceling, or terminated as canceled without going
// through canceling) and terminated. conn is the closed connection of a
// session.connection_closed event.
func (s *Store) sessionEvents(ctx context.Context, eventType string, ids []string, conn *WarehouseConnection) error {
	types := []string{eventType}
	if eventType == EventSessionTerminated {
		types = append(types, EventSessionCanceled)
	}
	var all []Webhook
	if err := s.q(ctx).Select("event_types").Where("enabled = ?", true).Find(&all).Error; err != nil {
		return fmt.Errorf("webhook endpoints: %w", err)
	}
	wanted := map[string]bool{} // the types some enabled endpoint subscribes to
	for _, w := range all {
		for _, t := range types {
			wanted[t] = wanted[t] || subscribes(w.Events(), t)
		}
	}
	if !wanted[eventType] && !wanted[EventSessionCanceled] {
		return nil
	}
	for _, chunk := range chunks(ids, 500) {
		var rows []sessionEventRow
		if err := s.q(ctx).Raw("SELECT "+sessionEventColumns+" WHERE w.session_id IN ? ORDER BY w.session_id",
			chunk).Scan(&rows).Error; err != nil {
			return fmt.Errorf("session events: %w", err)
		}
		for _, r := range rows {
			d := r.data()
			if conn != nil {
				d.Connection = &ConnEvent{ConnectionID: conn.ConnectionID, ClientAddr: conn.ClientAddr,
					EndpointAddr: conn.EndpointAddr, ConnectedAt: utcPtr(conn.ConnectedAt), ClosedAt: utcPtr(conn.ClosedAt),
					ClosedReason: conn.ClosedReason, BytesUp: conn.BytesUp, BytesDown: conn.BytesDown}
			}
			if eventType == EventSessionTerminated && wanted[EventSessionCanceled] &&
				r.TerminationReason == string(ReasonCanceled) && r.CancelingAt == nil {
				if err := s.enqueueEvent(ctx, EventSessionCanceled, r.SessionID, "", d); err != nil {
					return err
				}
			}
			if wanted[eventType] {
				if err := s.enqueueEvent(ctx, eventType, r.SessionID, "", d); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// EmitSessionEvent queues a session event (e.g. EventSessionExtended,
// from the use case that extends a session) for the sessions, in the
// caller's transaction: call it inside Transact after the change, so the
// payload reads the session as changed.
func (s *Store) EmitSessionEvent(ctx context.Context, eventType string, sessionIDs ...string) error {
	if !strings.HasPrefix(eventType, "session.") {
		return fmt.Errorf("session event %q: %w", eventType, ErrInvalid)
	}
	return s.sessionEvents(ctx, eventType, sessionIDs, nil)
}

// sessionStateEvent is the webhook event of a move to state ("" for none).
func sessionStateEvent(state string) string {
	switch state {
	case "active":
		return EventSessionFirstConnection
	case "canceling":
		return EventSessionCanceled
	case "terminated":
		return EventSessionTerminated
	}
	return ""
}

// QueueExpiringSessions queues session.expiring_soon for the live sessions
// that expire within each subscribed endpoint's lead time, once per session
// and endpoint (safe to run on every instance at once). It returns how
// many deliveries it queued.
func (s *Store) QueueExpiringSessions(ctx context.Context) (int, error) {
	eps, err := s.subscribedEndpoints(ctx, EventSessionExpiringSoon)
	if err != nil || len(eps) == 0 {
		return 0, err
	}
	maxLead := 0
	for _, ep := range eps {
		maxLead = max(maxLead, ep.ExpiringLead)
	}
	now := s.now()
	var rows []sessionEventRow
	err = s.q(ctx).Raw("SELECT "+sessionEventColumns+` WHERE w.session_id IN
		(SELECT id FROM sessions WHERE state IN ('pending', 'active') AND expires_at > ? AND expires_at <= ?)
		ORDER BY s.expires_at`, now, now.Add(time.Duration(maxLead)*time.Second)).Scan(&rows).Error
	if err != nil {
		return 0, fmt.Errorf("expiring sessions: %w", err)
	}
	keys := make([]string, len(rows))
	for i, r := range rows {
		keys[i] = "expiring:" + r.SessionID
	}
	var queued []struct{ EndpointID, DedupeKey string }
	for _, chunk := range chunks(keys, 500) {
		var part []struct{ EndpointID, DedupeKey string }
		// Queued: a delivery row, or an event not yet done (waiting or being sent).
		if err := s.q(ctx).Raw(`SELECT endpoint_id, dedupe_key FROM webhook_deliveries WHERE dedupe_key IN ?
			UNION ALL SELECT endpoint_id, dedupe_key FROM webhook_events WHERE NOT queued AND dedupe_key IN ?`, chunk, chunk).
			Scan(&part).Error; err != nil {
			return 0, fmt.Errorf("expiring sessions: %w", err)
		}
		queued = append(queued, part...)
	}
	done := map[[2]string]bool{}
	for _, q := range queued {
		done[[2]string{q.EndpointID, q.DedupeKey}] = true
	}
	n := 0
	for _, r := range rows {
		left := int(r.expiresAt().Sub(now).Seconds())
		for _, ep := range eps {
			if left > ep.ExpiringLead || done[[2]string{ep.ID, "expiring:" + r.SessionID}] {
				continue
			}
			d := r.data()
			d.ExpiresInSeconds = &left
			err := s.Transact(ctx, func(tx *Store) error {
				return tx.enqueueFor(ctx, ep.ID, EventSessionExpiringSoon, r.SessionID, "expiring:"+r.SessionID, d)
			})
			if err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// snapshotEventData is a new session's event data, from its snapshot.
func snapshotEventData(snap *SessionSnapshot) SessionEventData {
	r := sessionEventRow{SessionID: snap.SessionID, State: "pending", UserID: snap.UserID, UserName: snap.UserName,
		UserEmail: snap.UserEmail, TargetID: snap.TargetID, TargetName: snap.TargetName, HostID: snap.HostID,
		HostName: snap.HostName, Endpoint: snap.Endpoint, ProjectID: snap.ProjectID, ProjectName: snap.ProjectName,
		OrgID: snap.OrgID, OrgName: snap.OrgName, ClientIP: snap.ClientIP, CreatedAt: snap.CreatedAt, ExpiresAt: snap.ExpiresAt}
	return r.data()
}
