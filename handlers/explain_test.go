package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"gatehouse/dbtest"
	"gatehouse/handlers"
	"gatehouse/models"
)

// byTestID returns the text of every element with data-testid=id, in order.
func byTestID(t *testing.T, body, id string) []string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var text func(n *html.Node) string
	text = func(n *html.Node) string {
		if n.Type == html.TextNode {
			return n.Data
		}
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			b.WriteString(text(c))
		}
		return b.String()
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				if a.Key == "data-testid" && a.Val == id {
					out = append(out, strings.Join(strings.Fields(text(n)), " "))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

func TestExplainPage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		org, err := store.CreateScope(ctx, admin, models.GlobalScopeID, models.ScopeInput{Name: "Acme"})
		if err != nil {
			t.Fatal(err)
		}
		bob, err := store.CreateUser(ctx, admin, models.GlobalScopeID, models.UserInput{Name: "bob", LoginName: "bob", Password: "bob-password-1"})
		if err != nil {
			t.Fatal(err)
		}
		target, err := store.CreateRole(ctx, admin, org.ID, models.RoleInput{Name: "the target"})
		if err != nil {
			t.Fatal(err)
		}
		readers, err := store.CreateRole(ctx, admin, models.GlobalScopeID, models.RoleInput{Name: "Role readers"})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.SetRoleGrantScopes(ctx, admin, readers.ID, 1, []string{"children"}); err != nil {
			t.Fatal(err)
		}
		if err := store.SetRoleGrants(ctx, admin, readers.ID, 2, []string{"ids=*;type=role;actions=read"}); err != nil {
			t.Fatal(err)
		}
		if err := store.AddRolePrincipals(ctx, admin, readers.ID, []string{bob.ID}); err != nil {
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

		// The admin asks about bob.
		code, body := get(admin, url.Values{"user": {bob.ID}, "resource": {target.ID}})
		if code != http.StatusOK {
			t.Fatalf("status %d: %s", code, body)
		}
		if opts := byTestID(t, body, "explain-users"); len(opts) != 1 || !strings.Contains(opts[0], "bob") {
			t.Errorf("user suggestions = %q", opts)
		}
		// Asking by name or login name, any case, is the same question.
		for _, name := range []string{"bob", "BOB"} {
			if code, byName := get(admin, url.Values{"user": {name}, "resource": {target.ID}}); code != http.StatusOK ||
				!slices.Equal(byTestID(t, byName, "explain-read"), byTestID(t, body, "explain-read")) {
				t.Errorf("by name %q: %d %q", name, code, byTestID(t, byName, "explain-read"))
			}
		}
		// The resource by its name, any case, is the same question too.
		if code, byName := get(admin, url.Values{"user": {bob.ID}, "resource": {strings.ToUpper(target.Name)}}); code != http.StatusOK ||
			!slices.Equal(byTestID(t, byName, "explain-update"), byTestID(t, body, "explain-update")) {
			t.Errorf("resource by name: %d %q", code, byTestID(t, byName, "explain-update"))
		}
		if code, b := get(admin, url.Values{"resource": {"nothing-named-so"}}); code != http.StatusUnprocessableEntity ||
			len(byTestID(t, b, "resource-error")) != 1 || !strings.Contains(byTestID(t, b, "resource-error")[0], "nothing named") {
			t.Errorf("unknown resource name: %d %q", code, byTestID(t, b, "resource-error"))
		}
		if code, b := get(admin, url.Values{"user": {"nobody-like-this"}, "resource": {target.ID}}); code != http.StatusUnprocessableEntity ||
			len(byTestID(t, b, "user-error")) != 1 || !strings.Contains(byTestID(t, b, "user-error")[0], "no user named") {
			t.Errorf("unknown name: %d %q", code, byTestID(t, b, "user-error"))
		}
		if s := byTestID(t, body, "explain-subject"); len(s) != 1 || !strings.Contains(s[0], "bob") || !strings.Contains(s[0], "the target") {
			t.Errorf("subject = %q", s)
		}
		read := byTestID(t, body, "explain-read")
		if len(read) != 1 || !strings.Contains(read[0], "yes") || !strings.Contains(read[0], "Role readers") ||
			!strings.Contains(read[0], "children") || !strings.Contains(read[0], "ids=*;type=role;actions=read") {
			t.Errorf("read row = %q", read)
		}
		upd := byTestID(t, body, "explain-update")
		want := `add a role in ` + org.Name + ` with grant "ids=` + target.ID + `;actions=update" for bob`
		if len(upd) != 1 || !strings.Contains(upd[0], "no") || !strings.Contains(upd[0], want) {
			t.Errorf("update row = %q, want suggestion %q", upd, want)
		}
		if l := byTestID(t, body, "explain-list"); len(l) != 1 || !strings.Contains(l[0], "no") {
			t.Errorf("list row = %q", l)
		}
		if n := len(byTestID(t, body, "allowed")); n != 1 {
			t.Errorf("%d allowed actions, want 1 (read)", n)
		}

		// Bob asks about himself (no user given) and may not ask about the admin.
		ba := dbtest.Login(t, store, mustMethod(t, store), "bob", "bob-password-1")
		code, body = get(ba, url.Values{"resource": {target.ID}})
		if code != http.StatusOK || len(byTestID(t, body, "allowed")) != 1 || len(byTestID(t, body, "explain-user")) != 0 {
			t.Errorf("bob about himself: %d %q", code, byTestID(t, body, "explain-actions"))
		}
		if code, body = get(ba, url.Values{"user": {admin.UserID}, "resource": {target.ID}}); code != http.StatusNotFound ||
			len(byTestID(t, body, "form-error")) != 1 || len(byTestID(t, body, "explain-actions")) != 0 {
			t.Errorf("bob about admin: %d %q", code, byTestID(t, body, "form-error"))
		}
		// A resource bob cannot see, and one that does not exist: the same
		// 404, with the same message next to the field.
		code, hidden := get(ba, url.Values{"resource": {readers.ID}})
		code2, missing := get(ba, url.Values{"resource": {"r_nothere00000"}})
		h1, h2 := byTestID(t, hidden, "resource-error"), byTestID(t, missing, "resource-error")
		if code != http.StatusNotFound || code2 != http.StatusNotFound || len(h1) != 1 || !slices.Equal(h1, h2) ||
			!strings.Contains(h1[0], "ask an administrator") {
			t.Errorf("invisible role: %d %q; missing role: %d %q", code, h1, code2, h2)
		}
		// The bare page shows only the form.
		code, body = get(ba, url.Values{})
		if code != http.StatusOK || len(byTestID(t, body, "explain-form")) != 1 || len(byTestID(t, body, "explain-actions")) != 0 {
			t.Errorf("bare page: %d", code)
		}
	})
}

func mustMethod(t *testing.T, store *models.Store) string {
	t.Helper()
	var id string
	if err := store.DB().Raw("SELECT id FROM auth_methods WHERE scope_id = 'global' AND type = 'password'").Scan(&id).Error; err != nil || id == "" {
		t.Fatalf("password method: %v", err)
	}
	return id
}
