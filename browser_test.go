package main

import (
	"path/filepath"
	"strings"
	"testing"

	"gatehouse/browsertest"
)

// TestBrowserAdminCreatesOrgAndProject is the foundation's end-to-end path:
// a person logs in as the dev admin in Chromium, creates an organization and
// a project in it, and sees both.
func TestBrowserAdminCreatesOrgAndProject(t *testing.T) {
	app := launch(t, nil, "dev", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "data"))
	ctx := browsertest.New(t)
	// 401 and 422 answers are expected on the bad-input steps.
	browsertest.FailOnConsoleErrors(t, ctx, "Failed to load resource")

	browsertest.Navigate(t, ctx, app.URL+"/")
	browsertest.WaitVisible(t, ctx, `[data-testid="password-login"]`)
	browsertest.Fill(t, ctx, "#login_name", "admin")
	browsertest.Fill(t, ctx, "#password", "wrong-password")
	browsertest.Click(t, ctx, `[data-testid="login-submit"]`)
	browsertest.WaitText(t, ctx, `[data-testid="form-error"]`, "Wrong login name or password.")

	browsertest.Fill(t, ctx, "#password", "password")
	browsertest.Click(t, ctx, `[data-testid="login-submit"]`)
	browsertest.WaitText(t, ctx, `[data-testid="current-user"]`, "Administrator")

	browsertest.Navigate(t, ctx, app.URL+"/scopes/global")
	browsertest.Click(t, ctx, `[data-testid="new-child"]`)
	browsertest.WaitVisible(t, ctx, `[data-testid="scope-form"]`)
	browsertest.Click(t, ctx, `[data-testid="save"]`)
	browsertest.WaitText(t, ctx, `[data-testid="name-error"]`, "Name is required.")
	browsertest.Fill(t, ctx, "#name", "Acme")
	browsertest.Fill(t, ctx, "#description", "Our company")
	browsertest.Click(t, ctx, `[data-testid="save"]`)
	browsertest.WaitText(t, ctx, `[data-testid="flash"]`, "Created.")
	browsertest.WaitText(t, ctx, `[data-testid="scope-name"]`, "Acme")

	browsertest.Click(t, ctx, `[data-testid="new-child"]`)
	browsertest.Fill(t, ctx, "#name", "Production")
	browsertest.Click(t, ctx, `[data-testid="save"]`)
	browsertest.WaitText(t, ctx, `[data-testid="scope-name"]`, "Production")

	browsertest.Navigate(t, ctx, app.URL+"/scopes/global")
	if got := browsertest.Text(t, ctx, `[data-testid="scope-list"]`); !strings.Contains(got, "Acme") || !strings.Contains(got, "1 project") {
		t.Fatalf("global's list = %q", got)
	}
	browsertest.Click(t, ctx, `[data-testid="scope-list"] a`)
	if got := browsertest.Text(t, ctx, `[data-testid="scope-list"]`); !strings.Contains(got, "Production") {
		t.Fatalf("Acme's list = %q", got)
	}

	browsertest.Click(t, ctx, `[data-testid="logout"]`)
	browsertest.WaitVisible(t, ctx, `[data-testid="password-login"]`)
	browsertest.Navigate(t, ctx, app.URL+"/scopes/global")
	browsertest.WaitVisible(t, ctx, `[data-testid="password-login"]`)
}
