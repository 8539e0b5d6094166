package models_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// accessFixture is the session fixture plus just-in-time access: bob may
// request access to the echo target (f.direct, max 1 hour), carol may
// approve access in the project, the admin may do anything.
type accessFixture struct {
	*sessionFixture
	carol   models.Actor
	retimes chan models.SessionRetime
}

func newAccessFixture(t *testing.T, d models.Dialect) *accessFixture {
	t.Helper()
	ctx := context.Background()
	retimes := make(chan models.SessionRetime, 64)
	f := newSessionFixture(t, d, models.SessionOptions{Retimed: func(rs []models.SessionRetime) {
		for _, r := range rs {
			retimes <- r
		}
	}})
	_, err := f.store.CreateUser(ctx, f.admin, models.GlobalScopeID, models.UserInput{Name: "carol", LoginName: "carol", Password: "carol-password"})
	if err != nil {
		t.Fatal(err)
	}
	var bobID, carolID string
	f.store.DB().Raw("SELECT id FROM users WHERE name = 'bob'").Scan(&bobID)
	f.store.DB().Raw("SELECT id FROM users WHERE name = 'carol'").Scan(&carolID)
	grantRole(t, f.store, f.admin, f.project, []string{"ids=" + f.direct + ";actions=request-access"}, bobID)
	grantRole(t, f.store, f.admin, f.project, []string{"ids=*;type=target;actions=approve-access"}, carolID)
	af := &accessFixture{sessionFixture: f, retimes: retimes}
	af.carol = dbtest.Login(t, f.store, f.methodID, "carol", "carol-password")
	af.bob = dbtest.Login(t, f.store, f.methodID, "bob", "bob-password")
	af.setSettings(t, "1h", "1", "1h", "30m", false)
	return af
}

// fresh is a without its cached roles (as its next request would be).
func fresh(a models.Actor) models.Actor {
	return models.Actor{UserID: a.UserID, LoginID: a.LoginID, AccountID: a.AccountID, Name: a.Name}
}

func (f *accessFixture) setSettings(t *testing.T, max, approvals, ttl, ext string, needsApproval bool) {
	t.Helper()
	ctx := context.Background()
	cur, err := f.store.TargetAccessSettings(ctx, f.admin, f.direct)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.UpdateTargetAccessSettings(ctx, f.admin, f.direct, models.AccessSettingsInput{RequestMax: max,
		ApprovalsRequired: approvals, RequestTTL: ttl, ExtensionMax: ext, ExtensionNeedsApproval: needsApproval, Version: cur.Version}); err != nil {
		t.Fatal(err)
	}
}

func (f *accessFixture) request(t *testing.T, dur string) *models.AccessRequest {
	t.Helper()
	r, err := f.store.RequestAccess(context.Background(), fresh(f.bob), models.RequestAccessInput{TargetID: f.direct, Duration: dur, Reason: "deploy fix"})
	if err != nil {
		t.Fatalf("request access: %v", err)
	}
	return r
}

func (f *accessFixture) approve(t *testing.T, a models.Actor, id string) *models.AccessRequestItem {
	t.Helper()
	it, err := f.store.DecideAccessRequest(context.Background(), fresh(a), id, models.DecideAccessInput{Decision: models.DecisionApprove, Comment: "ok"})
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	return it
}

func (f *accessFixture) startEcho(a models.Actor) (*models.StartedSession, error) {
	return f.store.StartSession(context.Background(), fresh(a), models.StartSessionInput{TargetID: f.direct, ClientIP: "192.0.2.9"})
}

func fieldErr(t *testing.T, err error, field, contains string) {
	t.Helper()
	msg := models.FieldErrors(err)[field]
	if msg == "" || !strings.Contains(msg, contains) {
		t.Fatalf("want a %q message containing %q, got %v", field, contains, err)
	}
}

func kinds(evs []models.AccessEvent) string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Kind)
	}
	return strings.Join(out, ",")
}

// TestAccessGrantFlow: a request, its approval, a session under the grant
// capped at the grant's end, the revocation canceling it with the reason,
// and the warehouse story, on both databases.
func TestAccessGrantFlow(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			f := newAccessFixture(t, d)
			ctx := context.Background()
			if _, err := f.startEcho(f.bob); err == nil {
				t.Fatal("bob started a session without a grant")
			}
			page, err := f.store.ListMyTargets(ctx, fresh(f.bob), models.MyTargetsOptions{})
			if err != nil || len(page.Items) != 1 || page.Items[0].ID != f.direct || page.Items[0].Actions[models.ActionAuthorizeSession] ||
				!page.Items[0].Actions[models.ActionRequestAccess] {
				t.Fatalf("bob's My targets must offer echo to request: %+v %v", page.Items, err)
			}
			if n, err := f.store.CountStartableTargets(ctx, fresh(f.bob)); n != 0 || err != nil {
				t.Fatalf("bob may start sessions on %d targets before a grant (%v)", n, err)
			}
			r := f.request(t, "30m")
			if r.State != models.AccessPending || r.DurationSeconds != 1800 || r.UserName != "bob" {
				t.Fatalf("request: %+v", r)
			}
			if n := f.store.PendingAccessCount(ctx, fresh(f.carol)); n != 1 {
				t.Fatalf("carol's badge: %d", n)
			}
			if n := f.store.PendingAccessCount(ctx, fresh(f.bob)); n != 0 {
				t.Fatalf("bob's badge: %d", n)
			}
			f.clock.Add(time.Minute)
			it := f.approve(t, f.carol, r.ID)
			if it.State != models.AccessApproved || it.Grant == nil || it.Grant.State != models.GrantActive ||
				!it.Grant.EndsAt.Equal(f.clock.Now().Add(30*time.Minute)) {
				t.Fatalf("approved: %+v grant %+v", it.AccessRequest, it.Grant)
			}
			page, _ = f.store.ListMyTargets(ctx, fresh(f.bob), models.MyTargetsOptions{})
			if len(page.Items) != 1 || !page.Items[0].Actions[models.ActionAuthorizeSession] || page.Items[0].AccessUntil == nil {
				t.Fatalf("bob's My targets must show access until: %+v", page.Items)
			}
			if n, err := f.store.CountStartableTargets(ctx, fresh(f.bob)); n != 1 || err != nil {
				t.Fatalf("bob may start sessions on %d targets under the grant (%v)", n, err)
			}
			st, err := f.startEcho(f.bob)
			if err != nil {
				t.Fatal(err)
			}
			if st.Session.AccessGrantID == nil || *st.Session.AccessGrantID != it.Grant.ID || !st.Session.ExpiresAt.Equal(it.Grant.EndsAt) {
				t.Fatalf("session under grant: %+v", st.Session)
			}
			f.clock.Add(time.Minute)
			if _, err := f.store.RevokeAccessGrant(ctx, fresh(f.carol), it.Grant.ID, "incident over"); err != nil {
				t.Fatal(err)
			}
			got := f.get(t, st.Session.ID)
			if got.State != models.StateTerminated || got.ReasonText() != "canceled" || got.AccessNote != "access grant revoked by carol: incident over" {
				t.Fatalf("revoked session: %+v", got.Session)
			}
			if _, err := f.startEcho(f.bob); err == nil {
				t.Fatal("bob started a session after the revocation")
			}
			if _, err := f.store.RevokeAccessGrant(ctx, fresh(f.carol), it.Grant.ID, ""); err == nil {
				t.Fatal("revoked twice")
			} else {
				fieldErr(t, err, "grant", "already ended")
			}
			evs, err := f.store.SessionAccessHistory(ctx, st.Session.ID)
			if err != nil || kinds(evs) != "requested,approved,granted,session-started,revoked" {
				t.Fatalf("session's access story: %s %v", kinds(evs), err)
			}
			hist, err := f.store.AccessHistory(ctx, fresh(f.bob), models.AccessHistoryFilter{Target: "echo"})
			if err != nil || len(hist) != 5 {
				t.Fatalf("bob sees his own history: %d %v", len(hist), err)
			}
			if hist, _ := f.store.AccessHistory(ctx, fresh(f.alice), models.AccessHistoryFilter{}); len(hist) != 0 {
				t.Fatalf("alice sees others' access history: %d", len(hist))
			}
			// The warehouse keeps it: no UPDATE, no DELETE.
			if err := f.store.DB().Exec("DELETE FROM warehouse_access_events").Error; err == nil {
				t.Fatal("access history was deleted")
			}
			if err := f.store.DB().Exec("UPDATE warehouse_access_events SET comment = 'x'").Error; err == nil {
				t.Fatal("access history was rewritten")
			}
		})
	}
}

// TestAccessGrantExpiry: a session under a grant times out at the grant's
// end; the grant expires and the session says why.
func TestAccessGrantExpiry(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			f := newAccessFixture(t, d)
			ctx := context.Background()
			it := f.approve(t, f.admin, f.request(t, "10m").ID)
			st, err := f.startEcho(f.bob)
			if err != nil {
				t.Fatal(err)
			}
			f.clock.Add(10 * time.Minute)
			if _, err := f.store.SweepSessions(ctx); err != nil {
				t.Fatal(err)
			}
			got := f.get(t, st.Session.ID)
			if got.ReasonText() != "timed out" || got.AccessNote != "access grant expired" {
				t.Fatalf("session at grant end: %+v", got.Session)
			}
			item, _ := f.store.GetAccessRequest(ctx, fresh(f.bob), it.ID)
			if item.Grant.State != models.GrantExpired {
				t.Fatalf("grant: %+v", item.Grant)
			}
		})
	}
}

// TestAccessRequestRules: bounds with field messages, self-approval,
// two approvals, expiry of undecided requests, withdrawal.
func TestAccessRequestRules(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			f := newAccessFixture(t, d)
			ctx := context.Background()
			req := func(dur, reason, start string) error {
				_, err := f.store.RequestAccess(ctx, fresh(f.bob), models.RequestAccessInput{TargetID: f.direct, Duration: dur, Reason: reason, StartsAt: start})
				return err
			}
			fieldErr(t, req("2h", "x", ""), "duration", "At most 1 hour for echo")
			fieldErr(t, req("soon", "x", ""), "duration", "30m")
			fieldErr(t, req("30s", "x", ""), "duration", "at least 1 minute")
			fieldErr(t, req("30m", "  ", ""), "reason", "required")
			fieldErr(t, req("30m", "x", "yesterday"), "starts_at", "date and time")
			fieldErr(t, req("30m", "x", f.clock.Now().Add(-time.Hour).Format("2006-01-02T15:04")), "starts_at", "in the past")
			if _, err := f.store.RequestAccess(ctx, fresh(f.alice), models.RequestAccessInput{TargetID: f.direct, Duration: "30m", Reason: "x"}); !errors.Is(err, models.ErrForbidden) {
				t.Fatalf("alice may not request: %v", err)
			}
			// A start later than approval: the grant begins then.
			start := f.clock.Now().Add(2 * time.Hour).Truncate(time.Minute)
			if err := req("30m", "later", start.Format("2006-01-02T15:04")); err != nil {
				t.Fatal(err)
			}
			fieldErr(t, req("30m", "again", ""), "target", "already have a pending request")
			lists, err := f.store.ListAccessRequests(ctx, fresh(f.bob))
			if err != nil || len(lists.Mine) != 1 || lists.Approver {
				t.Fatalf("bob's lists: %+v %v", lists, err)
			}
			later := f.approve(t, f.carol, lists.Mine[0].ID)
			if !later.Grant.StartsAt.Equal(start) {
				t.Fatalf("grant starts %v, want %v", later.Grant.StartsAt, start)
			}
			if _, err := f.startEcho(f.bob); err == nil {
				t.Fatal("a grant was in force before its start")
			}

			// Self-approval: the admin requests, then tries to approve.
			own, err := f.store.RequestAccess(ctx, fresh(f.admin), models.RequestAccessInput{TargetID: f.direct, Duration: "5m", Reason: "mine"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.store.DecideAccessRequest(ctx, fresh(f.admin), own.ID, models.DecideAccessInput{Decision: models.DecisionApprove})
			fieldErr(t, err, "decision", "cannot decide your own request")
			// A deny needs a comment.
			_, err = f.store.DecideAccessRequest(ctx, fresh(f.carol), own.ID, models.DecideAccessInput{Decision: models.DecisionDeny})
			fieldErr(t, err, "comment", "required")

			// Two approvals, from two people.
			f.setSettings(t, "1h", "2", "1h", "0", false)
			two := f.request(t, "20m")
			if it := f.approve(t, f.admin, two.ID); it.State != models.AccessPending || it.Approvals != 1 {
				t.Fatalf("after one approval: %+v", it.AccessRequest)
			}
			_, err = f.store.DecideAccessRequest(ctx, fresh(f.admin), two.ID, models.DecideAccessInput{Decision: models.DecisionApprove})
			fieldErr(t, err, "decision", "already approved this request")
			if it := f.approve(t, f.carol, two.ID); it.State != models.AccessApproved || it.Grant == nil {
				t.Fatalf("after two approvals: %+v", it.AccessRequest)
			}

			// Undecided requests expire.
			if err := f.store.CancelAccessRequest(ctx, fresh(f.admin), own.ID); err != nil {
				t.Fatal(err)
			}
			exp := f.request(t, "20m")
			f.clock.Add(time.Hour)
			if _, err := f.store.SweepSessions(ctx); err != nil {
				t.Fatal(err)
			}
			_, err = f.store.DecideAccessRequest(ctx, fresh(f.carol), exp.ID, models.DecideAccessInput{Decision: models.DecisionApprove})
			fieldErr(t, err, "decision", "expired")
			item, _ := f.store.GetAccessRequest(ctx, fresh(f.bob), exp.ID)
			if item.State != models.AccessExpired {
				t.Fatalf("undecided request: %+v", item.AccessRequest)
			}
		})
	}
}

// TestAccessDecideRace: an approval and a denial at once, many times: one
// wins, the other is told clearly; never both.
func TestAccessDecideRace(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			f := newAccessFixture(t, d)
			ctx := context.Background()
			for i := 0; i < 15; i++ {
				r := f.request(t, "5m")
				var wg sync.WaitGroup
				errs := make([]error, 2)
				for j, dec := range []models.DecideAccessInput{{Decision: models.DecisionApprove}, {Decision: models.DecisionDeny, Comment: "no"}} {
					who := []models.Actor{f.admin, f.carol}[j]
					wg.Go(func() { _, errs[j] = f.store.DecideAccessRequest(ctx, fresh(who), r.ID, dec) })
				}
				wg.Wait()
				if (errs[0] == nil) == (errs[1] == nil) {
					t.Fatalf("round %d: approve %v, deny %v: exactly one must win", i, errs[0], errs[1])
				}
				loser := errs[0]
				if loser == nil {
					loser = errs[1]
				}
				if msg := models.FieldErrors(loser)["decision"]; !strings.Contains(msg, "already") && !strings.Contains(msg, "same moment") {
					t.Fatalf("round %d: the loser's message: %v", i, loser)
				}
				item, _ := f.store.GetAccessRequest(ctx, fresh(f.bob), r.ID)
				if len(item.Decisions) != 1 || (item.State == models.AccessApproved) != (item.Grant != nil) {
					t.Fatalf("round %d: %+v decisions %+v", i, item.AccessRequest, item.Decisions)
				}
				if item.Grant != nil {
					if _, err := f.store.RevokeAccessGrant(ctx, fresh(f.admin), item.Grant.ID, ""); err != nil {
						t.Fatal(err)
					}
				}
			}
		})
	}
}

// TestAccessRevokeStartRace: a revocation and a session start at once: the
// start either fails or its session is canceled by the revocation; no live
// session outlives its grant.
func TestAccessRevokeStartRace(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			f := newAccessFixture(t, d)
			ctx := context.Background()
			for i := 0; i < 15; i++ {
				it := f.approve(t, f.carol, f.request(t, "5m").ID)
				bob := fresh(f.bob)
				var wg sync.WaitGroup
				var st *models.StartedSession
				var startErr, revokeErr error
				wg.Go(func() { st, startErr = f.startEcho(bob) })
				wg.Go(func() { _, revokeErr = f.store.RevokeAccessGrant(ctx, fresh(f.carol), it.Grant.ID, "race") })
				wg.Wait()
				if revokeErr != nil {
					t.Fatalf("round %d: revoke: %v", i, revokeErr)
				}
				if startErr == nil {
					if got := f.get(t, st.Session.ID); got.State != models.StateTerminated || got.AccessNote == "" {
						t.Fatalf("round %d: a session outlived its revoked grant: %+v", i, got.Session)
					}
				} else if !errors.Is(startErr, models.ErrForbidden) && !errors.Is(startErr, models.ErrNotFound) {
					t.Fatalf("round %d: start failed unclearly: %v", i, startErr)
				}
			}
		})
	}
}

// TestSessionExtension: extension within the allowance (moving the
// deadline through Retimed and recording from → to), never past the grant,
// with approval when the target says so, and an administrator shortening.
func TestSessionExtension(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			f := newAccessFixture(t, d)
			ctx := context.Background()
			f.approve(t, f.carol, f.request(t, "1h").ID)
			f.store.DB().Exec("UPDATE targets SET session_max_seconds = 600 WHERE id = ?", f.direct)
			st, err := f.startEcho(f.bob)
			if err != nil {
				t.Fatal(err)
			}
			id, exp := st.Session.ID, st.Session.ExpiresAt
			extend := func(by string) (*models.ExtendOutcome, error) {
				return f.store.ExtendSession(ctx, fresh(f.bob), id, models.ExtendSessionInput{By: by, Reason: "more"})
			}
			f.clock.Add(time.Second)
			out, err := extend("15m")
			if err != nil || !out.Session.ExpiresAt.Equal(exp.Add(15*time.Minute)) || out.Session.ExtendedSeconds != 900 {
				t.Fatalf("extend: %+v %v", out, err)
			}
			if r := <-f.retimes; r.SessionID != id || !r.ExpiresAt.Equal(exp.Add(15*time.Minute)) {
				t.Fatalf("retime: %+v", r)
			}
			_, err = extend("20m")
			fieldErr(t, err, "by", "At most 15 minutes more")
			_, err = f.store.ExtendSession(ctx, fresh(f.alice), id, models.ExtendSessionInput{By: "5m"})
			if err == nil {
				t.Fatal("alice extended bob's session")
			}
			// Never past the grant: the session ends at +25m, the grant at +60m.
			f.setSettings(t, "1h", "1", "1h", "2h", false)
			f.store.DB().Exec("UPDATE sessions SET extension_max_seconds = 7200 WHERE id = ?", id)
			_, err = extend("45m")
			fieldErr(t, err, "by", "access grant ends")
			// With approval.
			f.store.DB().Exec("UPDATE sessions SET extension_needs_approval = ? WHERE id = ?", true, id)
			f.clock.Add(time.Second)
			out, err = extend("10m")
			if err != nil || out.Request == nil || out.Request.Kind != models.RequestKindExtension {
				t.Fatalf("extension request: %+v %v", out, err)
			}
			f.clock.Add(time.Second)
			f.approve(t, f.carol, out.Request.ID)
			got := f.get(t, id)
			if !got.ExpiresAt.Equal(exp.Add(25*time.Minute)) || got.ExtendedSeconds != 1500 {
				t.Fatalf("approved extension: %+v", got.Session)
			}
			<-f.retimes
			// The administrator shortens it, effective at once.
			f.clock.Add(time.Second)
			to := f.clock.Now().Add(5 * time.Minute).Truncate(time.Minute)
			_, err = f.store.ShortenSession(ctx, fresh(f.bob), id, models.ShortenInput{ExpiresAt: to.Format("2006-01-02T15:04")})
			if err == nil {
				t.Fatal("bob shortened his own session as if an administrator")
			}
			_, err = f.store.ShortenSession(ctx, fresh(f.admin), id, models.ShortenInput{ExpiresAt: got.ExpiresAt.Add(time.Hour).Format("2006-01-02T15:04")})
			fieldErr(t, err, "expires_at", "before the current expiration")
			s, err := f.store.ShortenSession(ctx, fresh(f.admin), id, models.ShortenInput{ExpiresAt: to.Format("2006-01-02T15:04")})
			if err != nil || !s.ExpiresAt.Equal(to) {
				t.Fatalf("shorten: %+v %v", s, err)
			}
			if r := <-f.retimes; !r.ExpiresAt.Equal(to) {
				t.Fatalf("retime after shorten: %+v", r)
			}
			evs, _ := f.store.SessionAccessHistory(ctx, id)
			if k := kinds(evs); k != "requested,approved,granted,session-started,extended,requested,approved,extended,shortened" {
				t.Fatalf("history: %s", k)
			}
			last := evs[len(evs)-1]
			if last.ActorName != "Administrator" || !last.FromAt.Equal(got.ExpiresAt) || !last.ToAt.Equal(to) {
				t.Fatalf("shorten event: %+v", last)
			}
		})
	}
}

// TestGrantEndExtensionRace: the grant's end and an extension at once: the
// extension is refused with a message or the grant's end cancels the
// extended session; no session lives on after its grant ended.
func TestGrantEndExtensionRace(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			f := newAccessFixture(t, d)
			ctx := context.Background()
			f.store.DB().Exec("UPDATE targets SET session_max_seconds = 300 WHERE id = ?", f.direct)
			for i := 0; i < 10; i++ {
				it := f.approve(t, f.carol, f.request(t, "10m").ID)
				st, err := f.startEcho(f.bob)
				if err != nil {
					t.Fatal(err)
				}
				f.clock.Add(4 * time.Minute)
				var wg sync.WaitGroup
				var extErr error
				wg.Go(func() {
					_, extErr = f.store.ExtendSession(ctx, fresh(f.bob), st.Session.ID, models.ExtendSessionInput{By: "3m"})
				})
				wg.Go(func() {
					f.store.DB().Exec("UPDATE access_grants SET ends_at = ? WHERE id = ?", f.clock.Now(), it.Grant.ID)
					_, _ = f.store.SweepSessions(ctx)
				})
				wg.Wait()
				if extErr != nil && models.FieldErrors(extErr)["by"] == "" {
					t.Fatalf("round %d: extension refused unclearly: %v", i, extErr)
				}
				if got := f.get(t, st.Session.ID); got.State != models.StateTerminated {
					t.Fatalf("round %d: session lives on after its grant ended: %+v (extension: %v)", i, got.Session, extErr)
				}
			}
		})
	}
}

// TestAccessWebhookEvents: a request, its approval and the grant's
// revocation are queued as access.requested, access.approved and
// access.revoked webhook deliveries, in the transactions that made them,
// with the request and target named in the payload.
func TestAccessWebhookEvents(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			f := newAccessFixture(t, d)
			ctx := context.Background()
			if _, _, err := f.store.CreateWebhook(ctx, f.admin, models.WebhookInput{Name: "Access", URL: "https://hooks.example.com/in",
				EventTypes: []string{"access.*"}}); err != nil {
				t.Fatal(err)
			}
			r := f.request(t, "30m")
			it := f.approve(t, f.carol, r.ID)
			if _, err := f.store.RevokeAccessGrant(ctx, fresh(f.carol), it.Grant.ID, "done"); err != nil {
				t.Fatal(err)
			}
			var rows []struct{ EventType, Payload string }
			if err := f.store.DB().Raw("SELECT event_type, payload FROM webhook_events ORDER BY seq").Scan(&rows).Error; err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, row := range rows {
				types = append(types, row.EventType)
				if !strings.Contains(row.Payload, r.ID) || !strings.Contains(row.Payload, f.direct) {
					t.Errorf("%s payload does not name the request and target: %s", row.EventType, row.Payload)
				}
			}
			if got := strings.Join(types, ","); got != "access.requested,access.approved,access.revoked" {
				t.Fatalf("access deliveries = %s", got)
			}
		})
	}
}

// TestAccessWebhookPayloads: a denial, an extension and a shortening reach
// a receiver that checks their signatures and shapes against
// docs/webhooks.md, as access.denied (with the approver and the comment),
// session.extended and session.shortened (each with the new expiration).
func TestAccessWebhookPayloads(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			f := newAccessFixture(t, d)
			ctx := context.Background()
			rec := newReceiver(t)
			rec.hook(t, f.sessionFixture, "Access", models.EventAccessDenied, models.EventSessionExtended, models.EventSessionShortened)
			denied := f.request(t, "30m")
			if _, err := f.store.DecideAccessRequest(ctx, fresh(f.carol), denied.ID, models.DecideAccessInput{Decision: models.DecisionDeny, Comment: "not today"}); err != nil {
				t.Fatal(err)
			}
			f.approve(t, f.carol, f.request(t, "1h").ID)
			f.store.DB().Exec("UPDATE targets SET session_max_seconds = 600 WHERE id = ?", f.direct) // room to extend
			st, err := f.startEcho(f.bob)
			if err != nil {
				t.Fatal(err)
			}
			f.clock.Add(time.Second)
			ext, err := f.store.ExtendSession(ctx, fresh(f.bob), st.Session.ID, models.ExtendSessionInput{By: "15m", Reason: "more"})
			if err != nil {
				t.Fatal(err)
			}
			f.clock.Add(time.Second)
			to := f.clock.Now().Add(5 * time.Minute).Truncate(time.Minute)
			if _, err := f.store.ShortenSession(ctx, fresh(f.admin), st.Session.ID, models.ShortenInput{ExpiresAt: to.Format("2006-01-02T15:04")}); err != nil {
				t.Fatal(err)
			}
			drain(t, newDeliverer(f.store))
			type data struct {
				RequestID string `json:"request_id"`
				State     string
				Decision  string
				Approver  *models.Party
				SessionID string    `json:"session_id"`
				ExpiresAt time.Time `json:"expires_at"`
			}
			var got []string
			for _, g := range rec.deliveries() {
				var p struct{ Data data }
				if err := json.Unmarshal([]byte(g.Body), &p); err != nil {
					t.Fatal(err)
				}
				got = append(got, g.Type)
				switch g.Type {
				case models.EventAccessDenied:
					if p.Data.RequestID != denied.ID || p.Data.State != "denied" || p.Data.Decision != "not today" ||
						p.Data.Approver == nil || p.Data.Approver.ID != f.carol.UserID {
						t.Errorf("access.denied data %+v", p.Data)
					}
				case models.EventSessionExtended:
					if p.Data.SessionID != st.Session.ID || !p.Data.ExpiresAt.Equal(ext.Session.ExpiresAt) {
						t.Errorf("session.extended data %+v, want expires_at %s", p.Data, ext.Session.ExpiresAt)
					}
				case models.EventSessionShortened:
					if p.Data.SessionID != st.Session.ID || !p.Data.ExpiresAt.Equal(to) {
						t.Errorf("session.shortened data %+v, want expires_at %s", p.Data, to)
					}
				}
			}
			slices.Sort(got) // (events of different requests and sessions come in any order)
			want := []string{models.EventAccessDenied, models.EventSessionExtended, models.EventSessionShortened}
			if !slices.Equal(got, want) {
				t.Errorf("deliveries %v, want %v", got, want)
			}
		})
	}
}
