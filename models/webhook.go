package models

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"gatehouse/models/acl"
)

// EventType is the grant type of the change log (action list: read the
// entries of a scope); WebhookType is the grant type of webhook endpoints
// (in global only).
const (
	EventType   = "event"
	WebhookType = "webhook"
)

// Webhook event types (docs/webhooks.md documents each payload).
const (
	EventSessionStarted          = "session.started"
	EventSessionFirstConnection  = "session.first_connection"
	EventSessionConnectionClosed = "session.connection_closed"
	EventSessionCanceled         = "session.canceled"
	EventSessionTerminated       = "session.terminated"
	EventSessionExpiringSoon     = "session.expiring_soon"
	EventSessionExtended         = "session.extended"
	EventSessionShortened        = "session.shortened"
	EventAccessRequested         = "access.requested"
	EventAccessApproved          = "access.approved"
	EventAccessDenied            = "access.denied"
	EventAccessRevoked           = "access.revoked"
)

// WebhookEventTypes are the event types an endpoint may subscribe to,
// besides "change.<resource type>" for each of ChangeLogResourceTypes and
// the wildcards "session.*", "access.*", "change.*" and "*".
var WebhookEventTypes = []string{
	EventSessionStarted, EventSessionFirstConnection, EventSessionConnectionClosed, EventSessionCanceled,
	EventSessionTerminated, EventSessionExpiringSoon, EventSessionExtended, EventSessionShortened,
	EventAccessRequested, EventAccessApproved, EventAccessDenied, EventAccessRevoked,
}

// Webhook formats: the documented JSON payload, or a Slack-compatible
// {"text": …} message.
const (
	WebhookFormatStandard = "standard"
	WebhookFormatSlack    = "slack"
)

// Webhook is an endpoint that receives signed events. Its signing secret is
// never returned after creation.
type Webhook struct {
	ID             string
	Name           string
	URL            string
	EventTypes     string // space-separated
	Format         string
	ExpiringLead   int    // seconds before expiry of session.expiring_soon
	Secret         string `json:"-"`
	Enabled        bool
	DisabledReason string
	FailingSince   *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
	Version        int
}

// TableName is the endpoints' table.
func (Webhook) TableName() string { return "webhook_endpoints" }

// Events lists the endpoint's subscriptions.
func (w *Webhook) Events() []string { return strings.Fields(w.EventTypes) }

// WebhookInput is the endpoint form.
type WebhookInput struct {
	Name         string
	URL          string
	EventTypes   []string
	Format       string
	ExpiringLead int // minutes (1 to 1440)
	Enabled      bool
}

// subscribes reports whether an endpoint with these subscriptions wants
// eventType.
func subscribes(subscriptions []string, eventType string) bool {
	family, _, _ := strings.Cut(eventType, ".")
	for _, s := range subscriptions {
		if s == eventType || s == "*" || s == family+".*" {
			return true
		}
	}
	return false
}

// validWebhookEvent reports whether t may be subscribed to.
func validWebhookEvent(t string) bool {
	if t == "*" || t == "session.*" || t == "access.*" || t == "change.*" || slices.Contains(WebhookEventTypes, t) {
		return true
	}
	rt, ok := strings.CutPrefix(t, "change.")
	return ok && slices.Contains(ChangeLogResourceTypes, rt)
}

func (in WebhookInput) validate() (WebhookInput, error) {
	v := validator{}
	in.Name = v.text("name", "Name", in.Name, true, 128)
	in.URL = strings.TrimSpace(in.URL)
	if u, err := url.Parse(in.URL); in.URL == "" {
		v.add("url", "Enter the URL that receives the events.")
	} else if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(in.URL) > 2048 {
		v.add("url", "Enter an http:// or https:// URL (without a user name or password), at most 2048 characters.")
	}
	var types []string
	for _, t := range in.EventTypes {
		if t = strings.TrimSpace(t); t != "" && !slices.Contains(types, t) {
			if !validWebhookEvent(t) {
				v.add("event_types", fmt.Sprintf("%q is not an event type.", t))
			}
			types = append(types, t)
		}
	}
	if len(types) == 0 {
		v.add("event_types", "Choose at least one event.")
	}
	in.EventTypes = types
	if in.Format == "" {
		in.Format = WebhookFormatStandard
	}
	if in.Format != WebhookFormatStandard && in.Format != WebhookFormatSlack {
		v.add("format", "Choose the standard or the Slack format.")
	}
	if in.ExpiringLead == 0 {
		in.ExpiringLead = 15
	}
	if in.ExpiringLead < 1 || in.ExpiringLead > 1440 {
		v.add("expiring_lead", "Between 1 and 1440 minutes.")
	}
	return in, v.err()
}

func webhookResource(id string) acl.Resource {
	return acl.Resource{Type: WebhookType, ID: id, ScopeID: GlobalScopeID}
}

// NewWebhookSecret makes a signing secret in the Standard Webhooks form:
// "whsec_" then the base64 of 24 random bytes.
func NewWebhookSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// CreateWebhook registers an endpoint (in global; grant type webhook,
// action create) and returns it with its signing secret, shown this once.
// Errors: ErrInvalid with field messages, ErrForbidden.
func (s *Store) CreateWebhook(ctx context.Context, a Actor, in WebhookInput) (*Webhook, string, error) {
	if s.opts.Crypter == nil {
		return nil, "", fmt.Errorf("create webhook: no root key configured: %w", ErrInvalid)
	}
	var out *Webhook
	secret := NewWebhookSecret()
	err := s.createTx(ctx, a, WebhookType, func() string { return out.ID }, func(tx *Store) error {
		if _, err := tx.collectionScope(ctx, a, GlobalScopeID, WebhookType, ActionCreate); err != nil {
			return err
		}
		in, err := in.validate()
		if err != nil {
			return err
		}
		now := tx.now()
		w := &Webhook{ID: NewID("wh"), Name: in.Name, URL: in.URL, EventTypes: strings.Join(in.EventTypes, " "),
			Format: in.Format, ExpiringLead: in.ExpiringLead * 60, Enabled: true, CreatedAt: now, UpdatedAt: now, Version: 1}
		if w.Secret, err = tx.opts.Crypter.Encrypt([]byte(secret), w.ID); err != nil {
			return fmt.Errorf("encrypt webhook secret: %w", err)
		}
		if err := tx.q(ctx).Create(w).Error; err != nil {
			if isUniqueViolation(err) {
				return Invalid("name", fmt.Sprintf("A webhook is already named %q.", in.Name))
			}
			return fmt.Errorf("create webhook: %w", err)
		}
		out = w
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, secret, nil
}

// GetWebhook returns an endpoint (without its secret). ErrNotFound for
// unknown or invisible ids.
func (s *Store) GetWebhook(ctx context.Context, a Actor, id string) (*Webhook, error) {
	w, err := first[Webhook](s.q(ctx), "webhook", id)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, a, ActionRead, webhookResource(id)); err != nil {
		return nil, notFoundIfHidden(err)
	}
	w.Secret = ""
	return w, nil
}

// ListWebhooks lists every endpoint (grant type webhook, action list, in
// global), disabled ones first.
func (s *Store) ListWebhooks(ctx context.Context, a Actor) ([]Webhook, error) {
	if _, err := s.collectionScope(ctx, a, GlobalScopeID, WebhookType, ActionList); err != nil {
		return nil, err
	}
	var out []Webhook
	if err := s.q(ctx).Order("enabled, lower(name)").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	for i := range out {
		out[i].Secret = ""
	}
	return out, nil
}

// UpdateWebhook changes an endpoint's settings; version must match.
// Enabling an endpoint clears its automatic disabling.
func (s *Store) UpdateWebhook(ctx context.Context, a Actor, id string, version int, in WebhookInput) error {
	return s.changeTx(ctx, a, ActionUpdate, WebhookType, id, func(tx *Store) error {
		if _, err := tx.GetWebhook(ctx, a, id); err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionUpdate, webhookResource(id)); err != nil {
			return err
		}
		in, err := in.validate()
		if err != nil {
			return err
		}
		upd := map[string]any{"name": in.Name, "url": in.URL, "event_types": strings.Join(in.EventTypes, " "),
			"format": in.Format, "expiring_lead": in.ExpiringLead * 60, "enabled": in.Enabled}
		if in.Enabled {
			upd["disabled_reason"], upd["failing_since"] = "", nil
		}
		return tx.bumpVersion(ctx, &Webhook{}, "webhook", id, version, upd)
	})
}

// DeleteWebhook deletes an endpoint and its delivery log.
func (s *Store) DeleteWebhook(ctx context.Context, a Actor, id string) error {
	return s.changeTx(ctx, a, ActionDelete, WebhookType, id, func(tx *Store) error {
		if _, err := tx.GetWebhook(ctx, a, id); err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionDelete, webhookResource(id)); err != nil {
			return err
		}
		if err := tx.q(ctx).Where("id = ?", id).Delete(&Webhook{}).Error; err != nil {
			return fmt.Errorf("delete webhook %s: %w", id, err)
		}
		return nil
	})
}
