package handlers

import (
	"context"
	"net/http"

	"gatehouse/models"
	"gatehouse/views"
)

// MyTargetStore is what the My targets page needs from the domain.
type MyTargetStore interface {
	ListMyTargets(ctx context.Context, a models.Actor, opt models.MyTargetsOptions) (models.MyTargetsPage, error)
}

// MyTargets serves the logged-in user's list of targets they may connect to.
type MyTargets struct {
	Base
	Store MyTargetStore
}

// List renders My targets (GET /targets?q=&project=&page=).
func (h MyTargets) List(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	page, err := h.Store.ListMyTargets(r.Context(), ActorFrom(r.Context()),
		models.MyTargetsOptions{ListOptions: listOptions(q), ProjectID: q.Get("project")})
	if err != nil {
		return err
	}
	return renderPage(w, r, views.MyTargetsPage(h.Meta(r, "My targets", "targets"), page, q), views.MyTargetList(page, q))
}
