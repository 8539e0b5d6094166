package pgnotify_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/models"
	"gatehouse/pgnotify"
)

type sink struct {
	mu  sync.Mutex
	got []models.SessionChange
	ch  chan struct{}
}

func (s *sink) SessionsChanged(c []models.SessionChange) {
	s.mu.Lock()
	s.got = append(s.got, c...)
	s.mu.Unlock()
	s.ch <- struct{}{}
}

// TestListenerForwardsOtherInstances: notifications from another instance
// reach the sink (large batches split across payloads); the listener's own
// are skipped.
func TestListenerForwardsOtherInstances(t *testing.T) {
	url := dbtest.NewDatabaseURL(t, models.Postgres)
	db, _, err := models.OpenDB(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	defer sqlDB.Close()
	s := &sink{ch: make(chan struct{}, 100)}
	ready := make(chan struct{}, 1)
	l := &pgnotify.Listener{DatabaseURL: url, InstanceID: "me", Sink: s, Logger: slog.New(slog.DiscardHandler),
		Ready: func() { ready <- struct{}{} }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("listener not ready")
	}
	var changes []models.SessionChange
	for i := 0; i < 600; i++ {
		changes = append(changes, models.SessionChange{SessionID: "s_" + string(rune('a'+i%26)) + "0000000000", UserID: "u_x"})
	}
	notify := func(from string, c []models.SessionChange) {
		for _, p := range models.EncodeSessionChanges(from, c) {
			if len(p) > 8000 {
				t.Fatalf("payload of %d bytes", len(p))
			}
			if _, err := sqlDB.Exec("SELECT pg_notify($1, $2)", models.SessionNotifyChannel, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	notify("me", changes[:3])
	notify("other", changes)
	deadline := time.After(5 * time.Second)
	for {
		s.mu.Lock()
		n := len(s.got)
		s.mu.Unlock()
		if n == len(changes) {
			break
		}
		if n > len(changes) {
			t.Fatalf("got %d changes, own ones included", n)
		}
		select {
		case <-s.ch:
		case <-deadline:
			t.Fatalf("got %d of %d changes", n, len(changes))
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestListenerServesFurtherChannels: a named channel's payloads reach its
// handler over the same connection, and do not reach the session sink.
func TestListenerServesFurtherChannels(t *testing.T) {
	url := dbtest.NewDatabaseURL(t, models.Postgres)
	db, _, err := models.OpenDB(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	defer sqlDB.Close()
	s := &sink{ch: make(chan struct{}, 10)}
	got := make(chan string, 1)
	ready := make(chan struct{}, 1)
	l := &pgnotify.Listener{DatabaseURL: url, InstanceID: "me", Sink: s, Logger: slog.New(slog.DiscardHandler),
		Channels: map[string]func(string){"gatehouse_test_cancels": func(p string) { got <- p }},
		Ready:    func() { ready <- struct{}{} }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = l.Run(ctx) }()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("listener not ready")
	}
	if _, err := sqlDB.Exec("SELECT pg_notify('gatehouse_test_cancels', 's_1 canceled')"); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p != "s_1 canceled" {
			t.Fatalf("payload = %q", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the channel's handler got nothing")
	}
	select {
	case <-s.ch:
		t.Fatal("the session sink got another channel's payload")
	default:
	}
}
