package main

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestLibraryPagesDeleteAndRetry goes through the real pages of a running
// instance: an administrator's "Retry now" on the audit record makes a
// waiting revocation run (the role is dropped); a second Retry, with the
// credential revoked meanwhile, says so next to that credential instead of
// "saved". Deleting the library through its page cancels the session that
// uses it, and its role is dropped.
func TestLibraryPagesDeleteAndRetry(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			pg := dbtest.NewPGTarget(t)
			// The loop looks by itself only at start and every hour: what
			// revokes is the Retry's kick, or the deleting commit's.
			w := newLibraryWorld(t, d, 5432, pgLibrary(pg), map[string]string{"GATEHOUSE_REVOCATION_INTERVAL": "1h"})
			app := launch(t, w.Env, "serve")
			alice := client(t)
			id, _ := startSession(t, alice, app)
			var cred string
			must(t, w.store.DB().Raw("SELECT credential_id FROM session_credentials WHERE session_id = ? AND source = ?", id, models.LibraryPostgres).
				Scan(&cred).Error)
			// Canceled by another instance (this Store): nothing kicks app's loop.
			if _, err := w.store.CancelSession(ctx, w.admin, id); err != nil {
				t.Fatal(err)
			}
			if roles := pg.Roles(t); len(roles) != 1 {
				t.Fatalf("roles before the retry: %v", roles)
			}
			admin := client(t)
			if p := loginAs(t, admin, app.URL, "admin", "password"); p.Status != http.StatusSeeOther {
				t.Fatalf("admin login: %d", p.Status)
			}
			rec := get(t, admin, app.URL+"/audit/sessions/"+id)
			if !strings.Contains(rec.Body, `data-testid="retry-`+cred+`"`) {
				t.Fatalf("the audit record offers no Retry for %s:\n%s", cred, rec.Body)
			}
			retry := app.URL + "/sessions/" + id + "/revocations/" + cred + "/retry"
			if p := post(t, admin, retry, url.Values{}); p.Status != http.StatusSeeOther || !strings.HasSuffix(p.Location, "/audit/sessions/"+id+"?done=saved") {
				t.Fatalf("retry: %d %s", p.Status, p.Location)
			}
			waitFor(t, 20*time.Second, "role dropped after Retry", func() bool { return len(pg.Roles(t)) == 0 })
			waitFor(t, 5*time.Second, "revocation recorded", func() bool {
				return strings.Contains(get(t, admin, app.URL+"/audit/sessions/"+id).Body, `data-testid="revoked-`+cred+`">revoked`)
			})
			again := post(t, admin, retry, url.Values{})
			m := regexp.MustCompile(`data-testid="retry-error-` + cred + `"[^>]*>([^<]*)<`).FindStringSubmatch(again.Body)
			if again.Status != http.StatusUnprocessableEntity || m == nil || !strings.Contains(m[1], "revoked already") {
				t.Fatalf("retry of a revoked credential: %d %v\n%s", again.Status, m, again.Body)
			}

			// Deleting the library through its page cancels the session using it.
			id2, _ := startSession(t, alice, app)
			if roles := pg.Roles(t); len(roles) != 1 {
				t.Fatalf("roles of the second session: %v", roles)
			}
			confirm := get(t, admin, app.URL+"/credential-libraries/"+w.Library+"/delete")
			if confirm.Status != http.StatusOK || !strings.Contains(confirm.Body, "Every session holding one of its credentials is canceled") {
				t.Fatalf("confirm page: %d\n%s", confirm.Status, confirm.Body)
			}
			del := post(t, admin, app.URL+"/credential-libraries/"+w.Library+"/delete", url.Values{})
			if del.Status != http.StatusSeeOther || !strings.Contains(del.Location, "?done=deleted") {
				t.Fatalf("delete: %d %s", del.Status, del.Location)
			}
			s, err := w.store.GetSession(ctx, w.admin, id2)
			if err != nil || (s.State != models.StateTerminated && s.State != models.StateCanceling) {
				t.Fatalf("the session using the deleted library: %v %+v", err, s)
			}
			waitFor(t, 20*time.Second, "role of the deleted library's session dropped", func() bool { return len(pg.Roles(t)) == 0 })
			if p := get(t, admin, app.URL+"/credential-libraries/"+w.Library); p.Status != http.StatusNotFound {
				t.Fatalf("the deleted library's page: %d", p.Status)
			}
		})
	}
}
