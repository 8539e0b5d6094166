package models

import (
	"context"
	"fmt"
	"time"

	"gatehouse/models/acl"
)

// Host is a machine of a static host catalog: a name and an address (host
// name or IP address, without port).
type Host struct {
	ID          string
	CatalogID   string
	ScopeID     string
	Name        string
	Description string
	Address     string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int
}

// HostInput is the host form.
type HostInput struct {
	Name        string
	Description string
	Address     string
}

// HostItem is a host in a list with what the actor may do to it.
type HostItem struct {
	Host
	Actions map[Action]bool `gorm:"-"`
}

func (in HostInput) validate() (HostInput, error) {
	v := validator{}
	in.Name = v.text("name", "Name", in.Name, true, 128)
	in.Description = v.text("description", "Description", in.Description, false, 1024)
	in.Address = v.address("address", "Address", in.Address, true)
	return in, v.err()
}

func hostResource(h *Host) acl.Resource {
	return acl.Resource{Type: "host", ID: h.ID, ScopeID: h.ScopeID, ParentID: h.CatalogID}
}

// CreateHost adds a host to a catalog. Errors: ErrInvalid (bad input, a name
// already used in the catalog), ErrNotFound, ErrForbidden.
func (s *Store) CreateHost(ctx context.Context, a Actor, catalogID string, in HostInput) (*Host, error) {
	var out *Host
	err := s.createTx(ctx, a, "host", func() string { return out.ID }, func(tx *Store) error {
		c, err := tx.readHostCatalog(ctx, a, catalogID)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionCreate, acl.Resource{Type: "host", ScopeID: c.ScopeID, ParentID: c.ID}); err != nil {
			return err
		}
		in, err = in.validate()
		if err := tx.checkInput(ctx, err, unique{Table: "hosts", Parent: "catalog_id", ParentID: c.ID, Value: in.Name,
			Message: fmt.Sprintf("%s already has a host named %q.", c.Name, in.Name)}); err != nil {
			return err
		}
		h := &Host{ID: NewID(PrefixHost), CatalogID: c.ID, ScopeID: c.ScopeID, Name: in.Name, Description: in.Description,
			Address: in.Address, CreatedAt: tx.now(), UpdatedAt: tx.now(), Version: 1}
		if err := tx.q(ctx).Create(h).Error; err != nil {
			if isUniqueViolation(err) {
				return Invalid("name", fmt.Sprintf("%s already has a host named %q.", c.Name, in.Name))
			}
			return fmt.Errorf("create host: %w", err)
		}
		out = h
		return nil
	})
	return out, err
}

func (s *Store) readHost(ctx context.Context, a Actor, id string) (*Host, error) {
	return readItem(ctx, s, a, "host", id, hostResource)
}

// GetHost returns one host with its actions.
func (s *Store) GetHost(ctx context.Context, a Actor, id string) (*HostItem, error) {
	h, err := s.readHost(ctx, a, id)
	if err != nil {
		return nil, err
	}
	return &HostItem{Host: *h, Actions: s.Allowed(ctx, a, hostResource(h), ActionUpdate, ActionDelete)}, nil
}

// ListHosts lists the hosts of a catalog the actor may see, searching name,
// description and address.
func (s *Store) ListHosts(ctx context.Context, a Actor, catalogID string, opt ListOptions) (Page[HostItem], error) {
	opt = opt.norm()
	page := Page[HostItem]{Page: opt.Page, PerPage: opt.PerPage}
	c, err := s.readHostCatalog(ctx, a, catalogID)
	if err != nil {
		return page, err
	}
	if err := s.authorize(ctx, a, ActionList, acl.Resource{Type: "host", ScopeID: c.ScopeID, ParentID: c.ID}); err != nil {
		return page, err
	}
	cond, args, err := s.listCondition(ctx, a, "host", ActionRead, ListColumns{Scope: "h.scope_id", ID: "h.id", Parent: "h.catalog_id"})
	if err != nil {
		return page, err
	}
	q := s.q(ctx).Table("hosts AS h").Where("h.catalog_id = ?", c.ID).Where(cond, args...)
	q = s.searchNameDesc(q, "h", opt.Search, "h.address")
	if err := q.Count(&page.Total).Error; err != nil {
		return page, fmt.Errorf("count hosts: %w", err)
	}
	if err := q.Select("h.*").Order("lower(h.name), h.id").Limit(opt.PerPage).Offset(opt.offset()).Scan(&page.Items).Error; err != nil {
		return page, fmt.Errorf("list hosts: %w", err)
	}
	for i := range page.Items {
		page.Items[i].Actions = s.Allowed(ctx, a, hostResource(&page.Items[i].Host), ActionRead, ActionUpdate, ActionDelete)
	}
	return page, nil
}

// UpdateHost changes a host; version must match (ErrConflict otherwise).
func (s *Store) UpdateHost(ctx context.Context, a Actor, id string, version int, in HostInput) (*Host, error) {
	var out *Host
	err := s.changeTx(ctx, a, ActionUpdate, "host", id, func(tx *Store) error {
		h, err := seeItem(ctx, tx, a, "host", id, hostResource)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionUpdate, hostResource(h)); err != nil {
			return err
		}
		in, err = in.validate()
		dup := fmt.Sprintf("Another host in this catalog is already named %q.", in.Name)
		if err := tx.checkInput(ctx, err, unique{Table: "hosts", Parent: "catalog_id", ParentID: h.CatalogID, ExceptID: id,
			Value: in.Name, Message: dup}); err != nil {
			return err
		}
		if err := tx.updateVersioned(ctx, &Host{}, "host", id, version,
			map[string]any{"name": in.Name, "description": in.Description, "address": in.Address}, dup); err != nil {
			return err
		}
		out, err = first[Host](tx.q(ctx), "host", id)
		return err
	})
	return out, err
}

// DeleteHost deletes a host (leaving every host set it was in).
func (s *Store) DeleteHost(ctx context.Context, a Actor, id string) error {
	return deleteItem(ctx, s, a, "host", id, hostResource)
}
