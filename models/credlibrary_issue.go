package models

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// issuedSecret is the sealed part of a dynamic credential while it lives:
// its secret and what revoking it needs if the library is gone by then.
type issuedSecret struct {
	Password string       `json:"password,omitempty"`
	Conn     PostgresConn `json:"conn"`
	Revoke   string       `json:"revoke,omitempty"`
}

// issuedFacts are a dynamic credential's non-secret facts (the session
// page, the audit record).
type issuedFacts struct {
	Role        string    `json:"role,omitempty"`
	Grants      []string  `json:"grants,omitempty"`
	Principals  []string  `json:"principals,omitempty"`
	Extensions  []string  `json:"extensions,omitempty"`
	ValidAfter  time.Time `json:"valid_after"`
	ValidBefore time.Time `json:"valid_before"`
}

func credentialAAD(sessionID, credentialID string) string { return sessionID + "/" + credentialID }

type librarySource struct {
	LibraryID, Type, Name, StoreID, StoreName, Settings, Secret, Purpose string
}

// issueLibraryCredentials mints one credential per library attached to the
// session's target. A Postgres role is created on its server now; should
// the start roll back after that, the role is dropped again. An SSH
// credential is a promise to sign: its certificate is signed when the user
// gives a public key (SignSessionSSHKey, SessionCredentialsByToken).
func (s *Store) issueLibraryCredentials(ctx context.Context, sess *Session, userName, targetName string, now time.Time) ([]IssuedCredential, []SessionCredentialRow, error) {
	var srcs []librarySource
	q := `SELECT cl.id AS library_id, cl.type, cl.name, cl.store_id, cs.name AS store_name, cl.settings, cl.secret, y.purpose
		FROM target_library_sources y JOIN credential_libraries cl ON cl.id = y.library_id
		JOIN credential_stores cs ON cs.id = cl.store_id WHERE y.target_id = ? ORDER BY cl.id`
	if err := s.q(ctx).Raw(s.keyShare(q, "cl, cs"), sess.TargetID).Scan(&srcs).Error; err != nil {
		return nil, nil, fmt.Errorf("library sources of %s: %w", sess.TargetID, err)
	}
	if len(srcs) == 0 {
		return nil, nil, nil
	}
	be, err := s.backend()
	if err != nil {
		return nil, nil, err
	}
	var out []IssuedCredential
	var rows []SessionCredentialRow
	for _, src := range srcs {
		lib := CredentialLibrary{ID: src.LibraryID, Settings: src.Settings}
		set := lib.Decoded()
		c := IssuedCredential{Name: src.Name, StoreID: src.StoreID, StoreName: src.StoreName, LibraryID: src.LibraryID,
			Source: src.Type, Purpose: src.Purpose}
		row := SessionCredentialRow{SessionID: sess.ID, LibraryID: src.LibraryID, StoreID: src.StoreID, Name: src.Name,
			Purpose: src.Purpose, Source: src.Type, IssuedAt: now}
		var facts issuedFacts
		switch src.Type {
		case LibraryPostgres:
			c.ID, c.Type = NewID(PrefixIssuedPostgres), CredentialPostgresRole
			var sec librarySecret
			if err := s.unseal(src.Secret, src.LibraryID, &sec); err != nil {
				return nil, nil, fmt.Errorf("decrypt library %s: %w", src.LibraryID, err)
			}
			d := newTemplateData(sess.UserID, userName, sess.ID, sess.TargetID, targetName, safeName)
			role, err := roleName(set.UsernameTemplate, d)
			if err != nil {
				return nil, nil, Invalid("target", fmt.Sprintf("Credential library %s could not name a role: %v", src.Name, err))
			}
			conn := PostgresConn{URL: set.URL, Password: sec.Password}
			c.Username, c.Password = role, newSecret(24)
			facts = issuedFacts{Role: role, Grants: set.GrantRoles, ValidAfter: now, ValidBefore: sess.ExpiresAt}
			sql := postgresStatements(set.CreationStatements, role, c.Password, sess.ExpiresAt, set.GrantRoles)
			if err := be.ExecPostgres(ctx, conn, sql); err != nil {
				return nil, nil, Invalid("target", fmt.Sprintf("Credential library %s could not create the role %s: %v", src.Name, role, err))
			}
			revoke := postgresStatements(set.RevocationStatements, role, "", time.Time{}, nil)
			s.onRollback(func() {
				// The start failed after the role was made: drop it again.
				dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
				defer cancel()
				_ = be.DropPostgresRole(dctx, conn, role, revoke)
			})
			if row.Secret, err = s.seal(credentialAAD(sess.ID, c.ID), issuedSecret{Password: c.Password, Conn: conn, Revoke: revoke}); err != nil {
				return nil, nil, fmt.Errorf("encrypt issued credential: %w", err)
			}
		case LibrarySSHCert:
			c.ID, c.Type = NewID(PrefixIssuedSSH), CredentialSSHCertificate
			ps, err := principals(set.PrincipalsTemplate, newTemplateData(sess.UserID, userName, sess.ID, sess.TargetID, targetName, safePrincipal))
			if err != nil {
				return nil, nil, Invalid("target", fmt.Sprintf("Credential library %s could not name principals: %v", src.Name, err))
			}
			skew := time.Duration(set.ClockSkewSeconds) * time.Second
			facts = issuedFacts{Principals: ps, Extensions: set.Extensions, ValidAfter: now.Add(-skew), ValidBefore: sess.ExpiresAt.Add(skew)}
			c.Username, c.Principals = ps[0], ps
		default:
			return nil, nil, fmt.Errorf("library %s: unknown type %q", src.LibraryID, src.Type)
		}
		vb := facts.ValidBefore
		c.ValidBefore = &vb
		fj, _ := json.Marshal(facts)
		row.CredentialID, row.Type, row.Facts = c.ID, c.Type, string(fj)
		out = append(out, c)
		rows = append(rows, row)
	}
	return out, rows, nil
}

// maxCertificates bounds the certificates signed per SSH credential.
const maxCertificates = 20

// SignSessionSSHKey signs a public key (authorized_keys format, pasted on
// the session page) with the CA of every SSH library of the session; only
// the session's own user may, while it lives. Errors: ErrNotFound,
// ErrForbidden, ErrInvalid ("public_key": not a public key, no SSH library,
// too many certificates).
func (s *Store) SignSessionSSHKey(ctx context.Context, a Actor, sessionID, publicKey string) ([]IssuedCredential, error) {
	var out []IssuedCredential
	err := s.Transact(ctx, func(tx *Store) error {
		sess, err := tx.readSession(ctx, a, sessionID)
		if err != nil {
			return err
		}
		if sess.UserID != a.UserID {
			return fmt.Errorf("sign a key for another user's session: %w", ErrForbidden)
		}
		out, err = tx.signSSH(ctx, sess, publicKey, true)
		return err
	})
	return out, err
}

// SessionCredentialsByToken returns, to `gatehouse connect`, every
// credential of the live session the token authorizes, with secrets;
// SSH certificates are signed for publicKey when given. Errors:
// ErrNotFound (unknown token), ErrSessionEnded, ErrSessionExpired,
// ErrInvalid ("public_key").
func (s *Store) SessionCredentialsByToken(ctx context.Context, token, publicKey string) ([]IssuedCredential, error) {
	var out []IssuedCredential
	err := s.Transact(ctx, func(tx *Store) error {
		sess, err := tx.SessionByToken(ctx, token)
		if err != nil {
			return err
		}
		var signed []IssuedCredential
		if publicKey != "" {
			if signed, err = tx.signSSH(ctx, sess, publicKey, false); err != nil {
				return err
			}
		}
		if out, err = tx.liveCredentials(ctx, sess.ID); err != nil {
			return err
		}
		for i := range out {
			for _, sc := range signed {
				if sc.ID == out[i].ID {
					out[i].Certificate = sc.Certificate
				}
			}
		}
		return nil
	})
	return out, err
}

// signSSH signs publicKey for each live SSH credential of sess. required:
// having no SSH credential is an error.
func (s *Store) signSSH(ctx context.Context, sess *Session, publicKey string, required bool) ([]IssuedCredential, error) {
	if sess.State.Final() {
		return nil, fmt.Errorf("session %s: %w", sess.ID, ErrSessionEnded)
	}
	publicKey = strings.TrimSpace(publicKey)
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(publicKey))
	if err != nil || len(publicKey) > 16384 {
		return nil, Invalid("public_key", "Public key must be one OpenSSH public key, like the line in ~/.ssh/id_ed25519.pub.")
	}
	if _, isCert := pk.(*ssh.Certificate); isCert {
		return nil, Invalid("public_key", "Paste the public key itself, not a certificate.")
	}
	var creds []SessionCredentialRow
	if err := s.q(ctx).Where("session_id = ? AND source = ? AND revoked_at IS NULL", sess.ID, LibrarySSHCert).
		Order("credential_id").Find(&creds).Error; err != nil {
		return nil, fmt.Errorf("ssh credentials of %s: %w", sess.ID, err)
	}
	if len(creds) == 0 {
		if required {
			return nil, Invalid("public_key", "This session has no SSH certificate library: there is nothing to sign.")
		}
		return nil, nil
	}
	be, err := s.backend()
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []IssuedCredential
	for _, c := range creds {
		var n int64
		if err := s.q(ctx).Table("ssh_certificates").Where("session_id = ? AND credential_id = ?", sess.ID, c.CredentialID).Count(&n).Error; err != nil {
			return nil, fmt.Errorf("count certificates: %w", err)
		}
		if n >= maxCertificates {
			return nil, Invalid("public_key", fmt.Sprintf("This session has %d certificates already: start a new session.", n))
		}
		row, err := first[libraryRow](s.q(ctx), "credential library", c.LibraryID)
		if err != nil {
			return nil, err
		}
		var sec librarySecret
		if err := s.unseal(row.Secret, row.ID, &sec); err != nil {
			return nil, fmt.Errorf("decrypt library %s: %w", row.ID, err)
		}
		var facts issuedFacts
		_ = json.Unmarshal([]byte(c.Facts), &facts)
		serial := randomSerial()
		keyID := fmt.Sprintf("gatehouse %s %s serial %d", sess.ID, sess.UserName, serial)
		cert, err := be.SignSSHCertificate(sec.CAPrivate, SSHCertRequest{PublicKey: publicKey, Serial: serial, KeyID: keyID,
			Principals: facts.Principals, ValidAfter: facts.ValidAfter, ValidBefore: facts.ValidBefore, Extensions: facts.Extensions})
		if err != nil {
			return nil, fmt.Errorf("sign certificate: %w", err)
		}
		err = s.q(ctx).Exec(`INSERT INTO ssh_certificates (library_id, serial, session_id, credential_id, key_id, principals, fingerprint,
			certificate, valid_after, valid_before, signed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.LibraryID, int64(serial), sess.ID,
			c.CredentialID, keyID, strings.Join(facts.Principals, ","), ssh.FingerprintSHA256(pk), cert, facts.ValidAfter, facts.ValidBefore, now).Error
		if err != nil {
			return nil, fmt.Errorf("record certificate: %w", err)
		}
		if err := s.warehouseCertificate(ctx, SSHCertificate{LibraryID: c.LibraryID, Serial: int64(serial), SessionID: sess.ID,
			CredentialID: c.CredentialID, KeyID: keyID, Principals: strings.Join(facts.Principals, ","), Fingerprint: ssh.FingerprintSHA256(pk),
			ValidAfter: facts.ValidAfter, ValidBefore: facts.ValidBefore, SignedAt: now}); err != nil {
			return nil, err
		}
		vb := facts.ValidBefore
		out = append(out, IssuedCredential{ID: c.CredentialID, Name: c.Name, Type: c.Type, Purpose: c.Purpose, StoreID: c.StoreID,
			LibraryID: c.LibraryID, Source: c.Source, Username: facts.Principals[0], Principals: facts.Principals,
			Certificate: cert, ValidBefore: &vb})
	}
	return out, nil
}

// randomSerial is a random certificate serial in 1..2^63-1 (it fits a
// BIGINT).
func randomSerial() uint64 {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:])
		if v := binary.BigEndian.Uint64(b[:]) >> 1; v != 0 {
			return v
		}
	}
}

// liveCredentials returns a live session's credentials with their secrets:
// static ones decrypted, Postgres roles with their password, SSH ones with
// their latest certificate.
func (s *Store) liveCredentials(ctx context.Context, sessionID string) ([]IssuedCredential, error) {
	var rows []SessionCredentialRow
	if err := s.q(ctx).Where("session_id = ? AND revoked_at IS NULL", sessionID).Order("name, credential_id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("session %s credentials: %w", sessionID, err)
	}
	var out []IssuedCredential
	for _, b := range rows {
		var c *IssuedCredential
		switch b.Source {
		case SourceStatic:
			sc, err := s.staticCredential(ctx, b.CredentialID)
			if err != nil {
				continue // deleted meanwhile: the session is being canceled
			}
			c = sc
		default:
			var err error
			if c, err = s.dynamicCredential(ctx, b); err != nil {
				return nil, err
			}
		}
		c.Purpose = b.Purpose
		out = append(out, *c)
	}
	return out, nil
}

// dynamicCredential decodes a library-issued credential row.
func (s *Store) dynamicCredential(ctx context.Context, b SessionCredentialRow) (*IssuedCredential, error) {
	var facts issuedFacts
	_ = json.Unmarshal([]byte(b.Facts), &facts)
	vb := facts.ValidBefore
	c := &IssuedCredential{ID: b.CredentialID, Name: b.Name, Type: b.Type, StoreID: b.StoreID, LibraryID: b.LibraryID,
		Source: b.Source, ValidBefore: &vb}
	if err := s.q(ctx).Model(&CredentialStore{}).Select("name").Where("id = ?", b.StoreID).Scan(&c.StoreName).Error; err != nil {
		return nil, fmt.Errorf("load store name: %w", err)
	}
	switch b.Source {
	case LibraryPostgres:
		var sec issuedSecret
		if err := s.unseal(b.Secret, credentialAAD(b.SessionID, b.CredentialID), &sec); err != nil {
			return nil, fmt.Errorf("decrypt credential %s: %w", b.CredentialID, err)
		}
		c.Username, c.Password = facts.Role, sec.Password
	case LibrarySSHCert:
		c.Username, c.Principals = facts.Principals[0], facts.Principals
		var certs []string
		if err := s.q(ctx).Table("ssh_certificates").Where("session_id = ? AND credential_id = ?", b.SessionID, b.CredentialID).
			Order("signed_at DESC, serial").Limit(1).Pluck("certificate", &certs).Error; err != nil {
			return nil, fmt.Errorf("certificate of %s: %w", b.CredentialID, err)
		}
		if len(certs) > 0 {
			c.Certificate = certs[0]
		}
	}
	return c, nil
}

// SSHCertificate is a certificate signed for a session (never the key).
type SSHCertificate struct {
	LibraryID    string
	Serial       int64
	SessionID    string
	CredentialID string
	KeyID        string
	Principals   string
	Fingerprint  string
	// Certificate is the signed certificate (authorized_keys format; not
	// secret: useless without the private key, which Gatehouse never has).
	Certificate string
	ValidAfter  time.Time
	ValidBefore time.Time
	SignedAt    time.Time
	RevokedAt   *time.Time
}

// TableName is the certificates table.
func (SSHCertificate) TableName() string { return "ssh_certificates" }

// SSHCAPublicKey returns an SSH library's CA public key (authorized_keys
// format), also after the library was deleted (deleted_ssh_cas). It is
// public: no actor (hosts fetch it). ErrNotFound for any other id.
func (s *Store) SSHCAPublicKey(ctx context.Context, libraryID string) (string, error) {
	key, _, err := s.sshCA(ctx, libraryID)
	return key, err
}

// sshCA returns an SSH library's CA public key and whether the library
// was deleted.
func (s *Store) sshCA(ctx context.Context, libraryID string) (key string, deleted bool, err error) {
	var keys []struct {
		PublicKey string
		Deleted   bool
	}
	err = s.q(ctx).Raw(`SELECT public_key, false AS deleted FROM credential_libraries WHERE id = ? AND type = ?
		UNION ALL SELECT public_key, true AS deleted FROM deleted_ssh_cas WHERE library_id = ?`, libraryID, LibrarySSHCert, libraryID).
		Scan(&keys).Error
	if err != nil {
		return "", false, fmt.Errorf("ssh library %s: %w", libraryID, err)
	}
	if len(keys) == 0 {
		return "", false, fmt.Errorf("ssh library %s: %w", libraryID, ErrNotFound)
	}
	return keys[0].PublicKey, keys[0].Deleted, nil
}

// SSHRevocationList returns the OpenSSH KRL of an SSH library: the serials
// of its certificates whose session ended before their validity did (the
// expired ones drop out). Once the library is deleted, the KRL revokes
// its CA key itself, so that every certificate it signed is refused. It is
// public, like the CA key: sshd hosts fetch it for RevokedKeys. Its
// version is the time it was made (Unix seconds).
func (s *Store) SSHRevocationList(ctx context.Context, libraryID string) ([]byte, error) {
	pub, deleted, err := s.sshCA(ctx, libraryID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var serials []int64
	if err := s.q(ctx).Table("ssh_certificates").Where("library_id = ? AND revoked_at IS NOT NULL AND valid_before > ?", libraryID, now).
		Order("serial").Pluck("serial", &serials).Error; err != nil {
		return nil, fmt.Errorf("revoked certificates of %s: %w", libraryID, err)
	}
	us := make([]uint64, len(serials))
	for i, v := range serials {
		us[i] = uint64(v)
	}
	be, err := s.backend()
	if err != nil {
		return nil, err
	}
	return be.KRL(pub, us, deleted, uint64(now.Unix()), now)
}

// warehouseCertificate records a signed certificate's non-secret facts in
// the warehouse (append-only: never deleted or rewritten), when the
// session has its snapshot there.
func (s *Store) warehouseCertificate(ctx context.Context, c SSHCertificate) error {
	err := s.q(ctx).Exec(`INSERT INTO warehouse_ssh_certificates (library_id, serial, session_id, credential_id, key_id, principals,
		fingerprint, valid_after, valid_before, signed_at)
		SELECT ?, ?, session_id, ?, ?, ?, ?, ?, ?, ? FROM warehouse_sessions WHERE session_id = ?`, c.LibraryID, c.Serial,
		c.CredentialID, c.KeyID, c.Principals, c.Fingerprint, c.ValidAfter, c.ValidBefore, c.SignedAt, c.SessionID).Error
	if err != nil {
		return fmt.Errorf("warehouse certificate: %w", err)
	}
	return nil
}

// historyCertificates lists the certificates signed for a session as the
// warehouse recorded them, each revoked when its credential was.
func (s *Store) historyCertificates(ctx context.Context, sessionID string) ([]SSHCertificate, error) {
	var out []SSHCertificate
	err := s.q(ctx).Raw(`SELECT c.library_id, c.serial, c.session_id, c.credential_id, c.key_id, c.principals, c.fingerprint,
		c.valid_after, c.valid_before, c.signed_at, r.revoked_at FROM warehouse_ssh_certificates c
		LEFT JOIN warehouse_credential_revocations r ON r.session_id = c.session_id AND r.credential_id = c.credential_id
		WHERE c.session_id = ? ORDER BY c.signed_at, c.serial`, sessionID).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("history certificates of %s: %w", sessionID, err)
	}
	return out, nil
}

// sessionCertificates lists the certificates signed for a session.
func (s *Store) sessionCertificates(ctx context.Context, sessionID string) ([]SSHCertificate, error) {
	var out []SSHCertificate
	if err := s.q(ctx).Where("session_id = ?", sessionID).Order("signed_at, serial").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("certificates of %s: %w", sessionID, err)
	}
	return out, nil
}
