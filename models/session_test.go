package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
)

func TestStartSession(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		now := f.clock.Now()
		started := f.start(t)
		s := started.Session
		if !strings.HasPrefix(s.ID, "s_") || s.State != models.StatePending || s.TerminationReason != nil {
			t.Fatalf("new session: %+v", s)
		}
		if !s.ExpiresAt.Equal(now.Add(time.Hour)) || s.ConnectionLimit != 2 || s.ConnectionCount != 0 {
			t.Fatalf("expiry/limit: %v %d", s.ExpiresAt, s.ConnectionLimit)
		}
		if s.ProjectID != f.project || s.ProjectName != "Databases" || s.OrgID != f.org || s.OrgName != "Acme" ||
			s.TargetID != f.target || s.TargetName != "postgres" || s.UserID != f.alice.UserID || s.UserName != "Alice Liddell" ||
			s.HostSetID != f.set || s.HostCatalogID != f.catalog || s.AccountID != f.alice.AccountID || s.AuthMethodID != f.methodID ||
			s.ClientIP != "192.0.2.1" {
			t.Fatalf("session fields: %+v", s)
		}
		switch s.HostID {
		case f.host1:
			if s.HostName != "db-1" || s.Endpoint != "10.0.0.1:5432" {
				t.Fatalf("host 1: %+v", s)
			}
		case f.host2:
			if s.HostName != "db-2" || s.Endpoint != "db2.example.com:5432" {
				t.Fatalf("host 2: %+v", s)
			}
		default:
			t.Fatalf("host %q not of the target", s.HostID)
		}
		if len(started.Token) < 40 || s.TokenHash == "" || s.TokenHash == started.Token || strings.Contains(s.TokenHash, started.Token) {
			t.Fatalf("token must be random and stored hashed: %q %q", started.Token, s.TokenHash)
		}
		if len(started.Credentials) != 1 {
			t.Fatalf("credentials: %+v", started.Credentials)
		}
		c := started.Credentials[0]
		if c.ID != f.cred || c.Name != "pg admin" || c.Type != "username_password" || c.Username != "postgres" ||
			c.Password != "s3cret" || c.Purpose != "brokered" || c.StoreID != f.credStore || c.StoreName != "Vault" {
			t.Fatalf("credential: %+v", c)
		}
		d, err := f.store.GetSession(ctx, f.alice, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkHistory(t, d)
		if len(d.History) != 1 || !d.History[0].At.Equal(now) || len(d.Brokered) != 1 || d.Brokered[0].RevokedAt != nil {
			t.Fatalf("detail: %+v", d)
		}
		if len(d.Credentials) != 1 || d.Credentials[0].Password != "s3cret" {
			t.Fatalf("own user must see the secret: %+v", d.Credentials)
		}
		if !d.Actions[models.ActionCancel] || !d.Actions[models.ActionRead] {
			t.Fatalf("actions: %v", d.Actions)
		}
		// Another reader never gets the secrets.
		other, err := f.store.GetSession(ctx, f.admin, s.ID)
		if err != nil || len(other.Credentials) != 0 || len(other.Brokered) != 1 {
			t.Fatalf("admin view: %v %+v", err, other)
		}

		// The requested host is used when it belongs to the target.
		for i := 0; i < 3; i++ {
			r, err := f.store.StartSession(ctx, f.alice, models.StartSessionInput{TargetID: f.target, HostID: f.host2})
			if err != nil || r.Session.HostID != f.host2 || r.Session.Endpoint != "db2.example.com:5432" {
				t.Fatalf("requested host: %v %+v", err, r)
			}
		}
		// A direct-address target has no host and its own defaults.
		r, err := f.store.StartSession(ctx, f.alice, models.StartSessionInput{TargetID: f.direct})
		if err != nil || r.Session.HostID != "" || r.Session.Endpoint != "127.0.0.1:7" || r.Session.ConnectionLimit != -1 ||
			!r.Session.ExpiresAt.Equal(now.Add(8*time.Hour)) || len(r.Credentials) != 0 {
			t.Fatalf("direct target: %v %+v", err, r)
		}
	})
}

func TestStartSessionCappedAtLoginExpiry(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		var loginExpiry time.Time
		if err := f.store.DB().Raw("SELECT expires_at FROM logins WHERE id = ?", f.alice.LoginID).Scan(&loginExpiry).Error; err != nil {
			t.Fatal(err)
		}
		soon := f.clock.Now().Add(10 * time.Minute)
		if err := f.store.DB().Exec("UPDATE logins SET expires_at = ? WHERE id = ?", soon, f.alice.LoginID).Error; err != nil {
			t.Fatal(err)
		}
		s := f.start(t).Session
		if !s.ExpiresAt.Equal(soon) {
			t.Fatalf("expires %v, want the login's end %v", s.ExpiresAt, soon)
		}
	})
}

func TestStartSessionRefusals(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		cases := []struct {
			name  string
			actor models.Actor
			in    models.StartSessionInput
			want  error
			field string
		}{
			{"anonymous", models.Anonymous, models.StartSessionInput{TargetID: f.target}, models.ErrUnauthenticated, ""},
			{"unknown target", f.alice, models.StartSessionInput{TargetID: "ttcp_nope"}, models.ErrNotFound, ""},
			{"no authorize-session", f.bob, models.StartSessionInput{TargetID: f.target}, models.ErrNotFound, ""},
			{"host of another target", f.alice, models.StartSessionInput{TargetID: f.target, HostID: "hst_other"}, models.ErrInvalid, "host"},
			{"host on a direct target", f.alice, models.StartSessionInput{TargetID: f.direct, HostID: f.host1}, models.ErrInvalid, "host"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := f.store.StartSession(ctx, c.actor, c.in)
				if !errors.Is(err, c.want) {
					t.Fatalf("err = %v, want %v", err, c.want)
				}
				if c.field != "" && models.FieldErrors(err)[c.field] == "" {
					t.Fatalf("no message for %s: %v", c.field, err)
				}
			})
		}
		// A target whose host set is empty has nothing to connect to.
		if err := f.store.DB().Exec("DELETE FROM host_set_members").Error; err != nil {
			t.Fatal(err)
		}
		_, err := f.store.StartSession(ctx, f.alice, models.StartSessionInput{TargetID: f.target})
		if models.FieldErrors(err)["target"] == "" {
			t.Fatalf("empty host set: %v", err)
		}
		// A login that is gone (ended elsewhere) starts nothing, on a target
		// it may use and on one that does not exist.
		if err := f.store.DB().Exec("DELETE FROM logins WHERE id = ?", f.alice.LoginID).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.StartSession(ctx, f.alice, models.StartSessionInput{TargetID: f.direct}); !errors.Is(err, models.ErrUnauthenticated) {
			t.Fatalf("start with an ended login: %v, want unauthenticated", err)
		}
		if _, err := f.store.StartSession(ctx, f.alice, models.StartSessionInput{TargetID: "ttcp_nope"}); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("ended login, unknown target: %v, want not found", err)
		}
		var n int64
		f.store.DB().Table("sessions").Count(&n)
		if n != 0 {
			t.Fatalf("refused starts left %d sessions", n)
		}
	})
}

func TestCancelSession(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		// No live connection: straight to terminated, canceled; idempotent.
		s := f.start(t).Session
		f.clock.Add(time.Minute)
		got, err := f.store.CancelSession(ctx, f.alice, s.ID)
		if err != nil || got.State != models.StateTerminated || got.ReasonText() != "canceled" || got.EndedAt == nil ||
			!got.EndedAt.Equal(f.clock.Now()) {
			t.Fatalf("cancel: %v %+v", err, got)
		}
		again, err := f.store.CancelSession(ctx, f.alice, s.ID)
		if err != nil || again.State != models.StateTerminated || again.ReasonText() != "canceled" {
			t.Fatalf("second cancel: %v %+v", err, again)
		}
		d := f.get(t, s.ID)
		checkHistory(t, d)
		if len(d.History) != 2 || d.Brokered[0].RevokedAt == nil || d.Actions[models.ActionCancel] {
			t.Fatalf("after cancel: %+v", d)
		}
		// Others without cancel may not; unknown ids are not found.
		s2 := f.start(t).Session
		if _, err := f.store.CancelSession(ctx, f.bob, s2.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("bob cancel: %v", err)
		}
		if _, err := f.store.CancelSession(ctx, f.alice, "s_nope"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown: %v", err)
		}
		if _, err := f.store.CancelSession(ctx, models.Anonymous, s2.ID); !errors.Is(err, models.ErrUnauthenticated) {
			t.Fatalf("anonymous: %v", err)
		}
		// With a live connection: canceling until it closes, then canceled.
		started := f.start(t)
		adm, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: started.Token, ClientAddr: "127.0.0.1:5000", UserIP: "192.0.2.1"})
		if err != nil || adm.Session.State != models.StateActive || adm.Connection.EndpointAddr != started.Session.Endpoint {
			t.Fatalf("admit: %v %+v", err, adm)
		}
		got, err = f.store.CancelSession(ctx, f.admin, started.Session.ID)
		if err != nil || got.State != models.StateCanceling || got.TerminationReason != nil {
			t.Fatalf("cancel live: %v %+v", err, got)
		}
		if _, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: started.Token}); !errors.Is(err, models.ErrSessionEnded) {
			t.Fatalf("admit on canceling: %v", err)
		}
		if err := f.store.ConnectionClosed(ctx, adm.Connection.ID, 10, 20, "canceled"); err != nil {
			t.Fatal(err)
		}
		d = f.get(t, started.Session.ID)
		checkHistory(t, d)
		if d.State != models.StateTerminated || d.ReasonText() != "canceled" || len(d.History) != 4 || d.BytesUp != 10 || d.BytesDown != 20 ||
			d.OpenConnections != 0 || d.Connections[0].ClosedReason == nil || *d.Connections[0].ClosedReason != "canceled" {
			t.Fatalf("after close: %+v %+v", d.Session, d.Connections)
		}
	})
}

func TestSweepExpiry(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		a := f.start(t).Session
		f.clock.Add(30 * time.Minute)
		b := f.start(t)
		adm, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: b.Token})
		if err != nil {
			t.Fatal(err)
		}
		r, err := f.store.SweepSessions(ctx)
		if err != nil || r != (models.SweepResult{}) {
			t.Fatalf("early sweep: %v %+v", err, r)
		}
		f.clock.Add(30 * time.Minute) // a expires exactly now
		r, err = f.store.SweepSessions(ctx)
		if err != nil || r.TimedOut != 1 {
			t.Fatalf("sweep: %v %+v", err, r)
		}
		da := f.get(t, a.ID)
		checkHistory(t, da)
		if da.ReasonText() != "timed out" || da.Brokered[0].RevokedAt == nil {
			t.Fatalf("a: %+v", da.Session)
		}
		if f.get(t, b.Session.ID).State != models.StateActive {
			t.Fatal("b must live on")
		}
		// An expired session admits nothing even before the sweeper runs.
		f.clock.Add(31 * time.Minute)
		if _, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: b.Token}); !errors.Is(err, models.ErrSessionExpired) {
			t.Fatalf("admit expired: %v", err)
		}
		r, err = f.store.SweepSessions(ctx)
		if err != nil || r.TimedOut != 1 {
			t.Fatalf("sweep b: %v %+v", err, r)
		}
		db := f.get(t, b.Session.ID)
		checkHistory(t, db)
		if db.ReasonText() != "timed out" || db.OpenConnections != 0 || db.Connections[0].ClosedReason == nil ||
			*db.Connections[0].ClosedReason != "timed out" {
			t.Fatalf("b: %+v %+v", db.Session, db.Connections)
		}
		// Its connection closing later changes nothing but the bytes.
		if err := f.store.ConnectionClosed(ctx, adm.Connection.ID, 5, 6, "closed by end-user"); err != nil {
			t.Fatal(err)
		}
		db = f.get(t, b.Session.ID)
		if db.ReasonText() != "timed out" || *db.Connections[0].ClosedReason != "timed out" || db.BytesUp != 5 {
			t.Fatalf("late close: %+v", db.Session)
		}
	})
}

func TestConnectionLimit(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		st := f.start(t) // limit 2
		var conns []string
		for i := 0; i < 2; i++ {
			adm, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: st.Token})
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, adm.Connection.ID)
		}
		if _, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: st.Token}); !errors.Is(err, models.ErrLimitReached) {
			t.Fatalf("third: %v", err)
		}
		if _, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: "bad"}); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("bad token: %v", err)
		}
		if err := f.store.ConnectionConnected(ctx, conns[0], "10.0.0.1:5432"); err != nil {
			t.Fatal(err)
		}
		if sess, err := f.store.SessionByToken(ctx, st.Token); err != nil || sess.ID != st.Session.ID || sess.ConnectionsLeft() != 0 {
			t.Fatalf("by token: %v %+v", err, sess)
		}
		if _, err := f.store.SessionByToken(ctx, "nope"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("by unknown token: %v", err)
		}
		if err := f.store.FlushConnectionsBytes(ctx, []models.ConnectionBytes{{ConnectionID: conns[0], BytesUp: 100, BytesDown: 200}}); err != nil {
			t.Fatal(err)
		}
		d := f.get(t, st.Session.ID)
		if d.BytesUp != 100 || d.BytesDown != 200 {
			t.Fatalf("flushed bytes: %+v", d.Session)
		}
		for _, c := range d.Connections {
			if want := map[bool]int64{true: 100, false: 0}[c.ID == conns[0]]; c.BytesUp != want {
				t.Fatalf("connection %s bytes up %d, want %d", c.ID, c.BytesUp, want)
			}
			if (c.ID == conns[0]) != (c.ConnectedAt != nil) {
				t.Fatalf("connection %s connected at %v", c.ID, c.ConnectedAt)
			}
		}
		if err := f.store.ConnectionClosed(ctx, conns[0], 1, 1, "closed by end-user"); err != nil {
			t.Fatal(err)
		}
		if f.get(t, st.Session.ID).State != models.StateActive {
			t.Fatal("one connection still open: stays active")
		}
		if err := f.store.ConnectionClosed(ctx, conns[1], 1, 1, "closed by end-user"); err != nil {
			t.Fatal(err)
		}
		d = f.get(t, st.Session.ID)
		checkHistory(t, d)
		if d.State != models.StateTerminated || d.ReasonText() != "connection limit" || d.ConnectionCount != 2 || len(d.History) != 3 {
			t.Fatalf("limit: %+v", d.Session)
		}
		if err := f.store.ConnectionClosed(ctx, "sc_nope", 0, 0, "closed by end-user"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown connection: %v", err)
		}
	})
}
