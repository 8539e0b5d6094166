package models

import (
	"context"
	"fmt"
)

// Choice is one option of a select box: an id and a human label.
type Choice struct {
	ID    string
	Label string
}

// maxChoices bounds the options offered in one select box.
const maxChoices = 500

// HostSetChoices lists the host sets of a project the actor may read, as
// "catalog / host set", for choosing a target's host sources.
func (s *Store) HostSetChoices(ctx context.Context, a Actor, projectID string) ([]Choice, error) {
	if _, err := s.visibleScope(ctx, a, projectID); err != nil {
		return nil, err
	}
	cond, args, err := s.listCondition(ctx, a, "host-set", ActionRead, ListColumns{Scope: "hs.scope_id", ID: "hs.id", Parent: "hs.catalog_id"})
	if err != nil {
		return nil, err
	}
	var out []Choice
	err = s.q(ctx).Table("host_sets AS hs").Joins("JOIN host_catalogs c ON c.id = hs.catalog_id").
		Where("hs.scope_id = ?", projectID).Where(cond, args...).
		Select("hs.id, c.name || ' / ' || hs.name AS label").Order("lower(c.name), lower(hs.name), hs.id").
		Limit(maxChoices).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("list host set choices: %w", err)
	}
	return out, nil
}

// CredentialChoices lists the credentials of a project the actor may read,
// as "store / credential", for choosing a target's brokered credentials.
func (s *Store) CredentialChoices(ctx context.Context, a Actor, projectID string) ([]Choice, error) {
	if _, err := s.visibleScope(ctx, a, projectID); err != nil {
		return nil, err
	}
	cond, args, err := s.listCondition(ctx, a, "credential", ActionRead, ListColumns{Scope: "cr.scope_id", ID: "cr.id", Parent: "cr.store_id"})
	if err != nil {
		return nil, err
	}
	var out []Choice
	err = s.q(ctx).Table("credentials AS cr").Joins("JOIN credential_stores cs ON cs.id = cr.store_id").
		Where("cr.scope_id = ?", projectID).Where(cond, args...).
		Select("cr.id, cs.name || ' / ' || cr.name AS label").Order("lower(cs.name), lower(cr.name), cr.id").
		Limit(maxChoices).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("list credential choices: %w", err)
	}
	return out, nil
}

// HostChoices lists the hosts of a catalog the actor may read, as
// "name (address)", for choosing a host set's members.
func (s *Store) HostChoices(ctx context.Context, a Actor, catalogID string) ([]Choice, error) {
	c, err := s.readHostCatalog(ctx, a, catalogID)
	if err != nil {
		return nil, err
	}
	cond, args, err := s.listCondition(ctx, a, "host", ActionRead, ListColumns{Scope: "h.scope_id", ID: "h.id", Parent: "h.catalog_id"})
	if err != nil {
		return nil, err
	}
	var out []Choice
	err = s.q(ctx).Table("hosts AS h").Where("h.catalog_id = ?", c.ID).Where(cond, args...).
		Select("h.id, h.name || ' (' || h.address || ')' AS label").Order("lower(h.name), h.id").
		Limit(maxChoices).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("list host choices: %w", err)
	}
	return out, nil
}
