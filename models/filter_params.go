package models

import (
	"strconv"
	"strings"
	"time"
)

// The session lists (All sessions, Session history) share their filter's
// rules and words: the same time range, the same state and termination
// reason choices, the same messages next to the fields.
const (
	// MsgFilterDate is the message of a from/to that is not a date. It
	// names no format: the page's date picker shows the person's own
	// (day/month order differs by locale), the API documents YYYY-MM-DD.
	MsgFilterDate = "Enter a real date, with its day, month and year."
	// MsgFilterRange is the message of a to before its from.
	MsgFilterRange  = "Must be after the start of the range."
	msgFilterState  = "Choose a state from the list."
	msgFilterReason = "Choose a termination reason from the list."
	msgFilterSort   = "Choose a sort order from the list."
)

// ParseFilterTime reads a filter's time: a UTC day (YYYY-MM-DD; when
// inclusive, the end of that day, for "to"), a minute (YYYY-MM-DDTHH:MM,
// UTC) or an RFC 3339 time. ok is false for anything else.
func ParseFilterTime(s string, inclusive bool) (t time.Time, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, true
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if inclusive {
			t = t.AddDate(0, 0, 1)
		}
		return t, true
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseRange reads the "from" and "to" parameters into [from, to), adding
// their messages to v.
func parseRange(v validator, get func(string) string) (from, to time.Time) {
	from, ok := ParseFilterTime(get("from"), false)
	if !ok {
		v.add("from", MsgFilterDate)
	}
	to, ok = ParseFilterTime(get("to"), true)
	if !ok {
		v.add("to", MsgFilterDate)
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		v.add("to", MsgFilterRange)
	}
	return from, to
}

// ParseSessionFilter reads All sessions' filter from query parameters (get
// returns a parameter's value): user, target, project, state, reason, q
// (free text), from, to, sort, page, with ParseFilterTime's dates. Bad values are one
// *ValidationError naming each parameter.
func ParseSessionFilter(get func(string) string) (SessionFilter, error) {
	v := validator{}
	t := func(k string) string { return strings.TrimSpace(get(k)) }
	page, _ := strconv.Atoi(t("page"))
	f := SessionFilter{User: t("user"), Target: t("target"), Project: t("project"), State: t("state"), Reason: t("reason"),
		Text: t("q"), Sort: t("sort"), ListOptions: ListOptions{Page: page}}
	f.From, f.To = parseRange(v, get)
	f, err := f.validate()
	for k, m := range FieldErrors(err) {
		v.add(k, m)
	}
	return f, v.err()
}
