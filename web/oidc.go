package web

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"gatehouse/models"
	"gatehouse/oidcauth"
	"gatehouse/views"
)

// oidcAttemptTTL is how long a started OIDC login may take.
const oidcAttemptTTL = 5 * time.Minute

// Cookie keys of an OIDC login attempt, and of the ID token kept for logout.
const (
	ckState    = "oidc_state"
	ckNonce    = "oidc_nonce"
	ckVerifier = "oidc_verifier"
	ckMethod   = "oidc_method"
	ckNext     = "oidc_next"
	ckStarted  = "oidc_started"
	ckIDToken  = "id_token"
)

// maxHintLength bounds the ID token kept in the cookie as logout's
// id_token_hint (optional), so that a large token cannot overflow the
// cookie's 4 KiB.
const maxHintLength = 2000

// OIDCCallbackPath is the one redirect URI of every OIDC auth method,
// below the external URL; admins register it at their provider.
const OIDCCallbackPath = oidcauth.CallbackPath

func settingsOf(c *models.OIDCLoginConfig) oidcauth.Settings {
	return oidcauth.Settings{Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret, ClaimsScopes: c.ClaimsScopes,
		AllowedAudiences: c.AllowedAudiences, SigningAlgorithms: c.SigningAlgorithms, MaxAge: c.MaxAge, Prompts: c.Prompts}
}

func (s *Server) callbackURL() string { return s.cfg.ExternalURL.String() + OIDCCallbackPath }

// refuse renders the login page with why an OIDC login failed; nothing was
// created. The cause is logged, never shown.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, status int, reason string, cause error) error {
	s.logger.WarnContext(r.Context(), "oidc login refused", slog.String("request_id", middleware.GetReqID(r.Context())),
		slog.String("reason", reason), slog.Any("error", cause))
	f := views.Form{Values: map[string]string{}, Error: "Login failed: " + reason + "."}
	return s.renderLogin(w, r, status, f, "/")
}

// oidcStart begins an OIDC login (GET /auth/oidc/{id}/start?next=…): the
// attempt goes into the encrypted cookie and the browser to the provider.
func (s *Server) oidcStart(w http.ResponseWriter, r *http.Request) error {
	cfg, err := s.store.OIDCConfigForLogin(r.Context(), chi.URLParam(r, "id"))
	if errors.Is(err, models.ErrNotFound) {
		return s.refuse(w, r, http.StatusNotFound, "this login method is unknown or not active", err)
	}
	if err != nil {
		return err
	}
	authURL, at, err := s.oidc.Begin(r.Context(), settingsOf(cfg), s.callbackURL())
	if err != nil {
		return s.refuse(w, r, http.StatusBadGateway, refusalText(err), err)
	}
	sess := s.cookie(r)
	sess.Values[ckState], sess.Values[ckNonce], sess.Values[ckVerifier] = at.State, at.Nonce, at.Verifier
	sess.Values[ckMethod], sess.Values[ckNext] = cfg.AuthMethodID, safeNext(r.URL.Query().Get("next"))
	sess.Values[ckStarted] = s.now().Unix()
	if err := sess.Save(r, w); err != nil {
		return fmt.Errorf("save cookie: %w", err)
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, authURL, http.StatusSeeOther)
	return nil
}

func refusalText(err error) string {
	var rf *oidcauth.Refusal
	if errors.As(err, &rf) {
		return rf.Reason
	}
	var mr *models.OIDCRefusal
	if errors.As(err, &mr) {
		return mr.Reason
	}
	return "something went wrong"
}

// oidcCallback finishes an OIDC login (GET /auth/oidc/callback): it checks
// the attempt in the cookie (state, 5-minute expiry), lets oidcauth exchange
// the code and verify the tokens, then the Store links the account and
// starts a fresh login. Every refusal shows the login page with the reason.
func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) error {
	sess := s.cookie(r)
	str := func(k string) string { v, _ := sess.Values[k].(string); return v }
	state, nonce, verifier, methodID, next := str(ckState), str(ckNonce), str(ckVerifier), str(ckMethod), str(ckNext)
	started, _ := sess.Values[ckStarted].(int64)
	// The attempt is single-use in this browser: clear it whatever happens.
	for _, k := range []string{ckState, ckNonce, ckVerifier, ckMethod, ckNext, ckStarted} {
		delete(sess.Values, k)
	}
	if err := sess.Save(r, w); err != nil {
		return fmt.Errorf("save cookie: %w", err)
	}
	q := r.URL.Query()
	switch {
	case state == "" || nonce == "" || verifier == "" || methodID == "":
		return s.refuse(w, r, http.StatusBadRequest, "this browser has no login attempt in progress (it may have been used already); please start again", nil)
	case q.Get("state") == "" || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1:
		return s.refuse(w, r, http.StatusBadRequest, "the answer does not belong to this browser's login attempt (state mismatch); please start again", nil)
	case s.now().Sub(time.Unix(started, 0)) > oidcAttemptTTL:
		return s.refuse(w, r, http.StatusBadRequest, "the login attempt expired (it must finish within 5 minutes); please start again", nil)
	case q.Get("error") != "":
		return s.refuse(w, r, http.StatusUnauthorized, "the identity provider refused: "+clip(q.Get("error")+" "+q.Get("error_description"), 200), nil)
	case q.Get("code") == "":
		return s.refuse(w, r, http.StatusBadRequest, "the identity provider sent no authorization code", nil)
	}
	cfg, err := s.store.OIDCConfigForLogin(r.Context(), methodID)
	if errors.Is(err, models.ErrNotFound) {
		return s.refuse(w, r, http.StatusForbidden, "this login method is unknown or not active", err)
	}
	if err != nil {
		return err
	}
	id, err := s.oidc.Finish(r.Context(), settingsOf(cfg), s.callbackURL(), q.Get("code"),
		oidcauth.Attempt{State: state, Nonce: nonce, Verifier: verifier})
	if err != nil {
		status := http.StatusUnauthorized
		if errors.Is(err, oidcauth.ErrUnreachable) {
			status = http.StatusBadGateway
		}
		return s.refuse(w, r, status, refusalText(err), err)
	}
	res, err := s.store.OIDCLogin(r.Context(), models.OIDCIdentity{AuthMethodID: cfg.AuthMethodID, Issuer: id.Issuer,
		Subject: id.Subject, TokenClaims: id.TokenClaims, UserinfoClaims: id.UserinfoClaims, ClientIP: s.clientIP(r), UserAgent: r.UserAgent()})
	var mr *models.OIDCRefusal
	if errors.As(err, &mr) {
		return s.refuse(w, r, http.StatusForbidden, mr.Reason, err)
	}
	if err != nil {
		return err
	}
	extra := map[string]any{}
	if len(id.RawIDToken) <= maxHintLength {
		extra[ckIDToken] = id.RawIDToken
	}
	if err := s.setLoginCookie(w, r, res.Token, extra); err != nil {
		return err
	}
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
	return nil
}

// clip cuts provider-supplied text to max runes.
func clip(s string, max int) string {
	if r := []rune(strings.TrimSpace(s)); len(r) > max {
		return string(r[:max]) + "…"
	}
	return strings.TrimSpace(s)
}

// endSessionURL is where logout sends the browser after ending a login made
// through an OIDC method whose provider advertises end_session_endpoint.
func (s *Server) endSessionURL(r *http.Request, l *models.Login, idToken string) string {
	if l == nil {
		return ""
	}
	cfg, err := s.store.OIDCConfigForLogin(r.Context(), l.AuthMethodID)
	if err != nil {
		return ""
	}
	return s.oidc.EndSessionURL(r.Context(), settingsOf(cfg), idToken, s.cfg.ExternalURL.String()+"/login")
}
