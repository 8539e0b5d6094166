package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"gatehouse/models"
)

// StatusError is an answer decided before any domain call (a body too
// large, a request too slow, a server too busy): the status, the page's
// title and a sentence for people. RetryAfter, when set, becomes the
// Retry-After header (whole seconds, rounded up).
type StatusError struct {
	Status     int
	Title      string
	Message    string
	RetryAfter time.Duration
}

func (e *StatusError) Error() string { return e.Title + ": " + e.Message }

// setRetryAfter writes the Retry-After header of d (whole seconds, at least 1).
func setRetryAfter(w http.ResponseWriter, d time.Duration) {
	if d <= 0 {
		return
	}
	secs := int((d + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
}

// retryAfter is when err says to come back (a *StatusError or a
// *models.BusyError), or 0.
func retryAfter(err error) time.Duration {
	var se *StatusError
	var be *models.BusyError
	switch {
	case errors.As(err, &se):
		return se.RetryAfter
	case errors.As(err, &be):
		return be.RetryAfter
	}
	return 0
}
