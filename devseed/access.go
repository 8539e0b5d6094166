package devseed

import (
	"context"
	"fmt"

	"gatehouse/models"
)

const devAccessRoleName = "Dev SRE access"

// access gives the dev provider's "SRE" managed group (alice) of auth
// method methodID a role in project projectID that lists, reads and starts
// sessions on its targets; bob gets nothing, so the first run shows the
// difference between two people. Idempotent across restarts.
func access(ctx context.Context, store *models.Store, admin models.Actor, projectID, methodID string) error {
	groups, err := store.ListManagedGroups(ctx, admin, methodID, models.ListOptions{Search: "SRE", PerPage: 200})
	if err != nil {
		return fmt.Errorf("find the SRE managed group: %w", err)
	}
	var groupID string
	for _, g := range groups.Items {
		if g.Name == "SRE" {
			groupID = g.ID
			break
		}
	}
	if groupID == "" {
		return fmt.Errorf("find the SRE managed group: %w", models.ErrNotFound)
	}
	page, err := store.ListRoles(ctx, admin, projectID, models.ListOptions{Search: devAccessRoleName})
	if err != nil {
		return err
	}
	for _, r := range page.Items {
		if r.Name == devAccessRoleName {
			return nil
		}
	}
	role, err := store.CreateRole(ctx, admin, projectID, models.RoleInput{Name: devAccessRoleName,
		Description: "Seeded by gatehouse dev: the SRE managed group may start sessions on the dev targets"})
	if err != nil {
		return fmt.Errorf("dev role: %w", err)
	}
	d, err := store.GetRole(ctx, admin, role.ID)
	if err != nil {
		return err
	}
	if err := store.SetRoleGrantScopes(ctx, admin, role.ID, d.Version, []string{"this"}); err != nil {
		return fmt.Errorf("dev role grant scopes: %w", err)
	}
	if d, err = store.GetRole(ctx, admin, role.ID); err != nil {
		return err
	}
	if err := store.SetRoleGrants(ctx, admin, role.ID, d.Version, []string{"ids=*;type=target;actions=list,read,authorize-session"}); err != nil {
		return fmt.Errorf("dev role grants: %w", err)
	}
	if err := store.AddRolePrincipals(ctx, admin, role.ID, []string{groupID}); err != nil {
		return fmt.Errorf("dev role principal: %w", err)
	}
	return nil
}
