package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"gatehouse/browsertest"
	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestBrowserSessionHistoryOutlivesItsProject starts a session on the dev
// echo target, deletes the dev project in the browser, and still finds the
// session, with its old names, in Session history and its audit record.
func TestBrowserSessionHistoryOutlivesItsProject(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	app := launch(t, nil, "dev", "--listen", "127.0.0.1:0", "--data-dir", dataDir)

	// A session started through the Store on the app's own database.
	ctx := context.Background()
	db, dialect, err := models.OpenDB(ctx, filepath.Join(dataDir, "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	t.Cleanup(func() { sqlDB.Close() })
	store := models.NewStore(db, dialect, models.Options{})
	var methodID, targetID, projectID string
	for q, dst := range map[string]*string{
		"SELECT id FROM auth_methods WHERE type = 'password' ORDER BY created_at LIMIT 1": &methodID,
		"SELECT id FROM targets WHERE name = 'echo'":                                      &targetID,
		"SELECT id FROM scopes WHERE name = 'Dev project'":                                &projectID,
	} {
		if err := db.Raw(q).Scan(dst).Error; err != nil || *dst == "" {
			t.Fatalf("%s: %v", q, err)
		}
	}
	admin := dbtest.Login(t, store, methodID, "admin", "password")
	started, err := store.StartSession(ctx, admin, models.StartSessionInput{TargetID: targetID, ClientIP: "198.51.100.7", UserAgent: "browser-test"})
	if err != nil {
		t.Fatal(err)
	}
	sid := started.Session.ID

	b := browsertest.New(t)
	browsertest.FailOnConsoleErrors(t, b, "Failed to load resource")
	browsertest.Navigate(t, b, app.URL+"/")
	browsertest.Fill(t, b, "#login_name", "admin")
	browsertest.Fill(t, b, "#password", "password")
	browsertest.Click(t, b, `[data-testid="login-submit"]`)
	browsertest.WaitText(t, b, `[data-testid="current-user"]`, "Administrator")

	// Delete the project in the UI.
	browsertest.Navigate(t, b, app.URL+"/scopes/"+projectID+"/delete")
	browsertest.Click(t, b, `[data-testid="confirm-delete"]`)
	browsertest.WaitText(t, b, `[data-testid="flash"]`, "Deleted.")
	var left int64
	if err := db.Raw("SELECT count(*) FROM scopes WHERE id = ?", projectID).Scan(&left).Error; err != nil || left != 0 {
		t.Fatalf("project still there: %d %v", left, err)
	}

	// Session history still lists it under the old names.
	browsertest.Navigate(t, b, app.URL+"/audit/sessions")
	browsertest.Fill(t, b, "#project", "Dev project")
	browsertest.Click(t, b, `[data-testid="session-filters"] button[type="submit"]`)
	row := `[data-testid="history-row-` + sid + `"]`
	browsertest.WaitVisible(t, b, row)
	// WaitText, not Text: htmx may still be swapping the results as the
	// filter was typed.
	for id, want := range map[string]string{"user": "admin", "target": "echo", "project": "Dev org / Dev project", "client-ip": "198.51.100.7"} {
		if got := browsertest.WaitText(t, b, row+` [data-testid="`+id+`"]`, want); got != want {
			t.Errorf("history %s = %q, want %q", id, got, want)
		}
	}
	if got := browsertest.Text(t, b, row+` [data-testid="state"]`); !strings.Contains(got, "canceled") {
		t.Errorf("state = %q, want terminated / canceled", got)
	}
	// Times are shown absolute and relative.
	if got := browsertest.Text(t, b, row+` time`); !strings.Contains(got, "ago") && !strings.Contains(got, "just now") {
		t.Errorf("relative time = %q", got)
	}

	// And its audit record shows the snapshot and the timeline.
	browsertest.Click(t, b, row+` a`)
	browsertest.WaitText(t, b, `[data-testid="session-id"]`, sid)
	if got := browsertest.Text(t, b, `[data-testid="project"]`); !strings.HasPrefix(got, "Dev org / Dev project") {
		t.Errorf("record project = %q", got)
	}
	if got := browsertest.Text(t, b, `[data-testid="target"]`); !strings.HasPrefix(got, "echo") {
		t.Errorf("record target = %q", got)
	}
	browsertest.WaitVisible(t, b, `[data-testid="state-terminated"]`)
	if got := browsertest.Text(t, b, `[data-testid="state-terminated"]`); !strings.Contains(got, "canceled") {
		t.Errorf("timeline = %q", got)
	}
}
