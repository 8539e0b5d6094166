package models

import "errors"

// IsStale reports whether err refused a change made on an outdated version
// of the item (someone changed it since it was read): the API answers it
// 412. It is an ErrConflict kind.
func IsStale(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == ErrConflict && e.Message == staleMessage
}
