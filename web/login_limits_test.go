package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// With every password-hash slot taken, the login form answers 503 with
// Retry-After and a sentence for people, not a 1 GB server (finding 2).
func TestLoginAnswersBusyAtTheHashBound(t *testing.T) {
	limiter := models.NewPasswordHashLimiter(1, 10*time.Millisecond)
	e := newEnvWith(t, models.SQLite, "http://127.0.0.1:9200", models.Options{PasswordHashes: limiter})
	release, err := limiter.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := e.postLogin(e.client(), "admin", "password")
	release()
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" ||
		!strings.Contains(r.body, "Gatehouse is busy checking other logins. Try again in a moment.") {
		t.Fatalf("login with no hash slot free = %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	if r := e.postLogin(e.client(), "admin", "password"); r.status != http.StatusSeeOther {
		t.Fatalf("login once a slot is free = %d", r.status)
	}
}

// An administrator sees a locked account on the user's page and clears the
// lock with its button (finding 7).
func TestAdministratorClearsALockFromTheUserPage(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d, "http://127.0.0.1:9200")
			admin := e.adminClient()
			if r := e.do(admin, "POST", "/users/new", url.Values{"scope_id": {"global"}, "name": {"bob"}, "login_name": {"bob"}, "password": {"bob's password"}}); r.status != http.StatusSeeOther {
				t.Fatalf("create bob = %d", r.status)
			}
			u, _ := e.store.ListUsers(context.Background(), dbtest.Login(t, e.store, e.method, "admin", "password"), "", models.ListOptions{Search: "bob"})
			bob := u.Items[0].ID
			for i := 0; i < 30; i++ { // five are checked, the rest throttled
				e.do(e.client(), "POST", "/login", url.Values{"auth_method_id": {e.method}, "login_name": {"bob"}, "password": {"wrong"}},
					"X-Forwarded-For", fmt.Sprint(i)) // not trusted: every guess comes from 127.0.0.1
			}
			if r := e.postLogin(e.client(), "bob", "bob's password"); r.status != http.StatusTooManyRequests {
				t.Fatalf("bob after 30 guesses from his own address = %d", r.status)
			}
			page := e.do(admin, "GET", "/users/"+bob, nil)
			if page.status != 200 || !strings.Contains(page.body, "Locked until") || !strings.Contains(page.body, "5 failed attempts in the last hour") {
				t.Fatalf("user page does not show the lock (%d)", page.status)
			}
			d, _ := e.store.GetUser(context.Background(), dbtest.Login(t, e.store, e.method, "admin", "password"), bob)
			acct := d.Accounts[0].ID
			if !strings.Contains(page.body, `data-testid="clear-lock-`+acct+`"`) {
				t.Fatal("no Clear lock button")
			}
			if r := e.do(admin, "POST", "/users/"+bob+"/accounts/"+acct+"/unlock", url.Values{}); r.status != http.StatusSeeOther ||
				r.header.Get("Location") != "/users/"+bob+"?done=unlocked" {
				t.Fatalf("clear lock = %d %s", r.status, r.header.Get("Location"))
			}
			if r := e.do(admin, "GET", "/users/"+bob+"?done=unlocked", nil); strings.Contains(r.body, "Locked until") ||
				!strings.Contains(r.body, "Lock cleared: the account may log in again at once.") {
				t.Fatal("user page after clearing still shows the lock or no confirmation")
			}
			if r := e.postLogin(e.client(), "bob", "bob's password"); r.status != http.StatusSeeOther {
				t.Fatalf("bob after the lock was cleared = %d", r.status)
			}
		})
	}
}
