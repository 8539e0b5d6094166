package models

import (
	"context"
	"errors"
	"fmt"
)

// IsStale reports whether err refused a change made on an outdated version
// of the item (someone changed it since it was read): the API answers it
// 412. It is an ErrConflict kind.
func IsStale(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == ErrConflict && e.Message == staleMessage
}

type ifVersionKey struct{}

type ifVersion struct {
	id      string
	version int
}

// WithIfVersion returns a context under which deleting item id succeeds
// only while the item's version is version (an API DELETE with If-Match):
// the delete use case checks it in its transaction, with the row locked,
// after its own authorization (so a refusal never tells a hidden item
// apart), and refuses a stale version with the error IsStale reports.
// Other use cases ignore it.
func WithIfVersion(ctx context.Context, id string, version int) context.Context {
	return context.WithValue(ctx, ifVersionKey{}, ifVersion{id: id, version: version})
}

// staleDelete reads the version a delete of resourceType id expects (from
// WithIfVersion) and compares it with the row's, locking the row so no
// update slips in before the delete: it reports whether the delete must be
// refused as stale. An unknown row is left to the use case (ErrNotFound).
func (s *Store) staleDelete(ctx context.Context, resourceType, id string) (bool, error) {
	want, ok := ctx.Value(ifVersionKey{}).(ifVersion)
	if !ok || want.id != id {
		return false, nil
	}
	spec, ok := changeSpecs[resourceType]
	if !ok {
		return false, fmt.Errorf("if-version: unknown resource type %q", resourceType)
	}
	var versions []int
	if err := s.forUpdate(s.q(ctx).Table(spec.table)).Where(spec.key+" = ?", id).Limit(1).Pluck("version", &versions).Error; err != nil {
		return false, fmt.Errorf("version of %s %s: %w", resourceType, id, err)
	}
	return len(versions) == 1 && versions[0] != want.version, nil
}
