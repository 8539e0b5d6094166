package models

import (
	"context"
	"fmt"
	"time"

	"gatehouse/models/acl"
)

// HostCatalogStatic is the only host catalog type: hosts entered by hand.
const HostCatalogStatic = "static"

// HostCatalog is a static catalog of hosts and host sets in a project.
type HostCatalog struct {
	ID          string
	ScopeID     string
	Type        string
	Name        string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int
}

// HostCatalogInput is the host catalog form.
type HostCatalogInput struct {
	Name        string
	Description string
}

// HostCatalogItem is a catalog in a list or on its page, with counts and
// what the actor may do to it.
type HostCatalogItem struct {
	HostCatalog
	Hosts    int64
	HostSets int64
	Actions  map[Action]bool `gorm:"-"`
	// MayListHosts and MayListHostSets tell whether the actor may list the
	// catalog's hosts and host sets (GetHostCatalog only): the page shows
	// only those tabs.
	MayListHosts, MayListHostSets bool `gorm:"-"`
}

func (in HostCatalogInput) validate() (HostCatalogInput, error) {
	v := validator{}
	in.Name = v.text("name", "Name", in.Name, true, 128)
	in.Description = v.text("description", "Description", in.Description, false, 1024)
	return in, v.err()
}

func hostCatalogResource(c *HostCatalog) acl.Resource {
	return acl.Resource{Type: "host-catalog", ID: c.ID, ScopeID: c.ScopeID}
}

// CreateHostCatalog creates a static host catalog in a project. Errors:
// ErrInvalid (bad input, duplicate name in the project, scope not a project),
// ErrNotFound, ErrForbidden.
func (s *Store) CreateHostCatalog(ctx context.Context, a Actor, projectID string, in HostCatalogInput) (*HostCatalog, error) {
	return createNamed(ctx, s, a, projectID, "host-catalog", "host catalog", "host_catalogs", in.validate, func(p *Scope, in HostCatalogInput, now time.Time) (*HostCatalog, string) {
		return &HostCatalog{ID: NewID(PrefixHostCatalog), ScopeID: p.ID, Type: HostCatalogStatic, Name: in.Name,
			Description: in.Description, CreatedAt: now, UpdatedAt: now, Version: 1}, in.Name
	})
}

func (s *Store) readHostCatalog(ctx context.Context, a Actor, id string) (*HostCatalog, error) {
	return readItem(ctx, s, a, "host catalog", id, hostCatalogResource)
}

// GetHostCatalog returns one catalog with its counts and actions (create
// means: may create hosts and host sets in it). ErrNotFound for unknown or
// invisible ids.
func (s *Store) GetHostCatalog(ctx context.Context, a Actor, id string) (*HostCatalogItem, error) {
	c, err := s.readHostCatalog(ctx, a, id)
	if err != nil {
		return nil, err
	}
	item := &HostCatalogItem{HostCatalog: *c, Actions: s.Allowed(ctx, a, hostCatalogResource(c), ActionUpdate, ActionDelete)}
	child := acl.Resource{Type: "host", ScopeID: c.ScopeID, ParentID: c.ID}
	item.Actions[ActionCreate] = s.authorize(ctx, a, ActionCreate, child) == nil
	item.MayListHosts = s.authorize(ctx, a, ActionList, child) == nil
	item.MayListHostSets = s.authorize(ctx, a, ActionList, acl.Resource{Type: "host-set", ScopeID: c.ScopeID, ParentID: c.ID}) == nil
	// The counts are those of the hosts and host sets tabs' lists.
	hosts, hargs, err := s.visibleCount(ctx, a, "host", "hosts", "h", hostColumns, "h.catalog_id = c.id")
	if err != nil {
		return nil, err
	}
	sets, sargs, err := s.visibleCount(ctx, a, "host-set", "host_sets", "hs", hostSetColumns, "hs.catalog_id = c.id")
	if err != nil {
		return nil, err
	}
	var counts struct{ Hosts, HostSets int64 }
	err = s.q(ctx).Table("host_catalogs AS c").Where("c.id = ?", id).
		Select(hosts+" AS hosts, "+sets+" AS host_sets", append(hargs, sargs...)...).Scan(&counts).Error
	if err != nil {
		return nil, fmt.Errorf("count hosts and host sets: %w", err)
	}
	item.Hosts, item.HostSets = counts.Hosts, counts.HostSets
	return item, nil
}

// ListHostCatalogs lists the catalogs of a project the actor may see,
// searching name and description, one page at a time.
func (s *Store) ListHostCatalogs(ctx context.Context, a Actor, projectID string, opt ListOptions) (Page[HostCatalogItem], error) {
	opt = opt.norm()
	page := Page[HostCatalogItem]{Page: opt.Page, PerPage: opt.PerPage}
	if _, err := s.projectCollection(ctx, a, projectID, "host-catalog", ActionList); err != nil {
		return page, err
	}
	cond, args, err := s.listCondition(ctx, a, "host-catalog", ActionRead, ListColumns{Scope: "c.scope_id", ID: "c.id"})
	if err != nil {
		return page, err
	}
	q := s.q(ctx).Table("host_catalogs AS c").Where("c.scope_id = ?", projectID).Where(cond, args...)
	q = s.searchNameDesc(q, "c", opt.Search)
	if err := q.Count(&page.Total).Error; err != nil {
		return page, fmt.Errorf("count host catalogs: %w", err)
	}
	hosts, hargs, err := s.visibleCount(ctx, a, "host", "hosts", "h", hostColumns, "h.catalog_id = c.id")
	if err != nil {
		return page, err
	}
	sets, sargs, err := s.visibleCount(ctx, a, "host-set", "host_sets", "hs", hostSetColumns, "hs.catalog_id = c.id")
	if err != nil {
		return page, err
	}
	err = q.Select("c.*, "+hosts+" AS hosts, "+sets+" AS host_sets", append(hargs, sargs...)...).
		Order("lower(c.name), c.id").Limit(opt.PerPage).Offset(opt.offset()).Scan(&page.Items).Error
	if err != nil {
		return page, fmt.Errorf("list host catalogs: %w", err)
	}
	for i := range page.Items {
		page.Items[i].Actions = s.Allowed(ctx, a, hostCatalogResource(&page.Items[i].HostCatalog), ActionRead, ActionUpdate, ActionDelete)
	}
	return page, nil
}

// UpdateHostCatalog changes a catalog's name and description; version must
// be the one the editor saw (ErrConflict otherwise).
func (s *Store) UpdateHostCatalog(ctx context.Context, a Actor, id string, version int, in HostCatalogInput) (*HostCatalog, error) {
	return updateItem(ctx, s, a, "host catalog", id, version, hostCatalogResource, func(c *HostCatalog) (map[string]any, unique, error) {
		in, err := in.validate()
		return map[string]any{"name": in.Name, "description": in.Description}, unique{Table: "host_catalogs", Parent: "scope_id",
			ParentID: c.ScopeID, Value: in.Name, Message: fmt.Sprintf("Another host catalog in this project is already named %q.", in.Name)}, err
	})
}

// DeleteHostCatalog deletes a catalog with its hosts and host sets (and so
// removes those host sets from every target), in one transaction.
func (s *Store) DeleteHostCatalog(ctx context.Context, a Actor, id string) error {
	return deleteItem(ctx, s, a, "host catalog", id, hostCatalogResource)
}
