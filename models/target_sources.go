package models

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"gatehouse/models/acl"

	"gorm.io/gorm/clause"
)

// TargetHostSource makes a host set of the target's project a host source.
type TargetHostSource struct {
	TargetID  string
	HostSetID string
	ScopeID   string
	CreatedAt time.Time
}

// CredentialPurposeBrokered is the only credential source purpose: the
// credential is handed to the session's user.
const CredentialPurposeBrokered = "brokered"

// TargetCredentialSource makes a credential of the target's project a
// brokered credential of the target.
type TargetCredentialSource struct {
	TargetID     string
	CredentialID string
	ScopeID      string
	Purpose      string
	CreatedAt    time.Time
}

// HostSourceView is a host source on a target's page. The name of a host
// set or catalog the actor may not see (no action on it) is its id, with
// HostSetHidden or CatalogHidden set; Hosts counts only the hosts the actor
// may read.
type HostSourceView struct {
	HostSetID     string
	HostSetName   string
	HostSetHidden bool `gorm:"-"`
	CatalogID     string
	CatalogName   string
	CatalogHidden bool `gorm:"-"`
	ScopeID       string
	Hosts         int64
}

// CredentialSourceView is a brokered credential on a target's page. On
// that page, the name and type of a credential the actor may not see are
// its id and "" with CredentialHidden set (they are shown to whoever may
// authorize a session on the target, who gets the credential, as My targets
// does), and the name of a store it may not see is its id with StoreHidden
// set.
type CredentialSourceView struct {
	TargetID         string
	CredentialID     string
	CredentialName   string
	CredentialType   string
	CredentialHidden bool `gorm:"-"`
	StoreID          string
	StoreName        string
	StoreHidden      bool `gorm:"-"`
	ScopeID          string
}

// TargetDetail is a target with its project, sources and actions.
type TargetDetail struct {
	Target
	ProjectName       string
	HostSources       []HostSourceView
	CredentialSources []CredentialSourceView
	// LibrarySources are the attached credential libraries;
	// LibraryChoices those of the project the actor may attach.
	LibrarySources []LibrarySourceView `gorm:"-"`
	LibraryChoices []Choice            `gorm:"-"`
	Actions        map[Action]bool     `gorm:"-"`
}

// GetTarget returns a target with its host and credential sources (by name).
func (s *Store) GetTarget(ctx context.Context, a Actor, id string) (*TargetDetail, error) {
	t, err := s.readTarget(ctx, a, id)
	if err != nil {
		return nil, err
	}
	d := &TargetDetail{Target: *t, Actions: s.Allowed(ctx, a, targetResource(t), ActionUpdate, ActionDelete,
		ActionAddHostSources, ActionRemoveHostSources, ActionAddCredentialSources, ActionRemoveCredentialSources, ActionAuthorizeSession)}
	if err := s.q(ctx).Model(&Scope{}).Select("name").Where("id = ?", t.ScopeID).Scan(&d.ProjectName).Error; err != nil {
		return nil, fmt.Errorf("load project name: %w", err)
	}
	if d.HostSources, err = s.hostSourceViews(ctx, a, t.ID); err != nil {
		return nil, err
	}
	if d.CredentialSources, err = s.credentialSourceViews(ctx, []string{t.ID}); err != nil {
		return nil, err
	}
	for i := range d.CredentialSources {
		c := &d.CredentialSources[i]
		if !d.Actions[ActionAuthorizeSession] && s.authorize(ctx, a, ActionNoOp, acl.Resource{Type: "credential", ID: c.CredentialID, ScopeID: c.ScopeID, ParentID: c.StoreID}) != nil {
			c.CredentialName, c.CredentialType, c.CredentialHidden = c.CredentialID, "", true
		}
		if s.authorize(ctx, a, ActionNoOp, acl.Resource{Type: "credential-store", ID: c.StoreID, ScopeID: c.ScopeID}) != nil {
			c.StoreName, c.StoreHidden = c.StoreID, true
		}
	}
	sort.SliceStable(d.CredentialSources, func(i, j int) bool {
		return strings.ToLower(d.CredentialSources[i].CredentialName) < strings.ToLower(d.CredentialSources[j].CredentialName)
	})
	if err := s.targetLibraries(ctx, a, d); err != nil {
		return nil, err
	}
	return d, nil
}

// hostSourceViews loads a target's host sources for its page, the names of
// host sets and catalogs the actor may not see replaced by their ids.
func (s *Store) hostSourceViews(ctx context.Context, a Actor, targetID string) ([]HostSourceView, error) {
	hosts, args, err := s.visibleCount(ctx, a, "host", "hosts", "h", hostColumns,
		"h.id IN (SELECT m.host_id FROM host_set_members m WHERE m.host_set_id = hs.id)")
	if err != nil {
		return nil, err
	}
	var out []HostSourceView
	err = s.q(ctx).Table("target_host_sources AS x").
		Joins("JOIN host_sets hs ON hs.id = x.host_set_id").Joins("JOIN host_catalogs c ON c.id = hs.catalog_id").
		Where("x.target_id = ?", targetID).
		Select("hs.id AS host_set_id, hs.name AS host_set_name, c.id AS catalog_id, c.name AS catalog_name, hs.scope_id, "+
			hosts+" AS hosts", args...).
		Order("hs.id").Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("load host sources: %w", err)
	}
	for i := range out {
		v := &out[i]
		if s.authorize(ctx, a, ActionNoOp, acl.Resource{Type: "host-set", ID: v.HostSetID, ScopeID: v.ScopeID, ParentID: v.CatalogID}) != nil {
			v.HostSetName, v.HostSetHidden = v.HostSetID, true
		}
		if s.authorize(ctx, a, ActionNoOp, acl.Resource{Type: "host-catalog", ID: v.CatalogID, ScopeID: v.ScopeID}) != nil {
			v.CatalogName, v.CatalogHidden = v.CatalogID, true
		}
	}
	// Sorted by what is shown, so hidden names do not tell their place.
	sort.SliceStable(out, func(i, j int) bool { return strings.ToLower(out[i].HostSetName) < strings.ToLower(out[j].HostSetName) })
	return out, nil
}

// credentialSourceViews loads the brokered credentials of targets, ordered
// by credential name.
func (s *Store) credentialSourceViews(ctx context.Context, targetIDs []string) ([]CredentialSourceView, error) {
	var out []CredentialSourceView
	err := s.q(ctx).Table("target_credential_sources AS y").
		Joins("JOIN credentials cr ON cr.id = y.credential_id").Joins("JOIN credential_stores cs ON cs.id = cr.store_id").
		Where("y.target_id IN ? AND y.purpose = ?", targetIDs, CredentialPurposeBrokered).
		Select("y.target_id, cr.id AS credential_id, cr.name AS credential_name, cr.type AS credential_type, cs.id AS store_id, cs.name AS store_name, cr.scope_id").
		Order("lower(cr.name), cr.id").Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("load credential sources: %w", err)
	}
	return out, nil
}

// AddTargetHostSources adds host sets of the target's own project as host
// sources. Errors on "host_set_ids": none chosen, unknown ids or host sets of
// another project, or a target that has a direct address.
func (s *Store) AddTargetHostSources(ctx context.Context, a Actor, targetID string, hostSetIDs []string) error {
	return s.changeTx(ctx, a, ActionAddHostSources, "target", targetID, func(tx *Store) error {
		t, err := tx.lockTarget(ctx, a, targetID)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionAddHostSources, targetResource(t)); err != nil {
			return err
		}
		ids := uniqueIDs(hostSetIDs)
		switch {
		case len(ids) == 0:
			return Invalid("host_set_ids", "Choose at least one host set.")
		case t.Address != nil:
			return Invalid("host_set_ids", "This target has a direct address: remove it before adding host sources.")
		}
		var n int64
		if err := tx.q(ctx).Model(&HostSet{}).Where("id IN ? AND scope_id = ?", ids, t.ScopeID).Count(&n).Error; err != nil {
			return fmt.Errorf("check host sets: %w", err)
		}
		if int(n) != len(ids) {
			return Invalid("host_set_ids", "Only host sets of the target's own project can be host sources.")
		}
		for _, id := range ids {
			src := TargetHostSource{TargetID: t.ID, HostSetID: id, ScopeID: t.ScopeID, CreatedAt: tx.now()}
			if err := tx.q(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&src).Error; err != nil {
				return fmt.Errorf("add host source %s to target %s: %w", id, t.ID, err)
			}
		}
		return nil
	})
}

// RemoveTargetHostSource removes a host set from a target's host sources
// (ErrNotFound when it is not one).
func (s *Store) RemoveTargetHostSource(ctx context.Context, a Actor, targetID, hostSetID string) error {
	return s.changeTx(ctx, a, ActionRemoveHostSources, "target", targetID, func(tx *Store) error {
		t, err := tx.lockTarget(ctx, a, targetID)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionRemoveHostSources, targetResource(t)); err != nil {
			return err
		}
		if err := tx.beforeSourceRemoval(ctx, targetResource(t), acl.Resource{Type: "host-set", ID: hostSetID, ScopeID: t.ScopeID}); err != nil {
			return err
		}
		res := tx.q(ctx).Where("target_id = ? AND host_set_id = ?", t.ID, hostSetID).Delete(&TargetHostSource{})
		if res.Error != nil {
			return fmt.Errorf("remove host source %s from target %s: %w", hostSetID, t.ID, res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("host source %s of target %s: %w", hostSetID, t.ID, ErrNotFound)
		}
		return nil
	})
}

// AddTargetCredentialSources adds credentials of the target's own project as
// brokered credentials. Errors on "credential_ids": none chosen, unknown ids
// or credentials of another project.
func (s *Store) AddTargetCredentialSources(ctx context.Context, a Actor, targetID string, credentialIDs []string) error {
	return s.addTargetSources(ctx, a, targetID, credentialIDs, credentialSource)
}

// RemoveTargetCredentialSource removes a brokered credential from a target
// (ErrNotFound when it is not one).
func (s *Store) RemoveTargetCredentialSource(ctx context.Context, a Actor, targetID, credentialID string) error {
	return s.removeTargetSource(ctx, a, targetID, credentialID, credentialSource)
}

// targetSourceKind is a kind of item of the target's project that a target
// brokers: static credentials, credential libraries.
type targetSourceKind struct {
	table, column string // the link table and its item column
	itemTable     string // where the items live
	resourceType  string // the item's resource type (the removal hook)
	field         string // the form field of the chosen ids
	none, foreign string // messages: none chosen, not of the project
}

var (
	credentialSource = targetSourceKind{table: "target_credential_sources", column: "credential_id", itemTable: "credentials",
		resourceType: "credential", field: "credential_ids", none: "Choose at least one credential.",
		foreign: "Only credentials of the target's own project can be brokered."}
	libraryAttachment = targetSourceKind{table: "target_library_sources", column: "library_id", itemTable: "credential_libraries",
		resourceType: "credential-library", field: "library_ids", none: "Choose at least one credential library.",
		foreign: "Only credential libraries of the target's own project can be attached."}
)

// addTargetSources links items of kind k of the target's own project to it
// (add-credential-sources on the target); linking one twice changes nothing.
func (s *Store) addTargetSources(ctx context.Context, a Actor, targetID string, itemIDs []string, k targetSourceKind) error {
	return s.changeTx(ctx, a, ActionAddCredentialSources, "target", targetID, func(tx *Store) error {
		t, err := tx.lockTarget(ctx, a, targetID)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionAddCredentialSources, targetResource(t)); err != nil {
			return err
		}
		ids := uniqueIDs(itemIDs)
		if len(ids) == 0 {
			return Invalid(k.field, k.none)
		}
		var n int64
		if err := tx.q(ctx).Table(k.itemTable).Where("id IN ? AND scope_id = ?", ids, t.ScopeID).Count(&n).Error; err != nil {
			return fmt.Errorf("check %s: %w", k.itemTable, err)
		}
		if int(n) != len(ids) {
			return Invalid(k.field, k.foreign)
		}
		for _, id := range ids {
			src := map[string]any{"target_id": t.ID, k.column: id, "scope_id": t.ScopeID, "purpose": CredentialPurposeBrokered, "created_at": tx.now()}
			if err := tx.q(ctx).Table(k.table).Clauses(clause.OnConflict{DoNothing: true}).Create(src).Error; err != nil {
				return fmt.Errorf("add %s %s to target %s: %w", k.resourceType, id, t.ID, err)
			}
		}
		return nil
	})
}

// removeTargetSource unlinks an item of kind k from a target, canceling the
// target's sessions that used it (ErrNotFound when it is not linked).
func (s *Store) removeTargetSource(ctx context.Context, a Actor, targetID, itemID string, k targetSourceKind) error {
	return s.changeTx(ctx, a, ActionRemoveCredentialSources, "target", targetID, func(tx *Store) error {
		t, err := tx.lockTarget(ctx, a, targetID)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionRemoveCredentialSources, targetResource(t)); err != nil {
			return err
		}
		if err := tx.beforeSourceRemoval(ctx, targetResource(t), acl.Resource{Type: k.resourceType, ID: itemID, ScopeID: t.ScopeID}); err != nil {
			return err
		}
		res := tx.q(ctx).Table(k.table).Where("target_id = ? AND "+k.column+" = ? AND purpose = ?", t.ID, itemID, CredentialPurposeBrokered).Delete(nil)
		if res.Error != nil {
			return fmt.Errorf("remove %s %s from target %s: %w", k.resourceType, itemID, t.ID, res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("%s source %s of target %s: %w", k.resourceType, itemID, t.ID, ErrNotFound)
		}
		return nil
	})
}
