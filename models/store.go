package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Options tune a Store. Zero values take the defaults noted on each field.
type Options struct {
	// Now is the clock (default time.Now). Tests inject their own.
	Now func() time.Time
	// LoginLifetime is a login's absolute lifetime (default 7 days).
	LoginLifetime time.Duration
	// LoginIdleTimeout ends a login unused for this long (default 24 h).
	LoginIdleTimeout time.Duration
	// Crypter encrypts secrets at rest. Required for secret-bearing resources.
	Crypter *Crypter
	// PasswordParams are the argon2id parameters (default: 64 MiB, 1 pass, 2 lanes).
	PasswordParams *PasswordParams
	// PasswordHashes bounds the password hashes running at once (default:
	// DefaultPasswordHashSlots slots, DefaultPasswordHashWait queue).
	PasswordHashes *PasswordHashLimiter
	// LoginsEnded is told, after each commit, which logins ended (logout,
	// expiry, password change, user or account deleted): the live pages'
	// broker ends their streams. Other instances hear of them on
	// LoginsEndedChannel. It must not block.
	LoginsEnded func(loginIDs []string)
	// Sessions tunes the session lifecycle (session_live.go); zero values
	// take the defaults noted there.
	Sessions SessionOptions
	// ExportBatch is how many rows an export reads per query where it reads
	// in batches: session history on SQLite (Postgres streams one cursor),
	// the change log on both (default 5000).
	ExportBatch int
	// CheckOIDCProvider checks an OIDC auth method's settings against its
	// provider's discovery document before the method may be active; its
	// error text is shown to the admin. Nil refuses to activate OIDC methods.
	CheckOIDCProvider func(ctx context.Context, issuer string, signingAlgorithms []string) error
	// CredentialBackend mints and revokes the credentials of credential
	// libraries (package credlib). Nil: libraries cannot be created or
	// issue credentials.
	CredentialBackend LibraryBackend
	// Revocations tune the revocation queue (credlibrary_revoke.go).
	Revocations RevocationOptions

	// Webhooks tune webhook deliveries (webhook_queue.go).
	Webhooks WebhookOptions

	// Reads is an optional pool of read-only connections to the same
	// database (OpenReadPool: SQLite's readers beside its single writer).
	// A few hot reads made outside any transaction (the login lookup and
	// the roles of each request) use it, so they run beside the writer
	// instead of queuing for it; nil: everything uses the one pool.
	Reads *gorm.DB
}

// Store is the one door to Gatehouse's data. Its use-case methods check
// authorization and run multi-step changes in one transaction. A Store is
// safe for concurrent use.
type Store struct {
	db       *gorm.DB
	dialect  Dialect
	opts     Options
	inTx     bool
	scopes   *scopeCache                  // shared with the Store's transactions
	grants   *grantCache                  // shared with the Store's transactions
	notes    *notifyQueue                 // shared with the Store's transactions (session_notify.go)
	refusals *refusalLog                  // shared with the Store's transactions (login.go)
	admits   *groupCommit[admitRequest]   // session_admit_batch.go
	connects *groupCommit[connectRequest] // session_admit.go
	grouped  *groupCommit[groupedTx]      // store_group.go
	// after holds what runs once the outermost transaction commits.
	after *[]func()
	// undo holds what runs when the outermost transaction rolls back
	// (compensations of outside effects, like a minted Postgres role).
	undo *[]func()
	// search holds, on SQLite, the sessions whose warehouse search rows
	// the outermost transaction writes just before it commits (audit.go).
	search *[]string
}

// NewStore wraps a migrated database.
func NewStore(db *gorm.DB, dialect Dialect, opts Options) *Store {
	go dummyHash() // ready before the first login with an unknown name (password.go)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LoginLifetime == 0 {
		opts.LoginLifetime = 7 * 24 * time.Hour
	}
	if opts.LoginIdleTimeout == 0 {
		opts.LoginIdleTimeout = 24 * time.Hour
	}
	if opts.PasswordParams == nil {
		p := DefaultPasswordParams
		opts.PasswordParams = &p
	}
	if opts.ExportBatch <= 0 {
		opts.ExportBatch = defaultExportBatch
	}
	if opts.PasswordHashes == nil {
		opts.PasswordHashes = NewPasswordHashLimiter(DefaultPasswordHashSlots, DefaultPasswordHashWait)
	}
	return &Store{db: db, dialect: dialect, opts: opts, scopes: &scopeCache{}, grants: &grantCache{},
		notes: &notifyQueue{db: db, instanceID: opts.Sessions.InstanceID, linger: notifyLinger}, refusals: &refusalLog{}, admits: &groupCommit[admitRequest]{max: maxAdmitBatch},
		connects: &groupCommit[connectRequest]{max: maxConnectBatch, linger: connectLinger}, grouped: &groupCommit[groupedTx]{max: maxGroupedTx}}
}

// Dialect tells which database the Store uses.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB exposes the underlying handle for wiring (migrations, health checks,
// benchmarks' seeding). Domain code must go through use-case methods.
func (s *Store) DB() *gorm.DB { return s.db }

// now is the Store's clock in UTC with microsecond precision (what both
// databases keep).
func (s *Store) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// Now exposes the Store's clock to callers that must agree with it.
func (s *Store) Now() time.Time { return s.now() }

// LoginLifetime is a login's absolute lifetime (Options.LoginLifetime, 7
// days by default): the browser cookie that holds a login lives as long.
func (s *Store) LoginLifetime() time.Duration { return s.opts.LoginLifetime }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Transact runs fn in one database transaction with a Store bound to it;
// fn's error rolls everything back. Nested calls join the outer transaction.
func (s *Store) Transact(ctx context.Context, fn func(tx *Store) error) error {
	if s.inTx {
		return fn(s)
	}
	var after, undo []func()
	var search []string
	err := s.db.WithContext(ctx).Transaction(func(gtx *gorm.DB) error {
		after, search = after[:0], search[:0]
		tx := s.txStore(gtx, &after, &undo, &search)
		if err := fn(tx); err != nil {
			return err
		}
		return tx.writeSearchRows(ctx, search)
	})
	if err != nil {
		for _, f := range undo {
			f()
		}
	}
	if err == nil {
		for _, f := range after {
			f()
		}
	}
	return err
}

// txStore is the Store bound to the transaction gtx, its after-commit hooks
// and compensations collected in after and undo, and the sessions whose
// search rows it writes before the commit in search.
func (s *Store) txStore(gtx *gorm.DB, after, undo *[]func(), search *[]string) *Store {
	return &Store{db: gtx, dialect: s.dialect, opts: s.opts, inTx: true, scopes: s.scopes, grants: s.grants, notes: s.notes,
		refusals: s.refusals, after: after, undo: undo, search: search}
}

// afterCommit runs f once the current transaction has committed (at once
// outside a transaction); a rolled-back transaction drops it.
func (s *Store) afterCommit(f func()) {
	if s.after == nil {
		f()
		return
	}
	*s.after = append(*s.after, f)
}

// onRollback runs f if the current transaction rolls back (never outside
// one): the compensation of an outside effect made inside it.
func (s *Store) onRollback(f func()) {
	if s.undo != nil {
		*s.undo = append(*s.undo, f)
	}
}

// q starts a query bound to ctx.
func (s *Store) q(ctx context.Context) *gorm.DB { return s.db.WithContext(ctx) }

// rq is q for a read that may run on the read pool (Options.Reads): outside
// a transaction, when there is one. A read pool connection sees every
// transaction committed before the read began, so a request still reads
// its own earlier writes.
func (s *Store) rq(ctx context.Context) *gorm.DB {
	if s.opts.Reads != nil && !s.inTx {
		return s.opts.Reads.WithContext(ctx)
	}
	return s.q(ctx)
}

// first loads one row or returns ErrNotFound.
func first[T any](db *gorm.DB, what, id string) (*T, error) {
	var v T
	err := db.Where("id = ?", id).Take(&v).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("%s %s: %w", what, id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("load %s %s: %w", what, id, err)
	}
	return &v, nil
}

// ListOptions are the common list parameters.
type ListOptions struct {
	Search  string
	Page    int // 1-based
	PerPage int // default 25, at most 200
}

func (o ListOptions) norm() ListOptions {
	if o.Page < 1 {
		o.Page = 1
	}
	if o.PerPage <= 0 {
		o.PerPage = 25
	}
	if o.PerPage > 200 {
		o.PerPage = 200
	}
	return o
}

func (o ListOptions) offset() int { return (o.Page - 1) * o.PerPage }

// Page is one page of a list with the total count of matching items.
type Page[T any] struct {
	Items   []T
	Total   int64
	Page    int
	PerPage int
}

// Pages is the number of pages.
func (p Page[T]) Pages() int {
	if p.PerPage == 0 {
		return 1
	}
	n := int((p.Total + int64(p.PerPage) - 1) / int64(p.PerPage))
	if n < 1 {
		n = 1
	}
	return n
}

// MaxSearchLength bounds a list's search text, in characters: longer text
// is cut to it (SQLite refuses LIKE patterns past 50,000 bytes, and no name
// is this long anyway).
const MaxSearchLength = 200

// CutSearch returns s cut to MaxSearchLength characters.
func CutSearch(s string) string {
	n := 0
	for i := range s {
		if n == MaxSearchLength {
			return s[:i]
		}
		n++
	}
	return s
}

// likePattern turns a user's search text (cut to MaxSearchLength) into a
// case-insensitive LIKE pattern.
func likePattern(s string) string {
	s = CutSearch(s)
	r := make([]rune, 0, len(s)+2)
	r = append(r, '%')
	for _, c := range s {
		if c == '%' || c == '_' || c == '\\' {
			r = append(r, '\\')
		}
		r = append(r, c)
	}
	return string(append(r, '%'))
}

// ilike is a case-insensitive LIKE condition on column for both databases.
func (s *Store) ilike(column string) string {
	return "lower(" + column + ") LIKE lower(?) ESCAPE '\\'"
}

// bumpVersion applies updates (may be none) to the row of model's table with
// this id and version, and increments the version; a version that no longer
// matches is ErrConflict, a duplicate name a field error naming what.
func (s *Store) bumpVersion(ctx context.Context, model any, what, id string, version int, updates map[string]any) error {
	if updates == nil {
		updates = map[string]any{}
	}
	updates["updated_at"], updates["version"] = s.now(), gorm.Expr("version + 1")
	res := s.q(ctx).Model(model).Where("id = ? AND version = ?", id, version).Updates(updates)
	if res.Error != nil {
		if isUniqueViolation(res.Error) {
			return Invalid("name", fmt.Sprintf("Another %s in this scope is already named %q.", what, updates["name"]))
		}
		return fmt.Errorf("update %s %s: %w", what, id, res.Error)
	}
	if res.RowsAffected == 0 {
		return stale("update " + what + " " + id)
	}
	return nil
}
