package models

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"gatehouse/models/acl"

	"gorm.io/gorm"
)

// ActionChangeState moves an auth method between inactive, active-private
// and active-public.
const ActionChangeState Action = "change-state"

// SigningAlgorithms are the ID-token signature algorithms an OIDC auth method
// may accept (RS256 is the default, as OpenID Connect requires).
var SigningAlgorithms = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"}

// Prompts are the values an OIDC auth method may send as `prompt`.
var Prompts = []string{"none", "login", "consent", "select_account"}

// oidcSettings is the row of oidc_auth_methods beside an auth method.
type oidcSettings struct {
	AuthMethodID      string `gorm:"primaryKey"`
	Issuer            string
	ClientID          string
	ClientSecret      string
	ClaimsScopes      string
	AllowedAudiences  string
	SigningAlgorithms string
	MaxAge            int
	Prompts           string
	NameClaim         string
	EmailClaim        string
}

func (oidcSettings) TableName() string { return "oidc_auth_methods" }

// OIDCMethod is an OIDC auth method with its settings. The client secret is
// write-only: only HasClientSecret tells whether one is stored.
type OIDCMethod struct {
	AuthMethod
	Issuer            string
	ClientID          string
	HasClientSecret   bool
	ClaimsScopes      []string
	AllowedAudiences  []string
	SigningAlgorithms []string
	// MaxAge is the max_age sent to the provider in seconds; -1 sends none.
	MaxAge     int
	Prompts    []string
	NameClaim  string
	EmailClaim string
	ScopeName  string
	Actions    map[Action]bool `gorm:"-"`
}

// OIDCMethodInput is the OIDC auth method form. List fields are separated
// by spaces or commas; MaxAge is empty (none) or seconds. On edit an empty
// ClientSecret keeps the stored one.
type OIDCMethodInput struct {
	Name, Description string
	Issuer, ClientID  string
	ClientSecret      string
	ClaimsScopes      string
	AllowedAudiences  string
	SigningAlgorithms string
	MaxAge            string
	Prompts           string
	NameClaim         string
	EmailClaim        string
	Primary           bool
}

// splitList splits a space- or comma-separated list, dropping empties and
// duplicates.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' }) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// claimNameOK reports a claim name without spaces, quotes or controls.
func claimNameOK(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == '"' || r == 0x7f })
}

func (in OIDCMethodInput) validate(creating bool) (OIDCMethodInput, oidcSettings, error) {
	v := validator{}
	in.Name = v.text("name", "Name", in.Name, true, 128)
	in.Description = v.text("description", "Description", in.Description, false, 1024)
	// The issuer is kept exactly as entered (only surrounding spaces go):
	// ID tokens and the discovery document must name it byte for byte, and
	// some providers' issuers end in "/" (Auth0: https://tenant.auth0.com/).
	in.Issuer = v.text("issuer", "Issuer", in.Issuer, true, 512)
	if in.Issuer != "" {
		if msg := issuerProblem(in.Issuer); msg != "" {
			v.add("issuer", msg)
		}
	}
	in.ClientID = v.text("client_id", "Client ID", in.ClientID, true, 256)
	in.ClientSecret = strings.TrimSpace(in.ClientSecret)
	if creating && in.ClientSecret == "" {
		v.add("client_secret", "Client secret is required.")
	} else if len(in.ClientSecret) > 1024 {
		v.add("client_secret", "Client secret must be at most 1024 characters.")
	}
	set := oidcSettings{Issuer: in.Issuer, ClientID: in.ClientID, MaxAge: -1}
	scopes := splitList(in.ClaimsScopes)
	for _, sc := range scopes {
		if sc == "openid" {
			v.add("claims_scopes", "openid is always requested; list only extra scopes.")
		} else if !claimNameOK(sc) || len(sc) > 128 {
			v.add("claims_scopes", fmt.Sprintf("%q is not a valid scope.", sc))
		}
	}
	set.ClaimsScopes = strings.Join(scopes, " ")
	auds := splitList(in.AllowedAudiences)
	for _, a := range auds {
		if len(a) > 256 {
			v.add("allowed_audiences", "Each audience must be at most 256 characters.")
		}
	}
	set.AllowedAudiences = strings.Join(auds, " ")
	algs := splitList(in.SigningAlgorithms)
	if len(algs) == 0 {
		algs = []string{"RS256"}
	}
	for _, a := range algs {
		if !slices.Contains(SigningAlgorithms, a) {
			v.add("signing_algorithms", fmt.Sprintf("%q is not a supported signing algorithm (use %s).", a, strings.Join(SigningAlgorithms, ", ")))
		}
	}
	set.SigningAlgorithms = strings.Join(algs, " ")
	if ma := strings.TrimSpace(in.MaxAge); ma != "" {
		n, err := strconv.Atoi(ma)
		if err != nil || n < 0 || n > 366*24*3600 {
			v.add("max_age", "Max age must be a number of seconds (0 or more), or empty for none.")
		}
		set.MaxAge = n
	}
	prompts := splitList(in.Prompts)
	for _, p := range prompts {
		if !slices.Contains(Prompts, p) {
			v.add("prompts", fmt.Sprintf("%q is not a prompt (use %s).", p, strings.Join(Prompts, ", ")))
		}
	}
	if slices.Contains(prompts, "none") && len(prompts) > 1 {
		v.add("prompts", "The prompt none cannot be combined with other prompts.")
	}
	set.Prompts = strings.Join(prompts, " ")
	set.NameClaim, set.EmailClaim = strings.TrimSpace(in.NameClaim), strings.TrimSpace(in.EmailClaim)
	if set.NameClaim == "" {
		set.NameClaim = "name"
	}
	if set.EmailClaim == "" {
		set.EmailClaim = "email"
	}
	if !claimNameOK(set.NameClaim) || len(set.NameClaim) > 128 {
		v.add("name_claim", "Name claim must be a claim name without spaces or quotes.")
	}
	if !claimNameOK(set.EmailClaim) || len(set.EmailClaim) > 128 {
		v.add("email_claim", "Email claim must be a claim name without spaces or quotes.")
	}
	return in, set, v.err()
}

// issuerProblem explains what is wrong with an issuer URL, or returns "".
// Plain http is accepted only for loopback addresses (development).
func issuerProblem(issuer string) string {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "Issuer must be a URL like https://login.example.com."
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "Issuer must not have a query, fragment or user name."
	}
	if u.Scheme == "http" {
		h := u.Hostname()
		ip := net.ParseIP(h)
		if h != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return "Issuer must use https (plain http is accepted only on localhost)."
		}
	}
	return ""
}

func authMethodResource(m *AuthMethod) acl.Resource {
	return acl.Resource{Type: "auth-method", ID: m.ID, ScopeID: m.ScopeID}
}

// CreateOIDCMethod adds an OIDC auth method to global or an org. It starts
// inactive; the client secret is stored encrypted. Making it primary takes
// the primary flag from the scope's other method. Errors: ErrInvalid,
// ErrNotFound (scope), ErrForbidden.
func (s *Store) CreateOIDCMethod(ctx context.Context, a Actor, scopeID string, in OIDCMethodInput) (*OIDCMethod, error) {
	var id string
	err := s.createTx(ctx, a, "auth-method", func() string { return id }, func(tx *Store) error {
		sc, err := tx.readScope(ctx, a, scopeID)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionCreate, acl.Resource{Type: "auth-method", ScopeID: sc.ID}); err != nil {
			return err
		}
		if sc.Type == ScopeProject {
			return Invalid("scope_id", "Auth methods live in global or an organization, not in a project.")
		}
		in, set, err := in.validate(true)
		if err := tx.checkInput(ctx, err, unique{Table: "auth_methods", Parent: "scope_id", ParentID: sc.ID, Value: in.Name,
			Message: fmt.Sprintf("This scope already has an auth method named %q.", in.Name)}); err != nil {
			return err
		}
		now := tx.now()
		m := &AuthMethod{ID: NewID(PrefixOIDCMethod), ScopeID: sc.ID, Type: AuthMethodOIDC, Name: in.Name,
			Description: in.Description, State: StateInactive, CreatedAt: now, UpdatedAt: now, Version: 1}
		if err := tx.saveOIDCMethod(ctx, m, set, in.ClientSecret, in.Primary, true); err != nil {
			return err
		}
		id = m.ID
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.GetOIDCMethod(ctx, a, id)
}

// saveOIDCMethod inserts (creating) or updates the method's own row (the
// caller has set its fields) and its settings. Runs in a transaction.
func (s *Store) saveOIDCMethod(ctx context.Context, m *AuthMethod, set oidcSettings, secret string, primary, creating bool) error {
	if primary && !m.IsPrimary {
		if err := s.q(ctx).Model(&AuthMethod{}).Where("scope_id = ? AND is_primary AND id <> ?", m.ScopeID, m.ID).
			Updates(map[string]any{"is_primary": false, "updated_at": s.now(), "version": gorm.Expr("version + 1")}).Error; err != nil {
			return fmt.Errorf("clear primary: %w", err)
		}
	}
	m.IsPrimary = primary
	var err error
	if creating {
		err = s.q(ctx).Create(m).Error
	} else {
		err = s.q(ctx).Model(&AuthMethod{}).Where("id = ?", m.ID).Updates(map[string]any{
			"name": m.Name, "description": m.Description, "is_primary": m.IsPrimary,
			"updated_at": s.now(), "version": gorm.Expr("version + 1")}).Error
	}
	if isUniqueViolation(err) {
		return Invalid("name", fmt.Sprintf("This scope already has an auth method named %q.", m.Name))
	}
	if err != nil {
		return fmt.Errorf("save auth method: %w", err)
	}
	set.AuthMethodID = m.ID
	if secret != "" {
		if s.opts.Crypter == nil {
			return fmt.Errorf("save auth method: no root key configured to encrypt the client secret")
		}
		if set.ClientSecret, err = s.opts.Crypter.Encrypt([]byte(secret), m.ID); err != nil {
			return fmt.Errorf("encrypt client secret: %w", err)
		}
	}
	if creating {
		err = s.q(ctx).Create(&set).Error
	} else {
		cols := []string{"issuer", "client_id", "claims_scopes", "allowed_audiences", "signing_algorithms", "max_age", "prompts", "name_claim", "email_claim"}
		if secret != "" {
			cols = append(cols, "client_secret")
		}
		err = s.q(ctx).Model(&oidcSettings{}).Where("auth_method_id = ?", m.ID).Select(cols).Updates(&set).Error
	}
	if err != nil {
		return fmt.Errorf("save oidc settings: %w", err)
	}
	return nil
}

// loadOIDCMethod reads an OIDC method and its settings without any check.
func (s *Store) loadOIDCMethod(ctx context.Context, id string) (*AuthMethod, *oidcSettings, error) {
	m, err := first[AuthMethod](s.q(ctx), "auth method", id)
	if err != nil {
		return nil, nil, err
	}
	if m.Type != AuthMethodOIDC {
		return nil, nil, fmt.Errorf("auth method %s is not an OIDC method: %w", id, ErrNotFound)
	}
	var set oidcSettings
	if err := s.q(ctx).Where("auth_method_id = ?", id).Take(&set).Error; err != nil {
		return nil, nil, fmt.Errorf("load oidc settings %s: %w", id, err)
	}
	return m, &set, nil
}

func oidcMethodOf(m *AuthMethod, set *oidcSettings) *OIDCMethod {
	return &OIDCMethod{AuthMethod: *m, Issuer: set.Issuer, ClientID: set.ClientID, HasClientSecret: set.ClientSecret != "",
		ClaimsScopes: splitList(set.ClaimsScopes), AllowedAudiences: splitList(set.AllowedAudiences),
		SigningAlgorithms: splitList(set.SigningAlgorithms), MaxAge: set.MaxAge, Prompts: splitList(set.Prompts),
		NameClaim: set.NameClaim, EmailClaim: set.EmailClaim}
}

// readOIDCMethod loads an OIDC method the actor may read.
func (s *Store) readOIDCMethod(ctx context.Context, a Actor, id string) (*AuthMethod, *oidcSettings, error) {
	if !a.Authenticated() {
		return nil, nil, ErrUnauthenticated
	}
	m, set, err := s.loadOIDCMethod(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if err := s.authorize(ctx, a, ActionRead, authMethodResource(m)); err != nil {
		return nil, nil, notFoundIfHidden(err)
	}
	return m, set, nil
}

// GetOIDCMethod returns an OIDC auth method (never its secret) with what the
// actor may do to it. ErrNotFound for unknown, hidden or non-OIDC ids.
func (s *Store) GetOIDCMethod(ctx context.Context, a Actor, id string) (*OIDCMethod, error) {
	m, set, err := s.readOIDCMethod(ctx, a, id)
	if err != nil {
		return nil, err
	}
	out := oidcMethodOf(m, set)
	out.Actions = s.Allowed(ctx, a, authMethodResource(m), ActionUpdate, ActionDelete, ActionChangeState)
	out.Actions[ActionCreate] = s.authorize(ctx, a, ActionCreate, acl.Resource{Type: "managed-group", ScopeID: m.ScopeID, ParentID: m.ID}) == nil
	if err := s.q(ctx).Model(&Scope{}).Select("name").Where("id = ?", m.ScopeID).Scan(&out.ScopeName).Error; err != nil {
		return nil, fmt.Errorf("load scope name: %w", err)
	}
	return out, nil
}

// UpdateOIDCMethod edits an OIDC auth method; version must match. An active
// method is checked against its provider again before the change is saved.
func (s *Store) UpdateOIDCMethod(ctx context.Context, a Actor, id string, version int, in OIDCMethodInput) (*OIDCMethod, error) {
	m, _, err := s.readOIDCMethod(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, a, ActionUpdate, authMethodResource(m)); err != nil {
		return nil, err
	}
	// The name is checked with the other fields (one read, before the
	// provider's discovery, which must not hold a transaction open); the
	// unique index decides a race in saveOIDCMethod.
	in, set, err := in.validate(false)
	if err := s.checkInput(ctx, err, unique{Table: "auth_methods", Parent: "scope_id", ParentID: m.ScopeID, ExceptID: id, Value: in.Name,
		Message: fmt.Sprintf("This scope already has an auth method named %q.", in.Name)}); err != nil {
		return nil, err
	}
	if m.State != StateInactive {
		if err := s.checkProvider(ctx, set.Issuer, splitList(set.SigningAlgorithms), "issuer"); err != nil {
			return nil, err
		}
	}
	err = s.changeTx(ctx, a, ActionUpdate, "auth-method", id, func(tx *Store) error {
		cur, err := first[AuthMethod](tx.forUpdate(tx.q(ctx)), "auth method", id)
		if err != nil {
			return err
		}
		if cur.Version != version {
			return stale("update auth method " + id)
		}
		cur.Name, cur.Description = in.Name, in.Description
		return tx.saveOIDCMethod(ctx, cur, set, in.ClientSecret, in.Primary, false)
	})
	if err != nil {
		return nil, err
	}
	return s.GetOIDCMethod(ctx, a, id)
}

// checkProvider runs the discovery check and reports its message on field.
func (s *Store) checkProvider(ctx context.Context, issuer string, algs []string, field string) error {
	if s.opts.CheckOIDCProvider == nil {
		return Invalid(field, "This server cannot check OIDC providers, so the method cannot be activated.")
	}
	if err := s.opts.CheckOIDCProvider(ctx, issuer, algs); err != nil {
		return Invalid(field, err.Error())
	}
	return nil
}
