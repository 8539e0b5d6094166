package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/handlers"
	"gatehouse/models"
)

// TestExplainTarget: the explain page resolves a target (an infrastructure
// type) and shows, for a user holding list/read/authorize-session on the
// project's targets, an allowed action with its grant and a denied one with
// the grant that would allow it.
func TestExplainTarget(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		org, err := store.CreateScope(ctx, admin, models.GlobalScopeID, models.ScopeInput{Name: "Acme"})
		if err != nil {
			t.Fatal(err)
		}
		proj, err := store.CreateScope(ctx, admin, org.ID, models.ScopeInput{Name: "Prod"})
		if err != nil {
			t.Fatal(err)
		}
		tg, err := store.CreateTarget(ctx, admin, proj.ID, models.TargetInput{Name: "db primary", DefaultPort: 5432, Address: "db.internal", SessionMaxSeconds: 3600, SessionConnectionLimit: -1})
		if err != nil {
			t.Fatal(err)
		}
		bob, err := store.CreateUser(ctx, admin, models.GlobalScopeID, models.UserInput{Name: "bob", LoginName: "bob", Password: "bob-password-1"})
		if err != nil {
			t.Fatal(err)
		}
		role, err := store.CreateRole(ctx, admin, proj.ID, models.RoleInput{Name: "Prod connectors"})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.SetRoleGrants(ctx, admin, role.ID, role.Version, []string{"ids=*;type=target;actions=list,read,authorize-session"}); err != nil {
			t.Fatal(err)
		}
		if err := store.AddRolePrincipals(ctx, admin, role.ID, []string{bob.ID}); err != nil {
			t.Fatal(err)
		}
		h := handlers.Explain{Base: handlers.Base{Logger: slog.New(slog.DiscardHandler)}, Store: store}
		errs := handlers.Errors{Base: h.Base}
		get := func(a models.Actor, q url.Values) (int, string) {
			req := httptest.NewRequest(http.MethodGet, "/explain?"+q.Encode(), nil)
			req = req.WithContext(handlers.WithActor(req.Context(), a))
			rec := httptest.NewRecorder()
			errs.Wrap(h.Show).ServeHTTP(rec, req)
			b, _ := io.ReadAll(rec.Body)
			return rec.Code, string(b)
		}

		check := func(who string, a models.Actor, q url.Values) {
			t.Helper()
			code, body := get(a, q)
			if code != http.StatusOK {
				t.Fatalf("%s: status %d: %s", who, code, body)
			}
			if s := byTestID(t, body, "explain-subject"); len(s) != 1 || !strings.Contains(s[0], "bob") ||
				!strings.Contains(s[0], "target") || !strings.Contains(s[0], "db primary") {
				t.Errorf("%s: subject = %q", who, s)
			}
			auth := byTestID(t, body, "explain-authorize-session")
			if len(auth) != 1 || !strings.Contains(auth[0], "yes") || !strings.Contains(auth[0], "Prod connectors") ||
				!strings.Contains(auth[0], "ids=*;type=target;actions=authorize-session,list,read") {
				t.Errorf("%s: authorize-session row = %q", who, auth)
			}
			if r := byTestID(t, body, "explain-read"); len(r) != 1 || !strings.Contains(r[0], "yes") {
				t.Errorf("%s: read row = %q", who, r)
			}
			if l := byTestID(t, body, "explain-list"); len(l) != 1 || !strings.Contains(l[0], "yes") {
				t.Errorf("%s: list row = %q", who, l)
			}
			del := byTestID(t, body, "explain-delete")
			// In the person's words: the scope and the user by name.
			want := `add a role in ` + proj.Name + ` with grant "ids=` + tg.ID + `;actions=delete" for bob`
			if len(del) != 1 || !strings.Contains(del[0], "no") || !strings.Contains(del[0], want) {
				t.Errorf("%s: delete row = %q, want suggestion %q", who, del, want)
			}
			if s := byTestID(t, body, "suggestion"); len(s) == 0 {
				t.Errorf("%s: no suggestion shown", who)
			}
			// no-op, read, authorize-session, list: the rest are denied.
			if n := len(byTestID(t, body, "allowed")); n != 3 {
				t.Errorf("%s: %d allowed actions, want 3 (read, authorize-session, list)", who, n)
			}
		}
		check("admin about bob", admin, url.Values{"user": {bob.ID}, "resource": {tg.ID}})
		ba := dbtest.Login(t, store, mustMethod(t, store), "bob", "bob-password-1")
		check("bob about himself", ba, url.Values{"resource": {tg.ID}})

		// A target bob cannot see and one that does not exist: the same 404.
		other, err := store.CreateScope(ctx, admin, org.ID, models.ScopeInput{Name: "Staging"})
		if err != nil {
			t.Fatal(err)
		}
		hidden, err := store.CreateTarget(ctx, admin, other.ID, models.TargetInput{Name: "hidden", DefaultPort: 22, Address: "h.internal", SessionMaxSeconds: 3600, SessionConnectionLimit: -1})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{hidden.ID, "ttcp_doesnotexist"} {
			if code, _ := get(ba, url.Values{"resource": {id}}); code != http.StatusNotFound {
				t.Errorf("bob on %s: %d, want 404", id, code)
			}
		}
	})
}
