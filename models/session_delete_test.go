package models_test

import (
	"context"
	"testing"

	"gatehouse/models"
	"gatehouse/models/acl"
)

// TestDeletionCancelsSessions deletes each of the twelve associated
// resources: every live session using it is canceled (terminated when idle,
// canceling with a live connection), its record and history are kept, and
// sessions that do not use it are untouched.
func TestDeletionCancelsSessions(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		del    func(f *sessionFixture) error
		spares bool // the direct-address target's session does not use it
	}{
		{"host", func(f *sessionFixture) error { return f.store.DeleteHost(ctx, f.admin, f.host1) }, true},
		{"host set", func(f *sessionFixture) error { return f.store.DeleteHostSet(ctx, f.admin, f.set) }, true},
		{"host catalog", func(f *sessionFixture) error { return f.store.DeleteHostCatalog(ctx, f.admin, f.catalog) }, true},
		{"credential", func(f *sessionFixture) error { return f.store.DeleteCredential(ctx, f.admin, f.cred) }, true},
		{"credential library", func(f *sessionFixture) error {
			// Credential libraries have no Delete use case yet (dynamic
			// libraries arrive later): call the sessions hook such a
			// Delete runs in its transaction, as it will.
			return f.store.Transact(ctx, func(tx *models.Store) error {
				_, err := tx.CancelSessionsOf(ctx, acl.Resource{Type: "credential-library", ID: "clvlt_lib1"})
				return err
			})
		}, true},
		{"credential store", func(f *sessionFixture) error { return f.store.DeleteCredentialStore(ctx, f.admin, f.credStore) }, true},
		{"target", func(f *sessionFixture) error { return f.store.DeleteTarget(ctx, f.admin, f.target) }, true},
		{"project", func(f *sessionFixture) error { return f.store.DeleteScope(ctx, f.admin, f.project) }, false},
		{"org", func(f *sessionFixture) error { return f.store.DeleteScope(ctx, f.admin, f.org) }, false},
		{"user", func(f *sessionFixture) error { return f.store.DeleteUser(ctx, f.admin, f.alice.UserID) }, false},
		{"account", func(f *sessionFixture) error { return f.store.DeleteAccount(ctx, f.admin, f.alice.AccountID) }, false},
		// DeleteAuthMethod deletes OIDC methods (password methods are not
		// deleted): alice starts her sessions logged in through one.
		{"auth method", func(f *sessionFixture) error { return f.store.DeleteAuthMethod(ctx, f.admin, f.oidcMethodID) }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
				if c.name == "auth method" {
					f.loginAliceOIDC(t)
				}
				idle := f.start(t)
				live := f.start(t)
				if _, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: live.Token}); err != nil {
					t.Fatal(err)
				}
				other, err := f.store.StartSession(ctx, f.alice, models.StartSessionInput{TargetID: f.direct})
				if err != nil {
					t.Fatal(err)
				}
				// Both sessions of the target use the same host, and a
				// library-issued copy of the credential.
				if err := f.store.DB().Exec("UPDATE sessions SET host_id = ?, host_name = 'db-1' WHERE id IN (?, ?)",
					f.host1, idle.Session.ID, live.Session.ID).Error; err != nil {
					t.Fatal(err)
				}
				if err := f.store.DB().Exec("UPDATE session_credentials SET library_id = 'clvlt_lib1'").Error; err != nil {
					t.Fatal(err)
				}
				f.clock.Add(1)
				if err := c.del(f); err != nil {
					t.Fatalf("delete: %v", err)
				}
				di := f.get(t, idle.Session.ID)
				checkHistory(t, di)
				if di.State != models.StateTerminated || di.ReasonText() != "canceled" || di.TargetName != "postgres" ||
					di.ProjectName != "Databases" || di.UserName != "Alice Liddell" || len(di.History) != 2 || di.Brokered[0].RevokedAt == nil {
					t.Fatalf("idle session: %+v %+v", di.Session, di.Brokered)
				}
				dl := f.get(t, live.Session.ID)
				checkHistory(t, dl)
				if dl.State != models.StateCanceling || dl.TerminationReason != nil || len(dl.History) != 3 {
					t.Fatalf("live session: %+v", dl.Session)
				}
				do := f.get(t, other.Session.ID)
				if c.spares != (do.State == models.StatePending) {
					t.Fatalf("other session: %s (spares=%v)", do.State, c.spares)
				}
				// The sweeper finishes the live one once its connection is gone.
				if err := f.store.DB().Exec("UPDATE session_connections SET closed_at = ?, closed_reason = 'canceled' WHERE session_id = ?",
					f.clock.Now(), live.Session.ID).Error; err != nil {
					t.Fatal(err)
				}
				if err := f.store.DB().Exec("UPDATE sessions SET open_connections = 0 WHERE id = ?", live.Session.ID).Error; err != nil {
					t.Fatal(err)
				}
				r, err := f.store.SweepSessions(ctx)
				if err != nil || r.Canceled != 1 {
					t.Fatalf("sweep: %v %+v", err, r)
				}
				dl = f.get(t, live.Session.ID)
				checkHistory(t, dl)
				if dl.ReasonText() != "canceled" {
					t.Fatalf("live session after sweep: %+v", dl.Session)
				}
			})
		})
	}
}

// TestSourceRemovalCancelsSessions removes a source from a target (or a host
// from a host set): the sessions that used it are canceled, the others not.
func TestSourceRemovalCancelsSessions(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		remove func(f *sessionFixture) error
	}{
		{"host set from target", func(f *sessionFixture) error { return f.store.RemoveTargetHostSource(ctx, f.admin, f.target, f.set) }},
		{"credential from target", func(f *sessionFixture) error {
			return f.store.RemoveTargetCredentialSource(ctx, f.admin, f.target, f.cred)
		}},
		{"host from host set", func(f *sessionFixture) error { return f.store.RemoveHostSetMember(ctx, f.admin, f.set, f.host1) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
				used, err := f.store.StartSession(ctx, f.alice, models.StartSessionInput{TargetID: f.target, HostID: f.host1})
				if err != nil {
					t.Fatal(err)
				}
				other, err := f.store.StartSession(ctx, f.alice, models.StartSessionInput{TargetID: f.direct})
				if err != nil {
					t.Fatal(err)
				}
				if err := c.remove(f); err != nil {
					t.Fatal(err)
				}
				if d := f.get(t, used.Session.ID); d.State != models.StateTerminated || d.ReasonText() != "canceled" {
					t.Fatalf("used: %+v", d.Session)
				}
				if d := f.get(t, other.Session.ID); d.State != models.StatePending {
					t.Fatalf("other: %+v", d.Session)
				}
			})
		})
	}
}
