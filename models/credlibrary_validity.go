package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// A session's expiration moves (extended, or shortened by an
// administrator): its library credentials follow.
//
//   - An SSH credential's facts take the new validity at once, in the
//     moving transaction: every certificate signed from then on (each
//     `gatehouse connect`, each pasted key) ends at the new expiration plus
//     the clock-skew allowance. A certificate signed before cannot change:
//     after an extension the user gets a fresh one by connecting again;
//     after a shortening the old one is refused through the KRL once the
//     session terminates (at its new expiration at the latest).
//   - A Postgres role's VALID UNTIL lives on its server. The moving
//     transaction writes the wanted value (session_credentials.
//     valid_until_wanted); after commit the revocation loop runs
//     ALTER ROLE … VALID UNTIL at the server and then records the new
//     validity in the credential's facts. Durable like the revocation
//     queue: a failure or a restart leaves the wanted value, retried at the
//     loop's next pass.

// moveCredentialValidity records, in the transaction that moved the
// session's expiration from → to, the new validity of its live library
// credentials.
func (s *Store) moveCredentialValidity(ctx context.Context, sessionID string, from, to time.Time) error {
	var rows []SessionCredentialRow
	if err := s.q(ctx).Where("session_id = ? AND revoked_at IS NULL AND source IN ?", sessionID, []string{LibraryPostgres, LibrarySSHCert}).
		Find(&rows).Error; err != nil {
		return fmt.Errorf("credentials of %s: %w", sessionID, err)
	}
	wanted := false
	for _, r := range rows {
		key := []any{r.SessionID, r.CredentialID, r.Purpose}
		switch r.Source {
		case LibrarySSHCert:
			var facts issuedFacts
			_ = json.Unmarshal([]byte(r.Facts), &facts)
			facts.ValidBefore = to.Add(facts.ValidBefore.Sub(from)) // keeps the clock-skew allowance
			fj, _ := json.Marshal(facts)
			if err := s.q(ctx).Exec("UPDATE session_credentials SET facts = ? WHERE session_id = ? AND credential_id = ? AND purpose = ?",
				append([]any{string(fj)}, key...)...).Error; err != nil {
				return fmt.Errorf("move certificate validity: %w", err)
			}
		case LibraryPostgres:
			if err := s.q(ctx).Exec("UPDATE session_credentials SET valid_until_wanted = ? WHERE session_id = ? AND credential_id = ? AND purpose = ?",
				append([]any{to}, key...)...).Error; err != nil {
				return fmt.Errorf("move role validity: %w", err)
			}
			wanted = true
		}
	}
	if wanted {
		s.afterCommit(s.kickRevocations)
	}
	return nil
}

// validityChange is a Postgres role whose VALID UNTIL is to move.
type validityChange struct {
	SessionID, CredentialID, Purpose, LibraryID, Secret, Facts string
	ValidUntilWanted                                           time.Time
}

// WorkCredentialValidity applies the wanted VALID UNTIL of Postgres roles
// whose session's expiration moved (ALTER ROLE at their server, each
// bounded like a revocation), then records it in the credential's facts.
// A failure is left for the next pass (after one failure, the other roles
// of the same library wait for that pass too). Run by the revocation loop;
// safe when every instance runs it at once (the same value written twice
// is harmless, and a value overtaken meanwhile is wanted again).
func (s *Store) WorkCredentialValidity(ctx context.Context) (applied int, failures []RevocationFailure, err error) {
	var rows []validityChange
	if err := s.q(ctx).Raw(`SELECT session_id, credential_id, purpose, library_id, secret, facts, valid_until_wanted FROM session_credentials
		WHERE valid_until_wanted IS NOT NULL AND revoked_at IS NULL AND source = ? ORDER BY valid_until_wanted LIMIT 100`, LibraryPostgres).
		Scan(&rows).Error; err != nil {
		return 0, nil, fmt.Errorf("roles to move: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil, nil
	}
	be, err := s.backend()
	if err != nil {
		return 0, nil, err
	}
	o := s.opts.Revocations.norm()
	broken := map[string]bool{}
	for _, r := range rows {
		var facts issuedFacts
		_ = json.Unmarshal([]byte(r.Facts), &facts)
		if broken[r.LibraryID] {
			continue
		}
		if err := s.alterValidUntil(ctx, be, r, facts.Role, o.Timeout); err != nil {
			broken[r.LibraryID] = true
			failures = append(failures, RevocationFailure{SessionID: r.SessionID, CredentialID: r.CredentialID, Subject: facts.Role,
				Err: excerpt(err.Error(), 1000)})
			continue
		}
		facts.ValidBefore = r.ValidUntilWanted
		if err := s.Transact(ctx, func(tx *Store) error { return tx.recordValidity(ctx, r, facts) }); err != nil {
			return applied, failures, err
		}
		applied++
	}
	return applied, failures, nil
}

// alterValidUntil runs ALTER ROLE … VALID UNTIL at the role's server: with
// its library's current connection, or the one sealed at issue when the
// library is gone.
func (s *Store) alterValidUntil(ctx context.Context, be LibraryBackend, r validityChange, role string, timeout time.Duration) error {
	var sec issuedSecret
	if err := s.unseal(r.Secret, credentialAAD(r.SessionID, r.CredentialID), &sec); err != nil {
		return fmt.Errorf("decrypt credential: %w", err)
	}
	conn, err := s.libraryConn(ctx, r.LibraryID)
	if errors.Is(err, ErrNotFound) {
		conn, err = sec.Conn, nil
	}
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return be.ExecPostgres(rctx, conn, postgresStatements("ALTER ROLE {{role}} VALID UNTIL {{valid_until}}", role, "", r.ValidUntilWanted, nil))
}

// recordValidity records that the role now ends at r.ValidUntilWanted: the
// facts take it and the wanted value is cleared, unless it moved again
// meanwhile (then it stays, for the next pass). Should another instance
// have cleared a later value meanwhile (this one's ALTER may have landed
// after it), the session's current expiration is wanted again.
func (s *Store) recordValidity(ctx context.Context, r validityChange, facts issuedFacts) error {
	key := []any{r.SessionID, r.CredentialID, r.Purpose}
	cond := "session_id = ? AND credential_id = ? AND purpose = ?"
	if err := s.lockRows(ctx, "session_credentials", cond, key...); err != nil {
		return fmt.Errorf("lock credential: %w", err)
	}
	var cur []validityRow
	if err := s.q(ctx).Raw("SELECT valid_until_wanted, revoked_at FROM session_credentials WHERE "+cond, key...).Scan(&cur).Error; err != nil {
		return fmt.Errorf("credential validity: %w", err)
	}
	if len(cur) == 0 || cur[0].RevokedAt != nil {
		return nil // ended meanwhile: its role is being dropped
	}
	switch w := cur[0].ValidUntilWanted; {
	case w == nil:
		return s.q(ctx).Exec(`UPDATE session_credentials SET valid_until_wanted = (SELECT expires_at FROM sessions WHERE sessions.id = session_id)
			WHERE `+cond, key...).Error
	case !w.Equal(r.ValidUntilWanted):
		return nil
	}
	fj, _ := json.Marshal(facts)
	return s.q(ctx).Exec("UPDATE session_credentials SET facts = ?, valid_until_wanted = NULL WHERE "+cond, append([]any{string(fj)}, key...)...).Error
}

// validityRow is what recordValidity reads of a credential.
type validityRow struct {
	ValidUntilWanted *time.Time
	RevokedAt        *time.Time
}
