package main

import (
	"strings"
	"testing"

	"gatehouse/browsertest"
)

// TestBrowserAdminDeletePages: every administration resource's "Delete"
// page (users, groups, roles, organizations, auth methods, managed groups:
// one shared page since issue 10) opens from the resource's own page for
// the seeded administrator, names the item, warns, offers Delete and
// Cancel, and passes the page checks at 1280 and 390 px.
func TestBrowserAdminDeletePages(t *testing.T) {
	base, _ := startDev(t, t.TempDir())
	ctx := browsertest.New(t)
	loginThroughDevProvider(t, ctx, base, "admin")
	// The first item of each list that has a page of its own; managed
	// groups are listed on their auth method's page.
	first := func(list, prefix string, text ...string) string {
		t.Helper()
		browsertest.Navigate(t, ctx, base+list)
		browsertest.WaitVisible(t, ctx, "main h1")
		kind := strings.Trim(prefix, "/")
		href := browsertest.Eval[string](t, ctx, `[...document.querySelectorAll('main a[href^="`+prefix+`"]')]
			.filter(a => a.textContent.toLowerCase().includes("`+strings.ToLower(strings.Join(text, ""))+`"))
			.map(a => a.getAttribute('href'))
			.find(h => /^\/`+kind+`\/[a-z]+_[A-Za-z0-9]+$/.test(h)) || ''`)
		if href == "" {
			t.Fatalf("no item link %s… on %s", prefix, list)
		}
		return href
	}
	// dev seeds no group and no user but the ones who logged in: make one
	// of each through their forms.
	browsertest.Navigate(t, ctx, base+"/users/new")
	browsertest.Fill(t, ctx, "#name", "contractor")
	browsertest.Click(t, ctx, "main form button[type=submit]")
	browsertest.WaitText(t, ctx, "[data-testid=user-name]", "contractor")
	browsertest.Navigate(t, ctx, base+"/groups/new")
	browsertest.Fill(t, ctx, "#name", "Contractors")
	browsertest.Click(t, ctx, "[data-testid=group-form] [data-testid=save]")
	browsertest.WaitText(t, ctx, "[data-testid=group-name]", "Contractors")
	method := first("/auth-methods", "/auth-methods/")
	pages := []struct{ name, href string }{
		{"user", first("/users", "/users/", "contractor")},
		{"group", first("/groups", "/groups/")},
		{"role", first("/roles", "/roles/")},
		{"organization", first("/scopes", "/scopes/")},
		{"auth method", method},
		{"managed group", first(method, "/managed-groups/")},
	}
	for _, p := range pages {
		t.Logf("%s: %s/delete", p.name, p.href)
		browsertest.Navigate(t, ctx, base+p.href+"/delete")
		browsertest.WaitVisible(t, ctx, "main [data-testid=confirm-delete]")
		h1 := browsertest.Text(t, ctx, "main h1")
		if h1 == "" {
			t.Fatalf("%s delete page %s has no heading", p.name, p.href)
		}
		if got := browsertest.Eval[string](t, ctx, `document.querySelector('main a[href="`+p.href+`"]')?.textContent.trim() || ''`); got == "" {
			t.Errorf("%s delete page %s: no Cancel link back to the item", p.name, p.href)
		}
		checkPage(t, ctx, "delete "+p.name)
	}

	// The searches of a group's members and of a role's principals cut a
	// search past the limit and say so next to the field (issue 11).
	long := strings.Repeat("x", 300)
	group := first("/groups", "/groups/", "Contractors")
	role := first("/roles", "/roles/")
	for _, p := range []struct{ name, href string }{
		{"group members search too long", group + "?q=" + long},
		{"role principals search too long", role + "/principals?q=" + long},
	} {
		browsertest.Navigate(t, ctx, base+p.href)
		browsertest.WaitVisible(t, ctx, "[data-testid=q-error]")
		if n := browsertest.Eval[int](t, ctx, `document.querySelector('#q').value.length`); n != 200 {
			t.Errorf("%s: the field holds %d characters, want the 200 searched", p.name, n)
		}
		checkPage(t, ctx, p.name)
	}
	// A search that finds nobody says so instead of an empty picker.
	browsertest.Navigate(t, ctx, base+group+"?q="+long)
	browsertest.WaitText(t, ctx, "[data-testid=no-users]", "No user matches this search.")
}
