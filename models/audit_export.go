package models

import (
	"context"
	"fmt"
)

// ExportHistory calls emit for every session of the filtered history by
// start (oldest first when f.Oldest; a sort by name is the page's only),
// reading rows from a database cursor so memory stays constant at any
// size. On SQLite (one connection) it reads in keyset batches so
// other requests run between them. emit's error stops the export.
func (s *Store) ExportHistory(ctx context.Context, a Actor, f HistoryFilter, emit func(*HistoryRow) error) error {
	where, args, err := s.historyWhere(ctx, a, f)
	if err != nil {
		return err
	}
	cmp, dir := "<", "DESC"
	if f.Oldest {
		cmp, dir = ">", "ASC"
	}
	batch := 0 // one cursor on Postgres
	if s.dialect == SQLite {
		batch = s.opts.ExportBatch
	}
	var after HistoryCursor
	var row HistoryRow
	for {
		q, qa := historySelect("warehouse_sessions")+" WHERE "+where, args
		if after.SessionID != "" {
			q += " AND (w.created_at, w.session_id) " + cmp + " (?, ?)"
			qa = append(append([]any{}, args...), after.CreatedAt, after.SessionID)
		}
		q += " ORDER BY w.created_at " + dir + ", w.session_id " + dir
		if batch > 0 {
			q += fmt.Sprintf(" LIMIT %d", batch)
		}
		n, err := s.exportBatch(ctx, q, qa, &row, emit)
		if err != nil {
			return err
		}
		if batch == 0 || n < batch {
			return nil
		}
		after = HistoryCursor{CreatedAt: row.CreatedAt, SessionID: row.SessionID}
	}
}

func (s *Store) exportBatch(ctx context.Context, q string, args []any, row *HistoryRow, emit func(*HistoryRow) error) (int, error) {
	rows, err := s.q(ctx).Raw(q, args...).Rows()
	if err != nil {
		return 0, fmt.Errorf("export session history: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		if err := row.scan(rows); err != nil {
			return n, fmt.Errorf("export session history: %w", err)
		}
		n++
		if err := emit(row); err != nil {
			return n, err
		}
	}
	return n, rows.Err()
}

// defaultExportBatch is Options.ExportBatch's default.
const defaultExportBatch = 5000
