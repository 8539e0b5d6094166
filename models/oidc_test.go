package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// eachWithChecker runs fn on both databases with a provider check that
// fails with checkErr's current value.
func eachWithChecker(t *testing.T, fn func(t *testing.T, store *models.Store, checkErr *error)) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			var checkErr error
			store := dbtest.Open(t, d, models.Options{CheckOIDCProvider: func(ctx context.Context, issuer string, algs []string) error {
				return checkErr
			}})
			fn(t, store, &checkErr)
		})
	}
}

func validOIDC(name string) models.OIDCMethodInput {
	return models.OIDCMethodInput{Name: name, Issuer: "  https://login.example.com/ ", ClientID: "gatehouse",
		ClientSecret: "s3cret-value", ClaimsScopes: "profile, email groups", AllowedAudiences: "gatehouse api",
		SigningAlgorithms: "RS256 ES256", MaxAge: "300", Prompts: "login", NameClaim: "", EmailClaim: "mail"}
}

func TestOIDCMethodCRUD(t *testing.T) {
	eachWithChecker(t, func(t *testing.T, store *models.Store, checkErr *error) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		m, err := store.CreateOIDCMethod(ctx, admin, models.GlobalScopeID, validOIDC("Corp SSO"))
		if err != nil {
			t.Fatal(err)
		}
		want := []struct{ name, got, want string }{
			{"state", m.State, models.StateInactive},
			{"type", m.Type, models.AuthMethodOIDC},
			{"issuer", m.Issuer, "https://login.example.com/"}, // as entered (Auth0's end in "/"), spaces trimmed
			{"client id", m.ClientID, "gatehouse"},
			{"scopes", strings.Join(m.ClaimsScopes, " "), "profile email groups"},
			{"audiences", strings.Join(m.AllowedAudiences, " "), "gatehouse api"},
			{"algs", strings.Join(m.SigningAlgorithms, " "), "RS256 ES256"},
			{"prompts", strings.Join(m.Prompts, " "), "login"},
			{"name claim", m.NameClaim, "name"},
			{"email claim", m.EmailClaim, "mail"},
			{"scope", m.ScopeName, "Global"},
		}
		for _, w := range want {
			if w.got != w.want {
				t.Errorf("%s = %q, want %q", w.name, w.got, w.want)
			}
		}
		if m.MaxAge != 300 || !m.HasClientSecret || m.IsPrimary || !m.Actions[models.ActionUpdate] || !m.Actions[models.ActionChangeState] {
			t.Errorf("method = %+v", m)
		}
		// The secret is stored encrypted and comes back only to the login flow.
		var raw string
		store.DB().Raw("SELECT client_secret FROM oidc_auth_methods WHERE auth_method_id = ?", m.ID).Scan(&raw)
		if raw == "" || strings.Contains(raw, "s3cret") {
			t.Errorf("stored secret = %q, want ciphertext", raw)
		}
		if _, err := store.OIDCConfigForLogin(ctx, m.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("login config of inactive method: %v, want not found", err)
		}

		// Defaults: RS256, no max age, name/email claims.
		d, err := store.CreateOIDCMethod(ctx, admin, models.GlobalScopeID, models.OIDCMethodInput{Name: "Plain",
			Issuer: "http://127.0.0.1:5556", ClientID: "c", ClientSecret: "x", Primary: true})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(d.SigningAlgorithms, ",") != "RS256" || d.MaxAge != -1 || d.NameClaim != "name" || d.EmailClaim != "email" || !d.IsPrimary {
			t.Errorf("defaults = %+v", d)
		}
		// Primary moved from the bootstrap password method.
		list, err := store.ListAuthMethods(ctx, admin, "", models.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		primaries := 0
		for _, it := range list.Items {
			if it.IsPrimary {
				primaries++
			}
		}
		if list.Total != 3 || primaries != 1 {
			t.Errorf("list total=%d primaries=%d", list.Total, primaries)
		}
		if l, _ := store.ListAuthMethods(ctx, admin, "", models.ListOptions{Search: "login.example"}); l.Total != 1 || l.Items[0].Name != "Corp SSO" || l.Items[0].ScopeName != "Global" {
			t.Errorf("search by issuer = %+v", l)
		}
		if l, _ := store.ListAuthMethods(ctx, admin, "", models.ListOptions{PerPage: 2, Page: 2}); len(l.Items) != 1 || l.Pages() != 2 {
			t.Errorf("page 2 = %+v", l)
		}

		// Update with an empty secret keeps it; version must match.
		in := validOIDC("Corp SSO 2")
		in.ClientSecret = ""
		if _, err := store.UpdateOIDCMethod(ctx, admin, m.ID, m.Version, in); err != nil {
			t.Fatal(err)
		}
		var raw2 string
		store.DB().Raw("SELECT client_secret FROM oidc_auth_methods WHERE auth_method_id = ?", m.ID).Scan(&raw2)
		if raw2 != raw {
			t.Error("empty secret on edit changed the stored secret")
		}
		if _, err := store.UpdateOIDCMethod(ctx, admin, m.ID, m.Version, in); !errors.Is(err, models.ErrConflict) {
			t.Errorf("stale version: %v", err)
		}

		// State changes run the provider check and show its message.
		m, _ = store.GetOIDCMethod(ctx, admin, m.ID)
		*checkErr = errors.New("Issuer mismatch: the discovery document names the issuer \"x\".")
		err = store.ChangeAuthMethodState(ctx, admin, m.ID, m.Version, models.StateActivePublic)
		if fe := models.FieldErrors(err); fe["state"] != (*checkErr).Error() {
			t.Errorf("check failure = %v", err)
		}
		*checkErr = nil
		if err := store.ChangeAuthMethodState(ctx, admin, m.ID, m.Version, "bogus"); models.FieldErrors(err)["state"] == "" {
			t.Errorf("bogus state: %v", err)
		}
		if err := store.ChangeAuthMethodState(ctx, admin, m.ID, m.Version, models.StateActivePublic); err != nil {
			t.Fatal(err)
		}
		cfg, err := store.OIDCConfigForLogin(ctx, m.ID)
		if err != nil || cfg.ClientSecret != "s3cret-value" || cfg.State != models.StateActivePublic {
			t.Errorf("login config = %+v, %v", cfg, err)
		}
		opts, _ := store.PublicAuthMethods(ctx)
		if len(opts) != 2 {
			t.Errorf("public methods = %+v", opts)
		}

		// Delete with confirmation is the handler's; the Store removes it.
		if err := store.DeleteAuthMethod(ctx, admin, m.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := store.GetOIDCMethod(ctx, admin, m.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("after delete: %v", err)
		}
		if _, err := store.GetOIDCMethod(ctx, models.Anonymous, d.ID); !errors.Is(err, models.ErrUnauthenticated) {
			t.Errorf("anonymous read: %v", err)
		}
	})
}

func TestOIDCMethodValidation(t *testing.T) {
	eachWithChecker(t, func(t *testing.T, store *models.Store, _ *error) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		cases := []struct {
			name  string
			edit  func(*models.OIDCMethodInput)
			field string
		}{
			{"no name", func(in *models.OIDCMethodInput) { in.Name = " " }, "name"},
			{"plain http issuer", func(in *models.OIDCMethodInput) { in.Issuer = "http://login.example.com" }, "issuer"},
			{"issuer with query", func(in *models.OIDCMethodInput) { in.Issuer = "https://x.example.com/?a=1" }, "issuer"},
			{"not a url", func(in *models.OIDCMethodInput) { in.Issuer = "login.example.com" }, "issuer"},
			{"no client id", func(in *models.OIDCMethodInput) { in.ClientID = "" }, "client_id"},
			{"no secret", func(in *models.OIDCMethodInput) { in.ClientSecret = "" }, "client_secret"},
			{"openid scope", func(in *models.OIDCMethodInput) { in.ClaimsScopes = "openid email" }, "claims_scopes"},
			{"bad alg", func(in *models.OIDCMethodInput) { in.SigningAlgorithms = "HS256" }, "signing_algorithms"},
			{"bad max age", func(in *models.OIDCMethodInput) { in.MaxAge = "-5" }, "max_age"},
			{"bad prompt", func(in *models.OIDCMethodInput) { in.Prompts = "always" }, "prompts"},
			{"none plus login", func(in *models.OIDCMethodInput) { in.Prompts = "none login" }, "prompts"},
			{"bad claim", func(in *models.OIDCMethodInput) { in.NameClaim = "a b" }, "name_claim"},
		}
		for _, c := range cases {
			in := validOIDC("M")
			c.edit(&in)
			_, err := store.CreateOIDCMethod(ctx, admin, models.GlobalScopeID, in)
			if models.FieldErrors(err)[c.field] == "" {
				t.Errorf("%s: err = %v, want a message on %s", c.name, err, c.field)
			}
		}
		if _, err := store.CreateOIDCMethod(ctx, admin, models.GlobalScopeID, validOIDC("Dup")); err != nil {
			t.Fatal(err)
		}
		if _, err := store.CreateOIDCMethod(ctx, admin, models.GlobalScopeID, validOIDC("dup")); models.FieldErrors(err)["name"] == "" {
			t.Errorf("duplicate name: %v", err)
		}
		var n int64
		store.DB().Table("oidc_auth_methods").Count(&n)
		if n != 1 {
			t.Errorf("%d oidc methods stored, want 1", n)
		}
	})
}
