package models

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// ChangeLogFilter narrows the change log. Empty fields match everything;
// From is inclusive, To exclusive.
type ChangeLogFilter struct {
	Actor        string // user id or a part of the actor's name
	ResourceType string
	Resource     string // resource id
	ScopeID      string
	Action       string
	From, To     time.Time
	Text         string // anywhere in the entry, values included
}

// ChangeLogPage is one page of the change log, newest first. Next is the
// cursor of the following page (0: none).
type ChangeLogPage struct {
	Events []ChangeEvent
	Next   int64
}

// changeLogPageSize is how many entries a page shows.
const changeLogPageSize = 50

// changeLogWhere is the SQL condition of what the actor may read of the
// change log (grant type "event", action list, in the entry's scope) and
// of the filter.
func (s *Store) changeLogWhere(ctx context.Context, a Actor, f ChangeLogFilter) (string, []any, error) {
	cond, args, err := s.listCondition(ctx, a, EventType, ActionList, ListColumns{Scope: "e.scope_id", ID: "e.id"})
	if err != nil {
		return "", nil, err
	}
	parts := []string{cond}
	add := func(c string, v ...any) { parts = append(parts, c); args = append(args, v...) }
	if f.Actor != "" {
		add("(e.actor_id = ? OR "+s.ilike("e.actor_name")+")", f.Actor, likePattern(f.Actor))
	}
	if f.ResourceType != "" {
		add("e.resource_type = ?", f.ResourceType)
	}
	if f.Resource != "" {
		add("e.resource_id = ?", f.Resource)
	}
	if f.ScopeID != "" {
		add("e.scope_id = ?", f.ScopeID)
	}
	if f.Action != "" {
		add("e.action = ?", f.Action)
	}
	if !f.From.IsZero() {
		add("e.at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		add("e.at < ?", f.To.UTC())
	}
	if f.Text != "" {
		add("e.search_text LIKE ? ESCAPE '\\'", likePattern(strings.ToLower(f.Text)))
	}
	return strings.Join(parts, " AND "), args, nil
}

const changeEventColumns = `e.seq, e.id, e.at, e.actor_id, e.actor_name, e.login_id, e.client_ip, e.request_id,
	e.action, e.resource_type, e.resource_id, e.resource_name, e.scope_id, e.before_json, e.after_json`

// ListChangeEvents returns a page of the change log entries the actor may
// read (grant type "event" with list), newest first, starting below the
// cursor before (0: the newest). Nobody without such a grant sees any.
func (s *Store) ListChangeEvents(ctx context.Context, a Actor, f ChangeLogFilter, before int64) (*ChangeLogPage, error) {
	events, err := s.changeEvents(ctx, a, f, before, changeLogPageSize+1)
	if err != nil {
		return nil, err
	}
	page := &ChangeLogPage{Events: events}
	if len(page.Events) > changeLogPageSize {
		page.Events = page.Events[:changeLogPageSize]
		page.Next = page.Events[changeLogPageSize-1].Seq
	}
	return page, nil
}

// changeEvents reads up to limit entries of the filtered change log the
// actor may read, newest first, below the cursor before (0: the newest).
func (s *Store) changeEvents(ctx context.Context, a Actor, f ChangeLogFilter, before int64, limit int) ([]ChangeEvent, error) {
	where, args, err := s.changeLogWhere(ctx, a, f)
	if err != nil {
		return nil, err
	}
	if before > 0 {
		where += " AND e.seq < ?"
		args = append(args, before)
	}
	var out []ChangeEvent
	err = s.q(ctx).Raw("SELECT "+changeEventColumns+" FROM change_events e WHERE "+where+
		fmt.Sprintf(" ORDER BY e.seq DESC LIMIT %d", limit), args...).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("read change log: %w", err)
	}
	return out, nil
}

// GetChangeEvent returns one change log entry; ErrNotFound when it does not
// exist or the actor may not read it.
func (s *Store) GetChangeEvent(ctx context.Context, a Actor, id string) (*ChangeEvent, error) {
	where, args, err := s.changeLogWhere(ctx, a, ChangeLogFilter{})
	if err != nil {
		return nil, err
	}
	var out []ChangeEvent
	err = s.q(ctx).Raw("SELECT "+changeEventColumns+" FROM change_events e WHERE "+where+" AND e.id = ?",
		append(args, id)...).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("load change %s: %w", id, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("change %s: %w", id, ErrNotFound)
	}
	return &out[0], nil
}

// ExportChangeEvents calls emit for every entry of the filtered change log
// the actor may read, newest first, in batches (memory stays flat at any
// size). emit's error stops the export.
func (s *Store) ExportChangeEvents(ctx context.Context, a Actor, f ChangeLogFilter, emit func(*ChangeEvent) error) error {
	var before int64
	for {
		page, err := s.changeEvents(ctx, a, f, before, s.opts.ExportBatch)
		if err != nil {
			return err
		}
		for i := range page {
			if err := emit(&page[i]); err != nil {
				return err
			}
		}
		if len(page) < s.opts.ExportBatch {
			return nil
		}
		before = page[len(page)-1].Seq
	}
}

// ChangeLogColumns are the CSV export's columns, in order.
var ChangeLogColumns = []string{"id", "at", "actor_id", "actor_name", "login_id", "client_ip", "request_id",
	"action", "resource_type", "resource_id", "resource_name", "scope_id", "before", "after"}

// CSVRecord is the entry as a CSV row in ChangeLogColumns order.
func (e *ChangeEvent) CSVRecord() []string {
	return []string{e.ID, e.At.UTC().Format(time.RFC3339Nano), e.ActorID, e.ActorName, e.LoginID, e.ClientIP,
		e.RequestID, e.Action, e.ResourceType, e.ResourceID, e.ResourceName, e.ScopeID, e.BeforeJSON, e.AfterJSON}
}

// JSONRecord is the entry as one JSON-lines object.
func (e *ChangeEvent) JSONRecord() map[string]any {
	return map[string]any{"id": e.ID, "at": e.At.UTC(), "actor_id": e.ActorID, "actor_name": e.ActorName,
		"login_id": e.LoginID, "client_ip": e.ClientIP, "request_id": e.RequestID, "action": e.Action,
		"resource_type": e.ResourceType, "resource_id": e.ResourceID, "resource_name": e.ResourceName,
		"scope_id": e.ScopeID, "before": e.Before(), "after": e.After()}
}
