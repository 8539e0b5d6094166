package models_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// Thirty wrong passwords for admin from an attacker's address lock only
// that address out of admin, not the real admin elsewhere (issue 11,
// finding 7).
func TestAttackerElsewhereCannotLockTheOwnerOut(t *testing.T) {
	eachWithClock(t, func(t *testing.T, store *models.Store, c *clock) {
		try := bootstrappedLogin(t, store)
		throttled := 0
		for i := 0; i < 30; i++ {
			var th *models.ThrottledError
			switch err := try("admin", fmt.Sprintf("guess %d", i), "203.0.113.66"); {
			case errors.As(err, &th):
				throttled++
			case !errors.Is(err, models.ErrBadCredentials):
				t.Fatalf("guess %d: %v", i, err)
			}
		}
		if throttled != 25 {
			t.Errorf("attacker: %d of 30 guesses throttled, want 25 (5 free)", throttled)
		}
		if err := try("admin", "password", "10.0.0.1"); err != nil {
			t.Fatalf("owner at home after the attack: %v", err)
		}
	})
}

// A guess spread over many addresses still meets the per-account ceiling;
// an administrator sees the lock on the user's page and clears it; someone
// who may not update the user may not.
func TestAccountCeilingAndAdministratorClearsTheLock(t *testing.T) {
	eachWithClock(t, func(t *testing.T, store *models.Store, c *clock) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		boot, _ := store.Bootstrap(ctx, models.BootstrapOptions{})
		bob, err := store.CreateUser(ctx, admin, models.GlobalScopeID, models.UserInput{Name: "bob", LoginName: "bob", Password: "bob's password"})
		mustNil(t, err)
		_, err = store.CreateUser(ctx, admin, models.GlobalScopeID, models.UserInput{Name: "carol", LoginName: "carol", Password: "carol's password"})
		mustNil(t, err)
		carol := dbtest.Login(t, store, boot.AuthMethodID, "carol", "carol's password")
		try := func(pw, ip string) error {
			_, err := store.AuthenticatePassword(ctx, models.PasswordLogin{AuthMethodID: boot.AuthMethodID, LoginName: "Bob", Password: pw, ClientIP: ip})
			return err
		}
		for i := 0; i < 100; i++ {
			if err := try("wrong", fmt.Sprintf("198.51.%d.%d", i/250, i%250)); !errors.Is(err, models.ErrBadCredentials) {
				t.Fatalf("guess %d: %v", i, err)
			}
		}
		var th *models.ThrottledError
		if err := try("bob's password", "10.0.0.7"); !errors.As(err, &th) {
			t.Fatalf("owner after 100 guesses from 100 addresses: %v, want throttled", err)
		}
		d, err := store.GetUser(ctx, admin, bob.ID)
		mustNil(t, err)
		lock := d.Accounts[0].Lock
		if lock.Failures != 100 || !lock.LockedUntil.After(c.Now()) {
			t.Fatalf("lock on the user's page = %+v", lock)
		}
		if err := store.ClearLoginLock(ctx, carol, d.Accounts[0].ID); !errors.Is(err, models.ErrNotFound) && !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("carol cleared bob's lock: %v", err)
		}
		mustNil(t, store.ClearLoginLock(ctx, admin, d.Accounts[0].ID))
		if d, _ := store.GetUser(ctx, admin, bob.ID); d.Accounts[0].Lock != (models.LoginLock{}) {
			t.Fatalf("lock after clearing = %+v", d.Accounts[0].Lock)
		}
		if err := try("bob's password", "10.0.0.7"); err != nil {
			t.Fatalf("owner after the administrator cleared the lock: %v", err)
		}
		// Other counters stay: an address that guessed is still counted.
		if err := store.ClearLoginLock(ctx, admin, "acct_missing"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown account: %v", err)
		}
	})
}

// At its bound of password hashes the server refuses an attempt with a
// *BusyError after a short queue, and the refusal counts as no failure
// (issue 11, finding 2).
func TestPasswordChecksAreBounded(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			limiter := models.NewPasswordHashLimiter(2, 20*time.Millisecond)
			store := dbtest.Open(t, d, models.Options{PasswordHashes: limiter})
			try := bootstrappedLogin(t, store)
			var held []func()
			for i := 0; i < 2; i++ {
				release, err := limiter.Acquire(ctx)
				mustNil(t, err)
				held = append(held, release)
			}
			for i := 0; i < 10; i++ {
				var busy *models.BusyError
				if err := try("admin", "wrong", "10.0.0.1"); !errors.As(err, &busy) || !errors.Is(err, models.ErrBusy) || busy.RetryAfter <= 0 {
					t.Fatalf("attempt %d with every slot taken: %v, want busy", i, err)
				}
			}
			for _, release := range held {
				release()
			}
			if limiter.InUse() != 0 {
				t.Fatalf("%d slots still taken", limiter.InUse())
			}
			// The busy refusals counted nothing: five guesses are still free.
			for i := 0; i < 5; i++ {
				if err := try("admin", "wrong", "10.0.0.1"); !errors.Is(err, models.ErrBadCredentials) {
					t.Fatalf("free guess %d after the busy spell: %v", i, err)
				}
			}
			if limiter.InUse() != 0 {
				t.Fatalf("%d slots still taken after the checks", limiter.InUse())
			}
		})
	}
}
