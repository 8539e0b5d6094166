package models

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Login is one browser sign-in (Boundary's auth token). The browser's
// encrypted cookie holds its secret token; the database keeps only a hash.
type Login struct {
	ID           string
	TokenHash    string
	UserID       string
	AccountID    string
	AuthMethodID string
	ClientIP     string
	UserAgent    string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	LastUsedAt   time.Time
}

// NewLoginResult is a fresh login and the secret to put in the cookie.
type NewLoginResult struct {
	Login Login
	Token string
}

// PasswordLogin is what the login form sends.
type PasswordLogin struct {
	AuthMethodID string
	LoginName    string
	Password     string
	ClientIP     string
	UserAgent    string
}

// Throttling of failed password logins: after the free attempts, each
// further attempt must wait an exponentially growing delay since the last
// failure (capped). Failures count three ways: per account and client
// address (a few free: the guesser is slowed down), per client address
// (guessing many accounts), and per account from anywhere with a much higher
// ceiling, so that someone guessing from elsewhere cannot lock the owner
// out, while a guess spread over many addresses is still slowed down. An
// administrator can clear an account's counters (ClearLoginLock).
const (
	freeFailuresPerAccountAddress = 5
	freeFailuresPerAddress        = 20
	freeFailuresPerAccount        = 100
	maxFailureDelay               = 15 * time.Minute
	failureMemory                 = time.Hour
)

// throttleKey is one failure counter an attempt is checked against.
type throttleKey struct {
	key        string
	accountKey string // the account it counts against ("" for an address)
	free       int
}

// throttleKeys are the counters of an attempt on (auth method, lower-case
// login name) from clientIP.
func throttleKeys(authMethodID, name, clientIP string) []throttleKey {
	acct := accountThrottleKey(authMethodID, name)
	return []throttleKey{
		{key: "acct-ip:" + acct + "@" + clientIP, accountKey: acct, free: freeFailuresPerAccountAddress},
		{key: "ip:" + clientIP, free: freeFailuresPerAddress},
		{key: "acct:" + acct, accountKey: acct, free: freeFailuresPerAccount},
	}
}

// accountThrottleKey names an account in the throttle's counters.
func accountThrottleKey(authMethodID, loginName string) string {
	return authMethodID + ":" + strings.ToLower(strings.TrimSpace(loginName))
}

// ErrBadCredentials is returned for any wrong login name or password; it
// never says which part was wrong.
var ErrBadCredentials = fmt.Errorf("wrong login name or password: %w", ErrUnauthenticated)

// AuthenticatePassword checks a login name and password and, when they are
// right, starts a fresh login (never reusing one). Repeated failures are
// slowed down per account and client address, per client address and, with
// a much higher ceiling, per account (a *ThrottledError). When the server
// is at its bound of password hashes the attempt is refused with a
// *BusyError and counts nothing.
func (s *Store) AuthenticatePassword(ctx context.Context, in PasswordLogin) (*NewLoginResult, error) {
	var out *NewLoginResult
	err := s.authenticatePassword(ctx, in, func(tx *Store, acct *Account) error {
		var err error
		out, err = tx.startLogin(ctx, acct, in.ClientIP, in.UserAgent)
		return err
	})
	return out, err
}

// authenticatePassword checks a password login (throttled, bounded) and,
// when it is right, runs then in the transaction that clears the failures.
func (s *Store) authenticatePassword(ctx context.Context, in PasswordLogin, then func(tx *Store, acct *Account) error) error {
	name := strings.ToLower(strings.TrimSpace(in.LoginName))
	if name == "" || in.Password == "" || len(in.Password) > MaxPasswordLength || len(name) > 128 {
		return ErrBadCredentials
	}
	keys := throttleKeys(in.AuthMethodID, name, in.ClientIP)
	// The attempt is counted as a failure before the (slow) hash check, in
	// one transaction with the throttle decision, so parallel guesses cannot
	// all pass the check; a success gives it back.
	held, err := s.reserveAttempt(ctx, keys)
	if _, throttled := errors.AsType[*ThrottledError](err); throttled {
		// Refused without a check: a refused login all the same, recorded
		// once a minute per name and address (refusals cost an attacker
		// nothing once throttled: the change log must not grow with them).
		if !s.refusals.first(in.AuthMethodID+"\x00"+name+"\x00"+in.ClientIP, s.now()) {
			return err
		}
		return s.refusedLogin(ctx, in.AuthMethodID, name, in.ClientIP, err)
	}
	if err != nil {
		return err
	}
	var row struct {
		Account
		State      string
		MethodType string
	}
	err = s.q(ctx).Table("accounts AS a").Select("a.*, m.state, m.type AS method_type").
		Joins("JOIN auth_methods m ON m.id = a.auth_method_id").
		Where("a.auth_method_id = ? AND lower(a.login_name) = ?", in.AuthMethodID, name).Take(&row).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("find account: %w", err)
	}
	hash := ""
	if err == nil && row.PasswordHash != nil && row.MethodType == AuthMethodPassword && row.State != StateInactive {
		hash = *row.PasswordHash
	}
	ok, err := s.checkPassword(ctx, in.Password, hash)
	if err != nil { // busy: the attempt was never made, so it counts nothing
		if rerr := s.Transact(ctx, func(tx *Store) error {
			for _, h := range held {
				if err := tx.refundAttempt(ctx, h); err != nil {
					return err
				}
			}
			return nil
		}); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	if !ok {
		return s.refusedLogin(ctx, in.AuthMethodID, name, in.ClientIP, ErrBadCredentials) // already counted
	}
	return s.Transact(ctx, func(tx *Store) error {
		// The owner's own address starts again; the others get this
		// attempt back.
		if err := tx.q(ctx).Where("key = ?", keys[0].key).Delete(&loginFailure{}).Error; err != nil {
			return fmt.Errorf("clear failures: %w", err)
		}
		for _, h := range held[1:] {
			if err := tx.refundAttempt(ctx, h); err != nil {
				return err
			}
		}
		return then(tx, &row.Account)
	})
}

// startLogin writes a new login for an account. Runs in the caller's
// transaction.
func (s *Store) startLogin(ctx context.Context, acct *Account, clientIP, userAgent string) (*NewLoginResult, error) {
	token := newSecret(32)
	now := s.now()
	if len(userAgent) > 512 {
		userAgent = userAgent[:512]
	}
	l := Login{ID: NewID(PrefixLogin), TokenHash: hashSecret(token), UserID: acct.UserID, AccountID: acct.ID,
		AuthMethodID: acct.AuthMethodID, ClientIP: clientIP, UserAgent: userAgent, CreatedAt: now,
		ExpiresAt: now.Add(s.opts.LoginLifetime), LastUsedAt: now}
	if err := s.q(ctx).Create(&l).Error; err != nil {
		return nil, fmt.Errorf("create login: %w", err)
	}
	if err := s.recordLogin(ctx, Actor{UserID: l.UserID, LoginID: l.ID, AccountID: l.AccountID}, ChangeLogin, l.AuthMethodID,
		map[string]any{"account_id": l.AccountID, "login_id": l.ID, "client_ip": clientIP, "user_agent": userAgent}); err != nil {
		return nil, err
	}
	return &NewLoginResult{Login: l, Token: token}, nil
}

// LoginByToken resolves a cookie's token to its actor, with its roles
// loaded and its Capabilities computed (call it once per request: the
// returned Actor keeps the roles it saw). An unknown, expired
// or idle login is ErrUnauthenticated (and an ended one is removed). The
// last-used time is refreshed at most once a minute.
func (s *Store) LoginByToken(ctx context.Context, token string) (Actor, *Login, error) {
	if token == "" {
		return Anonymous, nil, ErrUnauthenticated
	}
	var row struct {
		Login
		Name     string
		FullName string
	}
	err := s.rq(ctx).Table("logins AS l").Select("l.*, u.name, u.full_name").
		Joins("JOIN users u ON u.id = l.user_id").
		Where("l.token_hash = ?", hashSecret(token)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Anonymous, nil, ErrUnauthenticated
	}
	if err != nil {
		return Anonymous, nil, fmt.Errorf("find login: %w", err)
	}
	now := s.now()
	if !now.Before(row.ExpiresAt) || !now.Before(row.LastUsedAt.Add(s.opts.LoginIdleTimeout)) {
		_, _ = s.endLogins(ctx, "id = ?", row.ID)
		return Anonymous, nil, ErrUnauthenticated
	}
	if now.Sub(row.LastUsedAt) > time.Minute {
		if err := s.q(ctx).Model(&Login{}).Where("id = ?", row.ID).Update("last_used_at", now).Error; err != nil {
			return Anonymous, nil, fmt.Errorf("touch login: %w", err)
		}
		row.LastUsedAt = now
	}
	name := row.FullName
	if name == "" {
		name = row.Name
	}
	a := Actor{UserID: row.UserID, LoginID: row.ID, AccountID: row.AccountID, Name: name, acl: &actorACL{}}
	a.Can = s.capabilities(ctx, a)
	return a, &row.Login, nil
}

// Logout ends the login holding token. Ending an unknown login is not an error.
func (s *Store) Logout(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return s.Transact(ctx, func(tx *Store) error {
		ended, err := tx.endLogins(ctx, "token_hash = ?", hashSecret(token))
		if err != nil {
			return fmt.Errorf("logout: %w", err)
		}
		for _, l := range ended {
			if err := tx.recordLogin(ctx, Actor{UserID: l.UserID, LoginID: l.ID, AccountID: l.AccountID}, ChangeLogout,
				l.AuthMethodID, map[string]any{"account_id": l.AccountID, "login_id": l.ID}); err != nil {
				return err
			}
		}
		return nil
	})
}

// refusalLog remembers when a throttled refusal was last recorded for a
// login name and address, so each is recorded at most once a minute. It
// holds at most refusalLogMax keys; when full, refusals of new keys are
// not recorded until old ones expire.
type refusalLog struct {
	mu   sync.Mutex
	last map[string]time.Time
}

const refusalLogMax = 10000

// first reports whether a throttled refusal of key at now is the first in
// a minute (and remembers it).
func (l *refusalLog) first(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last = map[string]time.Time{}
	}
	if at, ok := l.last[key]; ok && now.Sub(at) < time.Minute {
		return false
	}
	if len(l.last) >= refusalLogMax {
		for k, at := range l.last {
			if now.Sub(at) >= time.Minute {
				delete(l.last, k)
			}
		}
		if len(l.last) >= refusalLogMax {
			return false
		}
	}
	l.last[key] = now
	return true
}

// refusedLogin records a refused login (its own transaction) and returns
// refusal, or the recording's error.
func (s *Store) refusedLogin(ctx context.Context, authMethodID, loginName, clientIP string, refusal error) error {
	err := s.Transact(ctx, func(tx *Store) error {
		return tx.recordLogin(ctx, Anonymous, ChangeLoginRefused, authMethodID,
			map[string]any{"login_name": loginName, "client_ip": clientIP, "reason": refusal.Error()})
	})
	if err != nil {
		return err
	}
	return refusal
}

// PurgeLogins deletes expired and idle logins; safe to run on every instance.
func (s *Store) PurgeLogins(ctx context.Context) (int64, error) {
	now := s.now()
	var n int64
	err := s.Transact(ctx, func(tx *Store) error {
		ended, err := tx.endLogins(ctx, "expires_at <= ? OR last_used_at <= ?", now, now.Add(-s.opts.LoginIdleTimeout))
		n = int64(len(ended))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("purge logins: %w", err)
	}
	return n, nil
}

// PurgeLoginFailures deletes the throttle counters untouched for longer
// than they are remembered (an attempt after that starts from zero anyway),
// so the table holds only recent addresses and accounts.
func (s *Store) PurgeLoginFailures(ctx context.Context) (int64, error) {
	res := s.q(ctx).Where("last_failure_at < ?", s.now().Add(-failureMemory)).Delete(&loginFailure{})
	if res.Error != nil {
		return 0, fmt.Errorf("purge login failures: %w", res.Error)
	}
	return res.RowsAffected, nil
}

type loginFailure struct {
	Key           string
	AccountKey    string
	Failures      int
	LastFailureAt time.Time
}

func (loginFailure) TableName() string { return "login_failures" }

func failureDelay(failures, free int) time.Duration {
	if failures < free {
		return 0
	}
	d := time.Duration(math.Pow(2, float64(failures-free))) * time.Second
	if d > maxFailureDelay || d <= 0 {
		d = maxFailureDelay
	}
	return d
}

// reserveAttempt decides whether a login attempt may go ahead and, if so,
// counts it as a failure on every key, atomically: in one transaction whose
// rows are locked (Postgres; SQLite has a single writer), so concurrent
// attempts see each other's counts. It returns the rows as they were before
// the attempt (for refundAttempt), in the order of keys, or a
// *ThrottledError when any key must still wait; a refused attempt counts
// nothing.
func (s *Store) reserveAttempt(ctx context.Context, keys []throttleKey) ([]loginFailure, error) {
	now := s.now().Truncate(time.Microsecond) // what both databases store
	byName := map[string]throttleKey{}
	names := make([]string, len(keys))
	for i, k := range keys {
		byName[k.key], names[i] = k, k.key
	}
	sorted := slices.Sorted(slices.Values(names)) // one lock order: no deadlocks
	var before []loginFailure
	err := s.Transact(ctx, func(tx *Store) error {
		for _, k := range sorted {
			err := tx.q(ctx).Clauses(clause.OnConflict{DoNothing: true}).
				Create(&loginFailure{Key: k, AccountKey: byName[k].accountKey, Failures: 0, LastFailureAt: time.Unix(0, 0).UTC()}).Error
			if err != nil {
				return fmt.Errorf("count login attempt: %w", err)
			}
		}
		var rows []loginFailure
		if err := tx.forUpdate(tx.q(ctx)).Where("key IN ?", sorted).Order("key").Find(&rows).Error; err != nil {
			return fmt.Errorf("count login attempt: %w", err)
		}
		byKey := map[string]loginFailure{}
		var wait time.Duration
		for _, r := range rows {
			byKey[r.Key] = r
			if until := r.throttledUntil(byName[r.Key].free, now); until.Sub(now) > wait {
				wait = until.Sub(now)
			}
		}
		if wait > 0 {
			return &ThrottledError{RetryAfter: wait}
		}
		before = make([]loginFailure, len(keys))
		for i, k := range keys {
			before[i] = byKey[k.key]
			before[i].Key = k.key
			if now.Sub(before[i].LastFailureAt) > failureMemory { // counts reset after failureMemory
				before[i].Failures = 0
			}
			failures := before[i].Failures + 1
			err := tx.q(ctx).Model(&loginFailure{}).Where("key = ?", k.key).
				Updates(map[string]any{"failures": failures, "last_failure_at": now}).Error
			if err != nil {
				return fmt.Errorf("count login attempt: %w", err)
			}
		}
		return nil
	})
	return before, err
}

// throttledUntil is when the next attempt against this counter may go
// ahead (free failures before the delays start); zero or past: now.
func (f loginFailure) throttledUntil(free int, now time.Time) time.Time {
	if now.Sub(f.LastFailureAt) > failureMemory {
		return time.Time{}
	}
	return f.LastFailureAt.Add(failureDelay(f.Failures, free))
}

// refundAttempt takes back a successful attempt counted by reserveAttempt
// on one key (before is that key's row before the attempt): one failure
// less, and the previous failure time when no other attempt counted since.
func (s *Store) refundAttempt(ctx context.Context, before loginFailure) error {
	err := s.q(ctx).Model(&loginFailure{}).Where("key = ? AND failures > 0", before.Key).Updates(map[string]any{
		"failures": gorm.Expr("failures - 1"),
		"last_failure_at": gorm.Expr("CASE WHEN failures = ? THEN ? ELSE last_failure_at END",
			before.Failures+1, before.LastFailureAt),
	}).Error
	if err != nil {
		return fmt.Errorf("refund login attempt: %w", err)
	}
	return nil
}
