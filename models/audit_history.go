package models

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"gatehouse/models/acl"
)

// ActionReadHistory lets an actor read the session warehouse (Session
// history, audit records, exports and charts): grant it as
// `type=session;actions=read-history`. Admins have it.
const ActionReadHistory Action = "read-history"

// HistoryFilter selects sessions of the warehouse. Empty fields do not filter.
// User, Target, Project, Org and AuthMethod match an id (recognised by its
// prefix) or else a name, case-insensitively, as it was when the session
// started.
type HistoryFilter struct {
	From, To   time.Time // created in [From, To)
	User       string
	Target     string
	Project    string
	Org        string
	AuthMethod string
	State      string // a session state, or StateFilterLive for sessions not terminated
	Reason     string // a termination reason, or "live" for sessions not terminated
	ClientIP   string
	Text       string // free text over names, email, ids, addresses and user agent
	Oldest     bool   // sort oldest first (default newest first), when Sort is empty
	// Sort is one of HistorySorts (default "-started"); a "-" sorts
	// descending. Names sort case-insensitively, then by start.
	Sort string
}

// HistorySorts are Session history's sort keys: by start, or by user or
// target name then start, each both ways. Each walks an index of the
// warehouse (created; lower(name), created), so every page costs the same.
var HistorySorts = []string{"-started", "started", "user", "-user", "target", "-target"}

// historySortColumns maps a sort key (without "-") to the name column it
// sorts by before the start ("" for the start alone).
var historySortColumns = map[string]string{"started": "", "user": "w.user_name", "target": "w.target_name"}

// sort is f's sort key, "-started" by default.
func (f HistoryFilter) sort() string {
	switch {
	case f.Sort != "":
		return f.Sort
	case f.Oldest:
		return "started"
	}
	return "-started"
}

// HistoryCursor is a keyset position: the sort key of a row (Name is the
// sorted name column's value when the list sorts by a name).
type HistoryCursor struct {
	CreatedAt time.Time
	SessionID string
	Name      string
}

// String encodes the cursor for a URL.
func (c HistoryCursor) String() string {
	if c.SessionID == "" {
		return ""
	}
	s := c.CreatedAt.UTC().Format(time.RFC3339Nano) + "~" + c.SessionID
	if c.Name != "" {
		s += "~" + c.Name
	}
	return s
}

// ParseHistoryCursor decodes HistoryCursor.String; the empty string is the
// zero cursor (first page).
func ParseHistoryCursor(s string) (HistoryCursor, error) {
	if s == "" {
		return HistoryCursor{}, nil
	}
	ts, rest, ok := strings.Cut(s, "~")
	id, name, _ := strings.Cut(rest, "~")
	t, err := time.Parse(time.RFC3339Nano, ts)
	if !ok || err != nil || id == "" {
		return HistoryCursor{}, Invalid("after", "is not a page position")
	}
	return HistoryCursor{CreatedAt: t.UTC(), SessionID: id, Name: name}, nil
}

// HistoryPageRequest asks for one page of Session history: the rows after
// After (or, when Back, the rows before it) in the filter's sort order.
type HistoryPageRequest struct {
	Filter  HistoryFilter
	After   HistoryCursor
	Back    bool
	PerPage int // default 50, at most 500
	// Count asks for Total: every row matching Filter (a count the page
	// itself does not need, so the history page leaves it off).
	Count bool
}

// HistoryRow is a session as Session history lists and exports it.
type HistoryRow struct {
	SessionID         string
	CreatedAt         time.Time
	ExpiresAt         time.Time
	State             string
	TerminatedAt      *time.Time
	TerminationReason string
	UserID            string
	UserName          string
	UserEmail         string
	AuthMethodID      string
	AuthMethodName    string
	TargetID          string
	TargetName        string
	HostID            string
	HostName          string
	HostAddress       string
	ProjectID         string
	ProjectName       string
	OrgID             string
	OrgName           string
	ClientIP          string
	ConnectionCount   int
	BytesUp           int64
	BytesDown         int64
}

// HistoryColumns are the export's column names, in HistoryRow's field order.
var HistoryColumns = []string{"session_id", "created_at", "expires_at", "state", "terminated_at", "termination_reason",
	"user_id", "user_name", "user_email", "auth_method_id", "auth_method_name", "target_id", "target_name",
	"host_id", "host_name", "host_address", "project_id", "project_name", "org_id", "org_name", "client_ip",
	"connection_count", "bytes_up", "bytes_down"}

// HistoryPage is one page of Session history with the cursors of its
// neighbours (empty when there is none).
type HistoryPage struct {
	Rows       []HistoryRow
	Next, Prev string
	// Total is how many rows match the filter in all (when asked: Count).
	Total int64
}

// historySelect selects HistoryColumns from from (aliased w).
func historySelect(from string) string {
	return "SELECT w." + strings.Join(HistoryColumns, ", w.") + " FROM " + from + " w"
}

func (r *HistoryRow) scan(rows *sql.Rows) error {
	var term sql.NullTime
	err := rows.Scan(&r.SessionID, &r.CreatedAt, &r.ExpiresAt, &r.State, &term, &r.TerminationReason,
		&r.UserID, &r.UserName, &r.UserEmail, &r.AuthMethodID, &r.AuthMethodName, &r.TargetID, &r.TargetName,
		&r.HostID, &r.HostName, &r.HostAddress, &r.ProjectID, &r.ProjectName, &r.OrgID, &r.OrgName, &r.ClientIP,
		&r.ConnectionCount, &r.BytesUp, &r.BytesDown)
	r.TerminatedAt = nil
	if term.Valid {
		t := term.Time.UTC()
		r.TerminatedAt = &t
	}
	r.CreatedAt, r.ExpiresAt = r.CreatedAt.UTC(), r.ExpiresAt.UTC()
	return err
}

// historyWhere builds the filter's condition (always starting with the
// actor's visibility condition).
func (s *Store) historyWhere(ctx context.Context, a Actor, f HistoryFilter) (string, []any, error) {
	cond, args, err := s.listCondition(ctx, a, "session", ActionReadHistory, ListColumns{Scope: "w.project_id", ID: "w.session_id"})
	if err != nil {
		return "", nil, err
	}
	parts := []string{"(" + cond + ")"}
	add := func(c string, v ...any) {
		parts = append(parts, c)
		args = append(args, v...)
	}
	byIDOrName := func(v, idType, idCol, nameCol string) {
		if v = strings.TrimSpace(v); v == "" {
			return
		}
		if t, ok := acl.ResourceTypeOfID(v); ok && t == idType {
			add("w."+idCol+" = ?", v)
		} else {
			add("lower(w."+nameCol+") = ?", strings.ToLower(v))
		}
	}
	if !f.From.IsZero() {
		add("w.created_at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		add("w.created_at < ?", f.To.UTC())
	}
	byIDOrName(f.User, "user", "user_id", "user_name")
	byIDOrName(f.Target, "target", "target_id", "target_name")
	if v := strings.TrimSpace(f.Project); v != "" && strings.HasPrefix(v, PrefixProject+"_") {
		add("w.project_id = ?", v)
	} else if v != "" {
		add("lower(w.project_name) = ?", strings.ToLower(v))
	}
	if v := strings.TrimSpace(f.Org); v != "" && strings.HasPrefix(v, PrefixOrg+"_") {
		add("w.org_id = ?", v)
	} else if v != "" {
		add("lower(w.org_name) = ?", strings.ToLower(v))
	}
	byIDOrName(f.AuthMethod, "auth-method", "auth_method_id", "auth_method_name")
	switch st := strings.TrimSpace(f.State); st {
	case "":
	case StateFilterLive:
		add("w.termination_reason = ''")
	default:
		add("w.state = ?", st)
	}
	switch r := strings.TrimSpace(f.Reason); r {
	case "":
	case "live":
		add("w.termination_reason = ''")
	default:
		add("w.termination_reason = ?", r)
	}
	if v := strings.TrimSpace(f.ClientIP); v != "" {
		add("w.client_ip = ?", v)
	}
	if c, cargs := s.historyTextCond(f.Text); c != "" {
		add(c, cargs...)
	}
	return strings.Join(parts, " AND "), args, nil
}

// historyTextCond is the free-text condition on warehouse_sessions (alias
// w) through its trigram index: text in names, email, ids, addresses and
// user agent, any case, literally. "" for no text. All sessions uses it
// too (SessionFilter.Text), as a subquery on the warehouse.
func (s *Store) historyTextCond(text string) (string, []any) {
	v := strings.ToLower(strings.TrimSpace(text))
	if v == "" {
		return "", nil
	}
	if s.dialect == Postgres {
		// Backslash is Postgres's default LIKE escape; an explicit ESCAPE
		// would hide the pattern from the trigram index.
		return "w.search_text LIKE ?", []any{likePattern(v)}
	}
	// The trigram index answers LIKE only without ESCAPE: narrow with a
	// looser pattern (% and _ match any one character), then the exact
	// condition decides.
	loose := strings.Map(func(r rune) rune {
		if r == '%' || r == '_' {
			return '_'
		}
		return r
	}, v)
	return "w.search_text LIKE ? ESCAPE '\\' AND w.session_id IN (SELECT session_id FROM warehouse_sessions_search WHERE search_text LIKE ?)",
		[]any{likePattern(v), "%" + loose + "%"}
}

// HistorySessions returns one page of Session history: the warehouse's
// sessions the actor may read-history on, filtered and sorted in SQL with
// keyset pagination (constant cost at any depth).
func (s *Store) HistorySessions(ctx context.Context, a Actor, req HistoryPageRequest) (*HistoryPage, error) {
	per := req.PerPage
	if per <= 0 {
		per = 50
	}
	per = min(per, 500)
	where, args, err := s.historyWhere(ctx, a, req.Filter)
	if err != nil {
		return nil, err
	}
	// desc walks the sort key downwards; Back reverses the walk to fetch
	// the previous page.
	key := req.Filter.sort()
	desc := strings.HasPrefix(key, "-")
	nameCol, ok := historySortColumns[strings.TrimPrefix(key, "-")]
	if !ok {
		return nil, Invalid("sort", msgFilterSort)
	}
	if req.Back {
		desc = !desc
	}
	cmp, dir := ">", "ASC"
	if desc {
		cmp, dir = "<", "DESC"
	}
	order := " ORDER BY w.created_at " + dir + ", w.session_id " + dir
	keyset, kargs := "", []any(nil)
	if nameCol != "" {
		order = " ORDER BY lower(" + nameCol + ") " + dir + ", w.created_at " + dir + ", w.session_id " + dir
	}
	if req.After.SessionID != "" {
		keyset = " AND (w.created_at, w.session_id) " + cmp + " (?, ?)"
		kargs = []any{req.After.CreatedAt, req.After.SessionID}
		if nameCol != "" {
			keyset = " AND (lower(" + nameCol + "), w.created_at, w.session_id) " + cmp + " (lower(?), ?, ?)"
			kargs = []any{req.After.Name, req.After.CreatedAt, req.After.SessionID}
		}
	}
	page := &HistoryPage{}
	if text := strings.TrimSpace(req.Filter.Text); text != "" && s.dialect == SQLite {
		// A common word fills the page from the newest rows long before the
		// trigram index would have listed all its matches: look in a
		// bounded window first, and ask the index only when the window
		// does not fill the page. The window is a prefix of the walk, so a
		// full page from it is exact.
		base := req.Filter
		base.Text = ""
		bw, bargs, err := s.historyWhere(ctx, a, base)
		if err != nil {
			return nil, err
		}
		q := historySelect(fmt.Sprintf("(SELECT * FROM warehouse_sessions w WHERE %s%s%s LIMIT %d)", bw, keyset, order, historyTextWindow)) +
			" WHERE w.search_text LIKE ? ESCAPE '\\'" + order + fmt.Sprintf(" LIMIT %d", per+1)
		args := append(append(bargs, kargs...), likePattern(strings.ToLower(text)))
		if page.Rows, err = s.historyRows(ctx, q, args, per+1); err != nil {
			return nil, err
		}
		if len(page.Rows) <= per {
			page.Rows = nil
		}
	}
	if page.Rows == nil {
		q := historySelect("warehouse_sessions") + " WHERE " + where + keyset + order + fmt.Sprintf(" LIMIT %d", per+1)
		if page.Rows, err = s.historyRows(ctx, q, append(args, kargs...), per+1); err != nil {
			return nil, err
		}
	}
	more := len(page.Rows) > per
	if more {
		page.Rows = page.Rows[:per]
	}
	if req.Back {
		for i, j := 0, len(page.Rows)-1; i < j; i, j = i+1, j-1 {
			page.Rows[i], page.Rows[j] = page.Rows[j], page.Rows[i]
		}
	}
	if len(page.Rows) > 0 {
		first, last := page.Rows[0], page.Rows[len(page.Rows)-1]
		firstC := HistoryCursor{first.CreatedAt, first.SessionID, first.sortName(nameCol)}.String()
		lastC := HistoryCursor{last.CreatedAt, last.SessionID, last.sortName(nameCol)}.String()
		if req.Back {
			page.Next = lastC
			if more {
				page.Prev = firstC
			}
		} else {
			if more {
				page.Next = lastC
			}
			if req.After.SessionID != "" {
				page.Prev = firstC
			}
		}
	}
	if req.Count {
		if err := s.q(ctx).Raw("SELECT count(*) FROM warehouse_sessions w WHERE "+where, args...).Scan(&page.Total).Error; err != nil {
			return nil, fmt.Errorf("count history: %w", err)
		}
	}
	return page, nil
}

// sortName is the row's value of the name column a list sorts by ("" for none).
func (r *HistoryRow) sortName(col string) string {
	switch col {
	case "w.user_name":
		return r.UserName
	case "w.target_name":
		return r.TargetName
	}
	return ""
}

// historyTextWindow is how many of the newest filtered rows SQLite's
// free-text search scans before it asks the trigram index.
const historyTextWindow = 20000

// historyRows runs a history query and scans its rows.
func (s *Store) historyRows(ctx context.Context, q string, args []any, capacity int) ([]HistoryRow, error) {
	rows, err := s.q(ctx).Raw(q, args...).Rows()
	if err != nil {
		return nil, fmt.Errorf("session history: %w", err)
	}
	defer rows.Close()
	out := make([]HistoryRow, 0, capacity)
	for rows.Next() {
		var r HistoryRow
		if err := r.scan(rows); err != nil {
			return nil, fmt.Errorf("session history: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("session history: %w", err)
	}
	return out, nil
}
