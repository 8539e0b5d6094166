package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"gatehouse/models/acl"
)

// RevocationOptions tune the queue of pending revocations. Zero values
// take the defaults noted.
type RevocationOptions struct {
	// Kick is called after each commit that queued revocations, so that
	// the loop owned by run works them at once. Nil: the loop's interval.
	Kick func()
	// RetryBase is the delay before the first retry of a failed
	// revocation, doubled each attempt (default 2 s) up to RetryMax
	// (default 5 min).
	RetryBase, RetryMax time.Duration
	// Lease is how long a claimed revocation is left to the pass that
	// claimed it (default 2 min; at least 3×Timeout); a crashed
	// instance's claims are taken again after it. A pass starts no
	// revocation later than Lease - 2×Timeout after its claim, so that
	// every revocation it started is done and recorded inside its lease;
	// the rows it did not start are released.
	Lease time.Duration
	// Timeout bounds one revocation at its server (default 30 s).
	Timeout time.Duration
	// Batch is how many revocations one pass claims (default 200);
	// Parallel how many of them run at once (default 8).
	Batch, Parallel int
}

// The states of a revocation.
const (
	RevocationPending = "pending"
	RevocationRevoked = "revoked"
	RevocationFailed  = "failed"
)

// revokeTimeout bounds one revocation at its server (the default of
// RevocationOptions.Timeout).
const revokeTimeout = 30 * time.Second

// Revocation is one credential's revocation in the queue: pending, revoked
// (RevokedAt), or failed (LastError, retried at NextAttemptAt). Attempts
// counts the tries made.
type Revocation struct {
	SessionID     string
	CredentialID  string
	Purpose       string
	LibraryID     string
	LibraryType   string
	Subject       string
	Payload       string `json:"-"`
	State         string
	Attempts      int
	LastError     string
	CreatedAt     time.Time
	NextAttemptAt time.Time
	LeaseUntil    *time.Time
	RevokedAt     *time.Time
}

// TableName is the queue's table.
func (Revocation) TableName() string { return "credential_revocations" }

func (o RevocationOptions) norm() RevocationOptions {
	if o.RetryBase <= 0 {
		o.RetryBase = 2 * time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 5 * time.Minute
	}
	if o.Timeout <= 0 {
		o.Timeout = revokeTimeout
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.Lease < 3*o.Timeout { // leaves a pass at least Timeout to start revocations
		o.Lease = 3 * o.Timeout
	}
	if o.Batch <= 0 {
		o.Batch = 200
	}
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
	return o
}

// queueRevocations writes, in the terminating transaction, one pending
// revocation per live Postgres role of the sessions, with its sealed
// secret (the connection to revoke with). It returns how many it queued.
func (s *Store) queueRevocations(ctx context.Context, sessionIDs []string, now time.Time) (int64, error) {
	role := s.jsonText("facts", "role")
	res := s.q(ctx).Exec(`INSERT INTO credential_revocations (session_id, credential_id, purpose, library_id, library_type, subject,
		payload, state, attempts, last_error, created_at, next_attempt_at)
		SELECT session_id, credential_id, purpose, library_id, source, COALESCE(`+role+`, ''), secret, 'pending', 0, '', ?, ?
		FROM session_credentials WHERE session_id IN ? AND revoked_at IS NULL AND source = ?
		ON CONFLICT DO NOTHING`, now, now, sessionIDs, LibraryPostgres)
	if res.Error != nil {
		return 0, fmt.Errorf("queue revocations: %w", res.Error)
	}
	return res.RowsAffected, nil
}

func (s *Store) kickRevocations() {
	if k := s.opts.Revocations.Kick; k != nil {
		k()
	}
}

// RevocationFailure is one failed attempt of a pass.
type RevocationFailure struct {
	SessionID, CredentialID, Subject string
	Attempts                         int
	Err                              string
}

// RevocationResult is what one pass of the queue did.
type RevocationResult struct {
	Revoked  int
	Failures []RevocationFailure
	// Released counts the claimed rows the pass did not start (its time
	// inside the lease was up): they are due again at once.
	Released int
}

// WorkRevocations runs one pass of the revocation queue: it claims the due
// revocations (on Postgres with FOR UPDATE SKIP LOCKED, so instances take
// disjoint sets; a claim is a lease that a crashed instance's successor
// takes again when it ends), revokes them at their servers a few at a time
// outside any transaction, and records each outcome: revoked (and in the
// warehouse), or failed with its error, retried after an exponential
// backoff. Safe when every instance runs it at once.
func (s *Store) WorkRevocations(ctx context.Context) (RevocationResult, error) {
	var res RevocationResult
	o := s.opts.Revocations.norm()
	now := s.now()
	lease := now.Add(o.Lease)
	// The last moment a revocation may start: it is then done (Timeout)
	// and recorded (another Timeout at most) before the lease ends, so no
	// other instance takes a row this pass is working.
	lastStart := lease.Add(-2 * o.Timeout)
	owner := newSecret(16)
	due := "state <> 'revoked' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)"
	sub := s.skipLockedRows("SELECT session_id, credential_id, purpose FROM credential_revocations WHERE " + due + " ORDER BY next_attempt_at LIMIT ?")
	var claimed []Revocation
	err := s.q(ctx).Raw(`UPDATE credential_revocations SET lease_until = ?, lease_owner = ?
		WHERE (session_id, credential_id, purpose) IN (`+sub+`) AND `+due+` RETURNING *`,
		lease, owner, now, now, o.Batch, now, now).Scan(&claimed).Error
	if err != nil {
		return res, fmt.Errorf("claim revocations: %w", err)
	}
	if len(claimed) == 0 {
		return res, nil
	}
	be, err := s.backend()
	if err != nil {
		return res, err
	}
	// Each library's current connection, read once per pass (not found:
	// the library is gone; its revocations use the connection sealed at
	// issue; another error fails that library's revocations).
	type current struct {
		conn PostgresConn
		err  error
	}
	conns := map[string]current{}
	for _, r := range claimed {
		if _, seen := conns[r.LibraryID]; !seen {
			conn, err := s.libraryConn(ctx, r.LibraryID)
			conns[r.LibraryID] = current{conn, err}
		}
	}
	errs := make([]error, len(claimed))
	started := make([]bool, len(claimed))
	sem := make(chan struct{}, o.Parallel)
	var wg sync.WaitGroup
	for i := range claimed {
		sem <- struct{}{}
		if s.now().After(lastStart) {
			<-sem
			break // the rest is released below, for the next pass (or instance)
		}
		started[i] = true
		claimed[i].Attempts++
		wg.Go(func() {
			defer func() { <-sem }()
			cur := conns[claimed[i].LibraryID]
			rctx, cancel := context.WithTimeout(ctx, o.Timeout)
			defer cancel()
			errs[i] = s.revokeOne(rctx, be, &claimed[i], cur.conn, cur.err)
		})
	}
	wg.Wait()
	done := s.now()
	var revoked []Revocation
	var unstarted []Revocation
	for i, r := range claimed {
		if !started[i] {
			unstarted = append(unstarted, r)
			continue
		}
		if errs[i] == nil {
			revoked = append(revoked, r)
			continue
		}
		msg := excerpt(errs[i].Error(), 1000)
		if err := s.q(ctx).Exec(`UPDATE credential_revocations SET state = 'failed', last_error = ?, next_attempt_at = ?, lease_until = NULL,
			attempts = attempts + 1 WHERE session_id = ? AND credential_id = ? AND purpose = ? AND lease_owner = ? AND state <> 'revoked'`,
			msg, done.Add(backoff(o.RetryBase, o.RetryMax, r.Attempts)), r.SessionID, r.CredentialID, r.Purpose, owner).Error; err != nil {
			return res, fmt.Errorf("record failed revocation: %w", err)
		}
		res.Failures = append(res.Failures, RevocationFailure{SessionID: r.SessionID, CredentialID: r.CredentialID,
			Subject: r.Subject, Attempts: r.Attempts, Err: msg})
	}
	for _, r := range unstarted {
		if err := s.q(ctx).Exec(`UPDATE credential_revocations SET lease_until = NULL WHERE session_id = ? AND credential_id = ? AND purpose = ?
			AND lease_owner = ? AND state <> 'revoked'`, r.SessionID, r.CredentialID, r.Purpose, owner).Error; err != nil {
			return res, fmt.Errorf("release revocation: %w", err)
		}
	}
	for _, part := range chunks(revoked, 300) {
		err := s.Transact(ctx, func(tx *Store) error {
			return tx.recordRevoked(ctx, part, done)
		})
		if err != nil {
			return res, err
		}
		res.Revoked += len(part)
	}
	res.Released = len(unstarted)
	return res, nil
}

// recordRevoked marks revocations done (dropping their sealed payload),
// records them in the warehouse and tells the live pages.
func (s *Store) recordRevoked(ctx context.Context, rs []Revocation, at time.Time) error {
	keys := make([]string, 0, len(rs))
	args := []any{at}
	for _, r := range rs {
		keys = append(keys, "(?, ?, ?)")
		args = append(args, r.SessionID, r.CredentialID, r.Purpose)
	}
	in := "(session_id, credential_id, purpose) IN (" + strings.Join(keys, ", ") + ")"
	if err := s.q(ctx).Exec(`UPDATE credential_revocations SET state = 'revoked', revoked_at = ?, payload = '', last_error = '',
		lease_until = NULL, attempts = attempts + 1 WHERE state <> 'revoked' AND `+in, args...).Error; err != nil {
		return fmt.Errorf("record revocations: %w", err)
	}
	err := s.q(ctx).Exec(`INSERT INTO warehouse_credential_revocations (session_id, credential_id, purpose, revoked_at)
		SELECT r.session_id, r.credential_id, r.purpose, r.revoked_at FROM credential_revocations r
		WHERE r.state = 'revoked' AND `+strings.ReplaceAll(in, "(session_id, credential_id, purpose)", "(r.session_id, r.credential_id, r.purpose)")+`
		AND EXISTS (SELECT 1 FROM warehouse_sessions w WHERE w.session_id = r.session_id)
		ON CONFLICT DO NOTHING`, args[1:]...).Error
	if err != nil {
		return fmt.Errorf("warehouse revocations: %w", err)
	}
	// The live session pages show the new state.
	ids := make([]string, 0, len(rs))
	for _, r := range rs {
		ids = append(ids, r.SessionID)
	}
	var changes []SessionChange
	if err := s.q(ctx).Raw("SELECT id AS session_id, user_id FROM sessions WHERE id IN ?", uniqueIDs(ids)).Scan(&changes).Error; err != nil {
		return fmt.Errorf("sessions of revocations: %w", err)
	}
	return s.publishChanges(ctx, changes)
}

// revokeOne drops a Postgres role: with its library's current connection
// cur (read by WorkRevocations; curErr its error) when the library still
// exists, else with the one sealed at issue.
func (s *Store) revokeOne(ctx context.Context, be LibraryBackend, r *Revocation, cur PostgresConn, curErr error) error {
	var sec issuedSecret
	if err := s.unseal(r.Payload, credentialAAD(r.SessionID, r.CredentialID), &sec); err != nil {
		return fmt.Errorf("decrypt revocation: %w", err)
	}
	conn := sec.Conn
	if curErr == nil {
		conn = cur
	} else if !errors.Is(curErr, ErrNotFound) {
		return curErr
	}
	return be.DropPostgresRole(ctx, conn, r.Subject, sec.Revoke)
}

// RetryRevocation makes a failed or pending revocation due now (and wakes
// the queue after commit), recorded in the change log on the session. Who may cancel the session's project's sessions may (not
// cancel:self). Errors: ErrNotFound, ErrForbidden, ErrInvalid (already
// revoked).
func (s *Store) RetryRevocation(ctx context.Context, a Actor, sessionID, credentialID string) error {
	if !a.Authenticated() {
		return ErrUnauthenticated
	}
	var h HistorySession
	if err := s.q(ctx).Where("session_id = ?", sessionID).Take(&h).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("session %s: %w", sessionID, ErrNotFound)
		}
		return err
	}
	scope, err := s.historyScope(ctx, &h)
	if err != nil {
		return err
	}
	res := acl.Resource{Type: "session", ID: sessionID, ScopeID: scope}
	if err := s.authorize(ctx, a, ActionCancel, res); err != nil {
		return notFoundIfHidden(err)
	}
	return s.Transact(ctx, func(tx *Store) error {
		var before []struct {
			State         string
			Attempts      int
			NextAttemptAt time.Time
		}
		if err := tx.forUpdate(tx.q(ctx).Table("credential_revocations")).Select("state, attempts, next_attempt_at").
			Where("session_id = ? AND credential_id = ? AND state <> 'revoked'", sessionID, credentialID).
			Order("purpose").Find(&before).Error; err != nil {
			return fmt.Errorf("retry revocation: %w", err)
		}
		now := tx.now()
		r := tx.q(ctx).Exec(`UPDATE credential_revocations SET next_attempt_at = ? WHERE session_id = ? AND credential_id = ? AND state <> 'revoked'`,
			now, sessionID, credentialID)
		if r.Error != nil {
			return fmt.Errorf("retry revocation: %w", r.Error)
		}
		if r.RowsAffected == 0 || len(before) == 0 {
			return Invalid("revocation", "This credential has no revocation waiting: it is revoked already.")
		}
		tx.afterCommit(s.kickRevocations)
		b := before[0]
		e := ChangeEvent{Action: ChangeRetryRevocation, ResourceType: "session", ResourceID: sessionID, ResourceName: sessionID, ScopeID: scope}
		return tx.writeChange(ctx, a, &e,
			map[string]any{"credential_id": credentialID, "state": b.State, "attempts": b.Attempts, "next_attempt_at": b.NextAttemptAt.UTC()},
			map[string]any{"credential_id": credentialID, "state": b.State, "attempts": b.Attempts, "next_attempt_at": now.UTC()})
	})
}

// ChangeRetryRevocation is the change-log action of RetryRevocation (on
// the session).
const ChangeRetryRevocation = "retry-revocation"

// sessionRevocations returns the queue rows of a session (without payload).
func (s *Store) sessionRevocations(ctx context.Context, sessionID string) (map[string]*Revocation, error) {
	var rs []Revocation
	if err := s.q(ctx).Omit("payload").Where("session_id = ?", sessionID).Find(&rs).Error; err != nil {
		return nil, fmt.Errorf("revocations of %s: %w", sessionID, err)
	}
	out := make(map[string]*Revocation, len(rs))
	for i := range rs {
		rs[i].Payload = ""
		out[rs[i].CredentialID] = &rs[i]
	}
	return out, nil
}

// CountRevocations counts revocations not yet done, by state (pending,
// failed), for the metrics only (no actor).
func (s *Store) CountRevocations(ctx context.Context) (pending, failed int64, err error) {
	var rows []struct {
		State string
		N     int64
	}
	if err := s.q(ctx).Raw("SELECT state, COUNT(*) AS n FROM credential_revocations WHERE state <> 'revoked' GROUP BY state").Scan(&rows).Error; err != nil {
		return 0, 0, fmt.Errorf("count revocations: %w", err)
	}
	for _, r := range rows {
		if r.State == RevocationFailed {
			failed = r.N
		} else {
			pending = r.N
		}
	}
	return pending, failed, nil
}
