package models

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Error kinds. Callers test with errors.Is; the web layer maps each kind to a
// status code. Wrapped errors keep their kind.
var (
	// ErrNotFound: the item does not exist or the actor may not see it (the two
	// are never told apart).
	ErrNotFound = errors.New("not found")
	// ErrForbidden: the actor may see the item but not do this to it.
	ErrForbidden = errors.New("forbidden")
	// ErrConflict: the item changed underneath (version mismatch) or the move
	// is not allowed from its current state.
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the input is wrong; a *ValidationError carries field messages.
	ErrInvalid = errors.New("invalid input")
	// ErrUnauthenticated: no valid login, or wrong credentials.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrBusy: the server is at a bound it keeps (a *BusyError says until
	// when to come back); nothing was done.
	ErrBusy = errors.New("busy")
)

// ValidationError lists what is wrong with an input, by form field name.
// errors.Is(err, ErrInvalid) is true for it.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+e.Fields[k])
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Invalid returns a ValidationError for one field.
func Invalid(field, msg string) *ValidationError {
	return &ValidationError{Fields: map[string]string{field: msg}}
}

// FieldErrors extracts the per-field messages of err, or nil.
func FieldErrors(err error) map[string]string {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.Fields
	}
	return nil
}

// ThrottledError says that login attempts are being slowed down. It is an
// ErrUnauthenticated kind.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed attempts; try again in %s", e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, ErrUnauthenticated) true.
func (e *ThrottledError) Is(target error) bool { return target == ErrUnauthenticated }

// BusyError says that What is at its bound; try again after RetryAfter. It
// is an ErrBusy kind.
type BusyError struct {
	What       string
	RetryAfter time.Duration
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("too many %s at once; try again in %s", e.What, e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, ErrBusy) true.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// validator collects field messages.
type validator map[string]string

func (v validator) add(field, msg string) {
	if _, ok := v[field]; !ok {
		v[field] = msg
	}
}

func (v validator) err() error {
	if len(v) == 0 {
		return nil
	}
	return &ValidationError{Fields: map[string]string(v)}
}

// text checks a free-text field: trimmed, required or not, at most max runes,
// no control characters, no bidirectional controls (see isBidiControl).
func (v validator) text(field, label, value string, required bool, max int) string {
	value = strings.TrimSpace(value)
	switch {
	case required && value == "":
		v.add(field, label+" is required.")
	case len([]rune(value)) > max:
		v.add(field, fmt.Sprintf("%s must be at most %d characters.", label, max))
	case strings.ContainsFunc(value, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f }):
		v.add(field, label+" contains control characters.")
	case strings.ContainsFunc(value, isBidiControl):
		v.add(field, label+" contains invisible text-direction characters (U+202A–U+202E, U+2066–U+2069): type it again without them.")
	}
	return value
}

// isBidiControl reports whether r is a bidirectional embedding, override or
// isolate control (U+202A–U+202E, U+2066–U+2069): invisible, they make a
// name display as something else ("Trojan Source").
func isBidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069
}
