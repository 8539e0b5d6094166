package web_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"gatehouse/models"
)

// putHistory writes a warehouse session directly (the warehouse's own
// table); mods change the row before it is written.
func putHistory(t *testing.T, a *app, id string, created time.Time, user, target, project string, mods ...func(*models.HistorySession)) {
	t.Helper()
	created = created.UTC()
	h := models.HistorySession{SessionID: id, CreatedAt: created, ExpiresAt: created.Add(time.Hour), ConnectionLimit: -1,
		UserID: "u_" + user, UserName: user, UserEmail: user + "@example.com", AuthMethodID: "ampw_1", AuthMethodName: "Passwords",
		AuthMethodType: "password", GroupsJSON: "[]", ManagedGroupsJSON: "[]", GrantsJSON: "[]", CredentialsJSON: "[]",
		TargetID: "ttcp_" + target, TargetName: target, TargetType: "tcp", TargetPort: 22, HostID: "hst_1", HostName: "web-1",
		HostAddress: "10.0.0.1", ProjectID: "p_" + project, ProjectName: project, OrgID: "o_1", OrgName: "Acme",
		ClientIP: "192.0.2.9", UserAgent: "=HYPERLINK(\"x\")", SearchText: strings.ToLower(id + " " + user + " " + target + " " + project),
		State: "pending", PendingAt: &created}
	for _, m := range mods {
		m(&h)
	}
	if err := a.store.DB().WithContext(context.Background()).Create(&h).Error; err != nil {
		t.Fatal(err)
	}
	if err := a.store.DB().Create(&models.HistoryState{SessionID: id, State: "pending", At: created}).Error; err != nil {
		t.Fatal(err)
	}
	if a.store.Dialect() == models.SQLite { // the Store writes a start's search row before its commit (models/audit.go)
		if err := a.store.DB().Exec("INSERT INTO warehouse_sessions_search (session_id, search_text) VALUES (?, ?)", id, h.SearchText).Error; err != nil {
			t.Fatal(err)
		}
	}
}

func (c *appClient) raw(path string) (*http.Response, string) {
	c.a.t.Helper()
	resp, err := c.http.Get(c.a.srv.URL + path)
	if err != nil {
		c.a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestAuditPages(t *testing.T) {
	a := newApp(t)
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := range 55 {
		putHistory(t, a, fmt.Sprintf("s_w%04d", i), t0.Add(time.Duration(i)*time.Minute), fmt.Sprintf("user%d", i%2), "=cmd|calc", "Web")
	}
	putHistory(t, a, "s_other", t0.Add(-48*time.Hour), "carol", "db", "Data")
	admin := a.login("admin", "password")

	st, doc := admin.get("/audit/sessions")
	if st != http.StatusOK || byTestID(doc, "history-row-s_w0054") == nil || byTestID(doc, "history-row-s_w0005") == nil ||
		byTestID(doc, "history-row-s_w0004") != nil || byTestID(doc, "page-next") == nil || byTestID(doc, "page-prev") != nil {
		t.Fatalf("first page: %d\n%s", st, render(doc))
	}
	row := byTestID(doc, "history-row-s_w0054")
	for id, want := range map[string]string{"user": "user0", "target": "=cmd|calc", "project": "Acme / Web", "client-ip": "192.0.2.9",
		"connections": "0", "bytes": "0 B / 0 B", "state": "pending", "host": "web-1 (10.0.0.1)"} {
		if got := text(byTestID(row, id)); got != want {
			t.Errorf("row %s = %q, want %q", id, got, want)
		}
	}
	// Next page by keyset, then back.
	next := attr(byTestID(doc, "page-next"), "href")
	_, doc = admin.get(next)
	if byTestID(doc, "history-row-s_w0004") == nil || byTestID(doc, "history-row-s_other") == nil || byTestID(doc, "page-next") != nil {
		t.Fatalf("second page:\n%s", render(doc))
	}
	_, doc = admin.get(attr(byTestID(doc, "page-prev"), "href"))
	if byTestID(doc, "history-row-s_w0054") == nil || byTestID(doc, "history-row-s_w0005") == nil {
		t.Fatalf("back to first page:\n%s", render(doc))
	}

	// Filters.
	_, doc = admin.get("/audit/sessions?user=carol&from=2026-04-29&to=2026-04-29")
	if byTestID(doc, "history-row-s_other") == nil || byTestID(doc, "history-row-s_w0000") != nil {
		t.Fatalf("filtered:\n%s", render(doc))
	}
	_, doc = admin.get("/audit/sessions?q=USER1&sort=oldest")
	if byTestID(doc, "history-row-s_w0001") == nil || byTestID(doc, "history-row-s_w0000") != nil {
		t.Fatalf("text filter:\n%s", render(doc))
	}
	// Bad filters: 422 with the message next to the field.
	for q, field := range map[string]string{"from=yesterday": "from", "from=2026-05-02&to=2026-05-01": "to",
		"reason=bored": "reason", "sort=sideways": "sort", "after=nonsense": "after"} {
		st, doc := admin.get("/audit/sessions?" + q)
		if field == "after" {
			if st != http.StatusUnprocessableEntity {
				t.Errorf("%s: %d", q, st)
			}
			continue
		}
		if st != http.StatusUnprocessableEntity || byTestID(doc, field+"-error") == nil {
			t.Errorf("%s: %d\n%s", q, st, render(doc))
		}
	}

	// The audit record.
	st, doc = admin.get("/audit/sessions/s_other")
	if st != http.StatusOK || testIDText(doc, "user") != "carol u_carol" || testIDText(doc, "email") != "carol@example.com" ||
		!strings.HasPrefix(testIDText(doc, "target"), "db (tcp, port 22)") || !strings.HasPrefix(testIDText(doc, "project"), "Acme / Data") ||
		byTestID(doc, "state-pending") == nil {
		t.Fatalf("record: %d\n%s", st, render(doc))
	}
	if st, _ := admin.get("/audit/sessions/s_missing"); st != http.StatusNotFound {
		t.Fatalf("missing record: %d", st)
	}

	// CSV export: streamed, filtered, formulas neutralised.
	resp, body := admin.raw("/audit/sessions.csv?project=Web")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "session-history.csv") {
		t.Fatalf("csv: %d %v", resp.StatusCode, resp.Header)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(recs) != 56 || strings.Join(recs[0], ",") != strings.Join(models.HistoryColumns, ",") {
		t.Fatalf("csv: %v %d rows %v", err, len(recs), recs[0])
	}
	if recs[1][0] != "s_w0054" || recs[1][12] != "'=cmd|calc" || recs[1][7] != "user0" || recs[1][3] != "pending" || recs[1][1] != "2026-05-01T12:54:00Z" {
		t.Fatalf("csv row: %v", recs[1])
	}
	resp, body = admin.raw("/audit/sessions.jsonl?user=carol")
	lines := strings.Split(strings.TrimSpace(body), "\n")
	var got map[string]any
	if resp.StatusCode != http.StatusOK || len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &got) != nil ||
		got["session_id"] != "s_other" || got["target_name"] != "db" || got["terminated_at"] != nil {
		t.Fatalf("jsonl: %d %q", resp.StatusCode, body)
	}
	if resp, _ := admin.raw("/audit/sessions.csv?from=bad"); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad export filter: %d", resp.StatusCode)
	}

	// Charts: accessible SVG with a data table.
	st, doc = admin.get("/audit/sessions/charts?from=2026-04-29&to=2026-05-01")
	page := render(doc)
	if st != http.StatusOK || byTestID(doc, "chart-sessions") == nil || byTestID(doc, "chart-users-data") == nil ||
		!strings.Contains(page, `role="img"`) || !strings.Contains(page, `<title id="chart-sessions-title">Sessions per day</title>`) ||
		!strings.Contains(testIDText(doc, "chart-sessions-data"), "2026-05-01 55") || !strings.Contains(testIDText(doc, "chart-sessions-data"), "2026-04-29 1") ||
		!strings.Contains(testIDText(doc, "chart-users-data"), "user0 28") {
		t.Fatalf("charts: %d\n%s", st, page)
	}

	// A user without read-history sees nothing; anonymous is sent to log in.
	if _, err := a.store.CreateUser(context.Background(), a.admin, models.GlobalScopeID, models.UserInput{Name: "bob", LoginName: "bob", Password: "password-bob"}); err != nil {
		t.Fatal(err)
	}
	bob := a.login("bob", "password-bob")
	if _, doc := bob.get("/audit/sessions"); byTestID(doc, "empty") == nil {
		t.Fatalf("bob sees history:\n%s", render(doc))
	}
	if st, _ := bob.get("/audit/sessions/s_other"); st != http.StatusNotFound {
		t.Fatalf("bob record: %d", st)
	}
	if _, body := bob.raw("/audit/sessions.csv"); strings.Count(body, "\n") != 1 {
		t.Fatalf("bob export: %q", body)
	}
	anon := &appClient{a: a, http: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if resp, _ := anon.raw("/audit/sessions.csv"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("anonymous export: %d", resp.StatusCode)
	}
}

// TestAuditRecordShowsTheGroupsThatCounted: the record lists the groups
// and managed groups the snapshot kept (those that counted).
func TestAuditRecordShowsTheGroupsThatCounted(t *testing.T) {
	a := newApp(t)
	putHistory(t, a, "s_groups", time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC), "carol", "db", "Data", func(h *models.HistorySession) {
		h.GroupsJSON = `[{"id":"g_dba","name":"dba"}]`
		h.ManagedGroupsJSON = `[{"id":"mgoidc_sre","name":"sre"},{"id":"mgoidc_ops","name":"ops"}]`
	})
	admin := a.login("admin", "password")
	st, doc := admin.get("/audit/sessions/s_groups")
	if st != http.StatusOK || testIDText(doc, "groups") != "dba" || testIDText(doc, "managed-groups") != "sre, ops" ||
		!strings.Contains(render(doc), "Groups that counted") {
		t.Fatalf("record: %d groups %q managed %q\n%s", st, testIDText(doc, "groups"), testIDText(doc, "managed-groups"), render(doc))
	}
}

// TestAuditRecordShowsCredentialRevocations: the record shows when each
// credential was revoked, from the warehouse, and "not revoked" until then.
func TestAuditRecordShowsCredentialRevocations(t *testing.T) {
	a := newApp(t)
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	putHistory(t, a, "s_creds", t0, "carol", "db", "Data", func(h *models.HistorySession) {
		h.CredentialsJSON = `[{"id":"credup_1","name":"pg admin","type":"username_password","purpose":"brokered","store_id":"csst_1","store_name":"Vault"},` +
			`{"id":"credup_2","name":"pg ro","type":"username_password","purpose":"brokered","store_id":"csst_1","store_name":"Vault"}]`
	})
	if err := a.store.DB().Create(&models.HistoryRevocation{SessionID: "s_creds", CredentialID: "credup_1", Purpose: "brokered",
		RevokedAt: t0.Add(time.Hour)}).Error; err != nil {
		t.Fatal(err)
	}
	admin := a.login("admin", "password")
	st, doc := admin.get("/audit/sessions/s_creds")
	revoked := byTestID(doc, "revoked-credup_1")
	if st != http.StatusOK || revoked == nil || !strings.HasPrefix(testIDText(doc, "revoked-credup_1"), "revoked") ||
		!strings.Contains(render(revoked), `datetime="2026-05-01T13:00:00Z"`) || testIDText(doc, "revoked-credup_2") != "not revoked" {
		t.Fatalf("record: %d\n%s", st, render(doc))
	}
}

// attr returns an attribute of n ("" when n is nil or has none).
func attr(n *html.Node, key string) string {
	if n == nil {
		return ""
	}
	for _, at := range n.Attr {
		if at.Key == key {
			return at.Val
		}
	}
	return ""
}
