package views

import (
	"fmt"
	"net/url"
	"time"

	"gatehouse/models"
)

// stateBadge is the badge class of a session state.
func stateBadge(st models.SessionState) string {
	return "badge badge-" + string(st)
}

// stateText is "terminated / canceled" for terminated sessions, "pending:
// waiting for first connection" for pending ones, else the state.
func stateText(s models.Session) string {
	if s.TerminationReason != nil {
		return string(s.State) + " / " + string(*s.TerminationReason)
	}
	if s.State == models.StatePending {
		return "pending: waiting for first connection"
	}
	return string(s.State)
}

// humanBytes shows a byte count with a binary unit.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// connectionsText is "3 of 5" or "3 (unlimited)".
func connectionsText(s models.Session) string {
	if s.ConnectionLimit < 0 {
		return fmt.Sprintf("%d (no limit)", s.ConnectionCount)
	}
	return fmt.Sprintf("%d of %d", s.ConnectionCount, s.ConnectionLimit)
}

// connectionsLeftText is the number of connections still allowed.
func connectionsLeftText(s models.Session) string {
	if s.ConnectionLimit < 0 {
		return "unlimited"
	}
	return fmt.Sprint(s.ConnectionsLeft())
}

// withQuery is path?query (query without its page when resetPage).
func withQuery(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// eventsURL is the SSE stream of a live view with the same query.
func eventsURL(view string, q url.Values) string {
	v := url.Values{}
	for k, vs := range q {
		v[k] = vs
	}
	v.Set("view", view)
	return "/sessions/events?" + v.Encode()
}

// ptrText is *s or "".
func ptrText(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// ConnectHint is what the session page needs to show the connect command:
// the external URL and, only on the response that started the session,
// the token.
type ConnectHint struct {
	Addr  string
	Token string
}

// Command is the ready-to-paste `gatehouse connect` line (with a
// placeholder when the token is no longer known).
func (c ConnectHint) Command() string {
	tok := c.Token
	if tok == "" {
		tok = "<token shown once at the start>"
	}
	return "gatehouse connect --addr " + c.Addr + " --token " + tok
}

// connectionStarted is when the host accepted the connection, else when it
// was authorized.
func connectionStarted(c models.Connection) time.Time {
	if c.ConnectedAt != nil {
		return *c.ConnectedAt
	}
	return c.AuthorizedAt
}

// connectionState is "connecting", "open" or "closed".
func connectionState(c models.Connection) string {
	switch {
	case c.ClosedAt != nil:
		return "closed"
	case c.ConnectedAt == nil:
		return "connecting"
	}
	return "open"
}

// connectionStateBadge is the badge class of a connection's state.
func connectionStateBadge(c models.Connection) string {
	switch connectionState(c) {
	case "open":
		return "badge-active"
	case "connecting":
		return "badge-pending"
	}
	return "badge-terminated"
}

// endedAt is when a terminated session ended: its last state change.
func endedAt(d *models.SessionDetail) time.Time {
	var at time.Time
	for _, h := range d.History {
		if h.At.After(at) {
			at = h.At
		}
	}
	return at
}

// endedText says in a sentence why a session ended.
func endedText(s models.Session) string {
	switch s.ReasonText() {
	case "timed out":
		return "It reached its time limit."
	case "canceled":
		return "It was ended (by you, an administrator, or because something it used was removed)."
	case "connection limit":
		return "It used all of its connections."
	case "closed by end-user":
		return "You closed it."
	case "system error":
		return "Gatehouse stopped it after an internal error."
	}
	return "It is over."
}

// failedDial is the latest connection whose dial to the host failed
// (closed "network error", never connected), when it is the session's
// latest connection: the host was down at the last attempt.
func failedDial(conns []models.Connection) *models.Connection {
	if len(conns) == 0 {
		return nil
	}
	c := conns[len(conns)-1]
	if c.ConnectedAt == nil && c.ClosedReason != nil && *c.ClosedReason == "network error" {
		return &c
	}
	return nil
}

// liveSessions keeps the sessions not yet terminated.
func liveSessions(all []models.SessionItem) []models.SessionItem {
	var out []models.SessionItem
	for _, s := range all {
		if !s.State.Final() {
			out = append(out, s)
		}
	}
	return out
}

// endedSessions keeps the first n terminated sessions.
func endedSessions(all []models.SessionItem, n int) []models.SessionItem {
	var out []models.SessionItem
	for _, s := range all {
		if s.State.Final() && len(out) < n {
			out = append(out, s)
		}
	}
	return out
}

// targetEndpoint is a target's address:port, or its hosts.
func targetEndpoint(t models.MyTarget) string {
	if t.Address != nil {
		return *t.Address + ":" + fmt.Sprint(t.DefaultPort)
	}
	return joinOrDash(t.HostNames) + " (port " + fmt.Sprint(t.DefaultPort) + ")"
}

// currentSort is the list's sort key ("-started" when none is asked for;
// Session history's older "newest" and "oldest" are "-started" and
// "started").
func currentSort(q url.Values) string {
	switch s := q.Get("sort"); s {
	case "", "newest":
		return "-started"
	case "oldest":
		return "started"
	default:
		return s
	}
}

// sortDirection is the aria-sort of a column sorting by key (or reverse):
// "ascending" or "descending" when the list is sorted by it, else "".
// Keys starting with "-" sort descending.
func sortDirection(q url.Values, key, reverse string) string {
	s := currentSort(q)
	if s != key && s != reverse {
		return ""
	}
	if s[0] == '-' {
		return "descending"
	}
	return "ascending"
}

func sortMark(direction string) string {
	switch direction {
	case "ascending":
		return " ▲"
	case "descending":
		return " ▼"
	}
	return ""
}

// sortURL is base with q sorted by key, or by reverse when q already sorts
// by key (a second click reverses), from the first page (page numbers and
// Session history's cursors dropped), other parameters kept.
func sortURL(base string, q url.Values, key, reverse string) string {
	c := url.Values{}
	for k, v := range q {
		if k != "page" && k != "after" && k != "back" {
			c[k] = v
		}
	}
	next := key
	if reverse != "" && currentSort(q) == key {
		next = reverse
	}
	c.Set("sort", next)
	return base + "?" + c.Encode()
}
