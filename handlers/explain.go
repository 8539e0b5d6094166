package handlers

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"gatehouse/models"
	"gatehouse/models/acl"
	"gatehouse/views"
)

// ExplainStore is what the "Why can't I?" page needs from the domain.
type ExplainStore interface {
	ExplainAccess(ctx context.Context, a models.Actor, userID, resourceID string) (*models.AccessExplanation, error)
	ListUsers(ctx context.Context, a models.Actor, scopeID string, opt models.ListOptions) (models.Page[models.UserItem], error)
	// CountStartableTargets counts the targets the caller may start sessions on.
	CountStartableTargets(ctx context.Context, a models.Actor) (int64, error)
	FindByName(ctx context.Context, a models.Actor, name string) ([]models.NamedResource, error)
	AccessHelpers(ctx context.Context, a models.Actor, scopeID string) ([]models.Helper, error)
}

// Explain serves the "Why can't I?" page.
type Explain struct {
	Base
	Store ExplainStore
}

// Show renders the question form and, when a resource is given, the answer
// (GET /explain?user=&resource=). user defaults to the caller; asking about
// someone else takes read on that user, named by id, name or login name.
// The resource is an id or a name (any case): several things named so are
// offered as choices. An unknown or invisible user or resource gets its
// message next to the field. Who can help is named from what the caller
// may see (models.AccessHelpers).
func (h Explain) Show(w http.ResponseWriter, r *http.Request) error {
	ctx, a, q := r.Context(), ActorFrom(r.Context()), r.URL.Query()
	f := views.Form{Values: map[string]string{"user": strings.TrimSpace(q.Get("user")), "resource": strings.TrimSpace(q.Get("resource"))},
		Errors: map[string]string{}}
	userID := f.V("user")
	if t, _ := acl.ResourceTypeOfID(userID); userID != "" && t != "user" {
		id, msg, err := h.userByName(ctx, a, userID)
		if err != nil {
			return err
		}
		if userID = id; msg != "" {
			f.Errors["user"] = msg
		}
	}
	resourceID, choices, err := h.resourceByName(ctx, a, f)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if len(f.Errors) > 0 {
		status = http.StatusUnprocessableEntity
	}
	var ex *models.AccessExplanation
	if resourceID != "" && len(f.Errors) == 0 {
		var err error
		if ex, err = h.Store.ExplainAccess(ctx, a, userID, resourceID); err != nil {
			fe := models.FieldErrors(err)
			if fe == nil {
				return err
			}
			// Unknown or invisible: the same answer either way.
			f.Errors, status = fe, http.StatusNotFound
		}
	}
	var users []models.UserItem
	if a.Can.ExplainOthers {
		page, err := h.Store.ListUsers(ctx, a, "", models.ListOptions{PerPage: 200})
		if err != nil {
			return err
		}
		users = page.Items
	}
	// How many targets the caller may start sessions on (not those they
	// may only request), for the plain answer when none.
	reachable, err := h.Store.CountStartableTargets(ctx, a)
	if err != nil {
		return err
	}
	var helpers []models.Helper
	if reachable == 0 {
		if helpers, err = h.Store.AccessHelpers(ctx, a, ""); err != nil {
			return err
		}
	}
	return render(w, r, status, views.ExplainPage(h.Meta(r, "Why can't I?", "explain"),
		views.Explanation{Form: f, Users: users, Answer: ex, MyTargets: reachable, Helpers: helpers, Choices: choices}))
}

// resourceByName returns the id of the form's resource: as given when it is
// an id, else the one thing the caller may see by that name. Several are
// returned as choices, none is a message on the field.
func (h Explain) resourceByName(ctx context.Context, a models.Actor, f views.Form) (string, []models.NamedResource, error) {
	v := f.V("resource")
	if _, isID := acl.ResourceTypeOfID(v); v == "" || isID {
		return v, nil, nil
	}
	found, err := h.Store.FindByName(ctx, a, v)
	switch {
	case err != nil:
		return "", nil, err
	case len(found) == 1:
		return found[0].ID, nil, nil
	case len(found) == 0:
		f.Errors["resource"] = "There is nothing named “" + v + "” that you can see: check the name, or give its id."
		return "", nil, nil
	}
	f.Errors["resource"] = "Several things you can see are named “" + v + "”: choose one below."
	return "", found, nil
}

// userByName finds the one user the actor may see whose name or login name
// is name (any case); otherwise it returns a message for the field.
func (h Explain) userByName(ctx context.Context, a models.Actor, name string) (id, msg string, err error) {
	var found []string
	for p := 1; ; p++ { // every user whose name contains it, for the exact ones
		page, err := h.Store.ListUsers(ctx, a, "", models.ListOptions{Search: name, PerPage: 100, Page: p})
		if err != nil {
			return "", "", err
		}
		for _, u := range page.Items {
			logins := strings.Split(strings.ToLower(u.LoginNames), ", ")
			if strings.EqualFold(u.Name, name) || slices.Contains(logins, strings.ToLower(name)) {
				found = append(found, u.ID)
			}
		}
		if len(page.Items) < page.PerPage || int64(p*page.PerPage) >= page.Total {
			break
		}
	}
	switch len(found) {
	case 0:
		return "", "There is no user named “" + name + "” that you can see: give a user id or an exact name.", nil
	case 1:
		return found[0], "", nil
	}
	return "", "Several users are named “" + name + "”: give the user's id.", nil
}
