package models

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"gatehouse/models/acl"
)

// Actor is who is calling a use case: the user behind a login, or nobody.
// An Actor value is one request's view of its caller: the roles it holds
// are loaded once, on first use, and kept with the value (LoginByToken
// returns a fresh one per request), so a change to roles, groups or
// memberships takes effect on the caller's next request. Actor literals
// built without LoginByToken work too; they load their roles at every check.
type Actor struct {
	UserID    string
	LoginID   string
	AccountID string
	// Name is the user's display name, for the page header.
	Name string
	// Can holds what the navigation offers, computed from the actor's roles
	// by LoginByToken (zero for other actors).
	Can Capabilities

	acl *actorACL
}

// actorACL caches an actor's ACL for the life of one Actor value.
type actorACL struct {
	mu  sync.Mutex
	acl *acl.ACL
}

// Anonymous is the actor of requests without a login.
var Anonymous = Actor{}

// Authenticated reports whether the actor has a login.
func (a Actor) Authenticated() bool { return a.UserID != "" }

// Action is something an actor does to a resource.
type Action string

// Actions known to the policy. Any action of ValidActions may be used as
// Action(name); these are the common ones.
const (
	ActionList   Action = "list"
	ActionCreate Action = "create"
	ActionRead   Action = "read"
	ActionUpdate Action = "update"
	ActionDelete Action = "delete"
	// ActionNoOp is "any action on the item": what a list may show.
	ActionNoOp Action = "no-op"
)

// Actions on infrastructure resources (grant_types.go lists them per type).
const (
	// ActionAuthorizeSession lets an actor start a session on a target; My
	// targets lists the targets an actor has it on.
	ActionAuthorizeSession        Action = "authorize-session"
	ActionAddHosts                Action = "add-hosts"
	ActionRemoveHosts             Action = "remove-hosts"
	ActionAddHostSources          Action = "add-host-sources"
	ActionRemoveHostSources       Action = "remove-host-sources"
	ActionAddCredentialSources    Action = "add-credential-sources"
	ActionRemoveCredentialSources Action = "remove-credential-sources"
)

// authorize is the one place that decides whether actor may do action on
// res, by the actor's roles (see ACL.Allowed). It returns
// ErrUnauthenticated for anonymous actors whom no u_anon grant allows it,
// ErrNotFound when the actor may not even see the item (no action at all on
// it, so guessing ids reveals nothing), and ErrForbidden when it may see but
// not do.
func (s *Store) authorize(ctx context.Context, a Actor, action Action, res acl.Resource) error {
	access, err := s.aclForResource(ctx, a, res)
	if err != nil {
		return err
	}
	if access.Allowed(res, string(action)).Allowed {
		return nil
	}
	if !a.Authenticated() {
		return ErrUnauthenticated
	}
	if res.ID != "" && (action == ActionNoOp || !access.Allowed(res, string(ActionNoOp)).Allowed) {
		return fmt.Errorf("%s %s: %w", res.Type, res.ID, ErrNotFound)
	}
	return fmt.Errorf("%s %s on %s: %w", a.UserID, action, res.Type, ErrForbidden)
}

// Allowed reports which of the candidate actions the actor may do on res;
// the UI uses it to show only usable buttons. Errors loading the roles
// count as "not allowed".
func (s *Store) Allowed(ctx context.Context, a Actor, res acl.Resource, candidates ...Action) map[Action]bool {
	out := make(map[Action]bool, len(candidates))
	access, err := s.aclForResource(ctx, a, res)
	if err != nil {
		return out
	}
	for _, c := range candidates {
		out[c] = access.Allowed(res, string(c)).Allowed
	}
	return out
}

// notFoundIfHidden turns a forbidden read into not-found.
func notFoundIfHidden(err error) error {
	if errors.Is(err, ErrForbidden) {
		return fmt.Errorf("%v: %w", err, ErrNotFound)
	}
	return err
}

// ListColumns names the columns of a listed table that the policy filters
// on: the scope holding each row, its id, its parent item (child types such
// as hosts) and its owner user (sessions). Empty names are not used: the
// matching kind of grant then allows no row.
type ListColumns struct {
	Scope, ID, Parent, Owner string
}
