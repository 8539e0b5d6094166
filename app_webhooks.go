package main

import (
	"log/slog"
	"time"

	"gatehouse/webhook"
)

// webhookConfig is the outbound webhook delivery configuration.
type webhookConfig struct {
	// Timeout of one request (default 10 s).
	Timeout time.Duration
	// AllowPrivate lets deliveries reach private, loopback and link-local
	// addresses (--webhook-allow-private; dev and tests).
	AllowPrivate bool
	// Retention is how long events and delivery logs are kept
	// (--webhook-retention, default 30 days).
	Retention time.Duration
}

// newDeliverer makes this instance's webhook deliverer (its Store is set
// once the Store exists: the Store's wake-up calls the deliverer).
func newDeliverer(cfg webhookConfig, log *slog.Logger) *webhook.Deliverer {
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	if cfg.AllowPrivate {
		log.Warn("webhooks may reach private, loopback and link-local addresses (--webhook-allow-private)")
	}
	return &webhook.Deliverer{Client: webhook.NewClient(cfg.AllowPrivate, timeout), Timeout: timeout, Logger: log}
}
