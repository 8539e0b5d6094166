package models_test

import (
	"context"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestSnapshotKeepsTheGroupsThatCounted: carol is in two groups; only dba
// holds a role allowing authorize-session on the target (web holds one
// that only reads targets). The session's snapshot names dba, and the
// role that allowed it, and not web.
func TestSnapshotKeepsTheGroupsThatCounted(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			f := newSessionFixture(t, d, models.SessionOptions{})
			ctx := context.Background()
			_, err := f.store.CreateUser(ctx, f.admin, models.GlobalScopeID, models.UserInput{Name: "carol", LoginName: "carol", Password: "carol-password"})
			mustNil(t, err)
			var carolID string
			mustNil(t, f.store.DB().Raw("SELECT id FROM users WHERE name = 'carol'").Scan(&carolID).Error)
			dba, err := f.store.CreateGroup(ctx, f.admin, models.GlobalScopeID, models.GroupInput{Name: "dba"})
			mustNil(t, err)
			web, err := f.store.CreateGroup(ctx, f.admin, models.GlobalScopeID, models.GroupInput{Name: "web"})
			mustNil(t, err)
			for _, g := range []string{dba.ID, web.ID} {
				mustNil(t, f.store.AddGroupMembers(ctx, f.admin, g, []string{carolID}))
			}
			grantRole(t, f.store, f.admin, f.project, []string{"ids=*;type=target;actions=read,authorize-session"}, dba.ID)
			grantRole(t, f.store, f.admin, f.project, []string{"ids=*;type=target;actions=read"}, web.ID)
			carol := dbtest.Login(t, f.store, f.methodID, "carol", "carol-password")
			started, err := f.store.StartSession(ctx, carol, models.StartSessionInput{TargetID: f.target, ClientIP: "192.0.2.3"})
			mustNil(t, err)
			rec, err := f.store.GetHistorySession(ctx, f.admin, started.Session.ID)
			mustNil(t, err)
			s := rec.Session
			if len(s.Groups) != 1 || s.Groups[0] != (models.NamedRef{ID: dba.ID, Name: "dba"}) || len(s.ManagedGroups) != 0 {
				t.Fatalf("snapshot groups %+v, managed groups %+v; want only dba", s.Groups, s.ManagedGroups)
			}
			if len(s.Grants) != 1 || s.Grants[0].Grant != "ids=*;type=target;actions=authorize-session,read" {
				t.Fatalf("snapshot grants %+v", s.Grants)
			}
			// alice holds the role herself: no group counted.
			rec, err = f.store.GetHistorySession(ctx, f.admin, f.start(t).Session.ID)
			mustNil(t, err)
			if len(rec.Session.Groups) != 0 || len(rec.Session.ManagedGroups) != 0 || len(rec.Session.Grants) != 1 {
				t.Fatalf("alice's snapshot: %+v %+v %+v", rec.Session.Groups, rec.Session.ManagedGroups, rec.Session.Grants)
			}
		})
	}
}
