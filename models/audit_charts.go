package models

import (
	"context"
	"fmt"
	"time"
)

// DayCount is one day of the history charts (UTC days).
type DayCount struct {
	Day       string // YYYY-MM-DD
	Sessions  int64
	BytesUp   int64
	BytesDown int64
}

// LabelCount is one bar of a ranking chart.
type LabelCount struct {
	Label string
	Count int64
}

// HistoryStats are the figures the Session history charts draw.
type HistoryStats struct {
	From, To   time.Time
	PerDay     []DayCount   // every day of [From, To), zeros included
	Reasons    []LabelCount // termination reasons ("live" for sessions not terminated)
	TopTargets []LabelCount // the 10 busiest targets by sessions
	TopUsers   []LabelCount // the 10 busiest users by sessions
}

// HistoryChartDays is the default and the longest range of the charts.
const (
	HistoryChartDays    = 30
	HistoryChartMaxDays = 366
)

// HistoryStats aggregates the filtered history over [f.From, f.To) in SQL:
// sessions and bytes per day, termination reasons, busiest targets and users.
// Without a range it takes the last 30 days; a range is cut to 366 days.
func (s *Store) HistoryStats(ctx context.Context, a Actor, f HistoryFilter) (*HistoryStats, error) {
	if f.To.IsZero() {
		f.To = s.now().Truncate(24 * time.Hour).Add(24 * time.Hour)
	}
	if f.From.IsZero() || f.To.Sub(f.From) > HistoryChartMaxDays*24*time.Hour {
		days := HistoryChartDays
		if !f.From.IsZero() {
			days = HistoryChartMaxDays
		}
		f.From = f.To.Add(-time.Duration(days) * 24 * time.Hour)
	}
	f.From, f.To = f.From.UTC().Truncate(24*time.Hour), f.To.UTC()
	where, args, err := s.historyWhere(ctx, a, f)
	if err != nil {
		return nil, err
	}
	st := &HistoryStats{From: f.From, To: f.To}
	perDay := "SELECT substr(w.created_at, 1, 10) AS day, count(*) AS sessions, sum(w.bytes_up) AS bytes_up, sum(w.bytes_down) AS bytes_down" +
		" FROM warehouse_sessions w WHERE " + where + " GROUP BY 1 ORDER BY 1"
	if s.dialect == Postgres {
		// Grouped by the truncated timestamp, hashed thanks to the
		// statistics on that expression (migration 00010), and formatted
		// once per day: to_char on every row, sorted, cost twice as much.
		perDay = "SELECT to_char(d.day, 'YYYY-MM-DD') AS day, d.sessions, d.bytes_up, d.bytes_down FROM (" +
			"SELECT date_trunc('day', w.created_at AT TIME ZONE 'UTC') AS day, count(*) AS sessions," +
			" sum(w.bytes_up) AS bytes_up, sum(w.bytes_down) AS bytes_down" +
			" FROM warehouse_sessions w WHERE " + where + " GROUP BY 1) d ORDER BY 1"
	}
	db := s.q(ctx)
	var days []DayCount
	err = db.Raw(perDay, args...).Scan(&days).Error
	if err != nil {
		return nil, fmt.Errorf("history per day: %w", err)
	}
	byDay := make(map[string]DayCount, len(days))
	for _, d := range days {
		byDay[d.Day] = d
	}
	for d := f.From; d.Before(f.To); d = d.Add(24 * time.Hour) {
		k := d.Format(time.DateOnly)
		c := byDay[k]
		c.Day = k
		st.PerDay = append(st.PerDay, c)
	}
	// ranking counts sessions per group; the label is the group's name (the
	// greatest of its names when a rename happened).
	ranking := func(group, label string, limit int, dst *[]LabelCount) error {
		q := "SELECT max(" + label + ") AS label, count(*) AS count FROM warehouse_sessions w WHERE " + where +
			" GROUP BY " + group + " ORDER BY 2 DESC, 1"
		if limit > 0 {
			q += fmt.Sprintf(" LIMIT %d", limit)
		}
		return db.Raw(q, args...).Scan(dst).Error
	}
	if err := ranking("w.termination_reason", "CASE WHEN w.termination_reason = '' THEN 'live' ELSE w.termination_reason END", 0, &st.Reasons); err != nil {
		return nil, fmt.Errorf("history reasons: %w", err)
	}
	if err := ranking("w.target_id", "w.target_name", 10, &st.TopTargets); err != nil {
		return nil, fmt.Errorf("history targets: %w", err)
	}
	if err := ranking("w.user_id", "w.user_name", 10, &st.TopUsers); err != nil {
		return nil, fmt.Errorf("history users: %w", err)
	}
	return st, nil
}
