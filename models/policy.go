package models

import (
	"context"
	"errors"
	"fmt"
)

// Actor is who is calling a use case: the user behind a login, or nobody.
type Actor struct {
	UserID    string
	LoginID   string
	AccountID string
	// Name is the user's display name, for the page header.
	Name string
	// Admin is the foundation's stand-in for roles: admins may do everything,
	// others only what concerns themselves. Replaced by grants in a later step.
	Admin bool
}

// Anonymous is the actor of requests without a login.
var Anonymous = Actor{}

// Authenticated reports whether the actor has a login.
func (a Actor) Authenticated() bool { return a.UserID != "" }

// Action is something an actor does to a resource.
type Action string

// Actions known to the policy.
const (
	ActionList   Action = "list"
	ActionCreate Action = "create"
	ActionRead   Action = "read"
	ActionUpdate Action = "update"
	ActionDelete Action = "delete"
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
// res. It returns ErrUnauthenticated for anonymous actors, ErrNotFound when
// the actor may not even see the item (so guessing ids reveals nothing), and
// ErrForbidden when it may see but not do.
func (s *Store) authorize(ctx context.Context, a Actor, action Action, res Resource) error {
	_ = ctx
	if !a.Authenticated() {
		return ErrUnauthenticated
	}
	if a.Admin {
		return nil
	}
	if res.OwnerUserID != "" && res.OwnerUserID == a.UserID && action == ActionRead {
		return nil
	}
	if res.ID != "" && !s.mayRead(a, res) {
		return fmt.Errorf("%s %s: %w", res.Type, res.ID, ErrNotFound)
	}
	return fmt.Errorf("%s %s on %s: %w", a.UserID, action, res.Type, ErrForbidden)
}

func (s *Store) mayRead(a Actor, res Resource) bool {
	return a.Admin || (res.OwnerUserID != "" && res.OwnerUserID == a.UserID)
}

// Allowed reports which of the candidate actions the actor may do on res;
// the UI uses it to show only usable buttons.
func (s *Store) Allowed(ctx context.Context, a Actor, res Resource, candidates ...Action) map[Action]bool {
	out := make(map[Action]bool, len(candidates))
	for _, c := range candidates {
		out[c] = s.authorize(ctx, a, c, res) == nil
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
// as hosts) and its owner (sessions). Empty names are not used.
type ListColumns struct {
	Scope, ID, Parent, Owner string
}

// listCondition returns a SQL condition (with its arguments) that keeps only
// the rows of resourceType the actor may do action on, so that lists are
// filtered in the database and never after loading everything.
func (s *Store) listCondition(ctx context.Context, a Actor, resourceType string, action Action, cols ListColumns) (string, []any, error) {
	_ = ctx
	if !a.Authenticated() {
		return "", nil, ErrUnauthenticated
	}
	if a.Admin {
		return "1=1", nil, nil
	}
	return "1=0", nil, nil
}
