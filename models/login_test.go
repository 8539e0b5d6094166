package models_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func eachWithClock(t *testing.T, fn func(t *testing.T, store *models.Store, c *clock)) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			c := &clock{t: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)}
			fn(t, dbtest.Open(t, d, models.Options{Now: c.Now}), c)
		})
	}
}

func TestLoginLifetimes(t *testing.T) {
	eachWithClock(t, func(t *testing.T, store *models.Store, c *clock) {
		ctx := context.Background()
		boot, err := store.Bootstrap(ctx, models.BootstrapOptions{AdminPassword: "password"})
		if err != nil || !boot.Created || boot.AdminLoginName != "admin" {
			t.Fatalf("bootstrap = %+v, %v", boot, err)
		}
		again, err := store.Bootstrap(ctx, models.BootstrapOptions{})
		if err != nil || again.Created || again.AuthMethodID != boot.AuthMethodID {
			t.Fatalf("second bootstrap = %+v, %v", again, err)
		}
		login := func() string {
			res, err := store.AuthenticatePassword(ctx, models.PasswordLogin{AuthMethodID: boot.AuthMethodID, LoginName: "admin", Password: "password", ClientIP: "10.0.0.1"})
			if err != nil {
				t.Fatal(err)
			}
			return res.Token
		}
		tok1, tok2 := login(), login()
		if tok1 == tok2 {
			t.Fatal("two logins share a token")
		}
		a, l, err := store.LoginByToken(ctx, tok1)
		if err != nil || a.UserID != boot.AdminUserID || !l.ExpiresAt.Equal(c.Now().Add(7*24*time.Hour)) {
			t.Fatalf("login = %+v %+v, %v", a, l, err)
		}
		// Idle: used every 20 hours it lives on; 24 h unused ends it.
		for i := 0; i < 3; i++ {
			c.Add(20 * time.Hour)
			if _, _, err := store.LoginByToken(ctx, tok1); err != nil {
				t.Fatalf("active login ended after %d×20h: %v", i+1, err)
			}
		}
		if _, _, err := store.LoginByToken(ctx, tok2); !errors.Is(err, models.ErrUnauthenticated) {
			t.Fatalf("idle login still valid: %v", err)
		}
		// Absolute: even in use, it ends after 7 days.
		for c.Now().Before(l.ExpiresAt) {
			c.Add(20 * time.Hour)
			_, _, _ = store.LoginByToken(ctx, tok1)
		}
		if _, _, err := store.LoginByToken(ctx, tok1); !errors.Is(err, models.ErrUnauthenticated) {
			t.Fatalf("login outlived its lifetime: %v", err)
		}
		// Logout ends a login at once.
		tok3 := login()
		if err := store.Logout(ctx, tok3); err != nil {
			t.Fatal(err)
		}
		if _, _, err := store.LoginByToken(ctx, tok3); !errors.Is(err, models.ErrUnauthenticated) {
			t.Fatalf("logged-out token still valid: %v", err)
		}
		if _, _, err := store.LoginByToken(ctx, "forged"); !errors.Is(err, models.ErrUnauthenticated) {
			t.Fatalf("forged token: %v", err)
		}
	})
}

func TestDeletingUserOrAccountEndsLogins(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		u, err := store.CreateUser(ctx, admin, models.GlobalScopeID, models.UserInput{Name: "bob", LoginName: "bob", Password: "password1"})
		if err != nil {
			t.Fatal(err)
		}
		d, _ := store.GetUser(ctx, admin, u.ID)
		method := d.Accounts[0].AuthMethodID
		res, err := store.AuthenticatePassword(ctx, models.PasswordLogin{AuthMethodID: method, LoginName: "bob", Password: "password1"})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.DeleteAccount(ctx, admin, d.Accounts[0].ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := store.LoginByToken(ctx, res.Token); !errors.Is(err, models.ErrUnauthenticated) {
			t.Fatalf("login survived its account: %v", err)
		}
		if _, err := store.UpdateUser(ctx, admin, u.ID, u.Version, models.UserInput{Name: "bob", LoginName: "bob", Password: "password2"}); err != nil {
			t.Fatal(err)
		}
		res, err = store.AuthenticatePassword(ctx, models.PasswordLogin{AuthMethodID: method, LoginName: "bob", Password: "password2"})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.DeleteUser(ctx, admin, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := store.LoginByToken(ctx, res.Token); !errors.Is(err, models.ErrUnauthenticated) {
			t.Fatalf("login survived its user: %v", err)
		}
	})
}

// bootstrappedLogin bootstraps store (admin / password) and returns a
// password login attempt on its method.
func bootstrappedLogin(t *testing.T, store *models.Store) func(name, pw, ip string) error {
	t.Helper()
	ctx := context.Background()
	boot, err := store.Bootstrap(ctx, models.BootstrapOptions{AdminPassword: "password"})
	mustNil(t, err)
	return func(name, pw, ip string) error {
		_, err := store.AuthenticatePassword(ctx, models.PasswordLogin{AuthMethodID: boot.AuthMethodID, LoginName: name, Password: pw, ClientIP: ip})
		return err
	}
}

func TestFailedLoginsAreSlowedDown(t *testing.T) {
	eachWithClock(t, func(t *testing.T, store *models.Store, c *clock) {
		ctx := context.Background()
		try := bootstrappedLogin(t, store)
		// Unknown name and wrong password give the same error.
		if err := try("nobody", "password", "10.0.0.1"); !errors.Is(err, models.ErrBadCredentials) {
			t.Fatalf("unknown name: %v", err)
		}
		for i := 0; i < 4; i++ {
			if err := try("admin", "wrong", "10.0.0.1"); !errors.Is(err, models.ErrBadCredentials) {
				t.Fatalf("wrong password %d: %v", i, err)
			}
		}
		// The fifth failure from one address starts its delay: even the
		// right password waits there, while the owner elsewhere logs in.
		_ = try("admin", "wrong", "10.0.0.1")
		var th *models.ThrottledError
		if err := try("admin", "password", "10.0.0.1"); !errors.As(err, &th) || th.RetryAfter <= 0 {
			t.Fatalf("throttled account and address accepted a login: %v", err)
		}
		if err := try("admin", "password", "10.0.0.3"); err != nil {
			t.Fatalf("owner at another address: %v", err)
		}
		c.Add(th.RetryAfter + time.Second)
		if err := try("admin", "password", "10.0.0.1"); err != nil {
			t.Fatalf("after the delay: %v", err)
		}
		// Per address: 20 failures on assorted names from one address slow that address.
		for i := 0; i < 20; i++ {
			_ = try("user"+string(rune('a'+i)), "x", "10.9.9.9")
		}
		if err := try("admin", "password", "10.9.9.9"); !errors.As(err, &th) {
			t.Fatalf("address not throttled: %v", err)
		}
		if err := try("admin", "password", "10.0.0.4"); err != nil {
			t.Fatalf("other address throttled: %v", err)
		}
		// The purge keeps the counters still in play and forgets the rest
		// once they are older than the throttle remembers (an hour).
		count := func(olderThanAnHour bool) (n int64) {
			t.Helper()
			q := store.DB().Table("login_failures")
			if olderThanAnHour {
				q = q.Where("last_failure_at < ?", c.Now().Add(-time.Hour))
			} else {
				q = q.Where("last_failure_at >= ?", c.Now().Add(-time.Hour))
			}
			mustNil(t, q.Count(&n).Error)
			return n
		}
		recent, old := count(false), count(true)
		if n, err := store.PurgeLoginFailures(ctx); err != nil || n != old || count(false) != recent || count(true) != 0 || recent == 0 {
			t.Fatalf("purge: %d %v, want %d; %d recent rows before, %d after", n, err, old, recent, count(false))
		}
		c.Add(2 * time.Hour)
		if n, err := store.PurgeLoginFailures(ctx); err != nil || n != recent || count(false)+count(true) != 0 {
			t.Fatalf("purge of old counters: %d %v, want %d", n, err, recent)
		}
		if err := try("admin", "password", "10.9.9.9"); err != nil {
			t.Fatalf("after the purge: %v", err)
		}
	})
}

// TestConcurrentLoginAttemptsAreCounted: guesses sent in parallel are
// counted before the password check, so the throttle lets through only
// the attempts it allows, not every one that started before a failure was
// recorded.
func TestConcurrentLoginAttemptsAreCounted(t *testing.T) {
	eachWithClock(t, func(t *testing.T, store *models.Store, c *clock) {
		try := bootstrappedLogin(t, store)
		// burst sends n attempts at once and counts how they ended.
		burst := func(n int, name, pw, ip string) (bad, throttled, ok int) {
			errs := make(chan error, n)
			var start sync.WaitGroup
			start.Add(1)
			for i := 0; i < n; i++ {
				go func() {
					start.Wait()
					errs <- try(name, pw, ip)
				}()
			}
			start.Done()
			var th *models.ThrottledError
			for i := 0; i < n; i++ {
				switch err := <-errs; {
				case err == nil:
					ok++
				case errors.As(err, &th):
					throttled++
				case errors.Is(err, models.ErrBadCredentials):
					bad++
				default:
					t.Errorf("attempt: %v", err)
				}
			}
			return
		}
		// From a clean slate, 10 parallel guesses from one address: only
		// the 5 free ones are checked.
		if bad, throttled, _ := burst(10, "admin", "wrong", "10.1.0.1"); bad != 5 || throttled != 5 {
			t.Fatalf("first burst: %d checked, %d throttled; want 5 and 5", bad, throttled)
		}
		// Once the delay has passed, one more guess is allowed, not ten.
		var th *models.ThrottledError
		if err := try("admin", "wrong", "10.1.0.1"); !errors.As(err, &th) {
			t.Fatalf("after the burst: %v", err)
		}
		c.Add(th.RetryAfter + time.Second)
		if bad, throttled, _ := burst(10, "admin", "wrong", "10.1.0.1"); bad != 1 || throttled != 9 {
			t.Fatalf("burst after the delay: %d checked, %d throttled; want 1 and 9", bad, throttled)
		}
		// A success still resets the account.
		c.Add(time.Hour + time.Minute)
		if err := try("admin", "password", "10.1.0.1"); err != nil {
			t.Fatalf("right password after an hour: %v", err)
		}
		if bad, throttled, _ := burst(5, "admin", "wrong", "10.1.0.1"); bad != 5 || throttled != 0 {
			t.Fatalf("after a success: %d checked, %d throttled; want 5 and 0", bad, throttled)
		}
		// Successes are not failures: many logins from one address (people
		// behind one NAT) never slow it down.
		for i := 0; i < 25; i++ {
			c.Add(time.Second)
			if err := try("admin", "password", "10.4.0.1"); err != nil {
				t.Fatalf("success %d from one address: %v", i, err)
			}
		}
	})
}
