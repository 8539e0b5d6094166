package acl

import (
	"fmt"
	"strings"
)

// ActionExplanation tells, for one action on a resource, whether it is
// allowed and by which grants. For a denied action Suggestion says what to
// change: usually a grant and where to put it, e.g.
// `add a role in scope p_1 with grant "ids=ttcp_1;actions=authorize-session" and principal u_1`.
type ActionExplanation struct {
	Action     string
	Allowed    bool
	Matches    []GrantMatch
	Suggestion string
}

// Explain evaluates each of actions on r, in order, as Allowed does, and
// suggests for each denied one the narrowest grant that would allow it: the
// item's id for item actions, the type (or parent id for child types) for
// collection actions, ids=*;type=<type> for a :self action on one's own
// item. The suggested grant always parses with ParseGrant.
func (a *ACL) Explain(r Resource, actions []string) []ActionExplanation {
	out := make([]ActionExplanation, 0, len(actions))
	for _, act := range actions {
		d := a.Allowed(r, act)
		e := ActionExplanation{Action: act, Allowed: d.Allowed, Matches: d.Matches}
		if !d.Allowed {
			e.Suggestion = a.suggest(r, act)
		}
		out = append(out, e)
	}
	return out
}

// AllowedActions returns the candidates Allowed on r, in the candidates'
// order; nil when none is. Use it to decide which buttons to show.
func (a *ACL) AllowedActions(r Resource, candidates []string) []string {
	var out []string
	for _, act := range candidates {
		if a.Allowed(r, act).Allowed {
			out = append(out, act)
		}
	}
	return out
}

// suggest returns the Suggestion for an action Allowed denied.
func (a *ACL) suggest(r Resource, act string) string {
	if _, ok := aclTypes[r.Type]; !ok {
		return fmt.Sprintf("%q is not a resource type", r.Type)
	}
	if !aclTypeHas(r.Type, act) {
		return fmt.Sprintf("%q is not an action on %s (valid: %s)", act, r.Type, strings.Join(ValidActions(r.Type), ", "))
	}
	if r.ScopeID == "" {
		return "the resource has no scope; nothing can be granted on it"
	}
	if r.ID == "" {
		if !IsCollectionAction(act) && act != "no-op" {
			return fmt.Sprintf("%q acts on one %s: ask it with the item's id", act, r.Type)
		}
		if _, child := aclParentType[r.Type]; child {
			if r.ParentID != "" {
				return a.where(r, fmt.Sprintf("ids=%s;type=%s;actions=%s", r.ParentID, r.Type, act))
			}
			return a.where(r, fmt.Sprintf("ids=*;type=%s;actions=%s", r.Type, act))
		}
		return a.where(r, fmt.Sprintf("type=%s;actions=%s", r.Type, act))
	}
	if IsCollectionAction(act) {
		return fmt.Sprintf("%q is a collection action: ask it on the %s collection, without an id", act, r.Type)
	}
	if t, _ := ResourceTypeOfID(r.ID); t != r.Type {
		return fmt.Sprintf("id %q does not denote a %s, so no grant can name it", r.ID, r.Type)
	}
	if base, self := strings.CutSuffix(act, ":self"); self {
		if !a.owns(r) {
			return fmt.Sprintf("%s is not the principal's own %s, so %q cannot apply; to allow %q instead, %s",
				r.ID, r.Type, act, base, a.where(r, fmt.Sprintf("ids=%s;actions=%s", r.ID, base)))
		}
		return a.where(r, fmt.Sprintf("ids=*;type=%s;actions=%s", r.Type, act))
	}
	return a.where(r, fmt.Sprintf("ids=%s;actions=%s", r.ID, act))
}

// where phrases a grant suggestion for r's scope.
func (a *ACL) where(r Resource, grant string) string {
	s := fmt.Sprintf("add a role in scope %s with grant %q", r.ScopeID, grant)
	if a.principal.UserID != "" {
		s += " and principal " + a.principal.UserID
	}
	return s
}
