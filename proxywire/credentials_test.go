package proxywire

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
	"gatehouse/worker"
)

// TestSessionCredentialsSpeaksTheWorkersLanguage goes through the real Store
// on both databases: a live session's brokered credential reaches connect
// with its secret; a malformed public key is a bad request carrying the
// field's message for people; an unknown token is the worker's bad token;
// an ended session's token is the worker's session ended.
func TestSessionCredentialsSpeaksTheWorkersLanguage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		org, err := store.CreateScope(ctx, admin, models.GlobalScopeID, models.ScopeInput{Name: "Org"})
		if err != nil {
			t.Fatal(err)
		}
		project, err := store.CreateScope(ctx, admin, org.ID, models.ScopeInput{Name: "Project"})
		if err != nil {
			t.Fatal(err)
		}
		infra := dbtest.SeedInfra(t, store, admin, project.ID, "alpha")
		started, err := store.StartSession(ctx, admin, models.StartSessionInput{TargetID: infra.TargetID, ClientIP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		p := NewCredentials(NewSessions(store, nil))

		creds, err := p.SessionCredentials(ctx, started.Token, "")
		if err != nil {
			t.Fatalf("live session: %v", err)
		}
		if len(creds) != 1 || creds[0].ID != infra.CredentialID || creds[0].Name != "alpha login" ||
			creds[0].Type != models.CredentialUsernamePassword || creds[0].Username != "svc" || creds[0].Password != "secret-alpha" {
			t.Fatalf("credentials = %+v", creds)
		}

		_, err = p.SessionCredentials(ctx, started.Token, "not a key")
		var bad *worker.BadRequestError
		if !errors.As(err, &bad) || !strings.Contains(bad.Message, "Public key must be one OpenSSH public key") {
			t.Fatalf("bad public key: %v, want the worker's bad request with the field's message", err)
		}

		if _, err := p.SessionCredentials(ctx, "no-such-token", ""); !errors.Is(err, worker.ErrBadToken) {
			t.Fatalf("unknown token: %v, want the worker's bad token", err)
		}

		if _, err := store.CancelSession(ctx, admin, started.Session.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := p.SessionCredentials(ctx, started.Token, ""); !errors.Is(err, worker.ErrSessionEnded) {
			t.Fatalf("canceled session: %v, want the worker's session ended", err)
		}
	})
}
