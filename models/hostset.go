package models

import (
	"context"
	"fmt"
	"time"

	"gatehouse/models/acl"

	"gorm.io/gorm/clause"
)

// HostSet is a named group of hosts of one catalog; targets use host sets as
// their host sources.
type HostSet struct {
	ID          string
	CatalogID   string
	ScopeID     string
	Name        string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int
}

// HostSetMember links a host to a host set of the same catalog.
type HostSetMember struct {
	HostSetID string
	HostID    string
	CatalogID string
	CreatedAt time.Time
}

// HostSetInput is the host set form.
type HostSetInput struct {
	Name        string
	Description string
}

// HostSetItem is a host set with its member count (in lists) or its hosts
// (on its page), and what the actor may do to it.
type HostSetItem struct {
	HostSet
	Members int64
	Hosts   []Host          `gorm:"-"`
	Actions map[Action]bool `gorm:"-"`
}

func (in HostSetInput) validate() (HostSetInput, error) {
	v := validator{}
	in.Name = v.text("name", "Name", in.Name, true, 128)
	in.Description = v.text("description", "Description", in.Description, false, 1024)
	return in, v.err()
}

func hostSetResource(hs *HostSet) acl.Resource {
	return acl.Resource{Type: "host-set", ID: hs.ID, ScopeID: hs.ScopeID, ParentID: hs.CatalogID}
}

// CreateHostSet adds a host set to a catalog, with the given hosts of that
// catalog as members. Errors: ErrInvalid (bad input, duplicate name, a host
// of another catalog on "host_ids"), ErrNotFound, ErrForbidden.
func (s *Store) CreateHostSet(ctx context.Context, a Actor, catalogID string, in HostSetInput, hostIDs []string) (*HostSet, error) {
	var out *HostSet
	err := s.createTx(ctx, a, "host-set", func() string { return out.ID }, func(tx *Store) error {
		c, err := tx.readHostCatalog(ctx, a, catalogID)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionCreate, acl.Resource{Type: "host-set", ScopeID: c.ScopeID, ParentID: c.ID}); err != nil {
			return err
		}
		in, err = in.validate()
		if err := tx.checkInput(ctx, err, unique{Table: "host_sets", Parent: "catalog_id", ParentID: c.ID, Value: in.Name,
			Message: fmt.Sprintf("%s already has a host set named %q.", c.Name, in.Name)}); err != nil {
			return err
		}
		hs := &HostSet{ID: NewID(PrefixHostSet), CatalogID: c.ID, ScopeID: c.ScopeID, Name: in.Name, Description: in.Description,
			CreatedAt: tx.now(), UpdatedAt: tx.now(), Version: 1}
		if err := tx.q(ctx).Create(hs).Error; err != nil {
			if isUniqueViolation(err) {
				return Invalid("name", fmt.Sprintf("%s already has a host set named %q.", c.Name, in.Name))
			}
			return fmt.Errorf("create host set: %w", err)
		}
		if err := tx.addMembers(ctx, hs, hostIDs); err != nil {
			return err
		}
		out = hs
		return nil
	})
	return out, err
}

// addMembers links hosts of hs's catalog to hs; hosts already in it are
// skipped, others refused on "host_ids".
func (s *Store) addMembers(ctx context.Context, hs *HostSet, hostIDs []string) error {
	hostIDs = uniqueIDs(hostIDs)
	if len(hostIDs) == 0 {
		return nil
	}
	var n int64
	if err := s.q(ctx).Model(&Host{}).Where("id IN ? AND catalog_id = ?", hostIDs, hs.CatalogID).Count(&n).Error; err != nil {
		return fmt.Errorf("check hosts: %w", err)
	}
	if int(n) != len(hostIDs) {
		return Invalid("host_ids", "Only hosts of the host set's own catalog can be added.")
	}
	for _, id := range hostIDs {
		// Hosts already in the set are kept as they are (also under a race).
		m := HostSetMember{HostSetID: hs.ID, HostID: id, CatalogID: hs.CatalogID, CreatedAt: s.now()}
		if err := s.q(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&m).Error; err != nil {
			return fmt.Errorf("add host %s to host set %s: %w", id, hs.ID, err)
		}
	}
	return nil
}

func (s *Store) readHostSet(ctx context.Context, a Actor, id string) (*HostSet, error) {
	return readItem(ctx, s, a, "host set", id, hostSetResource)
}

// GetHostSet returns a host set with its hosts (by name) and actions.
func (s *Store) GetHostSet(ctx context.Context, a Actor, id string) (*HostSetItem, error) {
	hs, err := s.readHostSet(ctx, a, id)
	if err != nil {
		return nil, err
	}
	item := &HostSetItem{HostSet: *hs, Actions: s.Allowed(ctx, a, hostSetResource(hs), ActionUpdate, ActionDelete, ActionAddHosts, ActionRemoveHosts)}
	// Only the members the actor may read, as the catalog's host list.
	cond, args, err := s.listCondition(ctx, a, "host", ActionRead, hostColumns)
	if err != nil {
		return nil, err
	}
	err = s.q(ctx).Table("hosts AS h").Joins("JOIN host_set_members m ON m.host_id = h.id").
		Where("m.host_set_id = ?", id).Where(cond, args...).Order("lower(h.name), h.id").Select("h.*").Scan(&item.Hosts).Error
	if err != nil {
		return nil, fmt.Errorf("load host set members: %w", err)
	}
	item.Members = int64(len(item.Hosts))
	return item, nil
}

// ListHostSets lists the host sets of a catalog the actor may see, with
// their member counts.
func (s *Store) ListHostSets(ctx context.Context, a Actor, catalogID string, opt ListOptions) (Page[HostSetItem], error) {
	opt = opt.norm()
	page := Page[HostSetItem]{Page: opt.Page, PerPage: opt.PerPage}
	c, err := s.readHostCatalog(ctx, a, catalogID)
	if err != nil {
		return page, err
	}
	if err := s.authorize(ctx, a, ActionList, acl.Resource{Type: "host-set", ScopeID: c.ScopeID, ParentID: c.ID}); err != nil {
		return page, err
	}
	cond, args, err := s.listCondition(ctx, a, "host-set", ActionRead, ListColumns{Scope: "hs.scope_id", ID: "hs.id", Parent: "hs.catalog_id"})
	if err != nil {
		return page, err
	}
	q := s.q(ctx).Table("host_sets AS hs").Where("hs.catalog_id = ?", c.ID).Where(cond, args...)
	q = s.searchNameDesc(q, "hs", opt.Search)
	if err := q.Count(&page.Total).Error; err != nil {
		return page, fmt.Errorf("count host sets: %w", err)
	}
	members, margs, err := s.visibleCount(ctx, a, "host", "hosts", "h", hostColumns,
		"h.id IN (SELECT m.host_id FROM host_set_members m WHERE m.host_set_id = hs.id)")
	if err != nil {
		return page, err
	}
	err = q.Select("hs.*, "+members+" AS members", margs...).
		Order("lower(hs.name), hs.id").Limit(opt.PerPage).Offset(opt.offset()).Scan(&page.Items).Error
	if err != nil {
		return page, fmt.Errorf("list host sets: %w", err)
	}
	for i := range page.Items {
		page.Items[i].Actions = s.Allowed(ctx, a, hostSetResource(&page.Items[i].HostSet), ActionRead, ActionUpdate, ActionDelete)
	}
	return page, nil
}

// UpdateHostSet changes a host set's name and description; version must
// match (ErrConflict otherwise).
func (s *Store) UpdateHostSet(ctx context.Context, a Actor, id string, version int, in HostSetInput) (*HostSet, error) {
	var out *HostSet
	err := s.changeTx(ctx, a, ActionUpdate, "host-set", id, func(tx *Store) error {
		hs, err := seeItem(ctx, tx, a, "host set", id, hostSetResource)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionUpdate, hostSetResource(hs)); err != nil {
			return err
		}
		in, err = in.validate()
		dup := fmt.Sprintf("Another host set in this catalog is already named %q.", in.Name)
		if err := tx.checkInput(ctx, err, unique{Table: "host_sets", Parent: "catalog_id", ParentID: hs.CatalogID, ExceptID: id,
			Value: in.Name, Message: dup}); err != nil {
			return err
		}
		if err := tx.updateVersioned(ctx, &HostSet{}, "host set", id, version,
			map[string]any{"name": in.Name, "description": in.Description}, dup); err != nil {
			return err
		}
		out, err = first[HostSet](tx.q(ctx), "host set", id)
		return err
	})
	return out, err
}

// AddHostSetMembers adds hosts of the set's own catalog to a host set
// (already present ones are kept). ErrInvalid on "host_ids" for hosts of
// another catalog or unknown ids.
func (s *Store) AddHostSetMembers(ctx context.Context, a Actor, hostSetID string, hostIDs []string) error {
	return s.changeTx(ctx, a, ActionAddHosts, "host-set", hostSetID, func(tx *Store) error {
		hs, err := seeItem(ctx, tx, a, "host set", hostSetID, hostSetResource)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionAddHosts, hostSetResource(hs)); err != nil {
			return err
		}
		if len(uniqueIDs(hostIDs)) == 0 {
			return Invalid("host_ids", "Choose at least one host.")
		}
		return tx.addMembers(ctx, hs, hostIDs)
	})
}

// RemoveHostSetMember takes a host out of a host set. Removing a host that
// is not a member gives ErrNotFound.
func (s *Store) RemoveHostSetMember(ctx context.Context, a Actor, hostSetID, hostID string) error {
	return s.changeTx(ctx, a, ActionRemoveHosts, "host-set", hostSetID, func(tx *Store) error {
		hs, err := seeItem(ctx, tx, a, "host set", hostSetID, hostSetResource)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionRemoveHosts, hostSetResource(hs)); err != nil {
			return err
		}
		if err := tx.beforeSourceRemoval(ctx, hostSetResource(hs), acl.Resource{Type: "host", ID: hostID, ScopeID: hs.ScopeID, ParentID: hs.CatalogID}); err != nil {
			return err
		}
		res := tx.q(ctx).Where("host_set_id = ? AND host_id = ?", hs.ID, hostID).Delete(&HostSetMember{})
		if res.Error != nil {
			return fmt.Errorf("remove host %s from host set %s: %w", hostID, hs.ID, res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("host %s in host set %s: %w", hostID, hs.ID, ErrNotFound)
		}
		return nil
	})
}

// DeleteHostSet deletes a host set (removing it from every target).
func (s *Store) DeleteHostSet(ctx context.Context, a Actor, id string) error {
	return deleteItem(ctx, s, a, "host set", id, hostSetResource)
}
