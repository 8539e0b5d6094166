package models

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"gatehouse/models/acl"
)

// resourceResolvers find an item's scope, parent, owner and name from its id,
// per resource type, for the explain page. Each query takes the id and
// returns the columns scope_id, parent_id, owner_id and name (empty strings
// where they do not apply). Add a line here when a new type gets a table.
var resourceResolvers = map[string]string{
	"scope":              "SELECT coalesce(parent_id, 'global') AS scope_id, '' AS parent_id, '' AS owner_id, name FROM scopes WHERE id = ?",
	"user":               "SELECT scope_id, '' AS parent_id, id AS owner_id, name FROM users WHERE id = ?",
	"group":              "SELECT scope_id, '' AS parent_id, '' AS owner_id, name FROM groups WHERE id = ?",
	"role":               "SELECT scope_id, '' AS parent_id, '' AS owner_id, name FROM roles WHERE id = ?",
	"auth-method":        "SELECT scope_id, '' AS parent_id, '' AS owner_id, name FROM auth_methods WHERE id = ?",
	"account":            "SELECT m.scope_id, a.auth_method_id AS parent_id, a.user_id AS owner_id, coalesce(a.login_name, a.email) AS name FROM accounts a JOIN auth_methods m ON m.id = a.auth_method_id WHERE a.id = ?",
	"managed-group":      "SELECT m.scope_id, g.auth_method_id AS parent_id, '' AS owner_id, g.name FROM managed_groups g JOIN auth_methods m ON m.id = g.auth_method_id WHERE g.id = ?",
	"host-catalog":       "SELECT scope_id, '' AS parent_id, '' AS owner_id, name FROM host_catalogs WHERE id = ?",
	"host":               "SELECT scope_id, catalog_id AS parent_id, '' AS owner_id, name FROM hosts WHERE id = ?",
	"host-set":           "SELECT scope_id, catalog_id AS parent_id, '' AS owner_id, name FROM host_sets WHERE id = ?",
	"target":             "SELECT scope_id, '' AS parent_id, '' AS owner_id, name FROM targets WHERE id = ?",
	"credential-store":   "SELECT scope_id, '' AS parent_id, '' AS owner_id, name FROM credential_stores WHERE id = ?",
	"credential-library": "SELECT scope_id, store_id AS parent_id, '' AS owner_id, name FROM credential_libraries WHERE id = ?",
	"credential":         "SELECT scope_id, store_id AS parent_id, '' AS owner_id, name FROM credentials WHERE id = ?",
}

// resolveResource returns the Resource an id denotes and its name, with no
// authorization. ErrNotFound for an unknown id or a type without resolver.
func (s *Store) resolveResource(ctx context.Context, id string) (acl.Resource, string, error) {
	typ, ok := acl.ResourceTypeOfID(id)
	q, known := resourceResolvers[typ]
	if !ok || !known {
		return acl.Resource{}, "", fmt.Errorf("resource %q: %w", id, ErrNotFound)
	}
	var row struct{ ScopeID, ParentID, OwnerID, Name string }
	if err := s.q(ctx).Raw(q, id).Scan(&row).Error; err != nil {
		return acl.Resource{}, "", fmt.Errorf("resolve %s: %w", id, err)
	}
	if row.ScopeID == "" {
		return acl.Resource{}, "", fmt.Errorf("resource %q: %w", id, ErrNotFound)
	}
	return acl.Resource{Type: typ, ID: id, ScopeID: row.ScopeID, ParentID: row.ParentID, OwnerUserID: row.OwnerID}, row.Name, nil
}

// AccessExplanation answers "why can't I?": for one user and one resource,
// each action valid for the resource's type, whether the user may do it,
// through which grants, or what grant would allow it. Collection actions
// (list, create) are asked on the resource's collection in its scope.
type AccessExplanation struct {
	UserID       string
	UserName     string
	Resource     acl.Resource
	ResourceName string
	// ScopeName names the resource's scope.
	ScopeName string
	Actions   []acl.ActionExplanation
	// Helpers, when an action is refused, name who can give access in the
	// resource's scope (AccessHelpers: only users the actor may read).
	Helpers []Helper
}

// ExplainAccess explains userID's access to the resource with resourceID
// (userID "" means the actor). Anyone may ask about themselves; asking about
// another user takes read on that user, and explains it as logged in with
// the account it used last (for {{.Account.Id}} templates). The actor must
// have some action on the resource itself, so the page reveals nothing the
// actor cannot see. Errors: ErrUnauthenticated; ErrNotFound, carrying a
// *ValidationError on "user" or "resource", for one unknown or invisible
// (the same message either way, or a type the explain page cannot resolve
// yet).
func (s *Store) ExplainAccess(ctx context.Context, a Actor, userID, resourceID string) (*AccessExplanation, error) {
	if !a.Authenticated() {
		return nil, ErrUnauthenticated
	}
	if userID == "" {
		userID = a.UserID
	}
	u, err := s.readUser(ctx, a, userID)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", Invalid("user", "There is no user with this id that you can see."), ErrNotFound)
	} else if err != nil {
		return nil, err
	}
	hidden := fmt.Errorf("%w: %w", Invalid("resource", "There is nothing with this id that you can see, so Gatehouse cannot explain it: "+
		"ask an administrator to explain it for you."), ErrNotFound)
	res, name, err := s.resolveResource(ctx, resourceID)
	if errors.Is(err, ErrNotFound) {
		return nil, hidden
	} else if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, a, ActionNoOp, res); err != nil {
		return nil, hidden
	}
	subject := a
	if userID != a.UserID {
		subject = Actor{UserID: userID}
		var acct []string
		if err := s.q(ctx).Raw(`SELECT a.id FROM accounts a LEFT JOIN logins l ON l.account_id = a.id
			WHERE a.user_id = ? GROUP BY a.id, a.created_at ORDER BY max(l.created_at) IS NULL, max(l.created_at) DESC, a.created_at LIMIT 1`,
			userID).Scan(&acct).Error; err != nil {
			return nil, fmt.Errorf("account of %s: %w", userID, err)
		}
		if len(acct) == 1 {
			subject.AccountID = acct[0]
		}
	}
	access, err := s.aclFor(ctx, subject)
	if err != nil {
		return nil, err
	}
	var item, coll []string
	for _, act := range acl.ValidActions(res.Type) {
		if acl.IsCollectionAction(act) {
			coll = append(coll, act)
		} else if act != string(ActionNoOp) {
			item = append(item, act)
		}
	}
	out := &AccessExplanation{UserID: u.ID, UserName: u.DisplayName(), Resource: res, ResourceName: name}
	if err := s.q(ctx).Raw("SELECT name FROM scopes WHERE id = ?", res.ScopeID).Scan(&out.ScopeName).Error; err != nil {
		return nil, fmt.Errorf("scope of %s: %w", res.ID, err)
	}
	out.Actions = access.Explain(res, item)
	collection := acl.Resource{Type: res.Type, ScopeID: res.ScopeID, ParentID: res.ParentID}
	out.Actions = append(out.Actions, access.Explain(collection, coll)...)
	if slices.ContainsFunc(out.Actions, func(e acl.ActionExplanation) bool { return !e.Allowed }) {
		if out.Helpers, err = s.AccessHelpers(ctx, a, res.ScopeID); err != nil {
			return nil, err
		}
	}
	return out, nil
}
