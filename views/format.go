package views

import (
	"slices"
	"strconv"
	"strings"

	"gatehouse/models"
)

// Crumb is one breadcrumb after the scope path: a label and, except for the
// current page, a link.
type Crumb struct {
	Label string
	Href  string
}

// humanSeconds writes a duration in seconds in words: 28800 → "8 hours",
// 5400 → "1 hour 30 minutes", 90 → "1 minute 30 seconds".
func humanSeconds(n int) string {
	if n <= 0 {
		return plural(int64(n), "second", "seconds")
	}
	var parts []string
	for _, u := range []struct {
		size      int
		one, many string
	}{{86400, "day", "days"}, {3600, "hour", "hours"}, {60, "minute", "minutes"}, {1, "second", "seconds"}} {
		if n >= u.size {
			parts = append(parts, plural(int64(n/u.size), u.one, u.many))
			n %= u.size
		}
	}
	return strings.Join(parts, " ")
}

// connectionLimit shows a target's connection limit: "Unlimited" or N.
func connectionLimit(n int) string {
	if n == models.UnlimitedConnections {
		return "Unlimited"
	}
	return strconv.Itoa(n)
}

// credentialTypeLabel names a credential type for people.
func credentialTypeLabel(t string) string {
	switch t {
	case models.CredentialUsernamePassword:
		return "Username & password"
	case models.CredentialSSHPrivateKey:
		return "SSH private key"
	case models.CredentialJSON:
		return "JSON object"
	case models.CredentialPostgresRole, models.LibraryPostgres:
		return "Postgres role"
	case models.CredentialSSHCertificate:
		return "SSH certificate"
	}
	return t
}

// orDash shows "—" for an empty value.
func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// joinOrDash joins names with ", ", or "—" when there are none.
func joinOrDash(names []string) string {
	return orDash(strings.Join(names, ", "))
}

// selected reports whether id is among a form's chosen values (a
// comma-separated list, as the handlers store multi-selects).
func selected(f Form, name, id string) bool {
	for _, v := range strings.Split(f.V(name), ",") {
		if v == id {
			return true
		}
	}
	return false
}

// unattached keeps the choices whose id is not among attached (a picker
// offers only what can still be added).
func unattached(choices []models.Choice, attached []string) []models.Choice {
	var out []models.Choice
	for _, c := range choices {
		if !slices.Contains(attached, c.ID) {
			out = append(out, c)
		}
	}
	return out
}

func hostIDs(xs []models.Host) []string { return pluck(xs, func(x models.Host) string { return x.ID }) }

func hostSetIDs(xs []models.HostSourceView) []string {
	return pluck(xs, func(x models.HostSourceView) string { return x.HostSetID })
}

func credentialIDs(xs []models.CredentialSourceView) []string {
	return pluck(xs, func(x models.CredentialSourceView) string { return x.CredentialID })
}

// pluck maps each element of xs through f (an id, a label, a count).
func pluck[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}
