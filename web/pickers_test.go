package web_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// The scope pickers of the new forms listed every org and project to a
// user with no grants, and the forms opened though saving was refused.
// Now a form lists only the scopes where the person may create that type,
// and is refused (403, no scope name) where there is none (issue 11,
// finding 4).
func TestNewFormsPickOnlyScopesWhereThePersonMayCreate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		app := newAppOn(t, store)
		ctx := context.Background()
		acme, ps := orgWithProjects(t, store, app.admin, "Secret project")
		other, err := store.CreateScope(ctx, app.admin, models.GlobalScopeID, models.ScopeInput{Name: "Hidden org"})
		if err != nil {
			t.Fatal(err)
		}
		newUser(t, store, app.admin, "nobody")
		grantRole(t, store, app.admin, acme.ID, newUser(t, store, app.admin, "orgadmin"),
			"ids=*;type=user;actions=create", "ids=*;type=role;actions=create")
		forms := []string{"/roles/new", "/users/new", "/groups/new", "/auth-methods/new"}
		names := []string{"Acme", "Secret project", "Hidden org", acme.ID, ps[0].ID, other.ID}

		nobody := app.login("nobody", "nobody-password-1")
		for _, path := range forms {
			resp, err := nobody.http.Get(app.srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("nobody GET %s: %d, want 403", path, resp.StatusCode)
			}
			for _, n := range names {
				if strings.Contains(body, n) {
					t.Errorf("nobody GET %s shows %q", path, n)
				}
			}
		}

		orgAdmin := app.login("orgadmin", "orgadmin-password-1")
		for path, want := range map[string]int{"/users/new": 200, "/roles/new": 200, "/groups/new": 403, "/auth-methods/new": 403} {
			resp, err := orgAdmin.http.Get(app.srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			if resp.StatusCode != want {
				t.Errorf("orgadmin GET %s: %d, want %d", path, resp.StatusCode, want)
			}
			if want != 200 {
				continue
			}
			if !strings.Contains(body, `value="`+acme.ID+`"`) {
				t.Errorf("orgadmin GET %s does not offer Acme", path)
			}
			for _, hidden := range []string{models.GlobalScopeID, other.ID, "Hidden org"} {
				if strings.Contains(body, `value="`+hidden+`"`) || (hidden == "Hidden org" && strings.Contains(body, hidden)) {
					t.Errorf("orgadmin GET %s offers %s", path, hidden)
				}
			}
		}
	})
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
