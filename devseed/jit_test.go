package devseed

import (
	"context"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestSeedDevJIT: after the dev seeds (twice), a person with no role may
// request access to echo (at most 1 hour) and the admin may approve it.
func TestSeedDevJIT(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		project, err := infrastructure(ctx, store, admin)
		if err != nil {
			t.Fatal(err)
		}
		for run := 0; run < 2; run++ {
			if err := jit(ctx, store, admin, project); err != nil {
				t.Fatalf("run %d: %v", run, err)
			}
		}
		if _, err := store.CreateUser(ctx, admin, models.GlobalScopeID, models.UserInput{Name: "bob", LoginName: "bob", Password: "bob-password"}); err != nil {
			t.Fatal(err)
		}
		var method string
		store.DB().Raw("SELECT id FROM auth_methods WHERE type = 'password' ORDER BY created_at LIMIT 1").Scan(&method)
		bob := dbtest.Login(t, store, method, "bob", "bob-password")
		page, err := store.ListMyTargets(ctx, bob, models.MyTargetsOptions{})
		if err != nil || len(page.Items) != 1 || page.Items[0].Name != devEchoTarget || !page.Items[0].Actions[models.ActionRequestAccess] {
			t.Fatalf("bob's targets: %+v %v", page.Items, err)
		}
		echo := page.Items[0].ID
		if _, err := store.RequestAccess(ctx, bob, models.RequestAccessInput{TargetID: echo, Duration: "2h", Reason: "try"}); models.FieldErrors(err)["duration"] != "At most 1 hour for echo." {
			t.Fatalf("2 hours: %v", err)
		}
		r, err := store.RequestAccess(ctx, bob, models.RequestAccessInput{TargetID: echo, Duration: "1h", Reason: "try"})
		if err != nil {
			t.Fatal(err)
		}
		if it, err := store.DecideAccessRequest(ctx, admin, r.ID, models.DecideAccessInput{Decision: models.DecisionApprove}); err != nil || it.Grant == nil {
			t.Fatalf("admin approves: %+v %v", it, err)
		}
	})
}
