package models

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"time"

	"gatehouse/models/acl"

	"gorm.io/gorm"
)

// StartSessionInput is what starting a session takes: the target, an
// optional host of it, and where the request came from.
type StartSessionInput struct {
	TargetID  string
	HostID    string
	ClientIP  string
	UserAgent string
	// Nonce, when set, makes the start idempotent per user: a second
	// request with the same nonce starts nothing and answers the first
	// one's session (StartedSession.Repeated). Start forms carry one.
	Nonce string
}

// StartedSession is a new session with its authorization token (returned
// this once; only its hash is stored) and the brokered credentials.
type StartedSession struct {
	Session     Session
	Token       string
	Credentials []IssuedCredential
	// Actions are what the actor may do to the new session.
	Actions map[Action]bool
	// Repeated: an earlier request with the same nonce started Session;
	// Token and Credentials are empty (they were shown to that request).
	Repeated bool
}

// Detail is the new session as the session page shows it, without another
// read: its first state, and its credentials with their secrets.
func (st *StartedSession) Detail() *SessionDetail {
	d := &SessionDetail{SessionItem: SessionItem{Session: st.Session, Actions: st.Actions}, Credentials: st.Credentials,
		History: []SessionStateRow{{SessionID: st.Session.ID, State: StatePending, At: st.Session.CreatedAt}}}
	for _, c := range st.Credentials {
		d.Brokered = append(d.Brokered, SessionCredentialRow{SessionID: st.Session.ID, CredentialID: c.ID, LibraryID: c.LibraryID,
			StoreID: c.StoreID, Name: c.Name, Type: c.Type, Purpose: c.Purpose, Source: c.Source, IssuedAt: st.Session.CreatedAt})
		if c.Source == LibrarySSHCert {
			d.SSHCredentials = true
		}
	}
	return d
}

type sessionTarget struct {
	ID, ScopeID, Name, Description, Type string
	DefaultPort                          int
	Address                              *string
	SessionMaxSeconds                    int
	SessionConnectionLimit               int
	ProjectName, OrgID, OrgName          string
	// The target's extension settings (NULL: no settings row, the
	// defaults), read with the target instead of in a statement of their own.
	ExtensionMaxSeconds    *int
	ExtensionNeedsApproval *bool
	// Whether the target has static credential sources / credential
	// libraries attached: a target without either skips their queries.
	HasCredentialSources, HasLibrarySources bool
}

// settings are the target's access settings as far as a session uses them.
func (t *sessionTarget) settings() TargetAccessSettings {
	st := DefaultAccessSettings(t.ID)
	if t.ExtensionMaxSeconds != nil {
		st.ExtensionMaxSeconds = *t.ExtensionMaxSeconds
	}
	if t.ExtensionNeedsApproval != nil {
		st.ExtensionNeedsApproval = *t.ExtensionNeedsApproval
	}
	return st
}

type sessionHost struct {
	ID, Name, Address, HostSetID, HostSetName, CatalogID, CatalogName string
}

type sessionUser struct {
	ID, Name, FullName, Email, AccountID, AuthMethodID, AuthMethodName, AuthMethodType string
	LoginExpiresAt                                                                     time.Time
}

// StartSession starts a session on a target the actor may authorize-session
// on (evaluated here, once), in the target's project. Its expiration is now
// + the target's session_max_seconds, capped at the actor's login expiry;
// its connection limit is the target's. The host is the requested one when
// it belongs to the target's host sets, else a random one of them; a target
// with a direct address has no host. Errors: ErrUnauthenticated,
// ErrNotFound (no such target or not visible), ErrForbidden, ErrInvalid
// ("host": not a host of the target; "target": nothing to connect to).
func (s *Store) StartSession(ctx context.Context, a Actor, in StartSessionInput) (*StartedSession, error) {
	if !a.Authenticated() {
		return nil, ErrUnauthenticated
	}
	var out *StartedSession
	err := s.transactGrouped(ctx, func(ctx context.Context, tx *Store) error {
		var err error
		out, err = tx.startSession(ctx, a, in)
		return err
	})
	if err != nil {
		out, err = s.repeatedStart(ctx, a, err)
	}
	if err != nil {
		return nil, fmt.Errorf("start session on %s: %w", in.TargetID, err)
	}
	return out, nil
}

func (s *Store) startSession(ctx context.Context, a Actor, in StartSessionInput) (*StartedSession, error) {
	sessionID := NewID(PrefixSession)
	if err := s.claimStartNonce(ctx, a.UserID, in.Nonce, sessionID); err != nil {
		return nil, err
	}
	t, u, err := s.startFacts(ctx, a, in.TargetID)
	if err != nil {
		return nil, err
	}
	targetRes := acl.Resource{Type: "target", ID: t.ID, ScopeID: t.ScopeID}
	if err := s.authorize(ctx, a, ActionAuthorizeSession, targetRes); err != nil {
		return nil, err
	}
	if u == nil {
		return nil, fmt.Errorf("login of %s: %w", a.UserID, ErrUnauthenticated)
	}
	// The grants that allowed it, for the warehouse snapshot.
	access, err := s.aclFor(ctx, a)
	if err != nil {
		return nil, err
	}
	grants := access.Allowed(targetRes, string(ActionAuthorizeSession)).Matches
	now := s.now()
	host, endpoint, err := s.chooseHost(ctx, t, in.HostID)
	if err != nil {
		return nil, err
	}
	expires := now.Add(time.Duration(t.SessionMaxSeconds) * time.Second)
	if u.LoginExpiresAt.Before(expires) {
		expires = u.LoginExpiresAt.UTC().Truncate(time.Microsecond)
	}
	terms, err := s.sessionAccess(ctx, t.settings(), grants, &expires)
	if err != nil {
		return nil, err
	}
	if !expires.After(now) {
		return nil, fmt.Errorf("your login ends now: %w", ErrUnauthenticated)
	}
	token := newSecret(32)
	sess := Session{ID: sessionID, UserID: u.ID, UserName: (User{ID: u.ID, Name: u.Name, FullName: u.FullName, Email: u.Email}).DisplayName(),
		AccountID: u.AccountID, AuthMethodID: u.AuthMethodID, OrgID: t.OrgID, OrgName: t.OrgName, ProjectID: t.ScopeID,
		ProjectName: t.ProjectName, TargetID: t.ID, TargetName: t.Name, HostID: host.ID, HostName: host.Name,
		HostSetID: host.HostSetID, HostCatalogID: host.CatalogID, Endpoint: endpoint, TokenHash: hashSecret(token),
		State: StatePending, ExpiresAt: expires, ConnectionLimit: t.SessionConnectionLimit, ClientIP: in.ClientIP,
		CreatedAt: now, UpdatedAt: now, Version: 1}
	terms.apply(&sess)
	if err := s.q(ctx).Create(&sess).Error; err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	if err := s.q(ctx).Create(&SessionStateRow{SessionID: sess.ID, State: StatePending, At: now}).Error; err != nil {
		return nil, fmt.Errorf("record session state: %w", err)
	}
	creds, err := s.issueCredentials(ctx, &sess, u.Name, t, now)
	if err != nil {
		return nil, err
	}
	snap := SessionSnapshot{SessionID: sess.ID, CreatedAt: now, ExpiresAt: expires, ConnectionLimit: t.SessionConnectionLimit,
		UserID: u.ID, UserName: u.Name, UserFullName: u.FullName, UserEmail: u.Email, AccountID: u.AccountID,
		AuthMethodID: u.AuthMethodID, AuthMethodName: u.AuthMethodName, AuthMethodType: u.AuthMethodType,
		TargetID: t.ID, TargetName: t.Name, TargetType: t.Type, TargetDescription: t.Description, TargetPort: t.DefaultPort,
		TargetSessionMaxSeconds: t.SessionMaxSeconds, TargetConnectionLimit: t.SessionConnectionLimit,
		HostID: host.ID, HostName: host.Name, HostAddress: host.Address, HostSetID: host.HostSetID, HostSetName: host.HostSetName,
		HostCatalogID: host.CatalogID, HostCatalogName: host.CatalogName, Endpoint: endpoint, ProjectID: t.ScopeID,
		ProjectName: t.ProjectName, OrgID: t.OrgID, OrgName: t.OrgName, ClientIP: in.ClientIP, UserAgent: in.UserAgent}
	snap.Grants = grants
	if snap.Groups, snap.ManagedGroups, err = s.groupsThatCounted(ctx, u.ID, u.AccountID, grants); err != nil {
		return nil, err
	}
	for _, c := range creds {
		snap.Credentials = append(snap.Credentials, CredentialRef{ID: c.ID, Name: c.Name, Type: c.Type, Purpose: c.Purpose,
			StoreID: c.StoreID, StoreName: c.StoreName, LibraryID: c.LibraryID, Role: roleOf(c), Principals: c.Principals,
			ValidBefore: c.ValidBefore})
	}
	if err := s.warehouseSessionCreated(ctx, &snap); err != nil {
		return nil, err
	}
	if err := s.recordGrantSession(ctx, terms, &sess); err != nil {
		return nil, err
	}
	if err := s.publishChanges(ctx, []SessionChange{{SessionID: sess.ID, UserID: sess.UserID}}); err != nil {
		return nil, err
	}
	return &StartedSession{Session: sess, Token: token, Credentials: creds, Actions: s.sessionActions(ctx, a, &sess)}, nil
}

// startTargetSQL reads the target of a start with its project, org, access
// settings and whether credentials are attached; startFacts joins the
// actor's login to it.
const startTargetSQL = `SELECT t.id, t.scope_id, t.name, t.description, t.type, t.default_port, t.address,
	t.session_max_seconds, t.session_connection_limit, p.name AS project_name, o.id AS org_id, o.name AS org_name,
	tas.extension_max_seconds, tas.extension_needs_approval,
	EXISTS (SELECT 1 FROM target_credential_sources WHERE target_id = t.id) AS has_credential_sources,
	EXISTS (SELECT 1 FROM target_library_sources WHERE target_id = t.id) AS has_library_sources`

const startTargetFrom = ` FROM targets t JOIN scopes p ON p.id = t.scope_id JOIN scopes o ON o.id = p.parent_id
	LEFT JOIN target_access_settings tas ON tas.target_id = t.id`

// startFacts reads, in one statement, the target of a start and the
// actor's login with its user, account and auth method (all locked against
// deletion until commit on Postgres). A nil user means the login is gone
// (the caller decides after authorizing, as before). Errors: ErrNotFound
// (no such target).
func (s *Store) startFacts(ctx context.Context, a Actor, targetID string) (*sessionTarget, *sessionUser, error) {
	var row struct {
		T sessionTarget `gorm:"embedded"`
		U sessionUser   `gorm:"embedded;embeddedPrefix:u_"`
	}
	err := s.q(ctx).Raw(s.keyShare(startTargetSQL+`, u.id AS u_id, u.name AS u_name, u.full_name AS u_full_name,
		u.email AS u_email, ac.id AS u_account_id, am.id AS u_auth_method_id, am.name AS u_auth_method_name,
		am.type AS u_auth_method_type, l.expires_at AS u_login_expires_at`+startTargetFrom+`
		CROSS JOIN `+a.loginTable()+` l JOIN users u ON u.id = l.user_id JOIN accounts ac ON ac.id = l.account_id
		JOIN auth_methods am ON am.id = l.auth_method_id WHERE t.id = ? AND l.id = ? AND l.user_id = ?`, "t, p, o, u, ac, am"),
		targetID, a.LoginID, a.UserID).Take(&row).Error
	if err == nil {
		return &row.T, &row.U, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, err
	}
	// No row: the target or the login is missing; which one decides the error.
	var t sessionTarget
	err = s.q(ctx).Raw(s.keyShare(startTargetSQL+startTargetFrom+` WHERE t.id = ?`, "t, p, o"), targetID).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, fmt.Errorf("target %s: %w", targetID, ErrNotFound)
	}
	if err != nil {
		return nil, nil, err
	}
	return &t, nil, nil
}

// groupsThatCounted returns the groups of the user and the managed groups
// of its account through which it holds a role whose grants allowed the
// session (grants): the groups that counted, for the snapshot. Its other
// groups are left out.
func (s *Store) groupsThatCounted(ctx context.Context, userID, accountID string, grants []acl.GrantMatch) (groups, managed []NamedRef, err error) {
	var roleIDs []string
	for _, g := range grants {
		if !slices.Contains(roleIDs, g.RoleID) {
			roleIDs = append(roleIDs, g.RoleID)
		}
	}
	if len(roleIDs) == 0 {
		return nil, nil, nil
	}
	var rows []struct {
		Kind, ID, Name string
	}
	if err := s.q(ctx).Raw(`SELECT 'g' AS kind, g.id, g.name FROM group_members m JOIN groups g ON g.id = m.group_id
		WHERE m.user_id = ? AND g.id IN (SELECT group_id FROM role_principals WHERE role_id IN ? AND group_id IS NOT NULL)
		UNION ALL SELECT 'mg', mg.id, mg.name FROM managed_group_members m JOIN managed_groups mg ON mg.id = m.managed_group_id
		WHERE m.account_id = ? AND mg.id IN (SELECT managed_group_id FROM role_principals WHERE role_id IN ? AND managed_group_id IS NOT NULL)
		ORDER BY 1, 3`, userID, roleIDs, accountID, roleIDs).Scan(&rows).Error; err != nil {
		return nil, nil, fmt.Errorf("groups: %w", err)
	}
	for _, g := range rows {
		if g.Kind == "g" {
			groups = append(groups, NamedRef{ID: g.ID, Name: g.Name})
		} else {
			managed = append(managed, NamedRef{ID: g.ID, Name: g.Name})
		}
	}
	return groups, managed, nil
}

// chooseHost picks the session's host and the endpoint the worker dials.
func (s *Store) chooseHost(ctx context.Context, t *sessionTarget, hostID string) (sessionHost, string, error) {
	port := strconv.Itoa(t.DefaultPort)
	if t.Address != nil && *t.Address != "" {
		if hostID != "" {
			return sessionHost{}, "", Invalid("host", "This target has a direct address and no hosts to choose from.")
		}
		return sessionHost{}, net.JoinHostPort(*t.Address, port), nil
	}
	q := `SELECT h.id, h.name, h.address, hs.id AS host_set_id, hs.name AS host_set_name, hc.id AS catalog_id, hc.name AS catalog_name
		FROM target_host_sources ths JOIN host_sets hs ON hs.id = ths.host_set_id
		JOIN host_set_members m ON m.host_set_id = hs.id JOIN hosts h ON h.id = m.host_id
		JOIN host_catalogs hc ON hc.id = hs.catalog_id WHERE ths.target_id = ?`
	args := []any{t.ID}
	if hostID != "" {
		q += " AND h.id = ?"
		args = append(args, hostID)
	}
	q += " ORDER BY h.id, hs.id"
	var hosts []sessionHost
	if err := s.q(ctx).Raw(s.keyShare(q, "h, hs, hc"), args...).Scan(&hosts).Error; err != nil {
		return sessionHost{}, "", fmt.Errorf("hosts of target %s: %w", t.ID, err)
	}
	if len(hosts) == 0 {
		if hostID != "" {
			return sessionHost{}, "", Invalid("host", "This host is not one of the target's hosts.")
		}
		return sessionHost{}, "", Invalid("target", "This target has no host to connect to.")
	}
	h := hosts[0]
	if hostID == "" {
		h = hosts[rand.IntN(len(hosts))]
	}
	return h, net.JoinHostPort(h.Address, port), nil
}
