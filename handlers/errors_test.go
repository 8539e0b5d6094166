package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"gatehouse/models"
)

// TestProblemOfSpeaksToPeople: the message shown is the error's message for
// people (never the operator text with its ids and kind), kinds without one
// show their own text, and nothing of an unknown error shows.
func TestProblemOfSpeaksToPeople(t *testing.T) {
	stale := fmt.Errorf("handler: %w", models.Conflict("update host catalog hc_123", "It was changed by someone else."))
	cases := []struct {
		name   string
		err    error
		status int
		msg    string
		fields map[string]string
	}{
		{"conflict", stale, http.StatusConflict, "It was changed by someone else.", nil},
		{"bare conflict", fmt.Errorf("x: %w", models.ErrConflict), http.StatusConflict, "It changed since you opened it, or cannot be done as it is now.", nil},
		{"invalid", &models.ValidationError{Fields: map[string]string{"port": "Port is required.", "name": "Name is required."}},
			http.StatusUnprocessableEntity, "Name is required. Port is required.", map[string]string{"port": "Port is required.", "name": "Name is required."}},
		{"not found keeps its own text", &models.Error{Kind: models.ErrNotFound, Op: "read target t_1", Message: "secret name"},
			http.StatusNotFound, "There is nothing here, or you may not see it.", nil},
		{"forbidden", fmt.Errorf("u_1 delete on target: %w", models.ErrForbidden), http.StatusForbidden, "You are not allowed to do that.", nil},
		{"unauthenticated", &models.ThrottledError{}, http.StatusUnauthorized, "Your login has ended. Log in again to continue.", nil},
		{"unknown", errors.New("pq: connection refused to 10.0.0.5"), http.StatusInternalServerError,
			"The server could not complete the request. It has been logged; please try again.", nil},
	}
	for _, c := range cases {
		p := ProblemOf(c.err)
		if p.Status != c.status || p.Message != c.msg || fmt.Sprint(p.Fields) != fmt.Sprint(c.fields) {
			t.Errorf("%s: got %+v, want %d %q %v", c.name, p, c.status, c.msg, c.fields)
		}
		if strings.Contains(p.Message, "hc_123") || strings.Contains(p.Message, ": conflict") {
			t.Errorf("%s: operator text leaked: %q", c.name, p.Message)
		}
	}
	if !strings.Contains(stale.Error(), "update host catalog hc_123") || !errors.Is(stale, models.ErrConflict) {
		t.Errorf("operator text %q lost its op or kind", stale.Error())
	}
}
