package models

import (
	"fmt"

	"github.com/alexedwards/argon2id"
)

// PasswordParams are argon2id's cost parameters.
type PasswordParams = argon2id.Params

// DefaultPasswordParams follow RFC 9106's second recommended option
// (64 MiB, one pass, two lanes).
var DefaultPasswordParams = argon2id.Params{Memory: 64 * 1024, Iterations: 1, Parallelism: 2, SaltLength: 16, KeyLength: 32}

// MinPasswordLength and MaxPasswordLength bound passwords.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 256
)

func (s *Store) hashPassword(pw string) (string, error) {
	h, err := argon2id.CreateHash(pw, s.opts.PasswordParams)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// dummyHash is compared against when the login name is unknown, so that
// unknown and known names take the same time.
var dummyHash = func() string {
	h, _ := argon2id.CreateHash("not a password", &DefaultPasswordParams)
	return h
}()

func checkPassword(pw, hash string) bool {
	if hash == "" {
		_, _ = argon2id.ComparePasswordAndHash(pw, dummyHash)
		return false
	}
	ok, err := argon2id.ComparePasswordAndHash(pw, hash)
	return err == nil && ok
}

func validatePassword(v validator, field, pw string) {
	switch n := len([]rune(pw)); {
	case n < MinPasswordLength:
		v.add(field, fmt.Sprintf("Password must be at least %d characters.", MinPasswordLength))
	case n > MaxPasswordLength:
		v.add(field, fmt.Sprintf("Password must be at most %d characters.", MaxPasswordLength))
	}
}
