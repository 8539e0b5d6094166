package handlers

import (
	"context"
	"net/http"

	"gatehouse/models"
	"gatehouse/views"
)

// HomeStore is what the home page needs from the domain.
type HomeStore interface {
	MySessions(ctx context.Context, a models.Actor, opt models.ListOptions, sort string) (models.Page[models.SessionItem], error)
	ListMyTargets(ctx context.Context, a models.Actor, opt models.MyTargetsOptions) (models.MyTargetsPage, error)
}

// Home serves the landing page of a logged-in user.
type Home struct {
	Base
	Store HomeStore
}

// homeTargets is how many targets Home lists before "See all", and
// homeSessions how many of the person's sessions it shows (and its live
// stream re-renders).
const (
	homeTargets  = 8
	homeSessions = 50
)

// Show renders the home page (GET /): the person's sessions and targets.
// With HX-Request (the live fallback poll), only the sessions fragment.
func (h Home) Show(w http.ResponseWriter, r *http.Request) error {
	ctx, a := r.Context(), ActorFrom(r.Context())
	sessions, err := h.Store.MySessions(ctx, a, models.ListOptions{PerPage: homeSessions}, "")
	if err != nil {
		return err
	}
	if r.Header.Get("HX-Request") == "true" {
		return render(w, r, http.StatusOK, views.HomeSessions(sessions.Items))
	}
	targets, err := h.Store.ListMyTargets(ctx, a, models.MyTargetsOptions{ListOptions: models.ListOptions{PerPage: homeTargets}})
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, views.HomePage(h.Meta(r, "Home", "home"), views.Home{Sessions: sessions.Items, Targets: targets}))
}
