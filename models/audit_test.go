package models_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/models"
	"gatehouse/models/acl"
)

var whT0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// whSnapshot is a complete snapshot; every field is set so tests can check
// each one survives.
func whSnapshot(id string, created time.Time) *models.SessionSnapshot {
	return &models.SessionSnapshot{
		SessionID: id, CreatedAt: created, ExpiresAt: created.Add(8 * time.Hour), ConnectionLimit: 3,
		UserID: "u_alice", UserName: "alice", UserFullName: "Alice Liddell", UserEmail: "alice@example.com",
		AccountID: "acctpw_alice", AuthMethodID: "ampw_main", AuthMethodName: "Passwords", AuthMethodType: "password",
		Groups:        []models.NamedRef{{ID: "g_ops", Name: "ops"}},
		ManagedGroups: []models.NamedRef{{ID: "mgoidc_eng", Name: "engineers"}},
		Grants:        []acl.GrantMatch{{RoleID: "r_dev", RoleName: "developers", RoleScopeID: "o_acme", GrantScope: "descendants", Grant: "ids=*;type=target;actions=authorize-session"}},
		TargetID:      "ttcp_db", TargetName: "prod-db", TargetType: "tcp", TargetDescription: "the database",
		TargetPort: 5432, TargetSessionMaxSeconds: 28800, TargetConnectionLimit: 3,
		HostID: "hst_db1", HostName: "db1", HostAddress: "10.0.0.5", HostSetID: "hsst_dbs", HostSetName: "databases",
		HostCatalogID: "hcst_dc", HostCatalogName: "datacenter", Endpoint: "10.0.0.5:5432",
		ProjectID: "p_infra", ProjectName: "Infrastructure", OrgID: "o_acme", OrgName: "Acme",
		Credentials: []models.CredentialRef{{ID: "credup_pg", Name: "pg admin", Type: "username_password", Purpose: "brokered", StoreID: "csst_vault", StoreName: "static"}},
		ClientIP:    "203.0.113.7", UserAgent: "Mozilla/5.0 test",
	}
}

func ptr(t time.Time) *time.Time { return &t }

func TestWarehouseRecordsSessionLifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		snap := whSnapshot("s_life", whT0)
		mustNil(t, store.WarehouseSessionCreated(ctx, snap))
		mustNil(t, store.WarehouseSessionsState(ctx, []string{"s_life"}, "active", "", whT0.Add(time.Minute)))
		// Connection 1: authorized, connected, bytes twice, closed.
		c1 := &models.WarehouseConnection{ConnectionID: "sc_1", SessionID: "s_life", UserIP: "203.0.113.7", AuthorizedAt: whT0.Add(time.Minute)}
		mustNil(t, store.WarehouseConnection(ctx, c1))
		c1.ClientAddr, c1.EndpointAddr, c1.ConnectedAt = "203.0.113.7:50000", "10.0.0.5:5432", ptr(whT0.Add(61*time.Second))
		mustNil(t, store.WarehouseConnection(ctx, c1))
		c1.BytesUp, c1.BytesDown = 100, 1000
		mustNil(t, store.WarehouseConnection(ctx, c1))
		c1.BytesUp, c1.BytesDown, c1.ClosedAt, c1.ClosedReason = 150, 4000, ptr(whT0.Add(5*time.Minute)), "closed by end-user"
		mustNil(t, store.WarehouseConnection(ctx, c1))
		mustNil(t, store.WarehouseConnection(ctx, c1)) // repeated: nothing added
		// Connection 2 in one call; a stale smaller byte count never lowers the total.
		c2 := &models.WarehouseConnection{ConnectionID: "sc_2", SessionID: "s_life", ClientAddr: "203.0.113.7:50001", UserIP: "203.0.113.7",
			EndpointAddr: "10.0.0.5:5432", AuthorizedAt: whT0.Add(2 * time.Minute), ConnectedAt: ptr(whT0.Add(2 * time.Minute)), BytesUp: 7, BytesDown: 9}
		mustNil(t, store.WarehouseConnection(ctx, c2))
		c2.BytesUp = 3
		mustNil(t, store.WarehouseConnection(ctx, c2))
		// A connection of an unknown session is ignored.
		mustNil(t, store.WarehouseConnection(ctx, &models.WarehouseConnection{ConnectionID: "sc_x", SessionID: "s_nope", AuthorizedAt: whT0}))
		mustNil(t, store.WarehouseSessionsState(ctx, []string{"s_life", "s_nope"}, "canceling", "", whT0.Add(6*time.Minute)))
		mustNil(t, store.WarehouseSessionsState(ctx, []string{"s_life"}, "terminated", "canceled", whT0.Add(7*time.Minute)))
		// Repeats and late moves change nothing.
		mustNil(t, store.WarehouseSessionsState(ctx, []string{"s_life"}, "terminated", "timed out", whT0.Add(9*time.Minute)))
		mustNil(t, store.WarehouseSessionsState(ctx, []string{"s_life"}, "active", "", whT0.Add(9*time.Minute)))
		if err := store.WarehouseSessionsState(ctx, []string{"s_life"}, "exploded", "", whT0); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("bad state: %v", err)
		}

		rec, err := store.GetHistorySession(ctx, admin, "s_life")
		mustNil(t, err)
		checkSnapshot(t, &rec.Session, snap)
		s := rec.Session
		if s.State != "terminated" || s.TerminationReason != "canceled" || !s.TerminatedAt.Equal(whT0.Add(7*time.Minute)) ||
			!s.PendingAt.Equal(whT0) || !s.ActiveAt.Equal(whT0.Add(time.Minute)) || !s.CancelingAt.Equal(whT0.Add(6*time.Minute)) {
			t.Fatalf("facts: %+v", s)
		}
		wantStates := []models.HistoryState{
			{SessionID: "s_life", State: "pending", At: whT0},
			{SessionID: "s_life", State: "active", At: whT0.Add(time.Minute)},
			{SessionID: "s_life", State: "canceling", At: whT0.Add(6 * time.Minute)},
			{SessionID: "s_life", State: "terminated", Reason: "canceled", At: whT0.Add(7 * time.Minute)},
		}
		for i := range rec.States {
			rec.States[i].At = rec.States[i].At.UTC()
		}
		if !reflect.DeepEqual(rec.States, wantStates) {
			t.Fatalf("timeline:\n got %+v\nwant %+v", rec.States, wantStates)
		}
		if len(rec.Connections) != 2 {
			t.Fatalf("connections: %+v", rec.Connections)
		}
		g1, g2 := rec.Connections[0], rec.Connections[1]
		if g1.ConnectionID != "sc_1" || g1.SessionID != "s_life" || g1.ClientAddr != "203.0.113.7:50000" || g1.UserIP != "203.0.113.7" ||
			g1.EndpointAddr != "10.0.0.5:5432" || !g1.AuthorizedAt.Equal(whT0.Add(time.Minute)) || !g1.ConnectedAt.Equal(whT0.Add(61*time.Second)) ||
			!g1.ClosedAt.Equal(whT0.Add(5*time.Minute)) || g1.BytesUp != 150 || g1.BytesDown != 4000 || g1.ClosedReason != "closed by end-user" {
			t.Fatalf("connection 1: %+v", g1)
		}
		if g2.ConnectionID != "sc_2" || g2.BytesUp != 7 || g2.BytesDown != 9 || g2.ClosedAt != nil || g2.ClosedReason != "" {
			t.Fatalf("connection 2: %+v", g2)
		}
		// Facts add up: the session's totals equal the sums of its connection rows.
		if s.ConnectionCount != 2 || s.BytesUp != g1.BytesUp+g2.BytesUp || s.BytesDown != g1.BytesDown+g2.BytesDown {
			t.Fatalf("totals %d/%d/%d, connections %+v", s.ConnectionCount, s.BytesUp, s.BytesDown, rec.Connections)
		}
		var sums struct{ N, Up, Down int64 }
		mustNil(t, store.DB().Raw(`SELECT count(*) AS n, sum(bytes_up) AS up, sum(bytes_down) AS down FROM warehouse_connections WHERE session_id = 's_life'`).Scan(&sums).Error)
		if sums.N != int64(s.ConnectionCount) || sums.Up != s.BytesUp || sums.Down != s.BytesDown {
			t.Fatalf("sums %+v vs %+v", sums, s)
		}

		// Who may read it.
		if _, err := store.GetHistorySession(ctx, models.Anonymous, "s_life"); !errors.Is(err, models.ErrUnauthenticated) {
			t.Fatalf("anonymous: %v", err)
		}
		if _, err := store.GetHistorySession(ctx, models.Actor{UserID: "u_nobody"}, "s_life"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("non-auditor: %v", err)
		}
		if _, err := store.GetHistorySession(ctx, admin, "s_missing"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("missing: %v", err)
		}
	})
}

func checkSnapshot(t *testing.T, got *models.HistorySession, snap *models.SessionSnapshot) {
	t.Helper()
	g := models.SessionSnapshot{
		SessionID: got.SessionID, CreatedAt: got.CreatedAt.UTC(), ExpiresAt: got.ExpiresAt.UTC(), ConnectionLimit: got.ConnectionLimit,
		UserID: got.UserID, UserName: got.UserName, UserFullName: got.UserFullName, UserEmail: got.UserEmail,
		AccountID: got.AccountID, AuthMethodID: got.AuthMethodID, AuthMethodName: got.AuthMethodName, AuthMethodType: got.AuthMethodType,
		Groups: got.Groups, ManagedGroups: got.ManagedGroups, Grants: got.Grants,
		TargetID: got.TargetID, TargetName: got.TargetName, TargetType: got.TargetType, TargetDescription: got.TargetDescription,
		TargetPort: got.TargetPort, TargetSessionMaxSeconds: got.TargetSessionMaxSeconds, TargetConnectionLimit: got.TargetConnectionLimit,
		HostID: got.HostID, HostName: got.HostName, HostAddress: got.HostAddress, HostSetID: got.HostSetID, HostSetName: got.HostSetName,
		HostCatalogID: got.HostCatalogID, HostCatalogName: got.HostCatalogName, Endpoint: got.Endpoint,
		ProjectID: got.ProjectID, ProjectName: got.ProjectName, OrgID: got.OrgID, OrgName: got.OrgName,
		Credentials: got.Credentials, ClientIP: got.ClientIP, UserAgent: got.UserAgent,
	}
	want := *snap
	want.CreatedAt, want.ExpiresAt = want.CreatedAt.UTC(), want.ExpiresAt.UTC()
	if !reflect.DeepEqual(g, want) {
		t.Fatalf("snapshot:\n got %+v\nwant %+v", g, want)
	}
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestWarehouseRefusesDeleteTruncateAndRewrite(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		mustNil(t, store.WarehouseSessionCreated(ctx, whSnapshot("s_keep", whT0)))
		mustNil(t, store.WarehouseConnection(ctx, &models.WarehouseConnection{ConnectionID: "sc_k", SessionID: "s_keep", AuthorizedAt: whT0}))
		db := store.DB()
		mustNil(t, db.Exec("INSERT INTO warehouse_credential_revocations (session_id, credential_id, purpose, revoked_at) VALUES ('s_keep', 'credup_1', 'brokered', ?)",
			whT0).Error)
		refused := []string{
			"DELETE FROM warehouse_credential_revocations",
			"UPDATE warehouse_credential_revocations SET revoked_at = ?",
			"DELETE FROM warehouse_connections",
			"DELETE FROM warehouse_session_states",
			"DELETE FROM warehouse_sessions",
			"DELETE FROM warehouse_sessions WHERE session_id = 's_keep'",
			"UPDATE warehouse_sessions SET user_name = 'mallory'",
			"UPDATE warehouse_sessions SET project_name = 'renamed'",
			"UPDATE warehouse_sessions SET grants_json = '[]'",
			"UPDATE warehouse_sessions SET pending_at = expires_at",
			"UPDATE warehouse_session_states SET reason = 'x'",
			"UPDATE warehouse_connections SET session_id = 's_other'",
		}
		if store.Dialect() == models.Postgres {
			refused = append(refused,
				"TRUNCATE warehouse_sessions CASCADE",
				"TRUNCATE warehouse_session_states",
				"TRUNCATE warehouse_connections",
				"TRUNCATE warehouse_credential_revocations")
		}
		for _, q := range refused {
			var args []any
			if strings.Contains(q, "?") {
				args = append(args, whT0)
			}
			if err := db.Exec(q, args...).Error; err == nil {
				t.Errorf("%s: succeeded, want refused", q)
			}
		}
		// Accumulating facts may move.
		mustNil(t, db.Exec("UPDATE warehouse_sessions SET bytes_up = bytes_up + 1, active_at = created_at, state = 'active'").Error)
		mustNil(t, db.Exec("UPDATE warehouse_connections SET bytes_down = 5, closed_reason = 'x'").Error)
		var n int64
		mustNil(t, db.Raw("SELECT count(*) FROM warehouse_sessions WHERE user_name = 'alice' AND bytes_up = 1").Scan(&n).Error)
		if n != 1 {
			t.Fatalf("snapshot row changed: %d", n)
		}
	})
}

func TestWarehouseStateIsSetBased(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		const n = 2500 // more than one IN chunk
		ids := make([]string, n)
		mustNil(t, store.Transact(ctx, func(tx *models.Store) error {
			for i := range ids {
				ids[i] = fmt.Sprintf("s_bulk%05d", i)
				if err := tx.WarehouseSessionCreated(ctx, whSnapshot(ids[i], whT0)); err != nil {
					return err
				}
			}
			return nil
		}))
		at := whT0.Add(time.Hour)
		mustNil(t, store.WarehouseSessionsState(ctx, ids, "terminated", "timed out", at))
		var got struct{ N, States int64 }
		mustNil(t, store.DB().Raw("SELECT count(*) FROM warehouse_sessions WHERE state = 'terminated' AND termination_reason = 'timed out' AND terminated_at = ?", at).Scan(&got.N).Error)
		mustNil(t, store.DB().Raw("SELECT count(*) FROM warehouse_session_states WHERE state = 'terminated' AND reason = 'timed out'").Scan(&got.States).Error)
		if got.N != n || got.States != n {
			t.Fatalf("terminated %+v, want %d", got, n)
		}
	})
}
