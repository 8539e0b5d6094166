package models

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"gatehouse/models/acl"

	"gorm.io/gorm"
)

// Helpers shared by the infrastructure resources (host catalogs, hosts, host
// sets, targets, credential stores, credentials).

// beforeInfraDelete is THE HOOK where issue 5 cancels the sessions that use a
// resource being deleted (host, host set, host catalog, target, credential,
// credential store). It runs inside the deleting transaction, before the row
// goes, with the resource that is about to be deleted; an error rolls the
// deletion back. The sessions' records are kept (session_cancel.go).
func (s *Store) beforeInfraDelete(ctx context.Context, res acl.Resource) error {
	_, err := s.CancelSessionsOf(ctx, res)
	return err
}

// beforeSourceRemoval is THE HOOK where issue 5 cancels the sessions of a
// target that used a source being removed from it (a host set, a credential)
// or a host leaving a host set. It runs inside the removing transaction.
// parent is the target (or host set) losing the item, item what it loses.
func (s *Store) beforeSourceRemoval(ctx context.Context, parent, item acl.Resource) error {
	_, err := s.CancelSessionsOfRemoval(ctx, parent, item)
	return err
}

// updateVersioned applies updates to the row id of model's table when its
// version is still version, bumping version and updated_at. A unique
// violation becomes a "name" field error with dupMsg; a stale version
// ErrConflict.
func (s *Store) updateVersioned(ctx context.Context, model any, what, id string, version int, updates map[string]any, dupMsg string) error {
	updates["updated_at"] = s.now()
	updates["version"] = gorm.Expr("version + 1")
	res := s.q(ctx).Model(model).Where("id = ? AND version = ?", id, version).Updates(updates)
	if res.Error != nil {
		if isUniqueViolation(res.Error) {
			return Invalid("name", dupMsg)
		}
		return fmt.Errorf("update %s %s: %w", what, id, res.Error)
	}
	if res.RowsAffected == 0 {
		return stale("update " + what + " " + id)
	}
	return nil
}

// deleteInfra runs the deletion hook and deletes the row id of model's table.
func (s *Store) deleteInfra(ctx context.Context, model any, res acl.Resource) error {
	if err := s.beforeInfraDelete(ctx, res); err != nil {
		return err
	}
	r := s.q(ctx).Where("id = ?", res.ID).Delete(model)
	if r.Error != nil {
		return fmt.Errorf("delete %s %s: %w", res.Type, res.ID, r.Error)
	}
	if r.RowsAffected == 0 {
		return fmt.Errorf("delete %s %s: %w", res.Type, res.ID, ErrNotFound)
	}
	return nil
}

// uniqueIDs trims ids and drops empty and repeated ones, keeping the order.
func uniqueIDs(ids []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// searchNameDesc adds a name/description search on alias's columns.
func (s *Store) searchNameDesc(q *gorm.DB, alias, search string, more ...string) *gorm.DB {
	if search == "" {
		return q
	}
	cols := append([]string{alias + ".name", alias + ".description"}, more...)
	conds := make([]string, len(cols))
	args := make([]any, len(cols))
	for i, c := range cols {
		conds[i] = s.ilike(c)
		args[i] = likePattern(search)
	}
	return q.Where("("+strings.Join(conds, " OR ")+")", args...)
}

// Filters of the child lists, shared by the lists and by every count of
// their items shown elsewhere (catalog and store pages and lists, host set
// members, target sources), so that a count never tells more than its list.
var (
	hostColumns       = ListColumns{Scope: "h.scope_id", ID: "h.id", Parent: "h.catalog_id"}
	hostSetColumns    = ListColumns{Scope: "hs.scope_id", ID: "hs.id", Parent: "hs.catalog_id"}
	credentialColumns = ListColumns{Scope: "cr.scope_id", ID: "cr.id", Parent: "cr.store_id"}
)

// visibleCount returns a correlated subquery counting the rows of "table
// AS alias" that match link (e.g. "h.catalog_id = c.id") and that the
// actor may read, filtered as their list is (listCondition with read), to
// be used in a Select with its arguments.
func (s *Store) visibleCount(ctx context.Context, a Actor, resourceType, table, alias string, cols ListColumns, link string) (string, []any, error) {
	cond, args, err := s.listCondition(ctx, a, resourceType, ActionRead, cols)
	if err != nil {
		return "", nil, err
	}
	return "(SELECT count(*) FROM " + table + " AS " + alias + " WHERE " + link + " AND " + cond + ")", args, nil
}

// seeItem loads the row id of an infrastructure table for a change
// (update, delete, members, sources) and checks only that the actor may see
// it (any action on it: no-op), as Boundary does: the use case then checks
// its own action. ErrNotFound for unknown or invisible ids.
func seeItem[T any](ctx context.Context, s *Store, a Actor, what, id string, res func(*T) acl.Resource) (*T, error) {
	row, err := first[T](s.q(ctx), what, id)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, a, ActionNoOp, res(row)); err != nil {
		return nil, notFoundIfHidden(err)
	}
	return row, nil
}

// updateItem is the update use case of an infrastructure item, in one
// transaction: see it (seeItem), check update on it, then changes validates
// the input against the row and returns the columns to set and where its
// name must be unique (checkInput: the name's message joins the other
// fields'), and the row is updated at version (ErrConflict otherwise) and
// read back.
func updateItem[T any](ctx context.Context, s *Store, a Actor, what, id string, version int, res func(*T) acl.Resource, changes func(row *T) (map[string]any, unique, error)) (*T, error) {
	var out *T
	err := s.changeTx(ctx, a, ActionUpdate, changeType(what), id, func(tx *Store) error {
		row, err := seeItem(ctx, tx, a, what, id, res)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionUpdate, res(row)); err != nil {
			return err
		}
		updates, u, err := changes(row)
		u.ExceptID = id
		if err := tx.checkInput(ctx, err, u); err != nil {
			return err
		}
		if err := tx.updateVersioned(ctx, new(T), what, id, version, updates, u.Message); err != nil {
			return err
		}
		out, err = first[T](tx.q(ctx), what, id)
		return err
	})
	return out, err
}

// deleteItem is the delete use case of an infrastructure item, in one
// transaction: see it (seeItem), check delete on it, and delete it with
// what depends on it (deleteInfra).
func deleteItem[T any](ctx context.Context, s *Store, a Actor, what, id string, res func(*T) acl.Resource) error {
	return s.changeTx(ctx, a, ActionDelete, changeType(what), id, func(tx *Store) error {
		row, err := seeItem(ctx, tx, a, what, id, res)
		if err != nil {
			return err
		}
		r := res(row)
		if err := tx.authorize(ctx, a, ActionDelete, r); err != nil {
			return err
		}
		return tx.deleteInfra(ctx, new(T), r)
	})
}

// readItem loads row id of a table and checks read on it; ErrNotFound for
// unknown ids and for ids the actor may not see (never told apart).
func readItem[T any](ctx context.Context, s *Store, a Actor, what, id string, res func(*T) acl.Resource) (*T, error) {
	row, err := first[T](s.q(ctx), what, id)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, a, ActionRead, res(row)); err != nil {
		return nil, notFoundIfHidden(err)
	}
	return row, nil
}

// createNamed is the create use case of a named project-level item (host
// catalog, credential store), in one transaction: check create in the
// project (projectForInfra), validate the input and check that its name is
// free in table's project (checkInput: one set of field messages), insert
// the row build makes (and names); a duplicate name is ErrInvalid on field
// "name".
func createNamed[T, I any](ctx context.Context, s *Store, a Actor, projectID, resourceType, what, table string, validate func() (I, error), build func(p *Scope, in I, now time.Time) (row *T, name string)) (*T, error) {
	var out *T
	err := s.createTx(ctx, a, resourceType, func() string { return reflect.ValueOf(out).Elem().FieldByName("ID").String() }, func(tx *Store) error {
		p, err := tx.projectForInfra(ctx, a, projectID, resourceType)
		if err != nil {
			return err
		}
		in, err := validate()
		row, name := build(p, in, tx.now())
		dup := fmt.Sprintf("%s already has a %s named %q.", p.Name, what, name)
		if err := tx.checkInput(ctx, err, unique{Table: table, Parent: "scope_id", ParentID: p.ID, Value: name, Message: dup}); err != nil {
			return err
		}
		if err := tx.q(ctx).Create(row).Error; err != nil {
			if isUniqueViolation(err) {
				return Invalid("name", dup)
			}
			return fmt.Errorf("create %s: %w", what, err)
		}
		out = row
		return nil
	})
	return out, err
}
