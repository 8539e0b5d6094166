package devidp_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"gatehouse/devidp"
)

func TestServeMuxMountAndDiscovery(t *testing.T) {
	e := newEnv(t, true, devidp.DefaultUsers())
	var meta struct {
		Issuer        string   `json:"issuer"`
		Authorization string   `json:"authorization_endpoint"`
		Token         string   `json:"token_endpoint"`
		Userinfo      string   `json:"userinfo_endpoint"`
		JWKS          string   `json:"jwks_uri"`
		EndSession    string   `json:"end_session_endpoint"`
		PKCE          []string `json:"code_challenge_methods_supported"`
		AuthMethods   []string `json:"token_endpoint_auth_methods_supported"`
		Scopes        []string `json:"scopes_supported"`
		Claims        []string `json:"claims_supported"`
	}
	if err := e.provider.Claims(&meta); err != nil {
		t.Fatal(err)
	}
	if meta.Issuer != e.issuer {
		t.Errorf("issuer = %q, want %q", meta.Issuer, e.issuer)
	}
	for name, u := range map[string]string{"authorization": meta.Authorization, "token": meta.Token,
		"userinfo": meta.Userinfo, "jwks": meta.JWKS, "end_session": meta.EndSession} {
		if !strings.HasPrefix(u, e.issuer+"/") {
			t.Errorf("%s endpoint %q is not under the issuer", name, u)
		}
	}
	if !slices.Contains(meta.PKCE, "S256") || !slices.Contains(meta.AuthMethods, "client_secret_basic") ||
		!slices.Contains(meta.AuthMethods, "client_secret_post") || !slices.Contains(meta.Scopes, "groups") ||
		!slices.Contains(meta.Claims, "groups") {
		t.Errorf("discovery = %+v", meta)
	}
	resp, body := e.do(http.MethodGet, meta.JWKS, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"RS256"`) || strings.Contains(body, `"d":`) {
		t.Errorf("jwks: %d\n%s", resp.StatusCode, body)
	}
	if _, c, _ := e.login("admin", "password"); !slices.Equal(c.Groups, []string{"admins"}) {
		t.Errorf("admin groups = %v", c.Groups)
	}
}

func TestHandlerExpectsFullPath(t *testing.T) {
	idp, err := devidp.New("http://127.0.0.1:9200/dev-idp", devidp.DefaultUsers(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// chi's Mount at "/" leaves the whole path in chi's routing context; the handler
	// must still route by the full URL path.
	atRoot := chi.NewRouter()
	atRoot.Mount("/", idp.Handler())
	for path, want := range map[string]int{
		"/dev-idp/.well-known/openid-configuration": http.StatusOK,
		"/dev-idp/keys":                     http.StatusOK,
		"/.well-known/openid-configuration": http.StatusNotFound,
		"/dev-idpx/keys":                    http.StatusNotFound,
		"/dev-idp/login?authRequestID=nope": http.StatusBadRequest,
	} {
		for name, h := range map[string]http.Handler{"bare": idp.Handler(), "chi at /": atRoot} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9200"+path, nil))
			if rec.Code != want {
				t.Errorf("%s: GET %s: %d, want %d", name, path, rec.Code, want)
			}
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	good := []devidp.Client{{ID: "c", Secret: "s", RedirectURIs: []string{"http://127.0.0.1/cb"}}}
	dup := append(devidp.DefaultUsers(), devidp.User{Subject: "other", Username: "alice"})
	for name, tc := range map[string]struct {
		issuer  string
		users   []devidp.User
		clients []devidp.Client
	}{
		"scheme":      {"ftp://127.0.0.1/dev-idp", nil, good},
		"query":       {"http://127.0.0.1/dev-idp?x=1", nil, good},
		"no host":     {"http:///dev-idp", nil, good},
		"dup user":    {"http://127.0.0.1/dev-idp", dup, good},
		"no secret":   {"http://127.0.0.1/dev-idp", nil, []devidp.Client{{ID: "c", RedirectURIs: []string{"http://x/cb"}}}},
		"no redirect": {"http://127.0.0.1/dev-idp", nil, []devidp.Client{{ID: "c", Secret: "s"}}},
	} {
		if _, err := devidp.New(tc.issuer, tc.users, tc.clients, nil); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}
