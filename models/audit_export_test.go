package models

import (
	"context"
	"time"
)

// Test doors to the warehouse hooks the session code calls.

func (s *Store) WarehouseSessionCreated(ctx context.Context, snap *SessionSnapshot) error {
	return s.warehouseSessionCreated(ctx, snap)
}

func (s *Store) WarehouseSessionsState(ctx context.Context, ids []string, state, reason string, at time.Time) error {
	return s.warehouseSessionsState(ctx, ids, state, reason, at)
}

func (s *Store) WarehouseConnection(ctx context.Context, c *WarehouseConnection) error {
	return s.warehouseConnection(ctx, c)
}

// WithExportBatch returns a Store on the same database whose exports read
// n rows per batch (Options.ExportBatch).
func (s *Store) WithExportBatch(n int) *Store {
	c := *s
	c.opts.ExportBatch = n
	return &c
}
