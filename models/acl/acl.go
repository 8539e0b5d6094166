package acl

import (
	"slices"
	"strings"
)

// Grant scopes a role may name besides explicit scope ids.
const (
	// GrantScopeThis applies a role's grants in the role's own scope.
	GrantScopeThis = "this"
	// GrantScopeChildren applies them in the direct children of the role's
	// scope (orgs for a global role, projects for an org role).
	GrantScopeChildren = "children"
	// GrantScopeDescendants applies them in every scope below the role's
	// scope, never in the role's scope itself.
	GrantScopeDescendants = "descendants"
)

// aclMaxDepth bounds walks up a ScopeTree so a cycle cannot hang a check.
const aclMaxDepth = 32

// RoleGrants is what the ACL needs of one role held by the principal: where
// the role lives, where its grants apply (GrantScopes: "this", "children",
// "descendants" or explicit scope ids) and its parsed grants. A role with no
// grant scopes grants nothing. An explicit scope id counts only when it is
// the role's scope or below it.
type RoleGrants struct {
	RoleID      string
	RoleName    string
	RoleScopeID string
	GrantScopes []string
	Grants      []Grant
}

// ScopeTree answers the parent of a scope. Parent returns ok false for
// global and for scopes it does not know; the ACL then treats the scope as
// having no ancestors, which only ever denies.
type ScopeTree interface {
	Parent(scopeID string) (parentID string, ok bool)
}

// ScopeParents is a ScopeTree held in a map from scope id to parent scope id.
// Global has no entry (or an empty parent).
type ScopeParents map[string]string

// Parent returns the parent of scopeID and whether it has one.
func (m ScopeParents) Parent(scopeID string) (string, bool) {
	p, ok := m[scopeID]
	return p, ok && p != ""
}

// Principal is who is being authorized. UserID and AccountID replace the
// grant templates {{.User.Id}} and {{.Account.Id}}; an empty value makes its
// template match nothing. UserID is also the owner the :self actions compare
// with.
type Principal struct {
	UserID    string
	AccountID string
}

// Resource is what an action is asked on. Type is a resource type; ScopeID
// is the scope holding the resource (for a scope itself: its parent scope,
// and "global" for global);
// ParentID is the parent item of a child type (the host catalog of a host);
// OwnerUserID is the user a session or auth token belongs to. For an item set
// ID; for a collection action (list, create, no-op on the collection) leave
// ID empty and set Type, ScopeID and, for child types, ParentID.
type Resource struct {
	Type        string
	ID          string
	ScopeID     string
	ParentID    string
	OwnerUserID string
}

// GrantMatch names one grant that allowed an action and where it came from.
// GrantScope is the entry of the role's grant scopes that applied; Grant is
// the grant's canonical string (templates unsubstituted).
type GrantMatch struct {
	RoleID      string
	RoleName    string
	RoleScopeID string
	GrantScope  string
	Grant       string
}

// Decision is the answer of ACL.Allowed: Allowed, and every grant that
// allowed it in role order (empty when denied).
type Decision struct {
	Allowed bool
	Matches []GrantMatch
}

// ACL decides what one principal may do, from the roles it holds. It is
// immutable and safe for concurrent use once built.
type ACL struct {
	principal Principal
	roles     []aclRole
	tree      ScopeTree
}

type aclRole struct {
	RoleGrants
	grants []aclGrant
}

// aclGrant is a grant with its templates substituted for one principal.
type aclGrant struct {
	Grant
	ids       []string // substituted ids; templates without a value dropped
	idType    string   // type of specific ids; "" for ids=* and type-only
	canonical string
}

// NewACL builds the ACL of principal p holding roles, resolving scopes with
// tree (nil means no scope has a parent). Roles and grants are copied.
func NewACL(p Principal, roles []RoleGrants, tree ScopeTree) *ACL {
	a := &ACL{principal: p, tree: tree}
	for _, r := range roles {
		role := aclRole{RoleGrants: r}
		role.GrantScopes = slices.Clone(r.GrantScopes)
		role.Grants = slices.Clone(r.Grants)
		for _, g := range r.Grants {
			ag := aclGrant{Grant: g, canonical: g.String()}
			for _, id := range g.IDs {
				switch id {
				case GrantTemplateUserID:
					id = p.UserID
				case GrantTemplateAccountID:
					id = p.AccountID
				}
				if id != "" {
					ag.ids = append(ag.ids, id)
				}
			}
			if len(g.IDs) > 0 && g.IDs[0] != "*" {
				ag.idType = grantIDType(g.IDs[0])
			}
			role.grants = append(role.grants, ag)
		}
		a.roles = append(a.roles, role)
	}
	return a
}

// Allowed decides whether the principal may perform action on r. It denies
// an action that is not valid for r.Type (see ValidActions), a resource
// without a scope, list/create asked on an item, and item actions asked on
// a collection. "read:self"/"cancel:self"/"delete:self" are allowed only on
// the principal's own resource; a grant of the plain action covers them.
func (a *ACL) Allowed(r Resource, action string) Decision {
	if r.ScopeID == "" || !aclTypeHas(r.Type, action) {
		return Decision{}
	}
	owned := a.owns(r)
	var d Decision
	for _, role := range a.roles {
		gs, ok := a.grantScopeFor(role, r.ScopeID)
		if !ok {
			continue
		}
		for _, g := range role.grants {
			if aclGrantAllows(g, r, action, owned) {
				d.Matches = append(d.Matches, GrantMatch{
					RoleID: role.RoleID, RoleName: role.RoleName, RoleScopeID: role.RoleScopeID,
					GrantScope: gs, Grant: g.canonical,
				})
			}
		}
	}
	d.Allowed = len(d.Matches) > 0
	return d
}

// owns reports whether r is an item belonging to the principal.
func (a *ACL) owns(r Resource) bool {
	return r.ID != "" && a.principal.UserID != "" && r.OwnerUserID == a.principal.UserID
}

// grantScopeFor returns the first of role's grant scopes that covers scopeID.
func (a *ACL) grantScopeFor(role aclRole, scopeID string) (string, bool) {
	for _, gs := range role.GrantScopes {
		var ok bool
		switch gs {
		case GrantScopeThis:
			ok = scopeID == role.RoleScopeID
		case GrantScopeChildren:
			p, has := a.parent(scopeID)
			ok = has && p == role.RoleScopeID
		case GrantScopeDescendants:
			ok = a.Below(role.RoleScopeID, scopeID)
		default:
			ok = scopeID == gs && (gs == role.RoleScopeID || a.Below(role.RoleScopeID, gs))
		}
		if ok {
			return gs, true
		}
	}
	return "", false
}

func (a *ACL) parent(scopeID string) (string, bool) {
	if a.tree == nil {
		return "", false
	}
	return a.tree.Parent(scopeID)
}

// Below reports whether scopeID is a strict descendant of ancestor.
func (a *ACL) Below(ancestor, scopeID string) bool {
	s := scopeID
	for range aclMaxDepth {
		p, ok := a.parent(s)
		if !ok {
			return false
		}
		if p == ancestor {
			return true
		}
		s = p
	}
	return false
}

// aclGrantAllows reports whether grant g allows act on r, r's scope being
// already known to be one where g applies.
func aclGrantAllows(g aclGrant, r Resource, act string, owned bool) bool {
	if r.ID == "" {
		if !IsCollectionAction(act) && act != "no-op" {
			return false
		}
		switch aclCollectionMatch(g, r) {
		case aclMatchTyped:
			if act == "no-op" {
				return slices.ContainsFunc(g.Actions, func(x string) bool { return x == "*" || aclTypeHas(r.Type, x) })
			}
			return slices.Contains(g.Actions, act) || slices.Contains(g.Actions, "*")
		case aclMatchSpecific:
			return act == "no-op"
		}
		return false
	}
	if IsCollectionAction(act) || !aclItemMatch(g, r) {
		return false
	}
	return aclActionCovers(g.Actions, act, r.Type, owned)
}

const (
	aclMatchNone = iota
	aclMatchTyped
	aclMatchSpecific
)

// aclCollectionMatch tells how g names the collection r: by type (type-only,
// ids=*, or parent id with a child type) or only through specific items of
// that type, which counts for no-op alone.
func aclCollectionMatch(g aclGrant, r Resource) int {
	switch {
	case len(g.IDs) == 0:
		if g.Type == r.Type {
			return aclMatchTyped
		}
	case g.IDs[0] == "*":
		if g.Type == "*" || g.Type == r.Type {
			return aclMatchTyped
		}
	case g.Type != "":
		if r.ParentID != "" && slices.Contains(g.ids, r.ParentID) && aclChildMatch(g, r.Type) {
			return aclMatchTyped
		}
	default:
		if g.idType == r.Type && r.ParentID == "" && len(g.ids) > 0 {
			return aclMatchSpecific
		}
	}
	return aclMatchNone
}

// aclItemMatch reports whether g names the item r. A type-only grant never
// does.
func aclItemMatch(g aclGrant, r Resource) bool {
	switch {
	case len(g.IDs) == 0:
		return false
	case g.IDs[0] == "*":
		return g.Type == "*" || g.Type == r.Type
	case g.Type == "":
		return g.idType == r.Type && slices.Contains(g.ids, r.ID)
	default:
		return r.ParentID != "" && slices.Contains(g.ids, r.ParentID) && aclChildMatch(g, r.Type)
	}
}

// aclChildMatch reports whether a parent-id grant covers items of childType.
func aclChildMatch(g aclGrant, childType string) bool {
	return (g.Type == childType || g.Type == "*") && aclParentType[childType] == g.idType
}

// aclActionCovers reports whether a grant's actions cover act on an item of
// type typ. no-op is covered by any item action valid for typ (a :self one
// only on an owned item); X:self needs ownership and X or X:self; X is also
// covered by X:self on an owned item.
func aclActionCovers(actions []string, act, typ string, owned bool) bool {
	self := strings.HasSuffix(act, ":self")
	if slices.Contains(actions, "*") {
		return !self || owned
	}
	if act == "no-op" {
		for _, x := range actions {
			if !aclTypeHas(typ, x) || IsCollectionAction(x) {
				continue
			}
			if !strings.HasSuffix(x, ":self") || owned {
				return true
			}
		}
		return false
	}
	if self {
		return owned && (slices.Contains(actions, act) || slices.Contains(actions, strings.TrimSuffix(act, ":self")))
	}
	return slices.Contains(actions, act) ||
		(owned && aclTypeHas(typ, act+":self") && slices.Contains(actions, act+":self"))
}

// Only returns an ACL with just the grants that name typ (or *) with action
// act (or *): the same answers for typ and act, computed faster.
func (a *ACL) Only(typ, act string) *ACL {
	out := &ACL{principal: a.principal, tree: a.tree}
	for _, r := range a.roles {
		keep := r
		keep.grants = nil
		for _, g := range r.grants {
			typed := g.Type == typ || g.Type == "*" || (g.Type == "" && g.idType == typ)
			if typed && (slices.Contains(g.Actions, act) || slices.Contains(g.Actions, "*") || slices.Contains(g.Actions, act+":self")) {
				keep.grants = append(keep.grants, g)
			}
		}
		if len(keep.grants) > 0 {
			out.roles = append(out.roles, keep)
		}
	}
	return out
}

// Principal returns whom the ACL decides for.
func (a *ACL) Principal() Principal { return a.principal }

// WithTree returns a copy of the ACL resolving scopes with tree instead.
func (a *ACL) WithTree(tree ScopeTree) *ACL {
	c := *a
	c.tree = tree
	return &c
}
