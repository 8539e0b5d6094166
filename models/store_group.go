package models

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// Group commit of whole use cases on SQLite (issue 17). SQLite has one
// writer: concurrent session starts queue for it, and each spent about a
// third of its time holding it in its commit (WAL frames, checkpoints).
// transactGrouped lets the use cases that arrive while one is being
// written run together in one transaction, each inside its own savepoint:
// a use case that fails is rolled back to its savepoint alone and answers
// its error; the others commit together, once. Each is still all or
// nothing, and a failed commit fails every one of them (nothing of any is
// written). A lone use case runs as a plain Transact: no added wait.
// Postgres, with many connections and row locks, runs each in its own
// transaction.

// maxGroupedTx bounds the use cases that share one transaction.
const maxGroupedTx = 64

type groupedTx struct {
	ctx context.Context
	fn  func(ctx context.Context, tx *Store) error
	err error
}

// transactGrouped runs fn in one transaction like Transact, possibly
// together with other calls' (see above). fn gets the context to use for
// its statements: on a shared transaction no caller's cancellation may cut
// the others' statements short, so it is ctx's values without its
// cancellation, bounded by the batch's admitBatchTimeout (whose end rolls
// the whole batch back).
func (s *Store) transactGrouped(ctx context.Context, fn func(ctx context.Context, tx *Store) error) error {
	if s.inTx || s.dialect != SQLite || s.grouped == nil {
		return s.Transact(ctx, func(tx *Store) error { return fn(ctx, tx) })
	}
	r := &groupedTx{ctx: ctx, fn: fn}
	s.grouped.do("", r, s.runGrouped)
	return r.err
}

// runGrouped writes one batch of transactGrouped calls and answers each.
func (s *Store) runGrouped(batch []*groupedTx) {
	if len(batch) == 1 {
		r := batch[0]
		r.err = s.Transact(r.ctx, func(tx *Store) error { return r.fn(r.ctx, tx) })
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(batch[0].ctx), admitBatchTimeout)
	defer cancel()
	type part struct{ after, undo []func() }
	parts := make([]part, len(batch))
	var search []string // every use case's, written once before the commit
	err := s.db.WithContext(ctx).Transaction(func(gtx *gorm.DB) error {
		for i, r := range batch {
			if err := gtx.Exec("SAVEPOINT grouped").Error; err != nil {
				return err
			}
			// r's context values, the batch's deadline.
			rctx, rcancel := context.WithCancel(context.WithoutCancel(r.ctx))
			stop := context.AfterFunc(ctx, rcancel)
			p := &parts[i]
			r.err = r.fn(rctx, s.txStore(gtx, &p.after, &p.undo, &search))
			stop()
			rcancel()
			if r.err == nil {
				if err := gtx.Exec("RELEASE SAVEPOINT grouped").Error; err != nil {
					return err
				}
				continue
			}
			// This one alone is undone; a failure to undo it (the
			// transaction itself is gone) fails the whole batch.
			if err := gtx.Exec("ROLLBACK TO SAVEPOINT grouped").Error; err != nil {
				return fmt.Errorf("roll back to savepoint: %w", err)
			}
			if err := gtx.Exec("RELEASE SAVEPOINT grouped").Error; err != nil {
				return err
			}
			for _, f := range p.undo {
				f()
			}
			p.after, p.undo = nil, nil
		}
		// Those rolled back to their savepoint have no warehouse row:
		// writeSearchRows finds none for them.
		return s.txStore(gtx, nil, nil, nil).writeSearchRows(ctx, search)
	})
	for i, r := range batch {
		p := parts[i]
		switch {
		case err != nil:
			for _, f := range p.undo {
				f()
			}
			if r.err == nil {
				r.err = fmt.Errorf("grouped transaction: %w", err)
			}
		case r.err == nil:
			for _, f := range p.after {
				f()
			}
		}
	}
}
