package main

import (
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gatehouse/browsertest"
	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestBrowserCredentialLibraries: an admin creates a Postgres library
// (bad values first: each message shows next to its field), tests its
// connection, creates an SSH certificate library, and attaches both to a
// target. alice starts a session and sees her role, password and
// principals, has a pasted public key signed, and cancels; the audit
// record then shows both credentials revoked.
func TestBrowserCredentialLibraries(t *testing.T) {
	pg := dbtest.NewPGTarget(t)
	dbURL := dbtest.NewDatabaseURL(t, models.SQLite)
	env := serveEnv(dbURL)
	env["GATEHOUSE_LOG_FORMAT"] = "text"
	rootKey, _ := base64.StdEncoding.DecodeString(env["GATEHOUSE_ROOT_KEY"])
	seedSessionWorld(t, dbURL, rootKey)
	app := launch(t, env, "serve")
	ctx := browsertest.New(t)
	browsertest.FailOnConsoleErrors(t, ctx, "422 (Unprocessable Entity)", "favicon.ico")

	browsertest.Navigate(t, ctx, app.URL+"/login")
	browsertest.Fill(t, ctx, "#login_name", "admin")
	browsertest.Fill(t, ctx, "#password", "password")
	browsertest.Click(t, ctx, "[data-testid=login-submit]")
	browsertest.WaitVisible(t, ctx, "[data-testid=current-user]")

	// A credential store in project Lab.
	browsertest.Navigate(t, ctx, app.URL+"/scopes")
	browsertest.Click(t, ctx, `a[href^="/scopes/o_"]`)
	browsertest.Click(t, ctx, `a[href^="/scopes/p_"]`)
	browsertest.Click(t, ctx, "[data-testid=tab-credential-stores]")
	browsertest.Click(t, ctx, "[data-testid=new-credential-store]")
	browsertest.Fill(t, ctx, "#name", "Vault")
	browsertest.Click(t, ctx, "[data-testid=save]")
	browsertest.WaitText(t, ctx, "[data-testid=credential-store-name]", "Vault")
	browsertest.WaitVisible(t, ctx, "[data-testid=no-libraries]")
	checkPage(t, ctx, "store")

	// Postgres library: bad values, then good ones.
	browsertest.Click(t, ctx, "[data-testid=new-postgres-library]")
	browsertest.Fill(t, ctx, "#name", "Reporting role")
	browsertest.Fill(t, ctx, "#url", "postgres://postgres:secret@127.0.0.1/x")
	browsertest.Fill(t, ctx, "#username_template", "gh-{{.User.Name}}")
	browsertest.Fill(t, ctx, "#grant_roles", "readers; drop")
	browsertest.Click(t, ctx, "[data-testid=save]")
	browsertest.WaitText(t, ctx, "[data-testid=url-error]", "not in the URL")
	browsertest.WaitText(t, ctx, "[data-testid=password-error]", "Password is required")
	browsertest.WaitText(t, ctx, "[data-testid=username_template-error]", "not a safe role name")
	browsertest.WaitText(t, ctx, "[data-testid=grant_roles-error]", "not a role name")
	if v, _ := browsertest.Attr(t, ctx, "#username_template", "aria-invalid"); v != "true" {
		t.Fatal("the template field is not marked invalid")
	}
	if browsertest.Value(t, ctx, "#password") != "" {
		t.Fatal("the password came back to the browser")
	}
	checkPage(t, ctx, "library-form-errors")
	browsertest.Fill(t, ctx, "#url", pg.URL)
	browsertest.Fill(t, ctx, "#password", "unused-trust")
	browsertest.Fill(t, ctx, "#username_template", pg.Prefix+"_{{.User.Name}}_{{.Session.ShortID}}")
	browsertest.Fill(t, ctx, "#grant_roles", pg.GrantRole)
	browsertest.Click(t, ctx, "[data-testid=save]")
	browsertest.WaitText(t, ctx, "[data-testid=library-name]", "Reporting role")
	browsertest.Click(t, ctx, "[data-testid=test-library]")
	browsertest.WaitText(t, ctx, "[data-testid=test-result]", "Connected")
	checkPage(t, ctx, "library-postgres")

	// SSH certificate library.
	browsertest.Click(t, ctx, `a[href^="/credential-stores/"]`)
	browsertest.Click(t, ctx, "[data-testid=new-ssh-library]")
	browsertest.Fill(t, ctx, "#name", "Servers")
	browsertest.Fill(t, ctx, "#principals_template", "{{.User.Name}} root")
	browsertest.Fill(t, ctx, "#clock_skew_seconds", "9999")
	browsertest.Click(t, ctx, "[data-testid=save]")
	browsertest.WaitText(t, ctx, "[data-testid=principals_template-error]", "not a safe principal")
	browsertest.WaitText(t, ctx, "[data-testid=clock_skew_seconds-error]", "0 to 600")
	browsertest.Fill(t, ctx, "#principals_template", "{{.User.Name}}")
	browsertest.Fill(t, ctx, "#clock_skew_seconds", "60")
	browsertest.Click(t, ctx, "[data-testid=save]")
	browsertest.WaitText(t, ctx, "[data-testid=library-name]", "Servers")
	if k := browsertest.Text(t, ctx, "[data-testid=ca-public-key]"); !strings.HasPrefix(k, "ssh-ed25519 ") {
		t.Fatalf("CA key: %q", k)
	}
	browsertest.WaitText(t, ctx, "[data-testid=sshd-lines]", "TrustedUserCAKeys /etc/ssh/gatehouse_clssh_")
	checkPage(t, ctx, "library-ssh")

	// Attach both to the target echo.
	browsertest.Navigate(t, ctx, app.URL+"/targets")
	var targetID string
	must(t, func() error {
		db, _, err := models.OpenDB(context.Background(), dbURL)
		if err != nil {
			return err
		}
		sqlDB, _ := db.DB()
		defer sqlDB.Close()
		return db.Raw("SELECT id FROM targets WHERE name = 'echo'").Scan(&targetID).Error
	}())
	browsertest.Navigate(t, ctx, app.URL+"/targets/"+targetID)
	browsertest.Eval[chromedp.Void](t, ctx, `document.querySelectorAll("#library_ids input[type=checkbox]").forEach(c => c.checked = true)`)
	browsertest.Click(t, ctx, "[data-testid=add-library-sources]")
	browsertest.WaitVisible(t, ctx, "[data-testid=library-source-list]")
	if n := browsertest.Count(t, ctx, "[data-testid^=library-source-row-]"); n != 2 {
		t.Fatalf("%d libraries attached, want 2", n)
	}
	checkPage(t, ctx, "target-libraries")
	browsertest.Click(t, ctx, "[data-testid=logout]")
	browsertest.WaitVisible(t, ctx, "#login_name")

	// alice's session: her role, password and principals.
	id := browserStartAsAlice(t, ctx, app.URL)
	role := browsertest.WaitText(t, ctx, "[data-testid=credentials]", pg.Prefix+"_alice_")
	if !browsertest.Exists(t, ctx, "[data-testid=credential-password]") || !strings.Contains(role, "alice") {
		t.Fatalf("alice's credentials:\n%s", role)
	}
	browsertest.WaitText(t, ctx, "[data-testid=credential-principals]", "alice")
	keyDir := t.TempDir()
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(keyDir, "id")).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	pub, _ := os.ReadFile(filepath.Join(keyDir, "id.pub"))
	browsertest.Fill(t, ctx, "#public_key", "not a key")
	browsertest.Click(t, ctx, "[data-testid=sign-key]")
	browsertest.WaitText(t, ctx, "[data-testid=public_key-error]", "one OpenSSH public key")
	checkPage(t, ctx, "session-key-error")
	browsertest.Fill(t, ctx, "#public_key", strings.TrimSpace(string(pub)))
	browsertest.Click(t, ctx, "[data-testid=sign-key]")
	browsertest.WaitText(t, ctx, "[data-testid=credential-certificate]", "ssh-ed25519-cert-v01@openssh.com")
	checkPage(t, ctx, "session-credentials")
	browsertest.HandleDialogs(t, ctx, true)
	browsertest.Click(t, ctx, "[data-testid=cancel-session]")
	browsertest.WaitText(t, ctx, "[data-testid=state]", "terminated")
	browsertest.Click(t, ctx, "[data-testid=logout]")
	browsertest.WaitVisible(t, ctx, "#login_name")

	// The audit record shows both revoked (the role once the queue ran).
	browsertest.Navigate(t, ctx, app.URL+"/login")
	browsertest.Fill(t, ctx, "#login_name", "admin")
	browsertest.Fill(t, ctx, "#password", "password")
	browsertest.Click(t, ctx, "[data-testid=login-submit]")
	browsertest.WaitVisible(t, ctx, "[data-testid=current-user]")
	deadline := time.Now().Add(20 * time.Second)
	for {
		browsertest.Navigate(t, ctx, app.URL+"/audit/sessions/"+id)
		texts := browsertest.Eval[[]string](t, ctx, `[...document.querySelectorAll("[data-testid^=revoked-]")].map(e => e.textContent.trim())`)
		revoked := 0
		for _, s := range texts {
			if strings.HasPrefix(s, "revoked") {
				revoked++
			}
		}
		if len(texts) == 2 && revoked == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit record revocations: %q", texts)
		}
		time.Sleep(200 * time.Millisecond)
	}
	browsertest.WaitText(t, ctx, "[data-testid=credentials]", "certificate serial")
	if roles := pg.Roles(t); len(roles) != 0 {
		t.Fatalf("roles left: %v", roles)
	}
	checkPage(t, ctx, "audit-record")

	// Retry on a credential revoked meanwhile (the form of an older page):
	// the record says why next to that credential.
	browsertest.Eval[bool](t, ctx, `(() => {
		const cred = document.querySelector("[data-testid^=revoked-]").dataset.testid.slice("revoked-".length);
		const f = document.createElement("form");
		f.method = "post";
		f.action = "/sessions/" + location.pathname.split("/").pop() + "/revocations/" + cred + "/retry";
		document.body.append(f);
		f.submit();
		return true;
	})()`)
	browsertest.WaitVisible(t, ctx, "[data-testid^=retry-error-]")
	checkPage(t, ctx, "audit-record-retry-refused")
}
