package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestWarehouseThroughSessions drives the real session use cases and checks
// the warehouse: snapshot, timeline, connection facts adding up to the
// operational totals.
func TestWarehouseThroughSessions(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		started := f.start(t)
		id := started.Session.ID
		f.clock.Add(time.Minute)
		adm, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: started.Token, ClientAddr: "192.0.2.1:40000", UserIP: "192.0.2.1"})
		mustNil(t, err)
		mustNil(t, f.store.ConnectionConnected(ctx, adm.Connection.ID, "127.0.0.1:9201"))
		f.clock.Add(time.Minute)
		mustNil(t, f.store.ConnectionClosed(ctx, adm.Connection.ID, 1200, 34000, "closed by end-user"))
		adm2, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: started.Token, ClientAddr: "192.0.2.1:40001", UserIP: "192.0.2.1"})
		mustNil(t, err)
		mustNil(t, f.store.ConnectionConnected(ctx, adm2.Connection.ID, "127.0.0.1:9201"))
		f.clock.Add(time.Minute)
		_, err = f.store.CancelSession(ctx, f.alice, id)
		mustNil(t, err)
		// The worker closes the canceled session's open connection; the sweep finishes it.
		mustNil(t, f.store.ConnectionClosed(ctx, adm2.Connection.ID, 5, 7, "canceled"))
		_, err = f.store.SweepSessions(ctx)
		mustNil(t, err)

		op := f.get(t, id)
		rec, err := f.store.GetHistorySession(ctx, f.admin, id)
		mustNil(t, err)
		s := rec.Session
		if s.UserID != f.alice.UserID || s.UserName != "alice" || s.UserFullName != "Alice Liddell" || s.UserEmail != "alice@example.com" ||
			s.AuthMethodID != f.methodID || s.AccountID != f.alice.AccountID || s.TargetID != f.target || s.TargetName != "postgres" ||
			s.TargetPort != 5432 || s.TargetSessionMaxSeconds != 3600 || s.TargetConnectionLimit != 2 || s.ConnectionLimit != 2 ||
			s.ProjectID != f.project || s.ProjectName != "Databases" || s.OrgID != f.org || s.OrgName != "Acme" ||
			s.HostSetID != f.set || s.HostSetName != "Primaries" || s.HostCatalogID != f.catalog || s.HostCatalogName != "Datacenter" ||
			s.HostID != op.HostID || s.Endpoint != op.Endpoint || s.ClientIP != "192.0.2.1" || s.UserAgent != "test" ||
			!s.ExpiresAt.Equal(op.ExpiresAt) || !s.CreatedAt.Equal(op.CreatedAt) {
			t.Fatalf("snapshot: %+v\noperational: %+v", s, op.Session)
		}
		if len(s.Credentials) != 1 || s.Credentials[0].ID != f.cred || s.Credentials[0].Name != "pg admin" || s.Credentials[0].StoreID != f.credStore {
			t.Fatalf("credentials: %+v", s.Credentials)
		}
		if op.State != models.StateTerminated || s.State != "terminated" || s.TerminationReason != string(*op.TerminationReason) ||
			!s.TerminatedAt.Equal(*op.EndedAt) {
			t.Fatalf("termination: warehouse %s/%s/%v, operational %s/%v/%v", s.State, s.TerminationReason, s.TerminatedAt, op.State, op.TerminationReason, op.EndedAt)
		}
		// The timeline mirrors the operational history.
		if len(rec.States) != len(op.History) {
			t.Fatalf("timeline %+v vs history %+v", rec.States, op.History)
		}
		for i, h := range op.History {
			if rec.States[i].State != string(h.State) || !rec.States[i].At.Equal(h.At) {
				t.Fatalf("timeline %d: %+v vs %+v", i, rec.States[i], h)
			}
		}
		// Facts add up, and agree with the operational totals.
		var up, down int64
		for _, c := range rec.Connections {
			up, down = up+c.BytesUp, down+c.BytesDown
			if c.ClosedAt == nil || c.ClosedReason == "" || c.ConnectedAt == nil {
				t.Fatalf("connection not closed in the warehouse: %+v", c)
			}
		}
		if len(rec.Connections) != 2 || s.ConnectionCount != 2 || s.BytesUp != up || s.BytesDown != down || up != 1205 || down != 34007 ||
			op.ConnectionCount != s.ConnectionCount || op.BytesUp != s.BytesUp || op.BytesDown != s.BytesDown {
			t.Fatalf("facts: warehouse %d/%d/%d, rows %d/%d/%d, operational %d/%d/%d", s.ConnectionCount, s.BytesUp, s.BytesDown,
				len(rec.Connections), up, down, op.ConnectionCount, op.BytesUp, op.BytesDown)
		}
	})
}

// TestWarehouseSurvivesRenamesAndDeletions renames then deletes each of the
// session's project, org, user and target: the session is canceled and the
// warehouse still shows every name as it was when the session started.
func TestWarehouseSurvivesRenamesAndDeletions(t *testing.T) {
	cases := []struct {
		name         string
		renameDelete func(t *testing.T, f *sessionFixture)
	}{
		{"project", func(t *testing.T, f *sessionFixture) {
			ctx := context.Background()
			_, err := f.store.UpdateScope(ctx, f.admin, f.project, 1, models.ScopeInput{Name: "Renamed project"})
			mustNil(t, err)
			mustNil(t, f.store.DeleteScope(ctx, f.admin, f.project))
		}},
		{"org", func(t *testing.T, f *sessionFixture) {
			ctx := context.Background()
			_, err := f.store.UpdateScope(ctx, f.admin, f.org, 1, models.ScopeInput{Name: "Renamed org"})
			mustNil(t, err)
			mustNil(t, f.store.DeleteScope(ctx, f.admin, f.org))
		}},
		{"user", func(t *testing.T, f *sessionFixture) {
			ctx := context.Background()
			_, err := f.store.UpdateUser(ctx, f.admin, f.alice.UserID, 1, models.UserInput{Name: "mallory", FullName: "M", Email: "m@example.com"})
			mustNil(t, err)
			mustNil(t, f.store.DeleteUser(ctx, f.admin, f.alice.UserID))
		}},
		{"target", func(t *testing.T, f *sessionFixture) {
			ctx := context.Background()
			_, err := f.store.UpdateTarget(ctx, f.admin, f.target, 1, models.TargetInput{Name: "renamed-target", DefaultPort: 5433, SessionMaxSeconds: 60, SessionConnectionLimit: 1})
			mustNil(t, err)
			mustNil(t, f.store.DeleteTarget(ctx, f.admin, f.target))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
				ctx := context.Background()
				id := f.start(t).Session.ID
				f.clock.Add(time.Minute)
				c.renameDelete(t, f)
				rec, err := f.store.GetHistorySession(ctx, f.admin, id)
				mustNil(t, err)
				s := rec.Session
				if s.ProjectName != "Databases" || s.OrgName != "Acme" || s.UserName != "alice" || s.UserEmail != "alice@example.com" ||
					s.TargetName != "postgres" || s.TargetPort != 5432 || s.TargetSessionMaxSeconds != 3600 || s.HostSetName != "Primaries" ||
					len(s.Credentials) != 1 || s.Credentials[0].Name != "pg admin" {
					t.Fatalf("names changed: %+v", s)
				}
				if s.State != "terminated" && s.State != "canceling" {
					t.Fatalf("session not canceled by the deletion: %s", s.State)
				}
				if s.State == "terminated" && s.TerminationReason != "canceled" {
					t.Fatalf("reason %q", s.TerminationReason)
				}
				// And Session history still finds it by its old names.
				page, err := f.store.HistorySessions(ctx, f.admin, models.HistoryPageRequest{Filter: models.HistoryFilter{Project: "Databases", Target: "postgres", User: "alice"}})
				mustNil(t, err)
				if len(page.Rows) != 1 || page.Rows[0].SessionID != id {
					t.Fatalf("history by old names: %+v", page.Rows)
				}
			})
		})
	}
}

// TestRetentionDeletesOperationalRowsOnly checks the retention statement:
// old terminated sessions leave the operational tables, live and recent
// ones stay, and the warehouse keeps everything.
func TestRetentionDeletesOperationalRowsOnly(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		old := f.start(t).Session.ID
		_, err := f.store.CancelSession(ctx, f.alice, old)
		mustNil(t, err)
		f.clock.Add(23 * time.Hour)
		recent := f.start(t).Session.ID
		_, err = f.store.CancelSession(ctx, f.alice, recent)
		mustNil(t, err)
		live := f.start(t).Session.ID
		f.clock.Add(time.Hour + time.Second) // old ended 24h01s ago, recent 1h ago

		n, err := f.store.PurgeTerminatedSessions(ctx, 24*time.Hour)
		mustNil(t, err)
		if n != 1 {
			t.Fatalf("purged %d, want 1", n)
		}
		count := func(q string, args ...any) int64 {
			var c int64
			mustNil(t, f.store.DB().Raw(q, args...).Scan(&c).Error)
			return c
		}
		if count("SELECT count(*) FROM sessions WHERE id = ?", old) != 0 ||
			count("SELECT count(*) FROM session_states WHERE session_id = ?", old) != 0 ||
			count("SELECT count(*) FROM session_credentials WHERE session_id = ?", old) != 0 {
			t.Fatal("old operational rows remain")
		}
		if count("SELECT count(*) FROM sessions WHERE id IN (?, ?)", recent, live) != 2 {
			t.Fatal("recent or live session purged")
		}
		if count("SELECT count(*) FROM warehouse_sessions") != 3 || count("SELECT count(*) FROM warehouse_session_states WHERE session_id = ?", old) != 2 {
			t.Fatal("the warehouse lost rows")
		}
		rec, err := f.store.GetHistorySession(ctx, f.admin, old)
		mustNil(t, err)
		if rec.Session.TerminationReason != "canceled" || rec.Session.TargetName != "postgres" {
			t.Fatalf("warehouse record: %+v", rec.Session)
		}
		// Idempotent, and bad input is refused.
		if n, err := f.store.PurgeTerminatedSessions(ctx, 24*time.Hour); err != nil || n != 0 {
			t.Fatalf("second purge: %d %v", n, err)
		}
		if _, err := f.store.PurgeTerminatedSessions(ctx, 0); err == nil {
			t.Fatal("zero retention accepted")
		}
	})
}

// TestWarehouseKeepsCredentialRevocations: a session's credential is
// revoked at termination and the warehouse records when, in the same
// transaction; after the retention loop purged the operational rows, the
// audit record still shows it.
func TestWarehouseKeepsCredentialRevocations(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		started := f.start(t)
		id := started.Session.ID
		rec, err := f.store.GetHistorySession(ctx, f.admin, id)
		mustNil(t, err)
		if len(rec.Revocations) != 0 || rec.RevokedAt(rec.Session.Credentials[0]) != nil {
			t.Fatalf("revoked before termination: %+v", rec.Revocations)
		}
		f.clock.Add(time.Minute)
		_, err = f.store.CancelSession(ctx, f.alice, id)
		mustNil(t, err)
		revoked := f.get(t, id).Brokered[0].RevokedAt
		if revoked == nil || !revoked.Equal(f.clock.Now()) {
			t.Fatalf("operational revocation %v", revoked)
		}
		f.clock.Add(25 * time.Hour)
		n, err := f.store.PurgeTerminatedSessions(ctx, 24*time.Hour)
		mustNil(t, err)
		var left int64
		mustNil(t, f.store.DB().Raw("SELECT count(*) FROM session_credentials WHERE session_id = ?", id).Scan(&left).Error)
		if n != 1 || left != 0 {
			t.Fatalf("purged %d sessions, %d credential rows left", n, left)
		}
		rec, err = f.store.GetHistorySession(ctx, f.admin, id)
		mustNil(t, err)
		c := rec.Session.Credentials[0]
		if at := rec.RevokedAt(c); len(rec.Revocations) != 1 || at == nil || !at.Equal(*revoked) ||
			rec.Revocations[0].CredentialID != f.cred || rec.Revocations[0].Purpose != c.Purpose {
			t.Fatalf("warehouse revocations after the purge: %+v", rec.Revocations)
		}
	})
}

// TestHistoryForGrantedAuditor: a user granted type=session;actions=read-history
// on an org's descendants reads that history (list, record, export, charts);
// a user with only session read does not.
func TestHistoryForGrantedAuditor(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		id := f.start(t).Session.ID
		actor := func(name string, grant string) models.Actor {
			t.Helper()
			u, err := f.store.CreateUser(ctx, f.admin, models.GlobalScopeID, models.UserInput{Name: name, LoginName: name, Password: name + "-password"})
			mustNil(t, err)
			r, err := f.store.CreateRole(ctx, f.admin, f.org, models.RoleInput{Name: name + " role"})
			mustNil(t, err)
			mustNil(t, f.store.SetRoleGrants(ctx, f.admin, r.ID, r.Version, []string{grant}))
			mustNil(t, f.store.SetRoleGrantScopes(ctx, f.admin, r.ID, r.Version+1, []string{"descendants"}))
			mustNil(t, f.store.AddRolePrincipals(ctx, f.admin, r.ID, []string{u.ID}))
			return dbtest.Login(t, f.store, f.methodID, name, name+"-password")
		}
		auditor := actor("auditor", "ids=*;type=session;actions=read-history")
		reader := actor("reader", "ids=*;type=session;actions=read")

		page, err := f.store.HistorySessions(ctx, auditor, models.HistoryPageRequest{})
		mustNil(t, err)
		if len(page.Rows) != 1 || page.Rows[0].SessionID != id {
			t.Fatalf("auditor's history: %+v", page.Rows)
		}
		if _, err := f.store.GetHistorySession(ctx, auditor, id); err != nil {
			t.Fatalf("auditor's record: %v", err)
		}
		n := 0
		mustNil(t, f.store.ExportHistory(ctx, auditor, models.HistoryFilter{}, func(*models.HistoryRow) error { n++; return nil }))
		st, err := f.store.HistoryStats(ctx, auditor, models.HistoryFilter{})
		mustNil(t, err)
		if n != 1 || len(st.TopTargets) != 1 {
			t.Fatalf("auditor's export %d, stats %+v", n, st.TopTargets)
		}

		page, err = f.store.HistorySessions(ctx, reader, models.HistoryPageRequest{})
		mustNil(t, err)
		if len(page.Rows) != 0 {
			t.Fatalf("reader sees history: %+v", page.Rows)
		}
		if _, err := f.store.GetHistorySession(ctx, reader, id); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("reader's record: %v", err)
		}
	})
}
