package models

import "fmt"

// ErrStale: the item's version is no longer the one the caller read (someone
// changed it meanwhile). It is an ErrConflict kind; the API answers it 412.
var ErrStale = fmt.Errorf("changed by someone else since you opened it: %w", ErrConflict)
