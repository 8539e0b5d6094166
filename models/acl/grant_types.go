package acl

import (
	"slices"
	"sort"
	"strings"
)

// aclTypeSpec lists what a resource type accepts in grants: the actions on
// one item and the actions on the collection (list, create).
type aclTypeSpec struct {
	item       []string
	collection []string
}

var (
	aclBasicItem = []string{"no-op", "read", "update", "delete"}
	aclListOnly  = []string{"list"}
	aclListNew   = []string{"list", "create"}
)

func aclWith(extra ...string) []string {
	return append(slices.Clone(aclBasicItem), extra...)
}

// aclTypes is the table of resource types and their valid actions. It follows
// Boundary's per-service IdActions and CollectionActions for the resources in
// the domain.
var aclTypes = map[string]aclTypeSpec{
	"scope":              {aclBasicItem, aclListNew},
	"user":               {aclWith("add-accounts", "set-accounts", "remove-accounts"), aclListNew},
	"group":              {aclWith("add-members", "set-members", "remove-members"), aclListNew},
	"role":               {aclWith("add-principals", "set-principals", "remove-principals", "add-grants", "set-grants", "remove-grants"), aclListNew},
	"auth-method":        {aclWith("change-state", "authenticate"), aclListNew},
	"account":            {aclWith("set-password", "change-password"), aclListNew},
	"managed-group":      {aclBasicItem, aclListNew},
	"host-catalog":       {aclBasicItem, aclListNew},
	"host":               {aclBasicItem, aclListNew},
	"host-set":           {aclWith("add-hosts", "set-hosts", "remove-hosts"), aclListNew},
	"target":             {aclWith("add-host-sources", "set-host-sources", "remove-host-sources", "add-credential-sources", "set-credential-sources", "remove-credential-sources", "authorize-session", "request-access", "approve-access"), aclListNew},
	"credential-store":   {aclBasicItem, aclListNew},
	"credential-library": {aclBasicItem, aclListNew},
	"credential":         {aclBasicItem, aclListNew},
	"session":            {[]string{"no-op", "read", "read:self", "cancel", "cancel:self", "read-history"}, aclListOnly},
	"auth-token":         {[]string{"no-op", "read", "read:self", "delete", "delete:self"}, aclListOnly},
	"event":              {[]string{"no-op", "read"}, aclListOnly},
	"webhook":            {aclBasicItem, aclListNew},
}

// aclParentType maps each child type to the type of the item it lives under.
var aclParentType = map[string]string{
	"account":            "auth-method",
	"managed-group":      "auth-method",
	"host":               "host-catalog",
	"host-set":           "host-catalog",
	"credential":         "credential-store",
	"credential-library": "credential-store",
}

// aclIDPrefixes maps the part of an id before its first "_" to the id's
// resource type. It holds Boundary's prefixes and a short form per type.
var aclIDPrefixes = map[string]string{
	"o": "scope", "p": "scope",
	"u": "user", "g": "group", "r": "role",
	"am": "auth-method", "ampw": "auth-method", "amoidc": "auth-method",
	"acct": "account", "acctpw": "account", "acctoidc": "account",
	"mg": "managed-group", "mgoidc": "managed-group",
	"hc": "host-catalog", "hcst": "host-catalog",
	"h": "host", "hst": "host",
	"hs": "host-set", "hsst": "host-set",
	"t": "target", "ttcp": "target",
	"cs": "credential-store", "csst": "credential-store", "csvlt": "credential-store",
	"cl": "credential-library", "clvlt": "credential-library", "clpg": "credential-library", "clssh": "credential-library",
	"cred": "credential", "credup": "credential", "credspk": "credential", "credjson": "credential",
	"s":  "session",
	"at": "auth-token",
	"ev": "event", "wh": "webhook",
}

// ResourceTypeOfID returns the resource type an id denotes by its prefix (the
// part before the first "_", e.g. "ttcp_1" is a target, "hc_1" a
// host-catalog; "global", "o_…" and "p_…" are scopes). ok is false when the
// prefix is unknown. Grants naming ids rely on this table.
func ResourceTypeOfID(id string) (resourceType string, ok bool) {
	if id == "global" {
		return "scope", true
	}
	prefix, rest, found := strings.Cut(id, "_")
	if !found || rest == "" {
		return "", false
	}
	t, ok := aclIDPrefixes[prefix]
	return t, ok
}

// ValidActions returns the actions a grant may name for resourceType: the
// item actions then the collection actions, without "*". It returns nil for
// a string that is not a resource type.
func ValidActions(resourceType string) []string {
	spec, ok := aclTypes[resourceType]
	if !ok {
		return nil
	}
	return append(slices.Clone(spec.item), spec.collection...)
}

// IsCollectionAction reports whether act operates on a collection (list,
// create) rather than on one item.
func IsCollectionAction(act string) bool {
	return act == "list" || act == "create"
}

// aclTypeHas reports whether act is valid for resource type t.
func aclTypeHas(t, act string) bool {
	spec, ok := aclTypes[t]
	return ok && (slices.Contains(spec.item, act) || slices.Contains(spec.collection, act))
}

// aclChildTypes returns the sorted child types of parent.
func aclChildTypes(parent string) []string {
	var out []string
	for child, p := range aclParentType {
		if p == parent {
			out = append(out, child)
		}
	}
	sort.Strings(out)
	return out
}

// aclAllTypes returns every resource type, sorted.
func aclAllTypes() []string {
	out := make([]string, 0, len(aclTypes))
	for t := range aclTypes {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// aclClosest returns the candidate nearest to s by edit distance when it is
// at most 2 edits away, for "did you mean" hints.
func aclClosest(s string, candidates []string) (string, bool) {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := aclEditDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best, best != ""
}

func aclEditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// ParentType returns the type of the item a child resource type lives under
// (host-catalog for host); ok is false for types that live in a scope.
func ParentType(resourceType string) (parent string, ok bool) {
	parent, ok = aclParentType[resourceType]
	return parent, ok
}
