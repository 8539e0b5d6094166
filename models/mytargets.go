package models

import (
	"context"
	"fmt"
	"sort"

	"gorm.io/gorm"
)

// MyTargetsOptions are the My targets list parameters: search (target name,
// description, address, and the names and addresses of the hosts of its
// host sources, which the page shows), a project filter and the page.
type MyTargetsOptions struct {
	ListOptions
	ProjectID string
}

// MyTarget is a target on the user's My targets page.
type MyTarget struct {
	Target
	ProjectName string
	OrgID       string
	OrgName     string
	// HostNames are the names of the hosts of the target's host sources,
	// sorted and distinct (empty for a direct address).
	HostNames []string `gorm:"-"`
	// Credentials are the names of the brokered credentials, sorted.
	Credentials []string        `gorm:"-"`
	Actions     map[Action]bool `gorm:"-"`
	// Access is the actor's just-in-time access to the target (the grant
	// in force, or a pending request); see access_targets.go.
	TargetAccess `gorm:"-"`
}

// ProjectRef names a project and its organization (for filters).
type ProjectRef struct {
	ID      string
	Name    string
	OrgName string
}

// MyTargetsPage is one page of My targets and the projects the filter
// offers (every project holding one of the user's targets).
type MyTargetsPage struct {
	Page[MyTarget]
	Projects []ProjectRef
}

// ListMyTargets lists every target, across all projects, on which the actor
// may authorize a session or request access, filtered in SQL. Errors: ErrUnauthenticated.
func (s *Store) ListMyTargets(ctx context.Context, a Actor, opt MyTargetsOptions) (MyTargetsPage, error) {
	opt.ListOptions = opt.norm()
	out := MyTargetsPage{Page: Page[MyTarget]{Page: opt.Page, PerPage: opt.PerPage}}
	cond, args, requests, err := s.myTargetsCondition(ctx, a) // authorize-session, or request-access (access_targets.go)
	if err != nil {
		return out, err
	}
	filtered := func() *gorm.DB {
		q := s.q(ctx).Table("targets AS t").Where(cond, args...)
		if opt.ProjectID != "" {
			q = q.Where("t.scope_id = ?", opt.ProjectID)
		}
		return s.searchMyTargets(q, opt.Search)
	}
	if opt.ProjectID == "" && opt.Search == "" {
		// The landing page: one grouped pass over the actor's targets gives
		// the projects the filter offers and the total, so the condition
		// (one term per granted scope or id) is planned and run once less.
		err = s.myTargetProjectsAndTotal(ctx, cond, args, &out)
	} else {
		err = s.myTargetProjects(ctx, cond, args, &out)
		if err == nil {
			if err = filtered().Count(&out.Total).Error; err != nil {
				err = fmt.Errorf("count my targets: %w", err)
			}
		}
	}
	if err != nil {
		return out, err
	}
	if out.Total == 0 {
		return out, nil
	}
	// The page is chosen on narrow rows (id and sort key), then read whole:
	// sorting every visible target's full row is what a wide query costs.
	page := filtered().Select("t.id").Order("lower(t.name), t.id").Limit(opt.PerPage).Offset(opt.offset())
	err = s.q(ctx).Table("targets AS t").Joins("JOIN scopes p ON p.id = t.scope_id").Joins("JOIN scopes o ON o.id = p.parent_id").
		Where("t.id IN (?)", page).
		Select("t.*, p.name AS project_name, o.id AS org_id, o.name AS org_name").
		Order("lower(t.name), t.id").Scan(&out.Items).Error
	if err != nil {
		return out, fmt.Errorf("list my targets: %w", err)
	}
	if len(out.Items) == 0 {
		return out, nil
	}
	ids := make([]string, len(out.Items))
	for i := range out.Items {
		ids[i] = out.Items[i].ID
	}
	hosts, err := s.targetHostNames(ctx, ids)
	if err != nil {
		return out, err
	}
	creds, err := s.credentialSourceViews(ctx, ids)
	if err != nil {
		return out, err
	}
	names := map[string][]string{}
	for _, c := range creds {
		names[c.TargetID] = append(names[c.TargetID], c.CredentialName)
	}
	for i := range out.Items {
		it := &out.Items[i]
		it.HostNames, it.Credentials = hosts[it.ID], names[it.ID]
		it.Actions = map[Action]bool{ActionAuthorizeSession: true}
		for k, v := range s.Allowed(ctx, a, targetResource(&it.Target), ActionRead) {
			it.Actions[k] = v
		}
		if requests { // some rows may be there for request-access only
			it.Actions = s.Allowed(ctx, a, targetResource(&it.Target), ActionRead, ActionAuthorizeSession, ActionRequestAccess)
		}
	}
	return out, s.withTargetAccess(ctx, a, out.Items)
}

// searchMyTargets keeps the targets whose name, description or address, or
// the name or address of a host of one of its host sources, contains
// search. The host part is one EXISTS per target walking primary keys
// (target_host_sources, then host_set_members, then hosts).
func (s *Store) searchMyTargets(q *gorm.DB, search string) *gorm.DB {
	if search == "" {
		return q
	}
	p := likePattern(search)
	return q.Where("("+s.ilike("t.name")+" OR "+s.ilike("t.description")+" OR "+s.ilike("t.address")+
		" OR EXISTS (SELECT 1 FROM target_host_sources x JOIN host_set_members m ON m.host_set_id = x.host_set_id"+
		" JOIN hosts h ON h.id = m.host_id WHERE x.target_id = t.id AND ("+s.ilike("h.name")+" OR "+s.ilike("h.address")+")))",
		p, p, p, p, p)
}

// myTargetProjects fills the projects the My targets filter offers: those
// holding at least one target matching cond (one index probe per project
// instead of a scan of all targets).
func (s *Store) myTargetProjects(ctx context.Context, cond string, args []any, out *MyTargetsPage) error {
	err := s.q(ctx).Table("scopes AS p").Joins("JOIN scopes o ON o.id = p.parent_id").
		Where("p.type = ? AND EXISTS (SELECT 1 FROM targets t WHERE t.scope_id = p.id AND ("+cond+"))", append([]any{ScopeProject}, args...)...).
		Select("p.id, p.name, o.name AS org_name").Order("o.name, p.name, p.id").Scan(&out.Projects).Error
	if err != nil {
		return fmt.Errorf("list target projects: %w", err)
	}
	return nil
}

// myTargetProjectsAndTotal fills the filter's projects and the number of
// targets matching cond, counted per project in one pass.
func (s *Store) myTargetProjectsAndTotal(ctx context.Context, cond string, args []any, out *MyTargetsPage) error {
	var projects []struct {
		ProjectRef
		Targets int64
	}
	err := s.q(ctx).Table("(SELECT t.scope_id, count(*) AS targets FROM targets AS t WHERE "+cond+" GROUP BY t.scope_id) AS c", args...).
		Joins("JOIN scopes p ON p.id = c.scope_id").Joins("JOIN scopes o ON o.id = p.parent_id").
		Select("p.id, p.name, o.name AS org_name, c.targets").Order("o.name, p.name, p.id").Scan(&projects).Error
	if err != nil {
		return fmt.Errorf("list target projects: %w", err)
	}
	for _, p := range projects {
		out.Projects = append(out.Projects, p.ProjectRef)
		out.Total += p.Targets
	}
	return nil
}

// targetHostNames returns the distinct sorted host names of each target's
// host sources.
func (s *Store) targetHostNames(ctx context.Context, targetIDs []string) (map[string][]string, error) {
	var rows []struct{ TargetID, Name string }
	err := s.q(ctx).Table("target_host_sources AS x").Joins("JOIN host_set_members m ON m.host_set_id = x.host_set_id").
		Joins("JOIN hosts h ON h.id = m.host_id").Where("x.target_id IN ?", targetIDs).
		Select("DISTINCT x.target_id, h.name").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("load target hosts: %w", err)
	}
	out := map[string][]string{}
	for _, r := range rows {
		out[r.TargetID] = append(out[r.TargetID], r.Name)
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out, nil
}
