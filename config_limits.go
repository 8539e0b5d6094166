package main

import (
	"net"
	"strconv"
	"time"

	"gatehouse/models"
)

// limitsConfig holds the hardening settings of `gatehouse serve` (issue 11;
// docs/security.md): where /metrics is served and with what token, and how
// many password hashes may run at once.
type limitsConfig struct {
	// MetricsListen, when set, serves /metrics on its own address (and not
	// on the main listener).
	MetricsListen string
	// MetricsToken, when set, is the bearer token /metrics requires.
	MetricsToken string
	// PasswordHashes is how many argon2id hashes (64 MiB each) may run at
	// once; 0 means models.DefaultPasswordHashSlots.
	PasswordHashes int
	// LiveHeartbeat is how often an open live view stream is pinged and
	// its login checked again (the safety net behind ending it at once
	// when its login ends); 0 means the web layer's default, 20 s.
	LiveHeartbeat time.Duration
	// DBConns is how many connections the Postgres pool opens at most;
	// 0 means models.DefaultPostgresConns. SQLite ignores it.
	DBConns int
}

// addLimitSettings declares the hardening settings on s; the returned
// function reads them once s is parsed, reporting bad values through bad.
func addLimitSettings(s *settings) func(bad func(v *string, format string, a ...any)) limitsConfig {
	metricsListen := s.add("metrics-listen", "GATEHOUSE_METRICS_LISTEN", "", "serve /metrics on this address only (e.g. 127.0.0.1:9201) instead of the main listener", false)
	metricsToken := s.add("metrics-token", "GATEHOUSE_METRICS_TOKEN", "", "bearer token /metrics requires (default: none, for scrapers on a private network)", true)
	hashes := s.add("password-hash-concurrency", "GATEHOUSE_PASSWORD_HASH_CONCURRENCY", strconv.Itoa(models.DefaultPasswordHashSlots),
		"password checks running at once (64 MiB each); more wait up to 2 s, then get 503", false)
	heartbeat := s.add("live-heartbeat", "GATEHOUSE_LIVE_HEARTBEAT", "20s",
		"how often an open live view stream is pinged and its login checked again (it also ends at once when its login ends)", false)
	dbConns := s.add("db-max-conns", "GATEHOUSE_DB_MAX_CONNS", "auto",
		"most Postgres connections open at once (auto: 4 per CPU, at least 8; SQLite ignores it)", false)
	return func(bad func(v *string, format string, a ...any)) limitsConfig {
		c := limitsConfig{MetricsListen: *metricsListen, MetricsToken: *metricsToken}
		if c.MetricsListen != "" {
			if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
				bad(metricsListen, "must be host:port like 127.0.0.1:9201, not %q", c.MetricsListen)
			}
		}
		n, err := strconv.Atoi(*hashes)
		if err != nil || n < 1 || n > 256 {
			bad(hashes, "must be a whole number from 1 to 256, not %q", *hashes)
		}
		c.PasswordHashes = n
		if c.LiveHeartbeat, err = time.ParseDuration(*heartbeat); err != nil || c.LiveHeartbeat < 100*time.Millisecond || c.LiveHeartbeat > 5*time.Minute {
			bad(heartbeat, "must be a duration from 100ms to 5m like 20s, not %q", *heartbeat)
		}
		if *dbConns != "auto" {
			if c.DBConns, err = strconv.Atoi(*dbConns); err != nil || c.DBConns < 1 || c.DBConns > 1000 {
				bad(dbConns, "must be auto or a whole number from 1 to 1000, not %q", *dbConns)
			}
		}
		return c
	}
}
