package views

import (
	"fmt"
	"net/url"

	"gatehouse/models"
)

// stateBadge is the badge class of a session state.
func stateBadge(st models.SessionState) string {
	return "badge badge-" + string(st)
}

// stateText is "terminated / canceled" for terminated sessions, else the state.
func stateText(s models.Session) string {
	if s.TerminationReason != nil {
		return string(s.State) + " / " + string(*s.TerminationReason)
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
