package models

import (
	"context"
	"fmt"
	"time"

	"gatehouse/models/acl"
)

// Target defaults and the only target type.
const (
	TargetTCP                = "tcp"
	DefaultSessionMaxSeconds = 28800 // 8 h
	UnlimitedConnections     = -1
)

// Target is something users connect to (type tcp) in a project: a direct
// Address or host sources (host sets), never both, and the session settings
// fixed on each session at its start.
type Target struct {
	ID          string
	ScopeID     string
	Type        string
	Name        string
	Description string
	DefaultPort int
	// Address is the direct address (host name or IP), nil with host sources.
	Address *string
	// SessionMaxSeconds bounds a session's life (> 0).
	SessionMaxSeconds int
	// SessionConnectionLimit is UnlimitedConnections (-1) or > 0.
	SessionConnectionLimit int
	CreatedAt              time.Time
	UpdatedAt              time.Time
	Version                int
}

// AddressText is the direct address, or "" when the target uses host sources.
func (t Target) AddressText() string {
	if t.Address == nil {
		return ""
	}
	return *t.Address
}

// TargetInput is the target form. Go callers set SessionMaxSeconds to
// DefaultSessionMaxSeconds and SessionConnectionLimit to
// UnlimitedConnections for the defaults; zero values are invalid.
type TargetInput struct {
	Name                   string
	Description            string
	DefaultPort            int
	Address                string
	SessionMaxSeconds      int
	SessionConnectionLimit int
}

// TargetItem is a target in an admin list with what the actor may do to it.
type TargetItem struct {
	Target
	HostSources       int64
	CredentialSources int64
	Actions           map[Action]bool `gorm:"-"`
}

func (in TargetInput) validate() (TargetInput, error) {
	v := validator{}
	in.Name = v.text("name", "Name", in.Name, true, 128)
	in.Description = v.text("description", "Description", in.Description, false, 1024)
	in.Address = v.address("address", "Address", in.Address, false)
	if in.DefaultPort < 1 || in.DefaultPort > 65535 {
		v.add("default_port", "Default port must be a number between 1 and 65535.")
	}
	if in.SessionMaxSeconds <= 0 {
		v.add("session_max_seconds", "Maximum session length must be longer than 0.")
	} else if in.SessionMaxSeconds > 366*24*3600 {
		v.add("session_max_seconds", "Maximum session length must be at most 366 days.")
	}
	if in.SessionConnectionLimit != UnlimitedConnections && in.SessionConnectionLimit <= 0 {
		v.add("session_connection_limit", "Choose Unlimited, or a connection limit of at least 1.")
	}
	return in, v.err()
}

func targetResource(t *Target) acl.Resource {
	return acl.Resource{Type: "target", ID: t.ID, ScopeID: t.ScopeID}
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// CreateTarget creates a tcp target in a project. Host sources and brokered
// credentials are added afterwards (AddTargetHostSources,
// AddTargetCredentialSources). Errors: ErrInvalid (bad input, duplicate name
// in the project, scope not a project), ErrNotFound, ErrForbidden.
func (s *Store) CreateTarget(ctx context.Context, a Actor, projectID string, in TargetInput) (*Target, error) {
	var out *Target
	err := s.createTx(ctx, a, "target", func() string { return out.ID }, func(tx *Store) error {
		p, in, err := tx.checkNewTarget(ctx, a, projectID, in)
		if err != nil {
			return err
		}
		t := &Target{ID: NewID(PrefixTarget), ScopeID: p.ID, Type: TargetTCP, Name: in.Name, Description: in.Description,
			DefaultPort: in.DefaultPort, Address: nilIfEmpty(in.Address), SessionMaxSeconds: in.SessionMaxSeconds,
			SessionConnectionLimit: in.SessionConnectionLimit, CreatedAt: tx.now(), UpdatedAt: tx.now(), Version: 1}
		if err := tx.q(ctx).Create(t).Error; err != nil {
			if isUniqueViolation(err) {
				return Invalid("name", fmt.Sprintf("%s already has a target named %q.", p.Name, in.Name))
			}
			return fmt.Errorf("create target: %w", err)
		}
		out = t
		return nil
	})
	return out, err
}

// checkNewTarget checks that the actor may create a target in projectID and
// that in is valid, its name free in the project (one set of field
// messages); it returns the project and the cleaned input.
func (s *Store) checkNewTarget(ctx context.Context, a Actor, projectID string, in TargetInput) (*Scope, TargetInput, error) {
	p, err := s.projectForInfra(ctx, a, projectID, "target")
	if err != nil {
		return nil, in, err
	}
	in, err = in.validate()
	return p, in, s.checkInput(ctx, err, unique{Table: "targets", Parent: "scope_id", ParentID: p.ID, Value: in.Name,
		Message: fmt.Sprintf("%s already has a target named %q.", p.Name, in.Name)})
}

func (s *Store) readTarget(ctx context.Context, a Actor, id string) (*Target, error) {
	return readItem(ctx, s, a, "target", id, targetResource)
}

// lockTarget loads a target for a change of its settings or sources,
// locking its row until the transaction ends (Postgres). It checks only
// that the actor may see the target (any action: no-op, ErrNotFound
// otherwise); the caller checks its own action (update, delete, …), which
// needs no read, as in Boundary.
func (s *Store) lockTarget(ctx context.Context, a Actor, id string) (*Target, error) {
	t, err := first[Target](s.forUpdate(s.q(ctx)), "target", id)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, a, ActionNoOp, targetResource(t)); err != nil {
		return nil, notFoundIfHidden(err)
	}
	return t, nil
}

// ListTargets lists the targets of a project the actor may see (admin
// list), searching name, description and address.
func (s *Store) ListTargets(ctx context.Context, a Actor, projectID string, opt ListOptions) (Page[TargetItem], error) {
	opt = opt.norm()
	page := Page[TargetItem]{Page: opt.Page, PerPage: opt.PerPage}
	if _, err := s.projectCollection(ctx, a, projectID, "target", ActionList); err != nil {
		return page, err
	}
	cond, args, err := s.listCondition(ctx, a, "target", ActionRead, ListColumns{Scope: "t.scope_id", ID: "t.id"})
	if err != nil {
		return page, err
	}
	q := s.q(ctx).Table("targets AS t").Where("t.scope_id = ?", projectID).Where(cond, args...)
	q = s.searchNameDesc(q, "t", opt.Search, "t.address")
	if err := q.Count(&page.Total).Error; err != nil {
		return page, fmt.Errorf("count targets: %w", err)
	}
	err = q.Select("t.*, (SELECT count(*) FROM target_host_sources x WHERE x.target_id = t.id) AS host_sources, " +
		"(SELECT count(*) FROM target_credential_sources y WHERE y.target_id = t.id) AS credential_sources").
		Order("lower(t.name), t.id").Limit(opt.PerPage).Offset(opt.offset()).Scan(&page.Items).Error
	if err != nil {
		return page, fmt.Errorf("list targets: %w", err)
	}
	for i := range page.Items {
		page.Items[i].Actions = s.Allowed(ctx, a, targetResource(&page.Items[i].Target), ActionRead, ActionUpdate, ActionDelete)
	}
	return page, nil
}

// UpdateTarget changes a target's settings; version must match (ErrConflict
// otherwise). Giving an address to a target with host sources is refused on
// "address".
func (s *Store) UpdateTarget(ctx context.Context, a Actor, id string, version int, in TargetInput) (*Target, error) {
	var out *Target
	err := s.changeTx(ctx, a, ActionUpdate, "target", id, func(tx *Store) error {
		t, err := tx.lockTarget(ctx, a, id)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionUpdate, targetResource(t)); err != nil {
			return err
		}
		in, err = in.validate()
		dup := fmt.Sprintf("Another target in this project is already named %q.", in.Name)
		if err := tx.checkInput(ctx, err, unique{Table: "targets", Parent: "scope_id", ParentID: t.ScopeID, ExceptID: id,
			Value: in.Name, Message: dup}); err != nil {
			return err
		}
		if in.Address != "" {
			var n int64
			if err := tx.q(ctx).Model(&TargetHostSource{}).Where("target_id = ?", id).Count(&n).Error; err != nil {
				return fmt.Errorf("count host sources: %w", err)
			}
			if n > 0 {
				return Invalid("address", "This target has host sources: remove them before giving it a direct address.")
			}
		}
		if err := tx.updateVersioned(ctx, &Target{}, "target", id, version, map[string]any{
			"name": in.Name, "description": in.Description, "default_port": in.DefaultPort, "address": nilIfEmpty(in.Address),
			"session_max_seconds": in.SessionMaxSeconds, "session_connection_limit": in.SessionConnectionLimit,
		}, dup); err != nil {
			return err
		}
		out, err = first[Target](tx.q(ctx), "target", id)
		return err
	})
	return out, err
}

// DeleteTarget deletes a target with its host and credential sources.
func (s *Store) DeleteTarget(ctx context.Context, a Actor, id string) error {
	return s.changeTx(ctx, a, ActionDelete, "target", id, func(tx *Store) error {
		t, err := tx.lockTarget(ctx, a, id)
		if err != nil {
			return err
		}
		res := targetResource(t)
		if err := tx.authorize(ctx, a, ActionDelete, res); err != nil {
			return err
		}
		return tx.deleteInfra(ctx, &Target{}, res)
	})
}
