package models

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"gatehouse/models/acl"
)

// Credential library types.
const (
	LibraryPostgres = "postgres"
	LibrarySSHCert  = "ssh_certificate"
)

// LibraryTypes lists the library types in display order.
var LibraryTypes = []string{LibraryPostgres, LibrarySSHCert}

// Id prefixes of credential libraries and of the credentials they issue.
const (
	PrefixLibraryPostgres = "clpg"
	PrefixLibrarySSH      = "clssh"
	PrefixIssuedPostgres  = "credpgr"
	PrefixIssuedSSH       = "credsshc"
)

// Issued credential types (session_credentials.type of dynamic credentials).
const (
	CredentialPostgresRole   = "postgres_role"
	CredentialSSHCertificate = "ssh_certificate"
)

// SSH certificate extensions a library may grant.
var SSHExtensions = []string{"permit-pty", "permit-port-forwarding", "permit-agent-forwarding", "permit-X11-forwarding", "permit-user-rc"}

// Defaults of a new library's form.
const (
	DefaultUsernameTemplate   = "gh_{{.User.Name}}_{{.Session.ShortID}}"
	DefaultPrincipalsTemplate = "{{.User.Name}}"
	DefaultCreationStatements = "CREATE ROLE {{role}} WITH LOGIN PASSWORD {{password}} VALID UNTIL {{valid_until}};\n" +
		"GRANT {{grant_roles}} TO {{role}};"
	DefaultRevocationStatements = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = {{role_name}};\n" +
		"DROP OWNED BY {{role}};\nDROP ROLE IF EXISTS {{role}};"
	DefaultClockSkewSeconds = 60
)

// NewLibraryInput is a new library of type typ with the defaults of its
// form (templates, statements, the permit-pty extension, the clock-skew
// allowance); the web form starts from it and the API fills what a create
// leaves out from it.
func NewLibraryInput(typ string) CredentialLibraryInput {
	return CredentialLibraryInput{Type: typ, UsernameTemplate: DefaultUsernameTemplate, CreationStatements: DefaultCreationStatements,
		RevocationStatements: DefaultRevocationStatements, PrincipalsTemplate: DefaultPrincipalsTemplate,
		Extensions: []string{"permit-pty"}, ClockSkewSeconds: strconv.Itoa(DefaultClockSkewSeconds)}
}

// CredentialLibrary is a library of a credential store: it mints one
// credential per session of a target it is attached to and revokes it when
// the session ends. Secrets (the Postgres password, the SSH CA's private
// key) are never loaded into it.
type CredentialLibrary struct {
	ID          string
	StoreID     string
	ScopeID     string
	Type        string
	Name        string
	Description string
	Settings    string
	PublicKey   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int
}

// TableName is the libraries table.
func (CredentialLibrary) TableName() string { return "credential_libraries" }

// libraryRow is the stored row with the sealed secret.
type libraryRow struct {
	CredentialLibrary
	Secret string
}

func (libraryRow) TableName() string { return "credential_libraries" }

// LibrarySettings are a library's non-secret settings, by type.
type LibrarySettings struct {
	// Postgres role.
	URL                  string   `json:"url,omitempty"`
	UsernameTemplate     string   `json:"username_template,omitempty"`
	GrantRoles           []string `json:"grant_roles,omitempty"`
	CreationStatements   string   `json:"creation_statements,omitempty"`
	RevocationStatements string   `json:"revocation_statements,omitempty"`
	// SSH certificate.
	PrincipalsTemplate string   `json:"principals_template,omitempty"`
	Extensions         []string `json:"extensions,omitempty"`
	ClockSkewSeconds   int      `json:"clock_skew_seconds,omitempty"`
}

// Decoded returns the library's settings.
func (l CredentialLibrary) Decoded() LibrarySettings {
	var s LibrarySettings
	_ = json.Unmarshal([]byte(l.Settings), &s)
	return s
}

// SSHCAKeyPath is where the docs, the library page and the API suggest an
// SSH library's hosts keep its CA public key.
func SSHCAKeyPath(libraryID string) string { return "/etc/ssh/gatehouse_" + libraryID + ".pub" }

// SSHKRLPath is where they suggest hosts keep the library's KRL.
func SSHKRLPath(libraryID string) string { return "/etc/ssh/gatehouse_" + libraryID + ".krl" }

// SSHDConfigLines are the sshd_config lines an SSH library's hosts need:
// TrustedUserCAKeys and RevokedKeys at the suggested paths.
func SSHDConfigLines(libraryID string) string {
	return "TrustedUserCAKeys " + SSHCAKeyPath(libraryID) + "\nRevokedKeys " + SSHKRLPath(libraryID)
}

// CredentialLibraryInput is the library form. Type is read on create
// only. On edit an empty Password keeps the stored one.
type CredentialLibraryInput struct {
	Type                 string
	Name                 string
	Description          string
	URL                  string
	Password             string
	UsernameTemplate     string
	GrantRoles           string
	CreationStatements   string
	RevocationStatements string
	PrincipalsTemplate   string
	Extensions           []string
	ClockSkewSeconds     string
}

// CredentialLibraryItem is a library with its store's name and what the
// actor may do to it.
type CredentialLibraryItem struct {
	CredentialLibrary
	StoreName string
	Actions   map[Action]bool `gorm:"-"`
}

func libraryResource(l *CredentialLibrary) acl.Resource {
	return acl.Resource{Type: "credential-library", ID: l.ID, ScopeID: l.ScopeID, ParentID: l.StoreID}
}

// PostgresConn is how a library reaches its Postgres server: a URL without
// password, and the password.
type PostgresConn struct {
	URL      string
	Password string
}

// SSHCertRequest is what an SSH certificate is signed for.
type SSHCertRequest struct {
	PublicKey   string // authorized_keys format
	Serial      uint64
	KeyID       string
	Principals  []string
	ValidAfter  time.Time
	ValidBefore time.Time
	Extensions  []string
}

// LibraryBackend mints and revokes credentials against the real systems
// (package credlib implements it; models declares what it needs). Errors
// of TestPostgres and CreatePostgresRole are messages for people.
type LibraryBackend interface {
	// TestPostgres connects and checks the role may create roles.
	TestPostgres(ctx context.Context, conn PostgresConn) error
	// ExecPostgres runs SQL (several statements, values already quoted) in
	// one transaction.
	ExecPostgres(ctx context.Context, conn PostgresConn, sql string) error
	// DropPostgresRole runs the revocation SQL unless the role is gone
	// already (so a retry after a partial run succeeds).
	DropPostgresRole(ctx context.Context, conn PostgresConn, role, sql string) error
	// NewSSHCA generates an Ed25519 CA: its private key (OpenSSH PEM) and
	// public key (authorized_keys format).
	NewSSHCA() (private, public string, err error)
	// SignSSHCertificate signs req with the CA and returns the certificate
	// in authorized_keys format.
	SignSSHCertificate(caPrivate string, req SSHCertRequest) (string, error)
	// KRL returns an OpenSSH key revocation list revoking serials of the
	// CA and, when revokeCA, the CA key itself (every certificate it signed).
	KRL(caPublic string, serials []uint64, revokeCA bool, version uint64, generated time.Time) ([]byte, error)
}

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// safeName lowercases s and replaces every character that is not a-z, 0-9
// or _ by _ (a value made safe for an identifier).
func safeName(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

// templateData is what username and principals templates see; every value
// is made safe first.
type templateData struct {
	User    struct{ ID, Name string }
	Session struct{ ID, ShortID string }
	Target  struct{ ID, Name string }
}

func newTemplateData(userID, userName, sessionID, targetID, targetName string, safe func(string) string) templateData {
	var d templateData
	d.User.ID, d.User.Name = safe(userID), safe(userName)
	d.Session.ID = safe(sessionID)
	_, short, _ := strings.Cut(sessionID, "_")
	d.Session.ShortID = safe(short)
	d.Target.ID, d.Target.Name = safe(targetID), safe(targetName)
	return d
}

// sampleData is what validation renders templates with.
func sampleData(safe func(string) string) templateData {
	return newTemplateData("u_1234567890", "alice.o'hara@example.com", "s_AbCdEf123456", "ttcp_1234567890", "Sales DB", safe)
}

func renderTemplate(text string, d templateData) (string, error) {
	t, err := template.New("t").Option("missingkey=error").Parse(text)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return "", err
	}
	return b.String(), nil
}

// roleName renders a username template into a Postgres role name; it must
// be a plain lower-case identifier of at most 63 bytes.
func roleName(tmpl string, d templateData) (string, error) {
	out, err := renderTemplate(tmpl, d)
	if err != nil {
		return "", errors.New("Username template does not render: " + templateError(err))
	}
	if !identRE.MatchString(out) {
		return "", fmt.Errorf("Username template renders %q, which is not a safe role name: use only a-z, 0-9 and _ (start with a letter or _), at most 63 characters.", out)
	}
	return out, nil
}

var principalRE = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)

// principals renders a principals template into a comma-separated list.
func principals(tmpl string, d templateData) ([]string, error) {
	out, err := renderTemplate(tmpl, d)
	if err != nil {
		return nil, errors.New("Principals template does not render: " + templateError(err))
	}
	var ps []string
	for _, p := range strings.Split(out, ",") {
		p = strings.TrimSpace(p)
		if !principalRE.MatchString(p) {
			return nil, fmt.Errorf("Principals template renders %q, which is not a safe principal: use a-z, A-Z, 0-9, . _ @ -, separate several with commas.", p)
		}
		ps = append(ps, p)
	}
	return ps, nil
}

func templateError(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg + ". Use {{.User.Name}}, {{.User.ID}}, {{.Session.ID}}, {{.Session.ShortID}}, {{.Target.Name}} or {{.Target.ID}}."
}

func safePrincipal(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '@' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

// quoteIdent quotes a Postgres identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// quoteLiteral quotes a Postgres string literal (standard_conforming_strings).
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// postgresStatements fills the placeholders of creation or revocation
// statements with quoted values.
func postgresStatements(sql, role, password string, validUntil time.Time, grants []string) string {
	q := make([]string, len(grants))
	for i, g := range grants {
		q[i] = quoteIdent(g)
	}
	return strings.NewReplacer("{{role}}", quoteIdent(role), "{{role_name}}", quoteLiteral(role),
		"{{password}}", quoteLiteral(password),
		"{{valid_until}}", quoteLiteral(validUntil.UTC().Format("2006-01-02 15:04:05.999999Z07:00")),
		"{{grant_roles}}", strings.Join(q, ", ")).Replace(sql)
}

var placeholderRE = regexp.MustCompile(`\{\{[^}]*\}\}`)

// checkStatements reports an unknown placeholder or a missing required one.
func checkStatements(label, sql string, allowed, required []string) string {
	for _, p := range placeholderRE.FindAllString(sql, -1) {
		if !slices.Contains(allowed, p) {
			return fmt.Sprintf("%s use %s, which is not a placeholder: use %s.", label, p, strings.Join(allowed, ", "))
		}
	}
	for _, p := range required {
		if !strings.Contains(sql, p) {
			return fmt.Sprintf("%s must use %s.", label, p)
		}
	}
	return ""
}

// validate checks the input for a library of type typ. It returns the
// cleaned input, the settings and the new password (nil: keep the stored
// one; for SSH libraries always nil).
func (in CredentialLibraryInput) validate(typ string, creating bool) (CredentialLibraryInput, LibrarySettings, *string, error) {
	v := validator{}
	in.Name = v.text("name", "Name", in.Name, true, 128)
	in.Description = v.text("description", "Description", in.Description, false, 1024)
	// Browsers send text areas with CRLF line ends.
	in.CreationStatements = strings.ReplaceAll(in.CreationStatements, "\r\n", "\n")
	in.RevocationStatements = strings.ReplaceAll(in.RevocationStatements, "\r\n", "\n")
	var set LibrarySettings
	var password *string
	switch typ {
	case LibraryPostgres:
		set.URL = v.text("url", "Connection URL", in.URL, true, 1024)
		if set.URL != "" && v["url"] == "" {
			u, err := url.Parse(set.URL)
			switch {
			case err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "":
				v.add("url", "Connection URL must look like postgres://admin@db.example.com:5432/postgres?sslmode=require.")
			case u.User == nil || u.User.Username() == "":
				v.add("url", "Connection URL must name the role that creates roles, like postgres://admin@db.example.com/postgres.")
			default:
				if _, ok := u.User.Password(); ok {
					v.add("url", "Put the password in the Password field, not in the URL.")
				}
			}
		}
		switch {
		case in.Password == "" && creating:
			v.add("password", "Password is required.")
		case len(in.Password) > 1024:
			v.add("password", "Password must be at most 1024 characters.")
		case in.Password != "":
			password = &in.Password
		}
		set.UsernameTemplate = v.text("username_template", "Username template", in.UsernameTemplate, true, 256)
		if set.UsernameTemplate != "" && v["username_template"] == "" {
			if _, err := roleName(set.UsernameTemplate, sampleData(safeName)); err != nil {
				v.add("username_template", err.Error())
			}
		}
		for _, g := range strings.Split(in.GrantRoles, ",") {
			g = strings.TrimSpace(g)
			if g == "" {
				continue
			}
			if !identRE.MatchString(g) {
				v.add("grant_roles", fmt.Sprintf("Grant roles: %q is not a role name (a-z, 0-9 and _, comma-separated).", g))
				break
			}
			if !slices.Contains(set.GrantRoles, g) {
				set.GrantRoles = append(set.GrantRoles, g)
			}
		}
		if len(set.GrantRoles) > 32 {
			v.add("grant_roles", "Grant at most 32 roles.")
		}
		set.CreationStatements = v.text("creation_statements", "Creation statements", in.CreationStatements, true, 8192)
		if set.CreationStatements != "" && v["creation_statements"] == "" {
			if msg := checkStatements("Creation statements", set.CreationStatements,
				[]string{"{{role}}", "{{role_name}}", "{{password}}", "{{valid_until}}", "{{grant_roles}}"},
				[]string{"{{role}}", "{{password}}"}); msg != "" {
				v.add("creation_statements", msg)
			} else if len(set.GrantRoles) == 0 && strings.Contains(set.CreationStatements, "{{grant_roles}}") {
				v.add("grant_roles", "The creation statements grant {{grant_roles}}: name at least one role, or remove the GRANT statement.")
			}
		}
		set.RevocationStatements = v.text("revocation_statements", "Revocation statements", in.RevocationStatements, true, 8192)
		if set.RevocationStatements != "" && v["revocation_statements"] == "" {
			if msg := checkStatements("Revocation statements", set.RevocationStatements,
				[]string{"{{role}}", "{{role_name}}"}, []string{"{{role}}"}); msg != "" {
				v.add("revocation_statements", msg)
			}
		}
	case LibrarySSHCert:
		set.PrincipalsTemplate = v.text("principals_template", "Principals template", in.PrincipalsTemplate, true, 256)
		if set.PrincipalsTemplate != "" && v["principals_template"] == "" {
			if _, err := principals(set.PrincipalsTemplate, sampleData(safePrincipal)); err != nil {
				v.add("principals_template", err.Error())
			}
		}
		for _, e := range in.Extensions {
			if !slices.Contains(SSHExtensions, e) {
				v.add("extensions", fmt.Sprintf("Extensions: %q is not one of %s.", e, strings.Join(SSHExtensions, ", ")))
				break
			}
			if !slices.Contains(set.Extensions, e) {
				set.Extensions = append(set.Extensions, e)
			}
		}
		skew := strings.TrimSpace(in.ClockSkewSeconds)
		if skew == "" {
			set.ClockSkewSeconds = DefaultClockSkewSeconds
		} else if n, err := strconv.Atoi(skew); err != nil || n < 0 || n > 600 {
			v.add("clock_skew_seconds", "Clock-skew allowance must be a whole number of seconds from 0 to 600.")
		} else {
			set.ClockSkewSeconds = n
		}
	default:
		v.add("type", "Type must be Postgres role or SSH certificate.")
	}
	return in, set, password, v.err()
}

// libraryPrefix is the id prefix of a library of type typ.
func libraryPrefix(typ string) string {
	if typ == LibrarySSHCert {
		return PrefixLibrarySSH
	}
	return PrefixLibraryPostgres
}

// backend returns the configured backend or an error saying it is missing.
func (s *Store) backend() (LibraryBackend, error) {
	if s.opts.CredentialBackend == nil {
		return nil, errors.New("no credential library backend configured")
	}
	return s.opts.CredentialBackend, nil
}

// seal encrypts v (JSON) under the root key for aad.
func (s *Store) seal(aad string, v any) (string, error) {
	if s.opts.Crypter == nil {
		return "", errors.New("no root key configured: cannot store secrets")
	}
	plain, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return s.opts.Crypter.Encrypt(plain, aad)
}

// unseal decrypts what seal made into v.
func (s *Store) unseal(sealed, aad string, v any) error {
	if s.opts.Crypter == nil {
		return errors.New("no root key configured: cannot read secrets")
	}
	plain, err := s.opts.Crypter.Decrypt(sealed, aad)
	if err != nil {
		return err
	}
	return json.Unmarshal(plain, v)
}

// librarySecret is the sealed part of a library.
type librarySecret struct {
	Password  string `json:"password,omitempty"`
	CAPrivate string `json:"ca_private,omitempty"`
}
