package oidcauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gatehouse/devidp"
	"gatehouse/oidcauth"
)

// fakeDiscovery serves a discovery document that doc edits.
func fakeDiscovery(t *testing.T, edit func(srvURL string, doc map[string]any)) string {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		doc := map[string]any{"issuer": srv.URL, "authorization_endpoint": srv.URL + "/auth", "token_endpoint": srv.URL + "/token",
			"userinfo_endpoint": srv.URL + "/userinfo", "jwks_uri": srv.URL + "/keys",
			"id_token_signing_alg_values_supported": []string{"RS256"}}
		edit(srv.URL, doc)
		_ = json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestDiscover(t *testing.T) {
	ctx := context.Background()
	// A real provider (our dev IdP on zitadel's op) passes.
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	defer srv.Close()
	idp, err := devidp.New(srv.URL+"/dev-idp", devidp.DefaultUsers(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	h = idp.Handler()
	d, err := oidcauth.Discover(ctx, srv.Client(), srv.URL+"/dev-idp", []string{"RS256"})
	if err != nil {
		t.Fatalf("dev idp: %v", err)
	}
	if d.EndSessionEndpoint == "" || d.Issuer != srv.URL+"/dev-idp" {
		t.Errorf("discovery = %+v", d)
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	cases := []struct {
		name, issuer string
		algs         []string
		want         string
	}{
		{"unreachable", closedURL, []string{"RS256"}, "Unreachable issuer: could not fetch " + closedURL + "/.well-known/openid-configuration"},
		{"no document", srv.URL + "/nowhere", []string{"RS256"}, "Unreachable issuer: " + srv.URL + "/nowhere/.well-known/openid-configuration answered 404 Not Found"},
		{"issuer mismatch", fakeDiscovery(t, func(u string, doc map[string]any) { doc["issuer"] = "https://other.example.com" }), []string{"RS256"},
			`Issuer mismatch: the discovery document at`},
		{"unsupported alg", srv.URL + "/dev-idp", []string{"RS256", "ES256"},
			"Unsupported signing algorithm: the provider does not sign ID tokens with ES256 (it supports RS256)."},
		{"missing endpoints", fakeDiscovery(t, func(u string, doc map[string]any) { delete(doc, "token_endpoint"); delete(doc, "jwks_uri") }), []string{"RS256"},
			"Missing endpoints: the discovery document has no jwks_uri, token_endpoint."},
		{"no pkce", fakeDiscovery(t, func(u string, doc map[string]any) { doc["code_challenge_methods_supported"] = []string{"plain"} }), []string{"RS256"},
			"The provider does not support PKCE with S256 (it supports plain)."},
		{"trailing slash the provider does not have", srv.URL + "/dev-idp/", []string{"RS256"},
			`names the issuer "` + srv.URL + `/dev-idp", but the method is set to "` + srv.URL + `/dev-idp/"; the trailing "/" matters`},
		{"trailing slash missing", fakeDiscovery(t, func(u string, doc map[string]any) { doc["issuer"] = u + "/" }), []string{"RS256"},
			`the trailing "/" matters`},
		{"not json", fakeDiscovery(t, func(u string, doc map[string]any) { doc["issuer"] = 42 }), []string{"RS256"}, "is not valid JSON"},
	}
	for _, c := range cases {
		_, err := oidcauth.Discover(ctx, srv.Client(), c.issuer, c.algs)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to contain %q", c.name, err, c.want)
		}
	}
	// An issuer that ends in "/" (Auth0: https://tenant.auth0.com/) is
	// compared exactly; its document is under the issuer without the "/".
	slash := fakeDiscovery(t, func(u string, doc map[string]any) { doc["issuer"] = u + "/" })
	if d, err := oidcauth.Discover(ctx, srv.Client(), slash+"/", []string{"RS256"}); err != nil || d.Issuer != slash+"/" {
		t.Errorf("issuer ending in /: %v, %+v", err, d)
	}
	if err := oidcauth.Checker(srv.Client())(ctx, srv.URL+"/dev-idp", []string{"RS256"}); err != nil {
		t.Errorf("checker: %v", err)
	}
}
