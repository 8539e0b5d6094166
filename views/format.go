package views

import (
	"fmt"
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

// humanSeconds writes a duration in seconds the short way people read it:
// 28800 → "8h", 5400 → "1h 30m", 90 → "1m 30s".
func humanSeconds(n int) string {
	if n <= 0 {
		return strconv.Itoa(n) + "s"
	}
	var parts []string
	for _, u := range []struct {
		size int
		unit string
	}{{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}} {
		if n >= u.size {
			parts = append(parts, fmt.Sprintf("%d%s", n/u.size, u.unit))
			n %= u.size
		}
	}
	return strings.Join(parts, " ")
}

// connectionLimit shows a target's connection limit: "unlimited" or N.
func connectionLimit(n int) string {
	if n == models.UnlimitedConnections {
		return "unlimited"
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
