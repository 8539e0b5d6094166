package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/browsertest"
	"gatehouse/models"
)

// TestBrowserChangeLogAndWebhooks: the admin edits a role and finds the
// change, with its before/after values, in the change log; then adds a
// webhook and watches the deliveries of alice's new session arrive. Every
// page it visits is checked with axe-core and shot at 1280 and 390 px.
func TestBrowserChangeLogAndWebhooks(t *testing.T) {
	w := newProxyWorldEnv(t, models.SQLite, 1, map[string]string{"GATEHOUSE_WEBHOOK_ALLOW_PRIVATE": "true"})
	app := w.Apps[0]
	var mu sync.Mutex
	var received []string
	recv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		received = append(received, r.Header.Get("webhook-id"))
		mu.Unlock()
		rw.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()

	b := browsertest.New(t)
	browsertest.FailOnConsoleErrors(t, b, "Failed to load resource")
	browsertest.Navigate(t, b, app.URL+"/login")
	browsertest.Fill(t, b, "#login_name", "admin")
	browsertest.Fill(t, b, "#password", "password")
	browsertest.Click(t, b, `[data-testid="login-submit"]`)
	browsertest.WaitVisible(t, b, `[data-testid="current-user"]`)

	// Edit the role "connect".
	browsertest.Navigate(t, b, app.URL+"/roles?q=connect")
	browsertest.Click(t, b, `[data-testid="role-list"] a`)
	browsertest.WaitVisible(t, b, `[data-testid="role-name"]`)
	roleURL := browsertest.Location(t, b)
	browsertest.Navigate(t, b, roleURL+"/edit")
	browsertest.Fill(t, b, "#description", "Alice's way into the lab")
	browsertest.Click(t, b, `form[action$="/edit"] button[type="submit"]`)
	browsertest.WaitText(t, b, `[data-testid="flash"]`, "Saved.")

	// The role's page links to its history; the entry shows the diff.
	browsertest.Click(t, b, `[data-testid="change-history"] a, a[data-testid="change-history"]`)
	browsertest.WaitVisible(t, b, `[data-testid="change-list"]`)
	checkPage(t, b, "change-log")
	if got := browsertest.Text(t, b, `[data-testid="change-list"] tbody tr:first-child [data-testid="action"]`); got != "update" {
		t.Errorf("newest change of the role: %q, want update", got)
	}
	browsertest.Click(t, b, `[data-testid="change-list"] tbody tr:first-child a`)
	browsertest.WaitVisible(t, b, `[data-testid="change-diff"]`)
	if got := browsertest.Text(t, b, `[data-testid="diff-description"] [data-testid="before"]`); got != "" {
		t.Errorf("description before = %q, want empty", got)
	}
	if got := browsertest.Text(t, b, `[data-testid="diff-description"] [data-testid="after"]`); got != "Alice's way into the lab" {
		t.Errorf("description after = %q", got)
	}
	if !strings.Contains(browsertest.Text(t, b, `[data-testid="diff-description"]`), "changed") {
		t.Error("the description is not marked changed")
	}
	if got := browsertest.Text(t, b, `[data-testid="change-facts"] [data-testid="actor"]`); !strings.Contains(got, "dmin") {
		t.Errorf("actor %q", got)
	}
	checkPage(t, b, "change-event")

	// Add a webhook for session events: the secret is shown once.
	browsertest.Navigate(t, b, app.URL+"/webhooks/new")
	browsertest.Fill(t, b, "#name", "Lab receiver")
	browsertest.Click(t, b, `input[name="event_types"][value="change.*"]`)
	checkPage(t, b, "webhook-form")
	// A bad URL is refused next to the field.
	browsertest.Fill(t, b, "#url", "ftp://nowhere")
	browsertest.Eval[bool](t, b, `(document.querySelector("#url").type = "text", true)`)
	browsertest.Click(t, b, `[data-testid="webhook-form"] button[type="submit"]`)
	browsertest.WaitVisible(t, b, `[data-testid="url-error"]`)
	browsertest.Fill(t, b, "#url", recv.URL+"/hook")
	browsertest.Click(t, b, `[data-testid="webhook-form"] button[type="submit"]`)
	secret := browsertest.WaitText(t, b, `[data-testid="webhook-secret"]`, "whsec_")
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret %q", secret)
	}
	checkPage(t, b, "webhook-secret")
	browsertest.Click(t, b, `[data-testid="webhook-continue"]`)
	browsertest.WaitVisible(t, b, `[data-testid="webhook-name"]`)
	hookURL := browsertest.Location(t, b)
	if strings.Contains(browsertest.HTML(t, b, "main"), secret) {
		t.Error("the webhook page shows the secret again")
	}

	// Alice starts a session in her own browser.
	alice := browsertest.New(t)
	sid := browserStartAsAlice(t, alice, app.URL)

	// The admin sees the deliveries arrive.
	deadline := time.Now().Add(20 * time.Second)
	for {
		browsertest.Navigate(t, b, hookURL)
		if browsertest.Exists(t, b, `[data-testid="delivery-list"]`) &&
			strings.Contains(browsertest.Text(t, b, `[data-testid="delivery-list"]`), "session.started") &&
			strings.Contains(browsertest.Text(t, b, `[data-testid="delivery-list"]`), "delivered") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no delivered session.started on %s:\n%s", hookURL, browsertest.HTML(t, b, "main"))
		}
		time.Sleep(300 * time.Millisecond)
	}
	checkPage(t, b, "webhook-deliveries")
	mu.Lock()
	n := len(received)
	mu.Unlock()
	if n == 0 {
		t.Error("the receiver got nothing")
	}
	// Redeliver the session's start: delivered at its first attempt, it is
	// an entry of a batch row (its id the row's and the event's).
	row := browsertest.Eval[string](t, b, `(() => {
		const row = [...document.querySelectorAll('[data-testid="delivery-list"] tbody tr')]
			.find(r => r.querySelector('[data-testid="event"]').textContent.trim() === "session.started");
		row.querySelector('[data-testid="redeliver"]').click();
		return row.dataset.testid;
	})()`)
	if !strings.HasPrefix(row, "delivery-whb_") || !strings.Contains(row, ".") {
		t.Errorf("the session's start is listed as %q, want an entry of a batch row", row)
	}
	browsertest.WaitVisible(t, b, `[data-testid="flash"]`)
	if loc := browsertest.Location(t, b); !strings.Contains(loc, "done=queued") {
		t.Errorf("after Redeliver: %s", loc)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		mu.Lock()
		seen, twice := map[string]bool{}, false
		for _, id := range received {
			twice = twice || seen[id]
			seen[id] = true
		}
		mu.Unlock()
		if twice {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no webhook-id received twice after Redeliver")
		}
	}
	browsertest.Navigate(t, b, app.URL+"/webhooks")
	browsertest.WaitVisible(t, b, `[data-testid="webhook-list"]`)
	checkPage(t, b, "webhooks")

	// The admin (who may read the change log) finds the session's change
	// history from its page; the endpoint's delete page asks first.
	browsertest.Navigate(t, b, app.URL+"/sessions/"+sid)
	browsertest.WaitVisible(t, b, `[data-testid="change-history"]`)
	checkPage(t, b, "session-admin")
	browsertest.Navigate(t, b, hookURL+"/delete")
	browsertest.WaitVisible(t, b, `button[type="submit"]`)
	if got := browsertest.Text(t, b, "main"); !strings.Contains(got, "Its delivery log is deleted with it") {
		t.Errorf("webhook delete page: %s", got)
	}
	checkPage(t, b, "webhook-delete")
}
