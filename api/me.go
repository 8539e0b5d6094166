package api

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"gatehouse/models"
)

// tokenJSON is an API token as listed (never its secret).
type tokenJSON struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func tokenOf(t models.APIToken) tokenJSON {
	return tokenJSON{ID: t.ID, Kind: t.Kind, Name: t.Name, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt}
}

// newTokenJSON is a token just made, with its secret (shown this once).
type newTokenJSON struct {
	tokenJSON
	Token  string `json:"token"`
	UserID string `json:"user_id"`
}

// publicAuthMethods lists the login page's methods (GET /auth-methods/public).
func (s *Server) publicAuthMethods(w http.ResponseWriter, r *http.Request) error {
	ms, err := s.store.PublicAuthMethods(r.Context())
	if err != nil {
		return err
	}
	type method struct {
		ID        string `json:"id"`
		Type      string `json:"type"`
		Name      string `json:"name"`
		ScopeName string `json:"scope_name"`
	}
	out := make([]method, 0, len(ms))
	for _, m := range ms {
		out = append(out, method{m.ID, m.Type, m.Name, m.ScopeName})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

// passwordToken is `gatehouse login --password` (POST /auth/password).
func (s *Server) passwordToken(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		AuthMethodID string `json:"auth_method_id"`
		LoginName    string `json:"login_name"`
		Password     string `json:"password"`
		TokenName    string `json:"token_name"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := s.store.PasswordAPIToken(r.Context(), models.PasswordLogin{AuthMethodID: in.AuthMethodID, LoginName: in.LoginName,
		Password: in.Password, ClientIP: s.cfg.ClientIP(r), UserAgent: r.UserAgent()}, in.TokenName)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, newTokenJSON{tokenOf(t.APIToken), t.Token, t.UserID})
}

// cliToken exchanges the browser login's code (POST /auth/cli-token).
func (s *Server) cliToken(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Code         string `json:"code"`
		CodeVerifier string `json:"code_verifier"`
		RedirectURI  string `json:"redirect_uri"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := s.store.ExchangeCLILoginCode(r.Context(), in.Code, in.CodeVerifier, in.RedirectURI)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, newTokenJSON{tokenOf(t.APIToken), t.Token, t.UserID})
}

// logout revokes the caller's own token (DELETE /auth/token).
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.RevokeOwnAPIToken(r.Context(), actorFrom(r.Context()), bearer(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// me describes the caller (GET /me).
func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	a := actorFrom(r.Context())
	u, err := s.store.GetUser(r.Context(), a, a.UserID)
	if err != nil {
		return err
	}
	c := a.Can
	var can []string
	for name, ok := range map[string]bool{"scopes": c.Scopes, "users": c.Users, "groups": c.Groups, "roles": c.Roles,
		"all_sessions": c.AllSessions, "session_history": c.SessionHistory, "explain_others": c.ExplainOthers} {
		if ok {
			can = append(can, name)
		}
	}
	slices.Sort(can)
	return writeJSON(w, http.StatusOK, map[string]any{
		"id": u.ID, "scope_id": u.ScopeID, "name": u.Name, "full_name": u.FullName, "email": u.Email,
		"display_name": u.DisplayName(), "account_id": a.AccountID, "token_id": a.LoginID, "can": nonNil(can),
	})
}

// listTokens lists the caller's tokens (GET /me/tokens).
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.store.ListAPITokens(r.Context(), actorFrom(r.Context()))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listJSON[tokenJSON]{Items: mapSlice(ts, tokenOf), Total: int64(len(ts))})
}

// revokeToken revokes one of the caller's tokens (DELETE /me/tokens/{id}).
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.RevokeAPIToken(r.Context(), actorFrom(r.Context()), chi.URLParam(r, "id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// bearer is the request's bearer token (authenticate checked the scheme).
func bearer(r *http.Request) string {
	_, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return strings.TrimSpace(tok)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func mapSlice[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}
