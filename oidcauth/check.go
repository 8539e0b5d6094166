// Package oidcauth speaks OpenID Connect to identity providers for
// Gatehouse's OIDC auth methods: the discovery check an admin sees before a
// method is activated, and the relying-party half of the Authorization
// Code flow with PKCE (building the authorization URL, exchanging the code,
// verifying the ID token with go-oidc and reading userinfo). It keeps one
// go-oidc provider per issuer, whose remote key set refetches the JWKS when
// a token names an unknown key (key rotation).
//
// It knows nothing of Gatehouse's database: web and main use it, models
// does not.
package oidcauth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// Discovery is the part of a provider's discovery document Gatehouse uses.
type Discovery struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	UserinfoEndpoint      string   `json:"userinfo_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	EndSessionEndpoint    string   `json:"end_session_endpoint"`
	SigningAlgorithms     []string `json:"id_token_signing_alg_values_supported"`
	CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
}

// Discover fetches issuer's discovery document and checks it against the
// method's signing algorithms. Its errors are sentences for the admin:
// the issuer is unreachable, names another issuer, lacks required
// endpoints, or does not support an algorithm.
func Discover(ctx context.Context, client *http.Client, issuer string, algs []string) (*Discovery, error) {
	// The document lives under the issuer with any trailing "/" dropped
	// (OpenID Connect Discovery 1.0 §4, as go-oidc fetches it), and must
	// then name the issuer exactly, trailing "/" included (§4.3).
	wellKnown := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, wellKnown, nil)
	if err != nil {
		return nil, fmt.Errorf("The issuer URL %s is not valid: %v", issuer, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("Unreachable issuer: could not fetch %s (%v).", wellKnown, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("Unreachable issuer: reading %s failed (%v).", wellKnown, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("Unreachable issuer: %s answered %s, not a discovery document.", wellKnown, resp.Status)
	}
	var d Discovery
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("The discovery document at %s is not valid JSON (%v).", wellKnown, err)
	}
	if d.Issuer != issuer {
		if strings.TrimSuffix(d.Issuer, "/") == strings.TrimSuffix(issuer, "/") {
			return nil, fmt.Errorf("Issuer mismatch: the discovery document at %s names the issuer %q, but the method is set to %q; the trailing \"/\" matters: set the issuer exactly as the provider names it.", wellKnown, d.Issuer, issuer)
		}
		return nil, fmt.Errorf("Issuer mismatch: the discovery document at %s names the issuer %q, but the method is set to %q; set the issuer exactly as the provider names it.", wellKnown, d.Issuer, issuer)
	}
	var missing []string
	for name, v := range map[string]string{"authorization_endpoint": d.AuthorizationEndpoint, "token_endpoint": d.TokenEndpoint,
		"jwks_uri": d.JWKSURI, "userinfo_endpoint": d.UserinfoEndpoint} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("Missing endpoints: the discovery document has no %s.", strings.Join(missing, ", "))
	}
	supported := d.SigningAlgorithms
	if len(supported) == 0 {
		supported = []string{"RS256"}
	}
	var unsupported []string
	for _, a := range algs {
		if !slices.Contains(supported, a) {
			unsupported = append(unsupported, a)
		}
	}
	if len(unsupported) > 0 {
		return nil, fmt.Errorf("Unsupported signing algorithm: the provider does not sign ID tokens with %s (it supports %s).",
			strings.Join(unsupported, ", "), strings.Join(supported, ", "))
	}
	if len(d.CodeChallengeMethods) > 0 && !slices.Contains(d.CodeChallengeMethods, "S256") {
		return nil, fmt.Errorf("The provider does not support PKCE with S256 (it supports %s).", strings.Join(d.CodeChallengeMethods, ", "))
	}
	return &d, nil
}

// Checker returns a function for models.Options.CheckOIDCProvider that runs
// Discover with client.
func Checker(client *http.Client) func(ctx context.Context, issuer string, algs []string) error {
	return func(ctx context.Context, issuer string, algs []string) error {
		_, err := Discover(ctx, client, issuer, algs)
		return err
	}
}

// unwrapURLError drops *url.Error's repetition of the method and URL.
func unwrapURLError(err error) error {
	type unwrapper interface{ Unwrap() error }
	if u, ok := err.(unwrapper); ok && u.Unwrap() != nil {
		return u.Unwrap()
	}
	return err
}
