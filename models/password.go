package models

import (
	"context"
	"fmt"
	"sync"

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

// hashPassword hashes pw in one of the limiter's slots (a *BusyError when
// none comes free in time).
func (s *Store) hashPassword(ctx context.Context, pw string) (string, error) {
	release, err := s.opts.PasswordHashes.Acquire(ctx)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	defer release()
	h, err := argon2id.CreateHash(pw, s.opts.PasswordParams)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// dummyHash is compared against when the login name is unknown, so that
// unknown and known names take the same time. It is made on first use
// (NewStore starts making it in the background): made when the package
// loaded, it cost every process of the binary, `gatehouse connect` and
// the CLI's commands included, 64 MiB and about 135 ms of CPU before its
// first line of output.
var dummyHash = sync.OnceValue(func() string {
	h, _ := argon2id.CreateHash("not a password", &DefaultPasswordParams)
	return h
})

// checkPassword compares pw with hash (with dummyHash when hash is empty:
// the same cost, always false) in one of the limiter's slots; a *BusyError
// when none comes free in time.
func (s *Store) checkPassword(ctx context.Context, pw, hash string) (bool, error) {
	release, err := s.opts.PasswordHashes.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	if hash == "" {
		_, _ = argon2id.ComparePasswordAndHash(pw, dummyHash())
		return false, nil
	}
	ok, err := argon2id.ComparePasswordAndHash(pw, hash)
	return err == nil && ok, nil
}

func validatePassword(v validator, field, pw string) {
	switch n := len([]rune(pw)); {
	case n < MinPasswordLength:
		v.add(field, fmt.Sprintf("Password must be at least %d characters.", MinPasswordLength))
	case n > MaxPasswordLength:
		v.add(field, fmt.Sprintf("Password must be at most %d characters.", MaxPasswordLength))
	}
}
