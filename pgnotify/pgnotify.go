// Package pgnotify listens to Postgres notifications of session changes made
// by other Gatehouse instances (models.SessionNotifyChannel) and hands them
// to the local live broker, plus any further channels the caller names (the
// worker's cancels). It owns one pgx connection, reconnecting with backoff
// until its context ends.
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
	// Channels are further channels to LISTEN on over the same connection,
	// each with the function that handles a payload (e.g. the worker's
	// session cancels). One connection per instance serves them all.
	Channels map[string]func(payload string)
	Logger   *slog.Logger
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
	for _, ch := range append([]string{models.SessionNotifyChannel}, l.channelNames()...) {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return err
		}
	}
	if l.Ready != nil {
		l.Ready()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if handle, ok := l.Channels[n.Channel]; ok && n.Channel != models.SessionNotifyChannel {
			handle(n.Payload)
			continue
		}
		from, changes := models.DecodeSessionChanges(n.Payload)
		if from != l.InstanceID && len(changes) > 0 {
			l.Sink.SessionsChanged(changes)
		}
	}
}

func (l *Listener) channelNames() []string {
	names := make([]string, 0, len(l.Channels))
	for ch := range l.Channels {
		if ch != models.SessionNotifyChannel {
			names = append(names, ch)
		}
	}
	return names
}
