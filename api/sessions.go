package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"gatehouse/models"
)

// myTargetJSON is a target the caller can reach, with its actions.
type myTargetJSON struct {
	ID                     string   `json:"id"`
	Name                   string   `json:"name"`
	Description            string   `json:"description"`
	Type                   string   `json:"type"`
	ProjectID              string   `json:"project_id"`
	ProjectName            string   `json:"project_name"`
	OrgID                  string   `json:"org_id"`
	OrgName                string   `json:"org_name"`
	DefaultPort            int      `json:"default_port"`
	Address                *string  `json:"address"`
	SessionMaxSeconds      int      `json:"session_max_seconds"`
	SessionConnectionLimit int      `json:"session_connection_limit"`
	HostNames              []string `json:"host_names"`
	Credentials            []string `json:"credentials"`
	Actions                []string `json:"actions"`
}

func myTargetOf(t models.MyTarget) myTargetJSON {
	return myTargetJSON{ID: t.ID, Name: t.Name, Description: t.Description, Type: t.Type, ProjectID: t.ScopeID, ProjectName: t.ProjectName,
		OrgID: t.OrgID, OrgName: t.OrgName, DefaultPort: t.DefaultPort, Address: t.Address, SessionMaxSeconds: t.SessionMaxSeconds,
		SessionConnectionLimit: t.SessionConnectionLimit, HostNames: nonNil(t.HostNames), Credentials: nonNil(t.Credentials),
		Actions: actionsOf(t.Actions)}
}

// myTargets searches the targets the caller can reach (GET /my-targets).
func (s *Server) myTargets(w http.ResponseWriter, r *http.Request) error {
	opt, err := listOptions(r)
	if err != nil {
		return err
	}
	p, err := s.store.ListMyTargets(r.Context(), actorFrom(r.Context()), models.MyTargetsOptions{ListOptions: opt,
		ProjectID: r.URL.Query().Get("project_id")})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pageOf(p.Page, myTargetOf))
}

// sessionTargetJSON is a target as a session starts on it: hosts to choose
// from and the credentials it brokers (names only).
type sessionTargetJSON struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	ProjectID   string         `json:"project_id"`
	ProjectName string         `json:"project_name"`
	OrgName     string         `json:"org_name"`
	DefaultPort int            `json:"default_port"`
	Address     *string        `json:"address"`
	Hosts       []hostRefJSON  `json:"hosts"`
	Credentials []namedRefJSON `json:"credentials"`
}

type hostRefJSON struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Address string `json:"address"`
	HostSet string `json:"host_set"`
}

type namedRefJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
}

// myTarget reads one target the caller may start a session on
// (GET /my-targets/{id}).
func (s *Server) myTarget(w http.ResponseWriter, r *http.Request) error {
	t, err := s.store.TargetForSession(r.Context(), actorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	out := sessionTargetJSON{ID: t.ID, Name: t.Name, Description: t.Description, ProjectID: t.ScopeID, ProjectName: t.ProjectName,
		OrgName: t.OrgName, DefaultPort: t.DefaultPort, Address: t.Address, Hosts: []hostRefJSON{}, Credentials: []namedRefJSON{}}
	for _, h := range t.Hosts {
		out.Hosts = append(out.Hosts, hostRefJSON{h.HostID, h.HostName, h.Address, h.HostSetName})
	}
	for _, c := range t.Credentials {
		out.Credentials = append(out.Credentials, namedRefJSON{c.CredentialID, c.CredentialName, c.CredentialType})
	}
	return writeJSON(w, http.StatusOK, out)
}

// sessionJSON is a session.
type sessionJSON struct {
	ID                string           `json:"id"`
	State             string           `json:"state"`
	TerminationReason *string          `json:"termination_reason"`
	UserID            string           `json:"user_id"`
	UserName          string           `json:"user_name"`
	TargetID          string           `json:"target_id"`
	TargetName        string           `json:"target_name"`
	ProjectID         string           `json:"project_id"`
	ProjectName       string           `json:"project_name"`
	OrgName           string           `json:"org_name"`
	HostID            string           `json:"host_id"`
	HostName          string           `json:"host_name"`
	Endpoint          string           `json:"endpoint"`
	CreatedAt         time.Time        `json:"created_at"`
	ExpiresAt         time.Time        `json:"expires_at"`
	EndedAt           *time.Time       `json:"ended_at"`
	ConnectionLimit   int              `json:"connection_limit"`
	ConnectionCount   int              `json:"connection_count"`
	OpenConnections   int              `json:"open_connections"`
	BytesUp           int64            `json:"bytes_up"`
	BytesDown         int64            `json:"bytes_down"`
	Version           int              `json:"version"`
	Actions           []string         `json:"actions"`
	Connections       []connectionJSON `json:"connections,omitempty"`
}

type connectionJSON struct {
	ID           string     `json:"id"`
	ClientAddr   string     `json:"client_addr"`
	UserIP       string     `json:"user_ip"`
	EndpointAddr string     `json:"endpoint_addr"`
	AuthorizedAt time.Time  `json:"authorized_at"`
	ConnectedAt  *time.Time `json:"connected_at"`
	ClosedAt     *time.Time `json:"closed_at"`
	BytesUp      int64      `json:"bytes_up"`
	BytesDown    int64      `json:"bytes_down"`
	ClosedReason *string    `json:"closed_reason"`
}

func connectionOf(c models.Connection) connectionJSON {
	return connectionJSON{ID: c.ID, ClientAddr: c.ClientAddr, UserIP: c.UserIP, EndpointAddr: c.EndpointAddr, AuthorizedAt: c.AuthorizedAt,
		ConnectedAt: c.ConnectedAt, ClosedAt: c.ClosedAt, BytesUp: c.BytesUp, BytesDown: c.BytesDown, ClosedReason: c.ClosedReason}
}

func sessionOf(it models.SessionItem) sessionJSON {
	ss := it.Session
	var reason *string
	if ss.TerminationReason != nil {
		r := string(*ss.TerminationReason)
		reason = &r
	}
	out := sessionJSON{ID: ss.ID, State: string(ss.State), TerminationReason: reason, UserID: ss.UserID, UserName: ss.UserName,
		TargetID: ss.TargetID, TargetName: ss.TargetName, ProjectID: ss.ProjectID, ProjectName: ss.ProjectName, OrgName: ss.OrgName,
		HostID: ss.HostID, HostName: ss.HostName, Endpoint: ss.Endpoint, CreatedAt: ss.CreatedAt, ExpiresAt: ss.ExpiresAt,
		EndedAt: ss.EndedAt, ConnectionLimit: ss.ConnectionLimit, ConnectionCount: ss.ConnectionCount,
		OpenConnections: ss.OpenConnections, BytesUp: ss.BytesUp, BytesDown: ss.BytesDown, Version: ss.Version,
		Actions: actionsOf(it.Actions)}
	if it.Connections != nil {
		out.Connections = mapSlice(it.Connections, connectionOf)
	}
	return out
}

// credentialJSON is a brokered credential with its secret (only to the
// session's own user, only while the session lives).
type credentialJSON struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Purpose    string          `json:"purpose"`
	StoreName  string          `json:"store_name"`
	Username   string          `json:"username,omitempty"`
	Password   string          `json:"password,omitempty"`
	PrivateKey string          `json:"private_key,omitempty"`
	Passphrase string          `json:"passphrase,omitempty"`
	Object     json.RawMessage `json:"object,omitempty"`
	// Principals, Certificate (authorized_keys format; empty until a public
	// key is signed: POST /sessions/{id}/ssh-key) and ValidBefore are an
	// SSH certificate's.
	Principals  []string   `json:"principals,omitempty"`
	Certificate string     `json:"certificate,omitempty"`
	ValidBefore *time.Time `json:"valid_before,omitempty"`
}

func credentialOf(c models.IssuedCredential) credentialJSON {
	return credentialJSON{ID: c.ID, Name: c.Name, Type: c.Type, Purpose: c.Purpose, StoreName: c.StoreName, Username: c.Username,
		Password: c.Password, PrivateKey: c.PrivateKey, Passphrase: c.Passphrase, Object: c.Object,
		Principals: c.Principals, Certificate: c.Certificate, ValidBefore: c.ValidBefore}
}

// signSSHKey signs the caller's public key with the CA of every SSH
// certificate library of their live session (POST /sessions/{id}/ssh-key,
// body {"public_key": "ssh-ed25519 …"}), as the session page's form does,
// and answers the session's SSH certificate credentials.
func (s *Server) signSSHKey(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		PublicKey string `json:"public_key"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	creds, err := s.store.SignSessionSSHKey(r.Context(), actorFrom(r.Context()), chi.URLParam(r, "id"), in.PublicKey)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		Credentials []credentialJSON `json:"credentials"`
	}{mapSlice(creds, credentialOf)})
}

// authorizedJSON is a session just started: its token and credentials are
// returned this once.
type authorizedJSON struct {
	Session     sessionJSON      `json:"session"`
	Token       string           `json:"token"`
	Credentials []credentialJSON `json:"credentials"`
	Addr        string           `json:"addr"`
}

// authorizeSession starts a session on a target
// (POST /targets/{id}/authorize-session, body {"host_id": optional}).
func (s *Server) authorizeSession(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		HostID string `json:"host_id"`
	}
	if r.ContentLength != 0 {
		if err := decode(r, &in); err != nil {
			return err
		}
	}
	st, err := s.store.StartSession(r.Context(), actorFrom(r.Context()), models.StartSessionInput{TargetID: chi.URLParam(r, "id"),
		HostID: in.HostID, ClientIP: s.cfg.ClientIP(r), UserAgent: r.UserAgent()})
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/sessions/"+st.Session.ID)
	return writeJSON(w, http.StatusCreated, authorizedJSON{Session: sessionOf(models.SessionItem{Session: st.Session, Actions: st.Actions}),
		Token: st.Token, Credentials: nonNil(mapSlice(st.Credentials, credentialOf)), Addr: s.cfg.ExternalURL})
}

// listSessions lists sessions (GET /sessions): mine=true for the caller's
// own, else every session the caller may read; filters state, user,
// target, project (name prefixes) and sort as on the admin page.
func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) error {
	opt, err := listOptions(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := models.SessionFilter{User: q.Get("user"), Target: q.Get("target"), Project: q.Get("project"), State: q.Get("state"),
		Reason: q.Get("reason"), Sort: q.Get("sort"), ListOptions: opt}
	a := actorFrom(r.Context())
	switch strings.ToLower(q.Get("mine")) {
	case "", "false":
	case "true":
		f.UserID = a.UserID
	default:
		return badRequest("mine", "mine must be true or false.")
	}
	p, err := s.store.ListSessions(r.Context(), a, f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pageOf(p, sessionOf))
}

// sessionDetailJSON is a session with its history, connections and
// brokered credentials.
type sessionDetailJSON struct {
	sessionJSON
	History     []stateJSON      `json:"history"`
	Connections []connectionJSON `json:"connections"`
	Credentials []credentialJSON `json:"credentials"`
	// Brokered are the credentials the session was given, without
	// secrets, with the revocation state of those a library minted.
	Brokered []brokeredJSON `json:"brokered"`
}

// brokeredJSON is a credential given to a session (no secret).
type brokeredJSON struct {
	CredentialID string          `json:"credential_id"`
	Name         string          `json:"name"`
	Type         string          `json:"type"`
	Source       string          `json:"source"`
	LibraryID    string          `json:"library_id,omitempty"`
	IssuedAt     time.Time       `json:"issued_at"`
	RevokedAt    *time.Time      `json:"revoked_at"`
	Revocation   *revocationJSON `json:"revocation,omitempty"`
}

// revocationJSON is where a minted credential's revocation stands.
type revocationJSON struct {
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error,omitempty"`
	NextAttemptAt time.Time  `json:"next_attempt_at"`
	RevokedAt     *time.Time `json:"revoked_at"`
}

func brokeredOf(b models.SessionCredentialRow) brokeredJSON {
	out := brokeredJSON{CredentialID: b.CredentialID, Name: b.Name, Type: b.Type, Source: b.Source, LibraryID: b.LibraryID,
		IssuedAt: b.IssuedAt, RevokedAt: b.RevokedAt}
	if r := b.Revocation; r != nil {
		out.Revocation = &revocationJSON{State: r.State, Attempts: r.Attempts, LastError: r.LastError, NextAttemptAt: r.NextAttemptAt,
			RevokedAt: r.RevokedAt}
	}
	return out
}

// retryRevocation makes a minted credential's failed or pending
// revocation due now, as the audit page's Retry button does
// (POST /sessions/{id}/revocations/{credential}/retry), and answers the
// session.
func (s *Server) retryRevocation(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.RetryRevocation(r.Context(), actorFrom(r.Context()), chi.URLParam(r, "id"), chi.URLParam(r, "credential")); err != nil {
		return err
	}
	return s.getSession(w, r)
}

type stateJSON struct {
	State string    `json:"state"`
	At    time.Time `json:"at"`
}

// getSession reads one session (GET /sessions/{id}).
func (s *Server) getSession(w http.ResponseWriter, r *http.Request) error {
	d, err := s.store.GetSession(r.Context(), actorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	out := sessionDetailJSON{sessionJSON: sessionOf(models.SessionItem{Session: d.Session, Actions: d.Actions}),
		Connections: nonNil(mapSlice(d.Connections, connectionOf)), Credentials: nonNil(mapSlice(d.Credentials, credentialOf)),
		Brokered: nonNil(mapSlice(d.Brokered, brokeredOf))}
	for _, h := range d.History {
		out.History = append(out.History, stateJSON{string(h.State), h.At})
	}
	out.History = nonNil(out.History)
	w.Header().Set("ETag", etag(d.Version))
	return writeJSON(w, http.StatusOK, out)
}

// cancelSession cancels a session (POST /sessions/{id}/cancel).
func (s *Server) cancelSession(w http.ResponseWriter, r *http.Request) error {
	ss, err := s.store.CancelSession(r.Context(), actorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sessionOf(models.SessionItem{Session: *ss}))
}
