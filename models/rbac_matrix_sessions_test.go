package models_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// wantErr checks err against the outcome a matrix case expects: nil when
// allowed, else ErrForbidden when the item is visible, else ErrNotFound
// (ErrUnauthenticated for the anonymous actor).
func wantErr(t *testing.T, what string, err error, allowed, visible, anon bool) {
	t.Helper()
	switch {
	case allowed:
		if err != nil {
			t.Errorf("%s: %v, want allowed", what, err)
		}
	case anon:
		if !errors.Is(err, models.ErrUnauthenticated) && !errors.Is(err, models.ErrNotFound) {
			t.Errorf("%s: %v, want unauthenticated", what, err)
		}
	case visible:
		if !errors.Is(err, models.ErrForbidden) {
			t.Errorf("%s: %v, want forbidden", what, err)
		}
	default:
		if !errors.Is(err, models.ErrNotFound) {
			t.Errorf("%s: %v, want not found", what, err)
		}
	}
}

// TestPermissionMatrixTargetsAndSessions crosses grant scopes × principal
// kinds × grants for targets (authorize-session through My targets,
// TargetForSession and StartSession) and sessions (read and cancel of
// other people's sessions against read:self and cancel:self), like
// TestPermissionMatrix does for roles. Every logged-in user reads and
// cancels their own sessions through the bootstrap self-service role.
func TestPermissionMatrixTargetsAndSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		w := newRBACWorld(t, store)
		sc := w.scopes()
		projects := []string{"p1", "p2"}
		targets, others, own := map[string]string{}, map[string]string{}, map[string]string{}
		for _, key := range projects {
			tg, err := store.CreateTarget(ctx, w.admin, sc[key], models.TargetInput{Name: "echo " + key, DefaultPort: 7, Address: "127.0.0.1",
				SessionMaxSeconds: 3600, SessionConnectionLimit: models.UnlimitedConnections})
			if err != nil {
				t.Fatal(err)
			}
			targets[key] = tg.ID
			st, err := store.StartSession(ctx, w.admin, models.StartSessionInput{TargetID: tg.ID, ClientIP: "192.0.2.1"})
			if err != nil {
				t.Fatal(err)
			}
			others[key] = st.Session.ID
		}
		setup := w.grantRole(t, models.GlobalScopeID, "setup", w.bobID, []string{"descendants"}, []string{"ids=*;type=target;actions=authorize-session"})
		for _, key := range projects {
			st, err := store.StartSession(ctx, w.bob(t), models.StartSessionInput{TargetID: targets[key], ClientIP: "192.0.2.2"})
			if err != nil {
				t.Fatal(err)
			}
			own[key] = st.Session.ID
		}
		if err := store.DeleteRole(ctx, w.admin, setup); err != nil {
			t.Fatal(err)
		}

		grantScopes := []struct {
			name     string
			holder   string
			scopes   []string // "@p1" stands for p1's id
			projects []string // projects covered
		}{
			{"global this", "global", []string{"this"}, nil},
			{"global children", "global", []string{"children"}, nil},
			{"global descendants", "global", []string{"descendants"}, []string{"p1", "p2"}},
			{"global explicit p1", "global", []string{"@p1"}, []string{"p1"}},
			{"o1 children", "o1", []string{"children"}, []string{"p1"}},
			{"o1 this+descendants", "o1", []string{"this", "descendants"}, []string{"p1"}},
			{"p1 this", "p1", []string{"this"}, []string{"p1"}},
			{"o2 this+explicit p2", "o2", []string{"this", "@p2"}, []string{"p2"}},
		}
		principals := []struct {
			kind string
			id   string
			anon bool
		}{
			{"user", w.bobID, false},
			{"group", w.groupID, false},
			{"managed-group", w.mgID, false},
			{"u_anon", models.PrincipalAnyone, true},
			{"u_auth", models.PrincipalAuthenticated, false},
		}
		type row struct {
			name   string
			grants []string
			onlyP1 bool // the grant names p1's item only
			// targets: may authorize a session; sees the target (any action).
			session, seeTarget bool
			// other people's sessions: read, cancel, sees them.
			read, cancel, seeSession bool
		}
		rows := []row{
			{name: "authorize-session", grants: []string{"ids=*;type=target;actions=authorize-session"}, session: true, seeTarget: true},
			{name: "target read", grants: []string{"ids=*;type=target;actions=read"}, seeTarget: true},
			{name: "target explicit id", grants: []string{"ids=" + targets["p1"] + ";actions=authorize-session"}, onlyP1: true, session: true, seeTarget: true},
			{name: "target type-only list", grants: []string{"type=target;actions=list"}},
			{name: "session read", grants: []string{"ids=*;type=session;actions=read"}, read: true, seeSession: true},
			{name: "session read:self", grants: []string{"ids=*;type=session;actions=read:self,list"}},
			{name: "session cancel", grants: []string{"ids=*;type=session;actions=cancel"}, cancel: true, seeSession: true},
			{name: "session cancel:self", grants: []string{"ids=*;type=session;actions=cancel:self"}},
			{name: "session explicit id read,cancel", grants: []string{"ids=" + others["p1"] + ";actions=read,cancel"}, onlyP1: true, read: true, cancel: true, seeSession: true},
			{name: "all", grants: []string{models.FullGrant}, session: true, seeTarget: true, read: true, cancel: true, seeSession: true},
		}
		n := 0
		for _, gs := range grantScopes {
			var scopes []string
			for _, s := range gs.scopes {
				if s[0] == '@' {
					s = sc[s[1:]]
				}
				scopes = append(scopes, s)
			}
			for _, p := range principals {
				for _, r := range rows {
					name := fmt.Sprintf("%s/%s/%s", gs.name, p.kind, r.name)
					n++
					holder := w.grantRole(t, sc[gs.holder], fmt.Sprintf("matrix-%d", n), p.id, scopes, r.grants)
					actor := models.Anonymous
					if !p.anon {
						actor = w.bob(t)
					}
					covered := func(key string) bool { return slices.Contains(gs.projects, key) && (!r.onlyP1 || key == "p1") }

					mine, err := store.ListMyTargets(ctx, actor, models.MyTargetsOptions{})
					if err != nil && !(p.anon && errors.Is(err, models.ErrUnauthenticated)) {
						t.Fatalf("%s: my targets: %v", name, err)
					}
					var listed []string
					for _, it := range mine.Items {
						listed = append(listed, it.ID)
					}
					for _, key := range projects {
						c := covered(key)
						if want := c && r.session; slices.Contains(listed, targets[key]) != want {
							t.Errorf("%s: My targets shows %s = %v, want %v", name, key, !want, want)
						}
						_, err := store.TargetForSession(ctx, actor, targets[key])
						wantErr(t, name+": authorize session on "+key, err, c && r.session, c && r.seeTarget, p.anon)
						st, err := store.StartSession(ctx, actor, models.StartSessionInput{TargetID: targets[key], ClientIP: "192.0.2.3"})
						wantErr(t, name+": start session on "+key, err, c && r.session && !p.anon, c && r.seeTarget, p.anon)
						if err == nil {
							if _, err := store.CancelSession(ctx, w.admin, st.Session.ID); err != nil {
								t.Fatal(err)
							}
						}

						// A session one may not read is not found, even when visible.
						_, err = store.GetSession(ctx, actor, others[key])
						wantErr(t, name+": read another's session in "+key, err, c && r.read && !p.anon, false, p.anon)
						_, err = store.CancelSession(ctx, actor, others[key])
						wantErr(t, name+": cancel another's session in "+key, err, c && r.cancel && !p.anon, c && r.seeSession, p.anon)
						// Own sessions: read:self and cancel:self of the self-service role.
						_, err = store.GetSession(ctx, actor, own[key])
						wantErr(t, name+": read own session in "+key, err, !p.anon, false, p.anon)
						_, err = store.CancelSession(ctx, actor, own[key])
						wantErr(t, name+": cancel own session in "+key, err, !p.anon, false, p.anon)
					}
					if int(mine.Total) != len(listed) {
						t.Errorf("%s: my targets total %d, items %v", name, mine.Total, listed)
					}
					if err := store.DeleteRole(ctx, w.admin, holder); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	})
}
