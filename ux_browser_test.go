package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gatehouse/browsertest"
)

// Page checks shared by the journeys (issue 13): every page a journey
// visits is looked at in Chromium at 1280 and 390 px: no sideways scroll
// and no serious or critical axe-core violation at either width. With
// GATEHOUSE_SCREENSHOTS=<dir> each check also writes a screenshot per width
// there (for people to look at; the tests never compare pixels).

// uxWidths are the widths every journey page is checked at.
var uxWidths = []int64{1280, 390}

// checkPage checks the current page at every width and returns to 1280.
func checkPage(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	for _, w := range uxWidths {
		browsertest.SetViewport(t, ctx, w, 900)
		what := name + " @" + itoa64(w)
		browsertest.AssertNoOverflow(t, ctx, what)
		browsertest.AssertAccessible(t, ctx, what)
		if dir := os.Getenv("GATEHOUSE_SCREENSHOTS"); dir != "" {
			browsertest.Screenshot(t, ctx, filepath.Join(dir, t.Name(), slug(name)+"-"+itoa64(w)+".png"))
		}
	}
	browsertest.SetViewport(t, ctx, 1280, 900)
}

func itoa64(n int64) string {
	return strings.TrimSpace(strings.Repeat(" ", 0) + func() string { return fmtInt(n) }())
}

func fmtInt(n int64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

func slug(s string) string {
	return strings.Trim(nonWord.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

// visit navigates to base+path, waits for sel and checks the page.
func visit(t *testing.T, ctx context.Context, base, path, sel, name string) {
	t.Helper()
	browsertest.Navigate(t, ctx, base+path)
	browsertest.WaitVisible(t, ctx, sel)
	checkPage(t, ctx, name)
}

// TestJourneyEndUser: alice (the SRE group) lands on Home, sees her
// targets with Start session, starts one on echo, copies the command and
// token, looks at echo's page and My targets, ends the session from Home
// (a confirmation naming the target), and the session page replaces the
// token card with "Session ended" live.
func TestJourneyEndUser(t *testing.T) {
	base, _ := startDev(t, t.TempDir())
	ctx := browsertest.New(t)
	browsertest.FailOnConsoleErrors(t, ctx)
	dialogs := browsertest.HandleDialogs(t, ctx, true)
	loginThroughDevProvider(t, ctx, base, "alice")

	browsertest.Navigate(t, ctx, base+"/")
	browsertest.WaitText(t, ctx, "[data-testid=home-targets]", "echo")
	browsertest.WaitVisible(t, ctx, "[data-testid=no-live-sessions]")
	checkPage(t, ctx, "home")

	browsertest.Click(t, ctx, `[data-testid=home-targets] li:first-child [data-testid=start-session]`)
	browsertest.WaitVisible(t, ctx, "[data-testid=session-token]")
	checkPage(t, ctx, "session started")
	browsertest.Click(t, ctx, "[data-testid=copy-connect-command]")
	browsertest.WaitText(t, ctx, "[data-testid=copy-connect-command]", "Copied")
	sessionURL := browsertest.Location(t, ctx)

	browsertest.Navigate(t, ctx, base+"/targets")
	browsertest.WaitVisible(t, ctx, "[data-testid=my-target-list]")
	checkPage(t, ctx, "my targets")
	browsertest.Click(t, ctx, `[data-testid=my-target-list] [data-testid=col-name] a`)
	browsertest.WaitVisible(t, ctx, "[data-testid=target-name]")
	checkPage(t, ctx, "target for an end user")

	visit(t, ctx, base, "/sessions", "[data-testid=session-list]", "my sessions")

	browsertest.Navigate(t, ctx, base+"/")
	browsertest.WaitVisible(t, ctx, "[data-testid=live-session-list]")
	checkPage(t, ctx, "home with a session")
	browsertest.Click(t, ctx, "[data-testid=live-session-list] [data-testid=cancel-session]")
	browsertest.WaitVisible(t, ctx, "[data-testid=no-live-sessions]")
	if msgs := dialogs.Messages(); len(msgs) != 1 || !strings.Contains(msgs[0], "End the session on echo?") {
		t.Errorf("confirmation = %q", msgs)
	}

	browsertest.Navigate(t, ctx, sessionURL)
	browsertest.WaitVisible(t, ctx, "[data-testid=session-ended]")
	if browsertest.Exists(t, ctx, "[data-testid=how-to-connect]") || browsertest.Exists(t, ctx, "[data-testid=countdown]") {
		t.Error("an ended session still shows the connect card or a countdown")
	}
	checkPage(t, ctx, "session ended")
	visit(t, ctx, base, "/explain", "h1", "why cant i")
	visit(t, ctx, base, "/account", "h1", "account")
}
