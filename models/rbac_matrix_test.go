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

// TestPermissionMatrix crosses grant scopes × principal kinds × grants and
// checks, through the Store, which "target-*" roles the principal may read,
// update and list.
func TestPermissionMatrix(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		w := newRBACWorld(t, store)
		grantScopes := []struct {
			name    string
			holder  string   // scope key of the role holding the grant
			scopes  []string // grant scopes; "@p1" stands for p1's id
			visible []string // scope keys of the target roles covered
		}{
			{"global this", "global", []string{"this"}, []string{"global"}},
			{"global children", "global", []string{"children"}, []string{"o1", "o2"}},
			{"global descendants", "global", []string{"descendants"}, []string{"o1", "o2", "p1", "p2"}},
			{"global explicit p1", "global", []string{"@p1"}, []string{"p1"}},
			{"global this+explicit o2", "global", []string{"this", "@o2"}, []string{"global", "o2"}},
			{"o1 children", "o1", []string{"children"}, []string{"p1"}},
			{"o1 this+descendants", "o1", []string{"this", "descendants"}, []string{"o1", "p1"}},
			{"p1 this", "p1", []string{"this"}, []string{"p1"}},
		}
		principals := []struct {
			kind string
			id   string
			anon bool // check as the anonymous actor
		}{
			{"user", w.bobID, false},
			{"group", w.groupID, false},
			{"managed-group", w.mgID, false},
			{"u_anon", models.PrincipalAnyone, true},
			{"u_auth", models.PrincipalAuthenticated, false},
		}
		grants := []struct {
			name              string
			grants            []string
			read, update, see bool // on covered targets: GetRole, UpdateRole, in ListRoles
		}{
			{"read+list", []string{"ids=*;type=role;actions=list,read"}, true, false, true},
			{"read+update+list", []string{"ids=*;type=role;actions=list,read,update"}, true, true, true},
			{"read without list", []string{"ids=*;type=role;actions=read"}, true, false, false},
			{"type-only list", []string{"type=role;actions=list"}, false, false, false},
			{"all", []string{"ids=*;type=*;actions=*"}, true, true, true},
		}
		sc := w.scopes()
		n := 0
		for _, gs := range grantScopes {
			for _, p := range principals {
				for _, g := range grants {
					name := fmt.Sprintf("%s/%s/%s", gs.name, p.kind, g.name)
					var scopes []string
					for _, s := range gs.scopes {
						if s[0] == '@' {
							s = sc[s[1:]]
						}
						scopes = append(scopes, s)
					}
					n++
					holder := w.grantRole(t, sc[gs.holder], fmt.Sprintf("matrix-%d", n), p.id, scopes, g.grants)
					actor := models.Anonymous
					if !p.anon {
						actor = w.bob(t)
					}
					var listed []string
					page, err := store.ListRoles(ctx, actor, "", models.ListOptions{Search: "target-", PerPage: 100})
					if err != nil && !(p.anon && errors.Is(err, models.ErrUnauthenticated) && !g.see) {
						t.Fatalf("%s: list: %v", name, err)
					}
					for _, it := range page.Items {
						listed = append(listed, it.Name)
					}
					for key, roleID := range w.targets {
						covered := slices.Contains(gs.visible, key)
						_, err := store.GetRole(ctx, actor, roleID)
						if want := covered && g.read; (err == nil) != want {
							t.Errorf("%s: read target-%s: err=%v, want allowed=%v", name, key, err, want)
						}
						if err != nil && !errors.Is(err, models.ErrNotFound) && !(p.anon && errors.Is(err, models.ErrUnauthenticated)) {
							t.Errorf("%s: read target-%s: err=%v, want not found", name, key, err)
						}
						_, err = store.UpdateRole(ctx, actor, roleID, 1, models.RoleInput{Name: "target-" + key})
						if want := covered && g.update; (err == nil) != want {
							t.Errorf("%s: update target-%s: err=%v, want allowed=%v", name, key, err, want)
						}
						if err == nil { // put the version back for the next case
							if err := store.DB().Exec("UPDATE roles SET version = 1 WHERE id = ?", roleID).Error; err != nil {
								t.Fatal(err)
							}
						}
						if want := covered && g.see; slices.Contains(listed, "target-"+key) != want {
							t.Errorf("%s: list shows target-%s = %v, want %v (listed %v)", name, key, !want, want, listed)
						}
					}
					if int(page.Total) != len(listed) {
						t.Errorf("%s: total %d, items %v", name, page.Total, listed)
					}
					if err := store.DeleteRole(ctx, w.admin, holder); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	})
}
