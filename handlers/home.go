package handlers

import (
	"net/http"

	"gatehouse/views"
)

// Home serves the landing page of a logged-in user.
type Home struct {
	Base
}

// Show renders the home page (GET /).
func (h Home) Show(w http.ResponseWriter, r *http.Request) error {
	return render(w, r, http.StatusOK, views.HomePage(h.Meta(r, "Home", "home")))
}
