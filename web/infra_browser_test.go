package web_test

import (
	"context"
	"strings"
	"testing"

	"gatehouse/browsertest"
	"gatehouse/models"
)

// TestBrowserAdminCreatesTargetSeenOnMyTargets drives Chromium: the admin
// creates a host catalog, a host and a target through the pages, then finds
// the target on My targets.
func TestBrowserAdminCreatesTargetSeenOnMyTargets(t *testing.T) {
	a := newApp(t)
	ctx := context.Background()
	org, err := a.store.CreateScope(ctx, a.admin, models.GlobalScopeID, models.ScopeInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := a.store.CreateScope(ctx, a.admin, org.ID, models.ScopeInput{Name: "Prod"})

	b := browsertest.New(t)
	// The refused forms answer 422 on purpose.
	browsertest.FailOnConsoleErrors(t, b, "422 (Unprocessable Entity)")
	browsertest.Navigate(t, b, a.srv.URL+"/login")
	browsertest.Fill(t, b, "#login_name", "admin")
	browsertest.Fill(t, b, "#password", "password")
	browsertest.Click(t, b, "[data-testid=login-submit]")
	browsertest.WaitVisible(t, b, "[data-testid=current-user]")

	browsertest.Navigate(t, b, a.srv.URL+"/scopes/"+p.ID)
	browsertest.Click(t, b, "[data-testid=tab-host-catalogs]")
	browsertest.Click(t, b, "[data-testid=new-host-catalog]")
	browsertest.Fill(t, b, "#name", "Lab")
	browsertest.Click(t, b, "[data-testid=save]")
	browsertest.WaitText(t, b, "[data-testid=host-catalog-name]", "Lab")

	browsertest.Click(t, b, "[data-testid=new-host]")
	browsertest.Fill(t, b, "#name", "web1")
	browsertest.Fill(t, b, "#address", "web1 .lab")
	browsertest.Click(t, b, "[data-testid=save]")
	browsertest.WaitText(t, b, "[data-testid=address-error]", "Address must be a host name")
	browsertest.Fill(t, b, "#address", "10.1.2.3")
	browsertest.Click(t, b, "[data-testid=save]")
	browsertest.WaitText(t, b, "[data-testid=host-address]", "10.1.2.3")

	browsertest.Navigate(t, b, a.srv.URL+"/scopes/"+p.ID+"/targets")
	browsertest.Click(t, b, "[data-testid=new-target]")
	browsertest.Fill(t, b, "#name", "lab-ssh")
	browsertest.Fill(t, b, "#default_port", "0")
	browsertest.Fill(t, b, "#address", "10.1.2.3")
	browsertest.Click(t, b, "[data-testid=save]")
	browsertest.WaitText(t, b, "[data-testid=default_port-error]", "between 1 and 65535")
	browsertest.Fill(t, b, "#default_port", "22")
	browsertest.Click(t, b, "[data-testid=save]")
	browsertest.WaitText(t, b, "[data-testid=target-port]", "22")

	browsertest.Click(t, b, `.nav-links a[href="/targets"]`)
	browsertest.WaitVisible(t, b, "[data-testid=my-target-list]")
	if n := browsertest.Count(t, b, "[data-testid^=my-target-row-]"); n != 1 {
		t.Fatalf("My targets shows %d rows, want 1", n)
	}
	for sel, want := range map[string]string{"col-name": "lab-ssh", "col-project": "Acme / Prod", "col-address": "10.1.2.3",
		"col-port": "22", "col-max": "8 hours", "col-limit": "Unlimited", "col-credentials": "—"} {
		if got := browsertest.Text(t, b, "[data-testid^=my-target-row-] [data-testid="+sel+"]"); strings.TrimSpace(got) != want {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}
}
