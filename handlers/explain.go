package handlers

import (
	"context"
	"net/http"
	"strings"

	"gatehouse/models"
	"gatehouse/views"
)

// ExplainStore is what the "Why can't I?" page needs from the domain.
type ExplainStore interface {
	ExplainAccess(ctx context.Context, a models.Actor, userID, resourceID string) (*models.AccessExplanation, error)
	ListUsers(ctx context.Context, a models.Actor, scopeID string, opt models.ListOptions) (models.Page[models.UserItem], error)
}

// Explain serves the "Why can't I?" page.
type Explain struct {
	Base
	Store ExplainStore
}

// Show renders the question form and, when a resource is given, the answer
// (GET /explain?user=&resource=). user defaults to the caller; asking about
// someone else takes read on that user.
func (h Explain) Show(w http.ResponseWriter, r *http.Request) error {
	ctx, a, q := r.Context(), ActorFrom(r.Context()), r.URL.Query()
	f := views.Form{Values: map[string]string{"user": strings.TrimSpace(q.Get("user")), "resource": strings.TrimSpace(q.Get("resource"))}}
	var ex *models.AccessExplanation
	if f.V("resource") != "" {
		var err error
		if ex, err = h.Store.ExplainAccess(ctx, a, f.V("user"), f.V("resource")); err != nil {
			return err
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
	return render(w, r, http.StatusOK, views.ExplainPage(h.Meta(r, "Why can't I?", "explain"), f, users, ex))
}
