package views

import (
	"crypto/rand"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"gatehouse/models"
	"gatehouse/models/acl"
)

// Meta is what every page needs besides its own content.
type Meta struct {
	Title string
	Actor models.Actor
	// Nav is the active navigation key ("home", "scopes", "users", ...).
	Nav string
	// Flash is a one-line confirmation shown above the content.
	Flash string
	// Dev marks pages served by `gatehouse dev`.
	Dev bool
	// ReplaceURL, on a page answering a POST, is the address app.js puts in
	// the address bar so that a reload GETs it instead of re-posting.
	ReplaceURL string
	// AccessHelp is the operator's "how to get access" sentence or link.
	AccessHelp string
	// Path is the request's path (a 403 page asks "Why can't I?" about it).
	Path string
}

// Form carries a form's submitted values and field errors back to the page.
type Form struct {
	Values map[string]string
	Errors map[string]string
	// Error is a message for the whole form.
	Error string
}

// V returns a submitted value.
func (f Form) V(name string) string { return f.Values[name] }

// E returns a field's error.
func (f Form) E(name string) string { return f.Errors[name] }

// Checked reports a checkbox value.
func (f Form) Checked(name string) bool {
	v := f.Values[name]
	return v == "on" || v == "true" || v == "1"
}

// HasErrors reports whether anything is wrong.
func (f Form) HasErrors() bool { return len(f.Errors) > 0 || f.Error != "" }

// timeISO formats t for a <time datetime>.
func timeISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// timeText formats t for people (UTC; app.js shows local time and a relative hint).
func timeText(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// pageURL returns the list URL for page n, keeping other query parameters.
func pageURL(base string, q url.Values, n int) string {
	c := url.Values{}
	for k, v := range q {
		c[k] = v
	}
	c.Set("page", strconv.Itoa(n))
	return base + "?" + c.Encode()
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func itoa(n int) string { return strconv.Itoa(n) }

// i64toa is itoa for int64 (counts, serials, cursors).
func i64toa(n int64) string { return strconv.FormatInt(n, 10) }

func scopeTypeLabel(t string) string {
	switch t {
	case models.ScopeGlobal:
		return "Global"
	case models.ScopeOrg:
		return "Organization"
	case models.ScopeProject:
		return "Project"
	}
	return t
}

func childLabel(t string) (one, many string) {
	if t == models.ScopeGlobal {
		return "organization", "organizations"
	}
	return "project", "projects"
}

func errID(name string) string { return name + "-error" }

// searchTooLong reports whether a search text is past models.MaxSearchLength.
func searchTooLong(q string) bool { return models.CutSearch(q) != q }

// searchMax is models.MaxSearchLength as text.
func searchMax() string { return strconv.Itoa(models.MaxSearchLength) }

// formNonce is a fresh random value for a form whose submission the server
// makes idempotent (starting a session): a double click sends it twice.
func formNonce() string { return rand.Text() }

// mayAddTarget reports whether any project accepts new targets from the actor.
func mayAddTarget(projects []models.ProjectOverview) bool {
	for _, p := range projects {
		if p.MayAddTarget {
			return true
		}
	}
	return false
}

// projectQuery keeps only ?project= of q.
func projectQuery(q url.Values) url.Values {
	if p := q.Get("project"); p != "" {
		return url.Values{"project": {p}}
	}
	return nil
}

// sortedKeys returns m's keys in order (a stable error summary).
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// explainURL is the "Why can't I?" page about the resource a refused path
// names (its last id-looking segment), or the page itself.
func explainURL(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i := len(segs) - 1; i >= 0; i-- {
		if _, ok := acl.ResourceTypeOfID(segs[i]); ok && strings.Contains(segs[i], "_") {
			return "/explain?resource=" + url.QueryEscape(segs[i])
		}
	}
	return "/explain"
}

// anyReachable reports whether the actor may start a session on one of
// targets (the others are listed only to be requested).
func anyReachable(targets []models.MyTarget) bool {
	for _, t := range targets {
		if t.Actions[models.ActionAuthorizeSession] {
			return true
		}
	}
	return false
}
