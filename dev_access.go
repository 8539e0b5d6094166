package main

import (
	"context"
	"fmt"

	"gatehouse/models"
)

const devAccessRoleName = "Dev SRE access"

// seedDevAccess gives the dev provider's "SRE" managed group (alice) a role
// in the dev project that lists, reads and starts sessions on its targets;
// bob gets nothing, so the first run shows the difference between two
// people. Idempotent across restarts.
func seedDevAccess(ctx context.Context, store *models.Store) error {
	admin, err := devAdmin(ctx, store)
	if err != nil {
		return err
	}
	var projectID, groupID string
	if err := store.DB().WithContext(ctx).Table("scopes").Select("id").
		Where("type = ? AND name = ?", models.ScopeProject, devProjectName).Limit(1).Scan(&projectID).Error; err != nil || projectID == "" {
		return fmt.Errorf("find the dev project: %v", err)
	}
	if err := store.DB().WithContext(ctx).Table("managed_groups").Select("id").
		Where("name = ?", "SRE").Order("created_at").Limit(1).Scan(&groupID).Error; err != nil || groupID == "" {
		return fmt.Errorf("find the SRE managed group: %v", err)
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
