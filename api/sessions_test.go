package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// grant makes a role in scopeID holding grants, with principal.
func (h *harness) grant(scopeID, principal string, grants ...string) {
	h.t.Helper()
	ctx := context.Background()
	r, err := h.store.CreateRole(ctx, h.admin, scopeID, models.RoleInput{Name: "role " + models.NewID("x")})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.store.SetRoleGrants(ctx, h.admin, r.ID, r.Version, grants); err != nil {
		h.t.Fatal(err)
	}
	if err := h.store.AddRolePrincipals(ctx, h.admin, r.ID, []string{principal}); err != nil {
		h.t.Fatal(err)
	}
}

// project makes an org and a project with seeded infrastructure.
func (h *harness) project(name string) dbtest.Infra {
	h.t.Helper()
	ctx := context.Background()
	org, err := h.store.CreateScope(ctx, h.admin, models.GlobalScopeID, models.ScopeInput{Name: name + " org"})
	if err != nil {
		h.t.Fatal(err)
	}
	p, err := h.store.CreateScope(ctx, h.admin, org.ID, models.ScopeInput{Name: name})
	if err != nil {
		h.t.Fatal(err)
	}
	return dbtest.SeedInfra(h.t, h.store, h.admin, p.ID, strings.ToLower(name))
}

// TestTokenLifecycleThroughTheAPI: a personal token works (its last use
// moves), lists, and stops at once when revoked; an expired one is told
// apart; no token, or a malformed header, is a clear 401.
func TestTokenLifecycleThroughTheAPI(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		alice := h.user("alice")
		tok := h.token(alice)
		me := h.call(tok, http.MethodGet, "/me", nil)
		want(t, "me", me, http.StatusOK)
		if m := me.json(t); m["id"] != alice.UserID || m["name"] != "alice" {
			t.Errorf("me %v", m)
		}
		list := h.call(tok, http.MethodGet, "/me/tokens", nil)
		var toks struct {
			Items []struct {
				ID         string     `json:"id"`
				LastUsedAt *time.Time `json:"last_used_at"`
			} `json:"items"`
		}
		_ = json.Unmarshal(list.body, &toks)
		if len(toks.Items) != 1 || toks.Items[0].LastUsedAt == nil {
			t.Fatalf("tokens %s", list.body)
		}
		first := *toks.Items[0].LastUsedAt
		h.clock.Add(5 * time.Minute)
		list = h.call(tok, http.MethodGet, "/me/tokens", nil)
		_ = json.Unmarshal(list.body, &toks)
		if !toks.Items[0].LastUsedAt.After(first) {
			t.Errorf("last used did not move: %v then %v", first, toks.Items[0].LastUsedAt)
		}
		// Revoked: 401 at once, with what to do.
		want(t, "revoke", h.call(tok, http.MethodDelete, "/me/tokens/"+toks.Items[0].ID, nil), http.StatusNoContent)
		a := h.call(tok, http.MethodGet, "/me", nil)
		want(t, "revoked token", a, http.StatusUnauthorized)
		if p := a.problem(t); p.Code != "token_revoked" || !strings.Contains(p.Detail, "gatehouse login") {
			t.Errorf("revoked: %+v", p)
		}
		// Expired.
		tok2 := h.token(alice)
		h.clock.Add(25 * time.Hour)
		a = h.call(tok2, http.MethodGet, "/me", nil)
		want(t, "expired token", a, http.StatusUnauthorized)
		if p := a.problem(t); p.Code != "token_expired" {
			t.Errorf("expired: %+v", p)
		}
		// No token; a cookie-style header.
		a = h.call("", http.MethodGet, "/me", nil)
		want(t, "no token", a, http.StatusUnauthorized)
		if p := a.problem(t); p.Code != "not_logged_in" || a.header.Get("WWW-Authenticate") == "" {
			t.Errorf("no token: %+v", p)
		}
		a = h.bad("", http.MethodGet, "/me", nil, "Authorization", "Basic YWRtaW46cGFzc3dvcmQ=")
		want(t, "basic auth", a, http.StatusUnauthorized)
		// Logout revokes the token of the request, recorded in the change
		// log like any token revocation (by its owner, on the token).
		bob := h.user("bob")
		tok3 := h.token(bob)
		var tokenID string
		if err := h.store.DB().Raw("SELECT id FROM api_tokens WHERE user_id = ?", bob.UserID).Scan(&tokenID).Error; err != nil || tokenID == "" {
			t.Fatalf("bob's token: %q %v", tokenID, err)
		}
		want(t, "logout", h.call(tok3, http.MethodDelete, "/auth/token", nil), http.StatusNoContent)
		want(t, "after logout", h.call(tok3, http.MethodGet, "/me", nil), http.StatusUnauthorized)
		var logged []struct{ ActorID, ResourceType, ResourceName, BeforeJSON, AfterJSON string }
		if err := h.store.DB().Raw("SELECT actor_id, resource_type, resource_name, before_json, after_json FROM change_events WHERE resource_id = ? AND action = 'delete'",
			tokenID).Scan(&logged).Error; err != nil {
			t.Fatal(err)
		}
		if len(logged) != 1 || logged[0].ActorID != bob.UserID || logged[0].ResourceType != "api-token" || logged[0].ResourceName != "test" ||
			logged[0].BeforeJSON == "" || logged[0].AfterJSON != "" {
			t.Errorf("logout in the change log: %+v", logged)
		}
		// Logging out again (the token is gone) is refused, and logs nothing.
		changes := h.count("change_events")
		want(t, "logout twice", h.call(tok3, http.MethodDelete, "/auth/token", nil), http.StatusUnauthorized)
		if n := h.count("change_events"); n != changes {
			t.Errorf("a refused logout logged %d changes", n-changes)
		}
	})
}

// TestPasswordAndCLILoginThroughTheAPI: the password path gives a CLI
// token; a wrong password is refused with nothing written.
func TestPasswordAndCLILoginThroughTheAPI(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.user("carol")
		ms := h.call("", http.MethodGet, "/auth-methods/public", nil)
		want(t, "public methods", ms, http.StatusOK)
		before := h.count("api_tokens")
		a := h.call("", http.MethodPost, "/auth/password", map[string]string{"auth_method_id": h.authID, "login_name": "carol",
			"password": "wrong", "token_name": "laptop"})
		want(t, "wrong password", a, http.StatusUnauthorized)
		if p := a.problem(t); p.Code != "bad_credentials" {
			t.Errorf("wrong password: %+v", p)
		}
		if h.count("api_tokens") != before {
			t.Error("a wrong password wrote a token")
		}
		a = h.call("", http.MethodPost, "/auth/password", map[string]string{"auth_method_id": h.authID, "login_name": "carol",
			"password": "carol-password-1", "token_name": "laptop"})
		want(t, "password login", a, http.StatusCreated)
		tok, _ := a.json(t)["token"].(string)
		want(t, "me with the CLI token", h.call(tok, http.MethodGet, "/me", nil), http.StatusOK)
		a = h.call("", http.MethodPost, "/auth/cli-token", map[string]string{"code": "nope", "code_verifier": "x", "redirect_uri": "http://127.0.0.1:1/callback"})
		want(t, "bad code", a, http.StatusUnauthorized)
		if p := a.problem(t); p.Code != "bad_login_code" {
			t.Errorf("bad code: %+v", p)
		}
	})
}

// TestSessionsThroughTheAPI: authorize returns the token and brokered
// credentials once; mine and all lists; read with connections; cancel by
// the owner, refused to another user (with a "Why can't I?" link); history
// pages and exports stream.
func TestSessionsThroughTheAPI(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		x := h.project("Prod")
		alice, bob := h.user("alice"), h.user("bob")
		h.grant(x.ProjectID, alice.UserID, "ids=*;type=target;actions=list,read,authorize-session")
		alice = dbtest.Login(t, h.store, h.authID, "alice", "alice-password-1") // roles load at login
		at, bt := h.token(alice), h.token(bob)

		mine := h.call(at, http.MethodGet, "/my-targets?search=prod", nil)
		want(t, "my targets", mine, http.StatusOK)
		if m := mine.json(t); m["total"] != float64(2) {
			t.Errorf("alice's targets: %s", mine.body)
		}
		want(t, "target for session", h.call(at, http.MethodGet, "/my-targets/"+x.TargetID, nil), http.StatusOK)
		nope := h.call(bt, http.MethodPost, "/targets/"+x.TargetID+"/authorize-session", nil)
		if nope.status != http.StatusNotFound && nope.status != http.StatusForbidden {
			t.Fatalf("bob authorizing: %d", nope.status)
		}
		if p := nope.problem(t); !strings.Contains(p.ExplainURL, "/explain?resource="+x.TargetID) {
			t.Errorf("refusal without a Why can't I? link: %+v", p)
		}
		auth := h.call(at, http.MethodPost, "/targets/"+x.TargetID+"/authorize-session", map[string]string{"host_id": x.HostID})
		want(t, "authorize", auth, http.StatusCreated)
		var started struct {
			Session     struct{ ID, State string }
			Token       string
			Credentials []struct{ Username, Password string }
		}
		_ = json.Unmarshal(auth.body, &started)
		if started.Token == "" || started.Session.State != "pending" || len(started.Credentials) != 1 || started.Credentials[0].Password != "secret-prod" {
			t.Fatalf("authorized %s", auth.body)
		}
		bad := h.bad(at, http.MethodPost, "/targets/"+x.TargetID+"/authorize-session", map[string]any{"host_id": 5})
		want(t, "authorize with a bad body", bad, http.StatusBadRequest)
		if p := bad.problem(t); p.Errors["host_id"] == "" {
			t.Errorf("bad body: %+v", p)
		}

		list := h.call(at, http.MethodGet, "/sessions?mine=true&state=live", nil)
		want(t, "my live sessions", list, http.StatusOK)
		if m := list.json(t); m["total"] != float64(1) {
			t.Errorf("mine: %s", list.body)
		}
		if m := h.call(bt, http.MethodGet, "/sessions", nil).json(t); m["total"] != float64(0) {
			t.Errorf("bob sees alice's sessions: %v", m)
		}
		if m := h.call(h.adminTok, http.MethodGet, "/sessions?state=pending", nil).json(t); m["total"] != float64(1) {
			t.Errorf("admin's all sessions: %v", m)
		}
		want(t, "bad state filter", h.bad(h.adminTok, http.MethodGet, "/sessions?state=sleeping", nil), http.StatusUnprocessableEntity)
		got := h.call(at, http.MethodGet, "/sessions/"+started.Session.ID, nil)
		want(t, "read session", got, http.StatusOK)
		if got.header.Get("ETag") == "" {
			t.Error("session without ETag")
		}
		want(t, "bob reading", h.call(bt, http.MethodGet, "/sessions/"+started.Session.ID, nil), http.StatusNotFound)
		want(t, "bob canceling", h.call(bt, http.MethodPost, "/sessions/"+started.Session.ID+"/cancel", nil), http.StatusNotFound)
		c := h.call(at, http.MethodPost, "/sessions/"+started.Session.ID+"/cancel", nil)
		want(t, "cancel", c, http.StatusOK)
		if st := c.json(t)["state"]; st != "terminated" && st != "canceling" {
			t.Errorf("canceled session is %v", st)
		}

		hist := h.call(h.adminTok, http.MethodGet, "/history?target="+x.TargetID+"&page_size=10", nil)
		want(t, "history", hist, http.StatusOK)
		if items, _ := hist.json(t)["items"].([]any); len(items) != 1 {
			t.Errorf("history: %s", hist.body)
		}
		want(t, "history bad date", h.call(h.adminTok, http.MethodGet, "/history?from=yesterday", nil), http.StatusUnprocessableEntity)
		csvA := h.call(h.adminTok, http.MethodGet, "/history/export?format=csv", nil)
		want(t, "csv", csvA, http.StatusOK)
		recs, err := csv.NewReader(bytes.NewReader(csvA.body)).ReadAll()
		if err != nil || len(recs) != 2 || recs[0][0] != "session_id" || recs[1][0] != started.Session.ID {
			t.Errorf("csv %q %v", recs, err)
		}
		jl := h.call(h.adminTok, http.MethodGet, "/history/export?format=jsonl", nil)
		want(t, "jsonl", jl, http.StatusOK)
		sc := bufio.NewScanner(bytes.NewReader(jl.body))
		n := 0
		for sc.Scan() {
			var row map[string]any
			if err := json.Unmarshal(sc.Bytes(), &row); err != nil || row["session_id"] != started.Session.ID {
				t.Errorf("jsonl line %q: %v", sc.Text(), err)
			}
			n++
		}
		if n != 1 {
			t.Errorf("jsonl lines %d, want 1: %s", n, jl.body)
		}
	})
}

// TestHistoryTotalsThroughTheAPI: history pages report how many sessions
// match the filters in all, on every page of a walk (counted on its first
// page), for each filter, and only the sessions the caller may see.
func TestHistoryTotalsThroughTheAPI(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		x := h.project("Prod")
		alice, bob := h.user("alice"), h.user("bob")
		h.grant(x.ProjectID, alice.UserID, "ids=*;type=target;actions=list,read,authorize-session")
		alice = dbtest.Login(t, h.store, h.authID, "alice", "alice-password-1")
		at := h.token(alice)
		start := func(target string, body any) {
			t.Helper()
			want(t, "authorize", h.call(at, http.MethodPost, "/targets/"+target+"/authorize-session", body), http.StatusCreated)
			h.clock.Add(time.Minute)
		}
		for range 3 {
			start(x.TargetID, map[string]string{"host_id": x.HostID})
		}
		start(x.AddrTargetID, nil)
		start(x.AddrTargetID, nil)
		type histPage struct {
			Items []struct {
				SessionID string `json:"session_id"`
			} `json:"items"`
			Total int    `json:"total"`
			Next  string `json:"next_page_token"`
		}
		get := func(tok, query string) histPage {
			t.Helper()
			a := h.call(tok, http.MethodGet, "/history?"+query, nil)
			want(t, "history "+query, a, http.StatusOK)
			var p histPage
			if err := json.Unmarshal(a.body, &p); err != nil {
				t.Fatal(err)
			}
			return p
		}
		p := get(h.adminTok, "page_size=2")
		// A session started during the walk: the walk's pages keep the
		// total of its first page (counted once, carried by the token).
		start(x.AddrTargetID, nil)
		seen := map[string]bool{}
		for pages := 1; ; pages++ {
			if p.Total != 5 {
				t.Errorf("page %d: total %d, want 5", pages, p.Total)
			}
			for _, it := range p.Items {
				seen[it.SessionID] = true
			}
			if p.Next == "" {
				if pages != 3 {
					t.Errorf("%d pages, want 3", pages)
				}
				break
			}
			p = get(h.adminTok, "page_size=2&page_token="+url.QueryEscape(p.Next))
		}
		if len(seen) != 5 {
			t.Errorf("pages listed %d sessions, want 5", len(seen))
		}
		if p := get(h.adminTok, "page_size=2"); p.Total != 6 {
			t.Errorf("a new walk counts again: total %d, want 6", p.Total)
		}
		a := h.call(h.adminTok, http.MethodGet, "/history?page_token=2026-01-01T00:00:00Z~s_x~many", nil)
		want(t, "bad page token", a, http.StatusBadRequest)
		if p := a.problem(t); p.Errors["page_token"] == "" {
			t.Errorf("bad token: %+v", p)
		}
		if p := get(h.adminTok, "target="+x.TargetID+"&page_size=1"); p.Total != 3 || len(p.Items) != 1 {
			t.Errorf("filtered by target: total %d, %d items", p.Total, len(p.Items))
		}
		if p := get(h.adminTok, "target="+x.AddrTargetID+"&sort=oldest"); p.Total != 3 || len(p.Items) != 3 {
			t.Errorf("filtered by the other target: total %d, %d items", p.Total, len(p.Items))
		}
		if p := get(h.adminTok, "user=nobody-at-all"); p.Total != 0 || len(p.Items) != 0 {
			t.Errorf("no match: %+v", p)
		}
		// Bob may not see alice's sessions: his total says so too.
		if p := get(h.token(bob), ""); p.Total != 0 || len(p.Items) != 0 {
			t.Errorf("bob's history: %+v", p)
		}
	})
}
