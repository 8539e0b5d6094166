package views

import (
	"slices"
	"strconv"
	"strings"

	"gatehouse/models"
	"gatehouse/models/acl"
)

// grantLineError is one bad line of the grants textarea.
type grantLineError struct {
	Line    int
	Grant   string
	Message string
}

// grantLineErrors lists the "grants.N" field errors with the line's text, in
// line order.
func grantLineErrors(f Form) []grantLineError {
	lines := strings.Split(f.V("grants"), "\n")
	var out []grantLineError
	for k, msg := range f.Errors {
		n, err := strconv.Atoi(strings.TrimPrefix(k, "grants."))
		if err != nil || !strings.HasPrefix(k, "grants.") {
			continue
		}
		e := grantLineError{Line: n, Message: msg}
		if n >= 1 && n <= len(lines) {
			e.Grant = strings.TrimSpace(lines[n-1])
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b grantLineError) int { return a.Line - b.Line })
	return out
}

// hasGrantScope reports whether the role applies its grants in gs.
func hasGrantScope(r *models.RoleDetail, gs string) bool { return slices.Contains(r.GrantScopes, gs) }

// explicitGrantScopes returns the role's explicit scope ids, one per line,
// unless the form carries what was typed.
func explicitGrantScopes(r *models.RoleDetail, f Form) string {
	if v, ok := f.Values["explicit_scopes"]; ok {
		return v
	}
	var ids []string
	for _, gs := range r.GrantScopes {
		if gs != acl.GrantScopeThis && gs != acl.GrantScopeChildren && gs != acl.GrantScopeDescendants {
			ids = append(ids, gs)
		}
	}
	return strings.Join(ids, "\n")
}

// principalKind labels a principal type.
func principalKind(p models.PrincipalRef) string {
	switch {
	case p.ID == models.PrincipalAnyone || p.ID == models.PrincipalAuthenticated:
		return "special"
	case p.Type == "managed-group":
		return "managed group"
	}
	return p.Type
}
