package models_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// TestSessionChangesAreCoalesced: on Postgres, the session changes queued
// while the first one waits go to the other instances in one notification,
// each session once; a change queued after it was sent goes in the next.
func TestSessionChangesAreCoalesced(t *testing.T) {
	store := dbtest.Open(t, models.Postgres, models.Options{})
	ctx := context.Background()
	sqlDB, err := store.DB().DB()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		if _, err := pc.Exec(ctx, "LISTEN "+models.SessionNotifyChannel); err != nil {
			return err
		}
		next := func(within time.Duration) (string, []string, error) {
			wctx, cancel := context.WithTimeout(ctx, within)
			defer cancel()
			n, err := pc.WaitForNotification(wctx)
			if err != nil {
				return "", nil, err
			}
			inst, changes := models.DecodeSessionChanges(n.Payload)
			var ids []string
			for _, c := range changes {
				ids = append(ids, c.SessionID)
			}
			slices.Sort(ids)
			return inst, ids, nil
		}
		add := store.NotifyQueueForTest("a", 300*time.Millisecond)
		for i := range 3 {
			add([]models.SessionChange{{SessionID: fmt.Sprintf("s_%d", i), UserID: "u_1"}})
		}
		add([]models.SessionChange{{SessionID: "s_0", UserID: "u_1"}})
		inst, ids, err := next(5 * time.Second)
		if err != nil || inst != "a" || !slices.Equal(ids, []string{"s_0", "s_1", "s_2"}) {
			return fmt.Errorf("first notification: %q %v %v", inst, ids, err)
		}
		if _, ids, err := next(600 * time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("a second notification %v, %v: want none", ids, err)
		}
		add([]models.SessionChange{{SessionID: "s_3", UserID: "u_1"}})
		if _, ids, err := next(5 * time.Second); err != nil || !slices.Equal(ids, []string{"s_3"}) {
			return fmt.Errorf("next notification: %v %v", ids, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
