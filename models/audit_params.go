package models

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// HistoryFilterParams are the query parameters of a Session history
// filter, shared by the page, its exports and the API.
var HistoryFilterParams = []string{"from", "to", "user", "target", "project", "org", "auth_method", "state", "reason", "client_ip", "q", "sort"}

// ParseHistoryFilter reads a history filter from query parameters (get
// returns a parameter's value). Dates are ParseFilterTime's (UTC days, "to"
// including its day; minutes; RFC 3339 times); state is a session state or
// "live", reason a termination reason (or "live", the older spelling of
// state=live); sort one of HistorySorts' keys (or "newest"/"oldest"). Bad
// values are a *ValidationError naming each parameter, with the messages
// All sessions uses.
func ParseHistoryFilter(get func(string) string) (HistoryFilter, error) {
	t := func(k string) string { return strings.TrimSpace(get(k)) }
	f := HistoryFilter{
		User: t("user"), Target: t("target"), Project: t("project"), Org: t("org"), AuthMethod: t("auth_method"),
		State: t("state"), Reason: t("reason"), ClientIP: t("client_ip"), Text: t("q"), Sort: t("sort"),
	}
	v := validator{}
	f.From, f.To = parseRange(v, get)
	if st := f.State; st != "" && st != StateFilterLive && !ValidSessionState(st) {
		v.add("state", msgFilterState)
	}
	if r := f.Reason; r != "" && r != "live" && !ValidTerminationReason(r) {
		v.add("reason", msgFilterReason)
	}
	switch f.Sort {
	case "newest":
		f.Sort = "-started"
	case "oldest":
		f.Sort = "started"
	}
	if f.Sort != "" && !slices.Contains(HistorySorts, f.Sort) {
		v.add("sort", msgFilterSort)
	}
	f.Oldest = f.Sort == "started"
	for _, k := range HistoryFilterParams {
		if len(t(k)) > 256 {
			v.add(k, "At most 256 characters.")
		}
	}
	return f, v.err()
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
		rec[i] = CSVSafe(v) // the counts at the end are never negative
	}
	return rec
}

// CSVSafe prefixes with ' text that a spreadsheet would run as a formula
// (every CSV export writes its text fields through it).
func CSVSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
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
