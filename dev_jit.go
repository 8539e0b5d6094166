package main

import (
	"context"
	"fmt"

	"gatehouse/models"
)

const devJITRoleName = "Dev access requests"

// seedDevJIT lets every logged-in person request access to the echo target
// (up to 1 hour; undecided requests expire after an hour; sessions may be
// extended by 30 minutes in all), so bob, who has no role, can try the
// whole flow and admin (who may do anything) approves. Idempotent.
func seedDevJIT(ctx context.Context, store *models.Store) error {
	admin, err := devAdmin(ctx, store)
	if err != nil {
		return err
	}
	var echo struct{ ID, ScopeID string }
	if err := store.DB().WithContext(ctx).Table("targets").Select("targets.id, targets.scope_id").
		Joins("JOIN scopes p ON p.id = targets.scope_id").Where("targets.name = ? AND p.name = ?", devEchoTarget, devProjectName).
		Limit(1).Scan(&echo).Error; err != nil || echo.ID == "" {
		return fmt.Errorf("find the dev echo target: %v", err)
	}
	page, err := store.ListRoles(ctx, admin, echo.ScopeID, models.ListOptions{Search: devJITRoleName})
	if err != nil {
		return err
	}
	for _, r := range page.Items {
		if r.Name == devJITRoleName {
			return nil
		}
	}
	role, err := store.CreateRole(ctx, admin, echo.ScopeID, models.RoleInput{Name: devJITRoleName,
		Description: "Seeded by gatehouse dev: anyone logged in may request time-boxed access to echo"})
	if err != nil {
		return fmt.Errorf("dev access role: %w", err)
	}
	d, err := store.GetRole(ctx, admin, role.ID)
	if err != nil {
		return err
	}
	if err := store.SetRoleGrantScopes(ctx, admin, role.ID, d.Version, []string{"this"}); err != nil {
		return fmt.Errorf("dev access role grant scopes: %w", err)
	}
	if d, err = store.GetRole(ctx, admin, role.ID); err != nil {
		return err
	}
	if err := store.SetRoleGrants(ctx, admin, role.ID, d.Version, []string{"ids=" + echo.ID + ";actions=read,request-access"}); err != nil {
		return fmt.Errorf("dev access role grants: %w", err)
	}
	if err := store.AddRolePrincipals(ctx, admin, role.ID, []string{models.PrincipalAuthenticated}); err != nil {
		return fmt.Errorf("dev access role principal: %w", err)
	}
	_, err = store.UpdateTargetAccessSettings(ctx, admin, echo.ID, models.AccessSettingsInput{RequestMax: "1h",
		ApprovalsRequired: "1", RequestTTL: "1h", ExtensionMax: "30m"})
	return err
}
