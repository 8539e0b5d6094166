package main

import (
	"context"
	"log/slog"
	"time"

	"gatehouse/metrics"
	"gatehouse/models"
)

// revocationKick wakes the revocation loop after a commit that queued
// revocations (the Store's Revocations.Kick); it never blocks.
type revocationKick chan struct{}

func (k revocationKick) kick() {
	select {
	case k <- struct{}{}:
	default:
	}
}

// revocationLoop works the queue of pending credential revocations at
// start (work left by a previous run), when kicked, and every interval
// (retries come due), then moves the VALID UNTIL of roles whose session's
// expiration moved, until ctx ends. Outcomes are counted in the metrics
// (gatehouse_credential_revocations_total{outcome="revoked"|"failed"}) and
// failures logged.
func revocationLoop(ctx context.Context, store *models.Store, kick revocationKick, interval time.Duration, m *metrics.Registry, log *slog.Logger) error {
	counter := m.CounterVec("gatehouse_credential_revocations_total",
		"Credential revocations at their server by outcome (revoked, failed: retried with backoff).", "outcome")
	m.GaugeFunc("gatehouse_credential_revocations_waiting", "Credential revocations not done yet (pending or failed).", func() float64 {
		qctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		p, f, err := store.CountRevocations(qctx)
		if err != nil {
			return -1
		}
		return float64(p + f)
	})
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for { // a full batch may leave more due: go on until a pass finds less
			r, err := store.WorkRevocations(ctx)
			if err != nil {
				if ctx.Err() == nil {
					log.Warn("credential revocations", "error", err)
				}
				break
			}
			counter.WithLabelValues("revoked").Add(float64(r.Revoked))
			counter.WithLabelValues("failed").Add(float64(len(r.Failures)))
			for _, f := range r.Failures {
				log.Warn("credential revocation failed; retrying with backoff", "session", f.SessionID, "credential", f.CredentialID,
					"role", f.Subject, "attempts", f.Attempts, "error", f.Err)
			}
			if r.Revoked > 0 {
				log.Info("credentials revoked", "count", r.Revoked)
			}
			if r.Revoked+len(r.Failures)+r.Released == 0 {
				break
			}
		}
		// Roles whose session's expiration moved: their VALID UNTIL follows.
		if n, fails, err := store.WorkCredentialValidity(ctx); err != nil {
			if ctx.Err() == nil {
				log.Warn("credential validity", "error", err)
			}
		} else {
			for _, f := range fails {
				log.Warn("moving a role's VALID UNTIL failed; retrying at the next pass", "session", f.SessionID,
					"credential", f.CredentialID, "role", f.Subject, "error", f.Err)
			}
			if n > 0 {
				log.Info("role validity moved with its session", "count", n)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-kick:
		}
	}
}
