package acl

import (
	"fmt"
	"slices"
	"strings"
)

// Grant templates, substituted from the Principal when an ACL is built.
const (
	// GrantTemplateUserID stands for the id of the user being authorized.
	GrantTemplateUserID = "{{.User.Id}}"
	// GrantTemplateAccountID stands for the id of the account the user
	// logged in with.
	GrantTemplateAccountID = "{{.Account.Id}}"
)

// Grant is one parsed grant in Boundary's canonical text syntax,
// "ids=<ids>;type=<type>;actions=<actions>;output_fields=<fields>".
// ParseGrant is the only way to obtain a valid Grant: IDs keep the order
// written (templates in their canonical spelling), Actions are sorted, Type
// is "" when the grant names none, and OutputFields is nil when absent.
// Output fields are kept but take no part in decisions.
type Grant struct {
	Raw          string
	IDs          []string
	Type         string
	Actions      []string
	OutputFields []string
}

// GrantError is the error returned by ParseGrant and ParseGrants. Reason is
// written for the admin who typed the grant; Index is the position of the
// grant in the list given to ParseGrants, or -1 from ParseGrant.
type GrantError struct {
	Index  int
	Grant  string
	Reason string
}

// Error returns `grant "<grant>": <reason>`, prefixed with `grants[i]: `
// when the grant came from a list.
func (e *GrantError) Error() string {
	msg := fmt.Sprintf("grant %q: %s", e.Grant, e.Reason)
	if e.Index >= 0 {
		return fmt.Sprintf("grants[%d]: %s", e.Index, msg)
	}
	return msg
}

// String returns the canonical form of g: keys in the order ids, type,
// actions, output_fields, each present only when set. Parsing it again yields
// g with Raw set to the canonical form.
func (g Grant) String() string {
	var parts []string
	if len(g.IDs) > 0 {
		parts = append(parts, "ids="+strings.Join(g.IDs, ","))
	}
	if g.Type != "" {
		parts = append(parts, "type="+g.Type)
	}
	if len(g.Actions) > 0 {
		parts = append(parts, "actions="+strings.Join(g.Actions, ","))
	}
	if g.OutputFields != nil {
		parts = append(parts, "output_fields="+strings.Join(g.OutputFields, ","))
	}
	return strings.Join(parts, ";")
}

// ParseGrants parses every grant of a role. It returns nil and the first
// error, a *GrantError whose Index is the failing grant's position.
func ParseGrants(grants []string) ([]Grant, error) {
	out := make([]Grant, 0, len(grants))
	for i, s := range grants {
		g, err := ParseGrant(s)
		if err != nil {
			ge := err.(*GrantError)
			ge.Index = i
			return nil, ge
		}
		out = append(out, g)
	}
	return out, nil
}

// ParseGrant parses and validates one grant. The accepted forms are:
//
//	ids=<id,...>;actions=<a,...>           the named items (type from the id prefix)
//	ids=<parent id,...>;type=<child|*>;actions=<a,...>
//	                                       the child items of the named parents
//	ids=*;type=<type|*>;actions=<a,...>    every item of the type
//	type=<type>;actions=<list,create,no-op> collection actions only; reveals no item
//
// Ids may be the templates {{.User.Id}} and {{.Account.Id}}. Every action
// must be valid for the type the grant acts on (see ValidActions), "*" stands
// alone, and list/create are refused on specific ids. On failure it returns a
// *GrantError whose Reason tells the admin what to change.
func ParseGrant(s string) (Grant, error) {
	g := Grant{Raw: s}
	fail := func(format string, args ...any) (Grant, error) {
		return Grant{}, &GrantError{Index: -1, Grant: s, Reason: fmt.Sprintf(format, args...)}
	}
	if strings.TrimSpace(s) == "" {
		return fail("empty grant")
	}
	seen := map[string]bool{}
	for _, seg := range strings.Split(s, ";") {
		seg = strings.TrimSpace(seg)
		key, value, ok := strings.Cut(seg, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch {
		case seg == "":
			return fail(`empty segment; remove the stray ";"`)
		case !ok:
			return fail("segment %q is not key=value", seg)
		case strings.Contains(value, "="):
			return fail(`segment %q has more than one "="`, seg)
		case key == "":
			return fail("segment %q has no key", seg)
		case seen[key]:
			return fail("duplicate key %q", key)
		}
		seen[key] = true
		if value == "" && key != "output_fields" && grantKnownKey(key) {
			return fail("empty %s", key)
		}
		var reason string
		switch key {
		case "ids":
			g.IDs, reason = grantList(value, "id", false)
		case "type":
			g.Type = strings.ToLower(value)
		case "actions":
			g.Actions, reason = grantList(strings.ToLower(value), "action", true)
		case "output_fields":
			g.OutputFields, reason = grantList(value, "output field", false)
			if g.OutputFields == nil {
				g.OutputFields = []string{}
			}
		default:
			hint := "the keys are ids, type, actions and output_fields"
			if k, ok := aclClosest(key, []string{"ids", "type", "actions", "output_fields"}); ok {
				hint = fmt.Sprintf("did you mean %q?", k)
			}
			return fail("unknown key %q (%s)", key, hint)
		}
		if reason != "" {
			return fail("%s", reason)
		}
	}
	if reason := g.validate(); reason != "" {
		return fail("%s", reason)
	}
	slices.Sort(g.Actions)
	return g, nil
}

func grantKnownKey(k string) bool {
	return k == "ids" || k == "type" || k == "actions" || k == "output_fields"
}

// grantList splits a comma list, refusing empty and (when unique) repeated
// elements. It returns nil for an empty value.
func grantList(value, what string, unique bool) ([]string, string) {
	if value == "" {
		return nil, ""
	}
	var out []string
	for _, v := range strings.Split(value, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			return nil, fmt.Sprintf("empty %s in %q", what, value)
		}
		if unique && slices.Contains(out, v) {
			return nil, fmt.Sprintf("duplicate %s %q", what, v)
		}
		out = append(out, v)
	}
	return out, ""
}

// grantTemplate returns the canonical template and its resource type for a
// "{{...}}" id, accepting Boundary's spellings.
func grantTemplate(id string) (canonical, resourceType string, ok bool) {
	inner := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(id, "{{"), "}}"))
	switch inner {
	case ".User.Id", "user.id":
		return GrantTemplateUserID, "user", true
	case ".Account.Id", "account.id":
		return GrantTemplateAccountID, "account", true
	}
	return "", "", false
}

// grantIDType returns the resource type of the ids of a specific-id grant.
func grantIDType(id string) string {
	if strings.HasPrefix(id, "{{") {
		_, t, _ := grantTemplate(id)
		return t
	}
	t, _ := ResourceTypeOfID(id)
	return t
}

// validate checks the grant's form and returns a reason when it is invalid.
// It canonicalizes template ids in place.
func (g *Grant) validate() string {
	if g.Type != "" && g.Type != "*" {
		if _, ok := aclTypes[g.Type]; !ok {
			if t, ok := aclClosest(g.Type, aclAllTypes()); ok {
				return fmt.Sprintf("type %q is not a resource type (did you mean %q?)", g.Type, t)
			}
			return fmt.Sprintf("type %q is not a resource type", g.Type)
		}
	}
	if len(g.Actions) == 0 {
		return `missing actions (add "actions=<action,...>")`
	}
	if len(g.Actions) > 1 && slices.Contains(g.Actions, "*") {
		return `actions=* already allows every action; remove the others`
	}
	switch {
	case len(g.IDs) == 0:
		return g.validateTypeOnly()
	case slices.Contains(g.IDs, "*"):
		if len(g.IDs) > 1 {
			return "ids=* cannot be combined with other ids"
		}
		if g.Type == "" {
			return "ids=* needs a type (add type=<type>, or type=* for every type)"
		}
		if g.Type == "*" {
			return grantCheckActions(g.Actions, aclAllTypes(), "any type")
		}
		return grantCheckActions(g.Actions, []string{g.Type}, "type "+g.Type)
	}
	return g.validateIDs()
}

func (g *Grant) validateTypeOnly() string {
	switch {
	case g.Type == "":
		return `a grant needs ids or a type (e.g. "ids=*;type=target;actions=read")`
	case g.Type == "*":
		return fmt.Sprintf(`type=* needs ids; use "ids=*;type=*;actions=%s"`, strings.Join(g.Actions, ","))
	}
	if parent, ok := aclParentType[g.Type]; ok {
		return fmt.Sprintf(`type %s is a child type of %s and needs ids: use "ids=<%s id>;type=%s;actions=%s" or "ids=*;type=%s;actions=%s"`,
			g.Type, parent, parent, g.Type, strings.Join(g.Actions, ","), g.Type, strings.Join(g.Actions, ","))
	}
	if reason := grantCheckActions(g.Actions, []string{g.Type}, "type "+g.Type); reason != "" {
		return reason
	}
	for _, a := range g.Actions {
		if !IsCollectionAction(a) && a != "no-op" {
			return fmt.Sprintf(`type=%s without ids allows only collection actions (list, create, no-op) and reveals no item; for %q use "ids=*;type=%s;actions=%s" or name the ids`,
				g.Type, a, g.Type, a)
		}
	}
	return ""
}

func (g *Grant) validateIDs() string {
	idType := ""
	for i, id := range g.IDs {
		t := ""
		if strings.HasPrefix(id, "{{") {
			canonical, tt, ok := grantTemplate(id)
			if !ok {
				return fmt.Sprintf("unknown template %q (use %s or %s)", id, GrantTemplateUserID, GrantTemplateAccountID)
			}
			g.IDs[i], t = canonical, tt
		} else if tt, ok := ResourceTypeOfID(id); ok {
			t = tt
		} else {
			return fmt.Sprintf("id %q does not start with a known resource prefix (such as ttcp_, hc_, u_)", id)
		}
		if slices.Contains(g.IDs[:i], g.IDs[i]) {
			return fmt.Sprintf("duplicate id %q", g.IDs[i])
		}
		if idType != "" && t != idType {
			return fmt.Sprintf("ids %q (%s) and %q (%s) are of different types; use one grant per type", g.IDs[0], idType, id, t)
		}
		idType = t
	}
	acts := strings.Join(g.Actions, ",")
	switch {
	case g.Type == "":
		for _, a := range g.Actions {
			if !IsCollectionAction(a) {
				continue
			}
			if parent, ok := aclParentType[idType]; ok {
				return fmt.Sprintf(`%q is a collection action and cannot be granted on specific ids; use "ids=<%s id>;type=%s;actions=%s" or "ids=*;type=%s;actions=%s"`,
					a, parent, idType, a, idType, a)
			}
			return fmt.Sprintf(`%q is a collection action and cannot be granted on specific ids; use "type=%s;actions=%s" or "ids=*;type=%s;actions=%s"`,
				a, idType, a, idType, a)
		}
		return grantCheckActions(g.Actions, []string{idType}, "type "+idType)
	case g.Type == "*":
		children := aclChildTypes(idType)
		if len(children) == 0 {
			return fmt.Sprintf("type=* with specific ids needs ids of a type that has child types (auth-method, credential-store, host-catalog); %s has none", idType)
		}
		return grantCheckActions(g.Actions, children, "any child type of "+idType)
	case g.Type == idType:
		return fmt.Sprintf(`type=%s names the type of the ids themselves; drop it: "ids=%s;actions=%s"`, g.Type, strings.Join(g.IDs, ","), acts)
	case aclParentType[g.Type] != idType:
		if parent, ok := aclParentType[g.Type]; ok {
			return fmt.Sprintf("type %s is a child type of %s, but the ids are %s ids; name %s ids or use ids=*", g.Type, parent, idType, parent)
		}
		return fmt.Sprintf(`type %s is not a child type of %s (the type of %q); drop type or use "ids=*;type=%s;actions=%s"`, g.Type, idType, g.IDs[0], g.Type, acts)
	}
	return grantCheckActions(g.Actions, []string{g.Type}, "type "+g.Type)
}

// grantCheckActions returns a reason when an action is valid for none of
// types; what names the types in the message.
func grantCheckActions(actions, types []string, what string) string {
	for _, a := range actions {
		if a == "*" {
			continue
		}
		valid := false
		var all []string
		for _, t := range types {
			valid = valid || aclTypeHas(t, a)
			for _, v := range ValidActions(t) {
				if !slices.Contains(all, v) {
					all = append(all, v)
				}
			}
		}
		if valid {
			continue
		}
		known := false
		for _, t := range aclAllTypes() {
			known = known || aclTypeHas(t, a)
		}
		if known {
			return fmt.Sprintf("action %q is not valid for %s (valid: %s)", a, what, strings.Join(all, ", "))
		}
		if c, ok := aclClosest(a, all); ok {
			return fmt.Sprintf("unknown action %q for %s (did you mean %q?)", a, what, c)
		}
		return fmt.Sprintf("unknown action %q for %s (valid: %s)", a, what, strings.Join(all, ", "))
	}
	return ""
}
