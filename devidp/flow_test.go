package devidp_test

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"gatehouse/devidp"
)

func TestCodeFlowWithPKCE(t *testing.T) {
	e := newEnv(t, false, devidp.DefaultUsers())
	idt, got, tok := e.login("alice", "password")

	want := claims{Email: "alice@example.com", EmailVerified: true, Name: "Alice Example",
		PreferredUsername: "alice", Groups: []string{"sre"}}
	if idt.Subject != "dev-alice" || !equalClaims(got, want) {
		t.Errorf("ID token sub=%q claims=%+v, want dev-alice %+v", idt.Subject, got, want)
	}
	ui, uc, err := e.userinfo(tok)
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	if ui.Subject != "dev-alice" || ui.Email != "alice@example.com" || !ui.EmailVerified || !equalClaims(uc, want) {
		t.Errorf("userinfo sub=%q email=%q verified=%v claims=%+v, want %+v",
			ui.Subject, ui.Email, ui.EmailVerified, uc, want)
	}
	if tok.Expiry.After(time.Now().Add(6 * time.Minute)) {
		t.Errorf("access token expires at %v, want short-lived", tok.Expiry)
	}
	logs := e.logs.String()
	for _, secret := range []string{"password=", tok.AccessToken, tok.Extra("id_token").(string), clientSecret} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain a secret %q:\n%s", secret, logs)
		}
	}
}

func TestClientSecretPostAndEmptyGroups(t *testing.T) {
	e := newEnv(t, false, devidp.DefaultUsers())
	e.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	idt, got, tok := e.login("bob", "password")
	var raw map[string]any
	if err := idt.Claims(&raw); err != nil {
		t.Fatal(err)
	}
	if groups, ok := raw["groups"].([]any); !ok || len(groups) != 0 {
		t.Errorf(`ID token "groups" = %#v, want an empty array`, raw["groups"])
	}
	if got.Email != "bob@example.com" || got.PreferredUsername != "bob" {
		t.Errorf("claims = %+v", got)
	}
	if _, uc, err := e.userinfo(tok); err != nil || uc.Groups == nil || len(uc.Groups) != 0 {
		t.Errorf("userinfo groups = %#v (%v), want []", uc.Groups, err)
	}
}

func TestScopesLimitClaims(t *testing.T) {
	e := newEnv(t, false, devidp.DefaultUsers())
	e.oauth.Scopes = []string{"openid"}
	_, got, tok := e.login("alice", "password")
	want := claims{Groups: []string{"sre"}}
	if !equalClaims(got, want) {
		t.Errorf("ID token claims with scope openid = %+v, want %+v", got, want)
	}
	if _, uc, err := e.userinfo(tok); err != nil || !equalClaims(uc, want) {
		t.Errorf("userinfo claims with scope openid = %+v (%v), want %+v", uc, err, want)
	}
}

func TestSetGroupsChangesNextLogin(t *testing.T) {
	e := newEnv(t, false, devidp.DefaultUsers())
	if _, c, _ := e.login("alice", "password"); !slices.Equal(c.Groups, []string{"sre"}) {
		t.Fatalf("first login groups = %v", c.Groups)
	}
	if err := e.idp.SetGroups("alice", []string{"sre", "oncall"}); err != nil {
		t.Fatal(err)
	}
	_, c, tok := e.login("alice", "password")
	if !slices.Equal(c.Groups, []string{"sre", "oncall"}) {
		t.Errorf("second login ID token groups = %v", c.Groups)
	}
	if _, uc, err := e.userinfo(tok); err != nil || !slices.Equal(uc.Groups, []string{"sre", "oncall"}) {
		t.Errorf("second login userinfo groups = %v (%v)", uc.Groups, err)
	}
	if err := e.idp.SetGroups("nobody", nil); err == nil {
		t.Error("SetGroups of an unknown user succeeded")
	}
}

func TestWrongPasswordShowsErrorAndNoCode(t *testing.T) {
	e := newEnv(t, false, devidp.DefaultUsers())
	a := e.start()
	for _, user := range []string{"alice", "mallory"} {
		resp, body := e.submit(a, user, "wrong")
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Location") != "" ||
			!strings.Contains(body, "Wrong username or password") || strings.Contains(body, "code=") {
			t.Errorf("%s with wrong password: %d %q\n%s", user, resp.StatusCode, resp.Header.Get("Location"), body)
		}
	}
	// A cross-site form post is refused before the password is checked.
	form := url.Values{"authRequestID": {a.id}, "username": {"alice"}, "password": {"password"}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.issuer+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := e.browser.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site login post: %v %v, want 403", resp, err)
	} else {
		resp.Body.Close()
	}
	// The same attempt still works with the right password.
	if _, err := e.exchange(a, e.code(a, "alice", "password")); err != nil {
		t.Errorf("exchange after a failed try: %v", err)
	}
}

func TestPromptNoneNeedsLogin(t *testing.T) {
	e := newEnv(t, false, devidp.DefaultUsers())
	authURL := e.oauth.AuthCodeURL("st", oauth2.SetAuthURLParam("prompt", "none"),
		oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	resp, body := e.do(http.MethodGet, authURL, nil)
	loc, err := resp.Location()
	if err != nil || !strings.HasPrefix(loc.String(), e.redirectURI) ||
		loc.Query().Get("error") != "login_required" || loc.Query().Get("code") != "" {
		t.Errorf("prompt=none: %d to %v (%v)\n%s", resp.StatusCode, loc, err, body)
	}
}

func TestLoginPageIsPlainHTML(t *testing.T) {
	e := newEnv(t, false, devidp.DefaultUsers())
	page := e.start().formHTML
	for _, banned := range []string{"<script", "<style", "style=", "onclick", "javascript:"} {
		if strings.Contains(strings.ToLower(page), banned) {
			t.Errorf("login page contains %q", banned)
		}
	}
	for _, want := range []string{`<label for="username">`, `<label for="password">`, `id="username"`,
		`type="password"`, `method="post"`} {
		if !strings.Contains(page, want) {
			t.Errorf("login page lacks %q", want)
		}
	}
}

func TestCodeIsSingleUse(t *testing.T) {
	e := newEnv(t, false, devidp.DefaultUsers())
	a := e.start()
	code := e.code(a, "alice", "password")
	if _, err := e.exchange(a, code); err != nil {
		t.Fatalf("first exchange: %v", err)
	}
	_, err := e.exchange(a, code)
	if re := (*oauth2.RetrieveError)(nil); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("second exchange: %v, want invalid_grant", err)
	}

	// Concurrent redemptions: exactly one wins.
	a = e.start()
	code = e.code(a, "bob", "password")
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 5 {
		wg.Go(func() {
			if _, err := e.exchange(a, code); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d concurrent exchanges of one code succeeded, want 1", wins)
	}
}

func TestWrongVerifierBurnsCode(t *testing.T) {
	e := newEnv(t, false, devidp.DefaultUsers())
	a := e.start()
	code := e.code(a, "alice", "password")
	if _, err := e.oauth.Exchange(e.ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Fatal("exchange with a wrong PKCE verifier succeeded")
	}
	if _, err := e.exchange(a, code); err == nil {
		t.Error("code still worked after a failed exchange")
	}
}

func TestEndSessionRedirects(t *testing.T) {
	e := newEnv(t, false, devidp.DefaultUsers())
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := e.provider.Claims(&meta); err != nil || !strings.HasPrefix(meta.EndSession, e.issuer+"/") {
		t.Fatalf("end_session_endpoint = %q (%v)", meta.EndSession, err)
	}
	_, _, tok := e.login("alice", "password")
	q := url.Values{"id_token_hint": {tok.Extra("id_token").(string)},
		"post_logout_redirect_uri": {e.logoutURI}, "state": {"bye"}}
	resp, body := e.do(http.MethodGet, meta.EndSession+"?"+q.Encode(), nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != e.logoutURI+"?state=bye" {
		t.Errorf("end_session: %d to %q, want 302 to %s?state=bye\n%s", resp.StatusCode, loc, e.logoutURI, body)
	}
	if _, _, err := e.userinfo(tok); err == nil {
		t.Error("access token still valid after logout")
	}

	q.Set("post_logout_redirect_uri", "https://evil.example/")
	if resp, _ := e.do(http.MethodGet, meta.EndSession+"?"+q.Encode(), nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("end_session to an unregistered URI: %d, want 400", resp.StatusCode)
	}
	resp, body = e.do(http.MethodGet, meta.EndSession, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "signed out") {
		t.Errorf("end_session without redirect: %d\n%s", resp.StatusCode, body)
	}
}

func TestExpiry(t *testing.T) {
	e := newEnv(t, false, devidp.DefaultUsers())
	a := e.start()
	e.advance(11 * time.Minute)
	resp, body := e.submit(a, "alice", "password")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "expired") {
		t.Errorf("login after 11 minutes: %d\n%s", resp.StatusCode, body)
	}

	a = e.start()
	code := e.code(a, "alice", "password")
	e.advance(3 * time.Minute)
	if _, err := e.exchange(a, code); err == nil {
		t.Error("code redeemed 3 minutes after issue")
	}

	_, _, tok := e.login("alice", "password")
	e.advance(6 * time.Minute)
	if _, _, err := e.userinfo(tok); err == nil {
		t.Error("access token valid 6 minutes after issue")
	}
}

func equalClaims(a, b claims) bool {
	return a.Email == b.Email && a.EmailVerified == b.EmailVerified && a.Name == b.Name &&
		a.PreferredUsername == b.PreferredUsername && slices.Equal(a.Groups, b.Groups)
}
