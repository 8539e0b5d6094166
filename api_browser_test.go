package main

import (
	"strings"
	"testing"

	"gatehouse/browsertest"
)

// TestBrowserAPIPages: the account page's API tokens (make one, shown once
// with a copy button that copies it), the session page's copy buttons and
// `gatehouse connect` one-liner with the CLI download, and the CLI login
// consent page, at both widths.
func TestBrowserAPIPages(t *testing.T) {
	base, _ := startDev(t, t.TempDir())
	ctx := browsertest.New(t)
	loginThroughDevProvider(t, ctx, base, "alice")

	browsertest.Navigate(t, ctx, base+"/account")
	browsertest.WaitVisible(t, ctx, "[data-testid=no-tokens]")
	checkPage(t, ctx, "account-tokens-empty")
	browsertest.Fill(t, ctx, "#name", "")
	browsertest.Click(t, ctx, "[data-testid=token-form] button[type=submit]")
	browsertest.WaitVisible(t, ctx, "[data-testid=name-error]")
	checkPage(t, ctx, "account-tokens-error")
	browsertest.Fill(t, ctx, "#name", "CI deploy")
	browsertest.Click(t, ctx, "[data-testid=token-form] button[type=submit]")
	tok := browsertest.WaitText(t, ctx, "[data-testid=new-token]", "ghat_")
	if browsertest.Count(t, ctx, "[data-testid=token-list] tbody tr") != 1 {
		t.Error("the new token is not listed")
	}
	checkPage(t, ctx, "account-tokens-created")
	// The copy button puts the token on the clipboard.
	browsertest.Eval[bool](t, ctx, `(() => { window.copied = ""; navigator.clipboard.writeText = (s) => { window.copied = s; return Promise.resolve(); }; return true })()`)
	browsertest.Click(t, ctx, "[data-testid=copy-new-token]")
	browsertest.WaitText(t, ctx, "[data-testid=copy-new-token]", "Copied")
	if got := browsertest.Eval[string](t, ctx, `window.copied`); got != strings.TrimSpace(tok) {
		t.Errorf("copied %q, want the token %q", got, tok)
	}

	browsertest.Navigate(t, ctx, base+"/targets")
	browsertest.Click(t, ctx, `[data-testid="my-target-list"] [data-testid="start-session"]`)
	browsertest.WaitText(t, ctx, `[data-testid="state"]`, "pending")
	if got := browsertest.Text(t, ctx, "[data-testid=cli-connect-command]"); !strings.HasPrefix(got, "gatehouse connect ") {
		t.Errorf("one-liner %q", got)
	}
	if href, _ := browsertest.Attr(t, ctx, "[data-testid=cli-download]", "href"); href != "/download/gatehouse" {
		t.Errorf("download link %q", href)
	}
	if !browsertest.Exists(t, ctx, "[data-testid=copy-connect-command]") || !browsertest.Exists(t, ctx, "[data-testid=copy-cli-connect-command]") {
		t.Error("copy buttons missing on the session page")
	}
	checkPage(t, ctx, "session-cli-hint")

	login := start(t, map[string]string{"GATEHOUSE_CONFIG_DIR": t.TempDir(), "BROWSER": "none"}, "login", "--addr", base)
	browsertest.Navigate(t, ctx, login.waitFor(t, loginURLPattern)[1])
	browsertest.WaitVisible(t, ctx, "[data-testid=cli-allow]")
	checkPage(t, ctx, "cli-login")
	browsertest.Click(t, ctx, "[data-testid=cli-deny]")
	browsertest.WaitText(t, ctx, "#result", "Login canceled")
	if err := login.wait(t, 30e9); err == nil {
		t.Error("a canceled CLI login succeeded")
	}
}
