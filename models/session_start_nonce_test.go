package models_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"gatehouse/models"
)

// TestStartSessionNonceIsIdempotent: two identical start requests (the
// same user and form nonce), one after the other and then at once, make one
// session; the repeat gets that session without a token. Another nonce, or
// another user with the same nonce, starts its own. A nonce too long is a
// field error.
func TestStartSessionNonceIsIdempotent(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		start := func(a models.Actor, nonce string) (*models.StartedSession, error) {
			return f.store.StartSession(ctx, a, models.StartSessionInput{TargetID: f.target, ClientIP: "192.0.2.1", UserAgent: "test", Nonce: nonce})
		}
		count := func() int64 {
			var n int64
			if err := f.store.DB().Table("sessions").Count(&n).Error; err != nil {
				t.Fatal(err)
			}
			return n
		}
		first, err := start(f.alice, "nonce-1")
		if err != nil || first.Repeated || first.Token == "" {
			t.Fatalf("first = %+v, %v", first, err)
		}
		again, err := start(f.alice, "nonce-1")
		if err != nil || !again.Repeated || again.Token != "" || again.Session.ID != first.Session.ID || again.Session.TargetName == "" {
			t.Fatalf("repeat = %+v, %v", again, err)
		}
		if n := count(); n != 1 {
			t.Fatalf("sessions after a repeat = %d, want 1", n)
		}

		// A double click: both requests at once.
		var wg sync.WaitGroup
		results := make([]*models.StartedSession, 2)
		errs := make([]error, 2)
		for i := range results {
			wg.Add(1)
			go func() { defer wg.Done(); results[i], errs[i] = start(f.alice, "nonce-2") }()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("concurrent start %d: %v", i, err)
			}
		}
		if results[0].Session.ID != results[1].Session.ID || results[0].Repeated == results[1].Repeated {
			t.Fatalf("concurrent starts = %+v / %+v", results[0].Session.ID, results[1].Session.ID)
		}
		if n := count(); n != 2 {
			t.Fatalf("sessions after a double click = %d, want 2", n)
		}

		// Without a nonce, or with another user's nonce, nothing is shared.
		if s, err := start(f.alice, ""); err != nil || s.Repeated {
			t.Fatalf("no nonce: %+v, %v", s, err)
		}
		if s, err := start(f.admin, "nonce-1"); err != nil || s.Repeated || s.Session.ID == first.Session.ID {
			t.Fatalf("admin with alice's nonce: %+v, %v", s, err)
		}
		if n := count(); n != 4 {
			t.Fatalf("sessions = %d, want 4", n)
		}
		_, err = start(f.alice, strings.Repeat("x", 65))
		if fe := models.FieldErrors(err); fe["nonce"] == "" {
			t.Fatalf("long nonce: %v", err)
		}
	})
}
