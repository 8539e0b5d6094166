package web

import (
	"net/http"
	"time"

	"github.com/gorilla/sessions"
)

// cookieName is the one browser cookie. It holds the login token and, during
// an OIDC login, the attempt's state, nonce and PKCE verifier. It is
// encrypted and signed; the login itself lives in the database.
const cookieName = "gatehouse"

// newCookieStore makes the cookie store; the cookie (and its signature's
// age limit) lasts as long as a login, loginLifetime.
func newCookieStore(cfg Config, loginLifetime time.Duration) *sessions.CookieStore {
	if loginLifetime <= 0 {
		loginLifetime = 7 * 24 * time.Hour
	}
	cs := sessions.NewCookieStore(cfg.CookieHashKey, cfg.CookieBlockKey)
	cs.Options = &sessions.Options{
		Path:     "/",
		MaxAge:   int(loginLifetime.Seconds()),
		HttpOnly: true,
		Secure:   cfg.ExternalURL.Scheme == "https",
		SameSite: http.SameSiteLaxMode,
	}
	cs.MaxAge(cs.Options.MaxAge)
	return cs
}

// cookie returns the request's decoded cookie; a tampered or stale cookie
// yields a fresh empty one.
func (s *Server) cookie(r *http.Request) *sessions.Session {
	sess, err := s.cookies.Get(r, cookieName)
	if err != nil {
		sess, _ = s.cookies.New(r, cookieName)
	}
	return sess
}

func tokenOf(sess *sessions.Session) string {
	t, _ := sess.Values["token"].(string)
	return t
}
