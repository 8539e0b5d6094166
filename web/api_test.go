package web_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestCookiesNeverAuthenticateTheAPI: a browser logged in with its cookie
// gets 401 from /api/v1, for reads and for state changes (cancel), even
// same-origin.
func TestCookiesNeverAuthenticateTheAPI(t *testing.T) {
	a := newApp(t)
	c := a.login("admin", "password")
	for _, r := range []struct{ method, path string }{{http.MethodGet, "/api/v1/me"}, {http.MethodPost, "/api/v1/sessions/s_x/cancel"},
		{http.MethodDelete, "/api/v1/auth/token"}, {http.MethodPost, "/api/v1/scopes"}} {
		req, _ := http.NewRequest(r.method, a.srv.URL+r.path, strings.NewReader(`{"name":"x"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", a.srv.URL)
		resp, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s with a login cookie: %d %s", r.method, r.path, resp.StatusCode, b)
		}
	}
	if n := countRows(t, a.store, "scopes"); n != 1 {
		t.Errorf("a cookie created a scope: %d scopes", n)
	}
}

func countRows(t *testing.T, store *models.Store, table string) int64 {
	t.Helper()
	var n int64
	if err := store.DB().Table(table).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAccountPageAPITokens: the account page makes a token (shown once),
// refuses bad input next to the field with nothing written, lists tokens
// with their last use, and revokes them.
func TestAccountPageAPITokens(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		a := newAppOn(t, store)
		c := a.login("admin", "password")
		code, doc := c.get("/account")
		if code != http.StatusOK || byTestID(doc, "no-tokens") == nil || byTestID(doc, "token-form") == nil {
			t.Fatalf("account page: %d %q", code, testIDText(doc, "api-tokens"))
		}
		for _, bad := range []url.Values{
			{"name": {""}, "expires_at": {time.Now().AddDate(0, 0, 30).Format(time.DateOnly)}},
			{"name": {"ci"}, "expires_at": {time.Now().AddDate(2, 0, 0).Format(time.DateOnly)}},
			{"name": {"ci"}, "expires_at": {"soon"}},
		} {
			code, _, doc := c.post("/account/tokens", bad)
			if code != http.StatusUnprocessableEntity || (testIDText(doc, "name-error") == "<missing>" && testIDText(doc, "expires_at-error") == "<missing>") {
				t.Errorf("bad token %v: %d", bad, code)
			}
		}
		if n := countRows(t, store, "api_tokens"); n != 0 {
			t.Fatalf("bad input wrote %d tokens", n)
		}
		code, _, doc = c.post("/account/tokens", url.Values{"name": {"CI deploy"}, "expires_at": {time.Now().AddDate(0, 0, 30).Format(time.DateOnly)}})
		tok := testIDText(doc, "new-token")
		if code != http.StatusCreated || !strings.HasPrefix(tok, models.APITokenSecretPrefix) || byTestID(doc, "copy-new-token") == nil {
			t.Fatalf("make token: %d %q", code, tok)
		}
		// The token works on the API; the account page shows its last use.
		req, _ := http.NewRequest(http.MethodGet, a.srv.URL+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("token on the API: %v %v", resp.StatusCode, err)
		}
		resp.Body.Close()
		_, doc = c.get("/account")
		if strings.Contains(render(doc), tok) {
			t.Error("the account page shows the token's secret again")
		}
		if got := testIDText(doc, "token-last-used"); got == "Never" || got == "<missing>" {
			t.Errorf("last used %q", got)
		}
		var id string
		store.DB().Raw("SELECT id FROM api_tokens").Scan(&id)
		code, loc, _ := c.post("/account/tokens/"+id+"/revoke", nil)
		if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/account") {
			t.Fatalf("revoke: %d %s", code, loc)
		}
		resp, _ = http.DefaultClient.Do(req)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("revoked token: %d", resp.StatusCode)
		}
		resp.Body.Close()
	})
}

// TestCLILoginPage: the consent page refuses a non-loopback redirect
// (shown, never followed); Allow sends a code to the loopback redirect
// with the state; Cancel sends access_denied.
func TestCLILoginPage(t *testing.T) {
	a := newApp(t)
	c := a.login("admin", "password")
	sum := sha256.Sum256([]byte("verifier-verifier-verifier-verifier-verifier"))
	q := url.Values{"redirect_uri": {"http://127.0.0.1:4567/callback"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}, "state": {"st4te"}, "name": {"laptop"}}
	code, doc := c.get("/cli/login?" + q.Encode())
	if code != http.StatusOK || testIDText(doc, "cli-token-name") != "laptop" {
		t.Fatalf("consent page: %d %q", code, testIDText(doc, "cli-login"))
	}
	bad := url.Values{}
	for k, v := range q {
		bad[k] = v
	}
	bad.Set("redirect_uri", "https://evil.example.com/callback")
	if code, doc := c.get("/cli/login?" + bad.Encode()); code != http.StatusUnprocessableEntity || byTestID(doc, "cli-allow") != nil {
		t.Errorf("evil redirect: %d", code)
	}
	if code, loc, _ := c.post("/cli/login", withDecision(bad, "allow")); code != http.StatusUnprocessableEntity || loc != "" {
		t.Errorf("posting an evil redirect: %d %q", code, loc)
	}
	code, loc, _ := c.post("/cli/login", withDecision(q, "deny"))
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "http://127.0.0.1:4567/callback?") || !strings.Contains(loc, "error=access_denied") {
		t.Errorf("deny: %d %s", code, loc)
	}
	code, loc, _ = c.post("/cli/login", withDecision(q, "allow"))
	u, _ := url.Parse(loc)
	if code != http.StatusSeeOther || u.Host != "127.0.0.1:4567" || u.Query().Get("state") != "st4te" || u.Query().Get("code") == "" {
		t.Fatalf("allow: %d %s", code, loc)
	}
	// A logged-out browser is sent to the login page first.
	jar := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := jar.Get(a.srv.URL + "/cli/login?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if l := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(l, "/login?next=%2Fcli%2Flogin") {
		t.Errorf("logged out: %d %s", resp.StatusCode, l)
	}
}

func withDecision(q url.Values, d string) url.Values {
	f := url.Values{"decision": {d}}
	for k, v := range q {
		f[k] = v
	}
	return f
}

// TestBinaryDownload: the running binary is served at a stable path with
// its SHA-256, which matches the bytes.
func TestBinaryDownload(t *testing.T) {
	a := newApp(t)
	resp, err := http.Get(a.srv.URL + "/download/gatehouse")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	sum := sha256.Sum256(b)
	if resp.StatusCode != http.StatusOK || len(b) < 1000 || resp.Header.Get("X-Checksum-Sha256") != hex.EncodeToString(sum[:]) {
		t.Fatalf("download: %d, %d bytes, checksum header %q", resp.StatusCode, len(b), resp.Header.Get("X-Checksum-Sha256"))
	}
	resp, err = http.Get(a.srv.URL + "/download/gatehouse.sha256")
	if err != nil {
		t.Fatal(err)
	}
	line, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(line), hex.EncodeToString(sum[:])+"  gatehouse-") {
		t.Errorf("checksum file %q", line)
	}
}
