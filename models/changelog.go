package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// RequestInfo is what the web layer knows about a request and the Store
// does not: it travels in the context to the change log.
type RequestInfo struct {
	// ClientIP is the person's address (after trusted proxies).
	ClientIP string
	// RequestID is the request's id (also in the access log).
	RequestID string
}

type requestInfoKey struct{}

// WithRequestInfo returns a context carrying the request's facts; the web
// middleware calls it for every request, so every entry point's changes
// are recorded with them.
func WithRequestInfo(ctx context.Context, info RequestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, info)
}

// RequestInfoFrom returns the request facts carried by ctx (zero when none).
func RequestInfoFrom(ctx context.Context) RequestInfo {
	info, _ := ctx.Value(requestInfoKey{}).(RequestInfo)
	return info
}

// ChangeEvent is one entry of the change log: who changed what, when, and
// the resource's values before and after (secrets and write-only fields
// only as "changed"). Entries are never altered or deleted.
type ChangeEvent struct {
	Seq          int64     `json:"-"`
	ID           string    `json:"id"`
	At           time.Time `json:"at"`
	ActorID      string    `json:"actor_id"`
	ActorName    string    `json:"actor_name"`
	LoginID      string    `json:"login_id"`
	ClientIP     string    `json:"client_ip"`
	RequestID    string    `json:"request_id"`
	Action       string    `json:"action"`
	ResourceType string    `json:"resource_type"`
	ResourceID   string    `json:"resource_id"`
	ResourceName string    `json:"resource_name"`
	ScopeID      string    `json:"scope_id"`
	BeforeJSON   string    `json:"-"`
	AfterJSON    string    `json:"-"`
}

// Before decodes the values before the change (nil for a creation).
func (e *ChangeEvent) Before() map[string]any { return decodeValues(e.BeforeJSON) }

// After decodes the values after the change (nil for a deletion).
func (e *ChangeEvent) After() map[string]any { return decodeValues(e.AfterJSON) }

func decodeValues(s string) map[string]any {
	if s == "" {
		return nil
	}
	var m map[string]any
	_ = json.Unmarshal([]byte(s), &m)
	return m
}

// ChangeDiff is one field of an event's before/after view.
type ChangeDiff struct {
	Field         string
	Before, After string
	Changed       bool
}

// Diff lists every field of the event's before and after values, sorted,
// marking those that differ.
func (e *ChangeEvent) Diff() []ChangeDiff {
	b, a := e.Before(), e.After()
	keys := map[string]bool{}
	for k := range b {
		keys[k] = true
	}
	for k := range a {
		keys[k] = true
	}
	out := make([]ChangeDiff, 0, len(keys))
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		bv, bok := b[k]
		av, aok := a[k]
		d := ChangeDiff{Field: k, Before: showValue(bv, bok), After: showValue(av, aok)}
		d.Changed = d.Before != d.After
		out = append(out, d)
	}
	return out
}

func showValue(v any, ok bool) string {
	if !ok || v == nil {
		return ""
	}
	if s, isStr := v.(string); isStr {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// Change-log actions beyond the resource actions (create, update, delete,
// add-members, set-grants, cancel, ...).
const (
	ChangeLogin        = "login"
	ChangeLogout       = "logout"
	ChangeLoginRefused = "login-refused"
)

// changedMark replaces secret and write-only values in the change log.
const changedMark = "changed"

// changeState is a resource's values at one moment, secrets already hashed
// (so a change can be told without keeping the secret).
type changeState struct {
	name, scopeID string
	values        map[string]any
	secrets       map[string]string // field -> hash of the value
}

// snapshot loads a resource's values for the change log (nil when it does
// not exist). Call it before a change; pass the result to recordChange.
func (s *Store) snapshot(ctx context.Context, resourceType, id string) (*changeState, error) {
	spec, ok := changeSpecs[resourceType]
	if !ok {
		return nil, fmt.Errorf("change log: unknown resource type %q", resourceType)
	}
	var rows []map[string]any
	if err := s.q(ctx).Table(spec.table).Where(spec.key+" = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("change log snapshot %s %s: %w", resourceType, id, err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	st := &changeState{values: map[string]any{}, secrets: map[string]string{}}
	for _, x := range spec.extras {
		if x.row {
			var more []map[string]any
			if err := s.q(ctx).Raw(x.sql, id).Scan(&more).Error; err != nil {
				return nil, fmt.Errorf("change log snapshot %s %s %s: %w", resourceType, id, x.field, err)
			}
			if len(more) > 0 {
				maps.Copy(rows[0], more[0])
			}
			continue
		}
		var list []string
		if err := s.q(ctx).Raw(x.sql, id).Scan(&list).Error; err != nil {
			return nil, fmt.Errorf("change log snapshot %s %s %s: %w", resourceType, id, x.field, err)
		}
		if list == nil {
			list = []string{}
		}
		st.values[x.field] = list
	}
	for k, v := range rows[0] {
		if b, isBytes := v.([]byte); isBytes {
			v = string(b)
		}
		switch {
		case k == "created_at" || k == "updated_at" || k == "version" || (k == spec.key && k != "id"):
		case secretField(k):
			if v != nil && v != "" {
				sum := sha256.Sum256(fmt.Append(nil, v))
				st.secrets[k] = hex.EncodeToString(sum[:])
			}
		default:
			st.values[k] = v
		}
	}
	st.name = fmt.Sprint(st.values[spec.nameField])
	if spec.nameField == "" || st.values[spec.nameField] == nil {
		st.name = ""
	}
	st.scopeID, _ = st.values["scope_id"].(string)
	if spec.scopeSQL != "" {
		if err := s.q(ctx).Raw(spec.scopeSQL, id).Scan(&st.scopeID).Error; err != nil {
			return nil, fmt.Errorf("change log scope of %s %s: %w", resourceType, id, err)
		}
	}
	return st, nil
}

// secretField reports whether a column holds a secret or a write-only value
// (shown in the change log only as "changed").
func secretField(col string) bool {
	for _, w := range []string{"secret", "password", "hash", "token", "private", "claims", "cipher"} {
		if strings.Contains(col, w) {
			return true
		}
	}
	return false
}

// changeSpec tells how to load a resource type's values for the change log.
type changeSpec struct {
	table, key, nameField string
	scopeSQL              string // when the row has no scope_id
	extras                []changeExtra
}

// changeExtra is a related list (or, with row, more columns) of a resource.
type changeExtra struct {
	field, sql string
	row        bool
}

var changeSpecs = map[string]changeSpec{
	"scope": {table: "scopes", key: "id", nameField: "name",
		scopeSQL: "SELECT COALESCE(NULLIF(parent_id, ''), id) FROM scopes WHERE id = ?"},
	"user": {table: "users", key: "id", nameField: "name", extras: []changeExtra{
		{field: "accounts", sql: "SELECT id FROM accounts WHERE user_id = ? ORDER BY id"}}},
	"account": {table: "accounts", key: "id", nameField: "login_name",
		scopeSQL: "SELECT m.scope_id FROM accounts a JOIN auth_methods m ON m.id = a.auth_method_id WHERE a.id = ?"},
	"group": {table: "groups", key: "id", nameField: "name", extras: []changeExtra{
		{field: "members", sql: "SELECT user_id FROM group_members WHERE group_id = ? ORDER BY user_id"}}},
	"role": {table: "roles", key: "id", nameField: "name", extras: []changeExtra{
		{field: "grants", sql: "SELECT grant_text FROM role_grants WHERE role_id = ? ORDER BY position"},
		{field: "grant_scopes", sql: "SELECT grant_scope FROM role_grant_scopes WHERE role_id = ? ORDER BY grant_scope"},
		{field: "principals", sql: "SELECT principal_id FROM role_principals WHERE role_id = ? ORDER BY principal_id"}}},
	"auth-method": {table: "auth_methods", key: "id", nameField: "name", extras: []changeExtra{
		{row: true, field: "oidc", sql: "SELECT * FROM oidc_auth_methods WHERE auth_method_id = ?"}}},
	"managed-group": {table: "managed_groups", key: "id", nameField: "name",
		scopeSQL: "SELECT m.scope_id FROM managed_groups g JOIN auth_methods m ON m.id = g.auth_method_id WHERE g.id = ?"},
	"host-catalog": {table: "host_catalogs", key: "id", nameField: "name"},
	"host":         {table: "hosts", key: "id", nameField: "name"},
	"host-set": {table: "host_sets", key: "id", nameField: "name", extras: []changeExtra{
		{field: "hosts", sql: "SELECT host_id FROM host_set_members WHERE host_set_id = ? ORDER BY host_id"}}},
	"target": {table: "targets", key: "id", nameField: "name", extras: []changeExtra{
		{field: "host_sources", sql: "SELECT host_set_id FROM target_host_sources WHERE target_id = ? ORDER BY host_set_id"},
		{field: "credential_sources", sql: "SELECT credential_id FROM target_credential_sources WHERE target_id = ? ORDER BY credential_id"},
		{field: "library_sources", sql: "SELECT library_id FROM target_library_sources WHERE target_id = ? ORDER BY library_id"},
		{row: true, field: "access", sql: accessSettingsSnapshotSQL}}},
	"credential-store":   {table: "credential_stores", key: "id", nameField: "name"},
	"credential":         {table: "credentials", key: "id", nameField: "name"},
	"credential-library": {table: "credential_libraries", key: "id", nameField: "name"},
	"session":            {table: "sessions", key: "id", nameField: "id", scopeSQL: "SELECT project_id FROM sessions WHERE id = ?"},
	"api-token": {table: "api_tokens", key: "id", nameField: "name",
		scopeSQL: "SELECT u.scope_id FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?"},
	"webhook": {table: "webhook_endpoints", key: "id", nameField: "name", scopeSQL: "SELECT 'global' WHERE ? <> ''"},
}

// ChangeLogResourceTypes are the resource types the change log records.
var ChangeLogResourceTypes = slices.Sorted(maps.Keys(changeSpecs))

// recordChange writes one change-log entry for the resource's change, in
// the caller's transaction: before is snapshot's result taken before the
// change (nil for a creation); the values after are loaded now (nil after a
// deletion). It also queues the event's webhook deliveries.
func (s *Store) recordChange(ctx context.Context, a Actor, action Action, resourceType, id string, before *changeState) error {
	after, err := s.snapshot(ctx, resourceType, id)
	if err != nil {
		return err
	}
	if before != nil && after != nil && toJSON(before.values) == toJSON(after.values) && maps.Equal(before.secrets, after.secrets) {
		return nil // nothing changed: nothing to record
	}
	e := ChangeEvent{Action: string(action), ResourceType: resourceType, ResourceID: id}
	var bv, av map[string]any
	for _, st := range []*changeState{before, after} {
		if st != nil {
			e.ResourceName, e.ScopeID = st.name, st.scopeID
		}
	}
	if before != nil {
		bv = before.values
	}
	if after != nil {
		av = after.values
		for k, h := range after.secrets {
			if before == nil || before.secrets[k] != h {
				av[k] = changedMark
			}
		}
	}
	return s.writeChange(ctx, a, &e, bv, av)
}

// writeChange completes e with the actor, the request and the values, and
// inserts it.
func (s *Store) writeChange(ctx context.Context, a Actor, e *ChangeEvent, before, after map[string]any) error {
	info := RequestInfoFrom(ctx)
	e.ID, e.At = NewID("ev"), s.now()
	e.ActorID, e.ActorName, e.LoginID, e.ClientIP, e.RequestID = a.UserID, a.Name, a.LoginID, info.ClientIP, info.RequestID
	if e.ActorName == "" && a.UserID != "" {
		_ = s.q(ctx).Raw("SELECT name FROM users WHERE id = ?", a.UserID).Scan(&e.ActorName).Error
	}
	if e.ScopeID == "" {
		e.ScopeID = GlobalScopeID
	}
	if before != nil {
		e.BeforeJSON = toJSON(before)
	}
	if after != nil {
		e.AfterJSON = toJSON(after)
	}
	search := strings.ToLower(strings.Join([]string{e.ActorName, e.ActorID, e.Action, e.ResourceType, e.ResourceID,
		e.ResourceName, e.ClientIP, e.RequestID, e.BeforeJSON, e.AfterJSON}, " "))
	err := s.q(ctx).Exec(`INSERT INTO change_events (id, at, actor_id, actor_name, login_id, client_ip, request_id,
		action, resource_type, resource_id, resource_name, scope_id, before_json, after_json, search_text)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, e.At, e.ActorID, e.ActorName, e.LoginID, e.ClientIP,
		e.RequestID, e.Action, e.ResourceType, e.ResourceID, e.ResourceName, e.ScopeID, e.BeforeJSON, e.AfterJSON, search).Error
	if err != nil {
		return fmt.Errorf("record change %s %s: %w", e.Action, e.ResourceID, err)
	}
	return s.enqueueEvent(ctx, "change."+e.ResourceType, e.ResourceID, "", changePayload(e, before, after))
}

// recordLogin writes a login, logout or refused login to the change log;
// the resource is the auth method.
func (s *Store) recordLogin(ctx context.Context, a Actor, action, authMethodID string, details map[string]any) error {
	e := ChangeEvent{Action: action, ResourceType: "auth-method", ResourceID: authMethodID}
	_ = s.q(ctx).Raw("SELECT name, scope_id FROM auth_methods WHERE id = ?", authMethodID).Row().Scan(&e.ResourceName, &e.ScopeID)
	return s.writeChange(ctx, a, &e, nil, details)
}

// ChangeEventData is the data of change.<resource type> webhook events
// (docs/webhooks.md): the change log entry.
type ChangeEventData struct {
	EventID   string         `json:"event_id"`
	At        time.Time      `json:"at"`
	Action    string         `json:"action"`
	Actor     ChangeActor    `json:"actor"`
	Resource  ChangeResource `json:"resource"`
	Before    map[string]any `json:"before"`
	After     map[string]any `json:"after"`
	RequestID string         `json:"request_id"`
}

// ChangeActor is who made a change: user, login and client address.
type ChangeActor struct {
	UserID   string `json:"user_id"`
	Name     string `json:"name"`
	LoginID  string `json:"login_id"`
	ClientIP string `json:"client_ip"`
}

// ChangeResource is what a change touched.
type ChangeResource struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	Name    string `json:"name"`
	ScopeID string `json:"scope_id"`
}

func changePayload(e *ChangeEvent, before, after map[string]any) ChangeEventData {
	return ChangeEventData{EventID: e.ID, At: e.At, Action: e.Action,
		Actor:    ChangeActor{UserID: e.ActorID, Name: e.ActorName, LoginID: e.LoginID, ClientIP: e.ClientIP},
		Resource: ChangeResource{Type: e.ResourceType, ID: e.ResourceID, Name: e.ResourceName, ScopeID: e.ScopeID},
		Before:   before, After: after, RequestID: e.RequestID}
}

// changeTx runs change in one transaction (joining the caller's) and
// records it in the change log: action on the resource, with its values
// before and after. Every mutating use case goes through it (or createTx).
func (s *Store) changeTx(ctx context.Context, a Actor, action Action, resourceType, id string, change func(tx *Store) error) error {
	return s.Transact(ctx, func(tx *Store) error {
		refuse := false
		if action == ActionDelete {
			var err error
			if refuse, err = tx.staleDelete(ctx, resourceType, id); err != nil {
				return err
			}
		}
		before, err := tx.snapshot(ctx, resourceType, id)
		if err != nil {
			return err
		}
		if err := change(tx); err != nil {
			return err
		}
		if refuse { // refused only now, after the use case's authorization: rolled back
			return stale(fmt.Sprintf("delete %s %s", resourceType, id))
		}
		return tx.recordChange(ctx, a, action, resourceType, id, before)
	})
}

// createTx is changeTx for a creation: id tells the new resource's id once
// change has succeeded.
func (s *Store) createTx(ctx context.Context, a Actor, resourceType string, id func() string, change func(tx *Store) error) error {
	return s.Transact(ctx, func(tx *Store) error {
		if err := change(tx); err != nil {
			return err
		}
		return tx.recordChange(ctx, a, ActionCreate, resourceType, id(), nil)
	})
}

// changeType is the change log's resource type of an item named in words
// ("host set" → "host-set").
func changeType(what string) string { return strings.ReplaceAll(what, " ", "-") }
