package models

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// SessionFilter is the All sessions page's server-side filter. User, Target
// and Project match the start of names, ignoring case (names as they were
// at the start, so deleted ones still match); State is one state, or
// StateFilterLive for every session not terminated; Reason is exact;
// From/To bound the start time (zero: open).
type SessionFilter struct {
	User, Target, Project string
	// UserID, when set, keeps only that user's sessions (exact id).
	UserID string
	State  string
	Reason string
	// Text finds sessions by free text (names, email, ids, addresses,
	// user agent; any case) through the session warehouse's text index,
	// as Session history does.
	Text     string
	From, To time.Time
	// Sort is one of SessionSorts' keys (default "-started").
	Sort string
	ListOptions
}

// StateFilterLive is the SessionFilter.State that hides terminated sessions:
// it matches pending, active and canceling ones (a canceling session still
// has connections being closed).
const StateFilterLive = "live"

// notTerminatedSQL is "col IN (…every state but terminated)": an IN list on
// the state, so the (state, created_at) index still serves it.
func notTerminatedSQL(col string) string {
	var q []string
	for _, st := range SessionStates {
		if !st.Final() {
			q = append(q, "'"+string(st)+"'")
		}
	}
	return col + " IN (" + strings.Join(q, ", ") + ")"
}

// SessionSorts maps the sort keys of session lists to their ORDER BY.
var SessionSorts = map[string]string{
	"started":  "s.created_at ASC, s.id ASC",
	"-started": "s.created_at DESC, s.id DESC",
	"expires":  "s.expires_at ASC, s.id ASC",
	"-expires": "s.expires_at DESC, s.id DESC",
	"user":     "s.user_name ASC, s.created_at DESC, s.id DESC",
	"target":   "s.target_name ASC, s.created_at DESC, s.id DESC",
	"state":    "s.state ASC, s.created_at DESC, s.id DESC",
}

func (f SessionFilter) validate() (SessionFilter, error) {
	v := validator{}
	f.User = v.text("user", "User", f.User, false, 128)
	f.Target = v.text("target", "Target", f.Target, false, 128)
	f.Project = v.text("project", "Project", f.Project, false, 128)
	f.Text = v.text("q", "Text", f.Text, false, 256)
	if f.State != "" && f.State != StateFilterLive && !ValidSessionState(f.State) {
		v.add("state", msgFilterState)
	}
	if f.Reason != "" && !ValidTerminationReason(f.Reason) {
		v.add("reason", msgFilterReason)
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		v.add("to", MsgFilterRange)
	}
	if f.Sort == "" {
		f.Sort = "-started"
	}
	if _, ok := SessionSorts[f.Sort]; !ok {
		v.add("sort", msgFilterSort)
	}
	f.ListOptions = f.ListOptions.norm()
	return f, v.err()
}

// MySessionSorts are the sort keys of My sessions (SessionSorts' keys
// without user: they are all the actor's). The actor's sessions are found
// through the (user_id, created_at) index and few enough to sort.
var MySessionSorts = []string{"-started", "started", "target", "state", "expires", "-expires"}

// MySessions lists the actor's own sessions, terminated ones included,
// sorted by sort (one of MySessionSorts; "" is newest first). Errors:
// ErrUnauthenticated, ErrInvalid (an unknown sort, on field "sort").
func (s *Store) MySessions(ctx context.Context, a Actor, opt ListOptions, sort string) (Page[SessionItem], error) {
	if !a.Authenticated() {
		return Page[SessionItem]{}, ErrUnauthenticated
	}
	if sort == "" {
		sort = "-started"
	}
	if !slices.Contains(MySessionSorts, sort) {
		return Page[SessionItem]{}, Invalid("sort", msgFilterSort)
	}
	page, err := s.listSessions(ctx, a, "s.user_id = ?", []any{a.UserID}, SessionFilter{Sort: sort, ListOptions: opt.norm()})
	return s.withConnections(ctx, page, err)
}

// ListSessions lists every session the actor may read (read on sessions in
// their scope, or read:self on its own), filtered, sorted and paginated in
// the database. Errors: ErrUnauthenticated, ErrInvalid (bad filter).
func (s *Store) ListSessions(ctx context.Context, a Actor, f SessionFilter) (Page[SessionItem], error) {
	f, err := f.validate()
	if err != nil {
		return Page[SessionItem]{}, err
	}
	cond, args, err := s.listCondition(ctx, a, "session", ActionRead, ListColumns{Scope: "s.project_id", ID: "s.id", Owner: "s.user_id"})
	if err != nil {
		return Page[SessionItem]{}, err
	}
	if f.UserID != "" {
		cond, args = "("+cond+") AND s.user_id = ?", append(args, f.UserID)
	}
	return s.listSessions(ctx, a, cond, args, f)
}

// SessionCountCap bounds how far session lists count their matches: a
// Total above it means "more than SessionCountCap" (counting every match of
// a broad filter over millions of rows would cost more than the page).
const SessionCountCap = 10000

// DefaultFilterFirstMax is SessionOptions.FilterFirstMax's default.
const DefaultFilterFirstMax = 2000

func (s *Store) listSessions(ctx context.Context, a Actor, cond string, args []any, f SessionFilter) (Page[SessionItem], error) {
	prefixes := f.User != "" || f.Target != "" || f.Project != "" || f.Text != ""
	filtered := func(indexPrefixes bool) *gorm.DB {
		q := s.q(ctx).Table("sessions AS s").Where(cond, args...)
		for _, c := range []struct{ col, v string }{{"s.user_name", f.User}, {"s.target_name", f.Target}, {"s.project_name", f.Project}} {
			if c.v != "" {
				where, lo, hi := s.prefixRange(c.col, c.v, indexPrefixes)
				q = q.Where(where, lo, hi)
			}
		}
		switch f.State {
		case "":
		case StateFilterLive:
			q = q.Where(notTerminatedSQL("s.state"))
		default:
			q = q.Where("s.state = ?", f.State)
		}
		if f.Reason != "" {
			q = q.Where("s.termination_reason = ?", f.Reason)
		}
		if c, cargs := s.historyTextCond(f.Text); c != "" {
			q = q.Where("s.id IN (SELECT w.session_id FROM warehouse_sessions w WHERE "+c+")", cargs...)
		}
		if !f.From.IsZero() {
			q = q.Where("s.created_at >= ?", f.From.UTC())
		}
		if !f.To.IsZero() {
			q = q.Where("s.created_at < ?", f.To.UTC())
		}
		return q
	}
	page := Page[SessionItem]{Page: f.Page, PerPage: f.PerPage}
	err := s.q(ctx).Raw("SELECT count(*) FROM (?) AS c", filtered(true).Select("1").Limit(SessionCountCap+1)).Scan(&page.Total).Error
	if err != nil {
		return page, fmt.Errorf("count sessions: %w", err)
	}
	order := SessionSorts[f.Sort]
	var rows []Session
	var q *gorm.DB
	switch {
	case !prefixes || s.dialect != SQLite:
		// Postgres estimates a prefix range from its statistics and picks
		// between the sort order's index and the name index by itself.
		q = filtered(true).Select("s.*").Order(order).Limit(f.PerPage).Offset(f.offset())
	case page.Total <= s.filterFirstMax():
		// SQLite guesses every range alike, so the count (just made) tells
		// it: few matches are read through the name index and sorted…
		q = s.q(ctx).Raw("WITH m AS MATERIALIZED (?) SELECT s.* FROM m AS s ORDER BY "+order+" LIMIT ? OFFSET ?",
			filtered(true).Select("s.*"), f.PerPage, f.offset())
	default:
		// …and many are found by walking the sort order's index (a page
		// needs about PerPage × rows/matches rows) with the prefix checked
		// on each row, not through the name index (no sort of them all).
		q = filtered(false).Select("s.*").Order(order).Limit(f.PerPage).Offset(f.offset())
	}
	if err := q.Scan(&rows).Error; err != nil {
		return page, fmt.Errorf("list sessions: %w", err)
	}
	page.Items = make([]SessionItem, len(rows))
	for i := range rows {
		page.Items[i] = SessionItem{Session: rows[i], Actions: s.sessionActions(ctx, a, &rows[i])}
	}
	return page, nil
}

// filterFirstMax is SessionOptions.FilterFirstMax or its default.
func (s *Store) filterFirstMax() int64 {
	if n := s.opts.Sessions.FilterFirstMax; n != 0 {
		return max(n, 0)
	}
	return DefaultFilterFirstMax
}
