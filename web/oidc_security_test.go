package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/devidp"
	"gatehouse/models"
)

// idpSpy sits in front of the real test provider: it records the
// authorization and token requests and can rewrite the token and userinfo
// answers (the switches the security tests need).
type idpSpy struct {
	mu        sync.Mutex
	authorize []url.Values // query of each authorization request
	token     []url.Values // form of each token request
	idTokens  []string     // id_token of each token answer, as the provider sent it
	// rewriteToken and rewriteUserinfo, when set, edit the JSON answers.
	rewriteToken    func(map[string]any)
	rewriteUserinfo func(map[string]any)
	// rewriteKeys, when set, edits the main provider's JWKS answer.
	rewriteKeys func(map[string]any)
}

func (s *idpSpy) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/authorize"):
			s.authorize = append(s.authorize, r.URL.Query())
		case strings.HasSuffix(r.URL.Path, "/oauth/token"):
			body, _ := io.ReadAll(r.Body)
			form, _ := url.ParseQuery(string(body))
			s.token = append(s.token, form)
			r.Body = io.NopCloser(bytes.NewReader(body))
			s.relay(w, r, next, func(doc map[string]any) {
				raw, _ := doc["id_token"].(string)
				s.idTokens = append(s.idTokens, raw)
				if s.rewriteToken != nil {
					s.rewriteToken(doc)
				}
			})
			return
		case strings.HasSuffix(r.URL.Path, "/userinfo") && s.rewriteUserinfo != nil:
			s.relay(w, r, next, s.rewriteUserinfo)
			return
		case r.URL.Path == "/idp/keys" && s.rewriteKeys != nil:
			s.relay(w, r, next, s.rewriteKeys)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// relay serves r with next and passes a JSON answer through edit.
func (s *idpSpy) relay(w http.ResponseWriter, r *http.Request, next http.Handler, edit func(map[string]any)) {
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	var doc map[string]any
	if rec.Code == http.StatusOK && json.Unmarshal(body, &doc) == nil {
		edit(doc)
		body, _ = json.Marshal(doc)
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

func (s *idpSpy) set(f func()) { s.mu.Lock(); defer s.mu.Unlock(); f() }

func (s *idpSpy) lastIDToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.idTokens[len(s.idTokens)-1]
}

// newSpiedOIDCEnv is newOIDCEnv with the spy in front of the provider and,
// at /other on the same listener, a second real provider (another issuer)
// that knows the same clients.
func newSpiedOIDCEnv(t *testing.T, d models.Dialect) (*oidcEnv, *idpSpy, string, http.Handler) {
	e := newOIDCEnv(t, d)
	otherIssuer := e.idpSrv.URL + "/other"
	client := devidp.Client{ID: "gh-1", Secret: "gh-1-secret", RedirectURIs: []string{e.gh.URL + OIDCCallbackPath}}
	other, err := devidp.New(otherIssuer, devidp.DefaultUsers(), []devidp.Client{client}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/idp/", e.idp.Handler())
	mux.Handle("/other/", other.Handler())
	spy := &idpSpy{}
	e.setIdP(spy.wrap(mux))
	return e, spy, otherIssuer, other.Handler()
}

func TestOIDCSecurityChecks(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) { testOIDCSecurityChecks(t, d) })
	}
}

func testOIDCSecurityChecks(t *testing.T, d models.Dialect) {
	e, spy, otherIssuer, other := newSpiedOIDCEnv(t, d)
	ctx := context.Background()

	// PKCE S256: the authorization request carries an S256 challenge and
	// the token request the verifier that hashes to it.
	b := e.browser()
	resp, _ := b.get(b.toCallback(e.method.ID, "alice"))
	if resp.Request.URL.Path != "/account" {
		t.Fatalf("login ended at %s (%d)", resp.Request.URL, resp.StatusCode)
	}
	spy.set(func() {
		if len(spy.authorize) != 1 || len(spy.token) != 1 {
			t.Fatalf("provider saw %d authorization and %d token requests", len(spy.authorize), len(spy.token))
		}
		az, tk := spy.authorize[0], spy.token[0]
		if got := az.Get("code_challenge_method"); got != "S256" {
			t.Errorf("code_challenge_method = %q, want S256", got)
		}
		verifier := tk.Get("code_verifier")
		sum := sha256.Sum256([]byte(verifier))
		if challenge := az.Get("code_challenge"); len(verifier) < 43 || challenge == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge {
			t.Errorf("code_verifier %q does not hash to code_challenge %q", verifier, challenge)
		}
		if az.Get("nonce") == "" || az.Get("state") == "" {
			t.Errorf("authorization request without nonce or state: %v", az)
		}
	})

	// The userinfo answer is about someone else than the ID token.
	spy.set(func() { spy.rewriteUserinfo = func(doc map[string]any) { doc["sub"] = "someone-else" } })
	before := e.counts()
	b = e.browser()
	resp, body := b.get(b.toCallback(e.method.ID, "alice"))
	e.refused("userinfo subject", resp, body, http.StatusUnauthorized, "(subject mismatch)", before)
	b = e.browser()
	resp, body = b.get(b.toCallback(e.method.ID, "bob")) // a first login is refused too
	e.refused("userinfo subject, new user", resp, body, http.StatusUnauthorized, "(subject mismatch)", before)
	spy.set(func() { spy.rewriteUserinfo = nil })

	// An ID token the provider issued to another client (gh-2), handed to
	// this method (gh-1) in place of its own.
	second := e.addMethod("Second", "gh-2", false)
	b = e.browser()
	b.get(b.toCallback(second.ID, "bob")) // refused (not primary), but its ID token is minted
	foreign := spy.lastIDToken()
	if !strings.Contains(string(jwtPayload(t, foreign)), `"gh-2"`) {
		t.Fatalf("the captured ID token is not for gh-2: %s", jwtPayload(t, foreign))
	}
	spy.set(func() { spy.rewriteToken = func(doc map[string]any) { doc["id_token"] = foreign } })
	before = e.counts()
	b = e.browser()
	resp, body = b.get(b.toCallback(e.method.ID, "alice"))
	e.refused("another client", resp, body, http.StatusUnauthorized, "issued for another audience (client) than this login method", before)
	spy.set(func() { spy.rewriteToken = nil })

	// An ID token from another issuer (a real provider at /other that knows
	// the client gh-1), handed to this method. The main provider's key set
	// also lists the other's keys (as a multi-tenant provider's shared keys
	// would), so the signature verifies and the issuer check must refuse it.
	m, err := e.store.CreateOIDCMethod(ctx, e.admin, models.GlobalScopeID, models.OIDCMethodInput{Name: "Other", Issuer: otherIssuer,
		ClientID: "gh-1", ClientSecret: "gh-1-secret", ClaimsScopes: "profile email"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.ChangeAuthMethodState(ctx, e.admin, m.ID, m.Version, models.StateActivePublic); err != nil {
		t.Fatal(err)
	}
	b = e.browser()
	b.get(b.toCallback(m.ID, "bob")) // refused (not primary), but its ID token is minted
	foreign = spy.lastIDToken()
	if !strings.Contains(string(jwtPayload(t, foreign)), otherIssuer) {
		t.Fatalf("the captured ID token is not from %s: %s", otherIssuer, jwtPayload(t, foreign))
	}
	otherKeys := httptest.NewRecorder()
	other.ServeHTTP(otherKeys, httptest.NewRequest("GET", otherIssuer+"/keys", nil))
	var otherJWKS struct{ Keys []any }
	if err := json.Unmarshal(otherKeys.Body.Bytes(), &otherJWKS); err != nil || len(otherJWKS.Keys) == 0 {
		t.Fatalf("other provider's keys: %v %s", err, otherKeys.Body)
	}
	spy.set(func() {
		spy.rewriteToken = func(doc map[string]any) { doc["id_token"] = foreign }
		spy.rewriteKeys = func(doc map[string]any) { doc["keys"] = append(doc["keys"].([]any), otherJWKS.Keys...) }
	})
	before = e.counts()
	b = e.browser()
	resp, body = b.get(b.toCallback(e.method.ID, "alice"))
	e.refused("another issuer", resp, body, http.StatusUnauthorized, "issued by another provider than this login method", before)
	spy.set(func() { spy.rewriteToken, spy.rewriteKeys = nil, nil })

	// With the switches off, the same login works again.
	b = e.browser()
	if resp, _ := b.get(b.toCallback(e.method.ID, "alice")); resp.Request.URL.Path != "/account" {
		t.Fatalf("login after the refusals ended at %s (%d)", resp.Request.URL, resp.StatusCode)
	}
}

// jwtPayload decodes a compact JWT's payload (unverified).
func jwtPayload(t *testing.T, raw string) []byte {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return b
}
