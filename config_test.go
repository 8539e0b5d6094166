package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

// TestSessionRetentionSetting: --session-retention / GATEHOUSE_SESSION_RETENTION
// defaults to 24h, takes a positive duration and refuses anything else.
func TestSessionRetentionSetting(t *testing.T) {
	env := serveEnv("/tmp/x.db")
	getenv := func(k string) string { return env[k] }
	cfg, err := parseServeConfig(nil, getenv, io.Discard)
	if err != nil || cfg.SessionRetention != 24*time.Hour {
		t.Fatalf("default: %v %v", cfg, err)
	}
	env["GATEHOUSE_SESSION_RETENTION"] = "2h"
	if cfg, err = parseServeConfig(nil, getenv, io.Discard); err != nil || cfg.SessionRetention != 2*time.Hour {
		t.Fatalf("env: %v %v", cfg, err)
	}
	if cfg, err = parseServeConfig([]string{"--session-retention", "90m"}, getenv, io.Discard); err != nil || cfg.SessionRetention != 90*time.Minute {
		t.Fatalf("flag: %v %v", cfg, err)
	}
	for _, bad := range []string{"forever", "-1h", "0s"} {
		env["GATEHOUSE_SESSION_RETENTION"] = bad
		_, err := parseServeConfig(nil, getenv, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--session-retention / GATEHOUSE_SESSION_RETENTION: must be a positive duration") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestWebhookRetentionSetting: --webhook-retention defaults to 30 days and
// refuses less than 48 h (deliveries are retried for 24 h) with a message
// naming the setting.
func TestWebhookRetentionSetting(t *testing.T) {
	env := serveEnv("/tmp/x.db")
	getenv := func(k string) string { return env[k] }
	cfg, err := parseServeConfig(nil, getenv, io.Discard)
	if err != nil || cfg.Webhooks.Retention != 720*time.Hour {
		t.Fatalf("default: %v %v", cfg, err)
	}
	if cfg, err = parseServeConfig([]string{"--webhook-retention", "72h"}, getenv, io.Discard); err != nil || cfg.Webhooks.Retention != 72*time.Hour {
		t.Fatalf("flag: %v %v", cfg, err)
	}
	for bad, want := range map[string]string{"24h": "must be at least 48h", "soon": "must be a positive duration"} {
		env["GATEHOUSE_WEBHOOK_RETENTION"] = bad
		_, err := parseServeConfig(nil, getenv, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--webhook-retention / GATEHOUSE_WEBHOOK_RETENTION: "+want) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestDBMaxConnsSetting: --db-max-conns is auto by default (the Store's
// own pool size) or a whole number from 1 to 1000; anything else is
// refused naming the setting.
func TestDBMaxConnsSetting(t *testing.T) {
	env := serveEnv("/tmp/x.db")
	getenv := func(k string) string { return env[k] }
	cfg, err := parseServeConfig(nil, getenv, io.Discard)
	if err != nil || cfg.DBConns != 0 {
		t.Fatalf("default: %+v %v", cfg.limitsConfig, err)
	}
	if cfg, err = parseServeConfig([]string{"--db-max-conns", "12"}, getenv, io.Discard); err != nil || cfg.DBConns != 12 {
		t.Fatalf("flag: %+v %v", cfg.limitsConfig, err)
	}
	for _, bad := range []string{"0", "1001", "lots", "-4"} {
		env["GATEHOUSE_DB_MAX_CONNS"] = bad
		_, err := parseServeConfig(nil, getenv, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--db-max-conns / GATEHOUSE_DB_MAX_CONNS: must be auto or a whole number from 1 to 1000") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
