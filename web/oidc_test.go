package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/devidp"
	"gatehouse/models"
	"gatehouse/oidcauth"
)

// oidcEnv is Gatehouse (web.Server on httptest) and our dev OpenID provider
// (zitadel op) on another listener, on one real database.
type oidcEnv struct {
	t      *testing.T
	store  *models.Store
	admin  models.Actor
	srv    *Server
	gh     *httptest.Server
	idpSrv *httptest.Server
	idp    *devidp.Provider
	issuer string
	method *models.OIDCMethod // primary, client "gh-1"
	skew   atomic.Int64       // added to the web clock
	setIdP func(http.Handler) // replaces the provider behind the issuer URL
	mkIdP  func() *devidp.Provider
}

func newOIDCEnv(t *testing.T, d models.Dialect) *oidcEnv {
	return newOIDCEnvAt(t, d, "/idp")
}

// newOIDCEnvAt is newOIDCEnv with the provider's issuer at issuerPath on
// its listener (e.g. "/idp/": an issuer ending in "/", as Auth0's do).
func newOIDCEnvAt(t *testing.T, d models.Dialect, issuerPath string) *oidcEnv {
	e := &oidcEnv{t: t}
	var ghH, idpH http.Handler
	e.gh = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ghH.ServeHTTP(w, r) }))
	t.Cleanup(e.gh.Close)
	var mu sync.Mutex
	e.idpSrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := idpH
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(e.idpSrv.Close)
	e.issuer = e.idpSrv.URL + issuerPath
	client := func(id string) devidp.Client {
		return devidp.Client{ID: id, Secret: id + "-secret", RedirectURIs: []string{e.gh.URL + OIDCCallbackPath},
			PostLogoutRedirectURIs: []string{e.gh.URL + "/login"}}
	}
	e.mkIdP = func() *devidp.Provider {
		p, err := devidp.New(e.issuer, devidp.DefaultUsers(), []devidp.Client{client("gh-1"), client("gh-2")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	e.setIdP = func(h http.Handler) { mu.Lock(); idpH = h; mu.Unlock() }
	e.idp = e.mkIdP()
	e.setIdP(e.idp.Handler())
	var err error
	e.store = dbtest.Open(t, d, models.Options{CheckOIDCProvider: oidcauth.Checker(http.DefaultClient)})
	e.admin = dbtest.Admin(t, e.store)
	ext, _ := url.Parse(e.gh.URL)
	e.srv, err = NewServer(Config{ExternalURL: ext, CookieHashKey: make([]byte, 32), CookieBlockKey: make([]byte, 32),
		Now: func() time.Time { return time.Now().Add(time.Duration(e.skew.Load())) }}, e.store, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ghH = e.srv
	e.method = e.addMethod("Corp SSO", "gh-1", true)
	return e
}

func (e *oidcEnv) addMethod(name, clientID string, primary bool) *models.OIDCMethod {
	e.t.Helper()
	ctx := context.Background()
	m, err := e.store.CreateOIDCMethod(ctx, e.admin, models.GlobalScopeID, models.OIDCMethodInput{Name: name, Issuer: e.issuer,
		ClientID: clientID, ClientSecret: clientID + "-secret", ClaimsScopes: "profile email", Primary: primary})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.ChangeAuthMethodState(ctx, e.admin, m.ID, m.Version, models.StateActivePublic); err != nil {
		e.t.Fatal(err)
	}
	m, _ = e.store.GetOIDCMethod(ctx, e.admin, m.ID)
	return m
}

// browser is an HTTP client with a cookie jar that stops before Gatehouse's
// callback, so tests can look at (and tamper with) the answer.
type browser struct {
	e       *oidcEnv
	c       *http.Client
	jar     *cookiejar.Jar
	stopAtC bool
}

func (e *oidcEnv) browser() *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{e: e, jar: jar}
	b.c = &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if b.stopAtC && req.URL.Path == OIDCCallbackPath {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return b
}

func (b *browser) get(u string) (*http.Response, string) {
	b.e.t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		b.e.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// toCallback starts a login through method and logs in at the provider; it
// returns the provider's redirect to Gatehouse's callback, not yet followed.
func (b *browser) toCallback(methodID, user string) string {
	b.e.t.Helper()
	return b.toCallbackNext(methodID, user, "/account")
}

// toCallbackNext is toCallback with the start's next destination.
func (b *browser) toCallbackNext(methodID, user, next string) string {
	b.e.t.Helper()
	resp, _ := b.get(b.e.gh.URL + "/auth/oidc/" + methodID + "/start?next=" + url.QueryEscape(next))
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.String(), b.e.idpSrv.URL+"/") || !strings.HasSuffix(resp.Request.URL.Path, "/login") {
		b.e.t.Fatalf("start landed on %s (%d)", resp.Request.URL, resp.StatusCode)
	}
	b.stopAtC = true
	defer func() { b.stopAtC = false }()
	form := url.Values{"authRequestID": {resp.Request.URL.Query().Get("authRequestID")}, "username": {user}, "password": {"password"}}
	resp, err := b.c.PostForm(resp.Request.URL.String(), form)
	if err != nil {
		b.e.t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, b.e.gh.URL+OIDCCallbackPath) {
		b.e.t.Fatalf("provider redirected to %q (%d), want the callback", loc, resp.StatusCode)
	}
	return loc
}

func (e *oidcEnv) counts() [3]int64 {
	var c [3]int64
	e.store.DB().Table("users").Count(&c[0])
	e.store.DB().Table("accounts").Count(&c[1])
	e.store.DB().Table("logins").Count(&c[2])
	return c
}

// refused checks a refusal page: status, the reason shown, nothing created.
func (e *oidcEnv) refused(name string, resp *http.Response, body string, status int, reason string, before [3]int64) {
	e.t.Helper()
	if resp.StatusCode != status || !strings.Contains(body, `data-testid="form-error"`) || !strings.Contains(body, reason) {
		i := strings.Index(body, "form-error")
		e.t.Errorf("%s: status %d, want %d with %q; form error: %.300s", name, resp.StatusCode, status, reason, body[max(i, 0):])
	}
	if after := e.counts(); after != before {
		e.t.Errorf("%s: counts (users, accounts, logins) %v → %v", name, before, after)
	}
}

func TestOIDCLoginAndRefusals(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) { testOIDCLoginAndRefusals(t, d) })
	}
}

func testOIDCLoginAndRefusals(t *testing.T, d models.Dialect) {
	e := newOIDCEnv(t, d)
	ctx := context.Background()

	// First login creates the user and lands on next; the callback is
	// captured (with the attempt cookie) for the replay below.
	b := e.browser()
	cb := b.toCallback(e.method.ID, "alice")
	attemptCookies := b.jar.Cookies(mustURL(e.gh.URL))
	before := e.counts()
	resp, body := b.get(cb)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/account" || !strings.Contains(body, "Alice Example") {
		t.Fatalf("first login ended at %s (%d)", resp.Request.URL, resp.StatusCode)
	}
	if after := e.counts(); after != [3]int64{before[0] + 1, before[1] + 1, before[2] + 1} {
		t.Errorf("first login: counts %v → %v", before, after)
	}

	// Replayed code (same attempt cookie, same code): the provider refuses.
	replay := e.browser()
	replay.jar.SetCookies(mustURL(e.gh.URL), attemptCookies)
	before = e.counts()
	resp, body = replay.get(cb)
	e.refused("replayed code", resp, body, http.StatusUnauthorized, "refused the authorization code", before)

	// Second login reuses the user; logout ends it at the provider too.
	resp, _ = b.get(b.toCallback(e.method.ID, "alice"))
	if after := e.counts(); resp.Request.URL.Path != "/account" || after != [3]int64{before[0], before[1], before[2] + 1} {
		t.Errorf("second login at %s: counts %v → %v", resp.Request.URL, before, after)
	}
	b.stopAtC = false
	var sawEndSession bool
	b.c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), e.issuer+"/end_session") && req.URL.Query().Get("id_token_hint") != "" &&
			req.URL.Query().Get("post_logout_redirect_uri") == e.gh.URL+"/login" {
			sawEndSession = true
		}
		return nil
	}
	resp, err := b.c.PostForm(e.gh.URL+"/logout", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !sawEndSession || resp.Request.URL.Path != "/login" {
		t.Errorf("logout: end session seen=%v, ended at %s", sawEndSession, resp.Request.URL)
	}
	if resp, _ := b.get(e.gh.URL + "/account"); resp.Request.URL.Path != "/login" {
		t.Errorf("after logout /account served %s", resp.Request.URL)
	}

	// Missing state: no attempt in this browser.
	before = e.counts()
	resp, body = e.browser().get(cb)
	e.refused("missing state", resp, body, http.StatusBadRequest, "no login attempt in progress", before)

	// Tampered state.
	b = e.browser()
	cb = b.toCallback(e.method.ID, "alice")
	u := mustURL(cb)
	q := u.Query()
	q.Set("state", q.Get("state")+"x")
	u.RawQuery = q.Encode()
	resp, body = b.get(u.String())
	e.refused("tampered state", resp, body, http.StatusBadRequest, "state mismatch", before)

	// The provider answers with an error instead of a code.
	b = e.browser()
	u = mustURL(b.toCallback(e.method.ID, "alice"))
	q = u.Query()
	q.Del("code")
	q.Set("error", "access_denied")
	q.Set("error_description", "<b>no</b>")
	u.RawQuery = q.Encode()
	resp, body = b.get(u.String())
	e.refused("provider error", resp, body, http.StatusUnauthorized, "the identity provider refused: access_denied &lt;b&gt;no&lt;/b&gt;", before)

	// Wrong nonce: the cookie's nonce is rewritten with the server's keys.
	b = e.browser()
	cb = b.toCallback(e.method.ID, "alice")
	b.rewriteCookie(func(v map[any]any) { v[ckNonce] = "not-the-nonce" })
	resp, body = b.get(cb)
	e.refused("wrong nonce", resp, body, http.StatusUnauthorized, "wrong nonce", before)

	// Expired attempt (the web clock moves 6 minutes on).
	b = e.browser()
	cb = b.toCallback(e.method.ID, "alice")
	e.skew.Store(int64(6 * time.Minute))
	resp, body = b.get(cb)
	e.skew.Store(0)
	e.refused("expired attempt", resp, body, http.StatusBadRequest, "expired", before)

	// Expired ID token: the web clock runs 10 minutes ahead of the provider
	// for the whole attempt (the dev provider's ID tokens live 5 minutes).
	e.skew.Store(int64(10 * time.Minute))
	b = e.browser()
	resp, body = b.get(b.toCallback(e.method.ID, "alice"))
	e.skew.Store(0)
	e.refused("expired ID token", resp, body, http.StatusUnauthorized, "The ID token has expired", before)

	// ID token for another audience than the method allows.
	in := models.OIDCMethodInput{Name: e.method.Name, Issuer: e.issuer, ClientID: "gh-1", ClaimsScopes: "profile email",
		AllowedAudiences: "some-other-api", Primary: true}
	m, err := e.store.UpdateOIDCMethod(ctx, e.admin, e.method.ID, e.method.Version, in)
	if err != nil {
		t.Fatal(err)
	}
	b = e.browser()
	resp, body = b.get(b.toCallback(e.method.ID, "alice"))
	e.refused("another audience", resp, body, http.StatusUnauthorized, "another audience", before)
	in.AllowedAudiences = ""
	if m, err = e.store.UpdateOIDCMethod(ctx, e.admin, m.ID, m.Version, in); err != nil {
		t.Fatal(err)
	}

	// Algorithm not allowed. The admin UI refuses ES256 for this provider
	// (its discovery check), so the setting is changed underneath, as if the
	// provider had changed its keys after activation.
	e.store.DB().Exec("UPDATE oidc_auth_methods SET signing_algorithms = 'ES256' WHERE auth_method_id = ?", m.ID)
	b = e.browser()
	resp, body = b.get(b.toCallback(e.method.ID, "alice"))
	e.refused("algorithm not allowed", resp, body, http.StatusUnauthorized, "signed with RS256, which this login method does not allow", before)
	e.store.DB().Exec("UPDATE oidc_auth_methods SET signing_algorithms = 'RS256' WHERE auth_method_id = ?", m.ID)

	// Subject already linked elsewhere: alice through a second method on the
	// same issuer; bob through it is refused as it is not primary.
	second := e.addMethod("Second", "gh-2", false)
	b = e.browser()
	resp, body = b.get(b.toCallback(second.ID, "alice"))
	e.refused("linked elsewhere", resp, body, http.StatusForbidden, "already linked to a Gatehouse account through another login method", before)
	b = e.browser()
	resp, body = b.get(b.toCallback(second.ID, "bob"))
	e.refused("not primary", resp, body, http.StatusForbidden, "is not its scope&#39;s primary login method", before)

	// Inactive method: no start, and an attempt begun before is refused.
	b = e.browser()
	cb = b.toCallback(second.ID, "bob")
	if err := e.store.ChangeAuthMethodState(ctx, e.admin, second.ID, second.Version, models.StateInactive); err != nil {
		t.Fatal(err)
	}
	resp, body = b.get(cb)
	e.refused("inactive at callback", resp, body, http.StatusForbidden, "unknown or not active", before)
	resp, body = e.browser().get(e.gh.URL + "/auth/oidc/" + second.ID + "/start")
	e.refused("inactive at start", resp, body, http.StatusNotFound, "unknown or not active", before)

	// Provider unreachable: a method whose provider went away.
	gone := httptest.NewServer(nil)
	goneIdP, err := devidp.New(gone.URL, devidp.DefaultUsers(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	gone.Config.Handler = goneIdP.Handler()
	gm, err := e.store.CreateOIDCMethod(ctx, e.admin, models.GlobalScopeID, models.OIDCMethodInput{Name: "Gone", Issuer: gone.URL, ClientID: "x", ClientSecret: "y"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.ChangeAuthMethodState(ctx, e.admin, gm.ID, gm.Version, models.StateActivePublic); err != nil {
		t.Fatal(err)
	}
	gone.Close()
	err = e.store.ChangeAuthMethodState(ctx, e.admin, gm.ID, gm.Version+1, models.StateActivePrivate)
	if msg := models.FieldErrors(err)["state"]; !strings.HasPrefix(msg, "Unreachable issuer") {
		t.Errorf("state change with provider gone: %v", err)
	}
	resp, body = e.browser().get(e.gh.URL + "/auth/oidc/" + gm.ID + "/start")
	e.refused("provider unreachable", resp, body, http.StatusBadGateway, "could not be reached", before)
}

// rewriteCookie decodes the Gatehouse cookie with the server's keys, lets
// edit change it and stores it back in the jar.
func (b *browser) rewriteCookie(edit func(map[any]any)) {
	b.e.t.Helper()
	ghURL := mustURL(b.e.gh.URL)
	req := httptest.NewRequest(http.MethodGet, b.e.gh.URL, nil)
	for _, c := range b.jar.Cookies(ghURL) {
		req.AddCookie(c)
	}
	sess, err := b.e.srv.cookies.Get(req, cookieName)
	if err != nil {
		b.e.t.Fatal(err)
	}
	edit(sess.Values)
	rec := httptest.NewRecorder()
	if err := sess.Save(req, rec); err != nil {
		b.e.t.Fatal(err)
	}
	b.jar.SetCookies(ghURL, rec.Result().Cookies())
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// TestOIDCKeyRotation: the provider starts signing with a new key (a new
// provider instance behind the same issuer); Gatehouse's cached key set
// refetches the JWKS and the next login works.
func TestOIDCKeyRotation(t *testing.T) {
	e := newOIDCEnv(t, models.SQLite)
	b := e.browser()
	if resp, _ := b.get(b.toCallback(e.method.ID, "alice")); resp.Request.URL.Path != "/account" {
		t.Fatalf("first login ended at %s", resp.Request.URL)
	}
	e.setIdP(e.mkIdP().Handler())
	b = e.browser()
	if resp, body := b.get(b.toCallback(e.method.ID, "alice")); resp.Request.URL.Path != "/account" {
		t.Fatalf("login after key rotation ended at %s (%d)\n%s", resp.Request.URL, resp.StatusCode, body)
	}
}

// TestOIDCNextStaysOnSite: the next given to the OIDC start is where the
// callback sends the browser only when it is a local path.
func TestOIDCNextStaysOnSite(t *testing.T) {
	e := newOIDCEnv(t, models.SQLite)
	for _, tc := range []struct{ next, want string }{
		{"/users", "/users"},
		{"/\t/evil.example/x", "/"},
		{"/\\evil.example", "/"},
		{"//evil.example", "/"},
		{"https://evil.example/", "/"},
	} {
		b := e.browser()
		cb := b.toCallbackNext(e.method.ID, "alice", tc.next)
		noFollow := &http.Client{Jar: b.jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noFollow.Get(cb)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != tc.want {
			t.Errorf("next=%q: callback answered %d Location %q, want %q", tc.next, resp.StatusCode, loc, tc.want)
		}
	}
}

// TestOIDCIssuerWithTrailingSlash: a provider whose issuer ends in "/"
// (Auth0's https://tenant.auth0.com/) is kept as entered, passes the
// activation check and logs people in.
func TestOIDCIssuerWithTrailingSlash(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			e := newOIDCEnvAt(t, d, "/idp/")
			if !strings.HasSuffix(e.method.Issuer, "/idp/") || e.method.State != models.StateActivePublic {
				t.Fatalf("method issuer %q, state %s", e.method.Issuer, e.method.State)
			}
			b := e.browser()
			resp, body := b.get(b.toCallback(e.method.ID, "alice"))
			if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/account" || !strings.Contains(body, "Alice Example") {
				t.Fatalf("login ended at %s (%d)", resp.Request.URL, resp.StatusCode)
			}
		})
	}
}
