package models

import (
	"gatehouse/models/acl"

	"context"
	"fmt"
	"net/netip"
	"strings"

	"gorm.io/gorm"
)

// Helpers shared by the infrastructure resources (host catalogs, hosts, host
// sets, targets, credential stores, credentials).

// beforeInfraDelete is THE HOOK where issue 5 cancels the sessions that use a
// resource being deleted (host, host set, host catalog, target, credential,
// credential store). It runs inside the deleting transaction, before the row
// goes, with the resource that is about to be deleted; an error rolls the
// deletion back. The sessions' records are kept (session_cancel.go).
func (s *Store) beforeInfraDelete(ctx context.Context, res acl.Resource) error {
	_, err := s.CancelSessionsOf(ctx, res)
	return err
}

// beforeSourceRemoval is THE HOOK where issue 5 cancels the sessions of a
// target that used a source being removed from it (a host set, a credential)
// or a host leaving a host set. It runs inside the removing transaction.
// parent is the target (or host set) losing the item, item what it loses.
func (s *Store) beforeSourceRemoval(ctx context.Context, parent, item acl.Resource) error {
	_, err := s.CancelSessionsOfRemoval(ctx, parent, item)
	return err
}

// address checks a host name or IP address (no port, no scheme).
func (v validator) address(field, label, value string, required bool) string {
	value = v.text(field, label, value, required, 253)
	if value == "" || v[field] != "" {
		return value
	}
	if ip, err := netip.ParseAddr(value); err == nil {
		if ip.Zone() != "" {
			v.add(field, label+" must not have a zone.")
		}
		return ip.String()
	}
	if strings.HasPrefix(value, "[") || strings.Count(value, ":") == 1 || strings.Contains(value, "://") {
		v.add(field, label+" must be a host name or IP address, without a scheme or port.")
		return value
	}
	if !validHostname(value) {
		v.add(field, label+" must be a host name (like db.example.com) or an IP address.")
	}
	return strings.ToLower(value)
}

// validHostname reports an RFC 1123 host name whose last label is not all
// digits (so "999.1.1.1" is neither an IP nor a name).
func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}

// updateVersioned applies updates to the row id of model's table when its
// version is still version, bumping version and updated_at. A unique
// violation becomes a "name" field error with dupMsg; a stale version
// ErrConflict.
func (s *Store) updateVersioned(ctx context.Context, model any, what, id string, version int, updates map[string]any, dupMsg string) error {
	updates["updated_at"] = s.now()
	updates["version"] = gorm.Expr("version + 1")
	res := s.q(ctx).Model(model).Where("id = ? AND version = ?", id, version).Updates(updates)
	if res.Error != nil {
		if isUniqueViolation(res.Error) {
			return Invalid("name", dupMsg)
		}
		return fmt.Errorf("update %s %s: %w", what, id, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("update %s %s: changed by someone else since you opened it: %w", what, id, ErrConflict)
	}
	return nil
}

// deleteInfra runs the deletion hook and deletes the row id of model's table.
func (s *Store) deleteInfra(ctx context.Context, model any, res acl.Resource) error {
	if err := s.beforeInfraDelete(ctx, res); err != nil {
		return err
	}
	r := s.q(ctx).Where("id = ?", res.ID).Delete(model)
	if r.Error != nil {
		return fmt.Errorf("delete %s %s: %w", res.Type, res.ID, r.Error)
	}
	if r.RowsAffected == 0 {
		return fmt.Errorf("delete %s %s: %w", res.Type, res.ID, ErrNotFound)
	}
	return nil
}

// projectCollection loads the project where the actor asks a collection
// action (list, create) on a project-level infrastructure type (target,
// host-catalog, credential-store) and checks it. The project must be
// visible for that type: the actor may read the project, or holds a grant
// in it that reveals items of the type (ids=…, any item action); a
// type-only grant reveals nothing, so the default project role
// (type=target;actions=list, held by every logged-in user) leaves other
// projects ErrNotFound, while a project-level admin needs no grant in the
// org. Then the action: nil, or ErrForbidden. Unknown scopes are
// ErrNotFound, anonymous callers ErrUnauthenticated.
func (s *Store) projectCollection(ctx context.Context, a Actor, projectID, resourceType string, action Action) (*Scope, error) {
	sc, err := first[Scope](s.q(ctx), "scope", projectID)
	if err != nil {
		return nil, err
	}
	access, err := s.aclFor(ctx, a)
	if err != nil {
		return nil, err
	}
	if err := s.ensureScopes(ctx, sc.ID); err != nil {
		return nil, err
	}
	if !access.Allowed(scopeResource(sc), string(ActionRead)).Allowed && access.ListFilter(resourceType, string(ActionNoOp), []string{sc.ID}).Empty() {
		if !a.Authenticated() {
			return nil, ErrUnauthenticated
		}
		return nil, fmt.Errorf("scope %s: %w", projectID, ErrNotFound)
	}
	if err := s.authorize(ctx, a, action, acl.Resource{Type: resourceType, ScopeID: sc.ID}); err != nil {
		return nil, err
	}
	return sc, nil
}

// projectForInfra loads the project scope that will hold a new
// infrastructure resource of resourceType and checks that the actor may
// create it there (projectCollection); other scope types are refused on
// field "scope".
func (s *Store) projectForInfra(ctx context.Context, a Actor, scopeID, resourceType string) (*Scope, error) {
	sc, err := s.projectCollection(ctx, a, scopeID, resourceType, ActionCreate)
	if err != nil {
		return nil, err
	}
	if sc.Type != ScopeProject {
		return nil, Invalid("scope", "Infrastructure lives in projects.")
	}
	return sc, nil
}

// uniqueIDs trims ids and drops empty and repeated ones, keeping the order.
func uniqueIDs(ids []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// searchNameDesc adds a name/description search on alias's columns.
func (s *Store) searchNameDesc(q *gorm.DB, alias, search string, more ...string) *gorm.DB {
	if search == "" {
		return q
	}
	cols := append([]string{alias + ".name", alias + ".description"}, more...)
	conds := make([]string, len(cols))
	args := make([]any, len(cols))
	for i, c := range cols {
		conds[i] = s.ilike(c)
		args[i] = likePattern(search)
	}
	return q.Where("("+strings.Join(conds, " OR ")+")", args...)
}

// AuthorizeCreate checks, for the "New …" form of a project-level resource
// type (target, host-catalog, credential-store), what creating one in
// scopeID checks (see projectCollection): nil when allowed, else
// ErrNotFound, ErrForbidden or ErrUnauthenticated.
func (s *Store) AuthorizeCreate(ctx context.Context, a Actor, resourceType, scopeID string) error {
	_, err := s.projectCollection(ctx, a, scopeID, resourceType, ActionCreate)
	return err
}

// MayCreate reports whether the actor may create resources of resourceType
// in scopeID (under parentID for child types such as hosts); pages use it to
// show "New …" buttons only to those who may use them.
func (s *Store) MayCreate(ctx context.Context, a Actor, resourceType, scopeID, parentID string) bool {
	return s.authorize(ctx, a, ActionCreate, acl.Resource{Type: resourceType, ScopeID: scopeID, ParentID: parentID}) == nil
}

// Filters of the child lists, shared by the lists and by every count of
// their items shown elsewhere (catalog and store pages and lists, host set
// members, target sources), so that a count never tells more than its list.
var (
	hostColumns       = ListColumns{Scope: "h.scope_id", ID: "h.id", Parent: "h.catalog_id"}
	hostSetColumns    = ListColumns{Scope: "hs.scope_id", ID: "hs.id", Parent: "hs.catalog_id"}
	credentialColumns = ListColumns{Scope: "cr.scope_id", ID: "cr.id", Parent: "cr.store_id"}
)

// visibleCount returns a correlated subquery counting the rows of "table
// AS alias" that match link (e.g. "h.catalog_id = c.id") and that the
// actor may read, filtered as their list is (listCondition with read), to
// be used in a Select with its arguments.
func (s *Store) visibleCount(ctx context.Context, a Actor, resourceType, table, alias string, cols ListColumns, link string) (string, []any, error) {
	cond, args, err := s.listCondition(ctx, a, resourceType, ActionRead, cols)
	if err != nil {
		return "", nil, err
	}
	return "(SELECT count(*) FROM " + table + " AS " + alias + " WHERE " + link + " AND " + cond + ")", args, nil
}

// ProjectSections tells which tabs of a project's pages the actor may open:
// Overview (read on the project) and the lists of its targets, host
// catalogs and credential stores (the checks of ListTargets,
// ListHostCatalogs and ListCredentialStores). Pages show only these tabs.
type ProjectSections struct {
	Overview, Targets, HostCatalogs, CredentialStores bool
}

// ProjectSections computes the tabs the actor may open in projectID (none
// for unknown ids).
func (s *Store) ProjectSections(ctx context.Context, a Actor, projectID string) ProjectSections {
	may := func(typ string) bool {
		_, err := s.projectCollection(ctx, a, projectID, typ, ActionList)
		return err == nil
	}
	_, err := s.readScope(ctx, a, projectID)
	return ProjectSections{Overview: err == nil, Targets: may("target"), HostCatalogs: may("host-catalog"), CredentialStores: may("credential-store")}
}

// seeItem loads the row id of an infrastructure table for a change
// (update, delete, members, sources) and checks only that the actor may see
// it (any action on it: no-op), as Boundary does: the use case then checks
// its own action. ErrNotFound for unknown or invisible ids.
func seeItem[T any](ctx context.Context, s *Store, a Actor, what, id string, res func(*T) acl.Resource) (*T, error) {
	row, err := first[T](s.q(ctx), what, id)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, a, ActionNoOp, res(row)); err != nil {
		return nil, notFoundIfHidden(err)
	}
	return row, nil
}
