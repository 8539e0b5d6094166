package models

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
)

// How create and edit forms are checked: the input is validated field by
// field (a validator), then, in the same transaction, checkInput looks up
// every value that must be unique (a name in its scope, catalog or store; a
// login name in its auth method) and adds its message to the same set of
// field errors. A form with a missing address and a name already taken
// answers both at once, next to their fields, instead of the second only
// after the first is fixed. The unique indexes stay the last word: an
// insert or update that loses a race still maps its violation to the same
// field message.

// unique says where one value of a form must be unique, as a unique index of
// the schema says (case-insensitive: lower(column) on each side, as the
// indexes are built, per dialect).
type unique struct {
	Table    string // the table holding the values
	Column   string // the value's column; "name" when empty
	Parent   string // the column scoping the index, e.g. "scope_id", or a condition with one "?"
	ParentID string // the parent's value
	Except   string // the column identifying the row being edited; "id" when empty
	ExceptID string // the row being edited (not a duplicate of itself); "" when creating
	Field    string // the form field; "name" when empty
	Value    string // the value, already trimmed by validation
	Message  string // the field message when the value is taken
}

// checkInput joins the uniqueness checks to verr, the result of validating
// the input: nil, a *ValidationError, or another error (returned as is).
// A value whose field already has a message, or that is empty, is not
// looked up. It returns nil when the input is valid and every value free,
// else a *ValidationError with every field's message.
func (s *Store) checkInput(ctx context.Context, verr error, checks ...unique) error {
	var ve *ValidationError
	if verr != nil && !errors.As(verr, &ve) {
		return verr
	}
	fields := map[string]string{}
	if ve != nil {
		maps.Copy(fields, ve.Fields)
	}
	for _, u := range checks {
		field := cmp.Or(u.Field, "name")
		if _, bad := fields[field]; bad || strings.TrimSpace(u.Value) == "" {
			continue
		}
		taken, err := s.taken(ctx, u)
		if err != nil {
			return err
		}
		if taken {
			fields[field] = u.Message
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return &ValidationError{Fields: fields}
}

// taken reports whether u.Value is already used under u's parent by another row.
func (s *Store) taken(ctx context.Context, u unique) (bool, error) {
	col, except := cmp.Or(u.Column, "name"), cmp.Or(u.Except, "id")
	q := s.q(ctx).Table(u.Table).Where("lower("+col+") = lower(?)", u.Value)
	switch {
	case strings.Contains(u.Parent, "?"):
		q = q.Where(u.Parent, u.ParentID)
	case u.Parent != "":
		q = q.Where(u.Parent+" = ?", u.ParentID)
	}
	if u.ExceptID != "" {
		q = q.Where(except+" <> ?", u.ExceptID)
	}
	var n int64
	if err := q.Limit(1).Count(&n).Error; err != nil {
		return false, fmt.Errorf("check unique %s.%s: %w", u.Table, col, err)
	}
	return n > 0, nil
}

// orEmpty is *p, or "" for nil.
func orEmpty(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
