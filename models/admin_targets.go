package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// AdminTarget is a target in the global Targets list: the project list's
// item with its project and organization names.
type AdminTarget struct {
	TargetItem
	ProjectName, OrgName string
}

// AdminTargetsPage is a page of the global Targets list and the projects
// its filter offers (those where the actor may create targets or holding
// one it may read).
type AdminTargetsPage struct {
	Page[AdminTarget]
	Projects []ProjectOverview
}

// ListAllTargets lists the targets the actor may read across every
// project (or only projectID), by name, with the projects for the filter
// and their counts. Errors: ErrUnauthenticated.
func (s *Store) ListAllTargets(ctx context.Context, a Actor, projectID string, opt ListOptions) (AdminTargetsPage, error) {
	opt = opt.norm()
	out := AdminTargetsPage{Page: Page[AdminTarget]{Page: opt.Page, PerPage: opt.PerPage}}
	if !a.Authenticated() {
		return out, ErrUnauthenticated
	}
	cond, args, err := s.listCondition(ctx, a, "target", ActionRead, ListColumns{Scope: "t.scope_id", ID: "t.id"})
	if err != nil {
		return out, err
	}
	q := s.q(ctx).Table("targets AS t").Joins("JOIN scopes p ON p.id = t.scope_id JOIN scopes o ON o.id = p.parent_id").Where(cond, args...)
	if projectID != "" {
		q = q.Where("t.scope_id = ?", projectID)
	}
	q = s.searchNameDesc(q, "t", opt.Search, "t.address")
	if err := q.Count(&out.Total).Error; err != nil {
		return out, fmt.Errorf("count targets: %w", err)
	}
	err = q.Select("t.*, p.name AS project_name, o.name AS org_name, " +
		"(SELECT count(*) FROM target_host_sources x WHERE x.target_id = t.id) AS host_sources, " +
		"(SELECT count(*) FROM target_credential_sources y WHERE y.target_id = t.id) AS credential_sources").
		Order("lower(t.name), t.id").Limit(opt.PerPage).Offset(opt.offset()).Scan(&out.Items).Error
	if err != nil {
		return out, fmt.Errorf("list targets: %w", err)
	}
	for i := range out.Items {
		out.Items[i].Actions = s.Allowed(ctx, a, targetResource(&out.Items[i].Target), ActionRead, ActionUpdate, ActionDelete)
	}
	out.Projects, err = s.ProjectOverviews(ctx, a)
	return out, err
}

// ProjectOverview is a project with how much it holds (what the actor may
// see of it) and whether the actor may add targets to it.
type ProjectOverview struct {
	ID, Name, OrgID, OrgName                string
	Targets, HostCatalogs, CredentialStores int64
	// MayAddTarget: the actor may create targets (and host catalogs) there,
	// so the guided new-target flow offers it.
	MayAddTarget bool
	Sections     ProjectSections `gorm:"-"`
}

// ProjectOverviews lists the projects whose infrastructure the actor may
// see (any of its tabs) or add targets to, by organization and name, with
// counts. Errors: ErrUnauthenticated.
func (s *Store) ProjectOverviews(ctx context.Context, a Actor) ([]ProjectOverview, error) {
	if !a.Authenticated() {
		return nil, ErrUnauthenticated
	}
	targets, targs, err := s.visibleCount(ctx, a, "target", "targets", "t", ListColumns{Scope: "t.scope_id", ID: "t.id"}, "t.scope_id = p.id")
	if err != nil {
		return nil, err
	}
	cats, cargs, err := s.visibleCount(ctx, a, "host-catalog", "host_catalogs", "c", ListColumns{Scope: "c.scope_id", ID: "c.id"}, "c.scope_id = p.id")
	if err != nil {
		return nil, err
	}
	stores, sargs, err := s.visibleCount(ctx, a, "credential-store", "credential_stores", "cs", ListColumns{Scope: "cs.scope_id", ID: "cs.id"}, "cs.scope_id = p.id")
	if err != nil {
		return nil, err
	}
	var rows []ProjectOverview
	args := append(append(append([]any{}, targs...), cargs...), sargs...)
	if err := s.q(ctx).Table("scopes AS p").Joins("JOIN scopes o ON o.id = p.parent_id").Where("p.type = ?", ScopeProject).
		Select("p.id, p.name, o.id AS org_id, o.name AS org_name, "+targets+" AS targets, "+cats+" AS host_catalogs, "+stores+" AS credential_stores", args...).
		Order("lower(o.name), lower(p.name), p.id").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	out := rows[:0]
	for _, p := range rows {
		p.Sections = s.ProjectSections(ctx, a, p.ID)
		p.MayAddTarget = s.MayCreate(ctx, a, "target", p.ID, "")
		if p.MayAddTarget || p.Sections.Targets || p.Sections.HostCatalogs || p.Sections.CredentialStores {
			out = append(out, p)
		}
	}
	return out, nil
}

// GuidedTargetInput is the guided new-target flow: a target and, instead
// of a direct address, the hosts to reach (one address per line), for
// which a host catalog, its hosts and a host set are made.
type GuidedTargetInput struct {
	Target TargetInput
	// Hosts, when not empty (and Target.Address empty), are the host
	// addresses: one host per line, optionally "name address".
	Hosts string
	// CatalogName names the new host catalog and host set (default: the
	// target's name followed by " hosts").
	CatalogName string
}

// CreateGuidedTarget makes a target in projectID in one transaction: with
// a direct address, only the target; with Hosts, also a host catalog, one
// host per line, a host set holding them and the set as the target's host
// source. Nothing is left half-made: any refusal rolls everything back.
// Errors: ErrInvalid with the fields of the form ("name", "default_port",
// "address", "hosts", "catalog_name", ...), ErrNotFound, ErrForbidden.
func (s *Store) CreateGuidedTarget(ctx context.Context, a Actor, projectID string, in GuidedTargetInput) (*Target, error) {
	if strings.TrimSpace(projectID) == "" {
		return nil, Invalid("project", "Choose the project the target belongs to.")
	}
	hosts, herr := parseGuidedHosts(in.Hosts)
	in.Target.Address = strings.TrimSpace(in.Target.Address)
	if herr == nil && in.Target.Address == "" && len(hosts) == 0 {
		herr = Invalid("hosts", "Give the target an address, or at least one host.")
	}
	if herr == nil && in.Target.Address != "" && len(hosts) > 0 {
		herr = Invalid("hosts", "Give either an address or hosts, not both.")
	}
	if herr != nil {
		// Check the target's own fields and name too, so every message
		// shows at once.
		if _, _, err := s.checkNewTarget(ctx, a, projectID, in.Target); err != nil {
			if !errors.Is(err, ErrInvalid) {
				return nil, err
			}
			return nil, mergeInvalid(err, herr)
		}
		return nil, herr
	}
	var out *Target
	err := s.Transact(ctx, func(tx *Store) error {
		t, err := tx.CreateTarget(ctx, a, projectID, in.Target)
		if err != nil {
			return err
		}
		out = t
		if len(hosts) == 0 {
			return nil
		}
		name := strings.TrimSpace(in.CatalogName)
		if name == "" {
			name = in.Target.Name + " hosts"
		}
		cat, err := tx.CreateHostCatalog(ctx, a, projectID, HostCatalogInput{Name: name, Description: "Made with the target " + in.Target.Name})
		if err != nil {
			return renameField(err, "name", "catalog_name")
		}
		var ids []string
		for _, h := range hosts {
			host, err := tx.CreateHost(ctx, a, cat.ID, HostInput{Name: h.name, Address: h.address})
			if err != nil {
				return renameField(renameField(err, "address", "hosts"), "name", "hosts")
			}
			ids = append(ids, host.ID)
		}
		set, err := tx.CreateHostSet(ctx, a, cat.ID, HostSetInput{Name: name}, ids)
		if err != nil {
			return renameField(err, "name", "catalog_name")
		}
		return tx.AddTargetHostSources(ctx, a, t.ID, []string{set.ID})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type guidedHost struct{ name, address string }

// parseGuidedHosts reads one host per line: "address" or "name address".
func parseGuidedHosts(text string) ([]guidedHost, error) {
	var out []guidedHost
	seen := map[string]bool{}
	for i, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		switch len(f) {
		case 0:
			continue
		case 1:
			f = []string{f[0], f[0]}
		case 2:
		default:
			return nil, Invalid("hosts", fmt.Sprintf("Line %d: write an address, or a name and an address, per line.", i+1))
		}
		if seen[f[0]] {
			return nil, Invalid("hosts", fmt.Sprintf("Line %d: the host %q is listed twice.", i+1, f[0]))
		}
		seen[f[0]] = true
		out = append(out, guidedHost{name: f[0], address: f[1]})
	}
	if len(out) > 100 {
		return nil, Invalid("hosts", "At most 100 hosts at once.")
	}
	return out, nil
}

// mergeInvalid joins the field messages of two validation errors (a's win).
func mergeInvalid(a, b error) error {
	fields := map[string]string{}
	for k, v := range FieldErrors(b) {
		fields[k] = v
	}
	for k, v := range FieldErrors(a) {
		fields[k] = v
	}
	if len(fields) == 0 {
		return a
	}
	return &ValidationError{Fields: fields}
}

// renameField moves a validation error's message from field from to field
// to (a sub-step's field shown under the guided form's own field); other
// errors pass through.
func renameField(err error, from, to string) error {
	fe := FieldErrors(err)
	msg, ok := fe[from]
	if !ok {
		return err
	}
	fields := map[string]string{}
	for k, v := range fe {
		fields[k] = v
	}
	delete(fields, from)
	fields[to] = msg
	return &ValidationError{Fields: fields}
}
