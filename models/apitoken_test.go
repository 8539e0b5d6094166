package models_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"gatehouse/models"
)

func countTokens(t *testing.T, store *models.Store) int64 {
	t.Helper()
	var n int64
	if err := store.DB().Table("api_tokens").Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAPITokenLifecycle: a personal token is made (bad input refused with
// nothing written), used (last-used moves), lists, starts sessions capped
// at its expiry, and stops at once when revoked or expired.
func TestAPITokenLifecycle(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx, now := context.Background(), f.clock.Now()
		for _, c := range []struct {
			in    models.APITokenInput
			field string
		}{
			{models.APITokenInput{Name: "", ExpiresAt: now.Add(24 * time.Hour)}, "name"},
			{models.APITokenInput{Name: "ci", ExpiresAt: time.Time{}}, "expires_at"},
			{models.APITokenInput{Name: "ci", ExpiresAt: now.Add(time.Minute)}, "expires_at"},
			{models.APITokenInput{Name: "ci", ExpiresAt: now.Add(400 * 24 * time.Hour)}, "expires_at"},
		} {
			_, err := f.store.CreateAPIToken(ctx, f.alice, c.in)
			if fe := models.FieldErrors(err); fe[c.field] == "" {
				t.Errorf("create %+v: want a message on %s, got %v", c.in, c.field, err)
			}
		}
		if n := countTokens(t, f.store); n != 0 {
			t.Fatalf("refused inputs wrote %d tokens", n)
		}
		tok, err := f.store.CreateAPIToken(ctx, f.alice, models.APITokenInput{Name: " ci ", ExpiresAt: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if tok.Name != "ci" || tok.Kind != models.APITokenPersonal || tok.LastUsedAt != nil || tok.Token == "" || tok.TokenHash == tok.Token {
			t.Fatalf("new token %+v", tok)
		}
		var stored string
		f.store.DB().Raw("SELECT token_hash FROM api_tokens WHERE id = ?", tok.ID).Scan(&stored)
		if stored == "" || stored == tok.Token {
			t.Fatalf("token stored as %q", stored)
		}
		a, got, err := f.store.ActorByAPIToken(ctx, tok.Token)
		if err != nil || a.UserID != f.alice.UserID || a.AccountID != f.alice.AccountID || !a.ViaToken() || got.LastUsedAt == nil || !got.LastUsedAt.Equal(now) {
			t.Fatalf("actor %+v %+v %v", a, got, err)
		}
		f.clock.Add(2 * time.Minute)
		_, got, _ = f.store.ActorByAPIToken(ctx, tok.Token)
		if !got.LastUsedAt.Equal(now.Add(2 * time.Minute)) {
			t.Errorf("last used %v, want it moved to %v", got.LastUsedAt, now.Add(2*time.Minute))
		}
		list, err := f.store.ListAPITokens(ctx, f.alice)
		if err != nil || len(list) != 1 || list[0].ID != tok.ID || list[0].LastUsedAt == nil {
			t.Fatalf("list %+v %v", list, err)
		}
		if other, _ := f.store.ListAPITokens(ctx, f.bob); len(other) != 0 {
			t.Errorf("bob sees alice's tokens: %+v", other)
		}
		// A token cannot mint another token.
		if _, err := f.store.CreateAPIToken(ctx, a, models.APITokenInput{Name: "x", ExpiresAt: now.Add(48 * time.Hour)}); !errors.Is(err, models.ErrForbidden) {
			t.Errorf("token minting a token: %v", err)
		}
		// Sessions started with the token end no later than the token.
		st, err := f.store.StartSession(ctx, a, models.StartSessionInput{TargetID: f.target})
		if err != nil {
			t.Fatal(err)
		}
		if !st.Session.ExpiresAt.Equal(tok.ExpiresAt) {
			t.Errorf("session expires %v, want the token's expiry %v", st.Session.ExpiresAt, tok.ExpiresAt)
		}
		// Bob cannot revoke alice's token; alice can, and it stops at once.
		if err := f.store.RevokeAPIToken(ctx, f.bob, tok.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("bob revoking: %v", err)
		}
		if err := f.store.RevokeAPIToken(ctx, f.alice, tok.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.store.ActorByAPIToken(ctx, tok.Token); !errors.Is(err, models.ErrTokenUnknown) {
			t.Errorf("revoked token: %v", err)
		}
		// Expiry.
		tok2, err := f.store.CreateAPIToken(ctx, f.alice, models.APITokenInput{Name: "short", ExpiresAt: f.clock.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Add(time.Hour)
		if _, _, err := f.store.ActorByAPIToken(ctx, tok2.Token); !errors.Is(err, models.ErrTokenExpired) || !errors.Is(err, models.ErrUnauthenticated) {
			t.Errorf("expired token: %v", err)
		}
	})
}

// TestAPITokensDieWithUserAndAccount follows browser logins: deleting the
// account or the user removes its tokens.
func TestAPITokensDieWithUserAndAccount(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		mk := func(a models.Actor) *models.NewAPIToken {
			tok, err := f.store.CreateAPIToken(ctx, a, models.APITokenInput{Name: "t", ExpiresAt: f.clock.Now().Add(24 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		bobTok := mk(f.bob)
		if err := f.store.DeleteAccount(ctx, f.admin, f.bob.AccountID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.store.ActorByAPIToken(ctx, bobTok.Token); !errors.Is(err, models.ErrTokenUnknown) {
			t.Errorf("token of a deleted account: %v", err)
		}
		aliceTok := mk(f.alice)
		if err := f.store.DeleteUser(ctx, f.admin, f.alice.UserID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.store.ActorByAPIToken(ctx, aliceTok.Token); !errors.Is(err, models.ErrTokenUnknown) {
			t.Errorf("token of a deleted user: %v", err)
		}
	})
}

func pkce(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// TestCLILoginCode: the browser gives a one-time code bound to a PKCE
// challenge and a loopback redirect; only the right verifier and redirect
// exchange it, once, within its lifetime.
func TestCLILoginCode(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		verifier := "a-verifier-that-is-long-enough-0123456789abcdef"
		req := models.CLILoginRequest{RedirectURI: "http://127.0.0.1:5555/callback", CodeChallenge: pkce(verifier),
			CodeChallengeMethod: "S256", TokenName: "laptop"}
		for _, bad := range []struct {
			mod   func(r *models.CLILoginRequest)
			field string
		}{
			{func(r *models.CLILoginRequest) { r.RedirectURI = "http://evil.example.com:5555/callback" }, "redirect_uri"},
			{func(r *models.CLILoginRequest) { r.RedirectURI = "https://127.0.0.1/callback" }, "redirect_uri"},
			{func(r *models.CLILoginRequest) { r.CodeChallengeMethod = "plain" }, "code_challenge"},
			{func(r *models.CLILoginRequest) { r.CodeChallenge = "short" }, "code_challenge"},
			{func(r *models.CLILoginRequest) { r.TokenName = "" }, "name"},
		} {
			r := req
			bad.mod(&r)
			if _, err := f.store.CreateCLILoginCode(ctx, f.alice, r); models.FieldErrors(err)[bad.field] == "" {
				t.Errorf("%+v: want a message on %s, got %v", r, bad.field, err)
			}
		}
		code, err := f.store.CreateCLILoginCode(ctx, f.alice, req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.ExchangeCLILoginCode(ctx, code, "wrong-verifier", req.RedirectURI); !errors.Is(err, models.ErrBadLoginCode) {
			t.Errorf("wrong verifier: %v", err)
		}
		// A failed exchange used the code up.
		if _, err := f.store.ExchangeCLILoginCode(ctx, code, verifier, req.RedirectURI); !errors.Is(err, models.ErrBadLoginCode) {
			t.Errorf("reused code: %v", err)
		}
		code, _ = f.store.CreateCLILoginCode(ctx, f.alice, req)
		tok, err := f.store.ExchangeCLILoginCode(ctx, code, verifier, req.RedirectURI)
		if err != nil {
			t.Fatal(err)
		}
		if tok.Kind != models.APITokenCLI || tok.Name != "laptop" || tok.UserID != f.alice.UserID || !tok.ExpiresAt.After(f.clock.Now()) {
			t.Errorf("cli token %+v", tok)
		}
		code, _ = f.store.CreateCLILoginCode(ctx, f.alice, req)
		f.clock.Add(3 * time.Minute)
		if _, err := f.store.ExchangeCLILoginCode(ctx, code, verifier, req.RedirectURI); !errors.Is(err, models.ErrBadLoginCode) {
			t.Errorf("expired code: %v", err)
		}
		// Password path: the login form's check, giving a CLI token.
		pt, err := f.store.PasswordAPIToken(ctx, models.PasswordLogin{AuthMethodID: f.methodID, LoginName: "bob", Password: "bob-password"}, "laptop")
		if err != nil || pt.Kind != models.APITokenCLI || pt.UserID != f.bob.UserID {
			t.Fatalf("password token %+v %v", pt, err)
		}
		before := countTokens(t, f.store)
		if _, err := f.store.PasswordAPIToken(ctx, models.PasswordLogin{AuthMethodID: f.methodID, LoginName: "bob", Password: "nope"}, "laptop"); !errors.Is(err, models.ErrUnauthenticated) {
			t.Errorf("wrong password: %v", err)
		}
		if countTokens(t, f.store) != before {
			t.Error("a wrong password wrote a token")
		}
	})
}
