// Package webhook delivers queued events to the endpoints administrators
// register: it claims due deliveries from the Store's durable queue, signs
// each request the Standard Webhooks way (webhook-id, webhook-timestamp,
// webhook-signature "v1,<base64 HMAC-SHA256 of id.timestamp.body>"), sends
// it through an HTTP client that refuses private, loopback and link-local
// destinations at dial time (unless allowed), and records the outcome
// (delivered, or retried with backoff). docs/webhooks.md is the contract.
package webhook
