package models_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// Bidirectional controls (U+202A–U+202E, U+2066–U+2069) make a name display
// as something else; every name and free-text field refuses them with a
// message next to the field, and nothing is written (issue 11, finding 8).
func TestBidiControlsRefusedInNames(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		const want = "Name contains invisible text-direction characters (U+202A–U+202E, U+2066–U+2069): type it again without them."
		for _, r := range []rune{0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069} {
			name := fmt.Sprintf("admin%cnimda", r)
			creates := map[string]func() error{
				"scope": func() error {
					_, err := store.CreateScope(ctx, admin, models.GlobalScopeID, models.ScopeInput{Name: name})
					return err
				},
				"user": func() error {
					_, err := store.CreateUser(ctx, admin, models.GlobalScopeID, models.UserInput{Name: name})
					return err
				},
				"role": func() error {
					_, err := store.CreateRole(ctx, admin, models.GlobalScopeID, models.RoleInput{Name: name})
					return err
				},
				"group": func() error {
					_, err := store.CreateGroup(ctx, admin, models.GlobalScopeID, models.GroupInput{Name: name})
					return err
				},
			}
			for kind, create := range creates {
				if got := models.FieldErrors(create())["name"]; got != want {
					t.Errorf("%s named with U+%04X: name error %q, want %q", kind, r, got, want)
				}
			}
		}
		scopes, _ := store.ListScopes(ctx, admin, models.GlobalScopeID, models.ListOptions{})
		roles, _ := store.ListRoles(ctx, admin, models.GlobalScopeID, models.ListOptions{})
		if scopes.Total != 0 {
			t.Errorf("refused names wrote %d scopes", scopes.Total)
		}
		for _, r := range roles.Items {
			if strings.HasPrefix(r.Name, "admin") && strings.HasSuffix(r.Name, "nimda") {
				t.Errorf("refused name wrote role %q", r.Name)
			}
		}
		// Right-to-left text itself stays welcome.
		if _, err := store.CreateScope(ctx, admin, models.GlobalScopeID, models.ScopeInput{Name: "שלום עולם"}); err != nil {
			t.Errorf("Hebrew name refused: %v", err)
		}
	})
}
