package models

import (
	"strconv"
	"strings"
	"time"
)

// HistoryFilterParams are the query parameters of a Session history
// filter, shared by the page, its exports and the API.
var HistoryFilterParams = []string{"from", "to", "user", "target", "project", "org", "auth_method", "reason", "client_ip", "q", "sort"}

// ParseHistoryFilter reads a history filter from query parameters (get
// returns a parameter's value). Dates are UTC days (YYYY-MM-DD; "to"
// includes its day), minutes (YYYY-MM-DDTHH:MM) or RFC 3339 times. Bad
// values are a *ValidationError naming each parameter.
func ParseHistoryFilter(get func(string) string) (HistoryFilter, error) {
	v := func(k string) string { return strings.TrimSpace(get(k)) }
	f := HistoryFilter{
		User: v("user"), Target: v("target"), Project: v("project"), Org: v("org"), AuthMethod: v("auth_method"),
		Reason: v("reason"), ClientIP: v("client_ip"), Text: v("q"), Oldest: v("sort") == "oldest",
	}
	errs := map[string]string{}
	parse := func(name string, inclusive bool) time.Time {
		s := v(name)
		if s == "" {
			return time.Time{}
		}
		if t, err := time.Parse(time.DateOnly, s); err == nil {
			if inclusive {
				t = t.AddDate(0, 0, 1)
			}
			return t
		}
		for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC()
			}
		}
		errs[name] = "Enter a date as YYYY-MM-DD."
		return time.Time{}
	}
	f.From, f.To = parse("from", false), parse("to", true)
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		errs["to"] = "Must be after the start of the range."
	}
	if r := f.Reason; r != "" && r != "live" && !ValidTerminationReason(r) {
		errs["reason"] = "Choose a termination reason from the list."
	}
	if s := v("sort"); s != "" && s != "newest" && s != "oldest" {
		errs["sort"] = "Choose newest or oldest first."
	}
	for _, k := range HistoryFilterParams {
		if len(v(k)) > 256 {
			errs[k] = "At most 256 characters."
		}
	}
	if len(errs) > 0 {
		return f, &ValidationError{Fields: errs}
	}
	return f, nil
}

// CSVRecord fills rec (len(HistoryColumns)) with the row's fields in
// HistoryColumns order. Text that a spreadsheet would run as a formula is
// prefixed with '.
func (r *HistoryRow) CSVRecord(rec []string) []string {
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	term := ""
	if r.TerminatedAt != nil {
		term = ts(*r.TerminatedAt)
	}
	vals := [...]string{r.SessionID, ts(r.CreatedAt), ts(r.ExpiresAt), r.State, term, r.TerminationReason,
		r.UserID, r.UserName, r.UserEmail, r.AuthMethodID, r.AuthMethodName, r.TargetID, r.TargetName,
		r.HostID, r.HostName, r.HostAddress, r.ProjectID, r.ProjectName, r.OrgID, r.OrgName, r.ClientIP,
		strconv.Itoa(r.ConnectionCount), strconv.FormatInt(r.BytesUp, 10), strconv.FormatInt(r.BytesDown, 10)}
	for i, v := range vals {
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) && i < 21 {
			v = "'" + v
		}
		rec[i] = v
	}
	return rec
}

// HistoryJSON is a history row as exports and the API write it.
type HistoryJSON struct {
	SessionID         string     `json:"session_id"`
	CreatedAt         time.Time  `json:"created_at"`
	ExpiresAt         time.Time  `json:"expires_at"`
	State             string     `json:"state"`
	TerminatedAt      *time.Time `json:"terminated_at"`
	TerminationReason string     `json:"termination_reason"`
	UserID            string     `json:"user_id"`
	UserName          string     `json:"user_name"`
	UserEmail         string     `json:"user_email"`
	AuthMethodID      string     `json:"auth_method_id"`
	AuthMethodName    string     `json:"auth_method_name"`
	TargetID          string     `json:"target_id"`
	TargetName        string     `json:"target_name"`
	HostID            string     `json:"host_id"`
	HostName          string     `json:"host_name"`
	HostAddress       string     `json:"host_address"`
	ProjectID         string     `json:"project_id"`
	ProjectName       string     `json:"project_name"`
	OrgID             string     `json:"org_id"`
	OrgName           string     `json:"org_name"`
	ClientIP          string     `json:"client_ip"`
	ConnectionCount   int        `json:"connection_count"`
	BytesUp           int64      `json:"bytes_up"`
	BytesDown         int64      `json:"bytes_down"`
}

// JSON is the row with JSON member names.
func (r *HistoryRow) JSON() HistoryJSON { return HistoryJSON(*r) }
