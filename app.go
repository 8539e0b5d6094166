package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"gorm.io/gorm"

	"gatehouse/credlib"
	"gatehouse/live"
	"gatehouse/metrics"
	"gatehouse/migrations"
	"gatehouse/models"
	"gatehouse/oidcauth"
	"gatehouse/pgnotify"
	"gatehouse/proxywire"
	"gatehouse/tunnel"
	"gatehouse/web"
	"gatehouse/worker"
)

// appConfig is the one configuration type: everything startApp needs,
// whichever command built it (parseServeConfig for serve, runDev for dev).
// A new setting is a field here and a line in parseServeConfig.
type appConfig struct {
	DatabaseURL string
	Listen      string
	// ListenSetting names Listen in errors (e.g. "--listen / GATEHOUSE_LISTEN").
	ListenSetting   string
	ExternalURL     *url.URL // nil: http://<listen address>
	CookieHashKey   []byte
	CookieBlockKey  []byte
	RootKey         []byte
	RootKeyPrevious [][]byte
	TrustedProxies  []netip.Prefix
	LoginLifetime   time.Duration
	LoginIdle       time.Duration
	// SessionRetention keeps operational rows of terminated sessions this
	// long (default models.DefaultSessionRetention); the warehouse keeps all.
	SessionRetention time.Duration
	// SessionSweep is the session loop's interval (default 1 s).
	SessionSweep time.Duration
	// RevocationInterval (default 5 s) and RevocationRetry (default 2 s):
	// the credential revocation queue's loop interval and first retry delay.
	RevocationInterval, RevocationRetry time.Duration
	// TLSCertFile and TLSKeyFile, both set, make the listener serve HTTPS.
	TLSCertFile, TLSKeyFile string
	// AccessHelp tells people without access how to get it (web.Config).
	AccessHelp string
	// EchoListen, when set (dev), runs the TCP echo service there; a busy
	// address is logged and skipped.
	EchoListen string
	// PprofListen, when set, serves /debug/pprof/ there (see pprof.go).
	PprofListen string
	// Reconcile is the interval of the worker's safety net (default 5 s).
	Reconcile time.Duration
	// InstanceGrace is how long an instance may go unseen before the
	// others close its connections (default models.DefaultInstanceGrace).
	InstanceGrace time.Duration
	Dev           bool
	// LogFormat ("json" or "text") and LogLevel build Logger (serve).
	LogFormat string
	LogLevel  slog.Level
	// Webhooks are the outbound delivery settings.
	Webhooks webhookConfig
	// Bootstrap chooses the initial administrator on an empty database.
	Bootstrap models.BootstrapOptions
	// Announce prints the banner once the server listens.
	Announce func(w io.Writer, url string, boot *models.BootstrapResult)
	// Seed runs after bootstrap (dev seeds). It may add web mounts.
	Seed   func(ctx context.Context, store *models.Store, externalURL *url.URL, mounts map[string]http.Handler) error
	Logger *slog.Logger
	Stdout io.Writer
	limitsConfig
}

// openDatabase opens the database at databaseURL (models.OpenDB) and its
// *sql.DB, which the caller closes.
func openDatabase(ctx context.Context, databaseURL string) (*gorm.DB, *sql.DB, models.Dialect, error) {
	db, dialect, err := models.OpenDB(ctx, databaseURL)
	if err != nil {
		return nil, nil, "", err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, nil, "", err
	}
	return db, sqlDB, dialect, nil
}

// sqliteReaders is the size of SQLite's read pool: one reader per CPU,
// at least two, at most eight.
func sqliteReaders() int { return min(max(runtime.GOMAXPROCS(0), 2), 8) }

// startApp binds the listener, opens and migrates the database, bootstraps
// it, and serves until ctx ends, with the background loops under one errgroup.
func startApp(ctx context.Context, cfg appConfig) error {
	log := cfg.Logger
	// Bind first: a busy or bad address fails before anything is written,
	// so a first start never creates the administrator (whose generated
	// password is printed only once we listen) and then exits.
	ln, err := tunnel.Listen(cfg.Listen) // keep-alive set once for every tunnel and request
	if err != nil {
		name := cfg.ListenSetting
		if name == "" {
			name = "--listen"
		}
		return fmt.Errorf("%s: cannot listen on %q: %w", name, cfg.Listen, err)
	}
	defer ln.Close() // the server closes it too on shutdown; a second Close is harmless
	mln, err := listenSide(cfg.MetricsListen, "--metrics-listen / GATEHOUSE_METRICS_LISTEN")
	if err != nil {
		return err
	}
	if mln != nil {
		defer mln.Close()
	}
	pln, err := listenSide(cfg.PprofListen, "--pprof-listen / GATEHOUSE_PPROF_LISTEN")
	if err != nil {
		return err
	}
	if pln != nil {
		defer pln.Close()
	}
	db, sqlDB, dialect, err := openDatabase(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	if dialect == models.Postgres && cfg.DBConns > 0 {
		models.SetPostgresConns(sqlDB, cfg.DBConns)
	}
	n, err := migrations.Up(ctx, sqlDB, string(dialect))
	if err != nil {
		return err
	}
	log.Info("database ready", "dialect", dialect, "migrations_applied", n)
	// SQLite: a read pool beside the single writer (issue 17); nil on Postgres.
	reads, err := models.OpenReadPool(ctx, cfg.DatabaseURL, sqliteReaders())
	if err != nil {
		return err
	}
	if reads != nil {
		if rdb, err := reads.DB(); err == nil {
			defer rdb.Close()
		}
	}

	crypter, err := models.NewCrypter(cfg.RootKey, cfg.RootKeyPrevious...)
	if err != nil {
		return fmt.Errorf("root key: %w", err)
	}
	oidcClient := &http.Client{Timeout: 15 * time.Second}
	broker := live.New()
	instanceID := base64.RawURLEncoding.EncodeToString(randomKey(9))
	hook := &proxywire.EndedHook{}
	libraries := credlib.New()
	defer libraries.Close()
	revoke := make(revocationKick, 1)
	deliverer := newDeliverer(cfg.Webhooks, log)
	store := models.NewStore(db, dialect, models.Options{
		Crypter: crypter, LoginLifetime: cfg.LoginLifetime, LoginIdleTimeout: cfg.LoginIdle, Reads: reads,
		Webhooks:          models.WebhookOptions{Wake: deliverer.Wake, Handoff: deliverer, KeepFor: cfg.Webhooks.Retention},
		CheckOIDCProvider: oidcauth.Checker(oidcClient), LoginsEnded: broker.LoginsEnded,
		PasswordHashes:    models.NewPasswordHashLimiter(cmp.Or(cfg.PasswordHashes, models.DefaultPasswordHashSlots), models.DefaultPasswordHashWait),
		CredentialBackend: libraries, Revocations: models.RevocationOptions{Kick: revoke.kick, RetryBase: cfg.RevocationRetry},
		Sessions: models.SessionOptions{Notifier: broker, InstanceID: instanceID, InstanceGrace: cfg.InstanceGrace,
			Ended: hook.Ended, EndedChannel: worker.NotifyChannel,
			Access: broker, Retimed: hook.Retimed, RetimedChannel: worker.RetimeChannel},
	})
	if len(cfg.RootKeyPrevious) > 0 { // root key rotation: see docs/root-key-rotation.md
		if n, err := store.RewrapCredentialSecrets(ctx); err != nil {
			return fmt.Errorf("rewrap credential secrets: %w", err)
		} else if n > 0 {
			log.Info("re-encrypted credential secrets under the current root key", "count", n)
		}
	}
	boot, err := store.Bootstrap(ctx, cfg.Bootstrap)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if boot.Created {
		log.Info("initialised empty database", "admin_login", boot.AdminLoginName)
	}

	if err := store.RegisterInstance(ctx); err != nil {
		return err
	}
	ext := cfg.ExternalURL
	if ext == nil {
		ext = &url.URL{Scheme: "http", Host: ln.Addr().String()}
		if cfg.TLSCertFile != "" {
			ext.Scheme = "https"
		}
	}
	reg := metrics.New()
	reg.GaugeFunc("gatehouse_live_sessions", "Sessions not yet terminated (pending, active or canceling).", func() float64 {
		qctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := store.CountLiveSessions(qctx)
		if err != nil {
			return -1
		}
		return float64(n)
	})
	// The embedded worker takes tunnels on this listener (POST /v1/proxy;
	// no browser headers, so the CSRF check lets the CLI through).
	wk := newWorker(store, cfg.TrustedProxies, reg, log)
	hook.Worker = wk
	mounts := map[string]http.Handler{worker.MountPath: wk.Handler()}
	if cfg.Seed != nil {
		if err := cfg.Seed(ctx, store, ext, mounts); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	// Ready once this instance hears the others (Postgres: its LISTEN
	// connection has subscribed; SQLite has no others).
	var listening atomic.Bool
	listening.Store(dialect != models.Postgres)
	srv, err := web.NewServer(web.Config{
		ExternalURL: ext, CookieHashKey: cfg.CookieHashKey, CookieBlockKey: cfg.CookieBlockKey,
		TrustedProxies: cfg.TrustedProxies, Dev: cfg.Dev, AccessHelp: cfg.AccessHelp, Mounts: mounts, Metrics: reg, OIDCHTTPClient: oidcClient,
		MetricsElsewhere: cfg.MetricsListen != "", MetricsToken: cfg.MetricsToken,
		Live: broker, StreamHeartbeat: cfg.LiveHeartbeat, Listening: listening.Load,
	}, store, log)
	if err != nil {
		return err
	}
	httpSrv := &http.Server{
		Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	httpSrv.RegisterOnShutdown(broker.Close) // ends the live views' streams
	closeUnused := closeUnusedOnShutdown(httpSrv)
	httpSrv.RegisterOnShutdown(closeUnused)

	g, gctx := errgroup.WithContext(ctx)
	if mln != nil {
		g.Go(func() error { return serveSide(gctx, "metrics", mln, metricsHandler(reg, cfg.MetricsToken), log) })
	}
	g.Go(func() error {
		var err error
		if cfg.TLSCertFile != "" {
			// RecordListener lets the tunnel move many TLS records per system call.
			err = httpSrv.ServeTLS(tunnel.RecordListener(ln), cfg.TLSCertFile, cfg.TLSKeyFile)
		} else {
			err = httpSrv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		log.Info("shutting down")
		return httpSrv.Shutdown(sctx)
	})
	g.Go(func() error {
		return every(gctx, 10*time.Minute, func(ctx context.Context) { purgeLogins(ctx, store, log) })
	})
	retention := cfg.SessionRetention
	if retention <= 0 {
		retention = models.DefaultSessionRetention
	}
	g.Go(func() error {
		return every(gctx, max(min(retention/4, 10*time.Minute), time.Second), func(ctx context.Context) { purgeSessions(ctx, store, retention, log) })
	})
	sweep := cfg.SessionSweep
	if sweep <= 0 {
		sweep = time.Second
	}
	g.Go(func() error { return sessionLoop(gctx, store, sweep, reg, log) })
	g.Go(func() error {
		return revocationLoop(gctx, store, revoke, cmp.Or(cfg.RevocationInterval, 5*time.Second), reg, log)
	})
	if dialect == models.Postgres {
		// One LISTEN connection: other instances' session changes for the
		// live pages, and their cancels for this instance's worker.
		l := &pgnotify.Listener{DatabaseURL: cfg.DatabaseURL, InstanceID: instanceID, Sink: broker, Logger: log,
			Ready: func() { listening.Store(true) },
			Channels: map[string]func(string){
				worker.NotifyChannel:       func(payload string) { cancelFromNotification(wk, payload) },
				models.LoginsEndedChannel:  func(payload string) { broker.LoginsEnded(strings.Fields(payload)) },
				worker.RetimeChannel:       func(payload string) { retimeFromNotification(wk, payload) },
				models.AccessNotifyChannel: func(payload string) { broker.AccessFromNotification(instanceID, payload) },
			}}
		g.Go(func() error { return l.Run(gctx) })
	}
	g.Go(func() error { return wk.Run(gctx) })
	deliverer.Store = store
	g.Go(func() error { return deliverer.Run(gctx) })
	reconcile := cfg.Reconcile
	if reconcile <= 0 {
		reconcile = 5 * time.Second
	}
	g.Go(func() error { return reconcileLoop(gctx, wk, store, reconcile, log) })
	grace := store.InstanceGrace()
	g.Go(func() error {
		return instanceLoop(gctx, store, wk, min(max(grace/3, 100*time.Millisecond), 5*time.Second), grace, reg, log)
	})
	if pln != nil {
		log.Warn("profiling endpoints are on (no login): keep this address private", "addr", pln.Addr().String())
		g.Go(func() error { return serveSide(gctx, "pprof", pln, pprofHandler(), log) })
	}
	if cfg.EchoListen != "" {
		if eln, err := net.Listen("tcp", cfg.EchoListen); err != nil {
			log.Warn("dev echo service not started: the target echo will refuse connections", "addr", cfg.EchoListen, "error", err)
		} else {
			log.Info("dev echo service", "addr", eln.Addr().String())
			g.Go(func() error { return worker.ServeEcho(gctx, eln) })
		}
	}

	log.Info("listening", "url", ext.String(), "addr", ln.Addr().String())
	if cfg.Announce != nil {
		cfg.Announce(cfg.Stdout, ext.String(), boot)
	} else {
		scheme := "http"
		if cfg.TLSCertFile != "" {
			scheme = "https"
		}
		// One write: whoever reads the address reads the password with it.
		msg := fmt.Sprintf("Gatehouse is listening on %s://%s (external URL %s)\n", scheme, ln.Addr(), ext)
		if boot.Created {
			msg += fmt.Sprintf("Initial administrator created. Log in as %q with password %q (shown only once).\n",
				boot.AdminLoginName, boot.AdminPassword)
		}
		fmt.Fprint(cfg.Stdout, msg)
	}
	err = g.Wait()
	// The worker has recorded its connections closed (its Run returned):
	// this instance holds nothing any more.
	dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if derr := store.DeregisterInstance(dctx); derr != nil {
		log.Warn("deregister instance", "error", derr)
	}
	return err
}

// every runs fn at each tick until ctx ends (a background loop owned by run).
func every(ctx context.Context, interval time.Duration, fn func(context.Context)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			fn(ctx)
		}
	}
}

func purgeLogins(ctx context.Context, store *models.Store, log *slog.Logger) {
	n, err := store.PurgeLogins(ctx)
	if err != nil && ctx.Err() == nil {
		log.Warn("purge logins", "error", err)
	} else if n > 0 {
		log.Info("purged ended logins", "count", n)
	}
	if _, err := store.PurgeLoginFailures(ctx); err != nil && ctx.Err() == nil {
		log.Warn("purge login failures", "error", err)
	}
	if _, err := store.PurgeAPITokens(ctx); err != nil && ctx.Err() == nil {
		log.Warn("purge API tokens", "error", err)
	}
}

// purgeSessions is the retention loop's tick: it deletes operational rows of
// sessions terminated longer ago than retention (never the warehouse).
func purgeSessions(ctx context.Context, store *models.Store, retention time.Duration, log *slog.Logger) {
	n, err := store.PurgeTerminatedSessions(ctx, retention)
	if err != nil && ctx.Err() == nil {
		log.Warn("purge terminated sessions", "error", err)
	} else if n > 0 {
		log.Info("purged operational rows of terminated sessions", "count", n, "retention", retention)
	}
}

// sessionLoop applies the session rules at once and then every interval
// until ctx ends, waking early (at most every 100 ms) when a live session
// expires sooner, so expiry is not delayed by the interval.
// m (optional) receives the expiry lag: how long after its expiration the
// latest-swept session was terminated.
func sessionLoop(ctx context.Context, store *models.Store, interval time.Duration, m *metrics.Registry, log *slog.Logger) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		earliest, due, _ := store.NextSessionExpiry(ctx)
		r := sweepSessions(ctx, store, log)
		if m != nil && due && r.TimedOut > 0 {
			m.ExpiryLag.Observe(max(0, store.Now().Sub(earliest).Seconds()))
		}
		wait := interval
		if next, ok, err := store.NextSessionExpiry(ctx); err == nil && ok {
			wait = min(wait, max(time.Until(next), 100*time.Millisecond))
		}
		timer.Reset(wait)
	}
}

// sweepSessions runs the session rules once (the loop owned by run).
func sweepSessions(ctx context.Context, store *models.Store, log *slog.Logger) models.SweepResult {
	r, err := store.SweepSessions(ctx)
	if err != nil && ctx.Err() == nil {
		log.Warn("sweep sessions", "error", err)
	} else if r != (models.SweepResult{}) {
		if r.Orphaned > 0 {
			log.Warn("closed the connections of instances unseen for the grace period (system error)", "count", r.Orphaned)
		}
		log.Info("sessions terminated", "timed_out", r.TimedOut, "canceled", r.Canceled, "connection_limit", r.ConnectionLimit)
	}
	return r
}

func randomKey(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func runGenkeys(w io.Writer) error {
	enc := base64.StdEncoding.EncodeToString
	fmt.Fprintf(w, "GATEHOUSE_COOKIE_HASH_KEY=%s\n", enc(randomKey(64)))
	fmt.Fprintf(w, "GATEHOUSE_COOKIE_BLOCK_KEY=%s\n", enc(randomKey(32)))
	fmt.Fprintf(w, "GATEHOUSE_ROOT_KEY=%s\n", enc(randomKey(32)))
	return nil
}

// closeUnusedOnShutdown tracks srv's connections that have not sent a
// request yet and returns the function that closes them: Shutdown waits
// for those up to 5 s before it counts them idle, and `gatehouse connect`
// keeps one such connection ready for its next tunnel (connect/client.go).
// It sets srv.ConnState.
func closeUnusedOnShutdown(srv *http.Server) func() {
	var mu sync.Mutex
	unused := map[net.Conn]struct{}{}
	srv.ConnState = func(c net.Conn, st http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		if st == http.StateNew {
			unused[c] = struct{}{}
		} else {
			delete(unused, c)
		}
	}
	return func() {
		mu.Lock()
		defer mu.Unlock()
		for c := range unused {
			c.Close()
		}
	}
}
