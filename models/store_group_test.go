package models

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// TestGroupedTransaction: use cases written together share one transaction
// but each is all or nothing: the failing one is undone alone (its
// rollback compensations run, its after-commit hooks do not), the others
// commit with their after-commit hooks, and each answers its own result.
func TestGroupedTransaction(t *testing.T) {
	ctx := context.Background()
	db := bareSQLite(t)
	if err := db.Exec("CREATE TABLE t (id text PRIMARY KEY)").Error; err != nil {
		t.Fatal(err)
	}
	s := NewStore(db, SQLite, Options{})
	var hooks []string
	insert := func(ids ...string) func(context.Context, *Store) error {
		return func(ctx context.Context, tx *Store) error {
			for _, id := range ids {
				tx.afterCommit(func() { hooks = append(hooks, "after "+id) })
				tx.onRollback(func() { hooks = append(hooks, "undo "+id) })
				if err := tx.q(ctx).Exec("INSERT INTO t (id) VALUES (?)", id).Error; err != nil {
					return err
				}
			}
			return nil
		}
	}
	boom := errors.New("boom")
	batch := []*groupedTx{
		{ctx: ctx, fn: insert("a")},
		{ctx: ctx, fn: func(ctx context.Context, tx *Store) error {
			if err := insert("b1", "b2")(ctx, tx); err != nil {
				return err
			}
			return boom
		}},
		{ctx: ctx, fn: insert("c", "a")}, // a is taken: unique violation
		{ctx: ctx, fn: insert("d")},
	}
	s.runGrouped(batch)
	if batch[0].err != nil || !errors.Is(batch[1].err, boom) || !isUniqueViolation(batch[2].err) || batch[3].err != nil {
		t.Fatalf("errors %v, %v, %v, %v; want nil, boom, a unique violation, nil", batch[0].err, batch[1].err, batch[2].err, batch[3].err)
	}
	var ids []string
	if err := db.Raw("SELECT id FROM t ORDER BY id").Scan(&ids).Error; err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []string{"a", "d"}) {
		t.Fatalf("rows %v, want [a d]", ids)
	}
	want := []string{"undo b1", "undo b2", "undo c", "undo a", "after a", "after d"}
	if !slices.Equal(hooks, want) {
		t.Fatalf("hooks ran %v, want %v", hooks, want)
	}
	// The connection is usable and outside any transaction afterwards.
	if err := s.Transact(ctx, func(tx *Store) error { return insert("e")(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
}
