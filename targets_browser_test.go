package main

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"gatehouse/browsertest"
)

// TestBrowserRoleForManagedGroupGivesAliceExactlyHerTarget is issue 4's
// end-to-end path on `gatehouse dev`: the admin, in Chromium, removes the
// seeded "Dev SRE access" role, creates an org and a new project, a host
// catalog with a host, a target, and a role in the project (grant scope
// this; list, read and authorize-session on its targets) held by the dev
// provider's managed group SRE, picked on the principal picker. alice (in
// SRE) then logs in through the dev provider and sees exactly that target
// on My targets, none of the dev targets; bob sees none.
func TestBrowserRoleForManagedGroupGivesAliceExactlyHerTarget(t *testing.T) {
	base, _ := startDev(t, filepath.Join(t.TempDir(), "data"))
	ctx := browsertest.New(t)
	// The refused forms (bad grant, bad port) answer 422 on purpose; the dev
	// provider's pages have no favicon.
	browsertest.FailOnConsoleErrors(t, ctx, "422 (Unprocessable Entity)", "favicon.ico")

	browsertest.Navigate(t, ctx, base+"/login")
	browsertest.Fill(t, ctx, "#login_name", "admin")
	browsertest.Fill(t, ctx, "#password", "password")
	browsertest.Click(t, ctx, "[data-testid=login-submit]")
	browsertest.WaitText(t, ctx, "[data-testid=current-user]", "Administrator")

	// The seeded role goes first, so alice's view is only what this test
	// grants.
	browsertest.Navigate(t, ctx, base+"/roles?q="+url.QueryEscape("Dev SRE access"))
	if n := browsertest.Count(t, ctx, "[data-testid^=role-row-]"); n != 1 {
		t.Fatalf("%d roles named Dev SRE access, want 1", n)
	}
	browsertest.Click(t, ctx, "[data-testid^=role-row-] [data-testid=delete]")
	browsertest.Click(t, ctx, "[data-testid=confirm-delete]")
	browsertest.WaitText(t, ctx, "[data-testid=flash]", "Deleted")
	browsertest.Navigate(t, ctx, base+"/roles?q="+url.QueryEscape("Dev SRE access"))
	browsertest.WaitVisible(t, ctx, "[data-testid=empty]")

	// A new org and project.
	browsertest.Navigate(t, ctx, base+"/scopes/global")
	browsertest.Click(t, ctx, "[data-testid=new-child]")
	browsertest.Fill(t, ctx, "#name", "Lab Org")
	browsertest.Click(t, ctx, "[data-testid=save]")
	browsertest.WaitText(t, ctx, "[data-testid=scope-name]", "Lab Org")
	browsertest.Click(t, ctx, "[data-testid=new-child]")
	browsertest.Fill(t, ctx, "#name", "Lab")
	browsertest.Click(t, ctx, "[data-testid=save]")
	browsertest.WaitText(t, ctx, "[data-testid=scope-name]", "Lab")
	projectID := lastSegment(browsertest.Location(t, ctx))
	if !strings.HasPrefix(projectID, "p_") {
		t.Fatalf("project page at %q", browsertest.Location(t, ctx))
	}

	// A catalog with a host, and a target at the host's address.
	browsertest.Click(t, ctx, "[data-testid=tab-host-catalogs]")
	browsertest.Click(t, ctx, "[data-testid=new-host-catalog]")
	browsertest.Fill(t, ctx, "#name", "Lab catalog")
	browsertest.Click(t, ctx, "[data-testid=save]")
	browsertest.WaitText(t, ctx, "[data-testid=host-catalog-name]", "Lab catalog")
	browsertest.Click(t, ctx, "[data-testid=new-host]")
	browsertest.Fill(t, ctx, "#name", "lab-web-1")
	browsertest.Fill(t, ctx, "#address", "10.7.0.1")
	browsertest.Click(t, ctx, "[data-testid=save]")
	browsertest.WaitText(t, ctx, "[data-testid=host-address]", "10.7.0.1")

	browsertest.Navigate(t, ctx, base+"/scopes/"+projectID+"/targets")
	browsertest.Click(t, ctx, "[data-testid=new-target]")
	browsertest.Fill(t, ctx, "#name", "lab-ssh")
	browsertest.Fill(t, ctx, "#default_port", "70000")
	browsertest.Fill(t, ctx, "#address", "10.7.0.1")
	browsertest.Click(t, ctx, "[data-testid=save]")
	browsertest.WaitText(t, ctx, "[data-testid=default_port-error]", "between 1 and 65535")
	browsertest.Fill(t, ctx, "#default_port", "22")
	browsertest.Click(t, ctx, "[data-testid=save]")
	browsertest.WaitText(t, ctx, "[data-testid=target-name]", "lab-ssh")
	targetID := lastSegment(browsertest.Location(t, ctx))

	// The role, in the project, through the role pages.
	browsertest.Navigate(t, ctx, base+"/roles")
	browsertest.Click(t, ctx, "[data-testid=new-role]")
	browsertest.Select(t, ctx, "#scope_id", projectID)
	browsertest.Fill(t, ctx, "#name", "Lab SSH")
	browsertest.Click(t, ctx, "[data-testid=save]")
	browsertest.WaitText(t, ctx, "[data-testid=role-name]", "Lab SSH")
	if !browsertest.Eval[bool](t, ctx, `document.querySelector('[data-testid="grant-scope-this"]').checked`) ||
		browsertest.Eval[bool](t, ctx, `document.querySelector('[data-testid="grant-scope-children"]').checked`) {
		t.Error("a new role's grant scope is not exactly this")
	}
	browsertest.Fill(t, ctx, "#grants", "ids=*;type=target;actions=list,read,connect")
	browsertest.Click(t, ctx, "[data-testid=save-grants]")
	browsertest.WaitText(t, ctx, "[data-testid=grant-error-1]", "connect")
	browsertest.Fill(t, ctx, "#grants", "ids=*;type=target;actions=list,read,authorize-session")
	browsertest.Click(t, ctx, "[data-testid=save-grants]")
	browsertest.WaitText(t, ctx, "[data-testid=flash]", "Saved")
	if got := browsertest.Value(t, ctx, "#grants"); !strings.Contains(got, "type=target") || !strings.Contains(got, "authorize-session") {
		t.Errorf("saved grants = %q", got)
	}

	browsertest.Click(t, ctx, "[data-testid=add-principals]")
	browsertest.WaitVisible(t, ctx, "[data-testid=principal-picker]")
	// Open the search result directly: typing and submitting races the
	// navigation against the next steps (the unfiltered picker lists SRE too).
	pickerURL := strings.Split(browsertest.Location(t, ctx), "?")[0] + "?q=SRE"
	browsertest.Navigate(t, ctx, pickerURL)
	browsertest.WaitVisible(t, ctx, "[data-testid=principal-picker]")
	if loc := browsertest.Location(t, ctx); !strings.HasSuffix(loc, "?q=SRE") {
		t.Fatalf("picker at %s", loc)
	}
	// The picker offers "anyone" and "any authenticated user" besides the
	// matches: exactly one managed group named SRE.
	sre := browsertest.Eval[[]string](t, ctx, `Array.from(document.querySelectorAll('[data-testid^="candidate-"]'))
		.filter(r => r.cells[1].textContent.trim() === 'SRE' && r.cells[2].textContent.trim() === 'managed group')
		.map(r => r.dataset.testid.slice('candidate-'.length))`)
	if len(sre) != 1 {
		t.Fatalf("managed groups named SRE: %v; picker: %s", sre, browsertest.Text(t, ctx, "[data-testid=principal-picker]"))
	}
	browsertest.Click(t, ctx, "[data-testid=candidate-"+sre[0]+"] input[type=checkbox]")
	browsertest.Click(t, ctx, "[data-testid=add]")
	browsertest.WaitText(t, ctx, "[data-testid=principal-list]", "SRE")
	browsertest.Click(t, ctx, "[data-testid=logout]")
	browsertest.WaitVisible(t, ctx, "[data-testid=password-login]")

	// alice: exactly the new target.
	loginThroughDevProvider(t, ctx, base, "alice")
	browsertest.Navigate(t, ctx, base+"/targets")
	browsertest.WaitVisible(t, ctx, "[data-testid=my-target-list]")
	// Targets she may only request (the dev seeds' echo) do not count.
	if n := browsertest.Eval[int](t, ctx, `[...document.querySelectorAll("[data-testid^=my-target-row-]")].filter(r => !r.innerText.includes("Request access")).length`); n != 1 {
		t.Fatalf("alice sees %d targets, want 1: %s", n, browsertest.Text(t, ctx, "[data-testid=my-target-list]"))
	}
	if !browsertest.Exists(t, ctx, "[data-testid=my-target-row-"+targetID+"]") {
		t.Errorf("alice's row is not target %s", targetID)
	}
	for sel, want := range map[string]string{"col-name": "lab-ssh", "col-project": "Lab Org / Lab", "col-address": "10.7.0.1", "col-port": "22"} {
		if got := browsertest.Text(t, ctx, "[data-testid=my-target-row-"+targetID+"] [data-testid="+sel+"]"); strings.TrimSpace(got) != want {
			t.Errorf("alice's %s = %q, want %q", sel, got, want)
		}
	}
	// Dev project is there too: echo is hers to request (the dev seeds).
	if got := browsertest.Text(t, ctx, "[data-testid=project-filter]"); !strings.Contains(got, "Lab") {
		t.Errorf("alice's project filter = %q", got)
	}
	browsertest.Click(t, ctx, "[data-testid=logout]")
	browsertest.WaitVisible(t, ctx, "[data-testid=password-login]")

	// bob: none to start (echo only to request), and how to get access.
	loginThroughDevProvider(t, ctx, base, "bob")
	browsertest.Navigate(t, ctx, base+"/targets")
	browsertest.WaitVisible(t, ctx, "[data-testid=no-access]")
	if browsertest.Exists(t, ctx, "[data-testid=start-session]") {
		t.Error("bob may start a session")
	}
}

// lastSegment returns the last path segment of a URL, without its query.
func lastSegment(u string) string {
	u, _, _ = strings.Cut(u, "?")
	return u[strings.LastIndex(u, "/")+1:]
}
