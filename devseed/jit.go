package devseed

import (
	"context"
	"fmt"

	"gatehouse/models"
)

const devJITRoleName = "Dev access requests"

// jit lets every logged-in person request access to the echo target of
// project projectID (up to 1 hour; undecided requests expire after an
// hour; sessions may be extended by 30 minutes in all), so bob, who has no
// role, can try the whole flow and admin (who may do anything) approves.
// Idempotent across restarts.
func jit(ctx context.Context, store *models.Store, admin models.Actor, projectID string) error {
	targets, err := store.ListTargets(ctx, admin, projectID, models.ListOptions{Search: devEchoTarget, PerPage: 200})
	if err != nil {
		return fmt.Errorf("find the dev echo target: %w", err)
	}
	echo := ""
	for _, t := range targets.Items {
		if t.Name == devEchoTarget {
			echo = t.ID
		}
	}
	if echo == "" {
		return fmt.Errorf("find the dev echo target: %w", models.ErrNotFound)
	}
	page, err := store.ListRoles(ctx, admin, projectID, models.ListOptions{Search: devJITRoleName})
	if err != nil {
		return err
	}
	for _, r := range page.Items {
		if r.Name == devJITRoleName {
			return nil
		}
	}
	role, err := store.CreateRole(ctx, admin, projectID, models.RoleInput{Name: devJITRoleName,
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
	if err := store.SetRoleGrants(ctx, admin, role.ID, d.Version, []string{"ids=" + echo + ";actions=read,request-access"}); err != nil {
		return fmt.Errorf("dev access role grants: %w", err)
	}
	if err := store.AddRolePrincipals(ctx, admin, role.ID, []string{models.PrincipalAuthenticated}); err != nil {
		return fmt.Errorf("dev access role principal: %w", err)
	}
	_, err = store.UpdateTargetAccessSettings(ctx, admin, echo, models.AccessSettingsInput{RequestMax: "1h",
		ApprovalsRequired: "1", RequestTTL: "1h", ExtensionMax: "30m"})
	return err
}
