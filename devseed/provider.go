package devseed

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"gatehouse/devidp"
	"gatehouse/models"
	"gatehouse/oidcauth"
)

// Dev provider wiring: `gatehouse dev` only (never serve).
const (
	devIdPPath     = "/dev-idp"
	devIdPClientID = "gatehouse-dev"
	devMethodName  = "Dev provider"
)

// provider starts the built-in development OpenID provider at
// <external URL>/dev-idp with the seeded people, and creates or updates the
// active-public, primary OIDC auth method "Dev provider" in global pointing
// at it (its issuer and a fresh client secret follow the current run's
// address). It also links the provider's "admin" to the bootstrap
// administrator and seeds an "SRE" managed group. It returns the method's id.
func provider(ctx context.Context, store *models.Store, ext *url.URL, mounts map[string]http.Handler, logger *slog.Logger) (string, error) {
	base := ext.String()
	issuer := base + devIdPPath
	secret := string(randomKeyText(24))
	idp, err := devidp.New(issuer, devidp.DefaultUsers(), []devidp.Client{{
		ID: devIdPClientID, Secret: secret,
		RedirectURIs:           []string{base + oidcauth.CallbackPath},
		PostLogoutRedirectURIs: []string{base + "/login"},
	}}, logger.With("component", "dev-idp"))
	if err != nil {
		return "", err
	}
	mounts[devIdPPath] = idp.Handler()
	m, err := store.SeedOIDCMethod(ctx, models.GlobalScopeID, models.OIDCMethodInput{
		Name: devMethodName, Description: "Built-in development OpenID provider (gatehouse dev only)",
		Issuer: issuer, ClientID: devIdPClientID, ClientSecret: secret, ClaimsScopes: "profile email groups",
		SigningAlgorithms: "RS256", Primary: true,
	})
	if err != nil {
		return "", fmt.Errorf("seed dev auth method: %w", err)
	}
	if err := store.SeedDevExtras(ctx, m.ID, "admin", "dev-admin", issuer); err != nil {
		return "", fmt.Errorf("seed dev extras: %w", err)
	}
	return m.ID, nil
}

// randomKeyText returns n random letters and digits.
func randomKeyText(n int) []byte {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand.Read never fails on supported platforms
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return b
}
