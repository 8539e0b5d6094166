package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gatehouse/models"
)

// TestCLILoginEvents: CLI logins (a code exchanged by `gatehouse login`,
// or `gatehouse login --password`) are change-log logins like the
// browser's, and their refusals (a bad code exchange, a wrong password, an
// attempt refused by the throttle) are refused logins.
func TestCLILoginEvents(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := models.WithRequestInfo(context.Background(), models.RequestInfo{ClientIP: "203.0.113.5", RequestID: "req-cli"})
		s := f.store
		var last int64
		s.DB().Raw("SELECT COALESCE(max(seq), 0) FROM change_events").Scan(&last)
		// next returns the one entry written since the last call.
		next := func(what string) models.ChangeEvent {
			t.Helper()
			var evs []models.ChangeEvent
			if err := s.DB().Raw("SELECT * FROM change_events WHERE seq > ? ORDER BY seq", last).Scan(&evs).Error; err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 {
				t.Fatalf("%s: %d change events, want 1: %+v", what, len(evs), evs)
			}
			last = evs[0].Seq
			if evs[0].ResourceType != "auth-method" || evs[0].ResourceID != f.methodID || evs[0].RequestID != "req-cli" {
				t.Errorf("%s: on %s %s, request %q", what, evs[0].ResourceType, evs[0].ResourceID, evs[0].RequestID)
			}
			return evs[0]
		}
		verifier := "a-verifier-that-is-long-enough-0123456789abcdef"
		req := models.CLILoginRequest{RedirectURI: "http://127.0.0.1:5555/callback", CodeChallenge: pkce(verifier),
			CodeChallengeMethod: "S256", TokenName: "laptop"}

		code, err := s.CreateCLILoginCode(ctx, f.alice, req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ExchangeCLILoginCode(ctx, code, "wrong-verifier", req.RedirectURI); !errors.Is(err, models.ErrBadLoginCode) {
			t.Fatalf("wrong verifier: %v", err)
		}
		e := next("bad code exchange")
		if e.Action != models.ChangeLoginRefused || e.ActorID != "" || e.After()["via"] != "cli" || e.After()["account_id"] != f.alice.AccountID {
			t.Errorf("bad code exchange: %s by %q, %v", e.Action, e.ActorID, e.After())
		}

		code, _ = s.CreateCLILoginCode(ctx, f.alice, req)
		tok, err := s.ExchangeCLILoginCode(ctx, code, verifier, req.RedirectURI)
		if err != nil {
			t.Fatal(err)
		}
		e = next("code exchange")
		if e.Action != models.ChangeLogin || e.ActorID != f.alice.UserID || e.LoginID != tok.ID || e.ClientIP != "203.0.113.5" ||
			e.After()["via"] != "cli" || e.After()["token_name"] != "laptop" {
			t.Errorf("code exchange: %s by %q login %q ip %q, %v", e.Action, e.ActorID, e.LoginID, e.ClientIP, e.After())
		}

		in := models.PasswordLogin{AuthMethodID: f.methodID, LoginName: "bob", Password: "bob-password", ClientIP: "203.0.113.5"}
		pt, err := s.PasswordAPIToken(ctx, in, "ci")
		if err != nil {
			t.Fatal(err)
		}
		e = next("password token")
		if e.Action != models.ChangeLogin || e.ActorID != f.bob.UserID || e.LoginID != pt.ID || e.After()["client_ip"] != "203.0.113.5" ||
			e.After()["via"] != "cli" {
			t.Errorf("password token: %s by %q login %q, %v", e.Action, e.ActorID, e.LoginID, e.After())
		}

		// Wrong passwords until the throttle refuses without checking:
		// every refusal is an entry, the throttled one says why.
		in.Password = "wrong"
		var throttled *models.ThrottledError
		for i := 0; i < 10 && throttled == nil; i++ {
			_, err := s.PasswordAPIToken(ctx, in, "ci")
			if !errors.Is(err, models.ErrUnauthenticated) {
				t.Fatalf("wrong password: %v", err)
			}
			errors.As(err, &throttled)
			e = next("wrong password")
			if e.Action != models.ChangeLoginRefused || e.After()["login_name"] != "bob" {
				t.Errorf("attempt %d: %s, %v", i+1, e.Action, e.After())
			}
		}
		if throttled == nil {
			t.Fatal("ten wrong passwords in a row were never throttled")
		}
		if r, _ := e.After()["reason"].(string); !strings.Contains(r, "too many failed attempts") {
			t.Errorf("throttled refusal's reason %q", r)
		}
		// Further throttled attempts cost an attacker nothing: they are
		// refused, but recorded at most once a minute per name and address.
		for range 5 {
			if _, err := s.PasswordAPIToken(ctx, in, "ci"); !errors.As(err, &throttled) {
				t.Fatalf("attempt while throttled: %v", err)
			}
		}
		var more int64
		s.DB().Raw("SELECT count(*) FROM change_events WHERE seq > ?", last).Scan(&more)
		if more != 0 {
			t.Errorf("5 more throttled attempts wrote %d change events, want 0 (once a minute)", more)
		}
	})
}
