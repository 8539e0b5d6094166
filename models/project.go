package models

import (
	"context"
	"fmt"

	"gatehouse/models/acl"
)

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
