package web_test

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gatehouse/credlib"
	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestChangeLogPagesAndExports: a change made through a form is listed
// with the request's client address, shown with its diff, exported as CSV
// (formula-safe) and JSON lines; a bad filter gets a field message; a user
// without a grant on events is refused; webhooks reject bad forms.
func TestChangeLogPagesAndExports(t *testing.T) {
	a := newApp(t)
	admin := a.login("admin", "password")
	st, loc, _ := admin.post("/groups/new", url.Values{"scope_id": {models.GlobalScopeID}, "name": {"=SUM(A1)"}, "description": {"ops"}})
	if st != http.StatusSeeOther {
		t.Fatalf("create group: %d", st)
	}
	groupID := idFrom(loc)
	st, doc := admin.get("/change-log?resource=" + groupID)
	if st != http.StatusOK {
		t.Fatalf("change log: %d", st)
	}
	list := byTestID(doc, "change-list")
	if list == nil || !strings.Contains(text(list), "create") || !strings.Contains(text(list), "127.0.0.1") {
		t.Fatalf("change list: %s", render(doc))
	}
	// The group's page links to its history.
	if _, g := admin.get("/groups/" + groupID); byTestID(g, "change-history") == nil {
		t.Error("the group page has no change history link")
	}
	page, err := a.store.ListChangeEvents(t.Context(), a.admin, models.ChangeLogFilter{Resource: groupID}, 0)
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("events: %v %+v", err, page)
	}
	st, ev := admin.get("/change-log/" + page.Events[0].ID)
	if st != http.StatusOK || !strings.Contains(testIDText(ev, "change-diff"), "ops") {
		t.Errorf("entry page %d: %s", st, render(ev))
	}
	// Exports.
	body := func(path string) (string, string) {
		resp, err := admin.http.Get(a.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Header.Get("Content-Type"), string(b)
	}
	ct, csvText := body("/change-log.csv?resource=" + groupID)
	rows, err := csv.NewReader(strings.NewReader(csvText)).ReadAll()
	if err != nil || !strings.HasPrefix(ct, "text/csv") || len(rows) != 2 || rows[0][0] != "id" {
		t.Fatalf("csv %s: %v %q", ct, err, csvText)
	}
	if rows[1][10] != "'=SUM(A1)" {
		t.Errorf("resource_name cell %q: want the formula neutralised", rows[1][10])
	}
	ct, jsonl := body("/change-log.jsonl?type=group")
	var line map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(jsonl, "\n", 2)[0]), &line); err != nil || !strings.HasPrefix(ct, "application/jsonl") ||
		line["resource_id"] != groupID || line["after"].(map[string]any)["description"] != "ops" {
		t.Errorf("jsonl %s: %v %s", ct, err, jsonl)
	}
	// A bad filter is answered next to the field.
	st, bad := admin.get("/change-log?from=yesterday&type=nope")
	if st != http.StatusUnprocessableEntity || testIDText(bad, "from-error") == "" || testIDText(bad, "type-error") == "" {
		t.Errorf("bad filter: %d %s", st, render(bad))
	}
	// Bob (no grant on events or webhooks) gets nothing.
	if _, err := a.store.CreateUser(t.Context(), a.admin, models.GlobalScopeID, models.UserInput{Name: "bob", LoginName: "bob", Password: "password-bob"}); err != nil {
		t.Fatal(err)
	}
	bob := a.login("bob", "password-bob")
	if st, d := bob.get("/change-log"); st != http.StatusOK || byTestID(d, "change-list") != nil {
		t.Errorf("bob's change log: %d", st)
	}
	if st, _ := bob.get("/change-log/" + page.Events[0].ID); st != http.StatusNotFound {
		t.Errorf("bob reads an entry: %d", st)
	}
	if st, _ := bob.get("/webhooks"); st != http.StatusForbidden && st != http.StatusNotFound {
		t.Errorf("bob lists webhooks: %d", st)
	}
	// Webhook form: field messages, nothing written.
	st, _, form := admin.post("/webhooks/new", url.Values{"name": {""}, "url": {"gopher://x"}, "expiring_lead": {"abc"}})
	if st != http.StatusUnprocessableEntity || testIDText(form, "url-error") == "" || testIDText(form, "event_types-error") == "" ||
		testIDText(form, "name-error") == "" || testIDText(form, "expiring_lead-error") == "" {
		t.Errorf("bad webhook form: %d %s", st, render(form))
	}
	st, _, created := admin.post("/webhooks/new", url.Values{"name": {"sink"}, "url": {"https://sink.example.com/"}, "event_types": {"session.*", "change.role"}})
	if st != http.StatusCreated || !strings.HasPrefix(testIDText(created, "webhook-secret"), "whsec_") {
		t.Errorf("create webhook: %d %s", st, render(created))
	}
}

// TestChangeHistoryLinksOnLibraryAndSessionPages: a credential library's
// page and a session's page link to their own change history (the session
// page only for readers of the change log).
func TestChangeHistoryLinksOnLibraryAndSessionPages(t *testing.T) {
	backend := credlib.New() // (never connected to: the library is only shown)
	t.Cleanup(backend.Close)
	a := newAppOn(t, dbtest.Open(t, models.SQLite, models.Options{CredentialBackend: backend}))
	ctx := t.Context()
	org, err := a.store.CreateScope(ctx, a.admin, models.GlobalScopeID, models.ScopeInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	proj, err := a.store.CreateScope(ctx, a.admin, org.ID, models.ScopeInput{Name: "Databases"})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := a.store.CreateCredentialStore(ctx, a.admin, proj.ID, models.CredentialStoreInput{Name: "Vault"})
	if err != nil {
		t.Fatal(err)
	}
	lib, err := a.store.CreateCredentialLibrary(ctx, a.admin, cs.ID, models.CredentialLibraryInput{Type: models.LibraryPostgres,
		Name: "Roles", URL: "postgres://admin@db.example.com:5432/postgres", Password: "secret-pw",
		UsernameTemplate: models.DefaultUsernameTemplate, GrantRoles: "readers", CreationStatements: models.DefaultCreationStatements,
		RevocationStatements: models.DefaultRevocationStatements})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := a.store.CreateTarget(ctx, a.admin, proj.ID, models.TargetInput{Name: "db", Address: "10.0.0.1", DefaultPort: 5432,
		SessionMaxSeconds: 3600, SessionConnectionLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	st, err := a.store.StartSession(ctx, a.admin, models.StartSessionInput{TargetID: tg.ID, ClientIP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	admin := a.login("admin", "password")
	for _, res := range []struct{ page, id string }{{"/credential-libraries/" + lib.ID, lib.ID}, {"/sessions/" + st.Session.ID, st.Session.ID}} {
		code, doc := admin.get(res.page)
		link := byTestID(doc, "change-history")
		if code != http.StatusOK || link == nil {
			t.Errorf("%s (%d): no change history link", res.page, code)
			continue
		}
		if attr(link, "href") != "/change-log?resource="+url.QueryEscape(res.id) {
			t.Errorf("%s: change history link %s", res.page, render(link))
		}
	}
}
