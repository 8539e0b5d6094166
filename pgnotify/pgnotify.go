// Package pgnotify listens to Postgres notifications of session changes made
// by other Gatehouse instances (models.SessionNotifyChannel) and hands them
// to the local live broker. It owns one pgx connection, reconnecting with
// backoff until its context ends.
package pgnotify

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"gatehouse/models"
)

// Sink receives the changes (live.Broker implements it).
type Sink interface {
	SessionsChanged(changes []models.SessionChange)
}

// Listener forwards other instances' session changes to a Sink.
type Listener struct {
	// DatabaseURL is the postgres:// URL to listen on.
	DatabaseURL string
	// InstanceID is this process's id: its own notifications are skipped
	// (they were delivered in-process already).
	InstanceID string
	Sink       Sink
	Logger     *slog.Logger
	// Ready, when set, is called each time the listener is (re)connected.
	Ready func()
}

// Run listens until ctx ends; it returns nil then. Connection failures are
// logged and retried with backoff (up to 5 s).
func (l *Listener) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := l.listen(ctx)
		if ctx.Err() != nil {
			return nil
		}
		l.Logger.Warn("session notifications: listener lost, reconnecting", "error", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
	return nil
}

func (l *Listener) listen(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, l.DatabaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{models.SessionNotifyChannel}.Sanitize()); err != nil {
		return err
	}
	if l.Ready != nil {
		l.Ready()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		from, changes := models.DecodeSessionChanges(n.Payload)
		if from != l.InstanceID && len(changes) > 0 {
			l.Sink.SessionsChanged(changes)
		}
	}
}
