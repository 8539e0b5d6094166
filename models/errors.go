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
)

// Error is a domain error of one kind that carries a message for people,
// distinct from the text for operators: Error() is "Op: Message: kind" (with
// the cause, if any), for logs; Message is what a page or an API response
// shows. errors.Is(err, Kind) holds through any wrapping. Use cases return
// one where the people reading the answer need more than the kind's
// default text (PublicMessage).
type Error struct {
	// Kind is one of ErrNotFound, ErrForbidden, ErrConflict, ErrInvalid,
	// ErrUnauthenticated.
	Kind error
	// Op says what was being done, with ids, for operators ("update scope
	// o_1"); may be empty.
	Op string
	// Message is a whole sentence for people.
	Message string
	// Err is the cause, if any.
	Err error
}

func (e *Error) Error() string {
	parts := make([]string, 0, 4)
	if e.Op != "" {
		parts = append(parts, e.Op)
	}
	if e.Message != "" {
		parts = append(parts, strings.TrimSuffix(e.Message, "."))
	}
	if e.Err != nil {
		parts = append(parts, e.Err.Error())
	}
	return strings.Join(append(parts, e.Kind.Error()), ": ")
}

// Is makes errors.Is(err, e.Kind) true.
func (e *Error) Is(target error) bool { return target == e.Kind }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Conflict returns an ErrConflict telling people msg; op is for operators.
func Conflict(op, msg string) *Error {
	return &Error{Kind: ErrConflict, Op: op, Message: msg}
}

// staleMessage is the one text people read when their change lost a race.
const staleMessage = "It was changed by someone else since you opened it: reload it and make your change again."

// stale is the conflict of a change made on an outdated version (op says
// which change, for operators).
func stale(op string) *Error { return Conflict(op, staleMessage) }

// PublicMessage returns the message for people that err carries: the
// Message of the first *Error in its chain, or the field messages of a
// *ValidationError (sorted by field, joined). It returns "" when err carries
// none; adapters then show their kind's own text. Never the operator text.
func PublicMessage(err error) string {
	var ve *ValidationError
	var e *Error
	switch {
	case errors.As(err, &ve):
		return ve.messages()
	case errors.As(err, &e):
		return e.Message
	}
	return ""
}

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

// messages joins the field messages, sorted by field name.
func (e *ValidationError) messages() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	msgs := make([]string, 0, len(keys))
	for _, k := range keys {
		msgs = append(msgs, e.Fields[k])
	}
	return strings.Join(msgs, " ")
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
// no control characters.
func (v validator) text(field, label, value string, required bool, max int) string {
	value = strings.TrimSpace(value)
	switch {
	case required && value == "":
		v.add(field, label+" is required.")
	case len([]rune(value)) > max:
		v.add(field, fmt.Sprintf("%s must be at most %d characters.", label, max))
	case strings.ContainsFunc(value, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f }):
		v.add(field, label+" contains control characters.")
	}
	return value
}
