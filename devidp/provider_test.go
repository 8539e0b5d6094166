package devidp_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-chi/chi/v5"
	"golang.org/x/oauth2"

	"gatehouse/devidp"
)

const (
	clientID     = "gatehouse-web"
	clientSecret = "dev-secret-not-for-logs"
)

// env is one provider behind an httptest server, discovered by go-oidc, plus a
// browser-like client with a cookie jar that stops at the client's redirect URI.
type env struct {
	t           *testing.T
	ctx         context.Context
	srv         *httptest.Server
	idp         *devidp.Provider
	issuer      string
	redirectURI string
	logoutURI   string
	provider    *oidc.Provider
	oauth       oauth2.Config
	browser     *http.Client
	logs        *syncBuffer
	offset      atomic.Int64 // added to the provider's clock, in nanoseconds
}

// newEnv mounts the provider at /dev-idp with chi's Mount, or with an
// http.ServeMux when serveMux is true.
func newEnv(t *testing.T, serveMux bool, users []devidp.User) *env {
	t.Helper()
	e := &env{t: t, logs: &syncBuffer{}}
	var root http.Handler
	var mount func(http.Handler)
	if serveMux {
		mux := http.NewServeMux()
		root, mount = mux, func(h http.Handler) { mux.Handle("/dev-idp/", h) }
	} else {
		r := chi.NewRouter() // the way the host app mounts it; no request comes before Mount
		root, mount = r, func(h http.Handler) { r.Mount("/dev-idp", h) }
	}
	e.srv = httptest.NewServer(root)
	t.Cleanup(e.srv.Close)
	e.issuer = e.srv.URL + "/dev-idp"
	e.redirectURI = e.srv.URL + "/auth/callback"
	e.logoutURI = e.srv.URL + "/signed-out"

	logger := slog.New(slog.NewTextHandler(io.MultiWriter(e.logs, t.Output()), nil))
	idp, err := devidp.New(e.issuer, users, []devidp.Client{{
		ID: clientID, Secret: clientSecret,
		RedirectURIs:           []string{e.redirectURI},
		PostLogoutRedirectURIs: []string{e.logoutURI},
	}}, logger)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	devidp.SetClock(idp, func() time.Time { return time.Now().Add(time.Duration(e.offset.Load())) })
	e.idp = idp
	mount(idp.Handler())

	e.ctx = oidc.ClientContext(t.Context(), e.srv.Client())
	e.provider, err = oidc.NewProvider(e.ctx, e.issuer)
	if err != nil {
		t.Fatalf("discover: %v", err)
	}
	e.oauth = oauth2.Config{
		ClientID: clientID, ClientSecret: clientSecret,
		Endpoint:    e.provider.Endpoint(),
		RedirectURL: e.redirectURI,
		Scopes:      []string{oidc.ScopeOpenID, "profile", "email", "groups"},
	}
	e.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInHeader

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	e.browser = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), e.redirectURI) || strings.HasPrefix(req.URL.String(), e.logoutURI) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return e
}

// advance moves the provider's clock forward.
func (e *env) advance(d time.Duration) { e.offset.Add(int64(d)) }

// attempt is one authorization request started in the browser.
type attempt struct {
	state, nonce, verifier string
	id                     string // auth request id from the login form
	formHTML               string
}

var hiddenID = regexp.MustCompile(`name="authRequestID" value="([^"]+)"`)

// start GETs the authorize URL (PKCE S256) and returns the login form it lands on.
func (e *env) start() *attempt {
	e.t.Helper()
	a := &attempt{state: rand.Text(), nonce: rand.Text(), verifier: oauth2.GenerateVerifier()}
	authURL := e.oauth.AuthCodeURL(a.state, oidc.Nonce(a.nonce), oauth2.S256ChallengeOption(a.verifier))
	resp, body := e.do(http.MethodGet, authURL, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Request.URL.Path, "/dev-idp/login") {
		e.t.Fatalf("authorize: got %d at %s:\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	m := hiddenID.FindStringSubmatch(body)
	if m == nil {
		e.t.Fatalf("no authRequestID in login form:\n%s", body)
	}
	a.id, a.formHTML = m[1], body
	return a
}

// submit POSTs credentials to the login form.
func (e *env) submit(a *attempt, username, password string) (*http.Response, string) {
	e.t.Helper()
	form := url.Values{"authRequestID": {a.id}, "username": {username}, "password": {password}}
	return e.do(http.MethodPost, e.issuer+"/login", form)
}

// code logs in and returns the code the browser was redirected with, after checking state.
func (e *env) code(a *attempt, username, password string) string {
	e.t.Helper()
	resp, body := e.submit(a, username, password)
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), e.redirectURI) {
		e.t.Fatalf("login: got %d (%v):\n%s", resp.StatusCode, err, body)
	}
	if got := loc.Query().Get("state"); got != a.state {
		e.t.Fatalf("state = %q, want %q", got, a.state)
	}
	c := loc.Query().Get("code")
	if c == "" {
		e.t.Fatalf("no code in %s", loc)
	}
	return c
}

func (e *env) exchange(a *attempt, code string) (*oauth2.Token, error) {
	return e.oauth.Exchange(e.ctx, code, oauth2.VerifierOption(a.verifier))
}

// claims are the person claims the ID token and userinfo carry.
type claims struct {
	Email             string   `json:"email"`
	EmailVerified     bool     `json:"email_verified"`
	Name              string   `json:"name"`
	PreferredUsername string   `json:"preferred_username"`
	Groups            []string `json:"groups"`
}

// login runs the whole code flow and returns the verified ID token, its claims and the token.
func (e *env) login(username, password string) (*oidc.IDToken, claims, *oauth2.Token) {
	e.t.Helper()
	a := e.start()
	tok, err := e.exchange(a, e.code(a, username, password))
	if err != nil {
		e.t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := e.provider.Verifier(&oidc.Config{ClientID: clientID}).Verify(e.ctx, raw)
	if err != nil {
		e.t.Fatalf("verify ID token: %v", err)
	}
	if idt.Issuer != e.issuer || !slices.Equal(idt.Audience, []string{clientID}) || idt.Nonce != a.nonce {
		e.t.Fatalf("ID token iss=%q aud=%v nonce=%q, want %q %q %q",
			idt.Issuer, idt.Audience, idt.Nonce, e.issuer, clientID, a.nonce)
	}
	var c claims
	if err := idt.Claims(&c); err != nil {
		e.t.Fatal(err)
	}
	return idt, c, tok
}

// userinfo calls the userinfo endpoint with tok.
func (e *env) userinfo(tok *oauth2.Token) (*oidc.UserInfo, claims, error) {
	ui, err := e.provider.UserInfo(e.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return nil, claims{}, err
	}
	var c claims
	err = ui.Claims(&c)
	return ui, c, err
}

// do sends a browser request and returns the last response with its body read.
func (e *env) do(method, target string, form url.Values) (*http.Response, string) {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, target, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := e.browser.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, string(b)
}

// syncBuffer collects log output from server goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
